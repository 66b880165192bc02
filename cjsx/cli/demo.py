"""``cjsx demo``: the main job a newcomer runs (``make demo``)."""

from __future__ import annotations

import click

from cjsx.settings import Settings


@click.command()
def demo() -> None:
    """Run the whole exchange on a fresh local broker and print a summary that adds up."""
    from cjsx.demo import run_demo

    if not run_demo(Settings()):
        raise SystemExit(1)
