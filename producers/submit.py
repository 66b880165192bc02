"""Events in the JSON form, checked as the exchange checks them, then published; and a force's
receipts read from a chosen point. For systems that write JSON rather than Avro.

A force's records system (a vendor product, a nightly export) hands each event as CloudEvents
JSON text (docs/wire-format.md section 4). ``Submitter`` applies the very checks the worker
applies and ``cjsx validate`` prints (``schemas.jsonform``, then ``streams.validate``'s sender
binding and rules, with this force as the sender), and publishes only an event that passes,
through the force's ``Publisher``: one that fails gets every coded reason at once and never
reaches the broker. ``ReceiptReader`` reads the force's receipts topic from its beginning, its
end or a time, without a consumer group, so it needs only the force's own READ grant.

``cjsx publish``, ``cjsx receipts`` and the HTTP gateway are built on these; argument parsing
and HTTP stay with them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import (
    AuthorizationError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
)

from common.errors import CjsxError
from infra.registry import Registry, load_registry
from producers.publisher import Publisher, PublishRefused, Sent
from producers.receipts import OUTCOMES
from schemas.codec import Codec, CodecError
from schemas.jsonform import JSON_HINT, MAX_LINE_BYTES, Parsed, parse_line, parse_object
from schemas.models import CaseEvent, HearingResulted, Receipt
from schemas.models import Reason as ReasonRecord
from schemas.reasons import Reason, ReasonCode
from streams.reference import StandingData
from streams.results import check_court_sender
from streams.validate import ValidationContext, check_sender, validate_event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The exchange's rules applied here to one event in the JSON form.

    ``event`` is the parsed event when it passed (what will be published), else None;
    ``event_id`` is known whenever the input names a well-formed one, even when rejected.
    Reasons are shaped as in receipts (``code``, ``field``, ``message``, ``hint``).
    """

    event_id: str | None
    reasons: tuple[ReasonRecord, ...] = ()
    event: CaseEvent | None = None

    @property
    def accepted(self) -> bool:
        return not self.reasons

    def reasons_json(self) -> list[dict[str, str]]:
        return [r.model_dump(mode="json") for r in self.reasons]

    def to_json(self) -> dict[str, Any]:
        """As ``cjsx validate`` prints it: ``{"event_id", "accepted", "reasons"}``."""
        return {
            "event_id": self.event_id,
            "accepted": self.accepted,
            "reasons": self.reasons_json(),
        }


def _record(reason: Reason) -> ReasonRecord:
    return ReasonRecord(
        code=reason.code.value, field=reason.field, message=reason.message, hint=reason.hint
    )


