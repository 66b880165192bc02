"""Per-case ordering (streams/order.py): hold a gap, release in order, expire, late arrivals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import CaseEvent, OrderingFlag
from streams.order import Offer, Release, Sequencer, _CaseState, write_rank
from streams.record import SourceRecord
from streams.state import DictStore
from tests.support.builders import HOLD, NOW, renumbered, synthetic_force, valid_charge

MS = timedelta(milliseconds=1)
IN_ORDER, AFTER_GAP, LATE = (
    OrderingFlag.IN_ORDER,
    OrderingFlag.RELEASED_AFTER_GAP,
    OrderingFlag.LATE,
)


def _events(n: int, seed: int = 1) -> dict[int, CaseEvent]:
    base = valid_charge(synthetic_force(seed=seed))
    return {seq: renumbered(base, seq) for seq in range(1, n + 1)}


CASE = _events(12)
OTHER_CASE = _events(3, seed=2)
assert OTHER_CASE[1].envelope.case_urn != CASE[1].envelope.case_urn


def rec(event: CaseEvent, offset: int | None = None, partition: int = 0) -> SourceRecord:
    """A lightweight record: the sequencer stores and returns the bytes without decoding."""
    seq = event.envelope.sequence
    return SourceRecord(
        topic="cjs.ingest.05.v1",
        partition=partition,
        offset=seq if offset is None else offset,
        key=event.envelope.case_urn.encode(),
        value=f"{event.envelope.case_urn}#{seq}@{offset}".encode(),
    )


class Harness:
    """A sequencer over a dict, offering events of one case by sequence number."""

    def __init__(self, events: dict[int, CaseEvent] = CASE) -> None:
        self.store = DictStore()
        self.sequencer = Sequencer(self.store, HOLD)
        self.events = events
        self.ticks = 0

    def offer(
        self,
        seq: int,
        at: datetime = NOW,
        *,
        offset: int | None = None,
        partition: int = 0,
    ) -> Offer:
        """A replay is the same record again: pass the same ``offset``."""
        event = self.events[seq]
        return self.sequencer.offer(event, rec(event, offset, partition), at)

    def expire(self, at: datetime, partition: int = 0, tick: int | None = None) -> list[Release]:
        """Each call is a new tick unless ``tick`` names one again (a replayed tick)."""
        self.ticks += 1
        return self.sequencer.expire(partition, at, f"ticks/{partition}/{tick or self.ticks}")

    def index(self, partition: int = 0) -> dict[str, int]:
        raw = self.store.get(f"holds:{partition}")
        return {} if raw is None else dict(json.loads(raw))


def seqs(releases: Sequence[Release]) -> list[tuple[int, OrderingFlag]]:
    """(sequence, flag) of each release; held events are recognised by their record bytes."""
    out = []
    for r in releases:
        text = r.record.value.decode()
        out.append((int(text.split("#")[1].split("@")[0]), r.flag))
    return out


# -- in order and gaps -------------------------------------------------------------------------


def test_events_in_order_are_released_at_once() -> None:
    h = Harness()
    for seq in (1, 2, 3):
        offer = h.offer(seq)
        assert (offer.held, offer.reused_sequence) == (False, False)
        assert seqs(offer.releases) == [(seq, IN_ORDER)]
        assert offer.releases[0].event is CASE[seq]
        assert offer.releases[0].record == rec(CASE[seq])
    assert h.sequencer.held_count(0) == 0


def test_a_gap_is_held_then_released_in_sequence_when_filled() -> None:
    h = Harness()
    h.offer(1)
    for seq in (4, 3):
        offer = h.offer(seq)
        assert offer.held
        assert offer.releases == []
    assert h.sequencer.held_count(0) == 1
    filled = h.offer(2, NOW + timedelta(seconds=1))
    assert not filled.held
    assert seqs(filled.releases) == [(2, IN_ORDER), (3, IN_ORDER), (4, IN_ORDER)]
    # Held events come back as their records (the caller decodes them again).
    assert [r.event is None for r in filled.releases] == [False, True, True]
    assert filled.releases[1].record == rec(CASE[3])
    assert seqs(h.offer(5).releases) == [(5, IN_ORDER)]


def test_a_case_that_starts_ahead_of_one_is_held() -> None:
    h = Harness()
    assert h.offer(2).held
    assert seqs(h.offer(1).releases) == [(1, IN_ORDER), (2, IN_ORDER)]


def test_cases_are_ordered_independently() -> None:
    h = Harness()
    assert h.offer(2).held
    other = h.sequencer.offer(OTHER_CASE[1], rec(OTHER_CASE[1]), NOW)
    assert seqs(other.releases) == [(1, IN_ORDER)]


# -- expiry and late arrivals ------------------------------------------------------------------


def test_expiry_releases_after_the_hold_time_and_remembers_the_skipped_numbers() -> None:
    h = Harness()
    h.offer(1)
    h.offer(4)
    h.offer(5)
    assert h.expire(NOW + HOLD - MS) == []
    released = h.expire(NOW + HOLD)
    assert seqs(released) == [(4, AFTER_GAP), (5, IN_ORDER)]
    assert h.sequencer.held_count(0) == 0
    assert h.expire(NOW + HOLD * 5) == []
    # The skipped numbers turn up late: each is released once, flagged LATE.
    assert seqs(h.offer(3, NOW + HOLD * 2).releases) == [(3, LATE)]
    assert seqs(h.offer(2, NOW + HOLD * 2).releases) == [(2, LATE)]
    # ...and a third arrival of 2 (another record) is a reused sequence, not LATE again.
    again = h.offer(2, NOW + HOLD * 3, offset=99)
    assert again.reused_sequence
    assert again.releases == []
    # The case carries on after the released events.
    assert seqs(h.offer(6).releases) == [(6, IN_ORDER)]


def test_expiry_stops_at_the_next_gap_whose_hold_has_not_passed() -> None:
    h = Harness()
    h.offer(1)
    h.offer(3, NOW)
    h.offer(6, NOW + timedelta(seconds=5))
    assert seqs(h.expire(NOW + HOLD)) == [(3, AFTER_GAP)]
    assert h.sequencer.held_count(0) == 1
    assert seqs(h.expire(NOW + timedelta(seconds=5) + HOLD)) == [(6, AFTER_GAP)]
    assert [seqs(h.offer(s).releases) for s in (2, 4, 5)] == [[(s, LATE)] for s in (2, 4, 5)]


def test_an_event_whose_hold_passed_is_released_with_those_held_before_it() -> None:
    """Event 5 waited its hold time for 2-4; event 3 arrived later, so its own hold has not
    passed, but 5 cannot wait longer than its hold and cannot overtake 3: both go now."""
    h = Harness()
    h.offer(1)
    h.offer(5, NOW)
    h.offer(3, NOW + timedelta(seconds=8))
    assert seqs(h.expire(NOW + HOLD)) == [(3, AFTER_GAP), (5, AFTER_GAP)]
    assert h.sequencer.held_count(0) == 0
    assert h.index() == {}
    assert [seqs(h.offer(s).releases) for s in (2, 4)] == [[(2, LATE)], [(4, LATE)]]


def test_expiry_is_per_partition() -> None:
    h = Harness()
    h.offer(2, partition=1)
    assert h.expire(NOW + HOLD, partition=0) == []
    assert h.sequencer.held_count(1) == 1
    assert seqs(h.expire(NOW + HOLD, partition=1)) == [(2, AFTER_GAP)]


def test_expiry_covers_every_case_of_the_partition() -> None:
    h = Harness()
    h.offer(2)
    h.sequencer.offer(OTHER_CASE[3], rec(OTHER_CASE[3]), NOW)
    assert h.sequencer.held_count(0) == 2
    released = h.expire(NOW + HOLD)
    assert sorted(r.record.value.decode().split("#")[0] for r in released) == sorted(
        [CASE[2].envelope.case_urn, OTHER_CASE[3].envelope.case_urn]
    )
    assert all(r.flag is AFTER_GAP for r in released)
    assert h.index() == {}


# -- reuse and replay -----------------------------------------------------------------------


def test_a_released_sequence_reused_by_another_record_is_refused() -> None:
    h = Harness()
    h.offer(1, offset=10)
    reuse = h.offer(1, offset=11)
    assert reuse.reused_sequence
    assert (reuse.held, reuse.releases) == (False, [])


def test_a_held_sequence_reused_by_another_record_is_refused_and_the_first_kept() -> None:
    h = Harness()
    assert h.offer(3, offset=10).held
    reuse = h.offer(3, offset=11)
    assert reuse.reused_sequence
    assert not reuse.held
    filled = h.offer(1).releases + h.offer(2).releases
    assert [(r.record.offset, r.flag) for r in filled] == [
        (1, IN_ORDER),
        (2, IN_ORDER),
        (10, IN_ORDER),
    ]


def test_replay_of_a_released_event_releases_it_again() -> None:
    h = Harness()
    first = h.offer(1, offset=10)
    h.offer(2)
    again = h.offer(1, NOW + timedelta(minutes=1), offset=10)
    assert not again.reused_sequence
    assert [(r.record, r.flag) for r in again.releases] == [(first.releases[0].record, IN_ORDER)]
    # Replaying does not move the case backwards.
    assert seqs(h.offer(3).releases) == [(3, IN_ORDER)]


def test_replay_of_a_held_event_is_not_held_twice() -> None:
    h = Harness()
    assert h.offer(3, offset=10).held
    deadline = h.index()[CASE[3].envelope.case_urn]
    replay = h.offer(3, NOW + timedelta(seconds=5), offset=10)
    assert replay.held
    assert not replay.reused_sequence
    assert replay.releases == []
    assert h.index()[CASE[3].envelope.case_urn] == deadline  # its hold was not extended
    assert seqs(h.expire(NOW + HOLD)) == [(3, AFTER_GAP)]
    assert h.expire(NOW + HOLD * 3) == []


# -- the per-partition holds index ---------------------------------------------------------


def test_the_holds_index_is_cleaned_up_when_a_gap_fills() -> None:
    h = Harness()
    h.offer(3)
    urn = CASE[3].envelope.case_urn
    assert h.index() == {urn: int((NOW + HOLD).timestamp() * 1000)}
    h.offer(1)
    assert h.index() == {urn: int((NOW + HOLD).timestamp() * 1000)}  # 3 still waits for 2
    h.offer(2)
    assert h.index() == {}
    assert h.sequencer.held_count(0) == 0


def test_the_holds_index_tracks_the_earliest_deadline_and_is_cleaned_up_on_expiry() -> None:
    h = Harness()
    urn = CASE[3].envelope.case_urn
    h.offer(5, NOW + timedelta(seconds=3))
    h.offer(3, NOW)
    assert h.index() == {urn: int((NOW + HOLD).timestamp() * 1000)}
    h.expire(NOW + HOLD)
    assert h.index() == {urn: int((NOW + timedelta(seconds=3) + HOLD).timestamp() * 1000)}
    h.expire(NOW + timedelta(seconds=3) + HOLD)
    assert h.index() == {}


def test_an_index_written_before_its_case_would_hide_a_held_event_so_cases_go_first() -> None:
    """Why ``write_rank`` writes a partition's hold index after the cases: a worker killed
    part-way through a tick's writes keeps a prefix of them. Kept without the case's write,
    the index no longer lists the case while the case still holds its event, and no tick
    ever releases it. In rank order the case's write comes first, so that prefix cannot be."""
    h = Harness()
    urn = CASE[3].envelope.case_urn
    h.offer(3)
    before = dict(h.store.data)
    assert seqs(h.expire(NOW + HOLD)) == [(3, AFTER_GAP)]
    wrote = {k: v for k, v in h.store.data.items() if before.get(k) != v}
    assert sorted(wrote, key=write_rank) == [f"case:{urn}", "holds:0", "ticks:0"]
    h.store.data = {**before, "holds:0": wrote["holds:0"]}  # the index kept, the case not
    assert h.expire(NOW + HOLD * 3) == []
    assert h.sequencer.held_count(0) == 0
    assert "3" in json.loads(h.store.data[f"case:{urn}"])["h"]  # held, and found by no tick


