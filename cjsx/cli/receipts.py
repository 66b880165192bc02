"""``cjsx receipts``: what became of a force's events, from its own receipts topic.

Reading is ``producers.submit.ReceiptReader``'s (shared with ``cjsx publish --wait`` and the
HTTP gateway); this module chooses where to start, formats and stops on a signal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from cjsx.cli.ids import force_code
from cjsx.cli.publish import force_runtime
from common import processes
from common.errors import CjsxError
from infra.security.policy import force_principal
from producers.submit import BrokerCode, ReceiptReader, ReceiptsUnavailable, Start
from schemas.models import Receipt, ReceiptStatus

EXIT_OK, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 2, 3
_COLUMNS = (("ISSUED (UTC)", 20), ("STATUS", 12), ("EVENT", 36), ("CASE", 13))


class IsoTime(click.ParamType):
    """An ISO 8601 time; without a zone it is taken as UTC."""

    name = "ISO-TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"{str(value)[:40]!r} is not an ISO 8601 time (2026-12-01T09:00Z)", param, ctx
            )
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def detail(receipt: Receipt) -> str:
    """The receipt's last column: where the event went, or why not."""
    match receipt.status:
        case ReceiptStatus.REJECTED:
            return ",".join(r.code for r in receipt.reasons)
        case ReceiptStatus.DUPLICATE:
            return f"repeats {receipt.original_event_id}"
        case ReceiptStatus.ACKNOWLEDGED:
            return f"stored by {receipt.recipient}"
        case _:
            went = receipt.deliveries or ([receipt.recipient] if receipt.recipient else [])
            return f"to {', '.join(went)}" if went else ""


def table_header() -> str:
    return "  ".join(name.ljust(width) for name, width in _COLUMNS) + "  DETAIL"


def table_row(receipt: Receipt) -> str:
    issued = receipt.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cells = (issued, receipt.status.value, str(receipt.event_id), receipt.case_urn)
    padded = "  ".join(c.ljust(w) for c, (_, w) in zip(cells, _COLUMNS, strict=True))
    return f"{padded}  {detail(receipt)}"


@click.command()
@click.option(
    "--force",
    required=True,
    metavar="CODE",
    callback=force_code,
    help="Your force's two-digit PNC code (for example 05): read its receipts, as its "
    "principal (force-CODE) with its own credentials.",
)
@click.option(
    "--follow", is_flag=True, help="Keep printing receipts as they come, until Ctrl-C or SIGTERM."
)
@click.option(
    "--since",
    type=IsoTime(),
    default=None,
    help="Start at the receipts the exchange wrote at or after this time (ISO 8601; UTC if no "
    "zone).",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Start at the oldest receipt the exchange still keeps (the default without --follow).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="json: one receipt object per line, for scripts; table: aligned columns, for people.",
)
def receipts(
    force: str, follow: bool, since: datetime | None, from_beginning: bool, output: str
) -> None:
    """Print a force's receipts: what the exchange did with each event it published.

    Each event gets one ACCEPTED (with the partners it went to), REJECTED (with every reason:
    code, field, message, hint) or DUPLICATE receipt, then DELIVERED and ACKNOWLEDGED ones as
    partners receive and store it. JSON lines have the receipt's fields: receipt_id, event_id,
    case_urn, force, status, reasons, original_event_id, recipient, issued_at, deliveries.

    Without --follow, prints the receipts there are now (from the oldest kept, or --since) and
    stops. With --follow, starts with the receipts written from the moment the command ran (or
    at --since / --from-beginning), so none written while it connects is missed, and keeps
    going until interrupted. Exit 0 (also when stopped by Ctrl-C or SIGTERM); 2: usage error;
    3: the broker refused or did not answer (coded message on standard error).

    Example: cjsx receipts --force 05 --since 2026-12-01T09:00Z --format table
    """
    ran_at = datetime.now(UTC)
    if since is not None and from_beginning:
        raise click.UsageError("give --since or --from-beginning, not both")
    runtime = force_runtime(force)
    start: Start = since or (ran_at if follow and not from_beginning else "beginning")
    principal = runtime.principal(force_principal(force))
    stopping = processes.stop_requested()
    try:
        reader = ReceiptReader(
            bootstrap_servers=runtime.bootstrap,
            topic=runtime.catalog.receipts(force),
            start=start,
            principal=principal,
            **runtime.client_config(force_principal(force)),
        )
    except ReceiptsUnavailable as unavailable:
        problem = unavailable.problem
        click.echo(f"cjsx receipts: {problem.code.value}: {problem.message}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    except CjsxError as error:
        click.echo(f"cjsx receipts: {BrokerCode.BROKER_UNAVAILABLE.value}: {error}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    try:
        if output == "table":
            click.echo(table_header())
        while not stopping.is_set() and (follow or not reader.caught_up):
            for receipt in reader.read(timeout_ms=500):
                if output == "table":
                    click.echo(table_row(receipt))
                else:
                    click.echo(json.dumps(receipt.model_dump(mode="json")))
    except ReceiptsUnavailable as unavailable:
        problem = unavailable.problem
        click.echo(f"cjsx receipts: {problem.code.value}: {problem.message}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    finally:
        reader.close()
    raise SystemExit(EXIT_OK)
