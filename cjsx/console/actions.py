"""Every action of a console user, written to the chained audit log before it counts.

The console's own journal (the store's ``actions`` table) is for the people working an
exception; the section 62 log is the auditor's chain (``docs/audit.md``). So each action is also
sent, as a ``ConsoleAction``, to the console-actions topic, which only the console's principal
(``exchange-console``) may write and only the auditor may read; the auditor chains it beside
the disclosures.

What is recorded (``ActionCode``): signing in, a refused sign-in (a wrong password, or too many
failed attempts) and signing out; opening an
exception (its decoded case data is shown: a *consultation*), downloading its original bytes,
and searching where an event or case has been (both disclose case data); proposing a correction
and a replay's batch, approving (and a refused approval of one's own correction), the
resubmission itself, sending a correction back, dismissing; and a replay's dry run. Who is the
user's id and role, never a password; a refused sign-in under a name the console does not know
is recorded as ``?`` (what was typed may be a password typed into the wrong box). Text a user
typed (a dismissal's reason, a search that is not an event id or a URN) is never sent: it stays
in the console's store.

Recorded before success, or not done
    The record is sent with ``acks=all`` and the console waits for the broker's answer. A
    state change is made in the store's transaction and that transaction is committed only
    after the broker has taken the record: if the broker refuses or cannot be reached,
    :class:`ActionNotRecorded` is raised, the transaction rolls back, nothing has changed,
    and the user is told so (503) and may try again. A page that would disclose case data
    (an exception, its bytes, a search) is not shown unless its record was taken. The log
    may therefore hold an action whose store commit then failed (a full disk), never the
    reverse: it over-reports rather than misses.

    One action touches a second system: a resubmission publishes the correction to the
    force's ingest topic *before* ``RESUBMIT`` is recorded (recording it first would log a
    resubmission that may never happen). If that record is then refused, the correction is on
    its way but the exception stays *awaiting approval* and the user gets a 503; approving
    again sends the same event id (the worker drops the repeat as a duplicate) and records the
    resubmission. The deliveries the correction causes are disclosures the auditor chains either
    way.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from cjsx.console.users import User
from common.errors import CjsxError
from schemas.cloudevents import EXCHANGE_SOURCE, to_kafka
from schemas.codec import Codec
from schemas.identifiers.urn import check_urn
from schemas.models import ConsoleAction


class ActionCode(StrEnum):
    """What a user did; the codes are the ``action`` of a ``ConsoleAction`` record."""

    SIGN_IN = "SIGN_IN"
    SIGN_IN_REFUSED = "SIGN_IN_REFUSED"
    SIGN_IN_THROTTLED = "SIGN_IN_THROTTLED"
    SIGN_OUT = "SIGN_OUT"
    VIEW_EXCEPTION = "VIEW_EXCEPTION"
    DOWNLOAD_BYTES = "DOWNLOAD_BYTES"
    SEARCH = "SEARCH"
    PROPOSE_CORRECTION = "PROPOSE_CORRECTION"
    PROPOSE_REPLAY = "PROPOSE_REPLAY"
    APPROVE = "APPROVE"
    APPROVE_REFUSED = "APPROVE_REFUSED"
    RESUBMIT = "RESUBMIT"
    SEND_BACK = "SEND_BACK"
    DISMISS = "DISMISS"
    REPLAY_DRY_RUN = "REPLAY_DRY_RUN"


LABELS: dict[ActionCode, str] = {
    ActionCode.SIGN_IN: "signed in",
    ActionCode.SIGN_IN_REFUSED: "sign-in refused",
    ActionCode.SIGN_IN_THROTTLED: "refused: too many failed sign-ins",
    ActionCode.SIGN_OUT: "signed out",
    ActionCode.VIEW_EXCEPTION: "opened",
    ActionCode.DOWNLOAD_BYTES: "downloaded bytes",
    ActionCode.SEARCH: "searched",
    ActionCode.PROPOSE_CORRECTION: "correction proposed",
    ActionCode.PROPOSE_REPLAY: "resubmission proposed by replay",
    ActionCode.APPROVE: "correction approved",
    ActionCode.APPROVE_REFUSED: "refused: approve own correction",
    ActionCode.RESUBMIT: "resubmitted",
    ActionCode.SEND_BACK: "correction sent back",
    ActionCode.DISMISS: "dismissed",
    ActionCode.REPLAY_DRY_RUN: "replay dry run",
}
"""How the console's own journal names each action (shown on an exception's page)."""

DONE = "DONE"
REFUSED = "REFUSED"
UNKNOWN_USER = "?"
"""Who a refused sign-in is recorded as when the name is not a console user's."""


