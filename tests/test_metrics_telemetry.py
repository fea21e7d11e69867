"""The metrics plugin with OpenTelemetry: exemplars from the current span, and OTel instruments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

import botoware
from botoware.plugins import metrics as metrics_module
from botoware.plugins.metrics import (
    CALL_DURATION,
    DEFAULT_BUCKETS,
    OTEL_ACTIVE_CALLS,
    OTEL_ATTEMPTS,
    OTEL_CALL_DURATION,
    MetricsPlugin,
)
from botoware.plugins.tracing import TracingPlugin

# -------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test."""
    return CollectorRegistry()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """Collects the OpenTelemetry measurements on demand."""
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A fresh SDK meter provider read by ``reader``."""
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


def exemplars(registry: CollectorRegistry, operation: str) -> list[dict[str, str]]:
    """The exemplar labels on the duration buckets of ``operation``, from OpenMetrics text."""
    text = openmetrics_latest(registry).decode()
    return [
        dict(sample.exemplar.labels)
        for family in text_string_to_metric_families(text)
        if family.name == CALL_DURATION
        for sample in family.samples
        if sample.labels.get("aws_operation") == operation and sample.exemplar is not None
    ]


def ids(span: ReadableSpan) -> dict[str, str]:
    context = span.get_span_context()
    assert context is not None
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def only_span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [span for span in exporter.get_finished_spans() if span.name == name]
    return span


def otel_metric(reader: InMemoryMetricReader, name: str) -> Metric:
    data = reader.get_metrics_data()
    assert data is not None
    found = [
        metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
    ]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def points(metric: Metric) -> dict[frozenset[tuple[str, Any]], Any]:
    return {frozenset((point.attributes or {}).items()): point for point in metric.data.data_points}


STS = {"rpc.system": "aws-api", "rpc.service": "STS", "rpc.method": "GetCallerIdentity"}

# -------------------------------------------------------------------------------------------
# Exemplars
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metrics_first", [True, False], ids=["metrics-first", "tracing-first"])
def test_duration_carries_the_tracing_plugins_span_as_exemplar(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    metrics_first: bool,
) -> None:
    """With the tracing plugin, in either install order, the exemplar is the call's span."""
    tracing, metrics = TracingPlugin(provider), MetricsPlugin(registry)
    plugins: list[object] = [metrics, tracing] if metrics_first else [tracing, metrics]
    with botoware.install(session, plugins=plugins, autoload=False):
        client("sts").get_caller_identity()
    span = only_span(exporter, "STS.GetCallerIdentity")
    assert exemplars(registry, "GetCallerIdentity") == [ids(span)]


