"""The contract as tests see it: authored Avro types, their models, and hypothesis strategies.

Strategies are built from the *schema* (so an ``int`` field stays within 32 bits and a
``long`` within 64) and produce *model* instances, so a round trip through the codec tests
both sides at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

import schemas.models
from producers.profiles import force_profile
from producers.simulator import SyntheticForce
from schemas.models import AvroRecord, CaseEvent, MgForm
from schemas.store import AVRO_DIR
from streams.reference import StandingData

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


@cache
def authored(avro_dir: Path = AVRO_DIR) -> dict[str, dict[str, Any]]:
    """Every authored named type by full name, as written (references stay names)."""
    types: dict[str, dict[str, Any]] = {}
    for path in sorted(avro_dir.glob("*.avsc")):
        schema = json.loads(path.read_text())
        types[f"{schema['namespace']}.{schema['name']}"] = schema
    return types


def enum_name(enum: type[StrEnum]) -> str:
    """The Avro full name an enum model mirrors (models carry no namespace of their own)."""
    return f"uk.gov.cjsx.{enum.__name__}"


@cache
def models() -> dict[str, type[AvroRecord] | type[StrEnum]]:
    """Every record model and enum exported by ``schemas.models``, by Avro full name."""
    found: dict[str, type[AvroRecord] | type[StrEnum]] = {}
    for attr in schemas.models.__all__:
        obj = getattr(schemas.models, attr)
        if isinstance(obj, type) and issubclass(obj, AvroRecord) and obj is not AvroRecord:
            found[obj.avro_name] = obj
        elif isinstance(obj, type) and issubclass(obj, StrEnum):
            found[enum_name(obj)] = obj
    return found


# Any zone offset and microseconds on purpose: the models must bring them to UTC milliseconds
# (Avro's timestamp-millis) themselves, or the round trip fails. A day inside Python's range
# on each side keeps the conversion to UTC from overflowing.
_OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_TIMESTAMPS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_OFFSETS
)


def strategy(avro_type: Any) -> st.SearchStrategy[Any]:
    """Values of ``avro_type`` (an authored type expression) in the models' Python shape."""
    if isinstance(avro_type, list):
        return st.one_of([strategy(branch) for branch in avro_type])
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        kind = avro_type["type"]
        if logical == "uuid":
            return st.uuids()
        if logical == "timestamp-millis":
            return _TIMESTAMPS
        if logical == "date":
            return st.dates()
        if kind == "array":
            return st.lists(strategy(avro_type["items"]), max_size=2)
        return strategy(kind)
    match avro_type:
        case "null":
            return st.none()
        case "string":
            return st.text(max_size=12)
        case "int":
            return st.integers(*INT32)
        case "long":
            return st.integers(*INT64)
        case "boolean":
            return st.booleans()
        case "bytes":
            return st.binary(max_size=12)
    return named(avro_type)


@cache
def named(full_name: str) -> st.SearchStrategy[Any]:
    """Instances of the model (or members of the enum) that mirrors ``full_name``."""
    schema = authored()[full_name]
    model = models()[full_name]
    if schema["type"] == "enum":
        return st.sampled_from(list(model))  # type: ignore[arg-type]
    fields = {f["name"]: st.deferred(lambda t=f["type"]: strategy(t)) for f in schema["fields"]}
    return st.builds(model, **fields)  # type: ignore[arg-type]


FIXED_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def synthetic_force(force: str = "01", seed: int = 7) -> SyntheticForce:
    """A deterministic synthetic force (fixed clock and seed) drawing on real standing data."""
    profile = force_profile(StandingData.load(), force)
    return SyntheticForce(profile, seed=seed, clock=lambda: FIXED_NOW)


@cache
def one_of_each_event(force: str = "01", seed: int = 7) -> tuple[CaseEvent, ...]:
    """One valid event of every type, in a plausible case order (the same ones all session)."""
    sim = synthetic_force(force, seed)
    case = sim.new_case()
    return (
        sim.pre_charge(case),
        sim.charge(case),
        sim.documents(case, [MgForm.MG5, MgForm.MG6D]),
        sim.remand_change(case),
        sim.amend(case),
        sim.discontinue(case),
    )
