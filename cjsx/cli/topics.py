"""``cjsx topics``: create the topics the spec and registry declare."""

from __future__ import annotations

import click

from cjsx.runtime import Runtime
from cjsx.settings import Settings
from infra.topics import apply_topics


@click.group()
def topics() -> None:
    """Topics from infra/topics.toml and infra/registry.toml."""


@topics.command("list")
def list_topics() -> None:
    """Print every topic name the spec declares for the registry."""
    for topic in Runtime(Settings()).catalog.topics():
        click.echo(f"{topic.name}\t{topic.partitions}")


@topics.command()
def apply() -> None:
    """Create the missing topics on the broker (idempotent)."""
    runtime = Runtime(Settings())
    created = apply_topics(
        runtime.catalog,
        runtime.bootstrap,
        replication=runtime.settings.replication,
        **runtime.client_config(),
    )
    click.echo(f"created {len(created)} topic(s)")
