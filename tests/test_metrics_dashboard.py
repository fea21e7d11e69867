"""docs/grafana-dashboard.json: well-formed, and built only on the plugin's metric names.

Its queries also run against a real Prometheus server in tests/test_prometheus_server.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from botoware.plugins.metrics import ATTEMPTS, CALL_DURATION, CALLS, CALLS_IN_FLIGHT, ERRORS

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"
SERIES = {CALLS, ERRORS, f"{CALL_DURATION}_bucket", ATTEMPTS, CALLS_IN_FLIGHT}
LABELS = {"aws_service", "aws_operation", "outcome", "error_code", "le"}


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _queries() -> list[str]:
    return [target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"]]


def test_panels_have_unique_ids_and_use_the_datasource_variable() -> None:
    """Each panel has its own id, and every panel and query uses the ${datasource} variable."""
    panels = _dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels) >= 6
    uids = {panel["datasource"]["uid"] for panel in panels} | {
        target["datasource"]["uid"] for panel in panels for target in panel["targets"]
    }
    assert uids == {"${datasource}"}


def test_queries_use_only_the_plugins_metrics_and_labels() -> None:
    """Queries name only the five metrics and their labels, so they keep working."""
    for expr in _queries():
        names = set(re.findall(r"\baws_client_[a-z_]+", expr))
        assert names and names <= SERIES, expr
        grouped = {
            label.strip()
            for group in re.findall(r"by \(([^)]*)\)", expr)
            for label in group.split(",")
        }
        matched = set(re.findall(r"(\w+)=~?\"", expr))
        assert grouped | matched <= LABELS, expr


def test_variables_list_services_and_operations() -> None:
    """The service and operation variables come from aws_client_calls_total."""
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["service"]["definition"] == "label_values(aws_client_calls_total, aws_service)"
    assert "aws_client_calls_total" in variables["operation"]["definition"]


def test_latency_panel_shows_exemplars() -> None:
    """The p99 latency query asks Grafana for exemplars, the link from a slow call to its trace."""
    targets = [t for panel in _dashboard()["panels"] for t in panel["targets"]]
    assert any(t["exemplar"] and CALL_DURATION in t["expr"] for t in targets)
