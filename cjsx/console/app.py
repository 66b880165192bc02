"""The console's web application: pages, forms and the rules of who may do what.

Every page needs a signed-in user; every form carries the session's CSRF token; an exception
another force's user may not see answers 404 exactly like one that does not exist. Kafka is
behind ``Services`` so unit tests run the whole application with Starlette's TestClient.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from kafka.errors import KafkaError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cjsx.console.actions import (
    REFUSED,
    UNKNOWN_USER,
    Act,
    ActionCode,
    ActionNotRecorded,
    searched,
)
from cjsx.console.broker import Step
from cjsx.console.correction import (
    Field,
    apply_edits,
    check,
    corrected,
    diff,
    flatten,
    form_fields,
    recipient_views,
)
from cjsx.console.panel import MetricsHistory
from cjsx.console.settings import ConsoleSettings
from cjsx.console.store import ConsoleStore, Exception_, Filters, State, StateError
from cjsx.console.throttle import SignInThrottle
from cjsx.console.users import User, verify_password
from infra.registry import Registry
from schemas.codec import Codec, CodecError
from schemas.models import EVENT_TYPES, CaseEvent, DefendantCharged, RemandStatusChanged
from schemas.reasons import Reason, ReasonCode
from streams.route import Policy, load_policy
from streams.validate import ValidationContext

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
EVENT_BY_NAME: dict[str, type[CaseEvent]] = {t.avro_name: t for t in EVENT_TYPES}
URGENT = timedelta(days=7)
"""A case whose next hearing is this close (today included) is marked urgent in the queue."""

Publish = Callable[[str, CaseEvent], str]
"""Publish an event as a force; returns where it went (topic/partition/offset)."""

Track = Callable[[list[str], str], list[Step]]
"""Where an event or case of these forces has been (receipts and audit records)."""


@dataclass
class Services:
    """What the pages need from the world; Kafka-free in unit tests."""

    store: ConsoleStore
    users: dict[str, User]
    registry: Registry
    validation: ValidationContext
    publish: Publish
    codec: Codec
    track: Track
    metrics: MetricsHistory
    policy: Policy = field(default_factory=load_policy)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def session_key(settings: ConsoleSettings) -> str:
    """The key that signs session cookies: given, or generated once, owner-only."""
    if settings.console_secret_key is not None:
        return settings.console_secret_key.get_secret_value()
    path = settings.secrets_dir / "console-session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class SecurityHeaders:
    """No framing, no sniffing, no referrer, and scripts and styles from this origin only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [
                    (
                        b"content-security-policy",
                        b"default-src 'self'; frame-ancestors 'none'; form-action 'self'",
                    ),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def _age(then: datetime, now: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def _hex_lines(data: bytes) -> list[str]:
    return [f"{i:08x}  {data[i : i + 16].hex(' ')}" for i in range(0, min(len(data), 4096), 16)]


def create_app(settings: ConsoleSettings, services: Services) -> Starlette:
    """The console application over ``services`` (no background work: see ``cjsx console``)."""
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    store = services.store
    throttle = SignInThrottle(settings.console_sign_in_limit)

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.update(
            user=current_user(request),
            csrf=csrf_token(request),
            path=request.url.path,
            registry=services.registry,
        )
        return HTMLResponse(templates.get_template(name).render(**context), status_code)

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    async def form_of(request: Request) -> FormData:
        """The posted form, refused (403) unless it carries this session's CSRF token."""
        form = await request.form()
        given = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
        expected = request.session.get("csrf")
        if (
            not isinstance(given, str)
            or not isinstance(expected, str)
            or not (secrets.compare_digest(given, expected))
        ):
            raise HTTPException(403, "The form has expired. Go back, reload the page and retry.")
        return form

    def current_user(request: Request) -> User | None:
        user_id = request.session.get("user")
        return services.users.get(user_id) if isinstance(user_id, str) else None

    def signed_in(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise HTTPException(303, headers={"location": "/sign-in"})
        return user

    def visible(request: Request, user: User) -> Exception_:
        """The exception named in the URL, if this user may see it; 404 otherwise, alike."""
        found = store.get(request.path_params["rejection_id"])
        if found is None or not user.may_see(found.force):
            raise HTTPException(404, "Page not found")
        return found

    # -- signing in ---------------------------------------------------------------------------

    async def sign_in_page(request: Request) -> Response:
        return render(request, "sign_in.html", errors={})

    async def sign_in(request: Request) -> Response:
        form = await form_of(request)
        user_id = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        address = request.client.host if request.client else "unknown"
        wait = throttle.wait_seconds(user_id, address)
        if wait:
            known = user_id if user_id in services.users else UNKNOWN_USER
            store.journal(Act(known, ActionCode.SIGN_IN_THROTTLED, outcome=REFUSED))
            minutes = math.ceil(wait / 60)
            return render(
                request,
                "sign_in.html",
                429,
                errors={
                    "password": "Too many failed sign-ins. "
                    f"Wait {minutes} minute{'s' if minutes > 1 else ''} and try again"
                },
                username=user_id,
            )
        user = services.users.get(user_id)
        ok = await run_in_threadpool(verify_password, user, password)
        if not ok or user is None:
            throttle.failed(user_id, address)
            store.journal(
                Act(user.id if user else UNKNOWN_USER, ActionCode.SIGN_IN_REFUSED, outcome=REFUSED)
            )
            return render(
                request,
                "sign_in.html",
                401,
                errors={"password": "Enter a correct user name and password"},
                username=user_id,
            )
        throttle.succeeded(user_id)
        request.session.clear()
        request.session["user"] = user.id
        request.session["csrf"] = secrets.token_urlsafe(32)
        store.journal(Act(user.id, ActionCode.SIGN_IN))
        return RedirectResponse("/", 303)

    async def sign_out(request: Request) -> Response:
        await form_of(request)
        user = current_user(request)
        if user is not None:
            store.journal(Act(user.id, ActionCode.SIGN_OUT))
        request.session.clear()
        return RedirectResponse("/sign-in", 303)

    # -- the queue ----------------------------------------------------------------------------

    async def queue(request: Request) -> Response:
        user = signed_in(request)
        params = request.query_params
        errors: dict[str, str] = {}
        age: float | None = None
        if params.get("age"):
            try:
                hours = float(params["age"])
                if not math.isfinite(hours) or hours < 0:
                    raise ValueError
                age = hours
            except ValueError:
                errors["age"] = "Enter the age as a number of hours, like 24"
        force = params.get("force") or None
        if not user.operator:
            force = user.force
        code = params.get("code") or None
        if code is not None and code not in ReasonCode.__members__:
            errors["code"] = "Choose a reason code from the list"
            code = None
        state_name = params.get("state") or State.OPEN.value
        states = tuple(s for s in State if s.value == state_name) or (State.OPEN,)
        filters = Filters(force, code, age, params.get("urn") or None, states)
        now = services.clock()
        items = store.queue(filters, now=now)
        rows = [
            {"item": item, "age": _age(item.rejected_at, now), "urgent": _urgent(item, now)}
            for item in items
        ]
        return render(
            request,
            "queue.html",
            rows=rows,
            counts=store.counts_by_code(filters),
            filters=filters,
            params=params,
            errors=errors,
            codes=list(ReasonCode),
            states=list(State),
        )

    def _urgent(item: Exception_, now: datetime) -> bool:
        try:
            event = services.codec.decode(item.value)
        except CodecError:
            return False
        hearing: date | None = None
        if isinstance(event, DefendantCharged):
            hearing = event.first_hearing.date
        elif isinstance(event, RemandStatusChanged) and event.next_hearing is not None:
            hearing = event.next_hearing.date
        return hearing is not None and timedelta(0) <= hearing - now.date() <= URGENT

    # -- one exception ------------------------------------------------------------------------

    def decoded(item: Exception_) -> tuple[CaseEvent | None, str | None]:
        try:
            return services.codec.decode_as(item.value, CaseEvent), None
        except CodecError as error:
            return None, f"{error.code}: {error.message}"

    def page(
        request: Request,
        user: User,
        item: Exception_,
        *,
        status_code: int = 200,
        fields: list[Field] | None = None,
        problems: list[Reason] | None = None,
        dismiss_error: str | None = None,
    ) -> Response:
        event, decode_error = decoded(item)
        original = event.model_dump(mode="json") if event is not None else None
        pending = store.pending(item.rejection_id)
        changes = []
        if pending is not None and original is not None:
            changes = diff(original, pending.event)
        return render(
            request,
            "exception.html",
            status_code,
            item=item,
            event=event,
            decode_error=decode_error,
            fields=fields
            if fields is not None
            else (form_fields(original, item.reasons) if original is not None else []),
            problems=problems or [],
            hex_lines=_hex_lines(item.value),
            pending=pending,
            changes=changes,
            history=store.actions(item.rejection_id),
            dismiss_error=dismiss_error,
            corrections=store.corrections_of(item.rejection_id),
            may_approve=(
                pending is not None
                and user.reviewer
                and pending.editor != user.id
                and pending.published_at is None
                and item.state is State.AWAITING_APPROVAL
            ),
        )

    async def exception_page(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        store.consulted(Act(user.id, ActionCode.VIEW_EXCEPTION, item.rejection_id))
        return page(request, user, item)

    def edited(item: Exception_, form: FormData) -> tuple[CaseEvent, dict[str, Any], Any]:
        event, _ = decoded(item)
        if event is None or item.force is None:
            raise HTTPException(409, "This exception has no decodable event to correct")
        original = event.model_dump(mode="json")
        edits = {
            key.removeprefix("f:"): str(value)
            for key, value in form.multi_items()
            if key.startswith("f:")
        }
        candidate = apply_edits(original, edits, item.reasons)
        return event, candidate, check(type(event), candidate, item.force, services.validation)

    async def check_fragment(request: Request) -> Response:
        """htmx: the worker's verdict on the form as it stands."""
        user = signed_in(request)
        item = visible(request, user)
        form = await form_of(request)
        _, _, checked = edited(item, form)
        return render(request, "_check.html", problems=checked.reasons, checked=True)

    async def preview(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        form = await form_of(request)
        event, candidate, checked = edited(item, form)
        original = event.model_dump(mode="json")
        if checked.reasons or checked.event is None:
            fields = [
                Field(f.path, str(_leaf(candidate, f.path, f.value)), f.editable, f.was_null)
                for f in form_fields(original, item.reasons)
            ]
            return page(
                request, user, item, status_code=422, fields=fields, problems=checked.reasons
            )
        changes = diff(original, candidate)
        edits = {f"f:{c.path}": c.after for c in changes}
        views = recipient_views(
            checked.event, services.validation.standing, services.registry, services.policy
        )
        return render(request, "preview.html", item=item, changes=changes, edits=edits, views=views)

    async def submit(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        form = await form_of(request)
        _, _, checked = edited(item, form)
        if checked.reasons or checked.event is None:
            return page(request, user, item, status_code=422, problems=checked.reasons)
        correction = corrected(checked.event, item.event_id, services.clock())
        try:
            store.propose(item.rejection_id, correction, user.id)
        except StateError as error:
            raise HTTPException(409, str(error)) from error
        log.info("correction proposed", extra={"rejection_id": item.rejection_id})
        return RedirectResponse(f"/exceptions/{item.rejection_id}", 303)

    async def approve_one(user: User, item: Exception_) -> None:
        """The second pair of eyes, then the force's ingest topic; refusals are journalled."""
        pending = store.pending(item.rejection_id)
        if pending is None or item.state is not State.AWAITING_APPROVAL or item.force is None:
            raise HTTPException(409, "No correction of this exception is waiting for approval")
        if not user.reviewer:
            raise HTTPException(403, "Only a reviewer can approve a correction")
        if pending.editor == user.id:
            store.journal(
                Act(user.id, ActionCode.APPROVE_REFUSED, item.rejection_id, outcome=REFUSED)
            )
            raise HTTPException(403, "You cannot approve your own correction")
        if pending.reviewer is None:
            try:
                store.approve(pending.correction_id, user.id)
            except StateError as error:
                raise HTTPException(409, str(error)) from error
        event = EVENT_BY_NAME[pending.event_type].model_validate(pending.event)
        try:
            where = await run_in_threadpool(services.publish, item.force, event)
        except KafkaError as error:
            log.warning(
                "resubmission failed",
                extra={"rejection_id": item.rejection_id, "error": type(error).__name__},
            )
            raise HTTPException(
                503,
                "The exchange could not be reached. The approval is recorded; "
                "approve again to send the correction.",
            ) from error
        store.published(pending.correction_id, where, user.id)
        log.info(
            "correction resubmitted",
            extra={"rejection_id": item.rejection_id, "event_id": pending.new_event_id},
        )

    async def approve(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        await form_of(request)
        await approve_one(user, item)
        return RedirectResponse(f"/exceptions/{item.rejection_id}", 303)

    # -- replay after a standing-data update ----------------------------------------------------

    def replay_candidates(user: User, code: str) -> list[tuple[Exception_, CaseEvent | None]]:
        filters = Filters(None if user.operator else user.force, code, None, None)
        return [(item, decoded(item)[0]) for item in store.queue(filters)]

    def dry_run(
        user: User, code: str
    ) -> tuple[list[tuple[Exception_, CaseEvent]], list[tuple[Exception_, list[Reason]]]]:
        """Every open exception with ``code`` checked again against current standing data."""
        passing: list[tuple[Exception_, CaseEvent]] = []
        failing: list[tuple[Exception_, list[Reason]]] = []
        for item, event in replay_candidates(user, code):
            if event is None or item.force is None:
                failing.append((item, [Reason.of(ReasonCode.UNDECODABLE, "", "no event")]))
                continue
            checked = check(
                type(event), event.model_dump(mode="json"), item.force, services.validation
            )
            if checked.reasons or checked.event is None:
                failing.append((item, checked.reasons))
            else:
                passing.append((item, checked.event))
        return passing, failing

    def replay_code(form: FormData | None, request: Request) -> str:
        code = str((form or request.query_params).get("code", ""))
        if code not in ReasonCode.__members__:
            raise HTTPException(422, "Choose a reason code")
        return code

    async def replay_page(request: Request) -> Response:
        user = signed_in(request)
        filters = Filters(None if user.operator else user.force)
        return render(
            request, "replay.html", counts=store.counts_by_code(filters), code=None, ran=False
        )

    async def replay_dry_run(request: Request) -> Response:
        user = signed_in(request)
        form = await form_of(request)
        code = replay_code(form, request)
        passing, failing = dry_run(user, code)
        counted = f"{code}: {len(passing)} of {len(passing) + len(failing)} would pass"
        store.journal(Act(user.id, ActionCode.REPLAY_DRY_RUN, detail=counted), counted)
        filters = Filters(None if user.operator else user.force)
        return render(
            request,
            "replay.html",
            counts=store.counts_by_code(filters),
            code=code,
            ran=True,
            passing=passing,
            failing=failing,
        )

    async def replay_propose(request: Request) -> Response:
        """Propose every exception that now passes for resubmission, as one batch."""
        user = signed_in(request)
        form = await form_of(request)
        code = replay_code(form, request)
        passing, _ = dry_run(user, code)
        if not passing:
            raise HTTPException(409, "No exception with this code would now pass")
        batch = str(uuid.uuid4())
        now = services.clock()
        for item, event in passing:
            resend = corrected(event, item.event_id, now)
            try:
                store.propose(item.rejection_id, resend, user.id, batch=batch)
            except StateError:
                continue  # someone acted on it meanwhile: it is no longer open
        return RedirectResponse(f"/replay/batches/{batch}", 303)

    def batch_items(request: Request, user: User) -> list[tuple[Exception_, Any]]:
        items = store.batch(request.path_params["batch"])
        visible_items = [(e, c) for e, c in items if user.may_see(e.force)]
        if not visible_items:
            raise HTTPException(404, "Page not found")
        return visible_items

    async def batch_page(request: Request) -> Response:
        user = signed_in(request)
        items = batch_items(request, user)
        editor = items[0][1].editor
        waiting = [e for e, c in items if e.state is State.AWAITING_APPROVAL]
        return render(
            request,
            "batch.html",
            items=items,
            editor=editor,
            waiting=waiting,
            batch=request.path_params["batch"],
            may_approve=user.reviewer and editor != user.id and bool(waiting),
        )

    async def batch_approve(request: Request) -> Response:
        """One approval for a replay's batch: each is published as its force."""
        user = signed_in(request)
        await form_of(request)
        for item, correction in batch_items(request, user):
            if item.state is State.AWAITING_APPROVAL and not correction.withdrawn:
                await approve_one(user, item)
        return RedirectResponse(f"/replay/batches/{request.path_params['batch']}", 303)

    async def send_back(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        form = await form_of(request)
        try:
            store.withdraw(item.rejection_id, user.id, str(form.get("why", "")).strip())
        except StateError as error:
            raise HTTPException(409, str(error)) from error
        return RedirectResponse(f"/exceptions/{item.rejection_id}", 303)

    async def dismiss(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        form = await form_of(request)
        why = str(form.get("why", "")).strip()
        if not why:
            return page(
                request,
                user,
                item,
                status_code=422,
                dismiss_error="Enter why this exception is dismissed",
            )
        try:
            store.dismiss(item.rejection_id, user.id, why)
        except StateError as error:
            raise HTTPException(409, str(error)) from error
        return RedirectResponse(f"/exceptions/{item.rejection_id}", 303)

    async def raw_bytes(request: Request) -> Response:
        user = signed_in(request)
        item = visible(request, user)
        store.journal(Act(user.id, ActionCode.DOWNLOAD_BYTES, item.rejection_id))
        return Response(
            item.value,
            media_type="application/octet-stream",
            headers={"content-disposition": f'attachment; filename="{item.rejection_id}.bin"'},
        )

    # -- where is my event ------------------------------------------------------------------------

    async def track(request: Request) -> Response:
        user = signed_in(request)
        query = request.query_params.get("q", "").strip()
        steps: list[Step] | None = None
        error = None
        if query:
            if len(query) > 64:
                error = "Enter an event id or a case URN"
            else:
                forces = [user.force] if user.force else [f.code for f in services.registry.forces]
                try:
                    steps = await run_in_threadpool(services.track, forces, query)
                except KafkaError as failure:
                    log.warning("track failed", extra={"error": type(failure).__name__})
                    raise HTTPException(503, "The exchange could not be reached") from failure
                store.journal(Act(user.id, ActionCode.SEARCH, detail=searched(query)), query)
        return render(request, "track.html", query=query, steps=steps, error=error)

    # -- the operators' panel ------------------------------------------------------------------

    async def operators(request: Request) -> Response:
        user = signed_in(request)
        if not user.operator:
            raise HTTPException(404, "Page not found")
        open_now = store.queue(Filters())
        return render(
            request,
            "operators.html",
            panel=services.metrics.panel(),
            open_count=len(open_now),
            oldest=_age(open_now[0].rejected_at, services.clock()) if open_now else None,
        )

    async def not_recorded(request: Request, exc: Exception) -> Response:
        log.warning("action not recorded", extra={"error": str(exc)})
        detail = "The audit log could not record this, so it was not done. Try again shortly."
        return render(request, "error.html", 503, status=503, detail=detail)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 303:
            return RedirectResponse(exc.headers["location"] if exc.headers else "/", 303)
        return render(
            request, "error.html", exc.status_code, status=exc.status_code, detail=exc.detail
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield

    routes = [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/", queue, methods=["GET"]),
        Route("/exceptions/{rejection_id}", exception_page, methods=["GET"]),
        Route("/exceptions/{rejection_id}/check", check_fragment, methods=["POST"]),
        Route("/exceptions/{rejection_id}/preview", preview, methods=["POST"]),
        Route("/exceptions/{rejection_id}/submit", submit, methods=["POST"]),
        Route("/exceptions/{rejection_id}/approve", approve, methods=["POST"]),
        Route("/exceptions/{rejection_id}/send-back", send_back, methods=["POST"]),
        Route("/exceptions/{rejection_id}/dismiss", dismiss, methods=["POST"]),
        Route("/exceptions/{rejection_id}/bytes", raw_bytes, methods=["GET"]),
        Route("/track", track, methods=["GET"]),
        Route("/operators", operators, methods=["GET"]),
        Route("/replay", replay_page, methods=["GET"]),
        Route("/replay", replay_dry_run, methods=["POST"]),
        Route("/replay/propose", replay_propose, methods=["POST"]),
        Route("/replay/batches/{batch}", batch_page, methods=["GET"]),
        Route("/replay/batches/{batch}/approve", batch_approve, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        Mount("/assets", StaticFiles(directory=HERE / "static" / "govuk" / "assets")),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=session_key(settings),
                session_cookie="cjsx_console",
                max_age=int(settings.console_session_minutes * 60),
                same_site="strict",
                https_only=settings.console_secure_cookies,
            ),
        ],
        exception_handlers={HTTPException: http_error, ActionNotRecorded: not_recorded},
        lifespan=lifespan,
    )


def _leaf(data: Any, path: str, default: str) -> Any:
    value = dict(flatten(data)).get(path, default)
    return "" if value is None else value
