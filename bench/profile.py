"""Where the stages' time goes: ``Exchange.process`` in process under cProfile.

Run: ``.venv/bin/python -m bench.profile [--events N] [--top K]``. No broker: the same
in-memory stores as ``bench.pipeline``'s ``stages_in_process_events_per_s``. Prints one JSON
object: the rate with and without the profiler, and the top functions by cumulative time as
a share of the whole (shares overlap: a caller's share includes its callees').
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
from typing import Any

from bench.pipeline import measure_in_process, valid_events


def profile(events: int, top: int, seed: int = 1) -> dict[str, Any]:
    sample = valid_events(events, seed)
    measure_in_process(sample[: max(1, events // 10)])  # warm caches and lazy imports
    plain = measure_in_process(sample)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled = measure_in_process(sample)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined] # pstats keeps it untyped
    total = max(cumulative for _, _, _, cumulative, _ in raw.values())
    rows = sorted(
        (
            (f"{file}:{line}({name})", cumulative, own)
            for (file, line, name), (_, _, own, cumulative, _) in raw.items()
        ),
        key=lambda row: row[1],
        reverse=True,
    )
    return {
        "benchmark": "profile",
        "events": events,
        "events_per_s": round(plain, 1),
        "events_per_s_profiled": round(profiled, 1),
        "top_cumulative": [
            {"function": where, "share": round(cum / total, 3), "own_share": round(own / total, 3)}
            for where, cum, own in rows[:top]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(profile(args.events, args.top), indent=2))


if __name__ == "__main__":
    main()
