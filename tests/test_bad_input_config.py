"""Bad configuration of telemetry backends: the AWS calls go on, the failure is visible.

An unreachable OTLP collector, a span exporter that raises, a tracer provider that raises:
none of them may fail or slow down the user's AWS calls; each must leave a trace in the logs.
(Unknown plugin names, bad environment values and malformed retry settings fail at install
or construction time: tests/test_core_plugins.py, tests/test_retry_policy.py,
tests/test_properties_config.py.)
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import botoware
from botoware.contrib import otel
from botoware.plugins.tracing import TracingPlugin


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_otlp_endpoint_drops_spans_with_a_log_and_calls_go_on(
    session: Any, client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """OTLP collector down: every AWS call succeeds; the failed export is logged."""
    # Bounded: the exporter gives up after a second instead of backing off for ten.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1")
    provider = otel.configure(endpoint=f"http://127.0.0.1:{_closed_port()}", set_global=False)
    made = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(made))
    s3 = client("s3")
    with caplog.at_level(logging.WARNING):
        with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
            for _ in range(5):
                s3.list_buckets()
        provider.force_flush()
        provider.shutdown()
    assert len(made.get_finished_spans()) == 5
    failures = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
    assert failures, "the dropped spans are reported"
    assert all(r.levelno >= logging.WARNING for r in failures)


class RaisingExporter(SpanExporter):
    """An exporter with a bug."""

    def __init__(self) -> None:
        self.attempts = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.attempts += 1
        raise RuntimeError("exporter bug")

    def shutdown(self) -> None:
        pass


def test_raising_span_exporter_never_reaches_the_call(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A span exporter that raises on every export: calls succeed, the SDK logs it."""
    exporter = RaisingExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    s3 = client("s3")
    with caplog.at_level(logging.ERROR):
        with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
            s3.list_buckets()
            s3.list_buckets()
    assert exporter.attempts == 2
    assert any("exporter bug" in str(r.exc_info and r.exc_info[1]) for r in caplog.records)


class BrokenTracer:
    """A tracer whose spans cannot be started."""

    def start_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("tracer bug")


class BrokenProvider:
    """A tracer provider that hands out a broken tracer."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> BrokenTracer:
        return BrokenTracer()


def test_broken_tracer_provider_is_logged_once_and_calls_go_on(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A tracer provider that raises: calls succeed, one ERROR record, then debug only."""
    s3 = client("s3")
    with caplog.at_level(logging.DEBUG, logger="botoware"):
        plugin = TracingPlugin(BrokenProvider())  # type: ignore[arg-type]
        with botoware.install(session, plugins=[plugin], autoload=False):
            for _ in range(3):
                s3.list_buckets()
    errors = [
        r for r in caplog.records if r.name.startswith("botoware") and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "tracer bug" in str(errors[0].exc_info[1])
