"""``cjsx demo``: the main job a newcomer runs (``make demo``)."""

from __future__ import annotations

import click

from cjsx.settings import Settings


@click.command()
@click.option(
    "--hold/--no-hold",
    default=None,
    help="Keep the exchange and the console up until Ctrl-C (default: at a terminal).",
)
def demo(hold: bool | None) -> None:
    """Run the whole exchange on a fresh local broker and print a summary that adds up."""
    import sys

    from cjsx.demo import run_demo

    if not run_demo(Settings(), hold=sys.stdout.isatty() if hold is None else hold):
        raise SystemExit(1)
