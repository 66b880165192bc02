"""``cjsx check-id`` and ``cjsx validate``: the stream's own checks, for people and scripts.

Both print one JSON object per input and never a traceback, whatever the input. Exit codes:
0 when everything is valid, 1 when anything is invalid, 2 on a usage error (click's own, an
unknown kind, a missing value, or a malformed ``check-id --stdin`` line). A usage error wins
over an invalid input, because it means the caller's script is wrong, not the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import click

from infra.registry import load_registry
from producers.submit import Checker
from schemas.identifiers import IdKind, check
from schemas.jsonform import MAX_LINE_BYTES
from streams.reference import StandingData
from streams.validate import ValidationContext

USAGE = "USAGE"
"""The reason code of a malformed ``check-id --stdin`` line: the caller's mistake, not data's,
so it is a command-line code and not one of the contract's ReasonCodes."""

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_KINDS = [k.value for k in IdKind]


@dataclass(frozen=True, slots=True)
class Oversized:
    """A line longer than the limit; only its length was kept."""

    size: int


def bounded_lines(stream: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes | Oversized]:
    """The stream's lines without their ending, never holding more than ``limit`` bytes of one.

    A longer line is read to its end in pieces and reported by size only, so a hostile file
    (a gigabyte with no newline) cannot exhaust memory.
    """
    while chunk := stream.readline(limit + 2):
        ended = chunk.endswith(b"\n")
        line = chunk[:-1].removesuffix(b"\r") if ended else chunk
        if len(line) <= limit:
            yield line
            continue
        size = len(line)
        while not ended and (rest := stream.readline(limit + 2)):
            ended = rest.endswith(b"\n")
            size += len(rest) - ended
        yield Oversized(size)


def force_code(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--force`` option's value: the two-digit PNC code of a force of the exchange
    (infra/registry.toml), else a usage error."""
    if value is None:
        return None
    if len(value) != 2 or not value.isdigit() or load_registry().force(value) is None:
        raise click.BadParameter(
            f"{_text(value)[:20]!r} is not the two-digit PNC code of a force of the exchange "
            "(for example 01; see infra/registry.toml)",
            ctx=ctx,
            param=param,
        )
    return value


def _emit(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj))


def _text(value: str) -> str:
    """Command-line text as valid Unicode (undecodable bytes become U+FFFD)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _id_result(kind: IdKind, value: str) -> tuple[dict[str, Any], bool]:
    result = check(kind, value)
    reason = None
    if result.reason is not None:
        reason = {"code": result.reason.code.value, "message": result.reason.message}
    obj = {
        "kind": kind.value,
        "input": value,
        "valid": result.valid,
        "normalized": result.normalized,
        "reason": reason,
    }
    return obj, result.valid


def _usage(kind: str | None, value: str | None, message: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "input": value,
        "valid": False,
        "normalized": None,
        "reason": {"code": USAGE, "message": message},
    }


def _stdin_line(raw: bytes | Oversized) -> tuple[dict[str, Any] | None, int]:
    """One ``KIND VALUE`` line: its JSON object (None for a blank line) and its exit code."""
    if isinstance(raw, Oversized):
        return _usage(None, None, f"line is {raw.size} bytes; the limit is {MAX_LINE_BYTES}"), 2
    line = raw.decode("utf-8", "replace").strip()
    if not line:
        return None, EXIT_VALID
    parts = line.split(maxsplit=1)
    kind = parts[0].lower()
    value = parts[1] if len(parts) == 2 else None
    if kind not in _KINDS:
        message = f"unknown kind {parts[0]!r}; expected one of {', '.join(_KINDS)}"
        return _usage(parts[0], value, message), EXIT_USAGE
    if value is None:
        return _usage(kind, None, "missing value: lines are KIND VALUE"), EXIT_USAGE
    obj, valid = _id_result(IdKind(kind), value)
    return obj, EXIT_VALID if valid else EXIT_INVALID


@click.command("check-id")
@click.argument(
    "kind", required=False, metavar="KIND", type=click.Choice(_KINDS, case_sensitive=False)
)
@click.argument("value", required=False)
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read lines 'KIND VALUE' from standard input."
)
def check_id(kind: str | None, value: str | None, from_stdin: bool) -> None:
    """Check an identifier: KIND is asn, pnc, cro, urn, ou or offence.

    Prints {"kind", "input", "valid", "normalized", "reason"} per identifier, reason null or
    {"code", "message"}. With --stdin, blank lines are skipped; a malformed line (unknown
    kind, no value, longer than 1 MiB) prints an object whose reason code is USAGE and makes
    the exit code 2. Exit 0: all valid; 1: any invalid; 2: usage error.
    """
    if from_stdin:
        if kind is not None or value is not None:
            raise click.UsageError("give KIND VALUE or --stdin, not both")
        worst = EXIT_VALID
        for number, raw in enumerate(bounded_lines(click.get_binary_stream("stdin")), 1):
            obj, code = _stdin_line(raw)
            if obj is not None:
                _emit(obj)
            if code == EXIT_USAGE and obj is not None:
                click.echo(f"line {number}: {obj['reason']['message']}", err=True)
            worst = max(worst, code)
        raise SystemExit(worst)
    if kind is None or value is None:
        raise click.UsageError("missing KIND and VALUE (or use --stdin)")
    obj, valid = _id_result(IdKind(kind.lower()), _text(value))
    _emit(obj)
    raise SystemExit(EXIT_VALID if valid else EXIT_INVALID)


def verdict(
    raw: bytes | Oversized, ctx: ValidationContext, force: str | None = None
) -> dict[str, Any]:
    """The stream's verdict on one line (``producers.submit.Checker``, which ``cjsx publish``
    and the gateway use too), as ``validate`` prints it."""
    checker = Checker(force, ctx)
    if isinstance(raw, Oversized):
        return checker.too_long(raw.size).to_json()
    return checker.check(raw).to_json()


@click.command()
@click.argument("file", type=click.File("rb", lazy=False))
@click.option(
    "--force",
    metavar="CODE",
    callback=force_code,
    help="Check the sender binding as if published on this force's ingest topic "
    "(default: each event's envelope.force); a known force's two-digit PNC code.",
)
def validate(file: IO[bytes], force: str | None) -> None:
    """Validate case-file events in FILE (JSON Lines; '-' for standard input).

    Each line is one event in the CloudEvents JSON form (docs/wire-format.md). Prints one
    verdict per non-blank line, {"event_id", "accepted", "reasons": [{"code", "field",
    "message", "hint"}]}, from the same code the stream runs; a line that is not JSON or not
    an event is a verdict with a reason too. Blank lines are skipped, as by ``check-id
    --stdin``. Exit 0: all accepted; 1: any rejected; 2: usage error.
    """
    ctx = ValidationContext(StandingData.load())
    worst = EXIT_VALID
    for raw in bounded_lines(file):
        if isinstance(raw, bytes) and not raw.strip():
            continue
        result = verdict(raw, ctx, force)
        _emit(result)
        if not result["accepted"]:
            worst = EXIT_INVALID
    raise SystemExit(worst)
