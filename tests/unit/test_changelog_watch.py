"""A batch waits for its changelog records: Faust's commit does not (streams/changelog.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.producer import ProducerBuffer

from streams.changelog import ChangelogWatch


def test_fausts_buffer_flush_gives_up_while_a_send_is_held_up() -> None:
    """Why the watch exists: the flush Faust runs before committing offsets returns after
    0.1 s without a send, with changelog records still queued. If this fails, Faust waits
    now, and the watch may be worth less than its round trip."""

    async def scenario() -> int:
        buffer = ProducerBuffer()
        buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))
        held_up = asyncio.Event()

        async def send_held_up(_future: Any) -> None:
            await held_up.wait()  # the Kafka client's buffer is full: this send waits

        buffer._send_pending = send_held_up  # type: ignore[method-assign]
        await buffer.start()
        try:
            for n in range(3):
                buffer.put(SimpleNamespace(n=n))  # type: ignore[arg-type]
            await asyncio.sleep(0.05)  # the first is taken and held up; two stay queued
            await buffer.flush()
            return buffer.size
        finally:
            held_up.set()
            await buffer.flush()  # the rest go now; a buffer stops only when empty
            await buffer.stop()

    assert asyncio.run(scenario()) == 2


class _Table:
    """A table whose changelog sends return futures the test settles."""

    def __init__(self) -> None:
        self.sent: list[asyncio.Future[None]] = []

    def send_changelog(self, *_args: Any, **_kwargs: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append(future)
        return future


def test_written_returns_only_once_every_changelog_record_is_acknowledged() -> None:
    async def scenario() -> list[str]:
        seen, cases = _Table(), _Table()
        watch = ChangelogWatch([seen, cases])
        seen.send_changelog("k", b"v")
        cases.send_changelog("k", b"v")
        cases.send_changelog("j", b"w")
        assert watch.pending == 3
        steps: list[str] = []
        waiting = asyncio.create_task(watch.written())
        for future in [*seen.sent, *cases.sent]:
            await asyncio.sleep(0.01)
            steps.append("done" if waiting.done() else "waiting")
            future.set_result(None)
        await asyncio.wait_for(waiting, 1)
        steps.append("done")
        assert watch.pending == 0
        await watch.written()  # nothing new: returns at once
        return steps

    assert asyncio.run(scenario()) == ["waiting", "waiting", "waiting", "done"]


def test_a_refused_changelog_record_fails_the_batch() -> None:
    async def scenario() -> None:
        table = _Table()
        watch = ChangelogWatch([table])
        table.send_changelog("k", b"v")
        table.sent[0].set_exception(RuntimeError("not leader"))
        await watch.written()

    with pytest.raises(RuntimeError, match="not leader"):
        asyncio.run(scenario())
