"""The JSON form of a case-file event: one CloudEvents 1.0 structured-mode JSON object.

``cjsx validate`` reads, and systems without Avro may write, one event per line of JSON Lines::

    {"specversion": "1.0", "type": "uk.gov.cjsx.DefendantCharged",
     "source": "/cjs/forces/01/systems/niche-rms", "id": "<envelope.event_id>",
     "subject": "<envelope.case_urn>", "time": "<envelope.occurred_at>",
     "datacontenttype": "application/json", "data": {<the event's fields>}}

``data`` holds the event's fields as the pydantic models dump them in JSON mode (UUIDs and
dates as strings, timestamps as RFC 3339 with a zone). Parsing never raises: every problem of a
line becomes a coded :class:`~schemas.reasons.Reason`, all of them at once, so a clerk fixes
the line in one go. Field paths inside ``data`` are relative to the event (``offences[0].code``),
exactly as in receipts; CloudEvents attributes are named as they are (``id``, ``subject``).
See docs/wire-format.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from schemas.cloudevents import court_source, force_source
from schemas.limits import TIME_ATTRIBUTE_SKEW
from schemas.messages import plain
from schemas.models import (
    COURT_EVENT_TYPES,
    EVENT_TYPES,
    TOP_LEVEL_TYPES,
    CaseEvent,
    HearingResulted,
)
from schemas.reasons import Reason, ReasonCode, capped
from schemas.store import SchemaStore, default_store

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
MAX_LINE_BYTES = 1_048_576
"""Longest line accepted (1 MiB, about Kafka's default record limit); longer is UNDECODABLE."""

MAX_DIGITS = 30
"""Longest number accepted; every number of the contract fits in 20 digits."""

JSON_HINT = (
    "Write one event per line: a CloudEvents JSON object as UTF-8 text without a byte-order "
    "mark, its event in `data` (docs/wire-format.md section 4); `cjsx validate` checks a file."
)
"""The hint of a line that is not JSON text: the standard one speaks to Avro senders too."""

_JSON_KIND = {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string"}

EVENT_MODELS: Mapping[str, type[CaseEvent]] = {
    t.avro_name: t for t in (*EVENT_TYPES, *COURT_EVENT_TYPES)
}
_OTHER_RECORDS = frozenset(t.avro_name for t in TOP_LEVEL_TYPES) - set(EVENT_MODELS)
_SHOWN = 60


@dataclass(frozen=True, slots=True)
class Parsed:
    """One line of the JSON form: the event, or every reason it is not one.

    ``event_id`` is known whenever the line names a well-formed one (``data.envelope.event_id``
    or else ``id``), even when the line is rejected, so a verdict can say which event it is.
    """

    event: CaseEvent | None
    event_id: UUID | None = None
    reasons: list[Reason] = field(default_factory=list)


def _show(value: object) -> str:
    """A short, safe rendering of a user-supplied value for a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _violation(path: str, message: str) -> Reason:
    return Reason.of(ReasonCode.SCHEMA_VIOLATION, path, message)


def _path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as the field path receipts use: ``offences[0].code``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _stamp(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the binary-mode ``ce_time`` header writes it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_uuid(value: object) -> UUID | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


class _Refused(ValueError):
    """A JSON value this exchange does not accept; its text is the message shown."""


def _reject_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise _Refused(f"a number has {digits} digits; the limit is {MAX_DIGITS}")
    return int(text)


def _undecodable(message: str) -> Parsed:
    return Parsed(None, None, [Reason.of(ReasonCode.UNDECODABLE, "", message, JSON_HINT)])


def _clean_text(value: Any, path: str, found: list[str]) -> Any:
    """``value`` with lone surrogates replaced; their paths are added to ``found``.

    JSON may escape a lone surrogate (``"\\ud800"``), which is not Unicode text and cannot be
    written as Avro's UTF-8 strings.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            found.append(path)
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [_clean_text(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            safe_key = _clean_text(key, path, found)
            cleaned[safe_key] = _clean_text(item, f"{path}.{safe_key}" if path else safe_key, found)
        return cleaned
    return value


def _attributes(ce: Mapping[str, Any]) -> list[Reason]:
    """Problems with the CloudEvents attributes themselves, in attribute order."""
    reasons: list[Reason] = []
    if ce.get("specversion") != SPEC_VERSION:
        reasons.append(_violation("specversion", f'must be "{SPEC_VERSION}"'))
    for name in ("id", "source"):
        value = ce.get(name)
        if not isinstance(value, str) or not value:
            reasons.append(_violation(name, "required: a non-empty string"))
    if not isinstance(ce.get("subject"), str):
        # Only its type here: an empty URN is reported where it lives, as URN_FORMAT.
        reasons.append(_violation("subject", "required: the case URN, a string"))
    time = ce.get("time")
    if time is not None:
        parsed: datetime | None = None
        if isinstance(time, str):
            try:
                parsed = datetime.fromisoformat(time)
            except ValueError:
                parsed = None
        if parsed is None or parsed.tzinfo is None:
            reasons.append(_violation("time", "must be an RFC 3339 timestamp with a time zone"))
    content_type = ce.get("datacontenttype")
    if content_type is not None and (
        not isinstance(content_type, str)
        or content_type.split(";")[0].strip().lower() != CONTENT_TYPE
    ):
        reasons.append(_violation("datacontenttype", f'must be "{CONTENT_TYPE}" when given'))
    if "dataschema" in ce and not isinstance(ce["dataschema"], str):
        reasons.append(_violation("dataschema", "must be a string (a URI) when given"))
    if "data_base64" in ce:
        reasons.append(_violation("data_base64", "not accepted: give the event as JSON in data"))
    if not isinstance(ce.get("data"), dict):
        reasons.append(_violation("data", "required: the event's fields as a JSON object"))
    return reasons


def _event_id(ce: Mapping[str, Any]) -> UUID | None:
    data = ce.get("data")
    envelope = data.get("envelope") if isinstance(data, dict) else None
    from_data = _as_uuid(envelope.get("event_id")) if isinstance(envelope, dict) else None
    return from_data or _as_uuid(ce.get("id"))


def _data(model: type[CaseEvent], data: dict[str, Any]) -> tuple[CaseEvent | None, list[Reason]]:
    """The event in ``data``, strictly typed as JSON: ``"1"`` is not a number."""
    surrogates: list[str] = []
    cleaned = _clean_text(data, "", surrogates)
    reasons = [
        _violation(p, "text is not valid Unicode (a lone surrogate escape)") for p in surrogates
    ]
    try:
        event = model.model_validate_json(json.dumps(cleaned), strict=True)
    except ValidationError as error:
        for e in error.errors(include_url=False, include_input=False):
            reasons.append(_violation(_path(e["loc"]), plain(e)))
        return None, reasons
    return (None if reasons else event), reasons


def _mismatch(name: str, message: str) -> Reason:
    return Reason.of(ReasonCode.HEADER_MISMATCH, name, message)


def source_of(event: CaseEvent) -> str:
    """The CloudEvents ``source`` of an event: its court publisher's system for court
    results, else its force's system."""
    env = event.envelope
    if isinstance(event, HearingResulted):
        return court_source(event.publisher, env.system)
    return force_source(env.force, env.system)


def _agreement(ce: Mapping[str, Any], event: CaseEvent, store: SchemaStore) -> list[Reason]:
    """The CloudEvents attributes against the event they carry, in attribute order."""
    env = event.envelope
    reasons: list[Reason] = []
    if isinstance(ce.get("id"), str) and _as_uuid(ce["id"]) != env.event_id:
        reasons.append(_mismatch("id", "must equal data.envelope.event_id"))
    if isinstance(ce.get("source"), str) and ce["source"] != source_of(event):
        reasons.append(
            _mismatch(
                "source",
                "must be /cjs/courts/{publisher}/systems/{system} with this event's "
                "publisher and envelope.system"
                if isinstance(event, HearingResulted)
                else "must be /cjs/forces/{force}/systems/{system} with this event's "
                "envelope.force and envelope.system",
            )
        )
    if isinstance(ce.get("subject"), str) and ce["subject"] != env.case_urn:
        reasons.append(_mismatch("subject", "must equal data.envelope.case_urn"))
    time = _timestamp(ce.get("time"))
    if time is not None and abs(time - env.occurred_at) > TIME_ATTRIBUTE_SKEW:
        reasons.append(_mismatch("time", "must equal data.envelope.occurred_at"))
    schema = ce.get("dataschema")
    if isinstance(schema, str):
        released = [v.dataschema for v in store.versions(event.avro_name)]
        if schema not in released:
            reasons.append(
                _mismatch(
                    "dataschema",
                    f"{_show(schema)} is not a released version of {event.avro_name} "
                    f"(released: {', '.join(released)})",
                )
            )
    return reasons


def _timestamp(value: object) -> datetime | None:
    """An RFC 3339 timestamp with a zone, or None (a malformed one is reported elsewhere)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_object(ce: object, store: SchemaStore | None = None) -> Parsed:
    """A decoded JSON value as an event, or every reason it is not one (at most
    ``MAX_REASONS`` and one counting the rest)."""
    parsed = _parse_object(ce, store or default_store())
    return Parsed(parsed.event, parsed.event_id, capped(parsed.reasons))


def _parse_object(ce: object, store: SchemaStore) -> Parsed:
    if not isinstance(ce, dict):
        kind = "array" if isinstance(ce, list) else _JSON_KIND.get(type(ce), "value")
        message = f"a JSON {kind} is not an event; expected a CloudEvents JSON object"
        return Parsed(None, None, [Reason.of(ReasonCode.NOT_AN_EVENT, "", message)])
    event_id = _event_id(ce)
    event_type = ce.get("type")
    if not isinstance(event_type, str):
        message = "no CloudEvents type attribute: not an event of the contract"
        return Parsed(None, event_id, [Reason.of(ReasonCode.NOT_AN_EVENT, "type", message)])
    reasons = _attributes(ce)
    model = EVENT_MODELS.get(event_type)
    if model is None:
        if event_type in _OTHER_RECORDS:
            message = f"{event_type} is a record of the exchange, not a case-file event"
            reasons.insert(0, Reason.of(ReasonCode.NOT_AN_EVENT, "type", message))
        else:
            message = f"type {_show(event_type)} is not an event type of the contract"
            reasons.insert(0, Reason.of(ReasonCode.UNKNOWN_SCHEMA, "type", message))
        return Parsed(None, event_id, reasons)
    data = ce.get("data")
    if not isinstance(data, dict):
        return Parsed(None, event_id, reasons)
    event, problems = _data(model, data)
    reasons += problems
    if event is not None:
        reasons += _agreement(ce, event, store)
    if reasons:
        return Parsed(None, event_id, reasons)
    assert event is not None
    return Parsed(event, event.envelope.event_id, [])


def parse_line(line: bytes | str) -> Parsed:
    """One line of JSON Lines as an event, or every reason it is not one; never raises.

    The size limit counts bytes for ``bytes`` input and characters for ``str`` input.
    """
    if len(line) > MAX_LINE_BYTES:
        return _undecodable(f"line is {len(line)} bytes; the limit is {MAX_LINE_BYTES}")
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            return _undecodable(f"line is not UTF-8 text (bad byte at offset {error.start})")
    else:
        text = line
    if text.startswith("\ufeff"):
        return _undecodable("line starts with a byte-order mark; save the file as UTF-8 without it")
    text = text.strip()
    if not text:
        return _undecodable("empty line: expected one JSON event per line")
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as error:
        return _undecodable(f"not JSON: {error.msg} (column {error.colno})")
    except _Refused as error:
        return _undecodable(f"not JSON this exchange accepts: {error}")
    except (ValueError, RecursionError):
        return _undecodable("not JSON this exchange accepts: nested too deeply or malformed")
    return parse_object(value)


def to_cloudevent(event: CaseEvent, store: SchemaStore | None = None) -> dict[str, Any]:
    """The event as a CloudEvents structured-mode JSON object, attributes from its envelope."""
    env = event.envelope
    version = (store or default_store()).latest(event.avro_name)
    return {
        "specversion": SPEC_VERSION,
        "type": event.avro_name,
        "source": source_of(event),
        "id": str(env.event_id),
        "subject": env.case_urn,
        "time": _stamp(env.occurred_at),
        "datacontenttype": CONTENT_TYPE,
        "dataschema": version.dataschema,
        "data": event.model_dump(mode="json"),
    }


def render(event: CaseEvent, store: SchemaStore | None = None) -> str:
    """The event as one line of JSON Lines (no newline), UTF-8 text."""
    return json.dumps(to_cloudevent(event, store), ensure_ascii=False, separators=(",", ":"))
