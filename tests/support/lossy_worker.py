"""``cjsx`` with Faust made to lose records, as the framework itself can.

Run as ``python -m tests.support.lossy_worker worker ...`` with ``CJSX_TEST_LOSE`` naming
records as ``topic-suffix@offset`` or ``topic-suffix@first-last``, optionally with
``#partition`` after the suffix (comma-separated). The records on a topic ending in the
suffix at those offsets are dropped between the fetcher and the streams, once, all from the
given partition or else the one where the first of them was seen: they never
reach an agent, as records fetched across a seek during recovery can be lost. With
``CJSX_TEST_UNNOTICED=1`` the worker's continuity guard is blinded too, as it is to a loss
across a rebalance. With ``CJSX_TEST_SKIP=topic-suffix`` the first record on such a topic is
handed over as if fetched under an older consumer generation, which Faust's stream skips and
acknowledges, as it does around a rebalance. Only tests use this; the product never imports
it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faust.transport.conductor import Conductor

from cjsx.cli import main
from streams.continuity import Continuity


@dataclass
class _Loss:
    suffix: str
    offsets: set[int]
    partition: int | None = None
    lost: set[int] = field(default_factory=set)

    @classmethod
    def parse(cls, rule: str) -> _Loss:
        topic, where = rule.rsplit("@", 1)
        suffix, _, partition = topic.partition("#")
        first, _, last = where.partition("-")
        offsets = set(range(int(first), int(last or first) + 1))
        return cls(suffix, offsets, int(partition) if partition else None)

    def takes(self, message: Any) -> bool:
        """Whether ``message`` is one of the records to lose (and note it lost)."""
        if not message.topic.endswith(self.suffix) or message.offset not in self.offsets:
            return False
        if self.partition not in (None, message.partition) or message.offset in self.lost:
            return False
        self.partition = message.partition
        self.lost.add(message.offset)
        return True


def _lose_some(losses: list[_Loss], skip: str | None) -> None:
    compile_handler = Conductor._compile_message_handler
    to_skip = [skip] if skip else []

    def compile_lossy(self: Conductor) -> Callable[[Any], Awaitable[None]]:
        deliver = compile_handler(self)

        async def on_message(message: Any) -> None:
            if any(loss.takes(message) for loss in losses):
                return  # lost: acknowledged by nobody, processed by nobody
            if to_skip and message.topic.endswith(to_skip[0]):
                to_skip.clear()
                message.generation_id = -1  # "stale": the stream skips and acknowledges it
            await deliver(message)

        return on_message

    Conductor._compile_message_handler = compile_lossy  # type: ignore[method-assign]


def _blind_the_guard() -> None:
    observe = Continuity.observe

    def unnoticing(
        self: Continuity, partition: Any, generation: int, offset: int, start: Any = None
    ) -> None:
        observe(self, partition, generation, offset, start)  # still tracks what was handled

    Continuity.observe = unnoticing  # type: ignore[assignment,method-assign]


if __name__ == "__main__":
    spec = os.environ.get("CJSX_TEST_LOSE", "")
    _lose_some(
        [_Loss.parse(rule) for rule in spec.split(",") if rule],
        os.environ.get("CJSX_TEST_SKIP") or None,
    )
    if os.environ.get("CJSX_TEST_UNNOTICED") == "1":
        _blind_the_guard()
    main()
