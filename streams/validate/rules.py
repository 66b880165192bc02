"""Domain rules over a decoded event: every problem, each with a code, a field path and a hint.

Rules return *all* reasons, in a stable order (field order of the event), so a clerk fixes
the whole event in one go. Identifier format and check letters come from
``schemas.identifiers``; whether a unit, court or offence exists comes from standing data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from schemas.identifiers import (
    IdCheck,
    IdKind,
    asn_parts,
    check_asn,
    check_cro,
    check_offence_code,
    check_ou,
    check_pnc_id,
    check_urn,
)
from schemas.limits import CLOCK_SKEW, EARLIEST_DATE, LATEST_AHEAD
from schemas.models import (
    CaseDiscontinued,
    CaseDocumentsAdded,
    CaseEvent,
    CaseFileSubmitted,
    CourtResult,
    Defendant,
    DefendantCharged,
    DefendantDetailsAmended,
    DiscontinuanceScope,
    Document,
    FileType,
    Hearing,
    HearingResulted,
    Offence,
    OffenceResults,
    RemandStatus,
    RemandStatusChanged,
)
from schemas.reasons import Reason, ReasonCode, capped
from streams.reference import StandingData
from streams.validate.documents import SENSITIVITY_RANK, minimum_sensitivity
from streams.validate.suggest import OffenceSuggester
from streams.validate.text import check_text

AGE_OF_CRIMINAL_RESPONSIBILITY = 10
_HEX = frozenset("0123456789abcdef")
CHARGE_FILE_TYPES = (FileType.GAP, FileType.NGAP, FileType.CROWN)
"""A charge's file types, as the DefendantCharged schema documents them."""
_SUGGESTED_OFFENCES = 3
"""Unknown offence codes per event that get suggestions (each is a search of the list)."""


