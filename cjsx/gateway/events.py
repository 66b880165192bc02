"""From an HTTP request to checked events: the CloudEvents SDK's HTTP binding, then the
worker's own rules through ``cjsx validate``'s verdict.

Three content modes of the CloudEvents HTTP binding are taken: structured
(``application/cloudevents+json``, one event), batched (``application/cloudevents-batch+json``,
a JSON array of structured events) and binary (``ce-*`` headers, the event's ``data`` as the
body). Each event becomes its JSON form (docs/wire-format.md section 4) and gets exactly the
verdict ``cjsx validate --force <the path's force>`` would print for that line, so a force sees
the same codes from the gateway, from ``validate`` and in its receipts. The SDK parses each
event too (``cloudevents.core.bindings.http``), so what it would not take is refused as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_structured
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from producers.submit import Checker
from schemas.models import CaseEvent
from schemas.reasons import Reason, ReasonCode
from streams.validate import ValidationContext

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
_FORMAT = JSONFormat()
_SDK_ERRORS = (BaseCloudEventException, ValueError, TypeError, AttributeError, KeyError)


class UnsupportedMediaType(ValueError):
    """The request is in none of the three content modes (``415``)."""


@dataclass(frozen=True, slots=True)
class Checked:
    """One event of a request: its verdict (as ``cjsx validate`` prints it) and, when
    accepted, the event to publish."""

    verdict: dict[str, Any]
    event: CaseEvent | None


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def is_binary(headers: Mapping[str, str]) -> bool:
    return any(name.lower().startswith("ce-") for name in headers)


def split(headers: Mapping[str, str], body: bytes) -> list[bytes] | Checked:
    """The request's events, each as its JSON form, or one verdict refusing the whole body
    (a batch that is not a JSON array). ``UnsupportedMediaType`` for another content type."""
    if is_binary(headers):
        return [_binary_as_json_form(headers, body)]
    media = _media_type(headers)
    if media == STRUCTURED:
        return [body]
    if media != BATCH:
        raise UnsupportedMediaType(media)
    try:
        items = json.loads(body)
    except (ValueError, RecursionError):
        return _refused(ReasonCode.UNDECODABLE, "the batch is not JSON text (UTF-8)")
    if not isinstance(items, list):
        return _refused(ReasonCode.NOT_AN_EVENT, "a batch is a JSON array of CloudEvents")
    return [json.dumps(item, ensure_ascii=False).encode() for item in items]


def _refused(code: ReasonCode, message: str) -> Checked:
    reason = Reason.of(code, "", message)
    return Checked(
        {
            "event_id": None,
            "accepted": False,
            "reasons": [
                {"code": reason.code.value, "field": "", "message": message, "hint": reason.hint}
            ],
        },
        None,
    )


def _binary_as_json_form(headers: Mapping[str, str], body: bytes) -> bytes:
    """A binary-mode event as its JSON form: attributes from ``ce-*`` headers as the SDK
    decodes them, ``datacontenttype`` from ``Content-Type``, ``data`` from the body."""
    given = {name.lower() for name in headers}
    try:
        event = from_binary(HTTPMessage(dict(headers), body), _FORMAT, CloudEvent)
    except _SDK_ERRORS:
        # Not an event to the SDK; the JSON form of what was sent gets validate's reasons.
        form: dict[str, Any] = {
            name.lower()[3:]: value for name, value in headers.items() if name.lower()[:3] == "ce-"
        }
        form["data"] = _json_or_text(body)
        return json.dumps(form, ensure_ascii=False).encode()
    form = {}
    for name, value in event.get_attributes().items():
        if f"ce-{name}" not in given and name != "datacontenttype":
            continue  # a default the SDK filled in (id, time): not what the force sent
        form[name] = value.isoformat() if isinstance(value, datetime) else value
    form["data"] = event.get_data()
    return json.dumps(form, ensure_ascii=False).encode()


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")


def check(raw: bytes, ctx: ValidationContext, force: str) -> Checked:
    """One event's JSON form: the SDK's structured-mode parse, then the worker's rules for
    ``force``'s ingest topic; the event itself when both accept it.

    The checks are ``producers.submit.Checker``'s, the very ones ``cjsx validate --force`` and
    ``cjsx publish`` run, so a rejection reads word for word as they print it.
    """
    try:
        from_structured(HTTPMessage({"content-type": STRUCTURED}, raw), _FORMAT, CloudEvent)
        sdk_error: Exception | None = None
    except _SDK_ERRORS as error:
        sdk_error = error
    result = Checker(force, ctx).check(raw)
    if result.accepted and sdk_error is not None:
        # Our rules are stricter; should the SDK still refuse it, say so.
        return _refused(
            ReasonCode.SCHEMA_VIOLATION,
            f"not a CloudEvent to the CloudEvents SDK ({type(sdk_error).__name__})",
        )
    return Checked(result.to_json(), result.event)
