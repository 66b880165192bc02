"""The pydantic models cannot drift from the Avro contract.

Every authored named type (records and enums, nested ones too) is compared field by field
with the model that mirrors it, both ways; then generated instances of every top-level model
round-trip through the codec unchanged. Deliberately drifted models prove the comparison
finds each kind of drift, so it cannot pass vacuously.
"""

from __future__ import annotations

import types
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, Field
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from schemas.codec import Codec
from schemas.models import TOP_LEVEL_TYPES, AvroRecord, Hearing, Offence
from tests.support.contract import authored, models, named

NONE = type(None)
PRIMITIVES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "long": (int,),
    "boolean": (bool,),
    "bytes": (bytes,),
    "float": (float,),
    "double": (float,),
    "null": (NONE,),
}
LOGICAL: dict[str, tuple[type, ...]] = {
    "uuid": (UUID,),
    "timestamp-millis": (datetime, AwareDatetime),
    "date": (date,),
}
MODELS_WITHOUT_SCHEMA = {"uk.gov.cjsx.CaseEvent"}
"""Abstract bases: CaseEvent only factors out the envelope every event schema declares."""


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _name_of(annotation: Any) -> str | None:
    """The Avro full name a model class or enum mirrors, or None for anything else."""
    if isinstance(annotation, type) and issubclass(annotation, AvroRecord):
        return annotation.avro_name
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return f"uk.gov.cjsx.{annotation.__name__}"
    return None


def type_drift(avro: Any, annotation: Any) -> list[str]:
    """How a model annotation disagrees with an Avro type expression; empty if it agrees."""
    if get_origin(annotation) is Annotated:  # Int32/Int64: an int with its Avro range
        annotation = get_args(annotation)[0]
    if isinstance(avro, list):
        if not _is_union(annotation):
            return [f"schema union {avro} but model type {annotation!r}"]
        model_branches = list(get_args(annotation))
        if ("null" in avro) != (NONE in model_branches):
            return [f"nullable on one side only: {avro} vs {annotation!r}"]
        avro_rest = [b for b in avro if b != "null"]
        model_rest = [b for b in model_branches if b is not NONE]
        if len(avro_rest) != len(model_rest):
            return [f"union branches differ: {avro} vs {annotation!r}"]
        return [p for a, m in zip(avro_rest, model_rest, strict=True) for p in type_drift(a, m)]
    if _is_union(annotation):
        return [f"schema type {avro} is not a union but model type {annotation!r} is"]
    if isinstance(avro, dict):
        logical = avro.get("logicalType")
        if logical is not None:
            expected = LOGICAL.get(logical)
            if expected is None:
                return [f"logical type {logical} has no model mapping"]
            ok = annotation in expected
            return [] if ok else [f"{logical} needs {expected}, model has {annotation!r}"]
        if avro["type"] == "array":
            if get_origin(annotation) is not list:
                return [f"schema array but model type {annotation!r}"]
            return type_drift(avro["items"], get_args(annotation)[0])
        if avro["type"] in ("record", "enum", "fixed"):
            return type_drift(f"{avro.get('namespace', 'uk.gov.cjsx')}.{avro['name']}", annotation)
        return type_drift(avro["type"], annotation)
    if avro in PRIMITIVES:
        ok = annotation in PRIMITIVES[avro]
        return [] if ok else [f"schema {avro} needs {PRIMITIVES[avro]}, model has {annotation!r}"]
    if _name_of(annotation) != avro:
        return [f"schema type {avro} but model type {annotation!r}"]
    return []


def default_drift(avro_field: dict[str, Any], model_field: FieldInfo) -> list[str]:
    """Defaults agree: both absent, or equal once the model's is written as JSON."""
    if model_field.is_required():
        if "default" in avro_field:
            return [f"schema default {avro_field['default']!r} but the model field is required"]
        return []
    if "default" not in avro_field:
        return ["the model field has a default but the schema field has none"]
    model_default = to_jsonable_python(model_field.get_default(call_default_factory=True))
    if model_default != avro_field["default"]:
        return [f"defaults differ: schema {avro_field['default']!r}, model {model_default!r}"]
    return []


