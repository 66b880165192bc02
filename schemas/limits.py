"""The contract's limits on text, lists, dates and clocks: one table, enforced and documented.

Validation (streams/validate/text.py, rules.py) enforces these, each breach with its own reason
code, and docs/wire-format.md prints them (tools/wire_format_doc.py), so the limits a force
developer reads are the ones the exchange applies. Keys are ``Record.field`` (``[]`` for the
items of a list). Limits are in characters (Unicode code points), generous for real case files
and far below what could make a record larger than Kafka accepts.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import MappingProxyType

CLOCK_SKEW = timedelta(minutes=5)
"""How far the sending force's clock may be ahead of the exchange's (``occurred_at`` and
``published_at`` no later than now plus this) and how far ``published_at`` may precede
``occurred_at`` when two of the force's machines stamp them."""

TIME_ATTRIBUTE_SKEW = timedelta(seconds=1)
"""How far a CloudEvents ``time`` may differ from ``envelope.occurred_at`` (it is that instant;
the slack allows a writer that keeps whole seconds)."""

EARLIEST_DATE = date(1900, 1, 1)
"""No date or time of the contract is earlier (a year-1 value is a default, not a date)."""

LATEST_AHEAD = timedelta(days=3653)
"""Calendar dates (hearings) lie at most 10 years after the event occurred."""

FREE_TEXT = MappingProxyType(
    {
        "Envelope.system": 64,
        "Defendant.given_names[]": 100,
        "Defendant.family_name": 100,
        "Address.lines[]": 200,
        "Address.postcode": 10,
        "Offence.wording": 4000,
        "Document.title": 200,
        "CaseFileSubmitted.report_to_prosecutor": 20000,
        "DefendantCharged.bail_conditions[]": 500,
        "DefendantCharged.charging_advice": 20000,
        "RemandStatusChanged.bail_conditions[]": 500,
        "DefendantDetailsAmended.given_names[]": 100,
        "DefendantDetailsAmended.family_name": 100,
        "DefendantDetailsAmended.reason": 1000,
        "CaseDiscontinued.reason": 1000,
    }
)
"""Free-text fields: when present, not blank, at most this many characters."""

MULTILINE = frozenset(
    {
        "Offence.wording",
        "CaseFileSubmitted.report_to_prosecutor",
        "DefendantCharged.charging_advice",
        "DefendantDetailsAmended.reason",
        "CaseDiscontinued.reason",
    }
)
"""Narrative fields, which may hold line breaks (LF, CR) and tabs; no other field may."""

IDENTIFIERS = MappingProxyType(
    {
        "Envelope.case_urn": 32,
        "Envelope.force": 8,
        "Defendant.asn": 32,
        "Defendant.pnc_id": 32,
        "Defendant.cro_number": 32,
        "Offence.code": 16,
        "Hearing.court_ou": 16,
        "Document.sha256": 64,
        "RemandStatusChanged.asn": 32,
        "DefendantDetailsAmended.asn": 32,
        "DefendantDetailsAmended.pnc_id": 32,
        "DefendantDetailsAmended.cro_number": 32,
        "CaseDiscontinued.asn": 32,
        "HearingResulted.publisher": 64,
        "ResultedHearing.court_ou": 16,
        "DefendantResults.asn": 32,
        "DefendantResults.remand_status": 8,
        "OffenceResults.plea": 8,
        "OffenceResults.verdict": 8,
        "CourtResult.qualifiers[]": 8,
    }
)
"""Identifier fields: their format is checked by ``schemas.identifiers`` (or, for sha256, by
the documents rule); the length cap only keeps a hostile value from being worked on."""

LISTS = MappingProxyType(
    {
        "Defendant.given_names": 10,
        "Address.lines": 10,
        "CaseFileSubmitted.suspects": 50,
        "CaseFileSubmitted.proposed_offences": 500,
        "CaseFileSubmitted.documents": 500,
        "DefendantCharged.offences": 500,
        "DefendantCharged.bail_conditions": 50,
        "CaseDocumentsAdded.documents": 500,
        "RemandStatusChanged.bail_conditions": 50,
        "DefendantDetailsAmended.given_names": 10,
        "CaseDiscontinued.offence_sequences": 500,
        "HearingResulted.defendants": 50,
        "DefendantResults.offences": 500,
        "OffenceResults.results": 50,
        "CourtResult.qualifiers": 20,
    }
)
"""Lists: at most this many items."""

_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
FORBIDDEN_IN_NARRATIVE = re.compile(f"[{_FORBIDDEN}]")
"""Control characters (C0 but tab, LF and CR; DEL; C1) and bidirectional overrides/isolates."""
FORBIDDEN_IN_LINE = re.compile(f"[{_FORBIDDEN}\t\n\r]")
"""As above, and line breaks and tabs too: for single-line fields."""
