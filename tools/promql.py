"""Which metric names a PromQL expression reads, and which names the exchange exports.

Dashboards and alert rules are checked against the service with these: a query that names a
metric nobody exports fails a unit test instead of drawing an empty panel in production. The
parser is deliberately small: it knows the PromQL the project writes (selectors, functions,
aggregations with ``by``/``without``, vector matching, ``offset``, Grafana's ``$variables``
and ``label_values``), not the whole grammar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_CLAUSE = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_NAME = re.compile(r"(?<![\w$.:])[A-Za-z_:][A-Za-z0-9_:]*(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"offset", "bool", "inf", "nan", "start", "end"}
)
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*(?:,\s*([A-Za-z_]\w*)\s*)?\)\s*$")

#: Series Prometheus makes itself for each scrape target; queries may use them.
SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


def metric_names(expr: str) -> set[str]:
    """The metric names an expression (or a Grafana ``label_values`` query) selects."""
    match = _LABEL_VALUES.match(expr)
    if match:
        expr = match[1] if match[2] is not None else ""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _CLAUSE.sub(" ", text)
    return {n for n in _NAME.findall(text) if n.lower() not in _KEYWORDS}


def sample_names(name: str, kind: str) -> set[str]:
    """The sample names a metric family exports (prometheus-client's family naming)."""
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if kind == "summary":
        return {name, f"{name}_sum", f"{name}_count"}
    if kind == "info":
        return {f"{name}_info"}
    return {name}


def exported_names() -> set[str]:
    """Every sample name a worker serves: its own metrics plus the broker collector's."""
    from streams.lag import BrokerMetrics, OffsetReader
    from streams.metrics import ExchangeMetrics

    def no_broker() -> OffsetReader:
        raise RuntimeError("declared names only; nothing is read")

    registry = CollectorRegistry()
    ExchangeMetrics(registry)
    names: set[str] = set()
    families = [*registry.collect(), *BrokerMetrics([], no_broker).describe()]
    for family in families:
        names |= sample_names(family.name, family.type)
    return names


def unknown_names(expr: str, known: set[str]) -> set[str]:
    """Names ``expr`` reads that are neither exported nor made by Prometheus itself."""
    return metric_names(expr) - known - SYNTHETIC


# -- queries in generated dashboards -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """One query of one panel (or of a template variable, ``panel`` = ``$name``)."""

    dashboard: str
    panel: str
    expr: str

    @property
    def is_variable(self) -> bool:
        return self.panel.startswith("$")


def dashboard_queries(doc: Mapping[str, Any]) -> list[PanelQuery]:
    """Every PromQL query in a dashboard's JSON: panel targets (rows included) and query
    variables."""
    title = str(doc.get("title", ""))
    found: list[PanelQuery] = []

    def walk(panels: Iterable[Mapping[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    found.append(PanelQuery(title, str(panel.get("title", "")), target["expr"]))
            walk(panel.get("panels") or [])

    walk(doc.get("panels") or [])
    for variable in (doc.get("templating") or {}).get("list") or []:
        if variable.get("type") == "query":
            query = variable.get("query")
            expr = query.get("query") if isinstance(query, Mapping) else query
            if expr:
                found.append(PanelQuery(title, f"${variable['name']}", str(expr)))
    return found


def label_values_query(expr: str) -> tuple[str, str] | None:
    """(selector, label) of a Grafana ``label_values(selector, label)`` query, else None."""
    match = _LABEL_VALUES.match(expr)
    if match is None or match[2] is None:
        return None
    return match[1], match[2]


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace Grafana variables (``$name`` or ``${name}``), longest names first."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr
