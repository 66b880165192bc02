"""The declarative topic spec (``topics.toml``) made concrete for one registry.

Every topic name used anywhere in the code comes from a ``TopicCatalog``; nothing spells a topic
name as a literal. A namespace prefix gives each test (or demo run) a fresh, isolated topic set
on a shared broker.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from common.errors import CjsxError
from infra.registry import Registry

SPEC_FILE = Path(__file__).with_name("topics.toml")

TopicId = Literal[
    "ingest",
    "receipts",
    "deliver",
    "acks",
    "rejected",
    "console_actions",
    "audit",
    "ticks",
    "court-ingest",
    "court-receipts",
    "force-results",
    "partner-results",
]
_HOUR_MS = 3_600_000
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
"""One MiB, as Kafka's own default: ingest records are at most this large."""


SEEN_TABLE = "seen"
"""The worker's deduplication sightings, one key per case (``streams/dedupe.py``)."""
CASES_TABLE = "cases"
"""The worker's per-case ordering state and route (``streams/order.py``, ``streams/cases.py``)."""
WORKER_TABLES = (SEEN_TABLE, CASES_TABLE)
"""The Faust tables the worker declares. Each is backed by a changelog topic Faust creates
on first start; those topics are all the worker may create (the ACL policy grants exactly
:func:`worker_state_topics`, and a test starts a real worker to check it)."""


def worker_state_topics(worker_app_id: str) -> list[str]:
    """The changelog topics of the worker's tables, as Faust names them
    (``<application id>-<table>-changelog``; the leader topic is disabled)."""
    return [f"{worker_app_id}-{table}-changelog" for table in WORKER_TABLES]


class TopicSpecError(CjsxError):
    """The topic spec is inconsistent with itself or with the registry."""


@dataclass(frozen=True, slots=True)
class TopicTemplate:
    """One ``[[topic]]`` entry of the spec, before it is instantiated per force or partner."""

    id: TopicId
    name: str
    per: Literal["force", "partner", "court"] | None
    partitions: int
    retention_hours: int
    key: str
    value: str
    description: str
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    """The largest record the topic takes; the worker checks outputs against it before
    sending, so an oversized output becomes a coded rejection rather than a failed send."""


@dataclass(frozen=True, slots=True)
class Topic:
    """A concrete topic: its name, its template, and whose it is (force code or partner id)."""

    name: str
    template: TopicTemplate
    owner: str | None

    @property
    def partitions(self) -> int:
        return self.template.partitions

    @property
    def config(self) -> dict[str, str]:
        hours = self.template.retention_hours
        return {
            "retention.ms": str(hours * _HOUR_MS if hours >= 0 else -1),
            "cleanup.policy": "delete",
            "max.message.bytes": str(self.template.max_message_bytes),
        }


@cache
def load_templates(path: Path = SPEC_FILE) -> tuple[TopicTemplate, ...]:
    data = tomllib.loads(path.read_text())
    templates = tuple(
        TopicTemplate(
            id=t["id"],
            name=t["name"],
            per=t.get("per"),
            partitions=int(t["partitions"]),
            retention_hours=int(t["retention_hours"]),
            key=t["key"],
            value=t["value"],
            description=t["description"],
            max_message_bytes=int(t.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)),
        )
        for t in data["topic"]
    )
    ids = [t.id for t in templates]
    if len(set(ids)) != len(ids):
        raise TopicSpecError(f"duplicate topic ids in {path}")
    for t in templates:
        placeholder = "{" + t.per + "}" if t.per else None
        if placeholder and placeholder not in t.name:
            raise TopicSpecError(f"topic {t.id} is per {t.per} but its name lacks {placeholder}")
    by_id = {t.id: t for t in templates}
    if "ticks" in by_id and by_id["ticks"].partitions != by_id["ingest"].partitions:
        raise TopicSpecError("the ticks topic must have as many partitions as the ingest topics")
    if "court-ingest" in by_id and by_id["court-ingest"].partitions != by_id["ingest"].partitions:
        # Results are keyed by case URN and read by the same agent as the force events, so
        # Faust gives one worker partition N of both, with partition N of the case state.
        raise TopicSpecError(
            "court ingest topics must have as many partitions as the ingest topics"
        )
    return templates


