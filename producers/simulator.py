"""A synthetic force system: realistic case-file traffic with synthetic people.

Cases follow a plausible life (charge, documents, bail changes, amendments, discontinuance)
using real standing-data codes (the force's police units, courts, chargeable offences) and
identifiers with correct check letters, so valid events really are valid. Faults can be
injected on purpose, one family at a time, so demos and tests know what each event should
become. Every person is invented; names come from deliberately artificial lists.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from producers.envelopes import EnvelopeFactory
from schemas.identifiers import build_asn, build_cro, build_pnc_id
from schemas.models import (
    Address,
    CaseDiscontinued,
    CaseDocumentsAdded,
    CaseEvent,
    CaseFileSubmitted,
    Defendant,
    DefendantCharged,
    DefendantDetailsAmended,
    DiscontinuanceScope,
    Document,
    FileType,
    Hearing,
    MgForm,
    Offence,
    RemandStatus,
    RemandStatusChanged,
    Sensitivity,
)

GIVEN_NAMES = ("Ada", "Bram", "Cleo", "Dax", "Esme", "Finn", "Gala", "Hugo", "Ines", "Jory")
FAMILY_NAMES = ("Testwell", "Samplesby", "Fakeham", "Mockford", "Placeholt", "Dummerton")


class Fault(StrEnum):
    """A deliberate defect, and the outcome it must produce at the exchange."""

    BAD_ASN_CHECK = "bad-asn-check"  # ASN_CHECK_CHARACTER
    UNKNOWN_OFFENCE = "unknown-offence"  # OFFENCE_UNKNOWN
    UNKNOWN_COURT = "unknown-court"  # COURT_UNKNOWN
    HEARING_BEFORE_CHARGE = "hearing-before-charge"  # HEARING_BEFORE_CHARGE
    UNDER_AGE = "under-age"  # DEFENDANT_UNDER_AGE
    OTHER_FORCE = "other-force"  # SENDER_FORCE_MISMATCH
    SENSITIVITY = "sensitivity"  # DOCUMENT_SENSITIVITY_TOO_LOW
    GARBAGE = "garbage"  # UNDECODABLE (bytes, not an event)


@dataclass(frozen=True)
class ForceProfile:
    """Standing-data codes a force's cases draw on (built from the snapshot by the caller)."""

    force: str
    police_units: Sequence[str]
    """6-character police OUs of this force (force + unit + bottom level)."""
    magistrates_courts: Sequence[str]
    crown_courts: Sequence[str]
    offences: Sequence[str]
    """Chargeable either-way or summary offence codes."""
    indictable_offences: Sequence[str]
    """Indictable-only offence codes (their cases go to the Crown Court)."""


@dataclass
class SyntheticCase:
    urn: str
    defendant: Defendant
    court: str
    offences: list[Offence] = field(default_factory=list)


