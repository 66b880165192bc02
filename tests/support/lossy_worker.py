"""``cjsx`` with Faust made to lose records, as the framework itself can.

Run as ``python -m tests.support.lossy_worker worker ...`` with ``CJSX_TEST_LOSE`` naming
records as ``topic-suffix@offset`` (comma-separated). The first record seen on a topic ending
in the suffix at that offset (any partition) is dropped between the fetcher and the streams,
once: it never reaches an agent, as a record fetched across a seek during recovery can be
lost. Only tests use this; the product never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.conductor import Conductor

from cjsx.cli import main


def _lose_some(rules: list[tuple[str, int]]) -> None:
    compile_handler = Conductor._compile_message_handler
    pending = set(rules)

    def compile_lossy(self: Conductor) -> Callable[[Any], Awaitable[None]]:
        deliver = compile_handler(self)

        async def on_message(message: Any) -> None:
            for rule in list(pending):
                suffix, offset = rule
                if message.topic.endswith(suffix) and message.offset == offset:
                    pending.discard(rule)
                    return  # lost: acknowledged by nobody, processed by nobody
            await deliver(message)

        return on_message

    Conductor._compile_message_handler = compile_lossy  # type: ignore[method-assign]


if __name__ == "__main__":
    spec = os.environ.get("CJSX_TEST_LOSE", "")
    rules = [(s.rsplit("@", 1)[0], int(s.rsplit("@", 1)[1])) for s in spec.split(",") if s]
    _lose_some(rules)
    main()