def test_failed_call_carries_its_span_as_exemplar(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    """A call failing validation (after_call_error) still observes inside its span."""
    plugins = [TracingPlugin(provider), MetricsPlugin(registry)]
    with botoware.install(session, plugins=plugins, autoload=False):
        with pytest.raises(botocore.exceptions.ParamValidationError):
            client("s3").get_object(Bucket="b")
    span = only_span(exporter, "S3.GetObject")
    assert exemplars(registry, "GetObject") == [ids(span)]


def test_users_own_span_is_the_exemplar_without_tracing(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    """Without the tracing plugin, the span current around the call is the exemplar."""
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        with provider.get_tracer("test").start_as_current_span("handler"):
            client("sts").get_caller_identity()
    assert exemplars(registry, "GetCallerIdentity") == [ids(only_span(exporter, "handler"))]


def test_unsampled_span_gives_no_exemplar(
    session: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A span that is not sampled leaves the observation without exemplar."""
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        with unsampled.get_tracer("test").start_as_current_span("handler"):
            client("sts").get_caller_identity()
    assert exemplars(registry, "GetCallerIdentity") == []


def test_no_span_gives_no_exemplar(session: Any, client: Any, registry: CollectorRegistry) -> None:
    """Without any current span the observation has no exemplar."""
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        client("sts").get_caller_identity()
    assert exemplars(registry, "GetCallerIdentity") == []


# -------------------------------------------------------------------------------------------
# OpenTelemetry instruments
# -------------------------------------------------------------------------------------------


def test_otel_duration_histogram_per_call(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    """rpc.client.call.duration gets one measurement per call, in seconds, AWS attributes."""
    plugin = MetricsPlugin(registry, meter_provider=meter_provider)
    with botoware.install(session, plugins=[plugin], autoload=False):
        sts = client("sts")
        sts.get_caller_identity()
        sts.get_caller_identity()
    metric = otel_metric(reader, OTEL_CALL_DURATION)
    assert metric.unit == "s"
    point = points(metric)[frozenset(STS.items())]
    assert isinstance(point, HistogramDataPoint)
    assert point.count == 2
    assert tuple(point.explicit_bounds) == DEFAULT_BUCKETS
    assert point.sum == pytest.approx(
        registry.get_sample_value(
            f"{CALL_DURATION}_sum", {"aws_service": "sts", "aws_operation": "GetCallerIdentity"}
        )
    )


def test_otel_failed_call_has_error_type(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    """A failed call's duration carries error.type, the same code as aws_client_errors_total."""
    plugin = MetricsPlugin(registry, meter_provider=meter_provider)
    with botoware.install(session, plugins=[plugin], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            client("s3").get_object(Bucket="missing-bucket", Key="k")
    attributes = {
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": "GetObject",
        "error.type": "NoSuchBucket",
    }
    assert points(otel_metric(reader, OTEL_CALL_DURATION))[frozenset(attributes.items())].count == 1


def test_otel_attempts_and_active_calls(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    """aws.client.attempts counts attempts; aws.client.active_calls is back at 0."""
    plugin = MetricsPlugin(registry, meter_provider=meter_provider)
    with botoware.install(session, plugins=[plugin], autoload=False):
        for _ in range(3):
            client("sts").get_caller_identity()
    attempts = points(otel_metric(reader, OTEL_ATTEMPTS))[frozenset(STS.items())]
    assert isinstance(attempts, NumberDataPoint)
    assert attempts.value == 3
    service = frozenset({"rpc.system": "aws-api", "rpc.service": "STS"}.items())
    active = points(otel_metric(reader, OTEL_ACTIVE_CALLS))[service]
    assert active.value == 0


def test_otel_duration_exemplar_is_the_calls_span(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    """The OTel SDK's trace-based exemplar on the duration is the tracing plugin's span."""
    plugins = [TracingPlugin(provider), MetricsPlugin(registry, meter_provider=meter_provider)]
    with botoware.install(session, plugins=plugins, autoload=False):
        client("sts").get_caller_identity()
    point = points(otel_metric(reader, OTEL_CALL_DURATION))[frozenset(STS.items())]
    span = only_span(exporter, "STS.GetCallerIdentity")
    context = span.get_span_context()
    assert context is not None
    assert [(e.trace_id, e.span_id) for e in point.exemplars] == [
        (context.trace_id, context.span_id)
    ]


@pytest.mark.parametrize(("interval", "kept"), [(3600.0, "first"), (0.0, "second")])
def test_a_bucket_takes_one_new_exemplar_per_interval(
    session: Any,
    client: Any,
    registry: CollectorRegistry,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    interval: float,
    kept: str,
) -> None:
    """Within EXEMPLAR_INTERVAL a bucket keeps its exemplar; after it, the latest call's wins."""
    monkeypatch.setattr(metrics_module, "EXEMPLAR_INTERVAL", interval)
    plugin = MetricsPlugin(registry, buckets=(60.0,))  # both calls land in one bucket
    tracer = provider.get_tracer("test")
    with botoware.install(session, plugins=[plugin], autoload=False):
        sts = client("sts")
        for name in ("first", "second"):
            with tracer.start_as_current_span(name):
                sts.get_caller_identity()
    assert exemplars(registry, "GetCallerIdentity") == [ids(only_span(exporter, kept))]
