"""The exchange's stages composed for one ingest record, free of Kafka and Faust.

decode → sender binding + validate → deduplicate → order → enrich → route and minimise.
Every record ends in exactly one outcome (accepted, rejected, duplicate) with a receipt for
the force; accepted events leave as deliveries (now or, if held for ordering, later) with a
delivered receipt per recipient. The Faust agent only moves bytes in and out (streams/app.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from kafka.partitioner.default import murmur2

from infra.registry import Registry
from infra.security.policy import force_principal
from infra.topics import TopicCatalog
from schemas.codec import Codec, CodecError
from schemas.ids import DeliveryIds, acknowledgement_id, derived_id
from schemas.models import (
    COURT_EVENT_TYPES,
    CaseEvent,
    DefendantCharged,
    HearingResulted,
    Receipt,
    ReceiptStatus,
)
from schemas.reasons import Reason, ReasonCode, capped
from streams.cases import CaseDirectory
from streams.dedupe import Deduplicator, Duplicate, DuplicateKind
from streams.enrich import enrich, route_of
from streams.order import Release, Sequencer
from streams.outputs import DeliveryTerms, Output, OutputFactory
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.results import (
    check_charged,
    check_court_sender,
    court_source,
    enrich_results,
    project_results,
)
from streams.route import Policy, RecipientPolicy, project, recipients
from streams.state import KeyValueStore
from streams.validate import ValidationContext, check_headers, check_sender, validate_event

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Status(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Source(StrEnum):
    """Where the input of an outcome came from (metrics count ingest records only)."""

    INGEST = "ingest"
    ACKNOWLEDGEMENT = "acknowledgement"
    TICK = "tick"


class Stage(StrEnum):
    """The stages an ingest record passes, in order (metrics count events per stage)."""

    DECODE = "decode"
    VALIDATE = "validate"
    DEDUPLICATE = "deduplicate"
    ORDER = "order"
    ROUTE = "route"


@dataclass(frozen=True, slots=True)
class DeliveryNote:
    """One delivery made, for metrics: to whom, and the event's times."""

    recipient: str
    force: str
    occurred_at: datetime
    published_at: datetime
    ordering: str


@dataclass(slots=True)
class Outcome:
    """Everything that came of one input (a record, or a tick of the ordering clock)."""

    source: Source = Source.INGEST
    force: str | None = None
    court: str | None = None
    """For a court publisher's record: the publisher (``force`` is then None)."""
    status: Status | None = None
    stopped_at: Stage | None = None
    """For a rejected or duplicate record: the stage that stopped it."""
    reasons: list[Reason] = field(default_factory=list)
    duplicate: DuplicateKind | None = None
    held: bool = False
    undeliverable: int = 0
    acknowledged_by: str | None = None
    deliveries: list[DeliveryNote] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)


class Deliver(Protocol):
    """Delivers released events (a force's, or a court's results) and returns the recipients
    of the one that arrived at ``arrival``."""

    def __call__(
        self,
        outcome: Outcome,
        releases: list[Release],
        now: datetime,
        *,
        arrival: str | None = None,
    ) -> list[str]: ...


@dataclass(frozen=True)
class ExchangeConfig:
    dedup_window: timedelta = timedelta(days=30)
    order_hold: timedelta = timedelta(seconds=10)
    principal: str = "exchange-worker"
    """Who discloses: each delivery record names it, for the audit log."""
    delivery_key: bytes = b"cjsx-unit-tests-only"
    """Secret behind delivery ids: only the exchange can name a delivery it made, so an
    acknowledgement proves the partner received it. Workers share one key (the worker reads
    it from the secrets folder); this default serves unit tests only."""


