"""A partner's durable store: each delivery exactly once, and a per-case view beside it.

SQLite by default (one file, no server); any SQLAlchemy URL, such as PostgreSQL, for real
deployments. The delivery id is the primary key, so a redelivered record (the exchange or the
subscriber restarted) is recognised in the same transaction that would have stored it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

from consumers.casefile import CaseView
from infra.sqlite import open_engine
from schemas.models import Delivery

metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("event_id", String(36), nullable=False, index=True),
    Column("case_urn", String(32), nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("ordering", String(32), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("case_urn", String(32), primary_key=True),
    Column("view", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("position", String(300), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class StoreCounts:
    deliveries: int
    cases: int
    quarantined: int


class PartnerStore:
    """Idempotent store of one partner's deliveries."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = open_engine(url)
        metadata.create_all(self.engine)

    @classmethod
    def sqlite(cls, path: str) -> PartnerStore:
        return cls(f"sqlite:///{path}")

    def store(self, delivery: Delivery) -> bool:
        """Store one delivery and fold it into its case; False if it was already stored."""
        return self.store_many([delivery])[0]

    def store_many(self, batch: Sequence[Delivery]) -> list[bool]:
        """Store a batch in one transaction; for each, whether it was new.

        One transaction per batch rather than per record: the subscriber commits its offsets
        only after this returns, so a crash at any point replays the whole batch, and the
        primary key recognises what had been stored.
        """
        now = datetime.now(UTC)
        stored: list[bool] = []
        with self.engine.begin() as conn:
            for delivery in batch:
                stored.append(self._store_one(conn, delivery, now))
        return stored

    def _store_one(self, conn: Connection, delivery: Delivery, now: datetime) -> bool:
        event = delivery.event
        env = event.envelope
        seen = conn.execute(
            select(deliveries.c.delivery_id).where(
                deliveries.c.delivery_id == str(delivery.delivery_id)
            )
        ).first()
        if seen is not None:
            return False
        conn.execute(
            deliveries.insert().values(
                delivery_id=str(delivery.delivery_id),
                event_id=str(env.event_id),
                case_urn=env.case_urn,
                event_type=event.avro_name,
                sequence=env.sequence,
                ordering=delivery.ordering.value,
                recipient=delivery.recipient,
                delivered_at=delivery.delivered_at,
                stored_at=now,
                payload=delivery.model_dump_json(),
            )
        )
        row = conn.execute(select(cases.c.view).where(cases.c.case_urn == env.case_urn)).first()
        before = CaseView.model_validate_json(row[0]) if row else CaseView.start(delivery)
        view = before.apply(delivery).model_dump_json()
        if row is None:
            conn.execute(cases.insert().values(case_urn=env.case_urn, view=view, updated_at=now))
        else:
            conn.execute(
                cases.update()
                .where(cases.c.case_urn == env.case_urn)
                .values(view=view, updated_at=now)
            )
        return True

    def quarantine(self, position: str, reason: str, value: bytes) -> None:
        """Keep a record the subscriber could not read, with why (never drop it)."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(quarantine.c.position).where(quarantine.c.position == position)
            ).first()
            if exists is None:
                conn.execute(
                    quarantine.insert().values(
                        position=position, reason=reason, value=value, stored_at=datetime.now(UTC)
                    )
                )

    def case(self, urn: str) -> CaseView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases.c.view).where(cases.c.case_urn == urn)).first()
        return CaseView.model_validate_json(row[0]) if row else None

    def cases(self) -> list[CaseView]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(cases.c.view).order_by(cases.c.case_urn)).all()
        return [CaseView.model_validate_json(r[0]) for r in rows]

    def events_of(self, urn: str) -> list[dict[str, Any]]:
        """The case's deliveries in sequence order, as stored."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.payload)
                .where(deliveries.c.case_urn == urn)
                .order_by(deliveries.c.sequence)
            ).all()
        return [json.loads(r[0]) for r in rows]

    def delivery_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(deliveries.c.delivery_id)).all()]

    def counts(self) -> StoreCounts:
        with self.engine.connect() as conn:

            def count(table: Table) -> int:
                return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

            return StoreCounts(count(deliveries), count(cases), count(quarantine))

    def close(self) -> None:
        self.engine.dispose()