@dataclass(frozen=True)
class TopicCatalog:
    """All topic names for one registry, optionally under a namespace prefix."""

    registry: Registry
    namespace: str = ""
    templates: tuple[TopicTemplate, ...] = field(default_factory=load_templates)

    @cached_property
    def _by_id(self) -> dict[str, TopicTemplate]:
        return {t.id: t for t in self.templates}

    def _template(self, topic_id: TopicId) -> TopicTemplate:
        try:
            return self._by_id[topic_id]
        except KeyError:
            raise TopicSpecError(f"no topic {topic_id!r} in the spec") from None

    def _name(self, topic_id: TopicId, **owner: str) -> str:
        prefix = f"{self.namespace}." if self.namespace else ""
        return prefix + self._template(topic_id).name.format(**owner)

    def ingest(self, force: str) -> str:
        return self._name("ingest", force=force)

    def receipts(self, force: str) -> str:
        return self._name("receipts", force=force)

    def deliver(self, partner: str) -> str:
        return self._name("deliver", partner=partner)

    def acks(self, partner: str) -> str:
        return self._name("acks", partner=partner)

    def acks_topics(self) -> list[str]:
        return [self.acks(p.id) for p in self.registry.partners]

    def partner_of_acks(self, topic: str) -> str | None:
        """The partner an acknowledgements topic belongs to (who may write it)."""
        return self._acks_owners.get(topic)

    @cached_property
    def _acks_owners(self) -> dict[str, str]:
        return {self.acks(p.id): p.id for p in self.registry.partners}

    @property
    def rejected(self) -> str:
        return self._name("rejected")

    @property
    def audit(self) -> str:
        return self._name("audit")

    @property
    def console_actions(self) -> str:
        """What the console's users did, for the auditor to chain (``docs/console.md``)."""
        return self._name("console_actions")

    def _group(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    def partner_group(self, partner: str) -> str:
        """The consumer group (prefix) a partner's subscriber uses; its ACL is on this prefix."""
        return self._group(f"partner-{partner}")

    def operator_group(self, tool: str) -> str:
        """The consumer group (prefix) an operators' tool uses, e.g. rejected-events review."""
        return self._group(f"operator-{tool}")

    def force_group(self, force: str) -> str:
        """The consumer group (prefix) a force's receipt readers use."""
        return self._group(f"force-{force}")

    @property
    def ticks(self) -> str:
        return self._name("ticks")

    @property
    def ingest_partitions(self) -> int:
        return self._template("ingest").partitions

    def ingest_topics(self) -> list[str]:
        return [self.ingest(f.code) for f in self.registry.forces]

    def force_of_ingest(self, topic: str) -> str | None:
        """The force code an ingest topic belongs to: the sender binding's ground truth."""
        return self._ingest_owners.get(topic)

    @cached_property
    def _ingest_owners(self) -> dict[str, str]:
        return {self.ingest(f.code): f.code for f in self.registry.forces}

    # -- court results ------------------------------------------------------------------

    def court_ingest(self, court: str) -> str:
        return self._name("court-ingest", court=court)

    def court_receipts(self, court: str) -> str:
        return self._name("court-receipts", court=court)

    def force_results(self, force: str) -> str:
        return self._name("force-results", force=force)

    def partner_results(self, partner: str) -> str:
        return self._name("partner-results", partner=partner)

    def disclosing_topics(self) -> list[str]:
        """Every topic the worker discloses case data on, for the registry: each partner's
        deliveries and results, each force's results. Each record on them is one disclosure,
        which the auditor chains from its bytes (a partner or force added to the registry is
        covered with its topics)."""
        return [
            *(self.deliver(p.id) for p in self.registry.partners),
            *(self.force_results(f.code) for f in self.registry.forces),
            *(self.partner_results(p.id) for p in self.registry.partners),
        ]

    def court_ingest_topics(self) -> list[str]:
        return [self.court_ingest(c.id) for c in self.registry.courts]

    def court_of_ingest(self, topic: str) -> str | None:
        """The court publisher a court ingest topic belongs to: its sender binding."""
        return self._court_owners.get(topic)

    @cached_property
    def _court_owners(self) -> dict[str, str]:
        return {self.court_ingest(c.id): c.id for c in self.registry.courts}

    def court_group(self, court: str) -> str:
        """The consumer group (prefix) a court publisher's receipt readers use."""
        return self._group(f"court-{court}")

    def max_message_bytes(self, topic: str) -> int:
        """The largest record ``topic`` takes (the broker's default for topics not in the spec)."""
        return self._limits.get(topic, DEFAULT_MAX_MESSAGE_BYTES)

    @cached_property
    def _limits(self) -> dict[str, int]:
        return {t.name: t.template.max_message_bytes for t in self.topics()}

    @property
    def largest_message_bytes(self) -> int:
        """What a producer writing to every topic of the catalog must allow per request."""
        return max(t.max_message_bytes for t in self.templates)

    def topics(self) -> list[Topic]:
        """Every concrete topic the registry implies, in spec order."""
        result: list[Topic] = []
        for t in self.templates:
            owners: Iterable[str | None]
            if t.per == "force":
                owners = [f.code for f in self.registry.forces]
            elif t.per == "partner":
                owners = [p.id for p in self.registry.partners]
            elif t.per == "court":
                owners = [c.id for c in self.registry.courts]
            else:
                owners = [None]
            for owner in owners:
                kwargs = {t.per: owner} if t.per and owner else {}
                result.append(Topic(name=self._name(t.id, **kwargs), template=t, owner=owner))
        return result


MAX_REPLICATION = 3
"""Three copies of every record: with ``min.insync.replicas`` 2 and ``acks=all``, any one
broker may fail (or be paused, or restarted) without losing an acknowledged record."""


def cluster_replication(admin: Any) -> int:
    """The replication factor the cluster can give a new topic: three where it has three or
    more brokers, else one per broker. Fenced (down) brokers count, so a topic created while
    one broker is away is not silently given fewer copies."""
    return min(MAX_REPLICATION, len(admin.describe_cluster()["brokers"]))


def replication_of(bootstrap: str, **client: Any) -> int:
    """``cluster_replication`` for the cluster at ``bootstrap`` (one short admin call)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client)
    try:
        return cluster_replication(admin)
    finally:
        admin.close()


def apply_topics(
    catalog: TopicCatalog, bootstrap: str, *, replication: int | None = None, **client: Any
) -> list[str]:
    """Create the catalog's missing topics; return the names created. Safe to re-run.

    ``replication`` defaults to what the cluster can give (``cluster_replication``).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in catalog.topics() if t.name not in existing]
        if missing:
            factor = replication or cluster_replication(admin)
            admin.create_topics(
                [
                    NewTopic(
                        name=t.name,
                        num_partitions=t.partitions,
                        replication_factor=factor,
                        topic_configs=t.config,
                    )
                    for t in missing
                ],
                timeout_ms=60_000,
            )
        return [t.name for t in missing]
    finally:
        admin.close()
