"""The worker's lag collector runs a thread with Kafka clients: it stops with the worker."""

from __future__ import annotations

import threading
from pathlib import Path

from streams.app import create_app
from tests.support.offline_worker import offline_config, stop_clients


def _lag_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cjsx-lag" and t.is_alive()]


def test_the_lag_collector_thread_stops_with_the_workers_services(tmp_path: Path) -> None:
    before = len(_lag_threads())
    app, _ = create_app(offline_config(tmp_path, store="memory://"))
    assert len(_lag_threads()) == before + 1
    threads = set(_lag_threads())
    stop_clients(app)  # the service Faust starts and stops with the app (``@app.service``)

    # The stop is signalled at once; a refresh caught in a connection attempt ends with its
    # client's own timeout (5 s per client), later on a loaded machine.
    for thread in threads:
        thread.join(30)
    assert len(_lag_threads()) == before
