"""``cjsx broker``: a local Apache Kafka 4.x (KRaft) from Maven Central jars."""

from __future__ import annotations

import click

from cjsx.cli.access import apply_access
from cjsx.runtime import Runtime, broker_home
from cjsx.settings import Settings
from infra.broker.node import KafkaCluster
from infra.broker.provision import ensure_jars, lib_dir


@click.group()
def broker() -> None:
    """Run a local Kafka broker for development and demos."""


@broker.command()
def provision() -> None:
    """Resolve the broker's jars with Maven (once; later runs reuse the cache)."""
    settings = Settings()
    lib = ensure_jars(settings.cache_dir, settings.kafka_version)
    click.echo(f"Kafka {settings.kafka_version} jars in {lib}")


@broker.command()
@click.option("--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True)
def up(nodes: str) -> None:
    """Start a broker (or a three-node cluster) in the background."""
    settings = Settings()
    home = broker_home(settings)
    lib = ensure_jars(settings.cache_dir, settings.kafka_version)
    existing = KafkaCluster.load(home, lib)
    if existing is not None and existing.is_running():
        click.echo(f"already running: {existing.bootstrap}")
        return
    runtime = Runtime(settings)
    cluster = KafkaCluster.create(
        home, lib, size=int(nodes), heap=settings.broker_heap, security=runtime.security
    )
    cluster.start(die_with_parent=False)
    if runtime.security is not None:
        # The runtime finds the broker through the state file the start just wrote.
        apply_access(runtime, prune_users=True)
    click.echo(cluster.bootstrap)


@broker.command()
def down() -> None:
    """Stop the broker `up` started, and delete its data."""
    settings = Settings()
    home = broker_home(settings)
    cluster = KafkaCluster.load(home, lib_dir(settings.cache_dir, settings.kafka_version))
    if cluster is None:
        click.echo("no broker running")
        return
    cluster.stop(delete=True)
    click.echo("stopped")


@broker.command()
def status() -> None:
    """Say whether the broker is running, and where."""
    settings = Settings()
    cluster = KafkaCluster.load(
        broker_home(settings), lib_dir(settings.cache_dir, settings.kafka_version)
    )
    if cluster is None or not cluster.is_running():
        click.echo("down")
        raise SystemExit(1)
    click.echo(f"up: {cluster.bootstrap} ({len(cluster.nodes)} node(s))")
