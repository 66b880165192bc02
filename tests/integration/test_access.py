"""Every principal, every topic, and read, write, describe: the real broker's answer matches
the registry's policy, stated here independently of the code that generates the ACLs."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaError,
    KafkaTimeoutError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)

from common import processes
from infra.registry import load_registry
from infra.security.access import admin_client, apply_acls, current_grants
from infra.security.policy import force_principal, principals, worker_state_topics
from infra.topics import Topic, TopicCatalog, apply_topics
from tests.support.world import Broker, WorkerProcess

Ops = frozenset[str]
R, W, D = "read", "write", "describe"
_ANSWER_SECONDS = 60.0
"""How long the broker has to answer every fetch of one principal's probe."""


COURTS = {c.id for c in load_registry().courts}


def expected(principal: str, topic: Topic) -> Ops:
    """The registry's policy in plain words (README, issues 5 and 13): what may ``principal``
    do?"""
    kind, owner = topic.template.id, topic.owner
    if principal.startswith("force-"):
        mine = owner == principal.removeprefix("force-")
        return frozenset(
            {W, D}
            if kind == "ingest" and mine
            else {R, D}
            if kind in ("receipts", "force-results") and mine
            else set()
        )
    if principal in COURTS:
        # A court publisher: its own results to write, its own receipts to read.
        mine = owner == principal
        return frozenset(
            {W, D}
            if kind == "court-ingest" and mine
            else {R, D}
            if kind == "court-receipts" and mine
            else set()
        )
    if principal == "exchange-worker":
        return frozenset(
            {
                "ingest": {R, D},
                "receipts": {W, D},
                # It may read back what it wrote to deliver and rejected: the age of the
                # oldest unread record (lag in seconds, backlog age) is that record's time.
                "deliver": {R, W, D},
                "acks": {R, D},
                "rejected": {R, W, D},
                "ticks": {R, W, D},
                "court-ingest": {R, D},
                "court-receipts": {W, D},
                "force-results": {W, D},
                "partner-results": {W, D},
            }.get(kind, set())
        )
    if principal == "exchange-auditor":
        # Every delivery and results record is a disclosure the auditor chains from its bytes.
        return frozenset(
            {
                "deliver": {R, D},
                "force-results": {R, D},
                "partner-results": {R, D},
                "console_actions": {R, D},
                "audit": {R, W, D},
            }.get(kind, set())
        )
    if principal == "exchange-console":
        # It records what its users did; it reads nothing with this principal.
        return frozenset({W, D} if kind == "console_actions" else set())
    if principal == "operator":
        return frozenset({"rejected": {R, D}, "audit": {R, D}, "deliver": {D}}.get(kind, set()))
    # A partner: its own deliveries and results to read, its own acknowledgements to write.
    if owner == principal:
        return frozenset(
            {R, D}
            if kind in ("deliver", "partner-results")
            else {W, D}
            if kind == "acks"
            else set()
        )
    return frozenset()


@dataclass
class Answers:
    describe: set[str]
    read: set[str]
    write: set[str]


def _probe(broker: Broker, principal: str, topics: list[Topic]) -> Answers:
    """Ask the broker, as ``principal``: which topics it may describe, read and write.

    Metadata answers DESCRIBE for every topic at once. Kafka's READ and WRITE each imply
    DESCRIBE, so a topic the broker will not describe can be neither read nor written; real
    reads and writes are attempted on every topic it does describe (the per-force tests also
    write to topics it does not, and the broker refuses those too)."""
    client = broker.client(principal)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, fetch_max_wait_ms=50, **client)
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, max_block_ms=4000, retries=0, **client
    )
    try:
        visible = set(consumer.topics())  # metadata: only what DESCRIBE allows
        answers = Answers({t.name for t in topics if t.name in visible}, set(), set())
        answers.write = _writable(producer, answers.describe)
        answers.read = _readable(consumer, answers.describe)
        return answers
    finally:
        consumer.close()
        producer.close()


