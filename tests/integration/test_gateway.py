"""The CloudEvents HTTP gateway against the real broker: a real ``cjsx gateway`` process
(uvicorn over TLS from the local CA), real SCRAM principals and ACLs, a real worker.

What is proven: a 202 names events that are on the force's ingest topic (read back from the
broker), and the worker's receipts for them are readable through the gateway; a force cannot
post as another (403, nothing written); bad tokens get 401; invalid events get 400 with the
verdicts ``cjsx validate --force`` prints for the same lines, and nothing of the request is
published; 413 and 429 come from the limits in settings; requests made by the ``cloudevents``
package's own ``to_structured``/``to_binary`` are accepted.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from cjsx.cli import cli
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.simulator import SyntheticForce
from schemas.jsonform import render, to_cloudevent
from schemas.models import CaseEvent
from streams.reference import StandingData
from tests.support.gateway import GatewayProcess
from tests.support.world import Broker, WorkerProcess, read_topic

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}


def events(force: str, count: int, seed: int = 1) -> list[CaseEvent]:
    """``count`` valid events of ``force``: whole cases, in order."""
    sim = SyntheticForce(force_profile(StandingData.load(), force), seed=seed)
    made: list[CaseEvent] = []
    while len(made) < count:
        made += sim.case_story()
    return made[:count]


def ids_on_topic(kafka: Broker, topic: str) -> list[str]:
    return [
        str(decoded.envelope.event_id)
        for _, _, decoded in read_topic(kafka, topic, timeout_ms=2000)
        if isinstance(decoded, CaseEvent)
    ]


PERSONAL = {"family_name", "given_names", "date_of_birth", "lines", "postcode", "pnc_id", "asn"}


def personal(value: object, key: str = "") -> list[str]:
    """Every personal text in an event's data (names, dates of birth, addresses, ids)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in personal(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in personal(v, key)]
    return [value] if isinstance(value, str) and key in PERSONAL else []


@pytest.fixture
def gateway(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(kafka, catalog, tmp_path / "gateway").start()
    try:
        yield process
    finally:
        process.stop()


def client(gateway: GatewayProcess) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, verify=gateway.ssl_context(), timeout=60)


def test_a_structured_event_is_answered_202_only_with_its_record_on_the_topic(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, gateway: GatewayProcess
) -> None:
    event = events("05", 1)[0]
    with client(gateway) as http:
        answer = http.post(
            "/forces/05/events",
            content=render(event).encode(),
            headers={**STRUCTURED, **gateway.headers("05")},
        )
        assert answer.status_code == 202, answer.text
        event_id = str(event.envelope.event_id)
        assert answer.json() == {"event_ids": [event_id]}
        assert ids_on_topic(kafka, catalog.ingest("05")) == [event_id]

        # The worker's receipt comes back through the gateway, read as the force.
        receipts: list[dict[str, object]] = []
        after = ""
        for _ in range(60):
            page = http.get(
                "/forces/05/receipts", params={"after": after}, headers=gateway.headers("05")
            )
            assert page.status_code == 200, page.text
            receipts += page.json()["receipts"]
            after = page.json()["next"]
            if any(r["status"] == "ACCEPTED" for r in receipts):
                break
            time.sleep(0.5)
        assert [r["event_id"] for r in receipts if r["status"] == "ACCEPTED"] == [event_id]
        again = http.get(
            "/forces/05/receipts", params={"after": after}, headers=gateway.headers("05")
        )
        assert all(r["event_id"] == event_id for r in again.json()["receipts"])
        assert (
            http.get(
                "/forces/05/receipts", params={"after": "x"}, headers=gateway.headers("05")
            ).json()["code"]
            == "BAD_CURSOR"
        )
        # Another force may not read them.
        assert http.get("/forces/05/receipts", headers=gateway.headers("01")).status_code == 403


def test_a_force_cannot_post_as_another_and_a_bad_token_is_401(
    kafka: Broker, catalog: TopicCatalog, gateway: GatewayProcess
) -> None:
    mine = events("05", 1)[0]
    theirs = events("01", 1)[0]
    with client(gateway) as http:
        # Force 05's token on force 01's path, with force 01's own event: 403.
        answer = http.post(
            "/forces/01/events",
            content=render(theirs).encode(),
            headers={**STRUCTURED, **gateway.headers("05")},
        )
        assert answer.status_code == 403
        assert answer.json()["code"] == "WRONG_FORCE"
        for authorization in (None, "Bearer nonsense", "Basic abc", gateway.tokens["05"][:-2]):
            headers = dict(STRUCTURED)
            if authorization is not None:
                headers["authorization"] = authorization
            answer = http.post("/forces/05/events", content=render(mine).encode(), headers=headers)
            assert answer.status_code == 401, authorization
            assert answer.json()["code"] == "UNAUTHENTICATED"
            assert answer.headers["www-authenticate"].startswith("Bearer")
        # Force 01's token on its own path with force 05's event: the sender binding (400).
        answer = http.post(
            "/forces/01/events",
            content=render(mine).encode(),
            headers={**STRUCTURED, **gateway.headers("01")},
        )
        assert answer.status_code == 400
        codes = {r["code"] for r in answer.json()["verdicts"][0]["reasons"]}
        assert "SENDER_FORCE_MISMATCH" in codes
    assert ids_on_topic(kafka, catalog.ingest("01")) == []
    assert ids_on_topic(kafka, catalog.ingest("05")) == []


