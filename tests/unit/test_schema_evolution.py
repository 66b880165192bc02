"""The evolution gate: FULL_TRANSITIVE against every released version, and no unreleased edits.

Each test edits a copy of the authored schemas in a temporary folder, so the shipped contract
is never touched; the first test checks the shipped contract itself.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastavro import schemaless_writer

from cjsx.cli import cli
from schemas.codec import MAGIC, Codec
from schemas.evolution import check_all, incompatibilities, release_checked, top_level_names
from schemas.store import AVRO_DIR, RELEASED_DIR, SchemaStore, SchemaStoreError, release, resolve

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the authored and released schemas."""
    avro, released = tmp_path / "avro", tmp_path / "released"
    shutil.copytree(AVRO_DIR, avro)
    shutil.copytree(RELEASED_DIR, released)
    return avro, released


def edit(avro_dir: Path, name: str, change: Edit) -> None:
    path = avro_dir / f"{name}.avsc"
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema, indent=2))


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = schema["fields"]
    return result


def kinds(problems: list[Any], name: str) -> set[str]:
    return {p.kind for p in problems if p.name == name}


def test_the_shipped_schemas_pass_the_gate() -> None:
    assert check_all() == []


def test_every_top_level_type_is_released() -> None:
    assert set(top_level_names()) <= set(SchemaStore.load().names())