class Exchange:
    """The pipeline over one partition-local store."""

    def __init__(
        self,
        *,
        codec: Codec,
        catalog: TopicCatalog,
        registry: Registry,
        standing: StandingData,
        policy: Policy,
        seen_store: KeyValueStore,
        case_store: KeyValueStore,
        config: ExchangeConfig | None = None,
        clock: Clock = utc_now,
    ) -> None:
        config = config or ExchangeConfig()
        self.codec = codec
        self.catalog = catalog
        self.registry = registry
        self.standing = standing
        self.policy = policy
        self.outputs = OutputFactory(codec)
        self.ingest_partitions = catalog.ingest_partitions
        self.validation = ValidationContext(standing, clock=clock)
        self.dedup = Deduplicator(seen_store, config.dedup_window)
        self.sequencer = Sequencer(case_store, config.order_hold)
        self.result_sequencer = Sequencer(case_store, config.order_hold, space="results.")
        self.cases = CaseDirectory(case_store)
        self.clock = clock
        self.principal = config.principal
        self.delivery_ids = DeliveryIds(config.delivery_key)

    # -- one ingest record -----------------------------------------------------------------

    def process(self, record: SourceRecord) -> Outcome:
        now = self.clock()
        court = self.catalog.court_of_ingest(record.topic)
        if court is not None:
            return self._process_results(record, court, now)
        force = self.catalog.force_of_ingest(record.topic)
        outcome = Outcome(force=force)
        if force is None:
            raise ValueError(f"{record.topic} is not an ingest topic of this catalog")
        try:
            event = self.codec.decode_as(record.value, CaseEvent)
        except CodecError as error:
            outcome.stopped_at = Stage.DECODE
            self._reject(outcome, record, [error.reason()], now)
            return outcome
        misplaced = self._check_placement(event, record)
        if isinstance(event, COURT_EVENT_TYPES):
            misplaced.append(
                Reason.of(
                    ReasonCode.NOT_AN_EVENT,
                    "",
                    f"{event.avro_name} is published by court publishers on their own topics, "
                    "not by a force",
                    "Publish the force's case-file events only; court results reach the force "
                    "on its results topic.",
                )
            )
        if misplaced:
            outcome.stopped_at = Stage.DECODE
            self._reject(outcome, record, misplaced, now, event)
            return outcome
        reasons = capped(
            check_sender(event, force)
            + check_headers(record.headers, event, self.codec.writer_of(record.value).dataschema)
            + validate_event(event, self.validation)
        )
        return self._admit(outcome, record, event, reasons, now, self.sequencer, self._deliver)

    def _admit(
        self,
        outcome: Outcome,
        record: SourceRecord,
        event: CaseEvent,
        reasons: list[Reason],
        now: datetime,
        sequencer: Sequencer,
        deliver: Deliver,
    ) -> Outcome:
        """The stages every sender's decoded event goes through, a force's or a court's:
        rejected with its reasons, or a duplicate, or ordered (held or released) and delivered,
        with one receipt to the sender (``outcome.court`` or ``outcome.force``)."""
        if reasons:
            outcome.stopped_at = Stage.VALIDATE
            self._reject(outcome, record, reasons, now, event)
            return outcome
        court = outcome.court
        sighting = self.dedup.check(event, record.position, now)
        if isinstance(sighting, Duplicate):
            outcome.status = Status.DUPLICATE
            outcome.stopped_at = Stage.DEDUPLICATE
            outcome.duplicate = sighting.kind
            outcome.outputs.append(
                self._receipt(
                    event,
                    ReceiptStatus.DUPLICATE,
                    now,
                    court=court,
                    original=sighting,
                    occurrence=record.position,
                )
            )
            return outcome
        offer = sequencer.offer(event, record, now)
        if offer.reused_sequence:
            # Never accepted: a corrected resend must be new, and a replay refused again.
            self.dedup.forget(event, record.position)
            outcome.stopped_at = Stage.ORDER
            of = "this case's results" if court else "this case"
            reason = Reason.of(
                ReasonCode.SEQUENCE_INVALID,
                "envelope.sequence",
                f"sequence {event.envelope.sequence} of {of} was already used by another event",
            )
            self._reject(outcome, record, [reason], now, event)
            return outcome
        outcome.status = Status.ACCEPTED
        outcome.held = offer.held
        at = len(outcome.outputs)
        delivered = deliver(outcome, offer.releases, now, arrival=record.position)
        # One receipt for the event: accepted, and to whom it went at once (if held, its
        # DELIVERED receipt follows when it is released).
        outcome.outputs.insert(
            at,
            self._receipt(event, ReceiptStatus.ACCEPTED, now, court=court, deliveries=delivered),
        )
        return outcome

    def _check_placement(self, event: CaseEvent, record: SourceRecord) -> list[Reason]:
        """A case's records must share one key (its URN) and so one partition: the
        deduplication and ordering state of a case lives in that partition only."""
        urn = event.envelope.case_urn
        if record.key != urn.encode():
            return [
                Reason.of(
                    ReasonCode.RECORD_KEY_MISMATCH,
                    "key",
                    "the record's key is not the case URN of its event",
                )
            ]
        expected = partition_for(record.key, self.ingest_partitions)
        if record.partition != expected:
            return [
                Reason.of(
                    ReasonCode.RECORD_PARTITION_MISMATCH,
                    "partition",
                    f"the record arrived on partition {record.partition}; its case URN "
                    f"belongs on partition {expected}",
                )
            ]
        return []

    def internal_error(self, record: SourceRecord, stage: str) -> Outcome:
        """The exchange failed on ``record``: keep it on the rejected topic for replay.

        The exception's text is not copied into the record: it could quote case data.
        """
        reason = Reason.of(ReasonCode.INTERNAL_ERROR, "", f"the exchange failed in stage {stage}")
        return self._reject_record(record, reason)

    def too_large(self, record: SourceRecord) -> Outcome:
        """What the exchange would write for ``record`` (an output, or the state it would
        keep: a held event is kept whole in its case's state) exceeds what Kafka takes."""
        reason = Reason.of(
            ReasonCode.OUTPUT_TOO_LARGE,
            "",
            "a record the exchange would write for this event is larger than the broker accepts",
        )
        return self._reject_record(record, reason)

    def _reject_record(self, record: SourceRecord, reason: Reason) -> Outcome:
        """Reject ``record`` whatever it is, decoding it again only to address the receipt."""
        court = self.catalog.court_of_ingest(record.topic)
        if court is not None:
            outcome = Outcome(court=court)
            try:
                result: HearingResulted | None = self.codec.decode_as(record.value, HearingResulted)
            except CodecError:
                result = None
            self._reject(outcome, record, [reason], self.clock(), result)
            return outcome
        force = self.catalog.force_of_ingest(record.topic)
        if force is not None:
            source = Source.INGEST
        elif record.topic == self.catalog.ticks:
            source = Source.TICK
        else:
            source = Source.ACKNOWLEDGEMENT
        outcome = Outcome(source=source, force=force)
        event: CaseEvent | None = None
        if force is not None:
            try:
                event = self.codec.decode_as(record.value, CaseEvent)
            except CodecError:
                event = None
        self._reject(outcome, record, [reason], self.clock(), event)
        return outcome

    # -- partners' acknowledgements ----------------------------------------------------------

    def acknowledge(self, record: SourceRecord) -> Outcome:
        """Turn a partner's acknowledgement into an ACKNOWLEDGED receipt for the force.

        The topic's ACL authenticates the partner; the acknowledgement must name a delivery
        the exchange made to that partner: its receipt id is derived from the delivery id,
        which only the exchange can compute (``DeliveryIds``), over the event, the partner,
        the force and the case. The receipt the force gets is built here from those checked
        fields; nothing else the partner wrote (reasons, headers) is passed on.
        """
        partner = self.catalog.partner_of_acks(record.topic)
        outcome = Outcome(source=Source.ACKNOWLEDGEMENT)
        now = self.clock()
        try:
            ack = self.codec.decode_as(record.value, Receipt)
        except CodecError as error:
            self._reject(outcome, record, [error.reason()], now)
            return outcome
        genuine = (
            partner is not None
            and ack.status is ReceiptStatus.ACKNOWLEDGED
            and ack.recipient == partner
            and self.registry.force(ack.force) is not None
            and ack.receipt_id
            == acknowledgement_id(
                self.delivery_ids.of(ack.event_id, partner, ack.force, ack.case_urn)
            )
        )
        if not genuine or partner is None:
            reason = Reason.of(
                ReasonCode.ACK_INVALID,
                "receipt_id",
                f"not an acknowledgement of a delivery the exchange made to {partner}",
            )
            self._reject(outcome, record, [reason], now)
            return outcome
        outcome.acknowledged_by = partner
        outcome.outputs.append(
            self.outputs.receipt(
                self.catalog.receipts(ack.force),
                event_id=ack.event_id,
                case_urn=ack.case_urn,
                force=ack.force,
                status=ReceiptStatus.ACKNOWLEDGED,
                now=now,
                recipient=partner,
                receipt_id=ack.receipt_id,
            )
        )
        return outcome

    # -- the ordering clock ----------------------------------------------------------------

    def tick(self, record: SourceRecord) -> Outcome:
        """Release events held past their hold time in the tick record's partition."""
        outcome = Outcome(source=Source.TICK)
        now = self.clock()
        releases = self.sequencer.expire(record.partition, now, record.position)
        self._deliver(outcome, releases, now)
        results = self.result_sequencer.expire(record.partition, now, record.position)
        self._deliver_results(outcome, results, now)
        return outcome

    def held_count(self, partition: int) -> int:
        return self.sequencer.held_count(partition) + self.result_sequencer.held_count(partition)

    # -- helpers ---------------------------------------------------------------------------

    def _receipt(
        self,
        event: CaseEvent,
        status: ReceiptStatus,
        now: datetime,
        *,
        reasons: list[Reason] | None = None,
        original: Duplicate | None = None,
        recipient: str | None = None,
        occurrence: str = "",
        deliveries: Sequence[str] = (),
        court: str | None = None,
    ) -> Output:
        """A receipt to the event's sender: its force, or the court publisher ``court`` (on
        the court's own receipts topic, its ``force`` field naming the publisher)."""
        env = event.envelope
        return self.outputs.receipt(
            self.catalog.court_receipts(court) if court else self.catalog.receipts(env.force),
            event_id=env.event_id,
            case_urn=env.case_urn,
            force=court or env.force,
            status=status,
            now=now,
            reasons=reasons or [],
            original_event_id=original.original_event_id if original else None,
            recipient=recipient,
            occurrence=occurrence,
            deliveries=deliveries,
        )

    def _reject(
        self,
        outcome: Outcome,
        record: SourceRecord,
        reasons: list[Reason],
        now: datetime,
        event: CaseEvent | None = None,
    ) -> None:
        outcome.status = Status.REJECTED
        outcome.reasons = reasons
        outcome.outputs.append(
            self.outputs.rejected(
                self.catalog.rejected,
                record,
                force=outcome.force,
                reasons=reasons,
                now=now,
                event=event,
            )
        )
        sender = outcome.court or outcome.force
        if sender is None:
            return
        if event is not None:
            event_id, urn = event.envelope.event_id, event.envelope.case_urn
        else:
            # Undecodable: the force still hears of it, by where it arrived. The receipt's
            # event id is derived from that position, and its reason names it.
            event_id, urn = derived_id(record.position, "undecodable"), ""
            reasons = [_located(reason, record) for reason in reasons]
        # The receipt goes to whoever sent it (the force or court publisher whose topic
        # carried it), even if the event names another.
        topic = (
            self.catalog.court_receipts(outcome.court)
            if outcome.court
            else self.catalog.receipts(sender)
        )
        outcome.outputs.append(
            self.outputs.receipt(
                topic,
                event_id=event_id,
                case_urn=urn,
                force=sender,
                status=ReceiptStatus.REJECTED,
                now=now,
                reasons=reasons,
                occurrence=record.position,
            )
        )

    def _deliver(
        self,
        outcome: Outcome,
        releases: list[Release],
        now: datetime,
        *,
        arrival: str | None = None,
    ) -> list[str]:
        """Deliver each released event; return the partners the record at ``arrival`` went
        to (its ACCEPTED receipt lists them). Other released events each get one DELIVERED
        receipt listing theirs."""
        on_arrival: list[str] = []
        for release in releases:
            event = release.event or self.codec.decode_as(release.record.value, CaseEvent)
            urn = event.envelope.case_urn
            memory = self.cases.get(urn)
            known = memory.known_before(event.envelope.sequence, replay=release.replay)
            enrichment = enrich(event, self.standing, known)
            if not release.replay:
                memory.route = route_of(enrichment)
            if isinstance(event, DefendantCharged):
                # What a court's results for this case may speak of (streams/results.py).
                memory.remember_charge(
                    event.defendant.asn,
                    event.charge_date,
                    {o.sequence: o.code for o in event.offences},
                )
            self.cases.save(urn, memory)
            partners = recipients(enrichment, self.registry)
            delivered_to: list[str] = []
            bodies = self.outputs.bodies(event, release.record.value)
            enrichment_datum = enrichment.to_avro()
            for partner in partners:
                rules = self.policy.for_kind(partner.kind)
                projected = project(event, rules)
                if projected is None:
                    continue
                output = self.outputs.delivery(
                    self.catalog.deliver(partner.id),
                    event=projected,
                    body=bodies.of(projected),
                    enrichment=enrichment,
                    enrichment_datum=enrichment_datum,
                    terms=self._terms(
                        self.delivery_ids.of(
                            event.envelope.event_id, partner.id, event.envelope.force, urn
                        ),
                        partner.id,
                        release,
                        rules,
                        now,
                    ),
                )
                self._delivered(outcome, event, partner.id, output, release)
                delivered_to.append(partner.id)
            if release.record.position == arrival:
                on_arrival = delivered_to
            elif delivered_to:
                outcome.outputs.append(
                    self._receipt(event, ReceiptStatus.DELIVERED, now, deliveries=delivered_to)
                )
            if not delivered_to:
                # Accepted but undeliverable: kept on the rejected topic for an operator.
                reason = Reason.of(
                    ReasonCode.NO_RECIPIENT, "", "no partner is entitled to this event"
                )
                outcome.undeliverable += 1
                outcome.reasons.append(reason)
                outcome.outputs.append(
                    self.outputs.rejected(
                        self.catalog.rejected,
                        release.record,
                        force=event.envelope.force,
                        reasons=[reason],
                        now=now,
                        event=event,
                    )
                )
                outcome.outputs.append(
                    self._receipt(event, ReceiptStatus.REJECTED, now, reasons=[reason])
                )
        return on_arrival

    # -- court results -----------------------------------------------------------------------

    def _process_results(self, record: SourceRecord, court: str, now: datetime) -> Outcome:
        """A court publisher's record: the same stages as a force's, with the court's own
        sender binding, the case's charges, and its own ordering space; receipts go to the
        court, deliveries to the charging force and the case's CPS area."""
        outcome = Outcome(court=court)
        publisher = self.registry.court(court)
        if publisher is None:
            raise ValueError(f"{record.topic} belongs to no court publisher of this registry")
        try:
            event = self.codec.decode_as(record.value, HearingResulted)
        except CodecError as error:
            outcome.stopped_at = Stage.DECODE
            self._reject(outcome, record, [error.reason()], now)
            return outcome
        misplaced = self._check_placement(event, record)
        if misplaced:
            outcome.stopped_at = Stage.DECODE
            self._reject(outcome, record, misplaced, now, event)
            return outcome
        charges = self.cases.get(event.envelope.case_urn).charges()
        source = court_source(court, event.envelope.system)
        dataschema = self.codec.writer_of(record.value).dataschema
        reasons = capped(
            check_court_sender(event, publisher)
            + check_headers(record.headers, event, dataschema, source=source)
            + validate_event(event, self.validation)
            + check_charged(event, charges)
        )
        return self._admit(
            outcome, record, event, reasons, now, self.result_sequencer, self._deliver_results
        )

    def _deliver_results(
        self,
        outcome: Outcome,
        releases: list[Release],
        now: datetime,
        *,
        arrival: str | None = None,
    ) -> list[str]:
        """Deliver each released set of results to the charging force (its results topic)
        and the case's CPS area (its partner results topic), each as its policy allows; return
        the recipients of the record at ``arrival``. Others get a DELIVERED court receipt."""
        on_arrival: list[str] = []
        for release in releases:
            event = release.event
            if not isinstance(event, HearingResulted):
                event = self.codec.decode_as(release.record.value, HearingResulted)
            court = self.catalog.court_of_ingest(release.record.topic) or event.publisher
            env = event.envelope
            memory = self.cases.get(env.case_urn)
            enrichment = enrich_results(event, self.standing, memory.charges(), memory.route)
            targets: list[tuple[str, str, RecipientPolicy]] = [
                (
                    force_principal(env.force),
                    self.catalog.force_results(env.force),
                    self.policy.for_kind("force"),
                )
            ]
            cps = self.registry.cps_partner(enrichment.cps_area) if enrichment.cps_area else None
            if cps is not None:
                targets.append(
                    (cps.id, self.catalog.partner_results(cps.id), self.policy.for_kind(cps.kind))
                )
            delivered_to: list[str] = []
            bodies = self.outputs.bodies(event, release.record.value)
            for recipient, topic, rules in targets:
                projected = project_results(event, enrichment, rules)
                if projected is None:
                    continue
                seen, enriched = projected
                output = self.outputs.result_delivery(
                    topic,
                    event=seen,
                    body=bodies.of(seen),
                    enrichment=enriched,
                    enrichment_datum=enriched.to_avro(),
                    terms=self._terms(
                        self.delivery_ids.of(env.event_id, recipient, env.force, env.case_urn),
                        recipient,
                        release,
                        rules,
                        now,
                    ),
                )
                self._delivered(outcome, event, recipient, output, release)
                delivered_to.append(recipient)
            if release.record.position == arrival:
                on_arrival = delivered_to
            else:
                outcome.outputs.append(
                    self._receipt(
                        event, ReceiptStatus.DELIVERED, now, court=court, deliveries=delivered_to
                    )
                )
        return on_arrival

    def _terms(
        self,
        delivery_id: UUID,
        recipient: str,
        release: Release,
        rules: RecipientPolicy,
        now: datetime,
    ) -> DeliveryTerms:
        return DeliveryTerms(
            delivery_id=delivery_id,
            recipient=recipient,
            ordering=release.flag,
            policy_version=self.policy.version,
            purpose=rules.purpose,
            legal_basis=rules.legal_basis,
            delivered_by=self.principal,
            now=now,
        )

    def _delivered(
        self,
        outcome: Outcome,
        event: CaseEvent,
        recipient: str,
        output: Output,
        release: Release,
    ) -> None:
        """A delivery made: its record (which is also the disclosure the auditor chains, hashing
        these bytes) and the note the metrics count."""
        env = event.envelope
        outcome.outputs.append(output)
        outcome.deliveries.append(
            DeliveryNote(
                recipient=recipient,
                force=env.force,
                occurred_at=env.occurred_at,
                published_at=env.published_at,
                ordering=release.flag.value,
            )
        )


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, kafka-python, aiokafka) gives a key."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def _located(reason: Reason, record: SourceRecord) -> Reason:
    """``reason`` saying where the record arrived, for a force that cannot read the
    rejected topic and has no event id to match the receipt by."""
    where = f"the record at {record.topic} partition {record.partition} offset {record.offset}"
    return dataclasses.replace(reason, message=f"{where}: {reason.message}")
