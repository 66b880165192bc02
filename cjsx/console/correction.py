"""Correcting a rejected event: pure functions, no Kafka, no web.

The decoded event becomes a flat list of fields (``defendant.asn``, ``offences[0].code``); the
fields a reason points at are editable, the rest are shown as they are. An edit is applied to
the flagged fields only (a crafted form cannot change anything else), parsed by the event's own
model, then checked by exactly the worker's rules (``check_sender`` + ``validate_event``). A
correction is a new event (new ``event_id``, ``published_at`` now) whose ``causation_id`` is
the rejected event's id, so receipts and the audit trail link the two.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from infra.registry import Registry
from schemas.models import CaseEvent
from schemas.reasons import Reason, ReasonCode
from streams.enrich import enrich
from streams.reference import StandingData
from streams.route import Policy, project, recipients
from streams.validate import ValidationContext, check_sender, validate_event

FIXED = frozenset({"envelope.event_id", "envelope.published_at", "envelope.causation_id"})
"""Fields the console sets itself on a correction; never editable."""

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Field:
    """One leaf of the event as the form shows it."""

    path: str
    value: str
    editable: bool
    was_null: bool


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class Checked:
    """The result of checking an edit: the event when it parses, and every reason."""

    event: CaseEvent | None
    reasons: list[Reason]


def _text(value: Any) -> str:
    return "" if value is None or value == [] else str(value)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a JSON-shaped value with its path, in field order."""
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for key, value in data.items():
            out += flatten(value, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(data, list) and data:
        out = []
        for i, value in enumerate(data):
            out += flatten(value, f"{prefix}[{i}]")
        return out
    return [(prefix, data)]


def flagged(path: str, reasons: list[dict[str, str]]) -> bool:
    """Whether a reason points at this field or at a record or list containing it."""
    if path in FIXED:
        return False
    for reason in reasons:
        where = reason["field"]
        if where and (path == where or path.startswith((where + ".", where + "["))):
            return True
    return False


def form_fields(event_json: dict[str, Any], reasons: list[dict[str, str]]) -> list[Field]:
    return [
        Field(
            path,
            _text(value),
            flagged(path, reasons) and not isinstance(value, list),
            value is None,
        )
        for path, value in flatten(event_json)
    ]


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for name, index in _STEP.findall(path):
        steps.append(int(index) if index else name)
    return steps


def apply_edits(
    event_json: dict[str, Any], edits: dict[str, str], reasons: list[dict[str, str]]
) -> dict[str, Any]:
    """A copy of the event with the flagged fields set from ``edits``; others untouched."""
    import copy

    result = copy.deepcopy(event_json)
    leaves = dict(flatten(event_json))
    for path, raw in edits.items():
        if path not in leaves or not flagged(path, reasons) or isinstance(leaves[path], list):
            continue
        steps = _steps(path)
        target: Any = result
        for step in steps[:-1]:
            target = target[step]
        value = raw.strip()
        target[steps[-1]] = None if value == "" and leaves[path] is None else value
    return result


def _path_of(location: tuple[int | str, ...]) -> str:
    out = ""
    for step in location:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def check(
    event_type: type[CaseEvent], event_json: dict[str, Any], force: str, ctx: ValidationContext
) -> Checked:
    """Parse the edited event with its model, then run exactly the worker's rules on it."""
    try:
        event = event_type.model_validate(event_json)
    except ValidationError as error:
        reasons = [
            Reason.of(ReasonCode.SCHEMA_VIOLATION, _path_of(tuple(e["loc"])), e["msg"])
            for e in error.errors()
        ]
        return Checked(None, reasons)
    return Checked(event, check_sender(event, force) + validate_event(event, ctx))


def corrected(event: CaseEvent, original_event_id: str | None, now: datetime) -> CaseEvent:
    """The correction as a new event: a new id, published now, caused by the original."""
    envelope = event.envelope.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "published_at": now,
            "causation_id": uuid.UUID(original_event_id) if original_event_id else None,
        }
    )
    return type(event).model_validate({**event.model_dump(), "envelope": envelope})


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every field whose value differs, in field order of the corrected event."""
    old = dict(flatten(before))
    return [
        Change(path, _text(old.get(path)), _text(value))
        for path, value in flatten(after)
        if _text(old.get(path)) != _text(value) or path not in old
    ]


@dataclass(frozen=True, slots=True)
class RecipientView:
    """What one recipient would receive of a correction after minimisation."""

    recipient: str
    name: str
    delivered: bool
    withheld: list[str]


def recipient_views(
    event: CaseEvent, standing: StandingData, registry: Registry, policy: Policy
) -> list[RecipientView]:
    """The exchange's own routing and minimisation, as a dry run.

    The worker also knows the case's earlier events (a route learnt from a previous hearing);
    the console does not, so this is the routing of an event whose case is new to it.
    """
    enrichment = enrich(event, standing, None)
    full = dict(flatten(event.model_dump(mode="json")))
    views = []
    for partner in recipients(enrichment, registry):
        projected = project(event, policy.for_kind(partner.kind))
        if projected is None:
            views.append(RecipientView(partner.id, partner.name, False, []))
            continue
        seen = dict(flatten(projected.model_dump(mode="json")))
        withheld = sorted(
            {
                _field_of(path)
                for path, value in full.items()
                if value not in (None, []) and seen.get(path) in (None, [])
            }
        )
        views.append(RecipientView(partner.id, partner.name, True, withheld))
    return views


def _field_of(path: str) -> str:
    """A withheld record or list is named once, not leaf by leaf."""
    return re.sub(r"\[\d+\].*$", "", path) if "[" in path else path
