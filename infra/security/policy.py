"""Who may do what, derived from the partner registry and the topic spec: the ACL policy.

One function turns the registry into the broker's grants, so access cannot drift from the
registry: a force writes only its own ingest topic and reads only its own receipts and court
results; a court publisher writes only its own court ingest topic and reads only its own
receipts; a partner reads only its own delivery and results topics and writes only its own
acknowledgements; the exchange's
services get exactly the topics their stage needs; only operators read the rejected-events
and audit topics. Everything not granted is denied (the broker runs with
``allow.everyone.if.no.acl.found=false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.registry import Registry
from infra.topics import TopicCatalog, worker_state_topics

ADMIN = "admin"
"""Super user for provisioning (topics, users, ACLs); used by operators' tooling only."""
BROKER = "broker"
CONTROLLER = "controller"
SUPER_USERS = (BROKER, CONTROLLER, ADMIN)

WORKER = "exchange-worker"
AUDITOR = "exchange-auditor"
CONSOLE = "exchange-console"
"""The exceptions console's own principal: it only writes the console-actions topic."""
OPERATOR = "operator"
"""The registry's operator principal used by operators' tools by default."""

Resource = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"]
Pattern = Literal["LITERAL", "PREFIXED"]
Operation = Literal[
    "READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "DELETE"
]


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW binding: principal may perform operation on a resource (from any host)."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


def force_principal(code: str) -> str:
    return f"force-{code}"


def principals(registry: Registry) -> list[str]:
    """Every principal the registry defines (super users excluded)."""
    return [
        *(force_principal(f.code) for f in registry.forces),
        *(p.id for p in registry.partners),
        *(c.id for c in registry.courts),
        *(s.id for s in registry.services),
        *(o.id for o in registry.operators),
    ]


