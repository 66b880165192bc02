"""A Java partner can read our bytes: Apache avro's ``BinaryMessageDecoder`` decodes them.

``tests/interop/Decode.java`` runs on Java 17's single-file source launcher with the released
schema files only, finds each record's writer schema by the fingerprint in its header, and
prints Avro's JSON encoding. That JSON must equal what fastavro's JSON encoder makes of the
same record, and must read back into the model we started from. Apache avro (Java) comes from
Maven Central into ``.cache/interop/lib`` once (``tests/interop/pom.xml``).
"""

from __future__ import annotations

import io
import json
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastavro import json_reader, json_writer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from common import processes
from schemas.codec import Codec
from schemas.models import (
    TOP_LEVEL_TYPES,
    AvroRecord,
    DefendantCharged,
    Delivery,
    EnrichedOffence,
    Enrichment,
    Header,
    ModeOfTrial,
    OrderingFlag,
    Reason,
    Receipt,
    ReceiptStatus,
    RejectedEvent,
    Venue,
)
from schemas.store import AVRO_DIR, RELEASED_DIR, SchemaStore, release
from tests.support.contract import named, one_of_each_event

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "tests" / "interop"
LIB = ROOT / ".cache" / "interop" / "lib"
MARKER = ".complete"
AT = datetime(2026, 3, 2, 9, 30, 0, 123_000, tzinfo=UTC)


