"""``botoware.contrib.otel.configure``: exporters from arguments and OTEL_* variables, errors,
and real OTLP/HTTP export into a receiver on loopback that decodes the protobuf."""

from __future__ import annotations

import gzip
import http.server
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from prometheus_client import CollectorRegistry

import botoware
from botoware.contrib import otel
from botoware.plugins.metrics import MetricsPlugin
from botoware.plugins.tracing import TracingPlugin

_OTEL_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
)


@pytest.fixture(autouse=True)
def _clean_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTEL_* setting of the machine leaks in; loopback is never proxied."""
    for name in _OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    """Collects the providers a test configures and shuts them down (batch threads) after."""
    made: list[TracerProvider] = []
    yield made
    for provider in made:
        provider.shutdown()


class _Receiver(http.server.ThreadingHTTPServer):
    """A minimal OTLP/HTTP collector: decodes each ExportTraceServiceRequest (and, posted to
    a path ending in metrics, each ExportMetricsServiceRequest) it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.requests: list[tuple[str, ExportTraceServiceRequest]] = []
        self.metric_requests: list[tuple[str, ExportMetricsServiceRequest]] = []

    def metric_points(self) -> list[tuple[str, dict[str, str]]]:
        """(metric name, string attributes) of every data point received."""
        found = []
        for _, request in self.metric_requests:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            attributes = {a.key: a.value.string_value for a in point.attributes}
                            found.append((metric.name, attributes))
        return found

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def spans(self) -> list[tuple[str, str]]:
        """(service.name, span name) of every span received."""
        found = []
        for _, request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    found += [(service, span.name) for span in scope_spans.spans]
        return found


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        if self.path.endswith("metrics"):
            metrics_request = ExportMetricsServiceRequest()
            metrics_request.ParseFromString(body)
            self.server.metric_requests.append((self.path, metrics_request))
            answer = ExportMetricsServiceResponse().SerializeToString()
        else:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.server.requests.append((self.path, request))
            answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    """An OTLP/HTTP receiver on 127.0.0.1, served from a thread."""
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _exporters(provider: TracerProvider) -> list[Any]:
    processors = provider._active_span_processor._span_processors
    return [p._batch_processor._exporter for p in processors if isinstance(p, BatchSpanProcessor)]


# -------------------------------------------------------------------------------------------
# OTLP export, end to end
# -------------------------------------------------------------------------------------------