@dataclass(frozen=True)
class Act:
    """One action as the console's code states it; the store adds what it knows of the
    exception (case, force, event) before it is recorded."""

    user_id: str
    code: ActionCode
    rejection_id: str | None = None
    outcome: str = DONE
    correction_event_id: str | None = None
    detail: str | None = None
    """Set by the console only: never text a user typed."""
    case_urn: str | None = None
    force: str | None = None
    event_id: str | None = None

    def about(self, case_urn: str | None, force: str | None, event_id: str | None) -> Act:
        """The same act with the exception's case, force and event filled in."""
        return replace(
            self,
            case_urn=self.case_urn or case_urn,
            force=self.force or force,
            event_id=self.event_id or event_id,
        )


class ActionNotRecorded(CjsxError):
    """The broker did not take the action's record, so the console did not do the action."""


class RecordAction(Protocol):
    """Writes one action to the audit log, or raises :class:`ActionNotRecorded`."""

    def __call__(self, act: Act) -> None: ...

    def close(self) -> None: ...


def searched(query: str) -> str | None:
    """What a search may say in the audit log: the query if it is an event id or a case
    URN (identifiers the log holds anyway), else nothing (it may be a name someone typed)."""
    if _uuid(query) is not None:
        return query.lower()
    checked = check_urn(query)
    return checked.normalized if checked.normalized is not None else None


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


class ActionLog:
    """Sends each action to the console-actions topic and waits for the broker (acks=all).

    Connects as the console's own principal; the producer is made on first use, so a console
    started while the broker is away still serves pages that need no record.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        principal: str,
        users: Mapping[str, User],
        client: dict[str, Any] | None = None,
        codec: Codec | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.principal = principal
        self.users = users
        self.client = dict(client or {})
        self.codec = codec or Codec()
        self.timeout = timeout
        self.clock = clock
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _connected(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    max_block_ms=int(self.timeout * 1000),
                    **self.client,
                )
            return self._producer

    def record(self, act: Act) -> ConsoleAction:
        """The ``ConsoleAction`` an act becomes: the user's role as the console knows it."""
        user = self.users.get(act.user_id)
        return ConsoleAction(
            action_id=uuid.uuid4(),
            action=act.code.value,
            outcome=act.outcome,
            user_id=act.user_id,
            role=user.role if user is not None else "unknown",
            rejection_id=act.rejection_id,
            event_id=_uuid(act.event_id),
            correction_event_id=_uuid(act.correction_event_id),
            case_urn=act.case_urn,
            force=act.force,
            detail=act.detail,
            acted_at=self.clock(),
            recorded_by=self.principal,
        )

    def __call__(self, act: Act) -> None:
        record = self.record(act)
        value, headers = to_kafka(
            self.codec,
            record,
            id=str(record.action_id),
            source=EXCHANGE_SOURCE,
            subject=record.case_urn or f"console/{record.user_id}",
            time=record.acted_at,
        )
        try:
            self._connected().send(
                self.topic,
                key=record.case_urn.encode() if record.case_urn else None,
                value=value,
                headers=headers,
                partition=0,
            ).get(timeout=self.timeout)
        except KafkaError as error:
            raise ActionNotRecorded(
                f"the audit log did not take the action ({type(error).__name__})"
            ) from error

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None
