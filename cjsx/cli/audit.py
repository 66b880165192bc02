"""``cjsx auditor`` and ``cjsx audit``: the section 62 disclosure log, written and checked.

``auditor`` runs the one writer of the log. ``audit verify`` checks the hash chain and reports
the first broken link; ``audit case`` lists every disclosure of one case; ``audit export``
copies the log to a file (one base64 record value a line) that ``--file`` checks later, e.g.
a copy produced to the Information Commissioner. Reading the log needs the operator's access.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click

from cjsx.logs import configure_logging
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from infra.security.policy import AUDITOR, OPERATOR
from schemas.codec import Codec, CodecError
from schemas.models import AuditRecord
from streams.audit.auditor import Auditor, AuditorError, read_log, transactional_id
from streams.audit.chain import Head, verify_encoded

log = logging.getLogger("cjsx.auditor")

_FILE = click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Check an exported copy (one base64 record value a line) instead of the topic.",
)


@click.command()
@click.option("--batch-size", type=int, default=500, show_default=True, help="Per transaction.")
def auditor(batch_size: int) -> None:
    """Run the auditor (the one writer of the disclosure log) until SIGTERM or Ctrl-C."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = Runtime(settings)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service = Auditor(
        bootstrap_servers=runtime.bootstrap,
        disclosures_topic=runtime.catalog.disclosures,
        audit_topic=runtime.catalog.audit,
        transactional_id=transactional_id(settings.topic_namespace),
        client=runtime.client_config(AUDITOR),
        batch_size=batch_size,
    )
    try:
        stats = service.run(until=stopping.is_set)
    except AuditorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        service.close()
    log.info("auditor stopped", extra={"chained": stats.chained, "aborted": stats.aborted})


@click.group()
def audit() -> None:
    """The disclosure log (Data Protection Act 2018 s.62). Operators only."""


def _values(file: Path | None) -> Iterator[bytes]:
    """The log's record values, oldest first: from an exported file, or from the topic."""
    if file is not None:
        with file.open("rb") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    yield base64.b64decode(line.strip(), validate=True)
                except binascii.Error:
                    yield b""  # not base64: reported as an undecodable record at this line
        return
    runtime = Runtime(Settings())
    yield from read_log(
        runtime.bootstrap, runtime.catalog.audit, client=runtime.client_config(OPERATOR)
    )


def _head(text: str | None) -> Head | None:
    if text is None:
        return None
    sequence, _, digest = text.partition(":")
    if not sequence.isdigit() or len(digest) != 64:
        raise click.BadParameter("expected SEQUENCE:HASH", param_hint="--expect-head")
    return Head(int(sequence), digest.lower(), -1)


@audit.command()
@_FILE
@click.option(
    "--expect-head",
    default=None,
    metavar="SEQUENCE:HASH",
    help="A head noted earlier: also detects records removed from the end.",
)
def verify(file: Path | None, expect_head: str | None) -> None:
    """Check the whole hash chain; print JSON; exit 1 at the first broken link."""
    result = verify_encoded(_values(file), expect_head=_head(expect_head))
    click.echo(json.dumps(result.to_json()))
    if not result.ok:
        sys.exit(1)


@audit.command()
@click.argument("urn")
@_FILE
def case(urn: str, file: Path | None) -> None:
    """Every disclosure of one case, oldest first, as JSON lines."""
    codec = Codec()
    unreadable = 0
    for value in _values(file):
        try:
            record = codec.decode_as(value, AuditRecord)
        except CodecError:
            unreadable += 1
            continue
        d = record.disclosure
        if d.case_urn != urn:
            continue
        line = {
            "time": d.disclosed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "recipient": d.recipient,
            "event_type": d.event_type,
            "event_id": str(d.event_id),
            "purpose": d.purpose,
            "legal_basis": d.legal_basis,
            "policy_version": d.policy_version,
            "payload_sha256": d.payload_sha256,
            "audit_sequence": record.sequence,
            "delivery_id": str(d.delivery_id),
            "disclosed_by": d.disclosed_by,
        }
        click.echo(json.dumps(line))
    if unreadable:
        click.echo(
            f"{unreadable} record(s) of the log did not decode: run `cjsx audit verify`",
            err=True,
        )


@audit.command()
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the copy (created readable by its owner only).",
)
def export(file: Path) -> None:
    """Copy the whole log to a file, one base64 record value a line, for ``--file`` later."""
    count = 0
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for value in _values(None):
            out.write(base64.b64encode(value) + b"\n")
            count += 1
    click.echo(f"exported {count} records to {file}", err=True)
