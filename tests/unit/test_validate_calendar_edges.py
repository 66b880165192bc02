"""Times and dates at the calendar's edges are coded reasons, never a fault of the worker.

Found by the fuzz run (tests/e2e/test_fuzz.py): an event whose ``envelope.occurred_at`` was
in year 1 or year 9999 made validation raise ``OverflowError`` (year 1 turned into London
time, year 9999 plus the ten years a hearing may lie ahead), so the worker answered it with
INTERNAL_ERROR and counted an internal error instead of telling the force what was wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from schemas.reasons import ReasonCode
from streams.pipeline import Status
from streams.validate import ValidationContext, validate_event
from tests.support.builders import (
    FixedClock,
    exchange,
    record,
    standing,
    valid_charge,
    with_defendant,
    with_envelope,
)

YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)


def codes(event: object) -> list[tuple[str, str]]:
    ctx = ValidationContext(standing(), clock=FixedClock())
    return [(r.code.value, r.field) for r in validate_event(event, ctx)]  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["occurred_at", "published_at"])
def test_a_time_in_year_1_is_out_of_range(field: str) -> None:
    event = with_envelope(valid_charge(), **{field: YEAR_1})
    assert (ReasonCode.DATE_OUT_OF_RANGE.value, f"envelope.{field}") in codes(event)


@pytest.mark.parametrize("field", ["occurred_at", "published_at"])
def test_a_time_in_year_9999_is_in_the_future(field: str) -> None:
    event = with_envelope(valid_charge(), **{field: YEAR_9999})
    assert (ReasonCode.EVENT_IN_FUTURE.value, f"envelope.{field}") in codes(event)


def test_dates_checked_against_an_event_of_year_9999_do_not_overflow() -> None:
    event = with_envelope(valid_charge(), occurred_at=YEAR_9999, published_at=YEAR_9999)
    event = with_defendant(event, date_of_birth=date(9999, 12, 31))
    found = codes(event)
    assert (ReasonCode.EVENT_IN_FUTURE.value, "envelope.occurred_at") in found


@pytest.mark.parametrize("stamp", [YEAR_1, YEAR_9999])
def test_the_worker_rejects_such_an_event_with_reasons_not_an_internal_error(
    stamp: datetime,
) -> None:
    event = with_envelope(valid_charge(), occurred_at=stamp)
    outcome = exchange().process(record(event))
    assert outcome.status is Status.REJECTED
    found = {r.code for r in outcome.reasons}
    assert ReasonCode.INTERNAL_ERROR not in found
    assert found & {ReasonCode.DATE_OUT_OF_RANGE, ReasonCode.EVENT_IN_FUTURE}