@pytest.fixture(scope="session")
def java_lib() -> Path:
    """Apache avro's jars, resolved with Maven once and reused while the marker is there."""
    if (LIB / MARKER).exists():
        return LIB
    mvn, java = shutil.which("mvn"), shutil.which("java")
    if mvn is None or java is None:
        pytest.fail("Java 17 and Maven are required (see README prerequisites)")
    if LIB.exists():
        shutil.rmtree(LIB)
    LIB.mkdir(parents=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(INTEROP / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={LIB}",
        "-DincludeScope=runtime",
    ]
    result = processes.run(command, timeout=600)  # its whole process group goes on a timeout
    assert result.returncode == 0, (result.stdout[-4000:] + result.stderr[-4000:]).decode(
        errors="replace"
    )
    assert any(LIB.glob("avro-1.*.jar")), "Maven resolved no avro jar"
    (LIB / MARKER).write_text("org.apache.avro:avro\n")
    return LIB


def java_decode(
    lib: Path, tmp: Path, payloads: Sequence[bytes], released: Path = RELEASED_DIR
) -> list[tuple[str, str]]:
    """(full name, Avro JSON) per payload, as Java decoded it."""
    files = []
    for i, payload in enumerate(payloads):
        file = tmp / f"message-{i}.bin"
        file.write_bytes(payload)
        files.append(str(file))
    command = ["java", "-cp", f"{lib}/*", str(INTEROP / "Decode.java"), str(released), *files]
    result = processes.run(command, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-4000:]
    # Split on "\n" only: Avro JSON escapes it, but not other characters splitlines() splits on.
    lines = result.stdout.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(payloads)
    return [tuple(line.split("\t", 1)) for line in lines]  # type: ignore[misc]


def fastavro_json(record: AvroRecord, store: SchemaStore) -> object:
    """Avro's JSON encoding of ``record``, by fastavro, for comparison with Java's."""
    buffer = io.StringIO()
    json_writer(buffer, store.latest(record.avro_name).parsed, [record.to_avro()])
    return json.loads(buffer.getvalue())


def read_back(name: str, avro_json: str, store: SchemaStore) -> AvroRecord:
    """Java's JSON read by fastavro into the model: the full circle."""
    (datum,) = list(json_reader(io.StringIO(avro_json), store.latest(name).parsed))
    model = {m.avro_name: m for m in TOP_LEVEL_TYPES}[name]
    return model.model_validate(datum)


def exchange_records() -> list[AvroRecord]:
    """A receipt, a rejection (raw bytes that are not UTF-8) and a delivery (a union)."""
    charged = one_of_each_event()[1]
    assert isinstance(charged, DefendantCharged)
    reason = Reason(code="ASN_CHECK_CHARACTER", field="defendant.asn", message="m", hint="h")
    return [
        Receipt(
            receipt_id=uuid.UUID(int=1),
            event_id=charged.envelope.event_id,
            case_urn=charged.envelope.case_urn,
            force="01",
            status=ReceiptStatus.REJECTED,
            reasons=[reason],
            issued_at=AT,
        ),
        RejectedEvent(
            rejection_id=uuid.UUID(int=2),
            source_topic="cjs.ingest.01.v1",
            source_partition=2,
            source_offset=2**40,
            key=b"\xff\x00key",
            value=bytes(range(256)),
            headers=[Header(key="ce_id", value=b"\xc3\x01"), Header(key="empty")],
            force="01",
            reasons=[reason],
            rejected_at=AT,
        ),
        Delivery(
            delivery_id=uuid.UUID(int=3),
            recipient="court-magistrates",
            policy_version=1,
            ordering=OrderingFlag.IN_ORDER,
            enrichment=Enrichment(
                force_name="Metropolitan Police Service",
                court_ou="B01EF00",
                venue=Venue.MAGISTRATES,
                offences=[
                    EnrichedOffence(
                        code="TH68010",
                        title="Theft from a shop",
                        category="CE",
                        mode_of_trial=ModeOfTrial.EITHER_WAY,
                        recordable=True,
                    )
                ],
            ),
            event=charged,
            delivered_at=AT,
        ),
    ]


def check(records: Sequence[AvroRecord], lib: Path, tmp: Path) -> None:
    store = SchemaStore.load()
    codec = Codec(store)
    decoded = java_decode(lib, tmp, [codec.encode(r) for r in records])
    for record, (name, avro_json) in zip(records, decoded, strict=True):
        assert name == record.avro_name
        assert json.loads(avro_json) == fastavro_json(record, store)
        assert read_back(name, avro_json, store) == record


def test_java_decodes_every_event_type(java_lib: Path, tmp_path: Path) -> None:
    check(one_of_each_event(), java_lib, tmp_path)


def test_java_decodes_receipts_rejections_and_deliveries(java_lib: Path, tmp_path: Path) -> None:
    check(exchange_records(), java_lib, tmp_path)


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],  # no shrinking: each attempt starts a JVM
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    records=st.lists(
        st.sampled_from(TOP_LEVEL_TYPES).flatmap(lambda m: named(m.avro_name)),
        min_size=20,
        max_size=20,
    )
)
def test_java_decodes_generated_records(
    records: list[AvroRecord], java_lib: Path, tmp_path: Path
) -> None:
    """Arbitrary text (any Unicode), extreme numbers and dates, every union branch."""
    check(records, java_lib, tmp_path)


def test_java_resolves_an_old_version_to_the_newest(java_lib: Path, tmp_path: Path) -> None:
    """Bytes written with v1 are read by a Java reader whose newest schema is v2."""
    avro, released = tmp_path / "avro", tmp_path / "released"
    shutil.copytree(AVRO_DIR, avro)
    shutil.copytree(RELEASED_DIR, released)
    hearing = avro / "uk.gov.cjsx.Hearing.avsc"
    schema = json.loads(hearing.read_text())
    schema["fields"].append({"name": "room", "type": ["null", "string"], "default": None})
    hearing.write_text(json.dumps(schema))
    assert ("uk.gov.cjsx.DefendantCharged", 2) in release(
        ["uk.gov.cjsx.DefendantCharged"], avro, released
    )
    charged = one_of_each_event()[1]
    v1_bytes = Codec().encode(charged)
    ((name, avro_json),) = java_decode(java_lib, tmp_path, [v1_bytes], released)
    assert name == "uk.gov.cjsx.DefendantCharged"
    decoded = json.loads(avro_json)
    assert decoded["first_hearing"] == {
        "court_ou": charged.first_hearing.court_ou,
        "date": (charged.first_hearing.date - date(1970, 1, 1)).days,
        "room": None,
    }