def test_invalid_events_get_validates_verdicts_and_nothing_is_published(
    kafka: Broker, catalog: TopicCatalog, gateway: GatewayProcess, tmp_path: Path
) -> None:
    good = [to_cloudevent(e) for e in events("05", 3)]
    bad_urn = json.loads(json.dumps(good[1]))
    bad_urn["data"]["envelope"]["case_urn"] = "05ZZ9999999"
    bad_urn["subject"] = "05ZZ9999999"
    not_json = b"{not json"
    lines = [
        json.dumps(good[0]).encode(),
        json.dumps(bad_urn).encode(),
        json.dumps({"type": "nonsense"}).encode(),
    ]
    file = tmp_path / "events.jsonl"
    file.write_bytes(b"\n".join([*lines, not_json]) + b"\n")
    result = CliRunner().invoke(cli, ["validate", "--force", "05", str(file)])
    expected = [json.loads(line) for line in result.output.splitlines()]
    assert [v["accepted"] for v in expected] == [True, False, False, False]

    with client(gateway) as http:
        headers = gateway.headers("05")
        batch = http.post(
            "/forces/05/events",
            content=b"[" + b",".join(lines) + b"]",
            headers={**BATCH, **headers},
        )
        assert batch.status_code == 400
        assert batch.json()["verdicts"] == expected[:3]
        single = http.post("/forces/05/events", content=not_json, headers={**STRUCTURED, **headers})
        assert single.status_code == 400
        assert single.json()["verdicts"] == expected[3:]
        media = http.post(
            "/forces/05/events", content=lines[0], headers={"content-type": "text/plain", **headers}
        )
        assert media.status_code == 415
        not_array = http.post("/forces/05/events", content=lines[0], headers={**BATCH, **headers})
        assert not_array.status_code == 400
        assert not_array.json()["verdicts"][0]["reasons"][0]["code"] == "NOT_AN_EVENT"
    assert ids_on_topic(kafka, catalog.ingest("05")) == []


def test_a_batch_is_answered_with_every_id_in_order_once_all_are_on_the_topic(
    kafka: Broker, catalog: TopicCatalog, gateway: GatewayProcess
) -> None:
    batch = events("05", 25, seed=3)
    body = "[" + ",".join(render(e) for e in batch) + "]"
    with client(gateway) as http:
        answer = http.post(
            "/forces/05/events", content=body.encode(), headers={**BATCH, **gateway.headers("05")}
        )
    assert answer.status_code == 202, answer.text
    ids = [str(e.envelope.event_id) for e in batch]
    assert answer.json() == {"event_ids": ids}
    assert sorted(ids_on_topic(kafka, catalog.ingest("05"))) == sorted(ids)  # once each

    # The access log says what happened, and nothing of what was in the events.
    log = gateway.log.read_text()
    access = [json.loads(line) for line in log.splitlines() if '"cjsx.gateway.access"' in line]
    posted = [a for a in access if a["route"] == "/forces/{force}/events"]
    assert [(a["method"], a["status"], a["force"], a["events"]) for a in posted] == [
        ("POST", 202, "05", 25)
    ]
    allowed = {"asctime", "levelname", "name", "message", "method", "route", "status", "force"}
    assert all(set(a) <= allowed | {"events", "rejected", "ms"} for a in access)
    assert any(personal(json.loads(render(e))["data"]) for e in batch)  # there was some
    for event in batch:
        assert event.envelope.case_urn not in log
        assert str(event.envelope.event_id) not in log
        for text in personal(json.loads(render(event))["data"]):
            assert text not in log


def test_requests_made_by_the_cloudevents_package_are_accepted(
    kafka: Broker, catalog: TopicCatalog, gateway: GatewayProcess
) -> None:
    made = events("05", 2, seed=4)
    sent: list[str] = []
    with client(gateway) as http:
        for event, binding in zip(made, (to_structured, to_binary), strict=True):
            form = to_cloudevent(event)
            data = form.pop("data")
            form["time"] = datetime.fromisoformat(form["time"])  # the SDK wants a datetime
            message = binding(CloudEvent(attributes=form, data=data), JSONFormat())
            answer = http.post(
                "/forces/05/events",
                content=message.body,
                headers={**message.headers, **gateway.headers("05")},
            )
            assert answer.status_code == 202, (binding.__name__, answer.text)
            sent += answer.json()["event_ids"]
    assert sent == [str(e.envelope.event_id) for e in made]
    assert sorted(ids_on_topic(kafka, catalog.ingest("05"))) == sorted(sent)