def _writable(producer: KafkaProducer, names: set[str]) -> set[str]:
    """Write one record to every topic; the broker acknowledges it (writable) or refuses it
    (``TopicAuthorizationFailedError``). Silence is no answer: a send whose metadata or
    acknowledgement does not come in time (on a busy machine, fresh clone Y: metadata not
    there after 4 s) is sent again, and a topic still unanswered after ``_ANSWER_SECONDS``
    fails the probe. Taking a timeout as a refusal would pass an ACL that wrongly denies."""
    writable: set[str] = set()
    candidates = set(names)
    deadline = time.monotonic() + _ANSWER_SECONDS
    while candidates and time.monotonic() < deadline:
        pending = {}
        for name in sorted(candidates):
            try:
                pending[name] = producer.send(name, key=b"acl-probe", value=b"acl")
            except KafkaTimeoutError:
                continue  # no metadata yet: asked again in the next round
        for name, future in pending.items():
            try:
                future.get(timeout=max(0.1, deadline - time.monotonic()))
                writable.add(name)
            except TopicAuthorizationFailedError:
                pass
            except KafkaTimeoutError:
                continue  # unanswered: sent again
            candidates.discard(name)
    if candidates:
        raise AssertionError(f"no answer to a write to {sorted(candidates)}")
    return writable


def _readable(consumer: KafkaConsumer, names: set[str]) -> set[str]:
    """Fetch (READ, without a group) from every topic at once; the broker names those it
    refuses, and a topic counts as readable only once its first record came back (the
    fixture puts one in partition 0 of every topic). Silence is no answer: on a busy machine
    the refusal can come after a few polls, and a topic taken as readable for want of one
    would pass a broken ACL."""
    readable: set[str] = set()
    candidates = set(names)
    deadline = time.monotonic() + _ANSWER_SECONDS
    while candidates:
        partitions = [TopicPartition(name, 0) for name in sorted(candidates)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        try:
            while candidates and time.monotonic() < deadline:
                fetched = {tp.topic for tp, got in consumer.poll(timeout_ms=200).items() if got}
                readable |= fetched
                candidates -= fetched
            if candidates:
                raise AssertionError(f"no answer to a fetch from {sorted(candidates)}")
        except TopicAuthorizationFailedError as error:
            refused = set(error.args[0]) if error.args and isinstance(error.args[0], set) else set()
            if not refused & candidates:
                raise AssertionError(f"refusal names no topic we asked for: {error!r}") from error
            candidates -= refused
        finally:
            consumer.assign([])
    return readable


@pytest.fixture(scope="module")
def full_catalog(kafka: Broker) -> TopicCatalog:
    """Every force and partner of the registry, in a namespace of their own."""
    catalog = TopicCatalog(load_registry(), namespace=f"acl{uuid.uuid4().hex[:8]}")
    apply_topics(catalog, kafka.bootstrap, **kafka.client())
    admin = admin_client(kafka.bootstrap, kafka.client())
    try:
        apply_acls(admin, catalog, worker_app_id=f"cjsx-{catalog.namespace}")
    finally:
        admin.close()
    # One record at the start of every topic, written as the admin: a read is proved by
    # getting it back (`_readable`).
    # A send waits for its topic's metadata, so they go out side by side (hundreds of topics).
    seeder = KafkaProducer(bootstrap_servers=kafka.bootstrap, **kafka.client())
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            sent = pool.map(
                lambda name: seeder.send(name, key=b"acl-seed", value=b"acl-seed", partition=0),
                [topic.name for topic in catalog.topics()],
            )
        for future in sent:
            future.get(timeout=60)
    finally:
        seeder.close()
    return catalog


@pytest.mark.slow
def test_every_principal_gets_exactly_what_the_registry_grants(
    kafka: Broker, full_catalog: TopicCatalog
) -> None:
    topics = full_catalog.topics()
    mismatches: list[str] = []
    everyone = principals(full_catalog.registry)
    assert len(everyone) == 44 + 16 + 2 + 3 + 1  # forces, partners, courts, services, operator
    # Each probe mostly waits on the broker (authentication, refused sends, fetches), so the
    # 66 principals are asked a few at a time: the same questions, a third of the wall time.
    with ThreadPoolExecutor(max_workers=6) as pool:
        probed = dict(
            zip(everyone, pool.map(lambda p: _probe(kafka, p, topics), everyone), strict=True)
        )
    for principal, answers in probed.items():
        for topic in topics:
            got = frozenset(
                op
                for op, names in ((R, answers.read), (W, answers.write), (D, answers.describe))
                if topic.name in names
            )
            want = expected(principal, topic)
            if got != want:
                mismatches.append(
                    f"{principal} on {topic.name}: broker {sorted(got)}, registry {sorted(want)}"
                )
    assert mismatches == []


def test_a_force_cannot_write_another_forces_ingest_or_read_its_receipts(
    kafka: Broker, full_catalog: TopicCatalog
) -> None:
    answers = _probe(kafka, force_principal("05"), full_catalog.topics())
    assert answers.write == {full_catalog.ingest("05")}
    assert answers.read == {full_catalog.receipts("05"), full_catalog.force_results("05")}
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap, max_block_ms=4000, retries=0, **kafka.client("force-05")
    )
    try:
        assert _writable(producer, {full_catalog.ingest("01")}) == set()  # a real attempt, refused
    finally:
        producer.close()


