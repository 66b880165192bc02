"""``cjsx rejected``: what the exchange did not accept, for operators."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import click
from kafka import KafkaConsumer

from cjsx.cli.ids import force_code
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from infra.security.policy import OPERATOR
from schemas.codec import Codec, CodecError
from schemas.models import RejectedEvent


def rejected_records(runtime: Runtime, idle_ms: int = 2000) -> Iterator[RejectedEvent]:
    """Every record on the rejected topic, oldest first (read without a consumer group)."""
    codec = Codec()
    consumer = KafkaConsumer(
        runtime.catalog.rejected,
        bootstrap_servers=runtime.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
        **runtime.client_config(OPERATOR),
    )
    try:
        for record in consumer:
            yield codec.decode_as(record.value, RejectedEvent)
    finally:
        consumer.close()


def to_json(rejected: RejectedEvent) -> dict[str, object]:
    """A rejected record for people: the original bytes as base64, the event if it decodes."""
    data = rejected.model_dump(mode="json", exclude={"value", "key", "headers"})
    data["value"] = _b64(rejected.value)
    data["key"] = _b64(rejected.key)
    data["headers"] = [{"key": h.key, "value": _b64(h.value)} for h in rejected.headers]
    try:
        data["event"] = Codec().decode(rejected.value).model_dump(mode="json")
    except CodecError as error:
        data["event"] = None
        data["decode_error"] = f"{error.code}: {error.message}"
    return data


def _b64(raw: bytes | None) -> str | None:
    """Original bytes as base64: they are kept exactly, and need not be text."""
    return None if raw is None else base64.b64encode(raw).decode()


@click.group()
def rejected() -> None:
    """The rejected-events topic (operators only)."""


@rejected.command("list")
@click.option("--force", default=None, callback=force_code, help="Only this force's rejections.")
def list_rejected(force: str | None) -> None:
    """One line per rejection: id, time, force, where it came from, reason codes."""
    for record in rejected_records(Runtime(Settings())):
        if force is not None and record.force != force:
            continue
        codes = ",".join(r.code for r in record.reasons)
        where = f"{record.source_topic}/{record.source_partition}/{record.source_offset}"
        click.echo(
            f"{record.rejection_id}\t{record.rejected_at.isoformat()}\t{record.force}\t"
            f"{where}\t{codes}"
        )


@rejected.command()
@click.argument("rejection_id", type=click.UUID)
def show(rejection_id: uuid.UUID) -> None:
    """The whole rejection as JSON: reasons, origin, original bytes and decoded event."""
    for record in rejected_records(Runtime(Settings())):
        if record.rejection_id == rejection_id:
            click.echo(json.dumps(to_json(record), indent=2))
            return
    raise click.ClickException(f"no rejection {rejection_id}")