def test_bodies_over_the_limit_are_413_and_a_busy_force_gets_429(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    gateway = GatewayProcess(
        kafka,
        catalog,
        tmp_path / "gateway",
        env_extra={
            "CJSX_GATEWAY_MAX_BODY_BYTES": "30000",
            "CJSX_GATEWAY_MAX_BATCH_EVENTS": "20",
            "CJSX_GATEWAY_RATE_PER_SECOND": "2",
            "CJSX_GATEWAY_RATE_BURST": "10",
        },
    ).start()
    try:
        made = events("05", 40, seed=5)
        with client(gateway) as http:
            headers = {**BATCH, **gateway.headers("05")}
            big = "[" + ",".join(render(e) for e in made) + "]"
            assert len(big) > 30000
            answer = http.post("/forces/05/events", content=big.encode(), headers=headers)
            assert answer.status_code == 413
            assert answer.json()["code"] == "BODY_TOO_LARGE"
            many = "[" + ",".join(json.dumps({"id": str(uuid.uuid4())}) for _ in range(21)) + "]"
            answer = http.post("/forces/05/events", content=many.encode(), headers=headers)
            assert answer.status_code == 413
            assert answer.json()["code"] == "TOO_MANY_EVENTS"
            # The burst of 10 is spent by 10 events; the next is over the rate.
            first = "[" + ",".join(render(e) for e in made[:10]) + "]"
            assert (
                http.post("/forces/05/events", content=first.encode(), headers=headers).status_code
                == 202
            )
            answer = http.post(
                "/forces/05/events",
                content=render(made[10]).encode(),
                headers={**STRUCTURED, **gateway.headers("05")},
            )
            assert answer.status_code == 429
            assert answer.json()["code"] == "RATE_LIMITED"
            assert int(answer.headers["retry-after"]) >= 1
            # Another force has its own bucket.
            other = events("01", 1)[0]
            assert (
                http.post(
                    "/forces/01/events",
                    content=render(other).encode(),
                    headers={**STRUCTURED, **gateway.headers("01")},
                ).status_code
                == 202
            )
    finally:
        gateway.stop()
    on_topic = sorted(ids_on_topic(kafka, catalog.ingest("05")))
    assert on_topic == sorted(str(e.envelope.event_id) for e in made[:10])


def test_a_force_with_too_many_requests_in_flight_gets_429_and_those_are_not_published(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> None:
    """The broker is paused (SIGSTOP) while the requests arrive, so the first one admitted
    stays in flight until it is resumed: without the pause a quick gateway can finish each
    request before the next arrives and the limit is never reached (CI saw 30 x 202)."""
    gateway = GatewayProcess(
        kafka,
        catalog,
        tmp_path / "gateway",
        env_extra={"CJSX_GATEWAY_MAX_IN_FLIGHT": "1", "CJSX_GATEWAY_ACK_TIMEOUT_SECONDS": "120"},
    ).start()
    made = events("05", 30, seed=6)
    broker = kafka.cluster.nodes[0]

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=gateway.url, verify=gateway.ssl_context(), timeout=120
        ) as http:

            def post(event: CaseEvent) -> asyncio.Task[httpx.Response]:
                return asyncio.ensure_future(
                    http.post(
                        "/forces/05/events",
                        content=render(event).encode(),
                        headers={**STRUCTURED, **gateway.headers("05")},
                    )
                )

            first = await post(made[0])  # the gateway knows the topic before the pause
            broker.signal(signal.SIGSTOP)
            try:
                tasks = [post(e) for e in made[1:]]
                pending = set(tasks)
                deadline = time.monotonic() + 60
                # All but the one admitted are refused at once; it waits for the broker.
                while len(pending) > 1 and time.monotonic() < deadline:
                    _, pending = await asyncio.wait(
                        pending, timeout=1, return_when=asyncio.FIRST_COMPLETED
                    )
            finally:
                broker.signal(signal.SIGCONT)
            return [first, *await asyncio.gather(*tasks)]

    try:
        answers = asyncio.run(post_all())
    finally:
        broker.signal(signal.SIGCONT)
        gateway.stop()
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {202: 2, 429: 28}, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"TOO_MANY_IN_FLIGHT"}
    accepted = sorted(a.json()["event_ids"][0] for a in answers if a.status_code == 202)
    assert sorted(ids_on_topic(kafka, catalog.ingest("05"))) == accepted