def _england_and_wales() -> tzinfo:
    return ZoneInfo("Europe/London")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the rules need besides the event.

    ``zone`` is where the case file's calendar dates (offence, birth, charge, hearing) are
    dates: ``occurred_at`` is a UTC instant, and 00:30 in London in summer is still the day
    before in UTC, so comparing UTC dates would reject a valid overnight charge.

    ``clock`` is the exchange's now, for "not in the future" (with ``CLOCK_SKEW`` of slack).
    """

    standing: StandingData
    zone: tzinfo = dataclasses.field(default_factory=_england_and_wales)
    clock: Callable[[], datetime] = _utc_now
    suggester: OffenceSuggester = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "suggester", OffenceSuggester.of(self.standing))


_FORMAT_CODE = {
    IdKind.ASN: ReasonCode.ASN_FORMAT,
    IdKind.PNC: ReasonCode.PNC_ID_FORMAT,
    IdKind.CRO: ReasonCode.CRO_FORMAT,
    IdKind.URN: ReasonCode.URN_FORMAT,
    IdKind.OU: ReasonCode.OU_FORMAT,
    IdKind.OFFENCE: ReasonCode.OFFENCE_CODE_FORMAT,
}


def _reason(check: IdCheck, field: str) -> list[Reason]:
    """The identifier's own reason, or one saying it is valid but not in normalised form.

    People may write identifiers in several ways (``check-id`` accepts them all), but on the
    wire each has exactly one form: the URN is the Kafka key and the ASN identifies the
    defendant across events, so two spellings of one value would split a case in two.
    """
    if check.reason is not None:
        return [check.reason]
    if check.normalized is not None and check.normalized != check.input:
        return [
            Reason.of(
                _FORMAT_CODE[check.kind],
                field,
                f"send identifiers in normalised form: {check.normalized}",
                f"Send it as {check.normalized}: on the wire each identifier has exactly one "
                "form (docs/wire-format.md section 5).",
            )
        ]
    return []


def _local_date(stamp: datetime, zone: tzinfo) -> date:
    """The calendar date of ``stamp`` in ``zone``; its UTC date when the zone's date would
    fall outside the calendar (year 1 in a zone west of UTC): such a time is rejected as out
    of range anyway, and must not stop validation."""
    try:
        return stamp.astimezone(zone).date()
    except OverflowError:
        return stamp.date()


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class _Rules:
    """One validation pass over one event; collects reasons as it goes."""

    def __init__(self, ctx: ValidationContext, event: CaseEvent) -> None:
        self.standing = ctx.standing
        self.suggester = ctx.suggester
        self.now = ctx.clock()
        self.event = event
        self.occurred_on = _local_date(event.envelope.occurred_at, ctx.zone)
        self.reasons: list[Reason] = []
        self.suggested = 0

    def add(self, code: ReasonCode, field: str, message: str) -> None:
        self.reasons.append(Reason.of(code, field, message))

    def envelope(self) -> None:
        env = self.event.envelope
        if env.sequence < 1:
            self.add(
                ReasonCode.SEQUENCE_INVALID,
                "envelope.sequence",
                f"sequence {env.sequence} is not a number from 1",
            )
        if len(env.force) <= 8 and self.standing.force(env.force) is None:
            self.add(
                ReasonCode.FORCE_UNKNOWN,
                "envelope.force",
                "is not the two-digit PNC code of a known police force",
            )
        self.times()
        urn = check_urn(env.case_urn, "envelope.case_urn")
        self.reasons += _reason(urn, "envelope.case_urn")
        if urn.valid and urn.normalized is not None:
            force, unit = urn.normalized[:2], urn.normalized[2:4]
            if not self.standing.is_police_unit(force, unit):
                self.add(
                    ReasonCode.URN_UNKNOWN_UNIT,
                    "envelope.case_urn",
                    f"URN prefix {force}{unit} is not a known police unit",
                )

    def times(self) -> None:
        """Nothing happens before 1900 or in the future, and nothing is sent before it happens."""
        env = self.event.envelope
        latest = self.now + CLOCK_SKEW
        for name, stamp in (("occurred_at", env.occurred_at), ("published_at", env.published_at)):
            field = f"envelope.{name}"
            if stamp.date() < EARLIEST_DATE:
                self.add(ReasonCode.DATE_OUT_OF_RANGE, field, f"is before {EARLIEST_DATE}")
            elif stamp > latest:
                self.add(
                    ReasonCode.EVENT_IN_FUTURE,
                    field,
                    f"is {_ahead(stamp - self.now)} ahead of the exchange's clock",
                )
        # Differences, not sums: a time at the calendar's edge (year 1 or 9999) is a reason
        # here, and ``occurred_at - CLOCK_SKEW`` would overflow.
        if env.occurred_at - env.published_at > CLOCK_SKEW:
            self.add(
                ReasonCode.PUBLISHED_BEFORE_OCCURRED,
                "envelope.published_at",
                f"is {_ahead(env.occurred_at - env.published_at)} before envelope.occurred_at",
            )

    def date_in_range(self, value: date | None, field: str) -> None:
        if value is None:
            return
        if value < EARLIEST_DATE:
            self.add(ReasonCode.DATE_OUT_OF_RANGE, field, f"is before {EARLIEST_DATE}")
        elif value - self.occurred_on > LATEST_AHEAD:  # a sum overflows when it occurred in 9999
            self.add(
                ReasonCode.DATE_OUT_OF_RANGE,
                field,
                f"is more than {LATEST_AHEAD.days // 365} years after the event occurred",
            )

    def asn(self, value: str, field: str) -> None:
        checked = check_asn(value, field)
        self.reasons += _reason(checked, field)
        if checked.normalized is None:
            return
        parts = asn_parts(checked.normalized)
        if not self.standing.is_police_unit(parts.force, parts.unit, parts.system):
            self.add(
                ReasonCode.ASN_UNKNOWN_UNIT,
                field,
                f"ASN unit {parts.police_ou} is not a known police organisation unit",
            )

    def person_ids(self, pnc_id: str | None, cro: str | None, path: str) -> None:
        if pnc_id is not None:
            self.reasons += _reason(check_pnc_id(pnc_id, f"{path}pnc_id"), f"{path}pnc_id")
        if cro is not None:
            self.reasons += _reason(check_cro(cro, f"{path}cro_number"), f"{path}cro_number")

    def born(self, born: date | None, field: str) -> None:
        self.date_in_range(born, field)
        if born is not None and born > self.occurred_on:
            self.add(
                ReasonCode.DEFENDANT_BORN_IN_FUTURE,
                field,
                "date of birth is after the date the event occurred",
            )

    def defendant(self, person: Defendant, path: str, offences: Sequence[Offence]) -> None:
        self.asn(person.asn, f"{path}asn")
        self.person_ids(person.pnc_id, person.cro_number, path)
        self.born(person.date_of_birth, f"{path}date_of_birth")
        if person.date_of_birth > self.occurred_on:
            return
        for offence in offences:
            age = _age_on(person.date_of_birth, offence.offence_date)
            if age < AGE_OF_CRIMINAL_RESPONSIBILITY:
                self.add(
                    ReasonCode.DEFENDANT_UNDER_AGE,
                    f"{path}date_of_birth",
                    f"defendant was {max(age, 0)} on the date of offence {offence.sequence}; "
                    f"the age of criminal responsibility is {AGE_OF_CRIMINAL_RESPONSIBILITY}",
                )
                break

    def unknown_offence(self, code: str, field: str) -> None:
        message = f"offence code {code} is not in the CJS offence list"
        hint = None
        if self.suggested < _SUGGESTED_OFFENCES:
            self.suggested += 1
            nearest = self.suggester.nearest(code)
            if nearest:
                hint = (
                    f"Use the current CJS code for the offence; the nearest known codes are "
                    f"{', '.join(nearest)} (`cjsx check-id offence CODE` shows one's title)."
                )
        self.reasons.append(Reason.of(ReasonCode.OFFENCE_UNKNOWN, field, message, hint))

    def offences(self, offences: Sequence[Offence], path: str) -> None:
        by_sequence: dict[int, int] = {}
        by_content: dict[tuple[str, date, str], int] = {}
        for i, offence in enumerate(offences):
            field = f"{path}[{i}]"
            if offence.sequence < 1:
                self.add(
                    ReasonCode.OFFENCE_SEQUENCE_INVALID,
                    f"{field}.sequence",
                    f"offence number {offence.sequence} is not a number from 1",
                )
            checked = check_offence_code(offence.code, f"{field}.code")
            self.reasons += _reason(checked, f"{field}.code")
            if checked.valid and checked.normalized is not None:
                known = self.standing.offence(checked.normalized)
                if known is None:
                    self.unknown_offence(checked.normalized, f"{field}.code")
                elif not known.chargeable:
                    self.add(
                        ReasonCode.OFFENCE_NOT_CHARGEABLE,
                        f"{field}.code",
                        f"offence code {known.code} has category {known.category}, "
                        "which cannot be charged",
                    )
            self.date_in_range(offence.offence_date, f"{field}.offence_date")
            if offence.offence_date > self.occurred_on:
                self.add(
                    ReasonCode.OFFENCE_DATE_IN_FUTURE,
                    f"{field}.offence_date",
                    "offence date is after the date the event occurred",
                )
            # Compare codes in their normalised form: "th68 010" is TH68010 listed twice.
            code = checked.normalized or offence.code.upper()
            content = (code, offence.offence_date, offence.wording.strip())
            same_number, same_content = by_sequence.get(offence.sequence), by_content.get(content)
            if same_number is not None or same_content is not None:
                self.reasons.append(
                    _duplicate(path, i, offence.sequence, same_number, same_content)
                )
            by_sequence.setdefault(offence.sequence, i)
            by_content.setdefault(content, i)

    def hearing(self, hearing: Hearing, path: str, not_before: date | None) -> None:
        checked = check_ou(hearing.court_ou, f"{path}.court_ou")
        self.reasons += _reason(checked, f"{path}.court_ou")
        if checked.valid and checked.normalized is not None:
            code = checked.normalized
            if self.standing.court(code) is None:
                known_unit = self.standing.organisation_unit(code) is not None
                self.add(
                    ReasonCode.COURT_NOT_A_COURT if known_unit else ReasonCode.COURT_UNKNOWN,
                    f"{path}.court_ou",
                    f"{code} is {'not a court' if known_unit else 'not a known court'}",
                )
        self.date_in_range(hearing.date, f"{path}.date")
        if not_before is not None and hearing.date < not_before:
            self.add(
                ReasonCode.HEARING_BEFORE_CHARGE,
                f"{path}.date",
                "the hearing is dated before the charge",
            )

    def documents(self, documents: Sequence[Document], path: str) -> None:
        for i, doc in enumerate(documents):
            field = f"{path}[{i}]"
            if len(doc.sha256) != 64 or not set(doc.sha256) <= _HEX:
                self.add(
                    ReasonCode.DOCUMENT_HASH_FORMAT,
                    f"{field}.sha256",
                    "sha256 must be 64 lower-case hexadecimal characters",
                )
            minimum = minimum_sensitivity(doc.form)
            if SENSITIVITY_RANK[doc.sensitivity] < SENSITIVITY_RANK[minimum]:
                self.add(
                    ReasonCode.DOCUMENT_SENSITIVITY_TOO_LOW,
                    f"{field}.sensitivity",
                    f"{doc.form} must be marked at least {minimum}, not {doc.sensitivity}",
                )

    def file_type(self, given: FileType, allowed: Sequence[FileType]) -> None:
        if given not in allowed:
            names = ", ".join(t.value for t in allowed)
            self.add(
                ReasonCode.FILE_TYPE_INVALID,
                "file_type",
                f"{given.value} is not a file type of this event; it takes {names}",
            )

    def bail(self, status: RemandStatus, conditions: Sequence[str]) -> None:
        if status is RemandStatus.CONDITIONAL_BAIL and not conditions:
            self.add(
                ReasonCode.BAIL_CONDITIONS_MISSING,
                "bail_conditions",
                "CONDITIONAL_BAIL needs at least one condition of bail",
            )
        elif status is not RemandStatus.CONDITIONAL_BAIL and conditions:
            self.add(
                ReasonCode.BAIL_CONDITIONS_UNEXPECTED,
                "bail_conditions",
                f"{status.value} has no conditions of bail; only CONDITIONAL_BAIL has",
            )

    def discontinuance(self, event: CaseDiscontinued) -> None:
        for i, number in enumerate(event.offence_sequences):
            if number < 1:
                self.add(
                    ReasonCode.OFFENCE_SEQUENCE_INVALID,
                    f"offence_sequences[{i}]",
                    f"offence number {number} is not a number from 1",
                )
        if event.scope is DiscontinuanceScope.CASE_DISCONTINUED and event.offence_sequences:
            self.add(
                ReasonCode.DISCONTINUANCE_SCOPE_MISMATCH,
                "offence_sequences",
                "must be empty when the whole case is discontinued",
            )

    def court_results(self, event: HearingResulted) -> None:
        """What a court's results must be on their own; whether the case, defendants and
        offences were charged needs the case's state (``streams.results.check_charged``)."""
        urn = check_urn(event.envelope.case_urn)
        force = event.envelope.force
        if urn.valid and urn.normalized is not None and urn.normalized[:2] != force:
            self.add(
                ReasonCode.RESULT_FORCE_MISMATCH,
                "envelope.force",
                f"names force {force[:8]}, but the case URN is force {urn.normalized[:2]}'s",
            )
        hearing = event.hearing
        self.hearing(Hearing(court_ou=hearing.court_ou, date=hearing.date), "hearing", None)
        if hearing.date > self.occurred_on:
            self.add(
                ReasonCode.HEARING_NOT_YET_HELD,
                "hearing.date",
                "the hearing is dated after the day its results occurred",
            )
        if not event.defendants:
            self.add(
                ReasonCode.RESULTS_MISSING, "defendants", "results name at least one defendant"
            )
        asns: dict[str, int] = {}
        for i, defendant in enumerate(event.defendants):
            path = f"defendants[{i}]"
            self.asn(defendant.asn, f"{path}.asn")
            if defendant.asn in asns:
                self.add(
                    ReasonCode.RESULT_DUPLICATED,
                    f"{path}.asn",
                    f"the defendant is already listed as defendants[{asns[defendant.asn]}]",
                )
            asns.setdefault(defendant.asn, i)
            if self.standing.remand_status(defendant.remand_status) is None:
                known = ", ".join(self.standing.remand_statuses())
                self.add(
                    ReasonCode.REMAND_STATUS_UNKNOWN,
                    f"{path}.remand_status",
                    f"is not a CJS remand status code ({known})",
                )
            if defendant.next_hearing is not None:
                self.hearing(defendant.next_hearing, f"{path}.next_hearing", None)
            if not defendant.offences:
                self.add(
                    ReasonCode.RESULTS_MISSING,
                    f"{path}.offences",
                    "a defendant's results name at least one offence",
                )
            numbers: dict[int, int] = {}
            for j, offence in enumerate(defendant.offences):
                self.offence_results(offence, f"{path}.offences[{j}]", numbers, j)

    def offence_results(
        self, offence: OffenceResults, path: str, numbers: dict[int, int], index: int
    ) -> None:
        number = offence.offence_sequence
        if number < 1:
            self.add(
                ReasonCode.OFFENCE_SEQUENCE_INVALID,
                f"{path}.offence_sequence",
                f"offence number {number} is not a number from 1",
            )
        elif number in numbers:
            self.add(
                ReasonCode.RESULT_DUPLICATED,
                f"{path}.offence_sequence",
                f"offence {number} is already resulted at offences[{numbers[number]}]",
            )
        numbers.setdefault(number, index)
        if offence.plea is not None and self.standing.plea(offence.plea) is None:
            known = ", ".join(self.standing.pleas())
            self.add(ReasonCode.PLEA_UNKNOWN, f"{path}.plea", f"is not a CJS plea code ({known})")
        if offence.verdict is not None and self.standing.verdict(offence.verdict) is None:
            known = ", ".join(self.standing.verdicts())
            self.add(
                ReasonCode.VERDICT_UNKNOWN,
                f"{path}.verdict",
                f"is not a CJS verdict code ({known})",
            )
        if not offence.results:
            self.add(
                ReasonCode.RESULTS_MISSING, f"{path}.results", "an offence has at least one result"
            )
        for k, result in enumerate(offence.results):
            self.court_result(result, f"{path}.results[{k}]")

    def court_result(self, result: CourtResult, path: str) -> None:
        known = self.standing.result_code(result.code)
        if known is None:
            self.add(
                ReasonCode.RESULT_CODE_UNKNOWN,
                f"{path}.code",
                f"{result.code} is not a CJS result code",
            )
        else:
            for q, qualifier in enumerate(result.qualifiers):
                if qualifier not in known.qualifiers:
                    self.add(
                        ReasonCode.RESULT_QUALIFIER_NOT_ALLOWED,
                        f"{path}.qualifiers[{q}]",
                        f"result {known.code} ({known.title}) does not take the qualifier given",
                    )
        if result.duration is not None and result.duration.length < 1:
            self.add(
                ReasonCode.RESULT_VALUE_INVALID,
                f"{path}.duration.length",
                f"a duration of {result.duration.length} is not a number from 1",
            )
        if result.amount_pence is not None and result.amount_pence < 1:
            self.add(
                ReasonCode.RESULT_VALUE_INVALID,
                f"{path}.amount_pence",
                f"an amount of {result.amount_pence} pence is not a number from 1",
            )

    def run(self) -> list[Reason]:
        self.envelope()
        event = self.event
        match event:
            case CaseFileSubmitted():
                self.file_type(event.file_type, (FileType.PRE_CHARGE,))
                for i, suspect in enumerate(event.suspects):
                    self.defendant(suspect, f"suspects[{i}].", event.proposed_offences)
                self.offences(event.proposed_offences, "proposed_offences")
                self.documents(event.documents, "documents")
            case DefendantCharged():
                self.file_type(event.file_type, CHARGE_FILE_TYPES)
                self.defendant(event.defendant, "defendant.", event.offences)
                self.date_in_range(event.charge_date, "charge_date")
                if not event.offences:
                    self.add(
                        ReasonCode.OFFENCES_MISSING, "offences", "a charge has at least one offence"
                    )
                self.offences(event.offences, "offences")
                self.bail(event.remand_status, event.bail_conditions)
                self.hearing(event.first_hearing, "first_hearing", event.charge_date)
            case CaseDocumentsAdded():
                if not event.documents:
                    self.add(
                        ReasonCode.DOCUMENTS_MISSING,
                        "documents",
                        "a documents event adds at least one document",
                    )
                self.documents(event.documents, "documents")
            case RemandStatusChanged():
                self.asn(event.asn, "asn")
                self.bail(event.remand_status, event.bail_conditions)
                self.date_in_range(event.effective_date, "effective_date")
                if event.next_hearing is not None:
                    self.hearing(event.next_hearing, "next_hearing", None)
            case DefendantDetailsAmended():
                self.asn(event.asn, "asn")
                self.person_ids(event.pnc_id, event.cro_number, "")
                self.born(event.date_of_birth, "date_of_birth")
            case CaseDiscontinued():
                if event.asn is not None:
                    self.asn(event.asn, "asn")
                self.discontinuance(event)
                self.date_in_range(event.decided_on, "decided_on")
            case HearingResulted():
                self.court_results(event)
        self.reasons += check_text(event)
        return self.reasons


def _ahead(delta: timedelta) -> str:
    """A duration for a message, in the largest whole unit that fits."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _duplicate(
    path: str, index: int, number: int, same_number: int | None, same_content: int | None
) -> Reason:
    """Which offence this one repeats, and a hint that is true for how it repeats it."""
    here = f"{path}[{index}]"
    if same_content is not None:
        other = f"{path}[{same_content}]"
        if same_number is not None:
            message = f"offence {number} is {path}[{same_number}] listed again"
        else:
            message = f"offence {number} has the same code, date and wording as {other}"
        hint = (
            f"Remove {here}: it repeats {other}. If it is a separate offence, say how it "
            "differs in its wording or date."
        )
    else:
        assert same_number is not None
        other = f"{path}[{same_number}]"
        message = f"offence number {number} is already used by {other}"
        hint = f"Give {here} an offence number of its own, as on the charge sheet."
    return Reason.of(ReasonCode.OFFENCE_DUPLICATED, here, message, hint)


def validate_event(event: CaseEvent, ctx: ValidationContext) -> list[Reason]:
    """Every domain-rule problem of ``event``, in field order, at most ``MAX_REASONS`` of them
    and then one counting the rest; empty when it is valid."""
    return capped(_Rules(ctx, event).run())
