"""The gateway's web application: authenticate, limit, check, publish, answer after the ack.

The order of a ``POST /forces/{force}/events`` is fixed and each step has its own answer:
``401`` no valid token; ``403`` a token of another force; ``413`` a body or batch over the
limits; ``429`` the force has too many requests in flight or is over its rate; ``415`` not a
CloudEvents content mode; ``400`` an event the worker would reject (every event's verdict, as
``cjsx validate`` prints it; nothing of the request is published); ``503`` the broker did not
acknowledge in time (resend: the exchange recognises repeats by event id); ``202`` with the
event ids once the broker has acknowledged every event of the request. Access logs carry
method, route template, status, force and counts; never a body, a token or a header value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cjsx.gateway.auth import Authenticator, Caller
from cjsx.gateway.events import Checked, UnsupportedMediaType, check, split
from cjsx.gateway.exchange import ReceiptPage
from cjsx.gateway.limits import ForceLimits
from cjsx.gateway.settings import GatewaySettings
from producers import PublishRefused, Sent
from schemas.models import CaseEvent
from streams.validate import ValidationContext

log = logging.getLogger("cjsx.gateway.access")


class GatewayCode(StrEnum):
    """Why the gateway refused a request (not an event): stable codes for force systems."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    WRONG_FORCE = "WRONG_FORCE"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    TOO_MANY_EVENTS = "TOO_MANY_EVENTS"
    EVENT_TOO_LARGE = "EVENT_TOO_LARGE"
    TOO_MANY_IN_FLIGHT = "TOO_MANY_IN_FLIGHT"
    RATE_LIMITED = "RATE_LIMITED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED"
    BACKLOG = "BACKLOG"
    BAD_CURSOR = "BAD_CURSOR"


class Problem(BaseModel):
    """A refused request: a stable code and a message for the force's developers."""

    code: GatewayCode
    message: str


class ReasonOut(BaseModel):
    """One reason an event is not accepted, as ``cjsx validate`` and receipts give it."""

    code: str = Field(description="A reason code of docs/reason-codes.md.")
    field: str
    message: str
    hint: str


class Verdict(BaseModel):
    """``cjsx validate``'s verdict on one event."""

    event_id: str | None
    accepted: bool
    reasons: list[ReasonOut]


class Rejected(BaseModel):
    """Every event's verdict, in request order; nothing of the request was published."""

    verdicts: list[Verdict]


class Accepted(BaseModel):
    """The events the broker has acknowledged on the force's ingest topic, in order."""

    event_ids: list[str]


class ReceiptOut(BaseModel):
    """One receipt (schemas/avro Receipt) and where it is on the force's receipts topic."""

    model_config = {"extra": "allow"}
    partition: int
    offset: int
    event_id: str
    status: str


class Receipts(BaseModel):
    """Receipts after ``after``; pass ``next`` as ``after`` to read on."""

    receipts: list[ReceiptOut]
    next: str = Field(description="The position after these receipts: partition:offset,...")


class Health(BaseModel):
    status: str


class ExchangePort(Protocol):
    """What the application needs of Kafka (``cjsx.gateway.exchange.Exchange``)."""

    def publish(self, force: str, events: Sequence[CaseEvent]) -> list[Sent]: ...

    def pending(self, force: str) -> int: ...

    def receipts(self, force: str, after: dict[int, int], limit: int) -> ReceiptPage: ...

    def close(self) -> None: ...


@dataclass
class Services:
    """The application's collaborators, made by ``cjsx gateway`` (or a test)."""

    auth: Authenticator
    exchange: ExchangePort
    validation: ValidationContext