def test_an_in_order_case_never_touches_the_holds_index() -> None:
    h = Harness()
    for seq in (1, 2, 3):
        h.offer(seq)
    assert "holds:0" not in h.store.data


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(1, 9))))
def test_property_any_arrival_order_is_released_in_ascending_order(order: list[int]) -> None:
    h = Harness()
    released: list[tuple[int, OrderingFlag]] = []
    for i, seq in enumerate(order):
        offer = h.offer(seq, NOW + i * MS)
        assert not offer.reused_sequence
        released += seqs(offer.releases)
    released += seqs(h.expire(NOW + len(order) * MS + HOLD))
    assert [s for s, _ in released] == list(range(1, 9))
    assert {flag for _, flag in released} == {IN_ORDER}
    assert h.sequencer.held_count(0) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(list(range(1, 9))),
    st.lists(st.integers(min_value=0, max_value=25), min_size=8, max_size=8),
    st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_property_with_expiry_in_between_nothing_is_lost_or_duplicated(
    order: list[int], gaps_s: list[int], ticks: list[bool]
) -> None:
    """Arrivals spread over time with ticks in between: every event is released exactly once,
    and every release that is not flagged LATE follows the previous one in sequence."""
    h = Harness()
    released: list[tuple[int, OrderingFlag]] = []
    now = NOW
    for seq, gap, tick in zip(order, gaps_s, ticks, strict=True):
        now += timedelta(seconds=gap)
        if tick:
            released += seqs(h.expire(now))
        offer = h.offer(seq, now)
        assert not offer.reused_sequence
        released += seqs(offer.releases)
    released += seqs(h.expire(now + HOLD))
    assert sorted(s for s, _ in released) == list(range(1, 9))
    not_late = [s for s, flag in released if flag is not LATE]
    assert not_late == sorted(not_late)
    assert h.sequencer.held_count(0) == 0
    assert h.index() == {}


