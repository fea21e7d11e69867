"""A real Prometheus server scrapes serve() on loopback and answers queries over its HTTP API.

Needs the ``prometheus`` binary (Debian package ``prometheus``; ``.ci/run`` installs it). Without
it the tests skip, except under CI (``CI=true``), where a missing binary is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

import botoware
from botoware.contrib.prometheus import MetricsServer, serve
from botoware.plugins.metrics import MetricsPlugin

pytestmark = pytest.mark.prometheus

CALLS = 5
DOCS = Path(__file__).resolve().parent.parent / "docs"
DASHBOARD = DOCS / "grafana-dashboard.json"
# What a Prometheus Operator ServiceMonitor attaches to every series of a target.
TARGET_LABELS = {
    "service": "checkout",
    "namespace": "shop",
    "pod": "checkout-7d9f",
    "container": "app",
    "endpoint": "metrics",
}
# Seconds for Prometheus to start, scrape and answer: spent only when it does not, and on a
# loaded machine (parallel test workers, other builds) it starts many times slower than alone.
DEADLINE = 120.0
T = TypeVar("T")


def _binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        reason = "the prometheus binary is not installed (apt-get install prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run this test (.ci/run installs it)")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Scraped:
    """A Prometheus server scraping serve() every second, and what the calls were."""

    api: str
    target: MetricsServer
    trace_id: str
    log: Path

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.api}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def until(self, what: str, probe: Callable[[], T | None]) -> T:
        """Poll ``probe`` until it answers, or fail after DEADLINE with Prometheus's log."""
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                answer = probe()
            except OSError:  # not listening yet
                answer = None
            if answer is not None:
                return answer
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus never showed {what}; its log:\n{self.log.read_text()}")
            time.sleep(0.25)  # polling another process, which scrapes once a second


