"""The console's own store: exceptions read from the rejected topic, corrections, and a journal.

SQLite by default (WAL), any SQLAlchemy URL such as PostgreSQL for real deployments, as the
partner SDK does. Nothing is ever deleted: an exception changes state, a correction gains an
approval and receipts, and every action of every user is appended to ``actions`` with who and
when, and sent to the chained audit log (``cjsx.console.actions``) inside the same transaction,
which commits only once the broker has taken the record. The read position of the rejected
topic is stored with the exceptions it produced, in the same transaction, so a restart neither
loses nor repeats one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping

from cjsx.console.actions import LABELS, Act, ActionCode, RecordAction
from cjsx.errors import CjsxError
from infra.sqlite import open_engine
from schemas.models import CaseEvent, RejectedEvent


class State(StrEnum):
    """Where an exception is in its life; an exception never leaves the store."""

    OPEN = "open"
    AWAITING_APPROVAL = "awaiting approval"
    RESUBMITTED = "resubmitted"
    DISMISSED = "dismissed"


metadata = MetaData()

exceptions = Table(
    "exceptions",
    metadata,
    Column("rejection_id", String(36), primary_key=True),
    Column("force", String(8), nullable=True, index=True),
    Column("case_urn", String(32), nullable=True, index=True),
    Column("event_id", String(36), nullable=True),
    Column("event_type", String(120), nullable=True),
    Column("reason_codes", Text, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("source_topic", String(255), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", BigInteger, nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("value", LargeBinary, nullable=False),
    Column("rejected_at_ms", BigInteger, nullable=False, index=True),
    Column("state", String(32), nullable=False, index=True),
    Column("dismissed_reason", Text, nullable=True),
)

corrections = Table(
    "corrections",
    metadata,
    Column("correction_id", String(36), primary_key=True),
    Column("rejection_id", String(36), nullable=False, index=True),
    Column("event_type", String(120), nullable=False),
    Column("event", Text, nullable=False),
    Column("new_event_id", String(36), nullable=False, unique=True),
    Column("editor", String(64), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("reviewer", String(64), nullable=True),
    Column("approved_at_ms", BigInteger, nullable=True),
    Column("published_at", Text, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("outcome_reasons", Text, nullable=True),
    Column("delivered_to", Text, nullable=False, default="[]"),
    Column("acknowledged_by", Text, nullable=False, default="[]"),
    Column("withdrawn", Integer, nullable=False, default=0),
    Column("batch", String(36), nullable=True, index=True),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("rejection_id", String(36), nullable=True, index=True),
    Column("detail", Text, nullable=False, default=""),
)

feed_positions = Table(
    "feed_positions",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Filters:
    """What the queue is narrowed to; ``force`` is forced to the user's own for force staff."""

    force: str | None = None
    code: str | None = None
    min_age_hours: float | None = None
    case_urn: str | None = None
    states: tuple[State, ...] = (State.OPEN,)


@dataclass(frozen=True)
class Exception_:
    """One row of the queue (named with a trailing underscore: not a Python exception)."""

    rejection_id: str
    force: str | None
    case_urn: str | None
    event_id: str | None
    event_type: str | None
    reasons: list[dict[str, str]]
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes
    rejected_at: datetime
    state: State
    dismissed_reason: str | None

    @property
    def codes(self) -> list[str]:
        return sorted({r["code"] for r in self.reasons})


@dataclass(frozen=True)
class Correction:
    """A corrected event waiting for, or past, its second pair of eyes."""

    correction_id: str
    rejection_id: str
    event_type: str
    event: dict[str, Any]
    new_event_id: str
    editor: str
    created_at: datetime
    reviewer: str | None
    approved_at: datetime | None
    published_at: str | None
    outcome: str | None
    outcome_reasons: list[dict[str, str]]
    delivered_to: list[str] = field(default_factory=list)
    acknowledged_by: list[str] = field(default_factory=list)
    withdrawn: bool = False
    batch: str | None = None
    """The replay that proposed it, when it was proposed with others for one approval."""


@dataclass(frozen=True)
class Action:
    at: datetime
    user_id: str
    action: str
    rejection_id: str | None
    detail: str


