"""Validation errors of the models, said in the contract's words rather than the library's.

pydantic's messages name Python ("a valid dictionary or instance of Defendant", "Value error,
..."); a force developer reads JSON and Avro, so the common kinds are reworded here and the
rest lose the library's prefixes. A unit test sends hostile input through every front door and
checks no message names a Python type, function or codec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TIMESTAMP = "must be an RFC 3339 timestamp with a time zone, e.g. 2026-03-02T09:30:00Z"
_BY_TYPE = {
    "missing": "required, but missing",
    "extra_forbidden": "is not a field of this record",
    "model_type": "must be an object (a record)",
    "model_attributes_type": "must be an object (a record)",
    "dict_type": "must be an object (a record)",
    "list_type": "must be an array",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "uuid_type": "must be a UUID string such as 6f1c7e9a-3b2d-4c5e-8f90-1a2b3c4d5e6f",
    "uuid_parsing": "must be a UUID string such as 6f1c7e9a-3b2d-4c5e-8f90-1a2b3c4d5e6f",
    "date_type": "must be a date, YYYY-MM-DD",
    "timezone_aware": _TIMESTAMP,
    "datetime_type": _TIMESTAMP,
    "datetime_parsing": _TIMESTAMP,
    "datetime_from_date_parsing": _TIMESTAMP,
}


def plain(error: Mapping[str, Any]) -> str:
    """One model validation error (an item of ``ValidationError.errors()``) for people."""
    kind = str(error.get("type", ""))
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    if kind == "enum":
        expected = (error.get("ctx") or {}).get("expected")
        return f"must be one of {expected}" if expected else "is not one of the allowed values"
    if kind.startswith("date_"):
        detail = (error.get("ctx") or {}).get("error")
        return f"must be a date, YYYY-MM-DD{f' ({detail})' if isinstance(detail, str) else ''}"
    message = str(error.get("msg", "is not valid"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message.replace("Input should be", "must be")
