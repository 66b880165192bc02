"""Benchmark: fastavro against Apache avro for our records, in one run.

Run: ``.venv/bin/python -m bench.codec [--records N]``. Prints one JSON object: records per
second each way for each library, and fastavro's speed as a multiple of Apache avro's (the
reason the codec uses fastavro on the hot path and Apache avro only for its compatibility
checker).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from typing import Any

import avro.io
import avro.schema
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from bench.pipeline import valid_events
from schemas.models import DefendantCharged
from schemas.store import default_store


def _rate(work: Any, count: int) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()

    events = [e for e in valid_events(args.records * 3, 3) if isinstance(e, DefendantCharged)]
    data = [e.to_avro() for e in events[: args.records]]
    schema = default_store().latest(DefendantCharged.avro_name).schema
    fast = parse_schema(schema)
    slow = avro.schema.parse(json.dumps(schema))
    writer, reader = avro.io.DatumWriter(slow), avro.io.DatumReader(slow)

    def fast_encode() -> list[bytes]:
        out = []
        for datum in data:
            buffer = io.BytesIO()
            schemaless_writer(buffer, fast, datum)
            out.append(buffer.getvalue())
        return out

    def slow_encode() -> list[bytes]:
        out = []
        for datum in data:
            buffer = io.BytesIO()
            writer.write(
                {**datum, "envelope": _strings(datum["envelope"])}, avro.io.BinaryEncoder(buffer)
            )
            out.append(buffer.getvalue())
        return out

    encoded = fast_encode()
    assert encoded == slow_encode(), "both libraries must write the same bytes"
    count = len(data)
    fast_enc = _rate(fast_encode, count)
    slow_enc = _rate(slow_encode, count)
    fast_dec = _rate(lambda: [schemaless_reader(io.BytesIO(b), fast, None) for b in encoded], count)
    slow_dec = _rate(
        lambda: [reader.read(avro.io.BinaryDecoder(io.BytesIO(b))) for b in encoded], count
    )
    result = {
        "benchmark": "codec",
        "cpus": os.cpu_count(),
        "records": count,
        "record_bytes_mean": round(sum(map(len, encoded)) / count, 1),
        "fastavro_encode_per_s": round(fast_enc),
        "avro_encode_per_s": round(slow_enc),
        "fastavro_decode_per_s": round(fast_dec),
        "avro_decode_per_s": round(slow_dec),
        "encode_speedup": round(fast_enc / slow_enc, 1),
        "decode_speedup": round(fast_dec / slow_dec, 1),
    }
    print(json.dumps(result))


def _strings(envelope: dict[str, Any]) -> dict[str, Any]:
    """Apache avro writes the uuid logical type from text, fastavro from UUID objects too."""
    return {k: str(v) if k.endswith("_id") and v is not None else v for k, v in envelope.items()}


if __name__ == "__main__":
    main()
