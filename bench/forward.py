"""The benchmark's baseline: a Faust worker that forwards bytes and does nothing else
(one by one, as the exchange did; or in batches with ``BENCH_BATCH``, as it does now).

Same framework, same broker, same process model as the exchange worker, so the ratio of the
two isolates the cost of the exchange's own work (decode, validate, dedup, order, enrich,
route, encode, receipts).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import faust


def create_forwarder() -> faust.App:
    bootstrap = os.environ["BENCH_BOOTSTRAP"]
    source_name = os.environ["BENCH_SOURCE"]
    target = os.environ["BENCH_TARGET"]
    app = faust.App(
        os.environ.get("BENCH_APP_ID", "bench-forward"),
        broker=";".join(f"kafka://{h}" for h in bootstrap.split(",")),
        store="memory://",
        datadir=os.environ["BENCH_DATADIR"],
        autodiscover=False,
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
    )
    source = app.topic(source_name, key_serializer="raw", value_serializer="raw")

    batch = int(os.environ.get("BENCH_BATCH") or 0)

    @app.agent(source, name="forward")
    async def forward(stream: Any) -> None:
        if batch:
            async for events in stream.take_events(batch, 0.02):
                futures = [
                    await app.producer.send(
                        target, e.message.key, e.message.value, None, None, None
                    )
                    for e in events
                ]
                await asyncio.gather(*futures)
            return
        async for event in stream.events():
            message = event.message
            await app.producer.send(target, message.key, message.value, None, None, None)

    _ = forward
    return app


if __name__ == "__main__":
    from faust.worker import Worker

    Worker(create_forwarder(), loglevel="warning", quiet=True).execute_from_commandline()