@pytest.fixture(scope="module")
def scraped(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """5 STS calls counted (inside a sampled span), served, and scraped by Prometheus with the
    target labels of a Kubernetes ServiceMonitor."""
    binary = _binary()
    registry = CollectorRegistry()
    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLEBOTOWARE1",
        aws_secret_access_key="wJalrXUtnFEMIbotowareSECRETKEYEXAMPLE01",
        region_name="us-east-1",
    )
    tracer = TracerProvider().get_tracer("test")
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        sts = session.client("sts", endpoint_url=moto_url)
        with tracer.start_as_current_span("handler") as span:
            for _ in range(CALLS):
                sts.get_caller_identity()
    trace_id = f"{span.get_span_context().trace_id:032x}"

    workdir = tmp_path_factory.mktemp("prometheus")
    with serve(registry=registry) as target:
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: botoware\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{target.port}']\n"
            "        labels:\n"
            + "".join(f"          {name}: {value}\n" for name, value in TARGET_LABELS.items())
        )
        process, port, log = _start(binary, config, workdir)
        try:
            yield Scraped(f"http://127.0.0.1:{port}", target, trace_id, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(binary: str, config: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Prometheus listening on a free loopback port, ready to answer.

    The port is free when picked, but another process (a parallel test worker) may take it
    before Prometheus binds it: then Prometheus exits, or another server answers, and a new
    port is tried.
    """
    for attempt in range(5):
        port = _free_port()
        log = workdir / f"prometheus-{attempt}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / f'data-{attempt}'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--enable-feature=exemplar-storage",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + DEADLINE
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5) as r:
                    if b"Prometheus" in r.read():
                        return process, port, log
            except OSError:  # not listening yet, or not ready (503)
                pass
            time.sleep(0.25)  # polling another process as it starts
        if process.poll() is None:
            process.kill()
            process.wait()
        if b"address already in use" not in log.read_bytes():
            pytest.fail(f"Prometheus did not get ready; its log:\n{log.read_text()}")
    pytest.fail("Prometheus found no free port in 5 tries")


def test_prometheus_scrapes_the_call_count(scraped: Scraped) -> None:
    """Prometheus's query API answers aws_client_calls_total with the calls made."""
    query = (
        'aws_client_calls_total{aws_service="sts",aws_operation="GetCallerIdentity",'
        'outcome="success"}'
    )

    def probe() -> list[Any] | None:
        result: list[Any] = scraped.get("/api/v1/query", query=query)["data"]["result"]
        return result or None

    [series] = scraped.until("aws_client_calls_total", probe)
    assert series["metric"]["job"] == "botoware"
    assert series["metric"]["instance"] == f"127.0.0.1:{scraped.target.port}"
    assert float(series["value"][1]) == CALLS


def test_prometheus_keeps_the_duration_exemplar(scraped: Scraped) -> None:
    """Scraping OpenMetrics, Prometheus stores the duration's exemplar with the span's trace id."""
    query = 'aws_client_call_duration_seconds_bucket{aws_operation="GetCallerIdentity"}'

    def probe() -> set[str] | None:
        now = time.time()
        answer = scraped.get(
            "/api/v1/query_exemplars", query=query, start=str(now - 3600), end=str(now + 60)
        )
        found = {
            exemplar["labels"]["trace_id"]
            for series in answer["data"]
            for exemplar in series["exemplars"]
        }
        return found or None

    assert scraped.until("an exemplar", probe) == {scraped.trace_id}


def test_dashboard_queries_run_and_show_the_calls(scraped: Scraped) -> None:
    """Every query of docs/grafana-dashboard.json is valid PromQL; the calls panel has data."""

    def concrete(expr: str) -> str:
        return (
            expr.replace("$__rate_interval", "1m")
            .replace("$service", ".*")
            .replace("$operation", ".*")
        )

    dashboard = json.loads(DASHBOARD.read_text())
    queries = [concrete(t["expr"]) for panel in dashboard["panels"] for t in panel["targets"]]
    for query in queries:
        answer = scraped.get("/api/v1/query", query=query)
        assert answer["status"] == "success", (query, answer)

    def probe() -> list[Any] | None:
        result: list[Any] = scraped.get("/api/v1/query", query=queries[0])["data"]["result"]
        return result or None

    series = scraped.until("a rate of calls", probe)
    assert {s["metric"]["aws_operation"] for s in series} == {"GetCallerIdentity"}


def test_target_labels_leave_the_metric_labels_alone(scraped: Scraped) -> None:
    """With service/namespace/pod target labels, ours arrive unrenamed beside them."""
    query = 'aws_client_calls_total{aws_service="sts",outcome="success"}'

    def probe() -> list[Any] | None:
        result: list[Any] = scraped.get("/api/v1/query", query=query)["data"]["result"]
        return result or None

    [series] = scraped.until("aws_client_calls_total", probe)
    labels = series["metric"]
    assert labels["aws_operation"] == "GetCallerIdentity"
    assert {name: labels[name] for name in TARGET_LABELS} == TARGET_LABELS
    assert not [name for name in labels if name.startswith("exported_")]


def _documented_queries() -> list[str]:
    """The PromQL of docs/metrics.md's Queries section, one string per query."""
    text = (DOCS / "metrics.md").read_text().split("## Queries", 1)[1]
    block = text.split("```text\n", 1)[1].split("```", 1)[0]
    return [
        " ".join(line.strip() for line in query.splitlines() if not line.startswith("#"))
        for query in block.strip().split("\n\n")
    ]


def test_documented_queries_return_the_calls(scraped: Scraped) -> None:
    """docs/metrics.md's PromQL is valid and groups the calls by our labels, not the target's."""
    queries = [q.replace('aws_service="s3"', 'aws_service="sts"') for q in _documented_queries()]
    assert len(queries) >= 5
    for query in queries:
        answer = scraped.get("/api/v1/query", query=query)
        assert answer["status"] == "success", (query, answer)
    # The calls all succeeded: the error and throttling queries rightly return nothing.
    for query in [q for q in queries if "error" not in q]:

        def probe(query: str = query) -> list[Any] | None:
            result: list[Any] = scraped.get("/api/v1/query", query=query)["data"]["result"]
            return result or None

        [series] = scraped.until(query, probe)
        assert series["metric"]["aws_operation"] == "GetCallerIdentity", query
        assert "service" not in series["metric"], query
