"""``cjsx schema``: the schema evolution gate and the one command that releases a version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from schemas.evolution import MODE, check_all, release_checked
from schemas.store import AVRO_DIR, RELEASED_DIR

F = TypeVar("F", bound=Callable[..., Any])

_DIRS = [
    click.option(
        "--avro-dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=AVRO_DIR,
        show_default=True,
        help="Authored schemas, one named type per file.",
    ),
    click.option(
        "--released-dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=RELEASED_DIR,
        show_default=True,
        help="Released versions, <full name>/vN.avsc.",
    ),
]


def _with_dirs(command: F) -> F:
    """The two folder options, so tests can release into a copy of the schemas."""
    for option in reversed(_DIRS):
        command = option(command)
    return command


@click.group()
def schema() -> None:
    """The Avro contract: check evolution and release new schema versions."""


@schema.command()
@_with_dirs
def check(avro_dir: Path, released_dir: Path) -> None:
    """Check every authored schema against all its released versions.

    Fails (exit 1) when a schema is not FULL_TRANSITIVE compatible with a released version,
    or when it changed since its latest release. See
    docs/adr/0004-schema-compatibility-full-transitive.md.
    """
    problems = check_all(avro_dir=avro_dir, released_dir=released_dir)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"every schema is {MODE} compatible with its released versions")


@schema.command("release")
@_with_dirs
def release_command(avro_dir: Path, released_dir: Path) -> None:
    """Release a new version of every top-level schema that changed.

    Refuses (exit 1, nothing written) when any schema is incompatible with a released
    version. Released files never change; commit the new ``vN.avsc`` files.
    """
    written, problems = release_checked(avro_dir=avro_dir, released_dir=released_dir)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo("nothing released: fix the incompatibilities first", err=True)
        raise SystemExit(1)
    for name, version in written:
        click.echo(f"released {name} v{version}")
    if not written:
        click.echo("nothing to release: every schema matches its latest released version")
