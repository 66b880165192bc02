"""The schema evolution gate: every authored schema against every released version, both ways.

Forty-four forces and many partners upgrade on their own timetables, so a record written with
any released version must be readable with the authored schema (backward) and a record written
with the authored schema must be readable with every released version (forward): Avro's
FULL_TRANSITIVE mode, checked with Apache avro's ``ReaderWriterCompatibilityChecker`` (fastavro
has none). See docs/adr/0004-schema-compatibility-full-transitive.md.

An authored schema that differs from its latest released version is reported as well: the
codec writes released versions only, so such a change is dead until ``cjsx schema release``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.models import TOP_LEVEL_TYPES
from schemas.store import AVRO_DIR, RELEASED_DIR, SchemaStore, SchemaStoreError, release, resolve

MODE = "FULL_TRANSITIVE"

ProblemKind = Literal["incompatible", "unreleased", "missing"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the gate fails, phrased for the engineer who changed the schema."""

    name: str
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.kind}: {self.message}"


def top_level_names() -> list[str]:
    """Every record that travels on its own, and so must be released and evolve safely."""
    return sorted(m.avro_name for m in TOP_LEVEL_TYPES)


def _parse(schema: dict[str, Any]) -> avro.schema.Schema:
    with warnings.catch_warnings():
        # Apache avro warns (rather than fails) on logical types it ignores; a warning here
        # would only repeat what fastavro already accepted when the schema was resolved.
        warnings.simplefilter("ignore")
        return avro.schema.parse(json.dumps(schema))


def incompatibilities(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why a reader with ``reader`` cannot read what ``writer`` wrote; empty when it can."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(_parse(reader), _parse(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = ", ".join(sorted({kind.value for kind in result.incompatibilities}))
    where = ", ".join(sorted(result.locations))
    return [f"{kinds}: {'; '.join(sorted(result.messages))} (at {where})"]


def check_name(name: str, store: SchemaStore, avro_dir: Path = AVRO_DIR) -> list[Problem]:
    """The gate for one top-level type: compatibility with every released version, both ways."""
    try:
        head = resolve(name, avro_dir)
    except SchemaStoreError as error:
        return [Problem(name, "missing", f"released but has no authored schema ({error})")]
    versions = store.versions(name)
    if not versions:
        return [Problem(name, "unreleased", "never released; run `cjsx schema release`")]
    problems: list[Problem] = []
    for version in versions:
        for why in incompatibilities(reader=head, writer=version.schema):
            problems.append(
                Problem(
                    name,
                    "incompatible",
                    f"backward: the authored schema cannot read v{version.version} data: {why}",
                )
            )
        for why in incompatibilities(reader=version.schema, writer=head):
            problems.append(
                Problem(
                    name,
                    "incompatible",
                    f"forward: v{version.version} readers cannot read authored data: {why}",
                )
            )
    if versions[-1].schema != head:
        problems.append(
            Problem(
                name,
                "unreleased",
                f"differs from released v{versions[-1].version}; run `cjsx schema release`",
            )
        )
    return problems


def check_all(
    names: list[str] | None = None,
    avro_dir: Path = AVRO_DIR,
    released_dir: Path = RELEASED_DIR,
) -> list[Problem]:
    """The whole gate: every top-level type and every type that was ever released."""
    store = SchemaStore.load(released_dir)
    wanted = sorted(set(names if names is not None else top_level_names()) | set(store.names()))
    return [problem for name in wanted for problem in check_name(name, store, avro_dir)]


def release_checked(
    names: list[str] | None = None,
    avro_dir: Path = AVRO_DIR,
    released_dir: Path = RELEASED_DIR,
) -> tuple[list[tuple[str, int]], list[Problem]]:
    """Release every changed schema, but only when none is incompatible.

    Returns the (name, version) pairs written and the problems that blocked the release; an
    incompatible schema blocks every release, so a release is all or nothing.
    """
    wanted = names if names is not None else top_level_names()
    blocking = [p for p in check_all(wanted, avro_dir, released_dir) if p.kind != "unreleased"]
    if blocking:
        return [], blocking
    return release(wanted, avro_dir, released_dir), []