def enum_drift(enum: type[StrEnum], schema: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    values = [member.value for member in enum]
    if values != schema["symbols"]:
        problems.append(f"symbols differ: schema {schema['symbols']}, model {values}")
    if any(member.name != member.value for member in enum):
        problems.append("every member's name must be its symbol")
    if "default" in schema and schema["default"] not in values:
        problems.append(f"enum default {schema['default']} is not a member")
    return problems


def drift(model: type[AvroRecord] | type[StrEnum], schema: dict[str, Any]) -> list[str]:
    """Every disagreement between a model and the named Avro type it mirrors."""
    full_name = f"{schema['namespace']}.{schema['name']}"
    if _name_of(model) != full_name:
        return [f"model {model.__name__} mirrors {_name_of(model)}, not {full_name}"]
    if schema["type"] == "enum":
        if not issubclass(model, StrEnum):
            return [f"{full_name} is an enum but {model.__name__} is not a StrEnum"]
        return enum_drift(model, schema)
    if not issubclass(model, AvroRecord):
        return [f"{full_name} is a record but {model.__name__} is not a model"]
    avro_fields = {f["name"]: f for f in schema["fields"]}
    model_fields = model.model_fields
    problems = [f"{n}: in the schema only" for n in sorted(avro_fields.keys() - model_fields)]
    problems += [f"{n}: in the model only" for n in sorted(model_fields.keys() - avro_fields)]
    for name in sorted(avro_fields.keys() & model_fields.keys()):
        avro_field, model_field = avro_fields[name], model_fields[name]
        problems += [f"{name}: {p}" for p in type_drift(avro_field["type"], model_field.annotation)]
        problems += [f"{name}: {p}" for p in default_drift(avro_field, model_field)]
    return problems


# -- the shipped contract --------------------------------------------------------------------


def test_every_named_type_has_a_model_and_every_model_a_named_type() -> None:
    assert set(authored()) - set(models()) == set()
    assert set(models()) - set(authored()) == MODELS_WITHOUT_SCHEMA


def test_the_comparison_covers_records_enums_and_nested_types() -> None:
    kinds = [authored()[name]["type"] for name in authored()]
    assert kinds.count("record") >= 15
    assert kinds.count("enum") >= 9
    # Types that appear only nested inside others are compared too.
    assert {"uk.gov.cjsx.Address", "uk.gov.cjsx.Header", "uk.gov.cjsx.Venue"} <= set(authored())


@pytest.mark.parametrize("name", sorted(authored()))
def test_model_mirrors_its_schema(name: str) -> None:
    assert drift(models()[name], authored()[name]) == []


@pytest.mark.parametrize("model", TOP_LEVEL_TYPES, ids=lambda m: m.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_records_round_trip_through_the_codec(
    model: type[AvroRecord], data: st.DataObject
) -> None:
    record = data.draw(named(model.avro_name))
    codec = Codec()
    assert isinstance(record, model)
    assert codec.decode(codec.encode(record)) == record


# -- the comparison finds drift ----------------------------------------------------------------


def _drifted_models() -> list[tuple[str, type[AvroRecord], str, str]]:
    """(case, drifted model, schema it claims to mirror, a word the problem must mention)."""

    class Hearing(AvroRecord):  # an extra field
        court_ou: str
        date: date
        room: str

    extra = Hearing

    class Hearing(AvroRecord):  # type: ignore[no-redef]  # a missing field
        court_ou: str

    missing = Hearing

    class Hearing(AvroRecord):  # type: ignore[no-redef]  # a wrong type
        court_ou: int
        date: date

    wrong_type = Hearing

    class Hearing(AvroRecord):  # type: ignore[no-redef]  # optional on one side only
        court_ou: str | None = None
        date: date

    optional = Hearing

    class Offence(AvroRecord):  # timestamp where the schema has a date
        sequence: int
        code: str
        wording: str
        offence_date: datetime

    logical = Offence

    class Offence(AvroRecord):  # type: ignore[no-redef]  # a default the schema lacks
        sequence: int = 1
        code: str
        wording: str
        offence_date: date

    default = Offence

    class RemandStatusChanged(AvroRecord):  # the schema's [] default dropped
        envelope: Any
        asn: str
        remand_status: str
        bail_conditions: list[str]
        effective_date: date
        next_hearing: Any = None

    no_default = RemandStatusChanged

    class Address(AvroRecord):  # a list of the wrong item type
        lines: list[int] = Field()
        postcode: str | None = None

    items = Address

    return [
        ("extra field", extra, "uk.gov.cjsx.Hearing", "room"),
        ("missing field", missing, "uk.gov.cjsx.Hearing", "date"),
        ("wrong type", wrong_type, "uk.gov.cjsx.Hearing", "court_ou"),
        ("optional on one side", optional, "uk.gov.cjsx.Hearing", "court_ou"),
        ("logical type", logical, "uk.gov.cjsx.Offence", "offence_date"),
        ("default on one side", default, "uk.gov.cjsx.Offence", "sequence"),
        ("default dropped", no_default, "uk.gov.cjsx.RemandStatusChanged", "bail_conditions"),
        ("array items", items, "uk.gov.cjsx.Address", "lines"),
    ]


@pytest.mark.parametrize(
    ("case", "model", "name", "mentions"), [pytest.param(*d, id=d[0]) for d in _drifted_models()]
)
def test_drift_is_found(case: str, model: type[AvroRecord], name: str, mentions: str) -> None:
    problems = drift(model, authored()[name])
    assert problems, case
    assert any(mentions in p for p in problems), problems


def test_enum_drift_is_found() -> None:
    class FileType(StrEnum):
        PRE_CHARGE = "PRE_CHARGE"
        GAP = "GAP"
        NGAP = "NGAP"
        CROWN = "CROWN"
        UPGRADE = "UPGRADE"
        APPEAL = "APPEAL"

    assert drift(FileType, authored()["uk.gov.cjsx.FileType"]) != []


def test_a_model_for_another_type_is_drift() -> None:
    assert drift(Hearing, authored()["uk.gov.cjsx.Offence"]) != []
    assert drift(Offence, authored()["uk.gov.cjsx.Offence"]) == []