@pytest.mark.parametrize("n", [1, 3])
def test_replaying_a_whole_case_repeats_exactly_what_each_record_did(n: int) -> None:
    h = Harness()
    first = [(seqs(o.releases), o.held) for o in (h.offer(seq) for seq in range(n, 0, -1))]
    replayed = [(seqs(o.releases), o.held) for o in (h.offer(seq) for seq in range(n, 0, -1))]
    assert replayed == first
    # The last record (sequence 1) released the whole case, in order, both times.
    assert first[-1][0] == [(seq, IN_ORDER) for seq in range(1, n + 1)]


def test_a_replayed_tick_repeats_its_releases_and_a_new_tick_finds_nothing() -> None:
    h = Harness()
    h.offer(1)
    h.offer(3)
    h.offer(4)
    released = h.expire(NOW + HOLD, tick=7)
    assert seqs(released) == [(3, AFTER_GAP), (4, IN_ORDER)]
    assert seqs(h.expire(NOW + HOLD * 2, tick=7)) == seqs(released)
    assert all(r.replay for r in h.expire(NOW + HOLD * 2, tick=7))
    assert h.expire(NOW + HOLD * 2, tick=8) == []


def test_a_replay_of_the_record_that_filled_a_gap_releases_the_held_events_again() -> None:
    h = Harness()
    h.offer(2, offset=20)
    h.offer(3, offset=30)
    filled = h.offer(1, offset=10)
    assert seqs(filled.releases) == [(1, IN_ORDER), (2, IN_ORDER), (3, IN_ORDER)]
    h.offer(4, offset=40)  # state moves on; the replay must not depend on it
    again = h.offer(1, offset=10)
    assert seqs(again.releases) == seqs(filled.releases)
    assert all(r.replay for r in again.releases)
    assert h.offer(2, offset=20).releases == []  # held the first time: nothing to repeat


