"""Text and list limits over a whole event: blank, too long, hidden characters, too many items.

Walks every string and list of the event by its ``Record.field`` key in ``schemas.limits``, so
a field added to a schema is covered once it has a row there (a unit test fails until it has).
Messages name the field, the limit and the character's code point, never the text itself: a
free-text field may hold personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import cache
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


def _join(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _text(value: str, key: str, path: Callable[[], str], out: list[Reason]) -> None:
    """Checks first, the path only when one fails: this runs for every string of every event."""
    free = key in FREE_TEXT
    limit = FREE_TEXT[key] if free else IDENTIFIERS.get(key, _DEFAULT_IDENTIFIER_LIMIT)
    if free and not value.strip():
        out.append(Reason.of(ReasonCode.TEXT_EMPTY, path(), "must not be empty or only spaces"))
    if len(value) > limit:
        out.append(
            Reason.of(
                ReasonCode.TEXT_TOO_LONG,
                path(),
                f"is {len(value)} characters long; the limit is {limit}",
            )
        )
    forbidden = FORBIDDEN_IN_NARRATIVE if key in MULTILINE else FORBIDDEN_IN_LINE
    found = forbidden.search(value)
    if found is not None:
        out.append(
            Reason.of(
                ReasonCode.TEXT_CHARACTERS_INVALID,
                path(),
                f"holds the character U+{ord(found.group()):04X} at position {found.start() + 1}, "
                "a control or bidirectional formatting character",
            )
        )


def _list(items: list[Any], key: str, path: str, out: list[Reason]) -> None:
    limit = LISTS.get(key)
    if limit is not None and len(items) > limit:
        out.append(
            Reason.of(
                ReasonCode.TOO_MANY_ITEMS, path, f"has {len(items)} items; the limit is {limit}"
            )
        )
    item_key = f"{key}[]"
    for i, item in enumerate(items):
        if isinstance(item, AvroRecord):
            _record(item, f"{path}[{i}]", out)
        elif isinstance(item, str) and not isinstance(item, Enum):
            _text(item, item_key, lambda i=i: f"{path}[{i}]", out)  # type: ignore[misc]


@cache
def _fields(model: type[AvroRecord]) -> tuple[tuple[str, str], ...]:
    """(field, ``Record.field`` key) of a record type, in schema order."""
    return tuple((field, f"{model.__name__}.{field}") for field in model.model_fields)


def _record(record: AvroRecord, prefix: str, out: list[Reason]) -> None:
    for field, key in _fields(type(record)):
        value = getattr(record, field)
        if value is None or isinstance(value, Enum):
            continue
        if isinstance(value, str):
            _text(value, key, lambda field=field: _join(prefix, field), out)  # type: ignore[misc]
        elif isinstance(value, AvroRecord):
            _record(value, _join(prefix, field), out)
        elif isinstance(value, list):
            _list(value, key, _join(prefix, field), out)


def check_text(event: AvroRecord) -> list[Reason]:
    """Every text and list limit the event breaks, in field order."""
    reasons: list[Reason] = []
    _record(event, "", reasons)
    return reasons
