"""Prometheus configuration and alert rules, checked and unit-tested by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.prometheus.server import CONFIG, HERE, RULES, write_config
from tools.promql import exported_names, unknown_names

RULE_TESTS = (HERE / "alerts.test.yml", HERE / "alerts.weekly.test.yml")


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed: run `make test` (it installs it) or "
            "`apt-get install -y prometheus` (Debian's package provides promtool)"
        )
    return path


def _run(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_config_is_valid(promtool: str) -> None:
    result = _run(promtool, "check", "config", CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_local_config_with_substituted_targets_is_valid(promtool: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, ["127.0.0.1:9999"], scrape_interval="1s")
    result = _run(promtool, "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scrape_interval: 1s" in config.read_text()
    assert "127.0.0.1:9999" in (tmp_path / "targets" / "worker.json").read_text()


def test_rules_are_valid(promtool: str) -> None:
    result = _run(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = _run(promtool, "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_catch_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    """A partner-lag threshold raised to a day must make that alert's tests fail."""
    text = RULES.read_text()
    broken = text.replace(
        "(cjsx_consumer_lag_seconds) > 900", "(cjsx_consumer_lag_seconds) > 86400"
    )
    assert broken != text
    (tmp_path / RULES.name).write_text(broken)
    tests = yaml.safe_load(RULE_TESTS[0].read_text())
    tests["tests"] = [
        case
        for case in tests["tests"]
        if any(c["alertname"] == "CjsxPartnerLagHigh" for c in case["alert_rule_test"])
    ]
    (tmp_path / "lag.test.yml").write_text(yaml.safe_dump(tests))
    assert _run(promtool, "test", "rules", tmp_path / "lag.test.yml").returncode != 0
    (tmp_path / RULES.name).write_text(text)
    assert _run(promtool, "test", "rules", tmp_path / "lag.test.yml").returncode == 0


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    tests = [case for path in RULE_TESTS for case in yaml.safe_load(path.read_text())["tests"]]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert alerts - fires == set(), "alerts never shown to fire"
    assert alerts - quiet == set(), "alerts never shown to stay quiet"


def test_the_required_alerts_exist() -> None:
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    assert {
        "CjsxPartnerLagHigh",
        "CjsxRejectedEventsRising",
        "CjsxForceSilent",
        "CjsxLatencyAboveObjective",
        "CjsxWorkerDown",
        "CjsxBrokerDown",
    } <= alerts


def test_alerts_read_only_exported_metrics() -> None:
    known = exported_names()
    for rule in _rules():
        assert unknown_names(rule["expr"], known) == set(), rule.get("alert")


def test_every_alert_has_a_severity_and_summary() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