def test_a_huge_gap_is_skipped_without_listing_every_missing_number() -> None:
    top = 2**63 - 1  # the largest Avro long
    events = {1: CASE[1], 2: CASE[2], top - 1: renumbered(CASE[1], top - 1)}
    events[top] = renumbered(CASE[1], top)
    h = Harness(events)
    h.offer(1)
    assert h.offer(top).held
    assert seqs(h.expire(NOW + HOLD)) == [(top, AFTER_GAP)]
    state = json.loads(h.store.data[f"case:{CASE[1].envelope.case_urn}"])
    assert state["s"] == list(range(top - 1000, top))
    assert seqs(h.offer(top - 1).releases) == [(top - 1, LATE)]
    # Numbers beyond the remembered window are no longer expected: a reuse, not LATE.
    assert h.offer(2).reused_sequence


def test_the_case_key_keeps_what_other_stages_store_beside_the_ordering_state() -> None:
    """The route memory shares the case's key (one state write per case): ordering must
    carry it through untouched, and it must not disturb ordering."""
    from streams.cases import CaseDirectory, CaseMemory, CaseRoute
    from streams.state import DictStore

    store = DictStore()
    directory = CaseDirectory(store)
    route = CaseRoute("B05AM00", "mersey-cheshire", "MAGISTRATES")
    directory.save("05AM1234524", CaseMemory(route, {1: None}))
    state = _CaseState.decode(store.get("case:05AM1234524"))
    assert (state.next, state.held) == (1, {})
    state.next = 5
    store.put("case:05AM1234524", state.encode())
    assert directory.get("05AM1234524").route == route
    assert _CaseState.decode(store.get("case:05AM1234524")).next == 5