def test_calls_are_exported_over_otlp_http(
    session: Any, client: Any, receiver: _Receiver, providers: list[TracerProvider]
) -> None:
    """configure(endpoint=..., service_name=...) exports the calls' spans to the collector."""
    provider = otel.configure(
        exporter="otlp", endpoint=receiver.url, service_name="checkout", set_global=False
    )
    providers.append(provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
        client("sts").get_caller_identity()
    assert provider.force_flush()
    assert {path for path, _ in receiver.requests} == {"/v1/traces"}
    assert sorted(receiver.spans()) == [
        ("checkout", "S3.ListBuckets"),
        ("checkout", "STS.GetCallerIdentity"),
    ]


def test_environment_chooses_exporter_endpoint_and_service(
    session: Any,
    client: Any,
    receiver: _Receiver,
    providers: list[TracerProvider],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), OTEL_SERVICE_NAME."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url + "/")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    provider = otel.configure(set_global=False)
    providers.append(provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("dynamodb").list_tables()
    assert provider.force_flush()
    assert [path for path, _ in receiver.requests] == ["/v1/traces"]
    assert receiver.spans() == [("from-env", "DynamoDB.ListTables")]


def test_traces_endpoint_variable_is_used_as_is(
    session: Any,
    client: Any,
    receiver: _Receiver,
    providers: list[TracerProvider],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins over the base endpoint and keeps its path."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url + "/custom/traces")
    provider = otel.configure(set_global=False)
    providers.append(provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
    assert provider.force_flush()
    assert [path for path, _ in receiver.requests] == ["/custom/traces"]


def test_endpoint_argument_with_a_path_is_used_as_is(providers: list[TracerProvider]) -> None:
    """endpoint="http://host:4318/v1/traces" is not given a second /v1/traces."""
    provider = otel.configure(endpoint="http://127.0.0.1:4318/v1/traces", set_global=False)
    providers.append(provider)
    [exporter] = _exporters(provider)
    assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"


# -------------------------------------------------------------------------------------------
# Other exporters
# -------------------------------------------------------------------------------------------


def test_console_exporter_prints_spans(
    session: Any,
    client: Any,
    providers: list[TracerProvider],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """exporter="console" writes each span as JSON to stdout."""
    provider = otel.configure(exporter="console", set_global=False)
    providers.append(provider)
    assert [type(e) for e in _exporters(provider)] == [ConsoleSpanExporter]
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
    assert provider.force_flush()
    assert '"name": "S3.ListBuckets"' in capsys.readouterr().out


def test_none_exporter_adds_no_processor(
    providers: list[TracerProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_TRACES_EXPORTER=none: a provider that records but exports nowhere."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = otel.configure(set_global=False)
    providers.append(provider)
    assert _exporters(provider) == []


def test_several_exporters_from_the_environment(
    providers: list[TracerProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_TRACES_EXPORTER=otlp,console sets up both, each behind a batch processor."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp, console")
    provider = otel.configure(set_global=False)
    providers.append(provider)
    names = [type(e).__name__ for e in _exporters(provider)]
    assert names == ["OTLPSpanExporter", "ConsoleSpanExporter"]


def test_an_exporter_instance_is_used(
    session: Any, client: Any, providers: list[TracerProvider]
) -> None:
    """exporter=<SpanExporter> is used behind a batch processor."""
    memory = InMemorySpanExporter()
    provider = otel.configure(exporter=memory, service_name="mine", set_global=False)
    providers.append(provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
    assert provider.force_flush()
    [span] = memory.get_finished_spans()
    assert span.name == "S3.ListBuckets"
    assert span.resource.attributes["service.name"] == "mine"


# -------------------------------------------------------------------------------------------
# The global provider
# -------------------------------------------------------------------------------------------


@pytest.fixture
def no_global_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenTelemetry's global tracer provider unset for the test, restored after it."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())


def test_set_global_makes_the_default_plugin_use_it(
    no_global_provider: None, session: Any, client: Any, providers: list[TracerProvider]
) -> None:
    """configure() sets the global provider, which the "tracing" built-in then uses."""
    memory = InMemorySpanExporter()
    provider = otel.configure(exporter=memory)
    providers.append(provider)
    assert trace.get_tracer_provider() is provider
    with botoware.install(session, plugins=["tracing"], autoload=False):
        client("s3").list_buckets()
    assert provider.force_flush()
    assert [span.name for span in memory.get_finished_spans()] == ["S3.ListBuckets"]


def test_a_second_global_provider_is_refused_with_a_warning(
    no_global_provider: None, providers: list[TracerProvider]
) -> None:
    """With a global provider already set, configure() warns and returns the new one unset."""
    first = otel.configure(exporter="none")
    providers.append(first)
    with pytest.warns(botoware.BotowareWarning, match="already set"):
        second = otel.configure(exporter="none")
    providers.append(second)
    assert trace.get_tracer_provider() is first
    assert second is not first


# -------------------------------------------------------------------------------------------
# Metrics over OTLP (OTEL_METRICS_EXPORTER)
# -------------------------------------------------------------------------------------------


@pytest.fixture
def no_global_meter_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """OpenTelemetry's global meter provider unset for the test, restored (and shut) after."""
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", None)
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER_SET_ONCE", Once())
    made: list[Any] = []
    yield made
    for provider in made:
        provider.shutdown()


def test_metrics_exporter_variable_posts_to_v1_metrics(
    no_global_provider: None,
    no_global_meter_provider: list[Any],
    session: Any,
    client: Any,
    receiver: _Receiver,
    providers: list[TracerProvider],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_METRICS_EXPORTER=otlp: configure() sets a global meter provider posting to
    OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, which MetricsPlugin records into."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    providers.append(otel.configure(exporter="none"))
    meter_provider = metrics.get_meter_provider()
    no_global_meter_provider.append(meter_provider)
    plugin = MetricsPlugin(CollectorRegistry(), meter_provider=meter_provider)
    with botoware.install(session, plugins=[plugin], autoload=False):
        client("s3").list_buckets()
    assert meter_provider.force_flush()  # type: ignore[attr-defined]
    assert {path for path, _ in receiver.metric_requests} == {"/v1/metrics"}
    points = receiver.metric_points()
    assert ("rpc.client.call.duration", {"rpc.system": "aws-api", "rpc.service": "S3",
            "rpc.method": "ListBuckets"}) in points  # fmt: skip


def test_metrics_endpoint_variable_is_used_as_is(
    no_global_meter_provider: list[Any], receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is the full URL, as the SDK's exporters read it."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{receiver.url}/custom/metrics")
    provider = otel.configure_metrics(exporter="otlp", set_global=False)
    assert provider is not None
    no_global_meter_provider.append(provider)
    provider.get_meter("test").create_counter("probe").add(1)
    assert provider.force_flush()
    assert [path for path, _ in receiver.metric_requests] == ["/custom/metrics"]


def test_metrics_are_not_pushed_unless_asked(no_global_meter_provider: list[Any]) -> None:
    """Without OTEL_METRICS_EXPORTER, configure_metrics() sets up nothing (Prometheus scrapes)."""
    assert otel.configure_metrics() is None
    assert isinstance(metrics.get_meter_provider(), metrics_internal._ProxyMeterProvider)


# -------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_TRACES_EXPORTER", "none,otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:port"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector/v1/traces"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
    ],
)
def test_bad_environment_value_names_its_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value configure() cannot use raises ConfigurationError naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(botoware.ConfigurationError, match=variable):
        otel.configure(set_global=False)


def test_bad_arguments_name_the_argument() -> None:
    """An unknown exporter name or a malformed endpoint argument names the argument."""
    with pytest.raises(botoware.ConfigurationError, match="exporter='jaeger'"):
        otel.configure(exporter="jaeger", set_global=False)
    with pytest.raises(botoware.ConfigurationError, match="endpoint='collector:4318'"):
        otel.configure(endpoint="collector:4318", set_global=False)


def test_missing_sdk_names_the_otel_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without opentelemetry-sdk: MissingExtraError naming the 'otel' extra and the package."""
    for module in ("opentelemetry.sdk.resources", "opentelemetry.sdk.trace"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(botoware.MissingExtraError) as caught:
        otel.configure(set_global=False)
    assert caught.value.extra == "otel"
    assert caught.value.missing == "opentelemetry-sdk"
    assert "pip install 'botoware[otel]'" in str(caught.value)


def test_missing_otlp_exporter_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the OTLP/HTTP exporter package, "otlp" names it and the 'otel' extra."""
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(botoware.MissingExtraError) as caught:
        otel.configure(exporter="otlp", set_global=False)
    assert caught.value.extra == "otel"
    assert caught.value.missing == "opentelemetry-exporter-otlp-proto-http"


def test_importing_the_module_needs_no_sdk() -> None:
    """botoware.contrib.otel imports without the SDK: configure() imports it when called."""
    source = otel.__file__
    assert source is not None
    with open(source) as handle:
        top_level = [line for line in handle if line.startswith(("import ", "from "))]
    assert not any("opentelemetry.sdk" in line for line in top_level)


def test_exporter_calling_aws_from_the_batch_thread_is_not_traced(
    session: Any, client: Any, providers: list[TracerProvider]
) -> None:
    """An exporter sending spans to SQS from the batch thread adds no spans of its own."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="otel-batch-exporter")["QueueUrl"]
    exported: list[str] = []

    class SqsExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            for span in spans:
                exported.append(span.name)
                sqs.send_message(QueueUrl=url, MessageBody=span.name)
            return SpanExportResult.SUCCESS

    provider = otel.configure(exporter=SqsExporter(), set_global=False)
    providers.append(provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
        assert provider.force_flush()
    assert exported == ["S3.ListBuckets"]


def test_botoware_run_pushes_metrics_and_spans_over_otlp(
    receiver: _Receiver, moto_url: str, tmp_path: Any
) -> None:
    """`botoware run` with OTEL_METRICS_EXPORTER=otlp posts the call's metrics to /v1/metrics
    and its span to /v1/traces of the same collector, as opentelemetry-instrument would."""
    env = {
        **os.environ,
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "pushed",
    }
    code = f"import boto3; boto3.client('sts', endpoint_url={moto_url!r}).get_caller_identity()"
    done = subprocess.run(
        [sys.executable, "-m", "botoware.contrib.cli", "run", "--", sys.executable, "-c", code],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert receiver.spans() == [("pushed", "STS.GetCallerIdentity")]
    durations = [a for name, a in receiver.metric_points() if name == "rpc.client.call.duration"]
    assert durations == [
        {"rpc.system": "aws-api", "rpc.service": "STS", "rpc.method": "GetCallerIdentity"}
    ]
