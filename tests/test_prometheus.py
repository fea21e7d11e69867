"""botoware.contrib.prometheus: serve() scraped over loopback, WSGI/ASGI apps, multiprocess mode."""

from __future__ import annotations

import asyncio
import errno
import glob
import multiprocessing
import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

import botoware
from botoware.contrib.prometheus import (
    MULTIPROC_ENV,
    MetricsServer,
    asgi_app,
    child_exit,
    exposition_registry,
    serve,
    wsgi_app,
)
from botoware.plugins.metrics import CALLS, CALLS_IN_FLIGHT, MetricsPlugin

STS_OK = {"aws_service": "sts", "aws_operation": "GetCallerIdentity", "outcome": "success"}

# -------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry with the metrics plugin's collectors."""
    return CollectorRegistry()


@pytest.fixture
def counted(session: Any, client: Any, registry: CollectorRegistry) -> CollectorRegistry:
    """``registry`` after two successful STS calls were counted into it."""
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        sts = client("sts")
        sts.get_caller_identity()
        sts.get_caller_identity()
    return registry


@pytest.fixture
def server(counted: CollectorRegistry) -> Iterator[MetricsServer]:
    """serve() of the counted registry on 127.0.0.1, a free port."""
    with serve(registry=counted) as running:
        yield running


def scrape(url: str, accept: str | None = None) -> tuple[str, str]:
    """(content type, body) of one GET."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def sample(text: str, name: str, labels: dict[str, str]) -> float | None:
    for family in text_string_to_metric_families(text):
        for each in family.samples:
            if each.name == name and each.labels == labels:
                return float(each.value)
    return None


# -------------------------------------------------------------------------------------------
# serve()
# -------------------------------------------------------------------------------------------


def test_scrape_over_http_parses_with_prometheus_parser(server: MetricsServer) -> None:
    """A GET of serve()'s URL is Prometheus text with the call counts."""
    content_type, body = scrape(server.url)
    assert content_type.startswith("text/plain")
    assert sample(body, CALLS, STS_OK) == 2


def test_serve_listens_on_loopback_on_a_free_port(server: MetricsServer) -> None:
    """By default serve() binds 127.0.0.1 and port 0 picks a free port, shown in url."""
    assert server.address == "127.0.0.1"
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/metrics"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_serve_on_ipv6_loopback(counted: CollectorRegistry) -> None:
    """serve(addr="::1") listens on IPv6 and its url brackets the address."""
    with serve(addr="::1", registry=counted) as running:
        assert running.url == f"http://[::1]:{running.port}/metrics"
        assert sample(scrape(running.url)[1], CALLS, STS_OK) == 2