class SyntheticForce:
    """Generates one force's events. Deterministic for a given seed and clock."""

    def __init__(
        self,
        profile: ForceProfile,
        *,
        system: str = "synthetic-rms",
        seed: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.profile = profile
        self.random = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.clock = clock
        self.envelopes = EnvelopeFactory(profile.force, system, clock)
        self._case_number = self.random.randrange(10_000, 50_000)

    # -- people and cases -------------------------------------------------------------------

    def _today(self) -> date:
        return self.clock().date()

    def person(self, unit: str) -> Defendant:
        r = self.random
        today = self._today()
        born = today - timedelta(days=r.randrange(18 * 365, 70 * 365))
        year = today.year % 100
        return Defendant(
            asn=build_asn(year, self.profile.force, unit[2:4], unit[4:6], r.randrange(1, 10**9)),
            pnc_id=build_pnc_id(r.randrange(1990, today.year), r.randrange(1, 10**7))
            if r.random() < 0.6
            else None,
            cro_number=build_cro(r.randrange(1, 10**6), r.randrange(0, 100))
            if r.random() < 0.3
            else None,
            given_names=[r.choice(GIVEN_NAMES)],
            family_name=r.choice(FAMILY_NAMES),
            date_of_birth=born,
            address=Address(lines=[f"{r.randrange(1, 200)} Example Street", "Testtown"])
            if r.random() < 0.8
            else None,
        )

    def new_case(self, *, indictable: bool = False) -> SyntheticCase:
        r = self.random
        unit = r.choice(self.profile.police_units)
        self._case_number += 1
        urn = f"{unit[:4]}{self._case_number % 100_000:05d}{self._today().year % 100:02d}"
        court = r.choice(
            self.profile.crown_courts
            if indictable and r.random() < 0.2
            else self.profile.magistrates_courts
        )
        pool = self.profile.indictable_offences if indictable else self.profile.offences
        offence_day = self._today() - timedelta(days=r.randrange(1, 30))
        offences = [
            Offence(
                sequence=i + 1,
                code=code,
                wording=f"Particulars of offence {i + 1} (synthetic)",
                offence_date=offence_day,
            )
            for i, code in enumerate(r.sample(list(pool), k=min(len(pool), r.randrange(1, 3))))
        ]
        return SyntheticCase(urn, self.person(unit), court, offences)

    def _document(self, form: MgForm, sensitivity: Sensitivity | None = None) -> Document:
        sensitive = form in (MgForm.MG3, MgForm.MG3A, MgForm.MG6, MgForm.MG6D, MgForm.MG6E)
        doc_id = uuid.UUID(int=self.random.getrandbits(128), version=4)
        return Document(
            document_id=doc_id,
            form=form,
            title=f"{form.value} (synthetic)",
            sha256=hashlib.sha256(doc_id.bytes).hexdigest(),
            sensitivity=sensitivity
            or (Sensitivity.OFFICIAL_SENSITIVE if sensitive else Sensitivity.OFFICIAL),
        )

    # -- events -------------------------------------------------------------------------------

    def pre_charge(self, case: SyntheticCase) -> CaseFileSubmitted:
        return CaseFileSubmitted(
            envelope=self.envelopes.next(case.urn),
            file_type=FileType.PRE_CHARGE,
            suspects=[case.defendant],
            proposed_offences=case.offences,
            report_to_prosecutor="Summary of evidence and questions for the prosecutor.",
            documents=[self._document(MgForm.MG3), self._document(MgForm.MG11)],
        )

    def charge(self, case: SyntheticCase, *, advised: bool = False) -> DefendantCharged:
        r = self.random
        status = r.choice(list(RemandStatus))
        today = self._today()
        return DefendantCharged(
            envelope=self.envelopes.next(case.urn),
            file_type=FileType.CROWN if case.court.startswith("C") else FileType.GAP,
            defendant=case.defendant,
            charge_date=today,
            offences=case.offences,
            remand_status=status,
            bail_conditions=["Reside at home address", "Not contact witnesses"]
            if status is RemandStatus.CONDITIONAL_BAIL
            else [],
            first_hearing=Hearing(court_ou=case.court, date=today + timedelta(r.randrange(1, 15))),
            charging_advice="Charge as proposed: full code test met." if advised else None,
        )

    def documents(self, case: SyntheticCase, forms: Sequence[MgForm]) -> CaseDocumentsAdded:
        return CaseDocumentsAdded(
            envelope=self.envelopes.next(case.urn),
            file_type=FileType.UPGRADE,
            documents=[self._document(f) for f in forms],
        )

    def remand_change(self, case: SyntheticCase) -> RemandStatusChanged:
        today = self._today()
        return RemandStatusChanged(
            envelope=self.envelopes.next(case.urn),
            asn=case.defendant.asn,
            remand_status=RemandStatus.CONDITIONAL_BAIL,
            bail_conditions=["Curfew 20:00 to 06:00"],
            effective_date=today,
            next_hearing=Hearing(court_ou=case.court, date=today + timedelta(days=7)),
        )

    def amend(self, case: SyntheticCase) -> DefendantDetailsAmended:
        return DefendantDetailsAmended(
            envelope=self.envelopes.next(case.urn),
            asn=case.defendant.asn,
            family_name=self.random.choice(FAMILY_NAMES),
            reason="Spelling corrected from identity document",
        )

    def discontinue(self, case: SyntheticCase) -> CaseDiscontinued:
        return CaseDiscontinued(
            envelope=self.envelopes.next(case.urn),
            scope=DiscontinuanceScope.CASE_DISCONTINUED,
            decided_on=self._today(),
            reason="Insufficient evidence (synthetic)",
        )

    def case_story(self) -> list[CaseEvent]:
        """One case's events in sequence order: a charge, then what typically follows."""
        r = self.random
        case = self.new_case(indictable=r.random() < 0.15)
        events: list[CaseEvent] = []
        advised = r.random() < 0.3
        if advised:
            events.append(self.pre_charge(case))
        events.append(self.charge(case, advised=advised))
        if r.random() < 0.5:
            events.append(self.documents(case, [MgForm.MG5, MgForm.MG11, MgForm.MG6D]))
        if r.random() < 0.3:
            events.append(self.remand_change(case))
        if r.random() < 0.1:
            events.append(self.amend(case))
        if r.random() < 0.05:
            events.append(self.discontinue(case))
        return events

    # -- faults ------------------------------------------------------------------------------

    def faulty(self, fault: Fault, other_force: str = "99") -> CaseEvent | bytes:
        """A new single-event case carrying exactly one deliberate defect."""
        if fault is Fault.GARBAGE:
            return b"not an Avro record: " + self.random.randbytes(16)
        case = self.new_case()
        if fault is Fault.SENSITIVITY:
            docs = self.documents(case, [MgForm.MG6D])
            low = docs.documents[0].model_copy(update={"sensitivity": Sensitivity.OFFICIAL})
            return docs.model_copy(update={"documents": [low]})
        event = self.charge(case)
        match fault:
            case Fault.BAD_ASN_CHECK:
                asn = event.defendant.asn
                wrong = "Z" if asn[-1] != "Z" else "A"
                defendant = event.defendant.model_copy(update={"asn": asn[:-1] + wrong})
                return event.model_copy(update={"defendant": defendant})
            case Fault.UNKNOWN_OFFENCE:
                offence = event.offences[0].model_copy(update={"code": "ZZ99999"})
                return event.model_copy(update={"offences": [offence]})
            case Fault.UNKNOWN_COURT:
                hearing = event.first_hearing.model_copy(update={"court_ou": "B99ZZ00"})
                return event.model_copy(update={"first_hearing": hearing})
            case Fault.HEARING_BEFORE_CHARGE:
                when = event.charge_date - timedelta(days=3)
                hearing = event.first_hearing.model_copy(update={"date": when})
                return event.model_copy(update={"first_hearing": hearing})
            case Fault.UNDER_AGE:
                born = event.offences[0].offence_date - timedelta(days=365 * 8)
                defendant = event.defendant.model_copy(update={"date_of_birth": born})
                return event.model_copy(update={"defendant": defendant})
            case Fault.OTHER_FORCE:
                envelope = event.envelope.model_copy(update={"force": other_force})
                return event.model_copy(update={"envelope": envelope})
        raise AssertionError(fault)

    def content_duplicate(self, event: CaseEvent) -> CaseEvent:
        """The same fact resent under a new event id (a system that lost its outbox state)."""
        envelope = event.envelope.model_copy(
            update={"event_id": uuid.UUID(int=self.random.getrandbits(128), version=4)}
        )
        return event.model_copy(update={"envelope": envelope})
