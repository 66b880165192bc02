"""The soak's pure parts: slopes, lag sums, settling at zero, outcome totals, pacing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from bench.soak import (
    adds_up,
    agent_crashes,
    cpu_seconds,
    lag_by_watch,
    outcome_totals,
    paced,
    rss_mib,
    slope_per_minute,
    slopes,
    tree_bytes,
    zero_after,
)
from streams.lag import PartitionOffsets, Watch
from streams.metrics import ExchangeMetrics


def test_slope_is_per_minute_from_seconds() -> None:
    # 3 MiB at start, growing 2 MiB a minute, sampled every 10 s for 5 minutes.
    points = [(t, 3 + 2 * t / 60) for t in range(0, 301, 10)]
    assert slope_per_minute(points) == pytest.approx(2.0)


def test_slope_of_a_flat_noisy_series_is_near_zero() -> None:
    points = [(float(t), 100.0 + (1 if t % 20 else -1)) for t in range(0, 600, 10)]
    slope = slope_per_minute(points)
    assert slope is not None
    assert abs(slope) < 0.05


@pytest.mark.parametrize("points", [[], [(5.0, 1.0)], [(5.0, 1.0), (5.0, 9.0)]])
def test_no_slope_without_two_distinct_times(points: list[tuple[float, float]]) -> None:
    assert slope_per_minute(points) is None


def test_second_half_slope_leaves_out_the_warm_up() -> None:
    # Fast growth for the first two minutes (warm-up), flat for the next eight.
    warm = [(float(t), t / 60 * 50) for t in range(0, 120, 10)]
    flat = [(float(t), 100.0) for t in range(120, 601, 10)]
    result = slopes(warm + flat)
    assert result["whole"] is not None
    assert result["whole"] > 1
    assert result["second_half"] == 0.0


def test_slopes_of_nothing_are_none() -> None:
    assert slopes([]) == {"whole": None, "second_half": None}


def test_lag_sums_partitions_and_counts_everything_before_a_first_commit() -> None:
    committed = Watch("deliver-a", "partner-a", "a")
    never = Watch("deliver-b", "partner-b", "b")
    offsets = {
        committed: {
            0: PartitionOffsets(start=0, end=10, committed=10),
            1: PartitionOffsets(start=0, end=7, committed=4),
        },
        never: {0: PartitionOffsets(start=2, end=9, committed=None)},
    }
    assert lag_by_watch(offsets) == {committed: 3, never: 7}


def test_zero_after_waits_for_the_series_to_stay_at_zero() -> None:
    # The load stopped at 100 s; lag touched zero at 104 s but rose again, settled at 110 s.
    points = [(90.0, 5.0), (100.0, 40.0), (104.0, 0.0), (106.0, 3.0), (110.0, 0.0), (112.0, 0.0)]
    assert zero_after(points, since=100.0) == 10.0


def test_zero_after_ignores_zeros_before_the_load_stopped() -> None:
    assert zero_after([(50.0, 0.0), (100.0, 0.0)], since=100.0) == 0.0
    assert zero_after([(50.0, 0.0), (100.0, 4.0)], since=100.0) is None


def test_zero_after_is_none_when_lag_never_settles() -> None:
    assert zero_after([(100.0, 4.0), (110.0, 0.0), (120.0, 1.0)], since=100.0) is None
    assert zero_after([], since=0.0) is None


def test_outcome_totals_read_the_workers_own_counter() -> None:
    registry = CollectorRegistry()
    metrics = ExchangeMetrics(registry)
    metrics.outcomes.labels(force="01", outcome="accepted").inc(7)
    metrics.outcomes.labels(force="05", outcome="accepted").inc(3)
    metrics.outcomes.labels(force="05", outcome="rejected").inc(2)
    metrics.outcomes.labels(force="93", outcome="duplicate").inc(1)
    metrics.received.labels(force="01").inc(99)  # another counter is not an outcome
    totals = outcome_totals(generate_latest(registry).decode())
    assert totals == {"accepted": 10, "rejected": 2, "duplicate": 1}


def test_outcome_totals_of_an_empty_page() -> None:
    assert outcome_totals("") == {}


def test_adds_up() -> None:
    assert adds_up(13, {"accepted": 10, "rejected": 2, "duplicate": 1})
    assert not adds_up(14, {"accepted": 10, "rejected": 2, "duplicate": 1})
    # An outcome the soak does not know about is not silently part of the sum.
    assert not adds_up(13, {"accepted": 10, "rejected": 2, "mystery": 1})


def test_paced_offers_the_rate_for_the_time() -> None:
    started = time.monotonic()
    sent = list(paced(itertools.count(), rate=500.0, seconds=0.4))
    elapsed = time.monotonic() - started
    assert sent == list(range(len(sent)))
    assert elapsed == pytest.approx(0.4, abs=0.15)
    assert 150 <= len(sent) <= 201  # 200 due; a busy machine may end a little short


def test_tree_bytes_sums_file_sizes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 23)
    assert tree_bytes(tmp_path) == 123
    assert tree_bytes(tmp_path / "missing") == 0


def test_process_readings_of_a_live_and_a_finished_process() -> None:
    rss = rss_mib(os.getpid())
    assert rss is not None
    assert rss > 1
    cpu = cpu_seconds(os.getpid())
    assert cpu is not None
    assert cpu > 0
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert rss_mib(child.pid) is None
    assert cpu_seconds(child.pid) is None


def test_agent_crashes_are_counted_from_the_workers_log(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    assert agent_crashes(log) == 0  # no log yet
    log.write_text(
        '{"levelname": "WARNING", "message": "lag refresh failed"}\n'
        '{"levelname": "ERROR", "message": "[^----Agent*: x]: Crashed reason=KeyError(0)"}\n'
    )
    assert agent_crashes(log) == 1