class _Refusal(Exception):
    """Ends a request with a problem response."""

    def __init__(
        self, status: int, code: GatewayCode, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.response = JSONResponse(
            Problem(code=code, message=message).model_dump(mode="json"), status
        )
        if retry_after is not None:
            self.response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        if status == 401:
            self.response.headers["WWW-Authenticate"] = 'Bearer realm="cjsx"'


@dataclass
class _Access:
    """What one access-log line says: no bodies, no tokens, no header values."""

    force: str | None = None
    events: int = 0
    rejected: int = 0


Handler = Callable[[Request, _Access], Awaitable[Response]]


def _is_code(text: str | None) -> bool:
    return text is not None and 0 < len(text) <= 4 and text.isdigit()


def _logged(
    template: str, handler: Handler, operation: dict[str, Any]
) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` as an endpoint that writes one access-log line per request and carries
    its OpenAPI operation (``cjsx.gateway.openapi`` reads it)."""

    async def endpoint(request: Request) -> Response:
        access = _Access(force=request.path_params.get("force"))
        started = time.perf_counter()
        status = 500
        try:
            try:
                response = await handler(request, access)
            except _Refusal as refusal:
                response = refusal.response
            status = response.status_code
            return response
        finally:
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": template,
                    "status": status,
                    # The path's force only when it is one (a code), never arbitrary text.
                    "force": access.force if _is_code(access.force) else None,
                    "events": access.events,
                    "rejected": access.rejected,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    endpoint.openapi = operation  # type: ignore[attr-defined]
    return endpoint


async def _acknowledged(sents: Sequence[Sent], seconds: float) -> bool:
    """True once the broker has acknowledged every one of ``sents`` (False on a failure or
    when ``seconds`` pass first)."""
    loop = asyncio.get_running_loop()
    waiting: list[asyncio.Future[None]] = []

    def settle(future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)

    for sent in sents:
        future: asyncio.Future[None] = loop.create_future()
        sent.add_both(lambda _, f=future: loop.call_soon_threadsafe(settle, f))
        waiting.append(future)
    if waiting:
        _, pending = await asyncio.wait(waiting, timeout=seconds)
        for future in pending:
            future.cancel()
        if pending:
            return False
    return all(sent.succeeded() for sent in sents)


def parse_cursor(text: str | None) -> dict[int, int]:
    """``partition:offset,...`` as a dict; ValueError when malformed."""
    if not text:
        return {}
    positions: dict[int, int] = {}
    for part in text.split(",")[:1000]:
        partition, _, offset = part.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            raise ValueError(part)
        positions[int(partition)] = int(offset)
    return positions


def format_cursor(positions: dict[int, int]) -> str:
    return ",".join(f"{p}:{o}" for p, o in sorted(positions.items()))


_REF = "#/components/schemas/"


def _answers(**answers: tuple[str, type[BaseModel]]) -> dict[str, Any]:
    """OpenAPI responses from ``_202=("what", Model)`` pairs."""
    return {
        code.lstrip("_"): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": _REF + model.__name__}}},
        }
        for code, (text, model) in answers.items()
    }


_FORCE = {
    "name": "force",
    "in": "path",
    "required": True,
    "description": "The force's two-digit PNC code (infra/registry.toml); the token's own.",
    "schema": {"type": "string", "pattern": "^[0-9]{2}$"},
}
_EVENT = {"$ref": "#/components/schemas/CloudEvent"}
POST_EVENTS: dict[str, Any] = {
    "operationId": "postEvents",
    "summary": "Publish case-file events as CloudEvents 1.0 (structured, batched or binary)",
    "description": (__doc__ or "").split("\n\n", 1)[1].strip(),
    "security": [{"bearer": []}],
    "parameters": [_FORCE],
    "requestBody": {
        "required": True,
        "content": {
            "application/cloudevents+json": {"schema": _EVENT},
            "application/cloudevents-batch+json": {"schema": {"type": "array", "items": _EVENT}},
            "application/json": {
                "schema": {"type": "object"},
                "description": "Binary mode: the event's data, attributes in ce-* headers.",
            },
        },
    },
    "responses": _answers(
        _202=("Every event is acknowledged by the broker on the force's ingest topic", Accepted),
        _400=("An event the exchange would reject; nothing was published", Rejected),
        _401=("No valid bearer token", Problem),
        _403=("The token is another force's", Problem),
        _413=("The body, the batch or an event is too large", Problem),
        _415=("Not a CloudEvents content mode", Problem),
        _429=("Too many requests in flight or over the force's rate; see Retry-After", Problem),
        _503=("Not acknowledged in time; send the same events again", Problem),
    ),
}
GET_RECEIPTS: dict[str, Any] = {
    "operationId": "getReceipts",
    "summary": "The force's receipts after a position",
    "security": [{"bearer": []}],
    "parameters": [
        _FORCE,
        {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "`next` of the previous answer; absent: from the oldest kept.",
            "schema": {"type": "string", "pattern": "^([0-9]+:[0-9]+(,[0-9]+:[0-9]+)*)?$"},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
        },
    ],
    "responses": _answers(
        _200=("Receipts in partition and offset order", Receipts),
        _400=("A malformed `after`", Problem),
        _401=("No valid bearer token", Problem),
        _403=("The token is another force's", Problem),
    ),
}
HEALTH: dict[str, Any] = {
    "operationId": "health",
    "summary": "The gateway is up",
    "responses": _answers(_200=("Up", Health)),
}


def create_app(settings: GatewaySettings, services: Services) -> Starlette:
    """The gateway over ``services``; the exchange is closed when the application stops."""
    limits = ForceLimits(
        settings.gateway_max_in_flight,
        settings.gateway_rate_per_second,
        settings.gateway_rate_burst,
    )

    counted: dict[str, tuple[float, int]] = {}

    async def backlog(force: str) -> int:
        """The force's unacknowledged events, counted at most twice a second."""
        at, count = counted.get(force, (-1.0, 0))
        if time.monotonic() - at > 0.5:
            count = await run_in_threadpool(services.exchange.pending, force)
            counted[force] = (time.monotonic(), count)
        return count

    async def caller_of(request: Request, force: str) -> Caller:
        authorization = request.headers.get("authorization")
        caller = services.auth.remembered(authorization)
        if caller is None:
            caller = await run_in_threadpool(services.auth.verify, authorization)
        if caller is None:
            raise _Refusal(401, GatewayCode.UNAUTHENTICATED, "a valid bearer token is required")
        if caller.force != force:
            raise _Refusal(
                403, GatewayCode.WRONG_FORCE, "this token may only post and read for its own force"
            )
        return caller

    async def body_of(request: Request) -> bytes:
        limit = settings.gateway_max_body_bytes
        too_large = _Refusal(
            413, GatewayCode.BODY_TOO_LARGE, f"the body is larger than {limit} bytes"
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_events(request: Request, access: _Access) -> Response:
        """Publish CloudEvents as the force: 202 only after the broker's acknowledgement."""
        force = request.path_params["force"]
        await caller_of(request, force)
        access.force = force
        if not limits.enter(force):
            raise _Refusal(
                429,
                GatewayCode.TOO_MANY_IN_FLIGHT,
                f"{settings.gateway_max_in_flight} requests of this force are in flight",
                retry_after=1,
            )
        try:
            return await publish(request, access, force)
        finally:
            limits.leave(force)

    async def publish(request: Request, access: _Access, force: str) -> Response:
        body = await body_of(request)
        try:
            pieces = split(request.headers, body)
        except UnsupportedMediaType as error:
            raise _Refusal(
                415,
                GatewayCode.UNSUPPORTED_MEDIA_TYPE,
                f"content type {str(error)[:60]!r}: use application/cloudevents+json, "
                "application/cloudevents-batch+json or binary mode (ce-* headers)",
            ) from None
        if isinstance(pieces, Checked):
            access.rejected = 1
            return JSONResponse({"verdicts": [pieces.verdict]}, 400)
        access.events = len(pieces)
        if len(pieces) > settings.gateway_max_batch_events:
            raise _Refusal(
                413,
                GatewayCode.TOO_MANY_EVENTS,
                f"{len(pieces)} events; a request takes at most "
                f"{settings.gateway_max_batch_events}",
            )
        wait = limits.take(force, max(1, len(pieces)))
        if wait:
            raise _Refusal(
                429,
                GatewayCode.RATE_LIMITED,
                f"over this force's rate of {settings.gateway_rate_per_second:g} events/s",
                retry_after=min(wait, 60.0),
            )
        if len(pieces) == 1:  # about a millisecond: not worth a thread hop
            checked = [check(pieces[0], services.validation, force)]
        else:
            checked = await run_in_threadpool(
                lambda: [check(piece, services.validation, force) for piece in pieces]
            )
        events = [c.event for c in checked if c.event is not None]
        if not checked or len(events) < len(checked):
            access.rejected = len(checked) - len(events)
            verdicts = [c.verdict for c in checked]
            return JSONResponse({"verdicts": verdicts}, 400)
        pending = await backlog(force)
        if pending >= settings.gateway_max_pending:
            raise _Refusal(
                503,
                GatewayCode.BACKLOG,
                f"{pending} events of this force wait for the broker; try again later",
                retry_after=5,
            )
        try:
            if len(events) == 1:  # one outbox commit (no fsync): cheaper than a thread hop
                sents = services.exchange.publish(force, events)
            else:
                sents = await run_in_threadpool(services.exchange.publish, force, events)
        except PublishRefused as refused:
            raise _Refusal(413, GatewayCode.EVENT_TOO_LARGE, refused.message) from None
        if not await _acknowledged(sents, settings.gateway_ack_timeout_seconds):
            raise _Refusal(
                503,
                GatewayCode.NOT_ACKNOWLEDGED,
                "the broker has not acknowledged every event yet; send the same events again "
                "(repeats are recognised by event id)",
                retry_after=5,
            )
        return JSONResponse(
            {"event_ids": [str(e.envelope.event_id) for e in events]}, status_code=202
        )

    async def get_receipts(request: Request, access: _Access) -> Response:
        """The force's receipts after a position, read as the force."""
        force = request.path_params["force"]
        await caller_of(request, force)
        access.force = force
        try:
            after = parse_cursor(request.query_params.get("after"))
        except ValueError:
            raise _Refusal(
                400, GatewayCode.BAD_CURSOR, "after is partition:offset,... as `next` gave it"
            ) from None
        limit_text = request.query_params.get("limit", "")
        limit = settings.gateway_receipts_limit
        if limit_text.isdigit():
            limit = max(1, min(limit, int(limit_text)))
        page = await run_in_threadpool(services.exchange.receipts, force, after, limit)
        access.events = len(page.receipts)
        return JSONResponse({"receipts": page.receipts, "next": format_cursor(page.next)})

    async def health(request: Request, access: _Access) -> Response:
        """The gateway is up (says nothing about the broker)."""
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(services.exchange.close)

    app = Starlette(
        routes=[
            Route(
                "/forces/{force}/events",
                _logged("/forces/{force}/events", post_events, POST_EVENTS),
                methods=["POST"],
            ),
            Route(
                "/forces/{force}/receipts",
                _logged("/forces/{force}/receipts", get_receipts, GET_RECEIPTS),
                methods=["GET"],
            ),
            Route("/healthz", _logged("/healthz", health, HEALTH), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


__all__ = [
    "Accepted",
    "GatewayCode",
    "Health",
    "Problem",
    "Receipts",
    "Rejected",
    "Services",
    "create_app",
]
