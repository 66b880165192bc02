"""``cjsx publish``: a force's events in the JSON form, checked here and sent to the exchange.

For force systems that can write a file but not Avro on Kafka. The checking and publishing are
``producers.submit``'s (which the HTTP gateway shares); this module reads lines and prints.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
from kafka.errors import KafkaError

from cjsx.cli.ids import EXIT_INVALID, EXIT_VALID, Oversized, bounded_lines, force_code
from cjsx.logs import configure_logging
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from common.errors import CjsxError
from infra.security.policy import force_principal
from producers import Publisher
from producers.submit import (
    BrokerCode,
    BrokerProblem,
    Checker,
    Outcomes,
    ReceiptReader,
    ReceiptsUnavailable,
    Submission,
    SubmitStatus,
    Submitter,
    broker_problem,
)
from schemas.models import Receipt, ReceiptStatus

EXIT_UNCONFIRMED = 3
"""The exchange did not confirm: the broker refused or did not answer, or a receipt did not
come in time. Nothing is lost: events not acknowledged stay in the outbox."""
EXIT_INTERRUPTED = 130
_WINDOW = 1000
"""Events in flight before the oldest is waited for: output keeps the input's order."""


@dataclass
class _Line:
    number: int
    submission: Submission
    receipt: Receipt | None = None


