"""A commit that stays behind waiting records for too long is a stall."""

from __future__ import annotations

from streams.commit_watch import CommitWatch, Stall, busy_partitions
from streams.continuity import Continuity
from streams.rescue import PendingReads

P = ("cjs.ingest.01.v1", 2)
Q = ("cjs.ingest.01.v1", 3)


def test_a_commit_behind_the_handled_records_for_the_limit_is_a_stall() -> None:
    watch = CommitWatch(stall_seconds=60)
    assert watch.observe(0, {P: 40}, {P: 95}) == ([], {})
    assert watch.observe(59.9, {P: 40}, {P: 120}) == ([], {})
    assert watch.observe(60, {P: 40}, {P: 130}) == ([Stall(P, 40, 130, 60)], {})


def test_a_moving_commit_is_never_a_stall() -> None:
    watch = CommitWatch(stall_seconds=10)
    for second, committed in enumerate(range(0, 200, 5)):
        assert watch.observe(second * 3, {P: committed}, {P: committed + 50}) == ([], {})


def test_the_clock_starts_when_records_are_first_seen_waiting_not_at_the_last_commit() -> None:
    watch = CommitWatch(stall_seconds=10)
    watch.observe(0, {P: 70}, {P: 70})
    watch.answered(P, 4, waiting=False)  # idle for a long while
    assert watch.observe(100, {P: 70}, {P: 75}) == ([], {})  # a record has just come
    assert watch.observe(102, {P: 75}, {P: 75}) == ([], {})  # and is committed


def test_a_commit_standing_still_with_nothing_handled_past_it_is_asked_about() -> None:
    watch = CommitWatch(stall_seconds=30)
    assert watch.observe(0, {P: 70, Q: None}, {P: 70}) == ([], {})
    assert watch.observe(9, {P: 70, Q: None}, {P: 70}) == ([], {})
    assert watch.observe(10, {P: 70, Q: None}, {P: 70}) == ([], {P: 70, Q: 0})
    watch.answered(P, 10, waiting=True)  # records wait that no agent received
    watch.answered(Q, 10, waiting=False)  # idle, or a transaction marker at the end
    assert watch.observe(20, {P: 70, Q: None}, {P: 70}) == ([], {Q: 0})
    watch.answered(Q, 20, waiting=False)
    assert watch.observe(29, {P: 70, Q: None}, {P: 70}) == ([], {})  # Q asked again at 30
    assert watch.observe(39, {P: 70, Q: None}, {P: 70}) == ([], {Q: 0})
    watch.answered(Q, 39, waiting=False)
    assert watch.observe(40, {P: 70, Q: None}, {P: 70}) == ([Stall(P, 70, None, 30)], {})


def test_nothing_committed_yet_counts_as_behind_what_was_handled() -> None:
    watch = CommitWatch(stall_seconds=5)
    watch.observe(0, {P: None}, {P: 1})
    assert watch.observe(5, {P: None}, {P: 9}) == ([Stall(P, None, 9, 5)], {})


def test_a_revoked_partition_and_a_reset_start_the_clock_again() -> None:
    watch = CommitWatch(stall_seconds=10)
    watch.observe(0, {P: 4, Q: 4}, {P: 9, Q: 9})
    watch.observe(5, {Q: 4}, {P: 9, Q: 9})  # P revoked
    assert watch.observe(11, {P: 4, Q: 4}, {P: 9, Q: 9}) == ([Stall(Q, 4, 9, 11)], {})
    watch.reset()
    assert watch.observe(20, {P: 4, Q: 4}, {P: 9, Q: 9}) == ([], {})
    assert watch.observe(30, {P: 4, Q: 4}, {P: 9, Q: 9}) == (
        [Stall(P, 4, 9, 10), Stall(Q, 4, 9, 10)],
        {},
    )


