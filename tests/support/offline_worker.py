"""The worker's Faust app built without a broker: for unit tests of what ``create_app``
wires up (tables, services), not of what it does with records."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust

from infra.broker.node import free_port
from infra.registry import load_registry
from infra.topics import TopicCatalog
from streams.app import WorkerConfig


def offline_config(datadir: Path, **overrides: Any) -> WorkerConfig:
    """A worker configuration whose bootstrap address nothing listens on: its Kafka
    clients only retry, so nothing here needs a broker."""
    catalog = TopicCatalog(load_registry())
    return WorkerConfig(
        app_id="cjsx-unit-offline",
        bootstrap=f"127.0.0.1:{free_port()}",
        catalog=catalog,
        registry=catalog.registry,
        datadir=str(datadir),
        follow_interval=None,
        **overrides,
    )


def stop_clients(app: faust.App) -> None:
    """Run the stop of the service Faust stops with the app (``_StopClients``): it closes the
    Kafka clients ``create_app`` started (the lag collector's thread, the refetcher)."""
    stoppers = [c for c in app._extra_services if c.__name__ == "_StopClients"]
    assert len(stoppers) == 1
    asyncio.run(stoppers[0]().on_stop())
