"""kafka-python checks record batches' CRC-32C with the ``crc32c`` C extension, not its pure
Python fallback (24 times the CPU per record read: ``bench.kafka_python_crc``). It picks the
extension up only if it imports, silently; this says when it does not."""

from __future__ import annotations

import crc32c
import kafka.record.util as record_util
from kafka.record._crc32c import crc as crc32c_python


def test_kafka_python_uses_the_c_extension() -> None:
    assert record_util.calc_crc32c.__defaults__ == (crc32c.crc32c,)


def test_the_extension_and_the_fallback_agree() -> None:
    data = bytes(range(256)) * 9
    assert record_util.calc_crc32c(memoryview(data)) == crc32c_python(data)