def _dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _exception(row: RowMapping) -> Exception_:
    return Exception_(
        rejection_id=row["rejection_id"],
        force=row["force"],
        case_urn=row["case_urn"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        reasons=json.loads(row["reasons"]),
        source_topic=row["source_topic"],
        source_partition=row["source_partition"],
        source_offset=row["source_offset"],
        key=row["key"],
        value=row["value"],
        rejected_at=datetime.fromtimestamp(row["rejected_at_ms"] / 1000, UTC),
        state=State(row["state"]),
        dismissed_reason=row["dismissed_reason"],
    )


def _correction(row: RowMapping) -> Correction:
    return Correction(
        correction_id=row["correction_id"],
        rejection_id=row["rejection_id"],
        event_type=row["event_type"],
        event=json.loads(row["event"]),
        new_event_id=row["new_event_id"],
        editor=row["editor"],
        created_at=datetime.fromtimestamp(row["created_at_ms"] / 1000, UTC),
        reviewer=row["reviewer"],
        approved_at=_dt(row["approved_at_ms"]),
        published_at=row["published_at"],
        outcome=row["outcome"],
        outcome_reasons=json.loads(row["outcome_reasons"] or "[]"),
        delivered_to=json.loads(row["delivered_to"]),
        acknowledged_by=json.loads(row["acknowledged_by"]),
        withdrawn=bool(row["withdrawn"]),
        batch=row["batch"],
    )


def _move(
    conn: Connection,
    rejection_id: str,
    source: State,
    target: State,
    refusal: str,
    **also: Any,
) -> None:
    """Move one exception from ``source`` to ``target`` (with ``also`` set), or refuse: two
    people acting on one exception at once cannot both move it."""
    moved = conn.execute(
        update(exceptions)
        .where(exceptions.c.rejection_id == rejection_id)
        .where(exceptions.c.state == source.value)
        .values(state=target.value, **also)
    ).rowcount
    if moved != 1:
        raise StateError(refusal)


class ConsoleStore:
    """All of the console's state behind one small interface."""

    def __init__(self, url: str, *, record: RecordAction) -> None:
        """``record`` writes each action to the audit log (or raises, and the action is
        rolled back): the store owns it and closes it."""
        # Rejected events are case data: the same owner-only store as the partner SDK's.
        self.engine: Engine = open_engine(url)
        self.record = record
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        self.record.close()

    # -- the feed -----------------------------------------------------------------------------

    def positions(self, topic: str) -> dict[int, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(feed_positions).where(feed_positions.c.topic == topic))
            return {r.partition: r.next_offset for r in rows}

    def add_rejections(self, topic: str, records: Sequence[tuple[int, int, RejectedEvent]]) -> int:
        """Store rejections read at (partition, offset), and the next position, at once."""
        added = 0
        with self.engine.begin() as conn:
            for _, _, rejected in records:
                if self._has(conn, str(rejected.rejection_id)):
                    continue
                conn.execute(insert(exceptions).values(**_row_of(rejected)))
                added += 1
            for partition, offset, _ in records:
                self._advance(conn, topic, partition, offset + 1)
        return added

    def _has(self, conn: Connection, rejection_id: str) -> bool:
        query = select(exceptions.c.rejection_id).where(exceptions.c.rejection_id == rejection_id)
        return conn.execute(query).first() is not None

    def _advance(self, conn: Connection, topic: str, partition: int, next_offset: int) -> None:
        key = (feed_positions.c.topic == topic) & (feed_positions.c.partition == partition)
        current = conn.execute(select(feed_positions.c.next_offset).where(key)).scalar()
        if current is None:
            conn.execute(
                insert(feed_positions).values(
                    topic=topic, partition=partition, next_offset=next_offset
                )
            )
        elif next_offset > current:
            conn.execute(update(feed_positions).where(key).values(next_offset=next_offset))

    # -- the queue ----------------------------------------------------------------------------

    def queue(self, filters: Filters, *, now: datetime | None = None) -> list[Exception_]:
        """Exceptions matching ``filters``, oldest first."""
        query = select(exceptions).where(exceptions.c.state.in_([s.value for s in filters.states]))
        if filters.force:
            query = query.where(exceptions.c.force == filters.force)
        if filters.case_urn:
            query = query.where(exceptions.c.case_urn == filters.case_urn.strip().upper())
        if filters.code:
            query = query.where(exceptions.c.reason_codes.contains(f",{filters.code},"))
        if filters.min_age_hours is not None:
            moment = (now or datetime.now(UTC)).timestamp() * 1000
            cutoff = int(moment - filters.min_age_hours * 3_600_000)
            query = query.where(exceptions.c.rejected_at_ms <= cutoff)
        query = query.order_by(exceptions.c.rejected_at_ms, exceptions.c.rejection_id)
        with self.engine.connect() as conn:
            return [_exception(r) for r in conn.execute(query).mappings()]

    def counts_by_code(self, filters: Filters) -> dict[str, int]:
        """How many of the filtered exceptions carry each reason code."""
        counts: dict[str, int] = {}
        for item in self.queue(Filters(filters.force, None, None, None, filters.states)):
            for code in item.codes:
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def get(self, rejection_id: str) -> Exception_ | None:
        query = select(exceptions).where(exceptions.c.rejection_id == rejection_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _exception(row)

    # -- corrections and decisions -----------------------------------------------------------

    def propose(
        self,
        rejection_id: str,
        event: CaseEvent,
        editor: str,
        batch: str | None = None,
    ) -> str:
        """Store a correction (the corrected event, as JSON) and move the exception to
        awaiting approval (only from open)."""
        correction_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            _move(
                conn,
                rejection_id,
                State.OPEN,
                State.AWAITING_APPROVAL,
                "only an open exception can be corrected",
            )
            conn.execute(
                insert(corrections).values(
                    correction_id=correction_id,
                    rejection_id=rejection_id,
                    event_type=event.avro_name,
                    event=json.dumps(event.model_dump(mode="json")),
                    new_event_id=str(event.envelope.event_id),
                    editor=editor,
                    created_at_ms=now_ms(),
                    delivered_to="[]",
                    acknowledged_by="[]",
                    withdrawn=0,
                    batch=batch,
                )
            )
            code = ActionCode.PROPOSE_CORRECTION if batch is None else ActionCode.PROPOSE_REPLAY
            new_id = str(event.envelope.event_id)
            self._journal(conn, Act(editor, code, rejection_id, correction_event_id=new_id), new_id)
        return correction_id

    def pending(self, rejection_id: str) -> Correction | None:
        """The newest correction of an exception that was not withdrawn."""
        query = (
            select(corrections)
            .where(corrections.c.rejection_id == rejection_id)
            .where(corrections.c.withdrawn == 0)
            .order_by(corrections.c.created_at_ms.desc())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _correction(row)

    def batch(self, batch: str) -> list[tuple[Exception_, Correction]]:
        """The exceptions a replay proposed together, with their corrections."""
        query = select(corrections).where(corrections.c.batch == batch)
        with self.engine.connect() as conn:
            found = [_correction(r) for r in conn.execute(query).mappings()]
        pairs = [(self.get(c.rejection_id), c) for c in found]
        return sorted(((e, c) for e, c in pairs if e is not None), key=lambda p: p[0].rejected_at)

    def corrections_of(self, rejection_id: str) -> list[Correction]:
        query = (
            select(corrections)
            .where(corrections.c.rejection_id == rejection_id)
            .order_by(corrections.c.created_at_ms)
        )
        with self.engine.connect() as conn:
            return [_correction(r) for r in conn.execute(query).mappings()]

    def approve(self, correction_id: str, reviewer: str) -> None:
        """Record the second pair of eyes; the caller publishes afterwards."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    select(corrections).where(corrections.c.correction_id == correction_id)
                )
                .mappings()
                .first()
            )
            if row is None or row["reviewer"] is not None or row["withdrawn"]:
                raise StateError("this correction is not waiting for approval")
            if row["editor"] == reviewer:
                raise StateError("the editor of a correction cannot approve it")
            conn.execute(
                update(corrections)
                .where(corrections.c.correction_id == correction_id)
                .values(reviewer=reviewer, approved_at_ms=now_ms())
            )
            self._journal(
                conn,
                Act(
                    reviewer,
                    ActionCode.APPROVE,
                    row["rejection_id"],
                    correction_event_id=row["new_event_id"],
                ),
            )

    def published(self, correction_id: str, where: str, user_id: str) -> None:
        """The correction is on the force's ingest topic: the exception is resubmitted."""
        with self.engine.begin() as conn:
            row = (
                conn.execute(
                    select(corrections).where(corrections.c.correction_id == correction_id)
                )
                .mappings()
                .one()
            )
            conn.execute(
                update(corrections)
                .where(corrections.c.correction_id == correction_id)
                .values(published_at=where)
            )
            conn.execute(
                update(exceptions)
                .where(exceptions.c.rejection_id == row["rejection_id"])
                .values(state=State.RESUBMITTED.value)
            )
            act = Act(
                user_id,
                ActionCode.RESUBMIT,
                row["rejection_id"],
                correction_event_id=row["new_event_id"],
                detail=where,
            )
            self._journal(conn, act, f"{row['new_event_id']} {where}")

    def withdraw(self, rejection_id: str, user_id: str, why: str) -> None:
        """Send a correction back: the exception is open again, the correction kept."""
        with self.engine.begin() as conn:
            _move(
                conn,
                rejection_id,
                State.AWAITING_APPROVAL,
                State.OPEN,
                "no correction is waiting for approval",
            )
            conn.execute(
                update(corrections)
                .where(corrections.c.rejection_id == rejection_id)
                .where(corrections.c.reviewer.is_(None))
                .values(withdrawn=1)
            )
            self._journal(conn, Act(user_id, ActionCode.SEND_BACK, rejection_id), why)

    def dismiss(self, rejection_id: str, user_id: str, why: str) -> None:
        with self.engine.begin() as conn:
            _move(
                conn,
                rejection_id,
                State.OPEN,
                State.DISMISSED,
                "only an open exception can be dismissed",
                dismissed_reason=why,
            )
            self._journal(conn, Act(user_id, ActionCode.DISMISS, rejection_id), why)

    # -- receipts of resubmitted corrections ---------------------------------------------------

    def following(self) -> list[tuple[str, Correction]]:
        """(force, correction) for every published correction still short of final receipts."""
        query = (
            select(corrections, exceptions.c.force)
            .join(exceptions, exceptions.c.rejection_id == corrections.c.rejection_id)
            .where(corrections.c.published_at.is_not(None))
        )
        with self.engine.connect() as conn:
            return [(r["force"], _correction(r)) for r in conn.execute(query).mappings()]

    def record_receipts(
        self,
        new_event_id: str,
        *,
        outcome: str | None,
        reasons: list[dict[str, str]],
        delivered_to: list[str],
        acknowledged_by: list[str],
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(corrections)
                .where(corrections.c.new_event_id == new_event_id)
                .values(
                    outcome=outcome,
                    outcome_reasons=json.dumps(reasons),
                    delivered_to=json.dumps(sorted(delivered_to)),
                    acknowledged_by=json.dumps(sorted(acknowledged_by)),
                )
            )

    # -- the journal --------------------------------------------------------------------------

    def journal(self, act: Act, note: str = "") -> None:
        """Journal an action that changes nothing else (``note``: kept here only)."""
        with self.engine.begin() as conn:
            self._journal(conn, act, note)

    def consulted(self, act: Act) -> None:
        """Send to the audit log that a user was shown an exception's case data; not
        journalled here, where an exception's history is its lifecycle."""
        with self.engine.connect() as conn:
            self.record(self._about(conn, act))

    def _about(self, conn: Connection, act: Act) -> Act:
        """The act with its exception's case, force and event id, as the store holds them."""
        if act.rejection_id is None:
            return act
        query = select(exceptions.c.case_urn, exceptions.c.force, exceptions.c.event_id).where(
            exceptions.c.rejection_id == act.rejection_id
        )
        row = conn.execute(query).first()
        return act if row is None else act.about(row.case_urn, row.force, row.event_id)

    def _journal(self, conn: Connection, act: Act, note: str = "") -> None:
        """Append to the journal, then record in the audit log before the caller's transaction
        commits: if the broker does not take it, ``ActionNotRecorded`` rolls it all back."""
        conn.execute(
            insert(actions).values(
                at_ms=now_ms(),
                user_id=act.user_id,
                action=LABELS[act.code],
                rejection_id=act.rejection_id,
                detail=note,
            )
        )
        self.record(self._about(conn, act))

    def actions(self, rejection_id: str | None = None) -> list[Action]:
        query = select(actions).order_by(actions.c.id)
        if rejection_id is not None:
            query = query.where(actions.c.rejection_id == rejection_id)
        with self.engine.connect() as conn:
            return [
                Action(
                    at=datetime.fromtimestamp(r["at_ms"] / 1000, UTC),
                    user_id=r["user_id"],
                    action=r["action"],
                    rejection_id=r["rejection_id"],
                    detail=r["detail"],
                )
                for r in conn.execute(query).mappings()
            ]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(exceptions)).scalar() or 0)


class StateError(CjsxError):
    """An action that the exception's state does not allow (a stale page, a second click)."""


def _row_of(rejected: RejectedEvent) -> dict[str, Any]:
    reasons = [
        {"code": r.code, "field": r.field, "message": r.message, "hint": r.hint}
        for r in rejected.reasons
    ]
    return {
        "rejection_id": str(rejected.rejection_id),
        "force": rejected.force,
        "case_urn": rejected.case_urn,
        "event_id": None if rejected.event_id is None else str(rejected.event_id),
        "event_type": rejected.event_type,
        "reason_codes": "," + ",".join(sorted({r["code"] for r in reasons})) + ",",
        "reasons": json.dumps(reasons),
        "source_topic": rejected.source_topic,
        "source_partition": rejected.source_partition,
        "source_offset": rejected.source_offset,
        "key": rejected.key,
        "value": rejected.value,
        "rejected_at_ms": int(rejected.rejected_at.timestamp() * 1000),
        "state": State.OPEN.value,
        "dismissed_reason": None,
    }
