"""``cjsx console``: serve the exceptions console, and manage who may sign in to it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from cjsx.console.settings import ConsoleSettings
from cjsx.console.store import ConsoleStore
from cjsx.console.users import User, hash_password, load_users, save_users
from cjsx.logs import configure_logging, logging_config
from cjsx.runtime import Runtime
from schemas.codec import Codec
from schemas.models import CaseEvent
from streams.reference import StandingData
from streams.validate import ValidationContext

if TYPE_CHECKING:
    from cjsx.console.app import Services
    from cjsx.console.broker import Background


def build(settings: ConsoleSettings) -> tuple[Services, Background]:
    """The console's services over the real broker, and the thread that keeps them current."""
    # Imported here: the console's modules use `cjsx status`'s parser, and `cjsx` imports this.
    from cjsx.console.app import Services
    from cjsx.console.broker import (
        Background,
        ReceiptFollower,
        RejectedFeed,
        action_log,
        publish_as_force,
        timeline,
    )
    from cjsx.console.panel import MetricsHistory

    runtime = Runtime(settings)
    codec = Codec()
    users = load_users(settings.users_file, runtime.registry)
    store = ConsoleStore(settings.store_url, record=action_log(runtime, users, codec))
    metrics = MetricsHistory(settings.metrics_url)

    def publish(force: str, event: CaseEvent) -> str:
        return publish_as_force(runtime, force, event, codec)

    services = Services(
        store=store,
        users=users,
        registry=runtime.registry,
        validation=ValidationContext(StandingData.load(settings.console_standing_data)),
        publish=publish,
        codec=codec,
        track=lambda forces, query: timeline(runtime, codec, forces, query),
        metrics=metrics,
    )
    background = Background(
        RejectedFeed(runtime, store, codec),
        ReceiptFollower(runtime, store, codec),
        settings.console_poll_seconds,
        metrics,
    )
    return services, background


@click.group(invoke_without_command=True)
@click.pass_context
def console(ctx: click.Context) -> None:
    """The exceptions console: see, correct and resubmit rejected events in a browser."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@console.command()
def serve() -> None:
    """Serve the console (CJSX_CONSOLE_HOST:CJSX_CONSOLE_PORT) until interrupted."""
    import uvicorn

    from cjsx.console.app import create_app

    settings = ConsoleSettings()
    configure_logging(settings.log_level, json=settings.log_json)
    services, background = build(settings)
    if not services.users:
        click.echo(
            f"no console users in {settings.users_file}: add one with `cjsx console add-user`",
            err=True,
        )
    app = create_app(settings, services)
    background.start()
    click.echo(f"console on http://{settings.console_host}:{settings.console_port}/", err=True)
    try:
        uvicorn.run(
            app,
            host=settings.console_host,
            port=settings.console_port,
            log_config=logging_config(settings.log_level, json=settings.log_json),
            access_log=False,
        )
    finally:
        background.stop()
        services.store.close()


@console.command("add-user")
@click.argument("user_id")
@click.option("--name", default=None, help="How the console names the user.")
@click.option("--force", "force", default=None, help="The user's force code (force staff).")
@click.option("--operator", is_flag=True, help="An operator: sees every force's exceptions.")
@click.option("--reviewer", is_flag=True, help="May approve other users' corrections.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add_user(
    user_id: str,
    name: str | None,
    force: str | None,
    operator: bool,
    reviewer: bool,
    password_stdin: bool,
) -> None:
    """Add or replace a console user (the password is stored as an argon2 hash only)."""
    settings = ConsoleSettings()
    registry = Runtime(settings).registry
    if operator == (force is not None):
        raise click.UsageError("give either --force CODE or --operator")
    if force is not None and registry.force(force) is None:
        raise click.UsageError(f"force {force} is not in the registry")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.UsageError("use a password of at least 12 characters")
    users = load_users(settings.users_file, registry)
    users[user_id] = User(
        id=user_id,
        name=name or user_id,
        password_hash=hash_password(password),
        force=force,
        operator=operator,
        reviewer=reviewer,
    )
    save_users(settings.users_file, users)
    click.echo(f"{user_id} saved in {settings.users_file}")
