"""A real Prometheus scrapes a real worker; every dashboard query must return data.

This is what proves the dashboards and the service agree: a panel whose query names a metric
the worker does not export, filters on a label it does not set, or needs traffic the exchange
never counts comes back empty here.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

from click.testing import CliRunner

from cjsx.cli.status import status
from common import processes
from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.prometheus.server import PrometheusServer
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.simulator import SyntheticForce
from producers.traffic import TrafficMix, plan, publish
from streams.reference import StandingData
from tests.support.world import TEST_FORCES, Broker, WorkerProcess
from tools.dashboards import DASHBOARDS_DIR
from tools.promql import PanelQuery, dashboard_queries, label_values_query, substitute

FORCE = "05"
PARTNER = "court-magistrates"
# Grafana's built-in variables, as Grafana would fill them for a short time range.
GRAFANA_VARIABLES = {"force": FORCE, "__rate_interval": "1m", "__range": "5m", "__interval": "1s"}
MIX = TrafficMix(
    cases=4, resends=1, content_duplicates=1, out_of_order_cases=1, gap_cases=0, faults_each=1
)


def _all_queries() -> list[PanelQuery]:
    queries: list[PanelQuery] = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        queries += dashboard_queries(json.loads(path.read_text()))
    return queries


def _publish_mixed_traffic(kafka: Broker, catalog: TopicCatalog, seed: int) -> int:
    standing = StandingData.load()
    sims = [SyntheticForce(force_profile(standing, f), seed=seed + int(f)) for f in TEST_FORCES]
    traffic = plan(sims, MIX, seed=seed)
    publishers = {
        f: Publisher(
            bootstrap_servers=kafka.bootstrap,
            topic=catalog.ingest(f),
            **kafka.client(f"force-{f}"),
        )
        for f in TEST_FORCES
    }
    try:
        sent = sum(1 for _ in publish(traffic.planned, publishers))
    finally:
        for publisher in publishers.values():
            publisher.flush()
            publisher.close()
    return sent


def _run_partner(kafka: Broker, catalog: TopicCatalog, home: Path, stop: threading.Event) -> None:
    store = PartnerStore.sqlite(str(home / f"{PARTNER}.sqlite"))
    subscriber = Subscriber(
        bootstrap_servers=kafka.bootstrap,
        topic=catalog.deliver(PARTNER),
        group_id=catalog.partner_group(PARTNER),
        store=store,
        acks_topic=catalog.acks(PARTNER),
        **kafka.client(PARTNER),
    )
    try:
        subscriber.run(until=stop.is_set)
    finally:
        subscriber.close()
        store.close()


def _has_data(result: list[dict[str, object]]) -> bool:
    for sample in result:
        value = sample.get("value")
        if isinstance(value, list) and not math.isnan(float(value[1])):
            return True
    return False


def test_every_dashboard_query_returns_data_from_a_real_scrape(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    queries = _all_queries()
    assert len(queries) > 20

    # The worker serves the broker's lag metrics itself: it is the only target.
    targets = [f"127.0.0.1:{worker.web_port}"]
    stop_partner = threading.Event()
    partner = threading.Thread(target=_run_partner, args=(kafka, catalog, tmp_path, stop_partner))
    prometheus = PrometheusServer(tmp_path / "prometheus", targets, scrape_interval="1s")
    prometheus.start()
    try:
        partner.start()
        # Two rounds with scrapes between: a series first seen after its increase has no
        # rate yet, so the second round is what rates, ratios and percentiles are made of.
        sent = 0
        for seed in (40, 70):
            sent += _publish_mixed_traffic(kafka, catalog, seed)
            assert processes.wait_for(
                lambda total=sent: worker.metric("cjsx_events_received_total") >= total, 60
            ), f"worker counted {worker.metric('cjsx_events_received_total')} of {sent}"
            assert processes.wait_for(
                lambda: worker.metric("cjsx_acknowledgements_total", recipient=PARTNER) > 0, 60
            ), "no acknowledgement from the partner reached the worker"
            prometheus.wait_for_scrapes(count=2)

        empty: list[str] = []
        for query in queries:
            if query.is_variable:
                selector_label = label_values_query(query.expr)
                assert selector_label is not None, query
                selector, label = selector_label
                values = prometheus.api(f"label/{label}/values", **{"match[]": selector})
                if FORCE not in values:
                    empty.append(f"{query.dashboard} / {query.panel}: {values}")
                continue
            expr = substitute(query.expr, GRAFANA_VARIABLES)
            if not _has_data(prometheus.query(expr)):
                empty.append(f"{query.dashboard} / {query.panel}: {expr}")
        assert not empty, "queries without data:\n" + "\n".join(empty)
        # The check can fail: a misspelt metric or a force that sent nothing has no data.
        for wrong in ("sum(cjsx_event_total)", 'sum(rate(cjsx_events_total{force="99"}[1m]))'):
            assert not _has_data(prometheus.query(wrong)), wrong

        # The terminal view reads the same worker, and the broker for lag (as ``operator``).
        env = {
            "CJSX_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "CJSX_SECRETS_DIR": str(kafka.secrets_dir),
            "CJSX_TOPIC_NAMESPACE": catalog.namespace,
            "CJSX_FORCES": ",".join(TEST_FORCES),
        }
        url = f"http://127.0.0.1:{worker.web_port}/metrics"
        shown = CliRunner().invoke(status, ["--metrics-url", url, "--interval", "0.5"], env=env)
        assert shown.exit_code == 0, shown.output
        assert "broker up" in shown.output
        assert PARTNER in shown.output
    finally:
        stop_partner.set()
        partner.join(timeout=30)
        code = prometheus.stop()
    assert code == 0, f"prometheus did not stop cleanly; see {prometheus.log}"