def test_the_guard_tells_what_was_handled_and_forgets_revoked_partitions() -> None:
    seen = Continuity()
    seen.observe(P, 1, 10)
    seen.observe(P, 1, 11)
    seen.observe(Q, 1, 3)
    assert seen.handled_next() == {P: 12, Q: 4}
    seen.forget({P})
    assert seen.handled_next() == {Q: 4}
    assert seen.observe(P, 1, 40) is None  # reassigned: starts from wherever the commit is


def test_pending_reads_wait_for_their_agent_and_are_forgotten_when_revoked() -> None:
    pending = PendingReads()
    pending.add(P, range(70, 72))
    pending.add(("cjs.acks.cps.v1", 0), range(3, 4))
    taken = pending.take({"cjs.ingest.01.v1"})
    assert taken == {P: range(70, 72)}
    assert pending.take({"cjs.ingest.01.v1"}) == {}
    pending.put_back(taken)  # no record of partition 2 in that batch
    pending.forget([P])
    assert pending.take({"cjs.ingest.01.v1", "cjs.acks.cps.v1"}) == {
        ("cjs.acks.cps.v1", 0): range(3, 4)
    }


def test_records_waiting_behind_a_busy_agents_backlog_are_not_a_stall() -> None:
    watch = CommitWatch(stall_seconds=30)
    watch.observe(0, {P: 42}, {})
    assert watch.observe(10, {P: 42}, {}) == ([], {P: 42})
    watch.answered(P, 10, waiting=True)
    # the agent takes only full batches: the ticks wait behind its backlog, not lost
    assert watch.observe(40, {P: 42}, {}, busy={P}) == ([], {})
    assert watch.observe(45, {P: 42}, {}, busy={P}) == ([], {})
    # caught up, and still nothing handed over: asked again after the interval, then timed
    assert watch.observe(50, {P: 42}, {}) == ([], {})
    assert watch.observe(55, {P: 42}, {}) == ([], {P: 42})
    watch.answered(P, 55, waiting=True)
    assert watch.observe(84, {P: 42}, {}) == ([], {})
    assert watch.observe(85, {P: 42}, {}) == ([Stall(P, 42, None, 30)], {})


def test_a_busy_agent_still_stalls_on_records_handled_past_a_standing_commit() -> None:
    watch = CommitWatch(stall_seconds=30)
    watch.observe(0, {P: 42}, {P: 90}, busy={P})
    assert watch.observe(30, {P: 42}, {P: 600}, busy={P}) == ([Stall(P, 42, 600, 30)], {})


STAGES = {"pipeline": {"cjs.ingest.01.v1"}, "acknowledgements": {"cjs.acks.cps.v1"}}
ACK = ("cjs.acks.cps.v1", 0)


def stages(pipeline: float, acknowledgements: float) -> dict[str, float]:
    return {"pipeline": pipeline, "acknowledgements": acknowledgements}


def test_an_agent_taking_only_full_batches_is_busy() -> None:
    # the pipeline last caught up 10 s ago and took a (full) batch half a second ago
    caught_up, took_batch = stages(90, 99), stages(99.5, 99)
    assert busy_partitions(100, [P, ACK], STAGES, caught_up, took_batch) == {P}


def test_an_agent_taking_no_batch_at_all_is_blocked_not_busy() -> None:
    # its last batch was full, 20 s ago: it has not caught up, and it takes nothing
    caught_up, took_batch = stages(60, 60), stages(80, 60)
    assert busy_partitions(100, [P, ACK], STAGES, caught_up, took_batch) == set()


def test_records_behind_a_blocked_agent_are_a_stall() -> None:
    watch = CommitWatch(stall_seconds=30)
    watch.observe(0, {P: 42}, {})
    assert watch.observe(10, {P: 42}, {}) == ([], {P: 42})
    watch.answered(P, 10, waiting=True)
    blocked = busy_partitions(40, [P], STAGES, stages(0, 0), stages(2, 0))
    assert watch.observe(40, {P: 42}, {}, busy=blocked) == ([Stall(P, 42, None, 30)], {})