def test_openmetrics_negotiation_shows_exemplars(
    session: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A scraper accepting OpenMetrics gets it, with the span's ids as exemplar."""
    provider = TracerProvider()
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        with provider.get_tracer("test").start_as_current_span("handler") as span:
            client("sts").get_caller_identity()
    trace_id = f"{span.get_span_context().trace_id:032x}"
    with serve(registry=registry) as running:
        content_type, body = scrape(running.url, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    found = [
        each.exemplar.labels["trace_id"]
        for family in openmetrics_families(body)
        for each in family.samples
        if each.exemplar is not None
    ]
    assert found == [trace_id]


def test_taken_port_fails_naming_the_port(registry: CollectorRegistry) -> None:
    """serve() on a port another socket listens on raises OSError naming address and port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"127\.0\.0\.1 port {port}\b") as caught:
            serve(port=port, registry=registry)
    assert caught.value.errno == errno.EADDRINUSE


def test_close_releases_the_port(registry: CollectorRegistry) -> None:
    """After close() the same port can be served again; a second close() is harmless."""
    first = serve(registry=registry)
    first.close()
    first.close()
    with serve(port=first.port, registry=registry) as second:
        assert second.port == first.port
        assert scrape(second.url)[1] == ""


@pytest.mark.parametrize("port", [-1, 65536, "9100", True])
def test_bad_port_is_a_configuration_error(port: Any) -> None:
    """A port that is no int from 0 to 65535 is refused before binding."""
    with pytest.raises(botoware.ConfigurationError, match="port"):
        serve(port=port)


def test_default_registry_is_the_global_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without registry= and outside multiprocess mode, serve() exposes the global REGISTRY."""
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with serve() as running:
        body = scrape(running.url)[1]
    assert "python_info" in body


# -------------------------------------------------------------------------------------------
# WSGI and ASGI apps
# -------------------------------------------------------------------------------------------


def test_wsgi_app_answers_get_with_the_metrics(counted: CollectorRegistry) -> None:
    """wsgi_app() is a WSGI app whose GET response is the exposition."""
    environ: dict[str, Any] = {"PATH_INFO": "/metrics"}
    setup_testing_defaults(environ)
    started: list[str] = []
    body = b"".join(
        wsgi_app(counted)(environ, lambda status, headers: started.append(status))
    ).decode()
    assert started == ["200 OK"]
    assert sample(body, CALLS, STS_OK) == 2


async def _asgi(app: Any, scope: dict[str, Any], inbox: list[dict[str, Any]]) -> list[Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_asgi_app_answers_get_with_the_metrics(counted: CollectorRegistry) -> None:
    """asgi_app() is an ASGI app whose HTTP GET response is the exposition."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/metrics",
        "query_string": b"",
        "headers": [(b"accept", b"text/plain")],
    }
    inbox = [{"type": "http.request", "body": b"", "more_body": False}]
    start, body = asyncio.run(_asgi(asgi_app(counted), scope, inbox))
    assert start["status"] == 200
    assert sample(body["body"].decode(), CALLS, STS_OK) == 2


def test_asgi_app_completes_the_lifespan_protocol(registry: CollectorRegistry) -> None:
    """Run on its own under an ASGI server, the app answers lifespan startup and shutdown."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = asyncio.run(_asgi(asgi_app(registry), {"type": "lifespan"}, inbox))
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


# -------------------------------------------------------------------------------------------
# Multiprocess mode
# -------------------------------------------------------------------------------------------


def _worker(endpoint: str, calls: int) -> None:
    """A pre-fork worker: its own interpreter, PROMETHEUS_MULTIPROC_DIR set before import."""
    import boto3

    import botoware
    from botoware.plugins.metrics import plugin

    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLEBOTOWARE1",
        aws_secret_access_key="wJalrXUtnFEMIbotowareSECRETKEYEXAMPLE01",
        region_name="us-east-1",
    )
    with botoware.install(session, plugins=[plugin()], autoload=False):
        sts = session.client("sts", endpoint_url=endpoint)
        for _ in range(calls):
            sts.get_caller_identity()


@pytest.fixture
def multiproc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PROMETHEUS_MULTIPROC_DIR, set for this process and the ones it spawns."""
    path = tmp_path / "prometheus-multiproc"
    path.mkdir()
    monkeypatch.setenv(MULTIPROC_ENV, str(path))
    return path


@pytest.fixture
def two_workers(multiproc_dir: Path, moto_url: str) -> list[int]:
    """Two real worker processes that made 3 and 4 STS calls and exited; their pids."""
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters, like pre-fork workers
    workers = [spawn.Process(target=_worker, args=(moto_url, n)) for n in (3, 4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    return [worker.pid for worker in workers if worker.pid is not None]


def test_multiprocess_exposition_sums_the_workers(two_workers: list[int]) -> None:
    """serve() in multiprocess mode exposes the sum of both workers' calls."""
    with serve() as running:
        body = scrape(running.url)[1]
    assert sample(body, CALLS, STS_OK) == 7
    assert sample(body, CALLS_IN_FLIGHT, {"aws_service": "sts"}) == 0


def test_multiprocess_registry_reads_the_directory(two_workers: list[int]) -> None:
    """exposition_registry() collects from the workers' files, not this process's REGISTRY."""
    assert exposition_registry().get_sample_value(CALLS, STS_OK) == 7


def test_child_exit_forgets_a_dead_workers_in_flight_gauge(
    two_workers: list[int], multiproc_dir: Path
) -> None:
    """gunicorn's child_exit hook removes the worker's live gauge file; its counts stay."""
    pid = two_workers[0]
    assert glob.glob(os.path.join(multiproc_dir, f"gauge_livesum_{pid}.db"))
    child_exit(None, SimpleNamespace(pid=pid))
    assert not glob.glob(os.path.join(multiproc_dir, f"gauge_livesum_{pid}.db"))
    assert exposition_registry().get_sample_value(CALLS, STS_OK) == 7


def test_multiproc_dir_that_is_no_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PROMETHEUS_MULTIPROC_DIR pointing nowhere is a configuration error naming it."""
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "missing"))
    with pytest.raises(botoware.ConfigurationError, match=MULTIPROC_ENV):
        wsgi_app()
