"""The worker's lag collector runs a thread with Kafka clients: it stops with the worker."""

from __future__ import annotations

import threading
from pathlib import Path

from streams.app import create_app
from tests.support.offline_worker import offline_config, stop_clients


def _lag_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cjsx-lag" and t.is_alive()]


def test_the_lag_collector_thread_stops_with_the_workers_services(tmp_path: Path) -> None:
    # Only this app's thread counts: one an earlier test's app stopped may still be ending
    # (its refresh waits out a connection attempt), and would end during this test.
    before = set(_lag_threads())
    app, _ = create_app(offline_config(tmp_path, store="memory://"))
    started = set(_lag_threads()) - before
    assert len(started) == 1
    stop_clients(app)  # the service Faust starts and stops with the app (``@app.service``)

    # The stop is signalled at once; a refresh caught in a connection attempt ends with its
    # client's own timeout (5 s per client), later on a loaded machine.
    (thread,) = started
    thread.join(30)
    assert not thread.is_alive()
