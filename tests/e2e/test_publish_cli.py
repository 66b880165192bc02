"""``cjsx publish`` and ``cjsx receipts`` as a force's developer runs them, against the real
broker and a real worker: what ``cjsx validate`` predicts is what happens.

Each command runs as a child process with the force's own principal and credentials file
(the test world's secrets folder); the ingest topic is read back as the admin to prove that a
line rejected locally never reached the broker.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common import processes
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.simulator import FAMILY_NAMES, Fault, SyntheticForce
from schemas.jsonform import render
from schemas.models import CaseEvent
from streams.reference import StandingData
from tests.support.world import Broker, WorkerProcess, read_topic

ROOT = Path(__file__).resolve().parents[2]


def _env(kafka: Broker, catalog: TopicCatalog, home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CJSX_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "CJSX_SECRETS_DIR": str(kafka.secrets_dir),
        "CJSX_TOPIC_NAMESPACE": catalog.namespace,
        "CJSX_FORCES": ",".join(f.code for f in catalog.registry.forces),
        "CJSX_CACHE_DIR": str(home),
        **extra,
    }


def cjsx(
    env: dict[str, str], *args: str, stdin: bytes = b"", timeout: float = 180
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "cjsx", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def objects(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def sim(force: str = "05", seed: int = 41) -> SyntheticForce:
    return SyntheticForce(force_profile(StandingData.load(), force), seed=seed)


def valid_lines(force: SyntheticForce, cases: int) -> list[str]:
    """Whole case stories (several events each, in case order), rendered in the JSON form."""
    events: list[CaseEvent] = []
    for _ in range(cases):
        events += force.case_story()
    return [render(e) for e in events]


def ingest_ids(kafka: Broker, topic: str) -> list[str]:
    ids = []
    for _key, _value, decoded in read_topic(kafka, topic):
        assert isinstance(decoded, CaseEvent)
        ids.append(str(decoded.envelope.event_id))
    return ids


def receipts_until(
    env: dict[str, str], force: str, done: Any, timeout: float = 90
) -> list[dict[str, Any]]:
    """``cjsx receipts --force`` run until its output satisfies ``done`` (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        result = cjsx(env, "receipts", "--force", force)
        assert result.returncode == 0, result.stderr.decode()
        found = objects(result)
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(2)


def test_publish_ends_as_validate_predicted(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    force = sim()
    good = valid_lines(force, 3)
    bad = [
        render(e)
        for e in (
            force.faulty(Fault.BAD_ASN_CHECK),
            force.faulty(Fault.UNKNOWN_OFFENCE),
            force.faulty(Fault.UNDER_AGE),
            force.faulty(Fault.OTHER_FORCE, other_force="01"),
        )
        if isinstance(e, CaseEvent)
    ]
    assert len(bad) == 4
    lines = [*good[:4], bad[0], "", good[4], bad[1], "not json {", *good[5:], bad[2], bad[3]]
    lines.append('{"specversion": "1.0", "type": "uk.gov.cjsx.NoSuchThing", "id": "x"}')
    file = write_lines(tmp_path / "events.jsonl", lines)
    env = _env(kafka, catalog, tmp_path / "home")

    predicted = cjsx(env, "validate", "--force", "05", str(file))
    published = cjsx(env, "publish", "--force", "05", str(file))

    assert predicted.returncode == 1
    assert published.returncode == 1, published.stderr.decode()
    verdicts, results = objects(predicted), objects(published)
    numbers = [n for n, line in enumerate(lines, 1) if line.strip()]  # blank lines skipped
    assert [r["line"] for r in results] == numbers
    assert len(verdicts) == len(results) == len(lines) - 1
    for verdict, result in zip(verdicts, results, strict=True):
        assert result["event_id"] == verdict["event_id"]
        assert result["reasons"] == verdict["reasons"]
        assert result["status"] == ("published" if verdict["accepted"] else "rejected_locally")
    accepted = [v["event_id"] for v in verdicts if v["accepted"]]
    assert len(accepted) == len(good)
    assert sum(not v["accepted"] for v in verdicts) == len(bad) + 2

    # Only the accepted lines reached the broker, each once, in the file's order per case.
    assert sorted(ingest_ids(kafka, catalog.ingest("05"))) == sorted(accepted)

    # Each of them got its ACCEPTED receipt, as the force sees it with its own credentials.
    def settled(found: list[dict[str, Any]]) -> bool:
        outcomes = {r["event_id"] for r in found if r["status"] == "ACCEPTED"}
        return set(accepted) <= outcomes

    found = receipts_until(env, "05", settled)
    outcomes = {
        r["event_id"]: r["status"]
        for r in found
        if r["status"] in ("ACCEPTED", "REJECTED", "DUPLICATE")
    }
    assert outcomes == dict.fromkeys(accepted, "ACCEPTED")
    assert worker.metric("cjsx_events_total", force="05", outcome="accepted") == len(accepted)
    assert worker.metric("cjsx_events_total", force="05", outcome="rejected") == 0

    # Nothing personal in what the commands logged.
    for output in (published.stderr, predicted.stderr):
        assert not any(name.encode() in output for name in FAMILY_NAMES)


def test_wait_prints_each_receipt_and_exit_0(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    force = sim(seed=43)
    lines = valid_lines(force, 2)
    file = write_lines(tmp_path / "events.jsonl", lines)
    env = _env(kafka, catalog, tmp_path / "home")
    before = datetime.now(UTC).replace(microsecond=0)

    result = cjsx(env, "publish", "--force", "05", "--wait", "--timeout", "60", str(file))

    assert result.returncode == 0, result.stderr.decode()
    results = objects(result)
    assert len(results) == len(lines)
    for number, item in enumerate(results, 1):
        assert item["line"] == number
        assert item["status"] == "published"
        assert item["reasons"] == []
        receipt = item["receipt"]
        assert receipt["event_id"] == item["event_id"]
        assert receipt["force"] == "05"
        assert receipt["status"] == "ACCEPTED"
        assert receipt["deliveries"], "an accepted event names the partners it went to"

    # Published again, from standard input: every event is a DUPLICATE now (same ids), exit 0.
    again = cjsx(env, "publish", "--force", "05", "--wait", "-", stdin=file.read_bytes())
    assert again.returncode == 0, again.stderr.decode()
    assert [r["receipt"]["status"] for r in objects(again)] == ["DUPLICATE"] * len(lines)
    assert [r["receipt"]["original_event_id"] for r in objects(again)] == [
        r["event_id"] for r in results
    ]

    # --since picks receipts by when the exchange wrote them.
    since = cjsx(env, "receipts", "--force", "05", "--since", before.isoformat())
    assert since.returncode == 0
    assert {r["event_id"] for r in objects(since)} == {r["event_id"] for r in results}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    none = cjsx(env, "receipts", "--force", "05", "--since", later)
    assert (none.returncode, none.stdout) == (0, b"")

    table = cjsx(env, "receipts", "--force", "05", "--format", "table")
    assert table.returncode == 0
    rows = table.stdout.decode().splitlines()
    assert rows[0].split()[:4] == ["ISSUED", "(UTC)", "STATUS", "EVENT"]
    for item in results:
        assert any(item["event_id"] in row and "ACCEPTED" in row for row in rows[1:])


def test_a_force_cannot_publish_as_another(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    lines = valid_lines(sim("01", seed=5), 1)
    file = write_lines(tmp_path / "events.jsonl", lines)
    # Force 05's principal with its own (valid) credentials, naming force 01's ingest topic.
    env = _env(kafka, catalog, tmp_path / "home", CJSX_PRINCIPAL="force-05")

    started = time.monotonic()
    result = cjsx(env, "publish", "--force", "01", "--timeout", "30", str(file))
    took = time.monotonic() - started

    assert result.returncode == 3
    stderr = result.stderr.decode()
    assert "cjsx publish: NOT_AUTHORISED: the broker refused principal force-05" in stderr
    assert catalog.ingest("01") in stderr
    results = objects(result)
    assert [r["status"] for r in results] == ["not_published"] * len(lines)
    assert {r["reasons"][0]["code"] for r in results} == {"NOT_AUTHORISED"}
    assert took < 30, "a refusal is reported at once, not after the timeout"
    assert ingest_ids(kafka, catalog.ingest("01")) == []

    # Nor read another force's receipts.
    refused = cjsx(env, "receipts", "--force", "01")
    assert refused.returncode == 3
    assert "cjsx receipts: NOT_AUTHORISED" in refused.stderr.decode()
    assert refused.stdout == b""


def test_wait_without_a_worker_times_out_clearly(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    lines = valid_lines(sim(seed=61), 5)  # 3 s per event would be over half a minute
    file = write_lines(tmp_path / "events.jsonl", lines)
    env = _env(kafka, catalog, tmp_path / "home")

    started = time.monotonic()
    result = cjsx(env, "publish", "--force", "05", "--wait", "--timeout", "3", str(file))
    took = time.monotonic() - started

    assert result.returncode == 3
    results = objects(result)
    assert [(r["status"], r["receipt"]) for r in results] == [("published", None)] * len(lines)
    assert "cjsx publish: RECEIPT_TIMEOUT" in result.stderr.decode()
    assert len(lines) >= 10
    assert took < 30, "one timeout is waited once, not once per event"
    # Published all the same: the broker has them, for the worker when it comes.
    assert sorted(ingest_ids(kafka, catalog.ingest("05"))) == sorted(r["event_id"] for r in results)


def readme_example() -> list[str]:
    """The commands of the README's "Publish from a file" example, comments removed."""
    section = (ROOT / "README.md").read_text().split("## Publish from a file\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_example_works(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "docs").symlink_to(ROOT / "docs")  # the example reads the repository's docs
    env = _env(kafka, catalog, tmp_path / "home")
    outputs: dict[str, str] = {}
    for command in readme_example():
        words = shlex.split(command)
        if words[0] == "cjsx":
            argv = [sys.executable, "-m", "cjsx", *words[1:]]
        else:
            argv = ["bash", "-c", command]
        result = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, timeout=180, check=False
        )
        assert result.returncode == 0, (command, result.stderr.decode())
        outputs[words[1] if words[0] == "cjsx" else "shell"] = result.stdout.decode()
    events = (work / "case.jsonl").read_text().splitlines()
    assert len(events) == 6  # docs/wire-format.md's case: one event of every type
    published = [json.loads(line) for line in outputs["publish"].splitlines()]
    assert [r["status"] for r in published] == ["published"] * len(events)
    assert [r["receipt"]["status"] for r in published] == ["ACCEPTED"] * len(events)
    assert [r["event_id"] for r in published] == [json.loads(e)["id"] for e in events]
    for item in published:
        assert f"ACCEPTED      {item['event_id']}" in outputs["receipts"]


def follow_then_stop(
    env: dict[str, str], home: Path, signum: signal.Signals, force: SyntheticForce
) -> None:
    """Follow force 05's receipts, publish a case, see its receipts printed, then signal."""
    out = home / f"follow-{signum.name}.out"
    lines = valid_lines(force, 1)
    file = write_lines(home / f"events-{signum.name}.jsonl", lines)
    ids = {json.loads(line)["id"] for line in lines}
    with out.open("wb") as sink:
        follower = subprocess.Popen(
            [sys.executable, "-m", "cjsx", "receipts", "--force", "05", "--follow"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.PIPE,
        )
    try:
        # At once: the follower starts from the moment it ran, however long it takes to connect.
        assert cjsx(env, "publish", "--force", "05", str(file)).returncode == 0

        def seen() -> bool:
            printed = out.read_text().splitlines()
            return ids <= {json.loads(row)["event_id"] for row in printed if row}

        assert processes.wait_for(seen, 90), "the follower printed no receipt"
        follower.send_signal(signum)
        assert follower.wait(timeout=20) == 0
        assert follower.stderr is not None
        assert b"Traceback" not in follower.stderr.read()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(timeout=10)
        if follower.stderr is not None:
            follower.stderr.close()


def test_receipts_follow_stops_cleanly_on_a_signal(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    env = _env(kafka, catalog, tmp_path / "home")
    force = sim(seed=47)
    for signum in (signal.SIGINT, signal.SIGTERM):
        follow_then_stop(env, tmp_path, signum, force)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("publish", "--force", "02", "events.jsonl"), b"not the two-digit PNC code"),
        (("publish", "--force", "42", "events.jsonl"), b"force 42 is not served here"),
        (("publish", "--force", "5", "events.jsonl"), b"not the two-digit PNC code"),
        (("publish", "--force", "05", "no-such-file.jsonl"), b"no-such-file.jsonl"),
        (("publish", "events.jsonl"), b"Missing option '--force'"),
        (("receipts", "--force", "02"), b"not the two-digit PNC code"),
        (("receipts", "--force", "42"), b"force 42 is not served here"),
        (("receipts", "--force", "05", "--since", "yesterday"), b"not an ISO 8601 time"),
        (
            ("receipts", "--force", "05", "--since", "2026-01-01", "--from-beginning"),
            b"not both",
        ),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: bytes, tmp_path: Path) -> None:
    write_lines(tmp_path / "events.jsonl", valid_lines(sim(), 1))
    env = {**os.environ, "CJSX_CACHE_DIR": str(tmp_path / "home"), "CJSX_FORCES": "01,05"}
    result = subprocess.run(
        [sys.executable, "-m", "cjsx", *args],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr.decode()
    assert message in result.stderr
    assert result.stdout == b""
    assert b"Traceback" not in result.stderr