class Checker:
    """One force's local checks: the JSON form, the sender binding, the contract's rules.

    The sender binding is checked against ``force``, the force whose ingest topic the event
    is for, exactly as the worker checks it against the topic the record came on. A file
    checked on its own (``cjsx validate`` without ``--force``) has no topic: ``force`` None
    takes each event's own ``envelope.force``, so only the URN and ASN prefixes are bound.
    """

    def __init__(
        self,
        force: str | None,
        context: ValidationContext | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.force = force
        self.context = context or ValidationContext(StandingData.load())
        self.registry = registry or load_registry()

    def check(self, text: bytes | str) -> Verdict:
        """One event given as JSON text (a line of JSON Lines, a request body)."""
        return self._verdict(lambda: parse_line(text))

    def check_object(self, value: object) -> Verdict:
        """One event given as an already decoded JSON value (one item of a batch)."""
        return self._verdict(lambda: parse_object(value))

    @staticmethod
    def too_long(size: int) -> Verdict:
        """The verdict on input of ``size`` bytes that was not read, being over the limit."""
        message = f"line is {size} bytes; the limit is {MAX_LINE_BYTES}"
        return Verdict(None, (_record(Reason.of(ReasonCode.UNDECODABLE, "", message, JSON_HINT)),))

    def _verdict(self, parse: Callable[[], Parsed]) -> Verdict:
        event_id: str | None = None
        try:
            parsed = parse()
            event_id = None if parsed.event_id is None else str(parsed.event_id)
            reasons = parsed.reasons
            if parsed.event is not None:
                sender = self.force if self.force is not None else parsed.event.envelope.force
                reasons = check_sender(parsed.event, sender) + validate_event(
                    parsed.event, self.context
                )
                if isinstance(parsed.event, HearingResulted):
                    reasons += self._court_binding(parsed.event)
                if not reasons:
                    return Verdict(event_id, (), parsed.event)
        except Exception as error:  # noqa: BLE001 - routed: the input gets an INTERNAL_ERROR verdict
            del error  # its text could quote the input
            message = (
                "the validator failed on this line; please report it to the exchange operators"
            )
            reasons = [Reason.of(ReasonCode.INTERNAL_ERROR, "", message)]
        return Verdict(event_id, tuple(_record(r) for r in reasons))

    def _court_binding(self, event: HearingResulted) -> list[Reason]:
        """Court results: the publisher must be a court publisher of the registry, bound to the
        hearing's court house (whether the case was charged needs the exchange's state)."""
        publisher = self.registry.court(event.publisher)
        if publisher is None:
            message = "is not a court publisher of the registry (infra/registry.toml)"
            return [Reason.of(ReasonCode.SENDER_COURT_MISMATCH, "publisher", message)]
        return check_court_sender(event, publisher)


class SubmitStatus(StrEnum):
    """What became of one submitted event, as ``cjsx publish`` prints it."""

    PUBLISHED = "published"
    """Acknowledged by the broker: durably on the force's ingest topic."""
    REJECTED_LOCALLY = "rejected_locally"
    """Failed the exchange's checks here; never sent."""
    NOT_PUBLISHED = "not_published"
    """Passed, but the broker did not acknowledge it (it is kept in the outbox)."""


@dataclass(slots=True)
class Submission:
    """One event handed to ``Submitter.submit``: its verdict, and the broker's
    acknowledgement to come when it passed (``sent``; None when it did not)."""

    verdict: Verdict
    sent: Sent | None = None

    @property
    def acknowledged(self) -> bool:
        return self.sent is not None and self.sent.is_done and self.sent.succeeded()


class Submitter:
    """Checks one force's JSON-form events and publishes those that pass with its publisher
    (which must write that force's ingest topic). The caller closes the publisher."""

    def __init__(self, publisher: Publisher, checker: Checker) -> None:
        if checker.force is None:
            raise ValueError("a submitter checks the sender against its own force")
        self.publisher = publisher
        self.checker = checker
        self.force: str = checker.force

    def submit(self, text: bytes | str) -> Submission:
        """Check one event given as JSON text; publish it if it passes."""
        return self.publish(self.checker.check(text))

    def submit_object(self, value: object) -> Submission:
        """Check one event given as a decoded JSON value; publish it if it passes."""
        return self.publish(self.checker.check_object(value))

    def publish(self, verdict: Verdict) -> Submission:
        """Publish the event of a passing ``verdict`` (from ``self.checker``); a failing one is
        returned as it is. Checking a whole batch before publishing any of it is this, after
        ``checker.check`` for each."""
        if verdict.event is None:
            return Submission(verdict)
        try:
            sent = self.publisher.publish(verdict.event)
        except PublishRefused as refused:  # it can never fit the topic: a verdict, not a fault
            reason = ReasonRecord(
                code=refused.code.value,
                field="",
                message=refused.message,
                hint="Split its documents over several events.",
            )
            return Submission(Verdict(verdict.event_id, (reason,)))
        # The event is committed to the outbox; the verdict no longer needs to carry it.
        return Submission(Verdict(verdict.event_id), sent)

    def confirm(self, submission: Submission, timeout: float) -> None:
        """Return once ``submission``'s event is acknowledged by the broker.

        A failed send is retried by the publisher, so this waits for the outbox to drain
        instead; a refusal by the broker (an ACL, say) is raised at once, and
        ``KafkaTimeoutError`` when nothing is acknowledged within ``timeout`` seconds.
        Either way the event stays in the outbox, and the next publisher of the topic sends it.
        """
        if submission.sent is None:
            raise ValueError("the submission was not published")
        deadline = time.monotonic() + timeout
        while not submission.acknowledged:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaTimeoutError(f"not acknowledged within {timeout} s")
            try:
                self.publisher.flush(timeout=min(0.5, remaining))
                return  # the outbox is empty: every event handed over is acknowledged
            except KafkaTimeoutError:
                continue


class BrokerCode(StrEnum):
    """Why the broker did not take or give what was asked: stable codes for scripts."""

    NOT_AUTHORISED = "NOT_AUTHORISED"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"
    BROKER_ERROR = "BROKER_ERROR"


@dataclass(frozen=True, slots=True)
class BrokerProblem:
    """A broker fault told in words a force's developer can act on."""

    code: BrokerCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


def broker_problem(error: BaseException, principal: str, topic: str, doing: str) -> BrokerProblem:
    """``error`` (raised by a Kafka client acting as ``principal`` on ``topic``) as a coded,
    plain-words problem; ``doing`` is what was attempted ("write", "read")."""
    name = type(error).__name__
    if isinstance(error, AuthorizationError):
        return BrokerProblem(
            BrokerCode.NOT_AUTHORISED,
            f"the broker refused principal {principal} permission to {doing} {topic} ({name}): "
            "a force may write only its own ingest topic and read only its own receipts; "
            "check --force and the principal (CJSX_PRINCIPAL)",
        )
    if isinstance(error, SaslAuthenticationFailedError):
        return BrokerProblem(
            BrokerCode.NOT_AUTHENTICATED,
            f"the broker did not accept principal {principal}'s credentials ({name}); "
            "check its password (CJSX_PASSWORD or its credentials file)",
        )
    if isinstance(error, KafkaError) and error.retriable:
        return BrokerProblem(
            BrokerCode.BROKER_UNAVAILABLE,
            f"the broker did not answer in time ({name}); check CJSX_BOOTSTRAP_SERVERS "
            "and that the exchange is running",
        )
    return BrokerProblem(BrokerCode.BROKER_ERROR, f"the broker failed the request ({name})")


class ReceiptsUnavailable(CjsxError):
    """The receipts topic could not be read; ``problem`` says why in coded words."""

    def __init__(self, problem: BrokerProblem) -> None:
        super().__init__(f"{problem.code}: {problem.message}")
        self.problem = problem


Start = Literal["beginning", "end"] | datetime
"""Where a ``ReceiptReader`` starts: the oldest receipt kept, the next one to come, or the
first issued at or after a time."""


class ReceiptReader:
    """One receipts topic read from ``start``, every partition, without a consumer group.

    Positions are fixed when it is made, so receipts written afterwards are never skipped
    (``start="end"`` then publish, and every receipt of what was published is read).
    ``caught_up`` says whether everything there was when it was made has been read.
    Raises ``ReceiptsUnavailable`` when the broker refuses or cannot be reached.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        start: Start,
        principal: str,
        codec: Codec | None = None,
        **client: Any,
    ) -> None:
        self.topic = topic
        self.principal = principal
        self.codec = codec or Codec()
        try:
            self.consumer = KafkaConsumer(
                bootstrap_servers=bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                **client,
            )
        except KafkaError as error:
            raise ReceiptsUnavailable(self._problem(error)) from None
        try:
            self._end = self._assign(start)
        except KafkaError as error:
            self.consumer.close()
            raise ReceiptsUnavailable(self._problem(error)) from None
        except ReceiptsUnavailable:
            self.consumer.close()
            raise

    def _problem(self, error: BaseException) -> BrokerProblem:
        return broker_problem(error, self.principal, self.topic, "read")

    def _assign(self, start: Start) -> dict[TopicPartition, int]:
        """Assign every partition, seek each to ``start``; the end offsets as of now."""
        numbers = self.consumer.partitions_for_topic(self.topic)
        if not numbers:  # unknown, or not even visible to this principal
            raise ReceiptsUnavailable(
                BrokerProblem(
                    BrokerCode.NOT_AUTHORISED,
                    f"{self.topic} does not exist or principal {self.principal} may not see it",
                )
            )
        partitions = [TopicPartition(self.topic, n) for n in sorted(numbers)]
        self.consumer.assign(partitions)
        end: dict[TopicPartition, int] = dict(self.consumer.end_offsets(partitions))
        if start == "beginning":
            offsets = dict(self.consumer.beginning_offsets(partitions))
        elif start == "end":
            offsets = dict(end)
        else:
            millis = int(start.timestamp() * 1000)
            found = self.consumer.offsets_for_times(dict.fromkeys(partitions, millis))
            offsets = {tp: end[tp] if at is None else at.offset for tp, at in found.items()}
        for tp, offset in offsets.items():
            self.consumer.seek(tp, offset)
        return end

    @property
    def caught_up(self) -> bool:
        """Whether every receipt on the topic when this reader was made has been read."""
        return all(self.consumer.position(tp) >= end for tp, end in self._end.items())

    def read(self, timeout_ms: int = 500) -> list[Receipt]:
        """The receipts that arrive within ``timeout_ms``, in each partition's order.

        A record that is not a receipt is skipped and logged by its place only."""
        try:
            batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=500)
        except KafkaError as error:
            raise ReceiptsUnavailable(self._problem(error)) from None
        receipts: list[Receipt] = []
        for records in batches.values():
            for record in records:
                try:
                    receipts.append(self.codec.decode_as(record.value or b"", Receipt))
                except CodecError as error:
                    log.warning(
                        "a record on the receipts topic is not a receipt",
                        extra={
                            "topic": record.topic,
                            "partition": record.partition,
                            "offset": record.offset,
                            "error": error.code.value,
                        },
                    )
        return receipts

    def close(self) -> None:
        self.consumer.close()


class Outcomes:
    """The settling receipt (ACCEPTED, REJECTED or DUPLICATE) of each awaited event, read from
    a ``ReceiptReader`` started before the events were published."""

    def __init__(self, reader: ReceiptReader) -> None:
        self.reader = reader
        self._awaited: Counter[str] = Counter()
        self._arrived: dict[str, deque[Receipt]] = {}

    def expect(self, event_id: str) -> None:
        """Await ``event_id``'s outcome (once per time it was published)."""
        self._awaited[event_id] += 1

    def wait(self, event_id: str, timeout: float) -> Receipt | None:
        """``event_id``'s outcome, or None if it has not come within ``timeout`` seconds
        (with 0, only what has already reached this process counts)."""
        deadline = time.monotonic() + timeout
        while not self._arrived.get(event_id):
            remaining = deadline - time.monotonic()
            for receipt in self.reader.read(timeout_ms=int(min(max(remaining, 0), 0.5) * 1000)):
                key = str(receipt.event_id)
                if receipt.status in OUTCOMES and self._awaited[key] > 0:
                    self._awaited[key] -= 1
                    self._arrived.setdefault(key, deque()).append(receipt)
            if remaining <= 0 and not self._arrived.get(event_id):
                return None  # read once more (what has come already counts), then give up
        waiting = self._arrived[event_id]
        receipt = waiting.popleft()
        if not waiting:
            del self._arrived[event_id]
        return receipt
