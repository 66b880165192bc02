"""The worker's edge without a broker: staged state per record and batch, and the emitter."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from schemas.models import Receipt, ReceiptStatus
from schemas.reasons import ReasonCode
from streams.emitter import DeliveryFailed, Emitter, record_size
from streams.order import write_rank
from streams.outputs import Output
from streams.pipeline import Status
from streams.staging import StagedStore
from streams.state import DictStore
from tests.support.builders import decoded, exchange, record, valid_charge


def test_a_records_writes_are_visible_to_itself_and_kept_or_discarded_whole() -> None:
    base = DictStore()
    base.put("a", b"1")
    staged = StagedStore(base)
    staged.put("a", b"2")
    staged.delete("b")
    staged.put("c", b"3")
    assert (staged.get("a"), staged.get("b"), staged.get("c")) == (b"2", None, b"3")
    staged.discard()
    assert (staged.get("a"), staged.get("c")) == (b"1", None)
    staged.put("a", b"4")
    staged.keep(partition=2)
    assert base.get("a") == b"1"  # not written until the batch is flushed
    assert staged.get("a") == b"4"


def test_the_largest_staged_write_of_a_record_is_known_before_it_is_kept() -> None:
    staged = StagedStore(DictStore())
    staged.put("case:x", b"v" * 1000)
    staged.put("k", b"v")
    assert staged.largest_write() == len("case:x") + 1000
    staged.keep(0)
    assert staged.largest_write() == 0


def test_a_batch_writes_each_key_once_in_the_partition_that_wrote_it() -> None:
    writes: list[tuple[int, str, bytes | None]] = []
    partition = -1

    class Recording(DictStore):
        def put(self, key: str, value: bytes) -> None:
            writes.append((partition, key, value))
            super().put(key, value)

        def delete(self, key: str) -> None:
            writes.append((partition, key, None))
            super().delete(key)

    staged = StagedStore(Recording())
    for n in range(5):
        staged.put("holds:1", str(n).encode())
        staged.keep(1)
    staged.put("case:x", b"x")
    staged.delete("gone")
    staged.keep(0)

    def in_partition(p: int) -> None:
        nonlocal partition
        partition = p

    assert staged.flush(in_partition) == 3
    assert sorted(writes) == [(0, "case:x", b"x"), (0, "gone", None), (1, "holds:1", b"4")]
    assert staged.pending == 0


def test_the_ordering_state_is_written_cases_first_then_indexes_then_tick_memories() -> None:
    """A kill part-way through a flush keeps a prefix: pointers (a partition's hold index and
    tick memory) go after the cases they point at, whatever order the batch touched them in."""
    written: list[str] = []

    class Recording(DictStore):
        def put(self, key: str, value: bytes) -> None:
            written.append(key)
            super().put(key, value)

    staged = StagedStore(Recording(), write_rank)
    for key in ["ticks:0", "holds:0", "case:a", "results.holds:0", "results.case:a", "case:b"]:
        staged.put(key, b"v")
    staged.keep(0)
    staged.flush(lambda _partition: None)
    assert written == [
        "case:a",
        "results.case:a",
        "case:b",
        "holds:0",
        "results.holds:0",
        "ticks:0",
    ]


def _output(size: int, topic: str = "t") -> Output:
    return Output(topic, b"k", b"x" * size, [("h", b"v")])


def test_the_emitter_finds_an_output_its_topic_would_refuse() -> None:
    small, big = _output(10), _output(2000)
    emitter = Emitter(_never_send, lambda topic: 1000)
    assert record_size(small) < 1000 < record_size(big)
    assert emitter.oversized([small]) is None
    assert emitter.oversized([small, big]) is big


async def _never_send(output: Output) -> Any:
    raise AssertionError("not sent")


def test_the_emitter_returns_only_when_every_send_is_acknowledged() -> None:
    sent: list[Output] = []

    async def send(output: Output) -> Any:
        sent.append(output)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, None)
        return future

    outputs = [_output(n) for n in range(5)]
    asyncio.run(Emitter(send, lambda topic: 10_000).emit(outputs))
    assert sent == outputs


@pytest.mark.parametrize("how", ["refused", "not-acknowledged"])
def test_the_emitter_raises_when_any_send_fails(how: str) -> None:
    async def send(output: Output) -> Any:
        if how == "refused" and output.value == b"x":
            raise RuntimeError("buffer full")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if how == "not-acknowledged" and output.value == b"x":
            future.set_exception(TimeoutError())
        else:
            future.set_result(None)
        return future

    with pytest.raises(DeliveryFailed, match="1 of 3 records"):
        asyncio.run(Emitter(send, lambda topic: 10_000).emit([_output(0), _output(1), _output(2)]))


def test_a_record_keyed_by_anything_but_its_case_urn_is_rejected() -> None:
    event = valid_charge()
    source = dataclasses.replace(record(event, 1), key=b"05XX0000000")
    outcome = exchange().process(source)
    assert outcome.status is Status.REJECTED
    assert [r.code for r in outcome.reasons] == [ReasonCode.RECORD_KEY_MISMATCH]
    [receipt] = decoded(outcome.outputs, Receipt)
    assert (receipt.event_id, receipt.status) == (event.envelope.event_id, ReceiptStatus.REJECTED)


def test_a_record_on_another_partition_than_its_keys_is_rejected() -> None:
    event = valid_charge()
    right = record(event, 1)
    wrong = dataclasses.replace(right, partition=(right.partition + 1) % 3, offset=2)
    x = exchange()
    assert x.process(right).status is Status.ACCEPTED
    # The same bytes on another partition would meet other dedup state: refused outright.
    outcome = x.process(wrong)
    assert outcome.status is Status.REJECTED
    assert [r.code for r in outcome.reasons] == [ReasonCode.RECORD_PARTITION_MISMATCH]


def test_an_event_whose_outputs_are_too_large_is_rejected_with_its_bytes() -> None:
    event = valid_charge()
    source = record(event, 7)
    outcome = exchange().too_large(source)
    assert outcome.status is Status.REJECTED
    assert [r.code for r in outcome.reasons] == [ReasonCode.OUTPUT_TOO_LARGE]
    [receipt] = decoded(outcome.outputs, Receipt)
    assert receipt.event_id == event.envelope.event_id


def test_an_accepted_event_costs_two_state_writes_and_one_record_plus_one_per_recipient() -> None:
    """What docs/benchmarks.md states: one receipt, then a delivery per recipient (which the
    auditor chains as its disclosure); one key in each table (the case's sightings, the
    case's ordering and route)."""
    written: list[str] = []

    class Counting(DictStore):
        def put(self, key: str, value: bytes) -> None:
            written.append(key)
            super().put(key, value)

    seen, cases = StagedStore(Counting()), StagedStore(Counting())
    x = exchange(seen=seen, cases=cases)
    event = valid_charge()
    source = record(event, 1)
    outcome = x.process(source)
    assert outcome.status is Status.ACCEPTED
    assert not outcome.held
    recipients = len(outcome.deliveries)
    assert recipients == 2
    assert len(outcome.outputs) == 1 + recipients
    for store in (seen, cases):
        store.keep(source.partition)
    writes = seen.flush(lambda p: None) + cases.flush(lambda p: None)
    urn = event.envelope.case_urn
    assert (writes, sorted(written)) == (2, [f"case:{urn}", f"seen:{urn}"])
