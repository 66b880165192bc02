"""Domain rules over a decoded event: every problem, each with a code, a field path and a hint.

Rules return *all* reasons, in a stable order (field order of the event), so a clerk fixes
the whole event in one go. Identifier format and check letters come from
``schemas.identifiers``; whether a unit, court or offence exists comes from standing data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
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
from schemas.models import (
    CaseDiscontinued,
    CaseDocumentsAdded,
    CaseEvent,
    CaseFileSubmitted,
    Defendant,
    DefendantCharged,
    DefendantDetailsAmended,
    Document,
    Hearing,
    Offence,
    RemandStatusChanged,
)
from schemas.reasons import Reason, ReasonCode
from streams.reference import StandingData
from streams.validate.documents import SENSITIVITY_RANK, minimum_sensitivity

AGE_OF_CRIMINAL_RESPONSIBILITY = 10
_HEX = frozenset("0123456789abcdef")


def _england_and_wales() -> tzinfo:
    return ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the rules need besides the event.

    ``zone`` is where the case file's calendar dates (offence, birth, charge, hearing) are
    dates: ``occurred_at`` is a UTC instant, and 00:30 in London in summer is still the day
    before in UTC, so comparing UTC dates would reject a valid overnight charge.
    """

    standing: StandingData
    zone: tzinfo = dataclasses.field(default_factory=_england_and_wales)


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
            )
        ]
    return []


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class _Rules:
    """One validation pass over one event; collects reasons as it goes."""

    def __init__(self, ctx: ValidationContext, event: CaseEvent) -> None:
        self.standing = ctx.standing
        self.event = event
        self.occurred_on = event.envelope.occurred_at.astimezone(ctx.zone).date()
        self.reasons: list[Reason] = []

    def add(self, code: ReasonCode, field: str, message: str) -> None:
        self.reasons.append(Reason.of(code, field, message))

    def envelope(self) -> None:
        env = self.event.envelope
        if env.sequence < 1:
            self.add(
                ReasonCode.SEQUENCE_INVALID,
                "envelope.sequence",
                f"sequence {env.sequence} is not a positive number",
            )
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

    def offences(self, offences: Sequence[Offence], path: str) -> None:
        seen_sequences: set[int] = set()
        seen_content: set[tuple[str, date, str]] = set()
        for i, offence in enumerate(offences):
            field = f"{path}[{i}]"
            checked = check_offence_code(offence.code, f"{field}.code")
            self.reasons += _reason(checked, f"{field}.code")
            if checked.valid and checked.normalized is not None:
                known = self.standing.offence(checked.normalized)
                if known is None:
                    self.add(
                        ReasonCode.OFFENCE_UNKNOWN,
                        f"{field}.code",
                        f"offence code {checked.normalized} is not in the CJS offence list",
                    )
                elif not known.chargeable:
                    self.add(
                        ReasonCode.OFFENCE_NOT_CHARGEABLE,
                        f"{field}.code",
                        f"offence code {known.code} has category {known.category}, "
                        "which cannot be charged",
                    )
            if offence.offence_date > self.occurred_on:
                self.add(
                    ReasonCode.OFFENCE_DATE_IN_FUTURE,
                    f"{field}.offence_date",
                    "offence date is after the date the event occurred",
                )
            # Compare codes in their normalised form: "th68 010" is TH68010 listed twice.
            code = checked.normalized or offence.code.upper()
            content = (code, offence.offence_date, offence.wording.strip())
            if offence.sequence in seen_sequences or content in seen_content:
                self.add(
                    ReasonCode.OFFENCE_DUPLICATED,
                    field,
                    f"offence {offence.sequence} repeats an offence already listed",
                )
            seen_sequences.add(offence.sequence)
            seen_content.add(content)

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
                    ReasonCode.SCHEMA_VIOLATION,
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

    def run(self) -> list[Reason]:
        self.envelope()
        event = self.event
        match event:
            case CaseFileSubmitted():
                for i, suspect in enumerate(event.suspects):
                    self.defendant(suspect, f"suspects[{i}].", event.proposed_offences)
                self.offences(event.proposed_offences, "proposed_offences")
                self.documents(event.documents, "documents")
            case DefendantCharged():
                self.defendant(event.defendant, "defendant.", event.offences)
                self.offences(event.offences, "offences")
                self.hearing(event.first_hearing, "first_hearing", event.charge_date)
            case CaseDocumentsAdded():
                self.documents(event.documents, "documents")
            case RemandStatusChanged():
                self.asn(event.asn, "asn")
                if event.next_hearing is not None:
                    self.hearing(event.next_hearing, "next_hearing", None)
            case DefendantDetailsAmended():
                self.asn(event.asn, "asn")
                self.person_ids(event.pnc_id, event.cro_number, "")
                self.born(event.date_of_birth, "date_of_birth")
            case CaseDiscontinued():
                if event.asn is not None:
                    self.asn(event.asn, "asn")
        return self.reasons


def validate_event(event: CaseEvent, ctx: ValidationContext) -> list[Reason]:
    """Every domain-rule problem of ``event``, in field order; empty when it is valid."""
    return _Rules(ctx, event).run()
