"""Shared base for the pydantic models that mirror the Avro schemas.

The ``.avsc`` files are the wire contract; these models are their Python face. A unit test
walks both and fails on any drift (a field, type, default or enum symbol on one side only).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

NAMESPACE = "uk.gov.cjsx"


def _to_millis_utc(value: datetime) -> datetime:
    """Avro's timestamp-millis keeps milliseconds in UTC; so do we, or round trips drift."""
    try:
        value = value.astimezone(UTC)
    except OverflowError as error:  # a time at the calendar's edge: bad data, not a crash
        raise ValueError("timestamp is outside the range a UTC time can take") from error
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


Millis = Annotated[AwareDatetime, AfterValidator(_to_millis_utc)]
"""A UTC timestamp with millisecond precision (Avro ``timestamp-millis``)."""


def _fits(bits: int) -> Callable[[int], int]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    kind = "int" if bits == 32 else "long"

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"number does not fit Avro {kind} ({bits}-bit signed)")
        return value

    return check


Int32 = Annotated[int, AfterValidator(_fits(32))]
"""An Avro ``int``: a value outside it could be modelled but never encoded."""

Int64 = Annotated[int, AfterValidator(_fits(64))]
"""An Avro ``long``."""


class AvroRecord(BaseModel):
    """A model with an Avro record of the same name in ``schemas/avro``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    avro_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.avro_name = f"{NAMESPACE}.{cls.__name__}"

    def to_avro(self) -> dict[str, Any]:
        """The datum fastavro writes: Python values, enums as their symbols."""
        return self.model_dump(mode="python")
