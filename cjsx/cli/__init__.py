"""``cjsx``: the exchange's one command, for force staff, partners and operators."""

from __future__ import annotations

import click

from cjsx.cli.access import access
from cjsx.cli.audit import audit, auditor
from cjsx.cli.broker import broker
from cjsx.cli.demo import demo
from cjsx.cli.ids import check_id, validate
from cjsx.cli.partner import partner
from cjsx.cli.publish import publish
from cjsx.cli.receipts import receipts
from cjsx.cli.rejected import rejected
from cjsx.cli.schema import schema
from cjsx.cli.status import status
from cjsx.cli.topics import topics
from cjsx.cli.worker import worker
from cjsx.console.cli import console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """cjs-exchange: case-file events from police forces to the CPS and the courts."""


cli.add_command(broker)
cli.add_command(topics)
cli.add_command(worker)
cli.add_command(demo)
cli.add_command(check_id)
cli.add_command(validate)
cli.add_command(publish)
cli.add_command(receipts)
cli.add_command(schema)
cli.add_command(access)
cli.add_command(auditor)
cli.add_command(audit)
cli.add_command(partner)
cli.add_command(rejected)
cli.add_command(status)
cli.add_command(console)


def main() -> None:
    cli()
