"""Text and list limits over a whole event: blank, too long, hidden characters, too many items.

Walks every string and list of the event by its ``Record.field`` key in ``schemas.limits``, so
a field added to a schema is covered once it has a row there (a unit test fails until it has).
Messages name the field, the limit and the character's code point, never the text itself: a
free-text field may hold personal data.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from schemas.limits import (
    FORBIDDEN_IN_LINE,
    FORBIDDEN_IN_NARRATIVE,
    FREE_TEXT,
    IDENTIFIERS,
    LISTS,
    MULTILINE,
)
from schemas.models import AvroRecord
from schemas.reasons import Reason, ReasonCode

_DEFAULT_IDENTIFIER_LIMIT = 64


def _text(value: str, key: str, path: str, out: list[Reason]) -> None:
    free = key in FREE_TEXT
    limit = FREE_TEXT[key] if free else IDENTIFIERS.get(key, _DEFAULT_IDENTIFIER_LIMIT)
    if free and not value.strip():
        out.append(Reason.of(ReasonCode.TEXT_EMPTY, path, "must not be empty or only spaces"))
    if len(value) > limit:
        out.append(
            Reason.of(
                ReasonCode.TEXT_TOO_LONG,
                path,
                f"is {len(value)} characters long; the limit is {limit}",
            )
        )
    forbidden = FORBIDDEN_IN_NARRATIVE if key in MULTILINE else FORBIDDEN_IN_LINE
    found = forbidden.search(value)
    if found is not None:
        out.append(
            Reason.of(
                ReasonCode.TEXT_CHARACTERS_INVALID,
                path,
                f"holds the character U+{ord(found.group()):04X} at position {found.start() + 1}, "
                "a control or bidirectional formatting character",
            )
        )


def _value(value: Any, key: str, path: str, out: list[Reason]) -> None:
    if isinstance(value, AvroRecord):
        _record(value, path, out)
    elif isinstance(value, Enum):
        return
    elif isinstance(value, str):
        _text(value, key, path, out)
    elif isinstance(value, list):
        limit = LISTS.get(key)
        if limit is not None and len(value) > limit:
            out.append(
                Reason.of(
                    ReasonCode.TOO_MANY_ITEMS,
                    path,
                    f"has {len(value)} items; the limit is {limit}",
                )
            )
        for i, item in enumerate(value):
            _value(item, f"{key}[]", f"{path}[{i}]", out)


def _record(record: AvroRecord, prefix: str, out: list[Reason]) -> None:
    name = type(record).__name__
    for field in type(record).model_fields:
        path = f"{prefix}.{field}" if prefix else field
        _value(getattr(record, field), f"{name}.{field}", path, out)


def check_text(event: AvroRecord) -> list[Reason]:
    """Every text and list limit the event breaks, in field order."""
    reasons: list[Reason] = []
    _record(event, "", reasons)
    return reasons
