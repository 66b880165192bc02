"""``cjsx worker``: one stream worker, kept running by a small supervisor."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import click

from cjsx.logs import configure_logging, logging_config
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from cjsx.supervisor import supervise
from infra.security.pki import owner_only_dir
from infra.security.policy import WORKER
from infra.topics import TopicCatalog, replication_of
from streams.app import WorkerConfig, create_app

log = logging.getLogger("cjsx.worker")


@click.command()
@click.option("--name", default="worker-1", show_default=True, help="Unique per worker.")
@click.option("--web-port", type=int, default=None, help="Port for /metrics.")
@click.option(
    "--supervise/--no-supervise",
    "supervised",
    default=True,
    show_default=True,
    help="Restart the worker when it stops by itself (to follow new forces, or after a crash).",
)
def worker(name: str, web_port: int | None, supervised: bool) -> None:
    """Run a stream worker until SIGTERM or Ctrl-C."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if supervised:
        command = [sys.executable, "-m", "cjsx", "worker", "--no-supervise", "--name", name]
        if web_port is not None:
            command += ["--web-port", str(web_port)]
        raise SystemExit(supervise(command))
    run_worker(settings, name, web_port)


def owner_only_datadir(cache_dir: Path, worker_id: str, name: str) -> Path:
    """The worker's Faust data folder, it and the folders between it and the cache 0700."""
    folder = cache_dir / "worker"
    for part in (worker_id, name):
        owner_only_dir(folder)
        folder = folder / part
    return owner_only_dir(folder).resolve()


@contextlib.contextmanager
def tables_trusted_after_clean_stops(datadir: Path, tabledir: Path) -> Iterator[None]:
    """Rebuild the tables from their changelogs when the last worker here did not stop
    cleanly (a ``running`` mark it left behind).

    A killed worker's RocksDB can hold writes whose changelog records never reached the
    broker, and Faust's recovery replays the changelog past the last acknowledged record over
    them: some keys come back newer than others, a mix no replay is sure to recover from
    (ADR 0002, addendum of 2026-12-02). The changelog alone is a prefix of the writes, which
    a replay does recover from. A clean stop (exit 0) leaves local and changelog equal.
    """
    mark = datadir / "running"
    if mark.exists() and tabledir.exists():
        log.warning("the last worker here did not stop cleanly; rebuilding its tables")
        shutil.rmtree(tabledir)
    mark.touch()
    try:
        yield
    except SystemExit as stop:
        if stop.code in (0, None):
            mark.unlink()
        raise
    mark.unlink()


def run_worker(settings: Settings, name: str, web_port: int | None) -> None:
    from faust.worker import Worker

    # The tables' RocksDB files (and their write-ahead logs) hold held events, personal data
    # included: everything this process creates is owner-only (RocksDB creates files 0644 and
    # folders 0755 less the umask), and the folders on the way are tightened as well.
    os.umask(0o077)
    runtime = Runtime(settings)
    datadir = owner_only_datadir(settings.cache_dir, settings.worker_id, name)

    def wanted_ingest_topics() -> list[str]:
        registry = runtime.fresh_registry()
        return TopicCatalog(registry, namespace=settings.topic_namespace).ingest_topics()

    app, _ = create_app(
        WorkerConfig(
            app_id=settings.worker_id,
            bootstrap=runtime.bootstrap,
            catalog=runtime.catalog,
            registry=runtime.registry,
            datadir=str(datadir),
            web_host=settings.worker_web_host,
            web_port=web_port or settings.worker_web_port,
            store=settings.worker_store,
            replication=settings.replication
            or replication_of(runtime.bootstrap, **runtime.client_config(WORKER)),
            broker_credentials=runtime.faust_credentials(WORKER),
            client_config=runtime.client_config(WORKER),
            dedup_window=timedelta(days=settings.dedup_window_days),
            order_hold=timedelta(seconds=settings.order_hold_seconds),
            session_timeout=settings.worker_session_timeout_seconds,
            commit_stall_seconds=settings.worker_commit_stall_seconds,
            batch_size=settings.worker_batch_size,
            table_write_buffer_mib=settings.worker_table_write_buffer_mib,
            table_block_cache_mib=settings.worker_table_block_cache_mib,
            follow_interval=settings.follow_interval_seconds or None,
            wanted_ingest_topics=wanted_ingest_topics,
            delivery_key=runtime.delivery_key(),
        )
    )
    with tables_trusted_after_clean_stops(datadir, Path(app.conf.tabledir)):
        Worker(
            app,
            loglevel=settings.log_level.lower(),
            logging_config=logging_config(settings.log_level, json=settings.log_json),
            quiet=True,
            redirect_stdouts=False,
        ).execute_from_commandline()
