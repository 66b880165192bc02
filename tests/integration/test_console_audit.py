"""Console actions in the chained audit log, against the real broker.

The console's web application runs in-process (Starlette's TestClient) over its real store
and its real ``ActionLog``, connected as ``exchange-console``; the auditor runs in-process
and ``cjsx audit`` is driven as an operator runs it. Only publishing corrections is left out
(no action here publishes).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError
from starlette.testclient import TestClient

from cjsx.console.actions import Act, ActionCode, ActionLog, ActionNotRecorded
from cjsx.console.app import Services, create_app
from cjsx.console.panel import MetricsHistory
from cjsx.console.settings import ConsoleSettings
from cjsx.console.store import ConsoleStore, State
from cjsx.console.users import User, hash_password
from infra.security.policy import AUDITOR, CONSOLE, OPERATOR, WORKER, force_principal
from infra.topics import TopicCatalog
from schemas.models import ActionAuditRecord
from streams.audit import decode_link, read_log
from streams.validate import ValidationContext
from tests.integration.test_audit import CODEC, cli, new_auditor
from tests.support.builders import codec, registry, standing, valid_charge
from tests.support.world import Broker
from tests.unit.test_console import (
    UNKNOWN_OFFENCE,
    FakePublisher,
    FakeTracker,
    rejection_of,
    with_offence_code,
)

PASSWORD = "synthetic password 2"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def console(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> Iterator[tuple[TestClient, ConsoleStore, str]]:
    """The console over the real broker: (client, store, the open exception's id)."""
    users = {"alice": User("alice", "Alice", hash_password(PASSWORD), force="05", reviewer=True)}
    actions = ActionLog(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.console_actions,
        principal=CONSOLE,
        users=users,
        client=kafka.client(CONSOLE),
    )
    store = ConsoleStore(f"sqlite:///{tmp_path / 'console.sqlite'}", record=actions)
    mine = rejection_of(with_offence_code(valid_charge(), UNKNOWN_OFFENCE), "05")
    store.add_rejections("rejected", [(0, 0, mine)])
    services = Services(
        store=store,
        users=users,
        registry=registry(),
        validation=ValidationContext(standing()),
        publish=FakePublisher(),
        codec=codec(),
        track=FakeTracker(),
        metrics=MetricsHistory(None),
    )
    settings = ConsoleSettings(console_secret_key="test-key-" + "z" * 32, cache_dir=tmp_path)
    try:
        with TestClient(create_app(settings, services), base_url="https://testserver") as client:
            yield client, store, str(mine.rejection_id)
    finally:
        store.close()


def test_a_console_action_is_in_the_verified_chain_with_who_and_when(
    kafka: Broker,
    catalog: TopicCatalog,
    tmp_path: Path,
    console: tuple[TestClient, ConsoleStore, str],
) -> None:
    client, store, rid = console
    started = datetime.now(UTC) - timedelta(seconds=1)
    page = client.get("/sign-in")
    client.post(
        "/sign-in",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf(page.text)},
    )
    opened = client.get(f"/exceptions/{rid}")
    assert opened.status_code == 200
    dismissed = client.post(
        f"/exceptions/{rid}/dismiss",
        data={"why": "Jane Synthetic will resend", "csrf_token": csrf(opened.text)},
    )
    assert dismissed.status_code == 200
    assert store.get(rid).state is State.DISMISSED  # type: ignore[union-attr]
    case_urn = store.get(rid).case_urn  # type: ignore[union-attr]

    with new_auditor(kafka, catalog) as auditor:
        auditor.run(until=lambda: auditor.stats.actions >= 4, idle_timeout=20)
    chain = [
        decode_link(CODEC, v)
        for v in read_log(kafka.bootstrap, catalog.audit, client=kafka.client())
    ]
    done = [r.action for r in chain if isinstance(r, ActionAuditRecord)]
    # Signing in, opening the exception, dismissing it, and the page it redirected to.
    assert [(a.user_id, a.action, a.outcome) for a in done] == [
        ("alice", "SIGN_IN", "DONE"),
        ("alice", "VIEW_EXCEPTION", "DONE"),
        ("alice", "DISMISS", "DONE"),
        ("alice", "VIEW_EXCEPTION", "DONE"),
    ]
    dismissal = done[2]
    assert dismissal.role == "force 05, reviewer"
    assert dismissal.rejection_id == rid
    assert (dismissal.case_urn, dismissal.force) == (case_urn, "05")
    assert started <= dismissal.acted_at <= datetime.now(UTC)
    assert dismissal.recorded_by == CONSOLE
    assert all("Jane" not in r.model_dump_json() for r in chain)  # the typed reason stays home

    run = cli(kafka, catalog, tmp_path)
    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["ok"] is True
    assert report["records"] == 4
    assert report["head"]["source"] == "console_actions"
    listed = run("case", case_urn or "")
    assert listed.exit_code == 0, listed.output
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(x["kind"], x["user_id"], x["action"]) for x in lines] == [
        ("console_action", "alice", "VIEW_EXCEPTION"),
        ("console_action", "alice", "DISMISS"),
        ("console_action", "alice", "VIEW_EXCEPTION"),
    ]
    assert lines[1]["time"] == dismissal.acted_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def _can_write(kafka: Broker, principal: str, topic: str) -> bool:
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap, max_block_ms=4000, retries=0, **kafka.client(principal)
    )
    try:
        producer.send(topic, value=b"not an action", partition=0).get(timeout=6)
        return True
    except (TopicAuthorizationFailedError, KafkaTimeoutError):
        return False
    finally:
        producer.close()


def _can_read(kafka: Broker, principal: str, topic: str) -> bool:
    """Whether ``principal`` fetches the record the console wrote (a principal without
    DESCRIBE sees no partition to fetch from; one without READ is refused the fetch)."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, **kafka.client(principal))
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if consumer.poll(timeout_ms=500).get(tp):
                return True
        return False
    except TopicAuthorizationFailedError:
        return False
    finally:
        consumer.close()


def test_only_the_console_writes_the_actions_topic_and_only_the_auditor_reads_it(
    kafka: Broker, catalog: TopicCatalog
) -> None:
    topic = catalog.console_actions
    others = [OPERATOR, WORKER, AUDITOR, force_principal("05"), "court-crown"]
    assert [p for p in others if _can_write(kafka, p, topic)] == []
    assert _can_write(kafka, CONSOLE, topic)
    readers = [CONSOLE, OPERATOR, WORKER, AUDITOR, force_principal("05")]
    assert [p for p in readers if _can_read(kafka, p, topic)] == [AUDITOR]
    # The console's recorder under another principal is refused, and says so.
    impostor = ActionLog(
        bootstrap_servers=kafka.bootstrap,
        topic=topic,
        principal=OPERATOR,
        users={},
        client=kafka.client(OPERATOR),
        timeout=5,
    )
    try:
        with pytest.raises(ActionNotRecorded):
            impostor(Act("olive", ActionCode.SIGN_IN))
    finally:
        impostor.close()
