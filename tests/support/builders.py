"""Builders for unit tests: a fixed clock, valid synthetic events and an exchange over dicts.

Everything is deterministic (fixed seed, fixed clock) apart from envelope event ids, which the
force system draws at random; tests compare ids with each other, never with literals. Every
person is synthetic (producers.simulator's artificial name lists).

Builders called without a ``force`` each start a fresh SyntheticForce with the same seed, so
they make the *same* case (same URN, sequence 1): pass one shared force to build several
cases, or several events of one case, for the same exchange.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from infra.registry import Registry, load_registry
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.simulator import SyntheticCase, SyntheticForce
from schemas.codec import Codec
from schemas.models import (
    AvroRecord,
    CaseDocumentsAdded,
    CaseEvent,
    CaseFileSubmitted,
    DefendantCharged,
    Document,
    Hearing,
    MgForm,
    Offence,
    Sensitivity,
)
from streams.outputs import Output
from streams.pipeline import Exchange, ExchangeConfig, partition_for
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.route import Policy, load_policy
from streams.state import DictStore, KeyValueStore

E = TypeVar("E", bound=CaseEvent)
R = TypeVar("R", bound=AvroRecord)

NOW = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
"""The fixed 'now' of unit tests (a Monday morning)."""
TODAY = NOW.date()

FORCE = "05"  # Merseyside: courts of its own, CPS Mersey-Cheshire (a confirmed grouping)
MAGISTRATES = "B05BK00"  # Wirral magistrates' court
CROWN = "C05LV00"  # Liverpool Crown Court
POLICE_UNIT = "05AM00"
THEFT = "TH68010"  # Theft from a shop: either way (CE), recordable
MURDER = "COML025"  # indictable only (CI)
NOT_CHARGEABLE = "BA76004"  # B7: arrest as unlikely to surrender to bail, not a charge
HOLD = timedelta(seconds=10)
WINDOW = timedelta(days=30)


class FixedClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


# -- shared read-only dependencies ----------------------------------------------------------


def standing() -> StandingData:
    return StandingData.load()


def registry() -> Registry:
    return load_registry()


@cache
def catalog() -> TopicCatalog:
    return TopicCatalog(registry())


@cache
def codec() -> Codec:
    return Codec()


def policy() -> Policy:
    return load_policy()


# -- synthetic events -------------------------------------------------------------------------


def synthetic_force(
    force: str = FORCE, *, seed: int = 1, clock: FixedClock | None = None
) -> SyntheticForce:
    """A force system with a fixed seed and (by default) a clock fixed at ``NOW``."""
    return SyntheticForce(force_profile(standing(), force), seed=seed, clock=clock or FixedClock())


def case(
    force: SyntheticForce | None = None,
    *,
    court: str = MAGISTRATES,
    offences: Sequence[str] = (THEFT,),
    offence_date: date = TODAY - timedelta(days=5),
) -> SyntheticCase:
    """A new case with a known court and offences (the rest synthetic)."""
    sim = force or synthetic_force()
    made = sim.new_case()
    made.court = court
    made.offences = [
        Offence(
            sequence=i + 1,
            code=code,
            wording=f"Particulars of offence {i + 1} (synthetic)",
            offence_date=offence_date,
        )
        for i, code in enumerate(offences)
    ]
    return made


def valid_charge(force: SyntheticForce | None = None, **case_args: Any) -> DefendantCharged:
    """A valid DefendantCharged: one theft at Wirral magistrates' court, sequence 1."""
    sim = force or synthetic_force()
    return sim.charge(case(sim, **case_args))


def valid_pre_charge(force: SyntheticForce | None = None, **case_args: Any) -> CaseFileSubmitted:
    """A valid pre-charge CaseFileSubmitted (MG3 + MG11), sequence 1."""
    sim = force or synthetic_force()
    return sim.pre_charge(case(sim, **case_args))


def valid_documents(
    forms: Sequence[MgForm] = (MgForm.MG5, MgForm.MG11),
    force: SyntheticForce | None = None,
) -> CaseDocumentsAdded:
    """A valid CaseDocumentsAdded on a new case, sequence 1, each form at its minimum marking."""
    sim = force or synthetic_force()
    return sim.documents(sim.new_case(), forms)


def document(form: MgForm, sensitivity: Sensitivity = Sensitivity.OFFICIAL_SENSITIVE) -> Document:
    return Document(
        document_id=uuid.UUID(int=len(form.value) * 7919 + 1, version=4),
        form=form,
        title=f"{form.value} (synthetic)",
        sha256="ab" * 32,
        sensitivity=sensitivity,
    )


def with_envelope(event: E, **fields: Any) -> E:
    """``event`` with some envelope fields replaced (a resend, another sequence, ...)."""
    return event.model_copy(update={"envelope": event.envelope.model_copy(update=fields)})


def renumbered(event: E, sequence: int) -> E:
    """``event`` as a new event (fresh id) with another sequence number."""
    return with_envelope(event, sequence=sequence, event_id=uuid.uuid4())


def with_hearing(event: DefendantCharged, **fields: Any) -> DefendantCharged:
    hearing: Hearing = event.first_hearing.model_copy(update=fields)
    return event.model_copy(update={"first_hearing": hearing})


def with_defendant(event: DefendantCharged, **fields: Any) -> DefendantCharged:
    return event.model_copy(update={"defendant": event.defendant.model_copy(update=fields)})


# -- the exchange -----------------------------------------------------------------------------


def exchange(
    clock: FixedClock | None = None,
    *,
    seen: KeyValueStore | None = None,
    cases: KeyValueStore | None = None,
    hold: timedelta = HOLD,
    window: timedelta = WINDOW,
    partners: Registry | None = None,
) -> Exchange:
    """The whole pipeline over in-memory stores; pass the same stores to model a restart."""
    return Exchange(
        codec=codec(),
        catalog=catalog(),
        registry=partners or registry(),
        standing=standing(),
        policy=policy(),
        seen_store=seen if seen is not None else DictStore(),
        case_store=cases if cases is not None else DictStore(),
        config=ExchangeConfig(dedup_window=window, order_hold=hold),
        clock=clock or FixedClock(),
    )


def record(
    event: CaseEvent | bytes,
    offset: int = 0,
    *,
    force: str = FORCE,
    partition: int | None = None,
    topic: str | None = None,
) -> SourceRecord:
    """The ingest record carrying ``event`` (or raw bytes) at ``offset`` of force's topic,
    on the partition its key hashes to unless ``partition`` says otherwise."""
    if isinstance(event, bytes):
        key: bytes | None = None
        value = event
    else:
        key = event.envelope.case_urn.encode()
        value = codec().encode(event)
    if partition is None:
        partition = 0 if key is None else partition_for(key, catalog().ingest_partitions)
    return SourceRecord(
        topic=topic or catalog().ingest(force),
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        headers=(("x-test", b"1"),),
    )


_TICKS = itertools.count()


def tick_record(partition: int = 0) -> SourceRecord:
    """A fresh tick of the ordering clock for ``partition`` (each at a new offset)."""
    return SourceRecord(
        topic=catalog().ticks, partition=partition, offset=next(_TICKS), key=None, value=b""
    )


def decoded(outputs: Sequence[Output], model: type[R], topic: str | None = None) -> list[R]:
    """The outputs that decode as ``model`` (optionally only those on ``topic``), in order."""
    found: list[R] = []
    for output in outputs:
        if topic is not None and output.topic != topic:
            continue
        value = codec().decode(output.value)
        if isinstance(value, model):
            found.append(value)
    return found
