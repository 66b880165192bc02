"""The worker notices records the stream framework never handed over."""

from __future__ import annotations

from types import SimpleNamespace

from streams.continuity import Continuity
from streams.record import SourceRecord

P = ("cjs.acks.court-magistrates.v1", 0)


def test_records_in_order_or_read_again_are_no_hole() -> None:
    seen = Continuity()
    assert [seen.observe(P, 3, o) for o in (2468, 2469, 2470, 2469, 2470, 2471)] == [None] * 6


def test_the_offsets_never_received_are_the_hole() -> None:
    seen = Continuity()
    assert seen.observe(P, 3, 2469) is None
    assert seen.observe(P, 3, 2471) == range(2470, 2471)
    assert seen.observe(P, 3, 2472) is None
    assert seen.observe(P, 3, 2480) == range(2473, 2480)


def test_each_partition_and_generation_has_its_own_expectation() -> None:
    seen = Continuity()
    other = ("cjs.acks.court-magistrates.v1", 1)
    seen.observe(P, 3, 100)
    assert seen.observe(other, 3, 500) is None
    # a rebalance (new generation) starts from the committed offset, wherever that is
    assert seen.observe(P, 4, 180) is None
    assert seen.observe(P, 4, 182) == range(181, 182)


def test_a_consumed_record_reads_the_same_from_faust_or_kafka_python() -> None:
    common = {"topic": "t", "partition": 2, "offset": 7, "key": b"k"}
    faust = SimpleNamespace(**common, value=None, headers={"ce_id": b"1"})
    kafka = SimpleNamespace(**common, value=None, headers=[("ce_id", b"1")])
    assert SourceRecord.of(faust) == SourceRecord.of(kafka)
    assert SourceRecord.of(faust) == SourceRecord("t", 2, 7, b"k", b"", (("ce_id", b"1"),))


def test_a_generation_missing_its_first_records_has_a_hole_from_where_it_began() -> None:
    seen = Continuity()
    # seeked to the committed offset 500, the first record handed over is 503
    assert seen.observe(P, 3, 503, start=500) == range(500, 503)
    assert seen.observe(P, 3, 504, start=500) is None
    # a rebalance: the new generation begins at the commit again
    assert seen.observe(P, 4, 510, start=510) is None
    assert seen.observe(P, 5, 520, start=None) is None  # nothing committed: nothing known
