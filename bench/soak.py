"""Soak: a steady mixed load for a long time, to see whether anything grows that should not.

Run: ``.venv/bin/python -m bench.soak [--minutes 30] [--rate 200] [--sample-seconds 10]``.
Prints one JSON object.

A plaintext broker and one worker process are started here; every partner's subscriber runs
(``cjsx partner run``, each its own process and SQLite store) so partner lag means something.
Synthetic forces offer mixed traffic with known intent (valid case stories, one event per
fault family, exact resends, content duplicates, out-of-order and gap cases) at a steady
rate. Every ``--sample-seconds`` a sampler thread records the worker's RSS, the size of its
state on disk, each partner's lag and the worker's own ingest lag (committed versus end
offsets), and the outcomes so far from the worker's ``/metrics``. The slope of each series
is a least-squares fit per minute, over the whole load and over its second half (after the
warm-up). When the load stops, the soak waits up to ``--drain-seconds`` for the worker to
account for every published event and for all lag to return to zero.

Everything started here is stopped in ``finally`` (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from bench.broker import KAFKA_VERSION, ROOT, machine, one_node
from cjsx.cli.status import parse_metrics
from common import processes
from consumers.store import PartnerStore
from consumers.subscriber import SubscriberStats
from infra.broker.node import KafkaCluster, free_port
from infra.registry import load_registry
from infra.topics import TopicCatalog, apply_topics
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.simulator import SyntheticForce
from producers.traffic import Planned, TrafficMix, plan
from streams.lag import KafkaOffsetReader, PartitionOffsets, Watch
from streams.reference import StandingData

FORCES = ("01", "05", "93")
OUTCOMES = ("accepted", "rejected", "duplicate")
START_ATTEMPTS = 3


# -- pure parts (unit-tested) ------------------------------------------------------------------


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, in value per minute.

    None when there is nothing to fit (fewer than two distinct times), rather than a number
    that looks like a measurement.
    """
    if len({t for t, _ in points}) < 2:
        return None
    fit = statistics.linear_regression([t / 60 for t, _ in points], [v for _, v in points])
    return fit.slope