def grants(catalog: TopicCatalog, *, worker_app_id: str) -> set[Grant]:
    """The complete ALLOW set for the catalog's registry and namespace."""
    registry = catalog.registry
    result: set[Grant] = set()

    def allow(
        who: str, resource: Resource, name: str, *ops: Operation, pattern: Pattern = "LITERAL"
    ) -> None:
        result.update(Grant(who, resource, name, pattern, op) for op in ops)

    prefix = f"{catalog.namespace}." if catalog.namespace else ""  # for services' ids
    for force in registry.forces:
        who = force_principal(force.code)
        allow(who, "TOPIC", catalog.ingest(force.code), "WRITE", "DESCRIBE")
        allow(who, "TOPIC", catalog.receipts(force.code), "READ", "DESCRIBE")
        allow(who, "GROUP", catalog.force_group(force.code), "READ", pattern="PREFIXED")
    for force in registry.forces:
        # Court results for the force's cases: its own results topic only.
        allow(
            force_principal(force.code),
            "TOPIC",
            catalog.force_results(force.code),
            "READ",
            "DESCRIBE",
        )
    for court in registry.courts:
        # A court publisher writes only its own ingest topic and reads only its own receipts.
        allow(court.id, "TOPIC", catalog.court_ingest(court.id), "WRITE", "DESCRIBE")
        allow(court.id, "TOPIC", catalog.court_receipts(court.id), "READ", "DESCRIBE")
        allow(court.id, "GROUP", catalog.court_group(court.id), "READ", pattern="PREFIXED")
    for partner in registry.partners:
        allow(partner.id, "TOPIC", catalog.partner_results(partner.id), "READ", "DESCRIBE")
    for partner in registry.partners:
        allow(partner.id, "TOPIC", catalog.deliver(partner.id), "READ", "DESCRIBE")
        allow(partner.id, "TOPIC", catalog.acks(partner.id), "WRITE", "DESCRIBE")
        allow(partner.id, "GROUP", catalog.partner_group(partner.id), "READ", pattern="PREFIXED")
    if any(s.id == WORKER for s in registry.services):
        for force in registry.forces:
            allow(WORKER, "TOPIC", catalog.ingest(force.code), "READ", "DESCRIBE")
            allow(WORKER, "TOPIC", catalog.receipts(force.code), "WRITE", "DESCRIBE")
        for partner in registry.partners:
            # READ too: the age of a partner's oldest unread delivery (lag in seconds) is the
            # timestamp of that record, which the worker wrote in the first place.
            allow(WORKER, "TOPIC", catalog.deliver(partner.id), "READ", "WRITE", "DESCRIBE")
            allow(WORKER, "TOPIC", catalog.acks(partner.id), "READ", "DESCRIBE")
            # Lag of each partner's group, for the operators' metrics.
            allow(
                WORKER, "GROUP", catalog.partner_group(partner.id), "DESCRIBE", pattern="PREFIXED"
            )
        # Court results: read every court's ingest, answer on its receipts, deliver to the
        # charging force's and the partners' results topics.
        for court in registry.courts:
            allow(WORKER, "TOPIC", catalog.court_ingest(court.id), "READ", "DESCRIBE")
            allow(WORKER, "TOPIC", catalog.court_receipts(court.id), "WRITE", "DESCRIBE")
        for force in registry.forces:
            allow(WORKER, "TOPIC", catalog.force_results(force.code), "WRITE", "DESCRIBE")
        for partner in registry.partners:
            allow(WORKER, "TOPIC", catalog.partner_results(partner.id), "WRITE", "DESCRIBE")
        allow(WORKER, "TOPIC", catalog.rejected, "READ", "WRITE", "DESCRIBE")
        allow(WORKER, "GROUP", catalog.operator_group(""), "DESCRIBE", pattern="PREFIXED")
        allow(WORKER, "TOPIC", catalog.ticks, "READ", "WRITE", "DESCRIBE")
        # Faust's own state: exactly the changelogs of the tables it declares, nothing else
        # under its application id (a prefix would let it create any topic named so).
        for changelog in worker_state_topics(worker_app_id):
            allow(
                WORKER,
                "TOPIC",
                changelog,
                "CREATE",
                "READ",
                "WRITE",
                "DESCRIBE",
                "DESCRIBE_CONFIGS",
            )
        allow(WORKER, "GROUP", worker_app_id, "READ", "DESCRIBE", pattern="PREFIXED")
        allow(WORKER, "CLUSTER", "kafka-cluster", "DESCRIBE")
    if any(s.id == AUDITOR for s in registry.services):
        # Every record the worker delivers is a disclosure: the auditor reads each delivery
        # and results topic the registry implies, and chains the hash of its bytes.
        for topic in catalog.disclosing_topics():
            allow(AUDITOR, "TOPIC", topic, "READ", "DESCRIBE")
        allow(AUDITOR, "TOPIC", catalog.console_actions, "READ", "DESCRIBE")
        allow(AUDITOR, "TOPIC", catalog.audit, "READ", "WRITE", "DESCRIBE")
        allow(AUDITOR, "GROUP", f"{prefix}{AUDITOR}", "READ", pattern="PREFIXED")
        allow(
            AUDITOR,
            "TRANSACTIONAL_ID",
            f"{prefix}{AUDITOR}",
            "WRITE",
            "DESCRIBE",
            pattern="PREFIXED",
        )
    if any(s.id == CONSOLE for s in registry.services):
        # Only the console writes what its users did; only the auditor reads it.
        allow(CONSOLE, "TOPIC", catalog.console_actions, "WRITE", "DESCRIBE")
    for operator in registry.operators:
        allow(operator.id, "TOPIC", catalog.rejected, "READ", "DESCRIBE")
        allow(operator.id, "TOPIC", catalog.audit, "READ", "DESCRIBE")
        allow(operator.id, "GROUP", catalog.operator_group(""), "READ", pattern="PREFIXED")
        # Lag and backlog: offsets of every delivery topic and partner group, not contents.
        for partner in registry.partners:
            allow(operator.id, "TOPIC", catalog.deliver(partner.id), "DESCRIBE")
            allow(
                operator.id,
                "GROUP",
                catalog.partner_group(partner.id),
                "DESCRIBE",
                pattern="PREFIXED",
            )
    return result
