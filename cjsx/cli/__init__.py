"""``cjsx``: the exchange's one command, for force staff, partners and operators.

Each subcommand's module is imported only when that subcommand runs: importing them all
(Faust, the console, the gateway, ...) took about 1.5 s before any command did anything, on
every call of every script and test.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str]] = {
    "broker": ("cjsx.cli.broker", "broker"),
    "topics": ("cjsx.cli.topics", "topics"),
    "worker": ("cjsx.cli.worker", "worker"),
    "demo": ("cjsx.cli.demo", "demo"),
    "check-id": ("cjsx.cli.ids", "check_id"),
    "validate": ("cjsx.cli.ids", "validate"),
    "publish": ("cjsx.cli.publish", "publish"),
    "receipts": ("cjsx.cli.receipts", "receipts"),
    "schema": ("cjsx.cli.schema", "schema"),
    "access": ("cjsx.cli.access", "access"),
    "auditor": ("cjsx.cli.audit", "auditor"),
    "audit": ("cjsx.cli.audit", "audit"),
    "partner": ("cjsx.cli.partner", "partner"),
    "rejected": ("cjsx.cli.rejected", "rejected"),
    "status": ("cjsx.cli.status", "status"),
    "console": ("cjsx.console.cli", "console"),
    "gateway": ("cjsx.gateway.cli", "gateway"),
}
"""Subcommand name → (module, attribute), in the order ``cjsx --help`` lists them."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        command = getattr(importlib.import_module(where[0]), where[1])
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise TypeError(f"{where[0]}.{where[1]} is not the command {cmd_name}")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """cjs-exchange: case-file events from police forces to the CPS and the courts."""


def main() -> None:
    cli()
