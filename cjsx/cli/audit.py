"""``cjsx auditor`` and ``cjsx audit``: the section 62 audit log, written and checked.

``auditor`` runs the one writer of the log (disclosures and console actions in one chain).
``audit verify`` checks the hash chain of both kinds of record, and with the auditor's public
key that every record was written by the auditor, and reports the first broken link and every
foreign record; ``audit case`` lists every disclosure of one case and every console action on
it; ``audit export`` copies the log to a file (a line per record: its base64 value, a space, its
base64 signature) that ``--file`` checks later, e.g. a copy produced to the Information
Commissioner. Reading the log needs the operator's access.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click

from cjsx.logs import configure_logging
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from common import processes
from infra.security.policy import AUDITOR, OPERATOR
from infra.security.secrets import AuditSigningKey
from schemas.codec import Codec, CodecError
from schemas.models import ActionAuditRecord
from streams.audit.auditor import Auditor, AuditorError, read_stored, transactional_id
from streams.audit.chain import Head, decode_link, verify_encoded
from streams.audit.signing import StoredRecord, key_id

log = logging.getLogger("cjsx.auditor")

_FILE = click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Check an exported copy (`cjsx audit export`) instead of the topic.",
)


@click.command()
@click.option("--batch-size", type=int, default=500, show_default=True, help="Per transaction.")
def auditor(batch_size: int) -> None:
    """Run the auditor (the one writer of the audit log) until SIGTERM or Ctrl-C."""
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = Runtime(settings)
    stopping = processes.stop_requested()
    service = Auditor(
        bootstrap_servers=runtime.bootstrap,
        disclosing_topics=runtime.catalog.disclosing_topics(),
        actions_topic=runtime.catalog.console_actions,
        audit_topic=runtime.catalog.audit,
        transactional_id=transactional_id(settings.topic_namespace),
        signing_key=AuditSigningKey(settings.secrets_dir).private_key(),
        client=runtime.client_config(AUDITOR),
        batch_size=batch_size,
    )
    try:
        stats = service.run(until=stopping.is_set)
    except AuditorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        service.close()
    log.info(
        "auditor stopped",
        extra={"chained": stats.chained, "aborted": stats.aborted, "foreign": stats.foreign},
    )


@click.group()
def audit() -> None:
    """The audit log: disclosures and console actions (DPA 2018 s.62). Operators only."""


def _values(file: Path | None) -> Iterator[StoredRecord]:
    """The log's records, oldest first: from an exported file, or from the topic."""
    if file is not None:
        with file.open("rb") as lines:
            for line in lines:
                if not line.strip():
                    continue
                value, _, signature = line.strip().partition(b" ")
                try:
                    yield StoredRecord(
                        base64.b64decode(value, validate=True),
                        base64.b64decode(signature, validate=True) if signature else None,
                    )
                except binascii.Error:
                    # Not base64: reported as an undecodable record at this line.
                    yield StoredRecord(b"")
        return
    runtime = Runtime(Settings())
    yield from read_stored(
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
    help="A head noted earlier: that record must be in the log with that hash (detects "
    "records removed from the end, and a log rewritten at or before it).",
)
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="The auditor's public key (PEM); default: the one in the secrets folder.",
)
def verify(file: Path | None, expect_head: str | None, public_key: Path | None) -> None:
    """Check the whole hash chain and who wrote each record; print JSON; exit 1 at the first
    broken link or any record the auditor did not write."""
    keys = AuditSigningKey(Settings().secrets_dir)
    source = public_key or keys.public_path
    if not source.exists():
        raise click.ClickException(
            f"no auditor's public key at {source}: pass --public-key (the auditor writes it "
            "beside its private key on first start)"
        )
    writer = keys.public_key(source)
    result = verify_encoded(_values(file), expect_head=_head(expect_head), writer=writer)
    click.echo(json.dumps({**result.to_json(), "writer_key": key_id(writer)}))
    if not result.ok:
        sys.exit(1)


@audit.command()
@click.argument("urn")
@_FILE
def case(urn: str, file: Path | None) -> None:
    """Every disclosure of one case, and every console action on it, oldest first, as JSON
    lines (``kind``: ``disclosure`` or ``console_action``)."""
    codec = Codec()
    unreadable = 0
    for stored in _values(file):
        try:
            record = decode_link(codec, stored.value)
        except CodecError:
            unreadable += 1
            continue
        if isinstance(record, ActionAuditRecord):
            if record.action.case_urn == urn:
                click.echo(json.dumps(_action_line(record)))
            continue
        d = record.disclosure
        if d.case_urn != urn:
            continue
        line = {
            "kind": "disclosure",
            "time": _iso(d.disclosed_at),
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


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _action_line(record: ActionAuditRecord) -> dict[str, object]:
    """One console action as ``audit case`` prints it: who, what, when, on what."""
    a = record.action
    return {
        "kind": "console_action",
        "time": _iso(a.acted_at),
        "action": a.action,
        "outcome": a.outcome,
        "user_id": a.user_id,
        "role": a.role,
        "rejection_id": a.rejection_id,
        "event_id": None if a.event_id is None else str(a.event_id),
        "correction_event_id": (
            None if a.correction_event_id is None else str(a.correction_event_id)
        ),
        "detail": a.detail,
        "audit_sequence": record.sequence,
        "recorded_by": a.recorded_by,
    }


@audit.command()
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the copy (created readable by its owner only).",
)
def export(file: Path) -> None:
    """Copy the whole log to a file for ``--file`` later: a line per record, its base64 value
    and, after a space, its base64 signature (none for a record that has none)."""
    count = 0
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for stored in _values(None):
            line = base64.b64encode(stored.value)
            if stored.signature is not None:
                line += b" " + base64.b64encode(stored.signature)
            out.write(line + b"\n")
            count += 1
    click.echo(f"exported {count} records to {file}", err=True)
