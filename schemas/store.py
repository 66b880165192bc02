"""Released schema versions, found by their CRC-64-AVRO fingerprint.

``schemas/avro/`` holds the authored contract, one named type per file (``<full name>.avsc``,
the layout fastavro resolves references from). Releasing a top-level type writes its fully
resolved schema to ``schemas/released/<full name>/v<N>.avsc``; released files never change.
Every reader knows every released version, so a record written with any of them can be read
and resolved to the newest one (see docs/wire-format.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from common.errors import CjsxError

AVRO_DIR = Path(__file__).with_name("avro")
RELEASED_DIR = Path(__file__).with_name("released")
_VERSION_FILE = re.compile(r"v(\d+)\.avsc")


class SchemaStoreError(CjsxError):
    """The released schemas are missing or inconsistent."""


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One released version of one top-level schema."""

    name: str
    version: int
    schema: dict[str, Any]
    parsed: dict[str, Any]
    fingerprint: bytes
    """8 bytes, little-endian, as they appear after the C3 01 marker on the wire."""

    @property
    def dataschema(self) -> str:
        """A stable URI for this version (CloudEvents ``dataschema``)."""
        return f"urn:uk.gov.cjsx:schema:{self.name}:v{self.version}"


def resolve(name: str, avro_dir: Path = AVRO_DIR) -> dict[str, Any]:
    """The authored schema of ``name`` with every referenced named type inlined."""
    path = avro_dir / f"{name}.avsc"
    if not path.exists():
        raise SchemaStoreError(f"no schema file {path}")
    schema = load_schema(str(path), _write_hint=False)
    if not isinstance(schema, dict):
        raise SchemaStoreError(f"{path} is not a named record schema")
    return schema


def crc64_fingerprint(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, little-endian (the Avro spec's framing)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def _version(name: str, version: int, schema: dict[str, Any]) -> SchemaVersion:
    return SchemaVersion(
        name=name,
        version=version,
        schema=schema,
        parsed=cast(dict[str, Any], parse_schema(schema)),
        fingerprint=crc64_fingerprint(schema),
    )


class SchemaStore:
    """Every released version of every top-level schema."""

    def __init__(self, versions: list[SchemaVersion]) -> None:
        self._by_fingerprint = {v.fingerprint: v for v in versions}
        self._by_name: dict[str, list[SchemaVersion]] = {}
        for v in sorted(versions, key=lambda v: (v.name, v.version)):
            self._by_name.setdefault(v.name, []).append(v)

    @classmethod
    def load(cls, released_dir: Path = RELEASED_DIR) -> SchemaStore:
        versions: list[SchemaVersion] = []
        for folder in sorted(p for p in released_dir.iterdir() if p.is_dir()):
            for file in folder.glob("v*.avsc"):
                match = _VERSION_FILE.fullmatch(file.name)
                if match is None:
                    raise SchemaStoreError(f"unexpected file {file}")
                versions.append(_version(folder.name, int(match[1]), json.loads(file.read_text())))
        seen: dict[bytes, SchemaVersion] = {}
        for v in versions:
            if v.fingerprint in seen:
                other = seen[v.fingerprint]
                raise SchemaStoreError(
                    f"{v.name} v{v.version} has the fingerprint of {other.name} v{other.version}"
                )
            seen[v.fingerprint] = v
        return cls(versions)

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)

    def latest(self, name: str) -> SchemaVersion:
        try:
            return self._by_name[name][-1]
        except KeyError:
            raise SchemaStoreError(f"schema {name} has no released version") from None

    def versions(self, name: str) -> list[SchemaVersion]:
        return list(self._by_name.get(name, []))

    def names(self) -> list[str]:
        return sorted(self._by_name)


@cache
def default_store() -> SchemaStore:
    """The store of the schemas shipped with this package (read once per process)."""
    return SchemaStore.load()


def release(
    names: list[str], avro_dir: Path = AVRO_DIR, released_dir: Path = RELEASED_DIR
) -> list[tuple[str, int]]:
    """Write a new released version of each schema whose authored form changed.

    Returns the (name, version) pairs written. Unchanged schemas are left alone, so running
    it twice writes nothing the second time. A change that leaves the parsing canonical form
    (and so the fingerprint and the bytes on the wire) as it was, such as a ``doc`` edit,
    updates the latest released file in place rather than minting a version no reader could
    tell apart.
    """
    written: list[tuple[str, int]] = []
    for name in names:
        head = resolve(name, avro_dir)
        folder = released_dir / name
        existing = sorted(
            (int(m[1]), f) for f in folder.glob("v*.avsc") if (m := _VERSION_FILE.fullmatch(f.name))
        )
        if existing:
            latest_file = existing[-1][1]
            latest = json.loads(latest_file.read_text())
            if latest == head:
                continue
            if crc64_fingerprint(latest) == crc64_fingerprint(head):
                latest_file.write_text(json.dumps(head, indent=2) + "\n")
                written.append((name, existing[-1][0]))
                continue
        version = existing[-1][0] + 1 if existing else 1
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"v{version}.avsc").write_text(json.dumps(head, indent=2) + "\n")
        written.append((name, version))
    return written
