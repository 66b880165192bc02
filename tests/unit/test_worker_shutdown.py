"""The worker's lag collector runs a thread with Kafka clients: it stops with the worker."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from infra.broker.node import free_port
from infra.registry import load_registry
from infra.topics import TopicCatalog
from streams.app import WorkerConfig, create_app


def _lag_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cjsx-lag" and t.is_alive()]


def test_the_lag_collector_thread_stops_with_the_workers_services(tmp_path: Path) -> None:
    catalog = TopicCatalog(load_registry())
    config = WorkerConfig(
        app_id="cjsx-unit-shutdown",
        bootstrap=f"127.0.0.1:{free_port()}",  # nothing listens: the collector only retries
        catalog=catalog,
        registry=catalog.registry,
        datadir=str(tmp_path),
        store="memory://",
        follow_interval=None,
    )
    before = len(_lag_threads())
    app, _ = create_app(config)
    assert len(_lag_threads()) == before + 1
    # The services Faust starts and stops with the app (``@app.service``).
    stoppers = [c for c in app._extra_services if c.__name__ == "_StopClients"]
    assert len(stoppers) == 1

    async def stop() -> None:
        await stoppers[0]().on_stop()

    threads = set(_lag_threads())
    asyncio.run(stop())

    # The stop is signalled at once; a refresh caught in a connection attempt ends with its
    # client's own timeout (5 s per client), later on a loaded machine.
    for thread in threads:
        thread.join(30)
    assert len(_lag_threads()) == before
