"""Where a real worker's CPU goes while it drains a backlog: py-spy on the running process.

Run: ``.venv/bin/python -m bench.worker_profile [--events N] [--seconds S]``. One broker;
N events are published first, then one worker is started and, once it has processed its
first event, sampled by py-spy for S seconds (start-up and rebalancing are not in the
window). The worker's and the broker's CPU are read from /proc over the same window.

``bench.profile`` shows the stages in process; this shows what the worker spends around
them (Faust's stream, aiokafka, state, the emitter), which is what ``bench.pipeline``'s
ratio against a plain Faust forward measures. Prints one JSON object: the window's rate,
CPU per event of the worker and the broker, each part's share of the worker's samples
(each sample counted once, in the part of its innermost frame that has one) and the
functions most often on top of the stack.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.broker import KAFKA_VERSION, ROOT, machine, one_node
from bench.pipeline import (
    FORCES,
    measure_in_process,
    published_backlog,
    start_worker,
    valid_events,
)
from bench.soak import cpu_seconds
from cjsx.cli.status import fetch
from common import processes
from infra.broker.node import free_port

PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("stages: decide each record", ("/streams/pipeline.py",)),
    ("state: tables, RocksDB", ("/streams/state.py", "/faust/tables/", "/faust/stores/")),
    ("emit: hand outputs to the producer", ("/streams/emitter.py",)),
    ("worker's batch loop (continuity, metrics)", ("/streams/app.py", "/streams/metrics.py")),
    ("lag collector, commit watch", ("/streams/lag/", "/streams/commit_watch.py", "/kafka/")),
    ("aiokafka: fetch, produce, protocol", ("/aiokafka/",)),
    ("faust: streams, consumer, commits", ("/faust/", "/mode/")),
)
OTHER = "asyncio and the rest"


def part_of(stack: str) -> str:
    """The part of the innermost frame that belongs to one: a sample in fastavro under the
    stages is the stages', one in Faust's stream under the batch loop is Faust's."""
    for frame in reversed(stack.split(";")):
        for name, paths in PARTS:
            if any(path in frame for path in paths):
                return name
    return OTHER


def summarise(raw: str, top: int) -> dict[str, Any]:
    """Shares of py-spy's raw (collapsed) stacks: ``frame;frame;... count`` per line."""
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        parts[part_of(stack)] += int(count)
        leaves[_short(stack.rsplit(";", 1)[-1])] += int(count)
    total = sum(parts.values()) or 1
    return {
        "samples": total,
        "parts": {name: round(parts[name] / total, 3) for name in [*dict(PARTS), OTHER]},
        "top_leaf_functions": [
            {"function": where, "share": round(n / total, 3)}
            for where, n in leaves.most_common(top)
        ],
    }


def _short(frame: str) -> str:
    """``name (path:line)`` with the path cut after site-packages or the repository."""
    for marker in ("site-packages/", f"{ROOT}/", "lib/python3.11/"):
        if marker in frame:
            name, _, where = frame.partition(" (")
            return f"{name} ({where.split(marker, 1)[1]}"
    return frame


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy not found: `make .venv/.installed-stamp` installs it")
    return found


def profile_worker(
    bootstrap: str, home: Path, events: int, seconds: float, broker_pid: int | None
) -> dict[str, Any]:
    catalog = published_backlog(bootstrap, "twp", valid_events(events, seed=1))
    port = free_port()
    worker = start_worker(bootstrap, catalog, home / "twp", port)
    output = home / "worker.stacks"
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        if not processes.wait_for(lambda: _processed(url) > 0, 120):
            raise RuntimeError("the worker processed nothing in 120 s")
        start_count, start_t = _processed(url), time.monotonic()
        start_cpu = cpu_seconds(worker.pid) or 0.0
        broker_start = cpu_seconds(broker_pid) if broker_pid else None
        spy = subprocess.run(
            [
                _py_spy(),
                "record",
                "--pid",
                str(worker.pid),
                "--format",
                "raw",
                "--rate",
                "100",
                "--duration",
                str(int(seconds)),
                "--nonblocking",
                "--full-filenames",
                "--output",
                str(output),
            ],
            capture_output=True,
            timeout=seconds + 60,
            check=False,
        )
        window = time.monotonic() - start_t
        at_end = _processed(url)
        worker_cpu = (cpu_seconds(worker.pid) or 0.0) - start_cpu
        broker_end = cpu_seconds(broker_pid) if broker_pid else None
        if spy.returncode != 0 or not output.exists():
            raise RuntimeError(f"py-spy failed: {spy.stderr.decode(errors='replace')[-500:]}")
    finally:
        processes.stop(worker)
    processed = at_end - start_count
    return {
        "window_seconds": round(window, 1),
        "events_in_window": int(processed),
        "backlog_lasted_the_window": at_end < events,
        "events_per_s": round(processed / window, 1),
        "worker_cpu_cores": round(worker_cpu / window, 2),
        "worker_cpu_ms_per_event": round(1000 * worker_cpu / max(1, processed), 3),
        "broker_cpu_cores": (
            round((broker_end - broker_start) / window, 2)
            if broker_start is not None and broker_end is not None
            else None
        ),
        **summarise(output.read_text(), top=25),
    }


def _processed(url: str) -> float:
    try:
        return fetch(url).total("cjsx_events_total")
    except OSError:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--stacks", type=Path, help="Keep py-spy's raw stacks in this file.")
    args = parser.parse_args()
    with one_node() as (cluster, home):
        worker = profile_worker(
            cluster.bootstrap, home, args.events, args.seconds, cluster.nodes[0].pid()
        )
        if args.stacks is not None:
            shutil.copyfile(home / "worker.stacks", args.stacks)
    in_process = measure_in_process(valid_events(min(args.events, 5000), seed=1))
    result = {
        "benchmark": "worker_profile",
        "machine": machine(),
        "kafka": KAFKA_VERSION,
        "forces": list(FORCES),
        "events": args.events,
        "worker": worker,
        "stages_in_process_ms_per_event": round(1000 / in_process, 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
