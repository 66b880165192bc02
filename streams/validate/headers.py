"""CloudEvents headers (binary mode) against the event they travel with.

Tools route and filter on ``ce_*`` headers without decoding Avro, so a header that disagrees
with the value would send an event where its content says it must not go. Each header present
must agree: ``ce_id`` = envelope.event_id, ``ce_source`` = the sending force's system,
``ce_type`` = the value's schema, ``ce_subject`` = the case URN, ``ce_time`` =
envelope.occurred_at (within ``TIME_ATTRIBUTE_SKEW``), ``ce_dataschema`` = the released version
the value was written with (from its fingerprint). The value stays authoritative: a header
left out is not a mismatch (docs/wire-format.md section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from schemas.cloudevents import SPEC_VERSION, force_source
from schemas.limits import TIME_ATTRIBUTE_SKEW
from schemas.models import CaseEvent
from schemas.reasons import Reason, ReasonCode

Headers = Sequence[tuple[str, bytes | None]]


def _mismatch(header: str, message: str) -> Reason:
    return Reason.of(ReasonCode.HEADER_MISMATCH, header, message)


def _time(raw: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_headers(
    headers: Headers, event: CaseEvent, dataschema: str, *, source: str | None = None
) -> list[Reason]:
    """Every ``ce_*`` header that disagrees with ``event``, in header order.

    ``dataschema`` is the writer version's URI (``codec.writer_of(value).dataschema``);
    ``source`` the sender's expected ``ce_source`` (by default the force system's: a court
    publisher's results give their own, ``streams.results.court_source``).
    """
    env = event.envelope
    expected = {
        "ce_specversion": SPEC_VERSION.decode(),
        "ce_id": str(env.event_id),
        "ce_source": source or force_source(env.force, env.system),
        "ce_type": event.avro_name,
        "ce_subject": env.case_urn,
        "ce_dataschema": dataschema,
    }
    says = {
        "ce_specversion": "must be 1.0",
        "ce_id": "must equal envelope.event_id",
        "ce_source": f"must be {source}, this court publisher's source for envelope.system"
        if source
        else "must be /cjs/forces/{force}/systems/{system} with this event's "
        "envelope.force and envelope.system",
        "ce_type": f"must be {event.avro_name}, the schema the value was written with",
        "ce_subject": "must equal envelope.case_urn",
        "ce_dataschema": f"must be {dataschema}, the released version the value was written with",
    }
    reasons: list[Reason] = []
    for key, raw in headers:
        if key not in expected and key != "ce_time":
            continue
        try:
            text = (raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            reasons.append(_mismatch(key, "is not UTF-8 text"))
            continue
        if key == "ce_time":
            time = _time(text) if len(text) <= 64 else None
            if time is None or abs(time - env.occurred_at) > TIME_ATTRIBUTE_SKEW:
                reasons.append(_mismatch(key, "must be envelope.occurred_at in RFC 3339"))
        elif text != expected[key]:
            reasons.append(_mismatch(key, says[key]))
    return reasons
