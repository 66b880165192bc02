"""``cjsx worker``: one stream-processing worker process."""

from __future__ import annotations

from datetime import timedelta

import click

from cjsx.logs import configure_logging, logging_config
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from infra.security.policy import WORKER
from streams.app import WorkerConfig, create_app


@click.command()
@click.option("--name", default="worker-1", show_default=True, help="Unique per worker.")
@click.option("--web-port", type=int, default=None, help="Port for /metrics.")
def worker(name: str, web_port: int | None) -> None:
    """Run a stream worker until SIGTERM or Ctrl-C."""
    from faust.worker import Worker

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = Runtime(settings)
    datadir = (settings.cache_dir / "worker" / settings.worker_id / name).resolve()
    datadir.mkdir(parents=True, exist_ok=True)
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
            broker_credentials=runtime.faust_credentials(WORKER),
            client_config=runtime.client_config(WORKER),
            dedup_window=timedelta(days=settings.dedup_window_days),
            order_hold=timedelta(seconds=settings.order_hold_seconds),
        )
    )
    Worker(
        app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_config(settings.log_level, json=settings.log_json),
        quiet=True,
        redirect_stdouts=False,
    ).execute_from_commandline()