def test_a_court_publisher_writes_only_its_own_results_and_reads_only_its_receipts(
    kafka: Broker, full_catalog: TopicCatalog
) -> None:
    answers = _probe(kafka, "hmcts-london", full_catalog.topics())
    assert answers.write == {full_catalog.court_ingest("hmcts-london")}
    assert answers.read == {full_catalog.court_receipts("hmcts-london")}
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap,
        max_block_ms=4000,
        retries=0,
        **kafka.client("hmcts-london"),
    )
    try:
        # A real attempt at another court's topic, and at a force's, both refused.
        assert _writable(producer, {full_catalog.court_ingest("hmcts-north-west")}) == set()
        assert _writable(producer, {full_catalog.ingest("05")}) == set()
    finally:
        producer.close()


def test_a_wrong_password_and_a_plaintext_client_are_refused(kafka: Broker) -> None:
    wrong = {**kafka.client("force-05"), "sasl_plain_password": "not-the-password"}
    for settings in (wrong, {}):
        with pytest.raises(KafkaError):
            _list_topics(kafka, settings)


def _list_topics(kafka: Broker, settings: dict[str, object]) -> set[str]:
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        request_timeout_ms=5000,
        api_version_auto_timeout_ms=5000,
        **settings,
    )
    try:
        return set(consumer.topics())
    finally:
        consumer.close()


def test_reapplying_changes_nothing_and_removes_what_is_no_longer_granted(
    kafka: Broker,
) -> None:
    catalog = TopicCatalog(
        load_registry().limited_to(["01", "05"]), namespace=f"re{uuid.uuid4().hex[:8]}"
    )
    app_id = f"cjsx-{catalog.namespace}"
    admin = admin_client(kafka.bootstrap, kafka.client())
    try:
        first = apply_acls(admin, catalog, worker_app_id=app_id)
        assert first.created
        assert not first.deleted
        again = apply_acls(admin, catalog, worker_app_id=app_id)
        assert (again.created, again.deleted) == ([], [])
        smaller = TopicCatalog(load_registry().limited_to(["01"]), namespace=catalog.namespace)
        shrunk = apply_acls(admin, smaller, worker_app_id=app_id)
        assert shrunk.deleted
        assert {g.principal for g in shrunk.deleted} >= {"force-05"}
        left = {g for g in current_grants(admin) if g.name.startswith(catalog.namespace)}
        assert not any(g.principal == "force-05" for g in left)
        assert not any(g.name == catalog.ingest("05") for g in left)
    finally:
        admin.close()


def test_the_worker_may_create_exactly_its_tables_changelogs(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess
) -> None:
    """Issue 11: the worker could create any topic under its application id. Now only the
    changelogs of its tables; a real worker still starts and creates exactly those."""
    app_id = worker.app_id
    wanted = set(worker_state_topics(app_id))
    admin = admin_client(kafka.bootstrap, kafka.client())

    def created() -> set[str]:
        return {t for t in admin.list_topics() if t.startswith(f"{app_id}-")}

    try:
        # Faust declares the changelogs once its partitions are assigned, after /metrics is up.
        processes.wait_for(lambda: created() >= wanted, 90, interval=1.0)
        assert worker.metrics() is not None  # still running: nothing it needed was refused
        assert created() == wanted
    finally:
        admin.close()
    as_worker = admin_client(kafka.bootstrap, kafka.client("exchange-worker"))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            as_worker.create_topics([NewTopic(f"{app_id}-anything", 1, 1)])
    finally:
        as_worker.close()


def test_a_force_is_refused_the_scram_credentials(kafka: Broker) -> None:
    """Naming users, the broker refuses outright. Asking for every user, Kafka 4.4's broker
    denies the request (its authorizer logs the denial) but then fails to build the error
    response (a NullPointerException in ``DescribeUserScramCredentialsRequest
    .getErrorResponse`` when the request names no users) and never answers: the client
    times out. Either way the force learns nothing; the timeout is Kafka's, not ours."""
    as_force = KafkaAdminClient(
        bootstrap_servers=kafka.bootstrap, request_timeout_ms=5000, **kafka.client("force-01")
    )
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            as_force.describe_user_scram_credentials(["admin", "force-01"])
        with pytest.raises(
            (ClusterAuthorizationFailedError, KafkaTimeoutError, RequestTimedOutError)
        ):
            as_force.describe_user_scram_credentials()
    finally:
        as_force.close()
