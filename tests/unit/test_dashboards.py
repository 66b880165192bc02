"""The generated dashboards: current, valid, and querying only metrics the worker exports."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from infra.prometheus.server import CONFIG as PROMETHEUS_CONFIG
from tools import dashboards
from tools.promql import (
    dashboard_queries,
    exported_names,
    label_values_query,
    metric_names,
    substitute,
    unknown_names,
)


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((dashboards.DASHBOARDS_DIR / name).read_text())
    return doc


def _unknown(doc: dict[str, Any]) -> dict[str, set[str]]:
    """Panel title → metric names its queries read that the service does not export."""
    known = exported_names()
    found: dict[str, set[str]] = {}
    for query in dashboard_queries(doc):
        missing = unknown_names(query.expr, known)
        if missing:
            found.setdefault(query.panel, set()).update(missing)
    return found


def test_no_stray_dashboards() -> None:
    on_disk = {p.name for p in dashboards.DASHBOARDS_DIR.glob("*.json")}
    assert on_disk == set(dashboards.DASHBOARDS)


@pytest.mark.parametrize("name", sorted(dashboards.DASHBOARDS))
def test_dashboard_json_is_valid_for_grafana(name: str) -> None:
    doc = _load(name)
    assert doc["uid"]
    assert doc["title"]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in doc["panels"]:
        assert {"type", "gridPos", "id"} <= panel.keys()
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": dashboards.DATASOURCE_UID}
        assert panel["targets"], f"{panel['title']} has no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == dashboards.DATASOURCE_UID
            assert metric_names(target["expr"]), f"{panel['title']}: no metric in the query"


def test_uids_are_unique() -> None:
    uids = [_load(name)["uid"] for name in dashboards.DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_provisioning_matches_the_dashboards() -> None:
    root = dashboards.PROVISIONING_DIR
    sources = yaml.safe_load((root / "datasources" / "prometheus.yaml").read_text())
    assert [d["uid"] for d in sources["datasources"]] == [dashboards.DATASOURCE_UID]
    assert sources["datasources"][0]["type"] == "prometheus"
    providers = yaml.safe_load((root / "dashboards" / "cjsx.yaml").read_text())
    assert providers["providers"][0]["type"] == "file"
    assert providers["providers"][0]["options"]["path"] == dashboards.DASHBOARDS_MOUNT


@pytest.mark.parametrize("name", sorted(dashboards.DASHBOARDS))
def test_every_query_reads_only_exported_metrics(name: str) -> None:
    doc = _load(name)
    assert dashboard_queries(doc)
    assert _unknown(doc) == {}


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("cjsx_event_total", "cjsx_events_total"),  # a typo
        ("cjsx_events", "cjsx_events_total"),  # the family name, not the sample name
        ("cjsx_processing_seconds", "cjsx_processing_seconds_bucket"),  # histogram base name
        ("cjsx_consumer_lag", "cjsx_consumer_lag_messages"),  # the broker collector's
    ],
)
def test_a_query_naming_a_metric_nobody_exports_is_caught(wrong: str, right: str) -> None:
    doc = copy.deepcopy(_load("overview.json"))
    assert right in exported_names()
    panel = next(p for p in doc["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = f"sum(rate({wrong}[5m]))"
    assert _unknown(doc) == {panel["title"]: {wrong}}


def test_a_bad_variable_query_is_caught_too() -> None:
    doc = copy.deepcopy(_load("force.json"))
    doc["templating"]["list"][0]["query"] = "label_values(cjsx_forces_total, force)"
    assert _unknown(doc) == {"$force": {"cjsx_forces_total"}}


def test_the_force_view_is_templated_on_force() -> None:
    doc = _load("force.json")
    queries = dashboard_queries(doc)
    variables = [q for q in queries if q.is_variable]
    assert [q.panel for q in variables] == ["$force"]
    assert label_values_query(variables[0].expr) == ("cjsx_events_received_total", "force")
    for query in queries:
        if not query.is_variable:
            assert 'force="$force"' in query.expr, query


def test_worker_up_uses_the_scrape_job_prometheus_defines() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = [c["job_name"] for c in config["scrape_configs"]]
    assert jobs == [dashboards.JOB]
    exprs = [q.expr for q in dashboard_queries(_load("overview.json"))]
    assert f'sum(up{{job="{dashboards.JOB}"}})' in exprs


# -- the query helpers themselves ------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (le) (rate(a_bucket{x="y,z"}[5m]))', {"a_bucket"}),
        ("a_total / on (force) group_left (kind) b_total", {"a_total", "b_total"}),
        ("increase(a_total[1h] offset 1w) > 1e3 unless c", {"a_total", "c"}),
        ('max(a{recipient=~"court-.*"}) > 300 and on () (hour() >= 6)', {"a"}),
        ("label_values(cjsx_events_received_total, force)", {"cjsx_events_received_total"}),
        ("label_values(force)", set()),
        ("rate(x:recorded:rate5m[$__rate_interval])", {"x:recorded:rate5m"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_substitute_replaces_longest_variable_names_first() -> None:
    expr = 'rate(a{force="$force"}[$__rate_interval]) + b[${__range}]'
    values = {"force": "05", "__rate_interval": "1m", "__range": "5m"}
    assert substitute(expr, values) == 'rate(a{force="05"}[1m]) + b[5m]'
