"""The worker notices records the stream framework never handed over."""

from __future__ import annotations

from streams.continuity import Continuity

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