def slopes(points: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    """The slope over all points and over the later half in time (warm-up excluded)."""
    if not points:
        return {"whole": None, "second_half": None}
    first, last = points[0][0], points[-1][0]
    middle = first + (last - first) / 2
    later = [p for p in points if p[0] >= middle]
    return {
        "whole": _round(slope_per_minute(points)),
        "second_half": _round(slope_per_minute(later)),
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def lag_by_watch(offsets: Mapping[Watch, Mapping[int, PartitionOffsets]]) -> dict[Watch, int]:
    """Records each group has not committed on its topic, summed over partitions (a group
    with no commit yet owes everything retained: ``PartitionOffsets.position``)."""
    return {w: sum(p.unconsumed for p in parts.values()) for w, parts in offsets.items()}


def zero_after(points: Sequence[tuple[float, float]], since: float) -> float | None:
    """Seconds from ``since`` to the first point at or after it whose value is zero and stays
    zero in every later point; None if the series never settles at zero."""
    settled: float | None = None
    for t, value in points:
        if t < since:
            continue
        if value == 0:
            if settled is None:
                settled = t
        else:
            settled = None
    return None if settled is None else settled - since


def outcome_totals(metrics_text: str) -> Counter[str]:
    """``cjsx_events_total`` from a Prometheus text page, summed over forces by outcome."""
    by_outcome = parse_metrics(metrics_text).by("cjsx_events_total", "outcome")
    return Counter({outcome: int(n) for outcome, n in by_outcome.items()})


def adds_up(published: int, outcomes: Mapping[str, int]) -> bool:
    """Every published record has exactly one outcome: published = accepted + rejected + dup."""
    return published == sum(outcomes.get(o, 0) for o in OUTCOMES) and set(outcomes) <= set(OUTCOMES)


# -- reading the running system ----------------------------------------------------------------


def rss_mib(pid: int) -> float | None:
    """Resident set size of ``pid`` from /proc (None once the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def neighbours(own: set[int]) -> dict[str, int]:
    """Other sessions' brokers, workers and test runs on this machine (their CPU is shared)."""
    kinds = {
        "kafka_brokers": ("kafka.Kafka",),
        "cjsx_workers": ("cjsx worker", "--no-supervise"),  # supervisors start workers so
        "pytest_runs": ("bin/pytest",),
    }
    found = dict.fromkeys(kinds, 0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        for kind, markers in kinds.items():
            found[kind] += all(m in command for m in markers)
    return found


def tree_bytes(path: Path) -> int:
    """Sum of the sizes of the files under ``path`` (RocksDB may remove files mid-walk)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(folder, name), follow_symlinks=False).st_size
    return total


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            return str(page.read().decode())
    except OSError:
        return None


# -- traffic -----------------------------------------------------------------------------------


class TrafficSource:
    """Endless mixed traffic: one planned round per force at a time, each with known intent.

    Rounds are in plan order (valid stories, out-of-order and gap cases, resends, content
    duplicates, one event per fault family), so every few seconds of load hold every kind.
    """

    def __init__(self, seed: int) -> None:
        standing = StandingData.load()
        self.sims = [SyntheticForce(force_profile(standing, f), seed=seed + int(f)) for f in FORCES]
        self.mix = TrafficMix()
        self.seed = seed
        self.expected: Counter[str] = Counter()

    def __iter__(self) -> Iterator[Planned]:
        round_ = 0
        while True:
            for item in plan(self.sims, self.mix, seed=self.seed + 1000 * round_).planned:
                self.expected[item.expected_outcome] += 1
                yield item
            round_ += 1


@dataclass
class Publishing:
    """What the load generator sent, and what the producer reported failing."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)

    def send(self, item: Planned, publishers: Mapping[str, Publisher]) -> None:
        publisher = publishers[item.force]
        if item.event is not None:
            future = publisher.publish(item.event)
        else:
            future = publisher.send_raw(b"undecodable", item.raw or b"")
        future.add_errback(lambda error: self.failed.append(type(error).__name__))
        self.sent += 1


# -- the partners ------------------------------------------------------------------------------


class Partners:
    """Each partner's ``cjsx partner run`` as its own process (as a partner runs it), into its
    own SQLite store. (Threads of this process, as before, measured this process's GIL: the
    busiest partner fell behind while the publishers ran beside it.)"""

    def __init__(self, env: dict[str, str], catalog: TopicCatalog, folder: Path) -> None:
        self.env = env
        self.catalog = catalog
        self.folder = folder
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stats: dict[str, SubscriberStats] = {}
        self.rows: dict[str, int] = {}
        """Deliveries each store holds, counted in the store once its subscriber stopped."""
        self.errors: list[str] = []

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for partner in self.catalog.registry.partners:
            command = [sys.executable, "-m", "cjsx", "partner", "run", "--partner", partner.id]
            self.running[partner.id] = processes.spawn(
                [*command, "--store", self._store(partner.id)],
                log=self._log(partner.id),
                env=self.env,
            )

    def _store(self, partner: str) -> str:
        return f"sqlite:///{self.folder / (partner + '.sqlite')}"

    def _log(self, partner: str) -> Path:
        return self.folder / f"{partner}.log"

    def close(self) -> None:
        """Stop each subscriber (SIGTERM: it finishes its batch) and read the statistics it
        prints as its last line."""
        for partner, process in self.running.items():
            exited_early = process.poll() is not None
            stop_group(process)
            lines = self._log(partner).read_text(errors="replace").splitlines()
            try:
                self.stats[partner] = SubscriberStats(**json.loads(lines[-1]))
            except (IndexError, ValueError, TypeError):
                self.errors.append(f"{partner}: no statistics at its end; see its log")
            if exited_early:
                self.errors.append(f"{partner}: exited before the run ended")
            store = PartnerStore(self._store(partner))
            try:
                self.rows[partner] = store.counts().deliveries
            finally:
                store.close()
        self.running.clear()


# -- sampling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: float
    phase: str
    worker_rss_mib: float | None
    worker_cpu_s: float | None
    state_mib: float
    partner_lag: int | None
    worker_ingest_lag: int | None
    lagging_partners: dict[str, int]
    published: int
    outcomes: dict[str, int]
    cases_held: int | None
    """Cases with events the worker holds for ordering: each becomes deliveries later."""
    load_1m: float


class Sampler:
    """Takes a ``Sample`` every ``interval`` seconds in a thread, so a slow read never
    stalls the load generator."""

    def __init__(
        self,
        *,
        worker: subprocess.Popen[bytes],
        port: int,
        state_dir: Path,
        reader: KafkaOffsetReader,
        partner_watches: list[Watch],
        ingest_watches: list[Watch],
        publishing: Publishing,
        interval: float,
    ) -> None:
        self.worker = worker
        self.port = port
        self.state_dir = state_dir
        self.reader = reader
        self.partner_watches = partner_watches
        self.ingest_watches = ingest_watches
        self.publishing = publishing
        self.interval = interval
        self.samples: list[Sample] = []
        self.phase = "load"
        self.started = time.monotonic()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += self.interval
            self.take()

    def take(self) -> Sample:
        with self._lock:
            sample = self._take()
            self.samples.append(sample)
            return sample

    def _take(self) -> Sample:
        t = round(time.monotonic() - self.started, 1)
        published = self.publishing.sent
        # The worker's page before the lag: what it has written by then is in the lag read.
        page = scrape(self.port)
        outcomes = dict(outcome_totals(page)) if page is not None else {}
        held = int(parse_metrics(page).total("cjsx_cases_held")) if page is not None else None
        lag: dict[Watch, int] | None
        try:
            lag = lag_by_watch(self.reader.offsets(self.partner_watches + self.ingest_watches))
        except Exception as error:  # noqa: BLE001 - a failed read is a gap in the series
            self.errors.append(f"lag at {t}s: {type(error).__name__}")
            lag = None
        return Sample(
            t_s=t,
            phase=self.phase,
            worker_rss_mib=rss_mib(self.worker.pid),
            worker_cpu_s=cpu_seconds(self.worker.pid),
            state_mib=round(tree_bytes(self.state_dir) / 2**20, 2),
            partner_lag=None if lag is None else sum(lag[w] for w in self.partner_watches),
            worker_ingest_lag=None if lag is None else sum(lag[w] for w in self.ingest_watches),
            lagging_partners={}
            if lag is None
            else {w.recipient or w.topic: lag[w] for w in self.partner_watches if lag[w]},
            published=published,
            outcomes=outcomes,
            cases_held=held,
            load_1m=round(os.getloadavg()[0], 2),
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)


# -- the run -----------------------------------------------------------------------------------


def exchange_env(bootstrap: str, catalog: TopicCatalog, home: Path) -> dict[str, str]:
    """What the worker and the partners' processes share."""
    return {
        "CJSX_BOOTSTRAP_SERVERS": bootstrap,
        "CJSX_TOPIC_NAMESPACE": catalog.namespace,
        "CJSX_FORCES": ",".join(FORCES),
        "CJSX_CACHE_DIR": str(home),
        "CJSX_LOG_LEVEL": "WARNING",
        "CJSX_SECURITY": "false",  # plaintext, as the other benchmarks: processing, not TLS
    }


def start_worker(bootstrap: str, catalog: TopicCatalog, home: Path, port: int) -> Any:
    env = {
        **exchange_env(bootstrap, catalog, home),
        "CJSX_WORKER_ID": worker_id(catalog),
        "CJSX_WORKER_WEB_PORT": str(port),
    }
    return processes.spawn(
        [sys.executable, "-m", "cjsx", "worker", "--no-supervise", "--name", "worker-1"],
        log=home / "worker.log",
        env=env,
    )


def worker_id(catalog: TopicCatalog) -> str:
    """The worker's Faust app id, which is also its consumer group on the ingest topics."""
    return f"soak-{catalog.namespace}"


def agent_crashes(log: Path) -> int:
    """How many times the worker's log says a Faust agent crashed (the process stays up)."""
    try:
        return log.read_text(errors="replace").count("Crashed reason=")
    except FileNotFoundError:
        return 0


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child started in its own session, then anything left in its process group."""
    processes.stop(process)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def paced(items: Iterator[Planned], rate: float, seconds: float) -> Iterator[Planned]:
    """Yield items on a fixed schedule of ``rate`` per second for ``seconds``; a late
    generator catches up on the schedule (offered load is kept, not stretched)."""
    started = time.monotonic()
    end = started + seconds
    due = 0
    while True:
        now = time.monotonic()
        if now >= end:
            return
        owed = int((now - started) * rate) + 1 - due
        if owed <= 0:
            time.sleep(min(0.01, end - now, (due - (now - started) * rate) / rate))
            continue
        for _ in range(owed):
            due += 1
            yield next(items)


def run(args: argparse.Namespace, home: Path, cluster: KafkaCluster) -> dict[str, Any]:
    bootstrap = cluster.bootstrap
    catalog = TopicCatalog(load_registry().limited_to(list(FORCES)), namespace="soak")
    apply_topics(catalog, bootstrap)
    port = free_port()
    worker: subprocess.Popen[bytes] | None = None
    partners = Partners(exchange_env(bootstrap, catalog, home), catalog, home / "partners")
    publishers: dict[str, Publisher] = {}
    reader: KafkaOffsetReader | None = None
    sampler: Sampler | None = None
    try:
        spawned = time.monotonic()
        partners.start()
        publishers = {
            f: Publisher(bootstrap_servers=bootstrap, topic=catalog.ingest(f)) for f in FORCES
        }
        source = TrafficSource(args.seed)
        items = iter(source)
        publishing = Publishing()
        log = home / "worker.log"
        restarts_at_start = 0
        for attempt in range(START_ATTEMPTS):
            crashes_before = agent_crashes(log)
            worker = start_worker(bootstrap, catalog, home, port)
            if not processes.wait_for(lambda: scrape(port) is not None, 120, interval=1.0):
                raise RuntimeError(f"worker did not start; see {log}")
            if attempt == 0:
                # Warm-up: the first item is a valid event; once it has an outcome the worker
                # has its partitions, and the load that follows measures steady state.
                publishing.send(next(items), publishers)
                publishers[FORCES[0]].flush()

            def settled(known: int = crashes_before) -> bool:
                crashed = agent_crashes(log) > known
                return crashed or sum(outcome_totals(scrape(port) or "").values()) >= 1

            processes.wait_for(settled, 300, interval=1.0)
            if agent_crashes(log) == crashes_before:
                break
            # Known start-up race: the agent can run before the worker sees its own table
            # changelog topics, crash, and leave the process up with nothing consuming.
            # A restart finds the topics; the warm-up event is processed then.
            restarts_at_start += 1
            stop_group(worker)
        if worker is None or sum(outcome_totals(scrape(port) or "").values()) < 1:
            raise RuntimeError(f"worker gave no outcome; see {log}")
        first_outcome_s = round(time.monotonic() - spawned, 1)
        reader = KafkaOffsetReader(bootstrap, {})
        partner_watches = [
            Watch(catalog.deliver(p.id), catalog.partner_group(p.id), p.id)
            for p in catalog.registry.partners
        ]
        ingest_watches = [Watch(catalog.ingest(f), worker_id(catalog)) for f in FORCES]
        sampler = Sampler(
            worker=worker,
            port=port,
            state_dir=home / "worker",
            reader=reader,
            partner_watches=partner_watches,
            ingest_watches=ingest_watches,
            publishing=publishing,
            interval=args.sample_seconds,
        ).start()

        load_seconds = args.minutes * 60
        own = {os.getpid(), worker.pid, *(n.pid() or 0 for n in cluster.nodes)}
        others_at_start = neighbours(own)
        load_started = time.monotonic()
        before = sampler.take()
        warm_up = publishing.sent
        for item in paced(items, args.rate, load_seconds):
            publishing.send(item, publishers)
        for p in publishers.values():
            p.flush()
        offered_for = time.monotonic() - load_started
        others_at_end = neighbours(own)
        sampler.close()  # from here the drain loop samples, more often
        load_end = sampler.take()
        sampler.phase = "drain"
        stopped_at = load_end.t_s

        # Drain: until the worker accounts for every record and all lag is zero, or the bound.
        def drained() -> bool:
            s = sampler.take() if sampler is not None else None
            return (
                s is not None
                and sum(s.outcomes.values()) >= publishing.sent
                and s.cases_held == 0  # an event held for a gap is delivered later
                and s.partner_lag == 0
                and s.worker_ingest_lag == 0
            )

        returned = processes.wait_for(
            drained, args.drain_seconds, interval=min(2.0, args.sample_seconds)
        )
        samples = list(sampler.samples)
        final = samples[-1]
        partners.close()
        return _result(
            args,
            samples=samples,
            before=before,
            load_end=load_end,
            final=final,
            stopped_at=stopped_at,
            offered_for=offered_for,
            warm_up=warm_up,
            first_outcome_s=first_outcome_s,
            restarts_at_start=restarts_at_start,
            others={"at_load_start": others_at_start, "at_load_end": others_at_end},
            agent_crashes=agent_crashes(log),
            returned=returned,
            publishing=publishing,
            expected=source.expected,
            partners=partners,
            sampler_errors=sampler.errors,
            metrics=scrape(port) or "",
        )
    except BaseException:
        _tail(home / "worker.log")  # the temporary folder goes with the run
        raise
    finally:
        if sampler is not None:
            sampler.close()
        for p in publishers.values():
            with contextlib.suppress(Exception):
                p.close()
        partners.close()
        if reader is not None:
            with contextlib.suppress(Exception):
                reader.close()
        if worker is not None:
            stop_group(worker)


def _tail(log: Path, lines: int = 20) -> None:
    """Keep the worker's log of a failed run (under .cache/reports/) and show its end."""
    with contextlib.suppress(OSError):
        kept = ROOT / ".cache" / "reports" / f"soak-worker-{int(time.time())}.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, kept)
        text = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- last lines of {kept} ---", *text, sep="\n", file=sys.stderr)


def _delivered(metrics_text: str) -> int:
    return int(parse_metrics(metrics_text).total("cjsx_deliveries_total"))


def _result(
    args: argparse.Namespace,
    *,
    samples: list[Sample],
    before: Sample,
    load_end: Sample,
    final: Sample,
    stopped_at: float,
    offered_for: float,
    warm_up: int,
    first_outcome_s: float,
    restarts_at_start: int,
    others: dict[str, dict[str, int]],
    agent_crashes: int,
    returned: bool,
    publishing: Publishing,
    expected: Counter[str],
    partners: Partners,
    sampler_errors: list[str],
    metrics: str,
) -> dict[str, Any]:
    load = [s for s in samples if s.phase == "load"]

    def series(name: str) -> list[tuple[float, float]]:
        points = [(s.t_s, getattr(s, name)) for s in load]
        return [(t, float(v)) for t, v in points if v is not None]

    outcomes = {o: final.outcomes.get(o, 0) for o in OUTCOMES}
    processed_in_load = sum(load_end.outcomes.values()) - sum(before.outcomes.values())
    load_window = max(1e-3, load_end.t_s - before.t_s)
    drain = [s for s in samples if s.t_s >= stopped_at]
    stored = sum(partners.rows.values())
    delivered = _delivered(metrics)
    return {
        "benchmark": "soak",
        "command": "python -m bench.soak " + " ".join(sys.argv[1:]),
        "machine": {**machine(), "other_sessions_running": others},
        "kafka": KAFKA_VERSION,
        "minutes": args.minutes,
        "sample_seconds": args.sample_seconds,
        "worker_start_to_first_outcome_s": first_outcome_s,
        "worker_restarts_at_start": restarts_at_start,
        "worker_agent_crashes_logged": agent_crashes,
        "offered_events_per_s": args.rate,
        "achieved_publish_events_per_s": round((load_end.published - warm_up) / offered_for, 1),
        "worker_events_per_s_during_load": round(processed_in_load / load_window, 1),
        "worker_cpu_cores_during_load": _cpu_share(before, load_end),
        "load_1m_during_load": {
            "min": min(s.load_1m for s in load),
            "max": max(s.load_1m for s in load),
        },
        "published": publishing.sent,
        "publish_failures": len(publishing.failed),
        "outcomes": outcomes,
        "expected_outcomes": {o: expected.get(o, 0) for o in OUTCOMES},
        "adds_up": adds_up(publishing.sent, final.outcomes),
        "outcomes_match_intent": outcomes == {o: expected.get(o, 0) for o in OUTCOMES},
        "deliveries": {
            "delivered": delivered,
            "stored_in_partner_stores": stored,
            "stored_as_subscribers_counted": sum(s.stored for s in partners.stats.values()),
            # Only comparable once drained: the worker may still be delivering otherwise.
            "each_stored_once": stored == delivered if returned else None,
            "redelivered": sum(s.redelivered for s in partners.stats.values()),
            "quarantined": sum(s.quarantined for s in partners.stats.values()),
            "subscriber_errors": partners.errors,
        },
        "slopes_per_minute": {
            name: slopes(series(name))
            for name in ("worker_rss_mib", "state_mib", "partner_lag", "worker_ingest_lag")
        },
        "peaks_during_load": {
            "worker_rss_mib": max((v for _, v in series("worker_rss_mib")), default=None),
            "partner_lag": max((v for _, v in series("partner_lag")), default=None),
            "worker_ingest_lag": max((v for _, v in series("worker_ingest_lag")), default=None),
        },
        "drain": {
            "bound_s": args.drain_seconds,
            "returned_to_zero": returned,
            "partner_lag_zero_after_s": zero_after(
                [(s.t_s, float(s.partner_lag)) for s in drain if s.partner_lag is not None],
                stopped_at,
            ),
            "worker_ingest_lag_zero_after_s": zero_after(
                [
                    (s.t_s, float(s.worker_ingest_lag))
                    for s in drain
                    if s.worker_ingest_lag is not None
                ],
                stopped_at,
            ),
            "all_outcomes_after_s": next(
                (
                    round(s.t_s - stopped_at, 1)
                    for s in drain
                    if sum(s.outcomes.values()) >= publishing.sent
                ),
                None,
            ),
        },
        "sampler_errors": sampler_errors,
        "samples": [_compact(s) for s in samples],
    }


def _cpu_share(first: Sample, last: Sample) -> float | None:
    """Cores the worker used on average between two samples (below 1.0 on a busy machine
    with a backlog: it was waiting for a CPU, or for the broker)."""
    if first.worker_cpu_s is None or last.worker_cpu_s is None or last.t_s <= first.t_s:
        return None
    return round((last.worker_cpu_s - first.worker_cpu_s) / (last.t_s - first.t_s), 2)


def _compact(sample: Sample) -> dict[str, Any]:
    row = asdict(sample)
    if not row["lagging_partners"]:
        del row["lagging_partners"]
    return row


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM as Ctrl-C, so ``finally`` blocks stop the broker and the worker."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="Length of the load.")
    parser.add_argument("--rate", type=float, default=200.0, help="Offered events per second.")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=180.0,
        help="How long lag may take to return to zero once the load stops.",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)

    try:
        with one_node(prefix="cjsx-soak-") as (cluster, home):
            result = run(args, home, cluster)
    except KeyboardInterrupt:
        print("soak interrupted: everything it started is stopped", file=sys.stderr)
        raise SystemExit(130) from None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
