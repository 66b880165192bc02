"""The worker notices records the stream framework never handed over, and reads them again."""

from __future__ import annotations

from streams.continuity import Continuity

P = ("cjs.acks.court-magistrates.v1", 0)


def test_records_in_order_or_read_again_are_no_hole() -> None:
    seen = Continuity()
    assert [seen.observe(P, 3, o) for o in (2468, 2469, 2470, 2469, 2470, 2471)] == [None] * 6


def test_a_missing_record_is_sought_back_to_once() -> None:
    seen = Continuity()
    assert seen.observe(P, 3, 2469) is None
    assert seen.observe(P, 3, 2471) == 2470  # 2470 never arrived: read again from it
    assert seen.observe(P, 3, 2472) is None
    # after the seek the missing record comes, then those after it again
    assert [seen.observe(P, 3, o) for o in (2470, 2471, 2472, 2473)] == [None] * 4


def test_a_hole_still_there_after_a_seek_back_is_a_gap_in_the_log() -> None:
    seen = Continuity()
    seen.observe(P, 3, 9)
    assert seen.observe(P, 3, 11) == 10
    seen.observe(P, 3, 9)  # read again from before it: offset 10 does not exist
    assert seen.observe(P, 3, 11) is None  # e.g. a transaction marker: accepted


def test_each_partition_and_generation_has_its_own_expectation() -> None:
    seen = Continuity()
    other = ("cjs.acks.court-magistrates.v1", 1)
    seen.observe(P, 3, 100)
    assert seen.observe(other, 3, 500) is None
    # a rebalance (new generation) starts from the committed offset, wherever that is
    assert seen.observe(P, 4, 180) is None
    assert seen.observe(P, 4, 182) == 181