class _Stop(Exception):
    """The broker refused or did not answer; ``problem`` says which, in coded words."""

    def __init__(self, problem: BrokerProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Run:
    """One ``cjsx publish``: submissions in input order, printed once settled."""

    def __init__(
        self, submitter: Submitter, outcomes: Outcomes | None, timeout: float, principal: str
    ) -> None:
        self.submitter = submitter
        self.outcomes = outcomes
        self.timeout = timeout
        self.principal = principal
        self.pending: deque[_Line] = deque()
        self.code = EXIT_VALID
        self.late = False  # a receipt has not come in time: do not wait that long again

    def add(self, number: int, raw: bytes | Oversized) -> None:
        if isinstance(raw, Oversized):
            submission = Submission(Checker.too_long(raw.size))
        else:
            submission = self.submitter.submit(raw)
        if submission.sent is not None and self.outcomes is not None:
            self.outcomes.expect(str(submission.verdict.event_id))
        self.pending.append(_Line(number, submission))
        self.drain(block=len(self.pending) > _WINDOW)

    def drain(self, *, block: bool) -> None:
        """Print settled lines from the oldest; with ``block``, wait for the oldest first."""
        while self.pending:
            line = self.pending[0]
            if line.submission.sent is not None:
                if not (block or (line.submission.acknowledged and self.outcomes is None)):
                    return
                self._settle(line)
            self._print(self.pending.popleft())
            block = block and len(self.pending) > _WINDOW

    def finish(self) -> None:
        while self.pending:
            self.drain(block=True)

    def _settle(self, line: _Line) -> None:
        try:
            self.submitter.confirm(line.submission, self.timeout)
        except KafkaError as error:
            topic = self.submitter.publisher.topic
            raise _Stop(broker_problem(error, self.principal, topic, "write")) from None
        if self.outcomes is not None:
            wait = 0.0 if self.late else self.timeout
            try:
                line.receipt = self.outcomes.wait(str(line.submission.verdict.event_id), wait)
            except ReceiptsUnavailable as unavailable:
                raise _Stop(unavailable.problem) from None
            self.late = self.late or line.receipt is None

    def _print(self, line: _Line, problem: BrokerProblem | None = None) -> None:
        verdict = line.submission.verdict
        reasons = verdict.reasons_json()
        if line.submission.sent is None:
            status = SubmitStatus.REJECTED_LOCALLY
            self.code = max(self.code, EXIT_INVALID)
        elif problem is None or line.submission.acknowledged:
            status = SubmitStatus.PUBLISHED
        else:
            status = SubmitStatus.NOT_PUBLISHED
            reasons = [{**problem.to_json(), "field": "", "hint": _KEPT}]
        result: dict[str, Any] = {
            "line": line.number,
            "event_id": verdict.event_id,
            "status": status.value,
            "reasons": reasons,
        }
        if self.outcomes is not None and status is SubmitStatus.PUBLISHED:
            result["receipt"] = (
                None if line.receipt is None else line.receipt.model_dump(mode="json")
            )
            if line.receipt is None:
                self.code = max(self.code, EXIT_UNCONFIRMED)
            elif line.receipt.status is ReceiptStatus.REJECTED:
                self.code = max(self.code, EXIT_INVALID)
        click.echo(json.dumps(result))

    def abandon(self, problem: BrokerProblem) -> None:
        """Print what is pending as it stands after the broker failed us."""
        while self.pending:
            self._print(self.pending.popleft(), problem)
        self.code = EXIT_UNCONFIRMED


_KEPT = (
    "It is kept in the outbox and sent, with the same event id, by the next `cjsx publish` "
    "for this force once the broker takes it; publishing the line again is also safe."
)


def command_logging(settings: Settings) -> None:
    """Structured logs on standard error, at WARNING unless CJSX_LOG_LEVEL says otherwise:
    a person or script reading the output wants the coded errors, not Kafka's connections.

    By default kafka-python's own loggers are silenced too: the commands report every broker
    problem as a coded message (NOT_AUTHORISED, BROKER_UNAVAILABLE, ...), and the library logs
    an ERROR with a traceback when its network thread races its own close (seen on a loaded
    machine: "Error receiving network data closing socket"). CJSX_LOG_LEVEL shows them all.
    """
    explicit = "log_level" in settings.model_fields_set
    configure_logging(settings.log_level if explicit else "WARNING", json=settings.log_json)
    if not explicit:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def force_runtime(force: str) -> Runtime:
    """The settings, logging and runtime of a command acting as ``force``'s system; a usage
    error (exit 2) when this exchange does not serve that force."""
    settings = Settings()
    command_logging(settings)
    runtime = Runtime(settings)
    if runtime.registry.force(force) is None:
        raise click.BadParameter(
            f"force {force} is not served here (CJSX_FORCES)", param_hint="--force"
        )
    return runtime


def _fail(problem: BrokerProblem, detail: str = "") -> None:
    click.echo(f"cjsx publish: {problem.code.value}: {problem.message}{detail}", err=True)


@click.command()
@click.argument("file", type=click.File("rb", lazy=False))
@click.option(
    "--force",
    required=True,
    metavar="CODE",
    callback=force_code,
    help="Your force's two-digit PNC code (for example 05). Events go to this force's ingest "
    "topic, as this force's principal (force-CODE) with its own credentials.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Also wait for each published event's receipt from the exchange (ACCEPTED, REJECTED "
    "with reasons, or DUPLICATE) and print it with the event's line.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the broker to acknowledge an event (and, with --wait, for its "
    "receipt) before giving up.",
)
def publish(file: IO[bytes], force: str, wait: bool, timeout: float) -> None:
    """Publish case-file events in FILE (JSON Lines; '-' for standard input) for a force.

    Each line is one event in the CloudEvents JSON form that `cjsx validate` reads
    (docs/wire-format.md). Every line is first checked here with exactly the exchange's own
    rules, as `cjsx validate --force CODE` checks it; only lines that pass are sent, and a
    line that fails never reaches the exchange. Blank lines are skipped. Prints one JSON
    object per line, in input order:

      {"line": N, "event_id": "...", "status": "published", "reasons": []}

    status is "published" (the broker has stored it), "rejected_locally" (reasons say why,
    with hints; fix the line and publish it again) or "not_published" (the broker refused or
    did not answer; the event is kept and sent later). With --wait each published line also
    has "receipt": the exchange's receipt, or null if it did not come in time.

    Exit 0: every line published (and, with --wait, none rejected by the exchange);
    1: any line rejected; 2: usage error (unknown force, unreadable file); 3: the exchange did
    not confirm (see the coded message on standard error, e.g. NOT_AUTHORISED).

    The broker, principal and credentials come from the CJSX_* settings (CJSX_BOOTSTRAP_SERVERS,
    CJSX_PRINCIPAL, CJSX_PASSWORD, CJSX_SECRETS_DIR). Example:

      cjsx publish --force 05 --wait events.jsonl
    """
    runtime = force_runtime(force)
    principal = runtime.principal(force_principal(force))
    topic = runtime.catalog.ingest(force)
    try:
        bootstrap = runtime.bootstrap
        client = runtime.client_config(force_principal(force))
    except CjsxError as error:
        _fail(BrokerProblem(BrokerCode.BROKER_UNAVAILABLE, str(error)))
        raise SystemExit(EXIT_UNCONFIRMED) from None
    reader: ReceiptReader | None = None
    if wait:  # from the end as it is now, before anything is sent: no receipt is missed
        try:
            reader = ReceiptReader(
                bootstrap_servers=bootstrap,
                topic=runtime.catalog.receipts(force),
                start="end",
                principal=principal,
                **client,
            )
        except ReceiptsUnavailable as unavailable:
            _fail(unavailable.problem)
            raise SystemExit(EXIT_UNCONFIRMED) from None
    outbox = Path(runtime.settings.cache_dir) / "outbox"
    publisher = Publisher(
        bootstrap_servers=bootstrap,
        topic=topic,
        outbox_dir=outbox,
        max_message_bytes=runtime.catalog.max_message_bytes(topic),
        **client,
    )
    run = _Run(
        Submitter(publisher, Checker(force)),
        None if reader is None else Outcomes(reader),
        timeout,
        principal,
    )
    number = 0
    try:
        for number, raw in enumerate(bounded_lines(file), 1):
            if isinstance(raw, bytes) and not raw.strip():
                continue
            run.add(number, raw)
        run.finish()
    except _Stop as stop:
        run.abandon(stop.problem)
        kept = publisher.pending()
        _fail(stop.problem, f"; stopped at line {number}, {kept} event(s) kept in {outbox}")
    except KeyboardInterrupt:
        click.echo(f"cjsx publish: interrupted at line {number}", err=True)
        run.code = EXIT_INTERRUPTED
    finally:
        publisher.close(timeout=0 if run.code >= EXIT_UNCONFIRMED else timeout)
        if reader is not None:
            reader.close()
    if run.late:
        click.echo(
            "cjsx publish: RECEIPT_TIMEOUT: some receipts did not come within "
            f"{timeout} s; follow them with `cjsx receipts --force {force} --follow`",
            err=True,
        )
    raise SystemExit(run.code)