def test_a_new_field_without_a_default_is_caught(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    edit(
        avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append({"name": "room", "type": "string"})
    )
    problems = check_all(avro_dir=avro, released_dir=released)
    # Hearing is nested, so every record that carries one is affected.
    for name in ("uk.gov.cjsx.DefendantCharged", "uk.gov.cjsx.RemandStatusChanged"):
        assert "incompatible" in kinds(problems, name)
    messages = [p.message for p in problems if p.name == "uk.gov.cjsx.DefendantCharged"]
    assert any(m.startswith("backward") and "room" in m for m in messages), messages


def test_a_removed_field_without_a_default_is_caught(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs

    def drop_reason(schema: dict[str, Any]) -> None:
        schema["fields"] = [f for f in fields(schema) if f["name"] != "reason"]

    edit(avro, "uk.gov.cjsx.CaseDiscontinued", drop_reason)
    problems = [
        p for p in check_all(avro_dir=avro, released_dir=released) if p.kind != "unreleased"
    ]
    # Delivery carries CaseDiscontinued, so it breaks too.
    assert {p.name for p in problems} == {"uk.gov.cjsx.CaseDiscontinued", "uk.gov.cjsx.Delivery"}
    # Forward only (old readers miss the field), against every released version of each.
    assert all(re.match(r"forward: v\d+ readers", p.message) for p in problems)
    (own,) = [p.message for p in problems if p.name == "uk.gov.cjsx.CaseDiscontinued"]
    assert "reader_field_missing_default_value: reason" in own


def test_a_changed_type_is_caught_both_ways(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs

    def sequence_as_text(schema: dict[str, Any]) -> None:
        for f in fields(schema):
            if f["name"] == "sequence":
                f["type"] = "string"

    edit(avro, "uk.gov.cjsx.Offence", sequence_as_text)
    problems = check_all(avro_dir=avro, released_dir=released)
    messages = [p.message for p in problems if p.name == "uk.gov.cjsx.DefendantCharged"]
    assert any(m.startswith("backward") for m in messages)
    assert any(m.startswith("forward") for m in messages)


def test_widening_int_to_long_is_only_backward_compatible(dirs: tuple[Path, Path]) -> None:
    """Old readers cannot read a long: FULL catches what BACKWARD alone would let through."""
    avro, released = dirs

    def widen(schema: dict[str, Any]) -> None:
        for f in fields(schema):
            if f["name"] == "sequence":
                f["type"] = "long"

    edit(avro, "uk.gov.cjsx.Offence", widen)
    problems = check_all(avro_dir=avro, released_dir=released)
    incompatible = [p for p in problems if p.kind == "incompatible"]
    assert incompatible
    assert all(p.message.startswith("forward") for p in incompatible)


def test_a_new_enum_symbol_without_a_reader_default_is_caught(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    edit(avro, "uk.gov.cjsx.FileType", lambda s: s["symbols"].append("APPEAL"))
    problems = check_all(avro_dir=avro, released_dir=released)
    messages = [p.message for p in problems if p.name == "uk.gov.cjsx.DefendantCharged"]
    assert any(m.startswith("forward") and "APPEAL" in m for m in messages), messages


def test_a_new_enum_symbol_is_compatible_when_old_readers_have_a_default(
    dirs: tuple[Path, Path],
) -> None:
    """MgForm's readers fall back to OTHER, so a new form is no break."""
    avro, released = dirs
    edit(avro, "uk.gov.cjsx.MgForm", lambda s: s["symbols"].append("MG22"))
    problems = check_all(avro_dir=avro, released_dir=released)
    assert problems
    assert {p.kind for p in problems} == {"unreleased"}


def test_a_new_optional_field_with_a_default_is_compatible_but_unreleased(
    dirs: tuple[Path, Path],
) -> None:
    avro, released = dirs
    new = {"name": "room", "type": ["null", "string"], "default": None, "doc": "Courtroom."}
    edit(avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append(new))
    problems = check_all(avro_dir=avro, released_dir=released)
    assert problems
    assert {p.kind for p in problems} == {"unreleased"}
    assert {p.name for p in problems} == {
        "uk.gov.cjsx.DefendantCharged",
        "uk.gov.cjsx.RemandStatusChanged",
        "uk.gov.cjsx.Delivery",
        "uk.gov.cjsx.HearingResulted",  # a defendant's next hearing
        "uk.gov.cjsx.ResultDelivery",
    }


def test_release_writes_new_versions_and_the_gate_passes_again(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    new = {"name": "room", "type": ["null", "string"], "default": None, "doc": "Courtroom."}
    edit(avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append(new))
    written, problems = release_checked(avro_dir=avro, released_dir=released)
    assert problems == []
    assert sorted(written) == [
        ("uk.gov.cjsx.DefendantCharged", 2),
        ("uk.gov.cjsx.Delivery", 3),
        ("uk.gov.cjsx.HearingResulted", 2),
        ("uk.gov.cjsx.RemandStatusChanged", 2),
        ("uk.gov.cjsx.ResultDelivery", 3),
    ]
    assert check_all(avro_dir=avro, released_dir=released) == []
    assert release_checked(avro_dir=avro, released_dir=released) == ([], [])


def test_v1_bytes_are_read_with_the_v2_reader_after_a_release(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    old = SchemaStore.load(released).latest("uk.gov.cjsx.RemandStatusChanged")
    new = {"name": "room", "type": ["null", "string"], "default": None, "doc": "Courtroom."}
    edit(avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append(new))
    release_checked(avro_dir=avro, released_dir=released)
    datum = {
        "envelope": {
            "event_id": "0b7e1d5c-3c9e-4f43-9a57-2f1f0c9b7a11",
            "case_urn": "01ZD0305408",
            "sequence": 2,
            "force": "01",
            "system": "synthetic-rms",
            "occurred_at": 1_767_225_600_000,
            "published_at": 1_767_225_600_000,
            "correlation_id": None,
            "causation_id": None,
        },
        "asn": "1101ZD0100000448754K",
        "remand_status": "UNCONDITIONAL_BAIL",
        "bail_conditions": [],
        "effective_date": 20_000,
        "next_hearing": {"court_ou": "B01EF00", "date": 20_010},
    }
    body = io.BytesIO()
    schemaless_writer(body, old.parsed, datum)
    reader, decoded = Codec(SchemaStore.load(released)).decode_datum(
        MAGIC + old.fingerprint + body.getvalue()
    )
    assert reader.version == 2
    assert decoded["next_hearing"]["room"] is None
    assert decoded["next_hearing"]["court_ou"] == "B01EF00"


def test_release_refuses_an_incompatible_schema_and_writes_nothing(
    dirs: tuple[Path, Path],
) -> None:
    avro, released = dirs
    edit(
        avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append({"name": "room", "type": "string"})
    )
    before = sorted(released.rglob("*.avsc"))
    written, problems = release_checked(avro_dir=avro, released_dir=released)
    assert written == []
    assert problems
    assert sorted(released.rglob("*.avsc")) == before


def test_a_type_never_released_is_reported(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    shutil.rmtree(released / "uk.gov.cjsx.Receipt")
    problems = check_all(avro_dir=avro, released_dir=released)
    assert [(p.name, p.kind) for p in problems] == [("uk.gov.cjsx.Receipt", "unreleased")]


def test_a_released_type_without_an_authored_schema_is_reported(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    folder = released / "uk.gov.cjsx.Acknowledgement"
    shutil.copytree(released / "uk.gov.cjsx.Disclosure", folder)
    schema = json.loads((folder / "v1.avsc").read_text())
    schema["name"] = "uk.gov.cjsx.Acknowledgement"
    (folder / "v1.avsc").write_text(json.dumps(schema))
    problems = check_all(avro_dir=avro, released_dir=released)
    assert [(p.name, p.kind) for p in problems] == [("uk.gov.cjsx.Acknowledgement", "missing")]


def test_two_released_versions_with_one_fingerprint_are_refused(dirs: tuple[Path, Path]) -> None:
    _, released = dirs
    shutil.copytree(released / "uk.gov.cjsx.Receipt", released / "uk.gov.cjsx.Acknowledgement")
    with pytest.raises(SchemaStoreError, match="fingerprint"):
        SchemaStore.load(released)


def test_a_doc_only_edit_updates_the_released_file_in_place(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    path = avro / "uk.gov.cjsx.Disclosure.avsc"
    authored = json.loads(path.read_text())
    authored["doc"] = "Reworded, same wire format."
    path.write_text(json.dumps(authored))
    assert release(["uk.gov.cjsx.Disclosure"], avro, released) == [("uk.gov.cjsx.Disclosure", 1)]
    assert sorted(p.name for p in (released / "uk.gov.cjsx.Disclosure").iterdir()) == ["v1.avsc"]
    assert SchemaStore.load(released).latest("uk.gov.cjsx.Disclosure").schema["doc"] == (
        "Reworded, same wire format."
    )


def test_the_checker_reports_where_and_why() -> None:
    head = resolve("uk.gov.cjsx.Receipt")
    assert incompatibilities(head, head) == []
    narrowed = json.loads(json.dumps(head))
    narrowed["fields"][0]["type"] = "int"
    why = incompatibilities(reader=narrowed, writer=head)
    assert why
    assert "int" in why[0]


def test_schema_check_and_release_commands(dirs: tuple[Path, Path]) -> None:
    avro, released = dirs
    args = ["--avro-dir", str(avro), "--released-dir", str(released)]
    runner = CliRunner()
    ok = runner.invoke(cli, ["schema", "check", *args])
    assert (ok.exit_code, ok.output) == (
        0,
        "every schema is FULL_TRANSITIVE compatible with its released versions\n",
    )
    new = {"name": "room", "type": ["null", "string"], "default": None}
    edit(avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append(new))
    assert runner.invoke(cli, ["schema", "check", *args]).exit_code == 1
    released_now = runner.invoke(cli, ["schema", "release", *args])
    assert released_now.exit_code == 0
    assert "released uk.gov.cjsx.DefendantCharged v2" in released_now.output
    assert runner.invoke(cli, ["schema", "check", *args]).exit_code == 0
    edit(avro, "uk.gov.cjsx.Hearing", lambda s: fields(s).append({"name": "x", "type": "int"}))
    refused = runner.invoke(cli, ["schema", "release", *args])
    assert refused.exit_code == 1
    assert "nothing released" in refused.output
