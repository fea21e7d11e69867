"""Keep-only tracing and calls that no span records: what reaches the SDK, what is kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import StatusCode

import botoware
from botoware.plugins.tracing import ATTEMPT_EVENT, FinishedCall, KeepOnly, TracingPlugin
from botoware.testing import Faults, throttle


class Started(SpanProcessor):
    """Counts the spans the SDK started: zero means the plugin never reached the SDK."""

    def __init__(self) -> None:
        self.started = 0

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.started += 1


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def started() -> Started:
    return Started()


def _provider(exporter: InMemorySpanExporter, started: Started, **kwargs: Any) -> TracerProvider:
    provider = TracerProvider(**kwargs)
    provider.add_span_processor(started)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def provider(exporter: InMemorySpanExporter, started: Started) -> Iterator[TracerProvider]:
    provider = _provider(exporter, started)
    yield provider
    provider.shutdown()


def _install(session: Any, *plugins: object) -> botoware.Installation:
    return botoware.install(session, plugins=list(plugins), autoload=False)


def _spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


def test_keep_only_drops_a_fast_successful_call_without_the_sdk(
    session: Any, client: Any, provider: TracerProvider, exporter: Any, started: Started
) -> None:
    """A call that succeeded at once and fast is not recorded, and the SDK starts no span."""
    sts = client("sts")
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly(slower_than=60))):
        sts.get_caller_identity()
    assert _spans(exporter) == []
    assert started.started == 0


def test_keep_only_records_a_failed_call_with_its_true_start_and_attributes(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A failed call is kept: started when the call started, with the start and end attributes."""
    ddb = client("dynamodb")
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly())):
        before = time.time_ns()
        with pytest.raises(botocore.exceptions.ClientError):
            ddb.describe_table(TableName="keep-only-missing")
        after = time.time_ns()
    [span] = _spans(exporter)
    assert span.name == "DynamoDB.DescribeTable"
    assert span.start_time is not None and span.end_time is not None
    assert before <= span.start_time < span.end_time <= after
    attributes = dict(span.attributes or {})
    assert attributes["rpc.system"] == "aws-api"
    assert attributes["aws.dynamodb.table_names"] == ("keep-only-missing",)
    assert attributes["error.type"] == "ResourceNotFoundException"
    assert attributes["http.response.status_code"] == 400
    assert attributes["server.address"] == "127.0.0.1"
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_keep_only_records_a_retried_call_with_its_attempts(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A call that succeeded after a throttle is kept, with one event per attempt."""
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="keep-only-retry",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    faults = Faults({"dynamodb.GetItem": [throttle()]})
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly()), faults):
        ddb.get_item(TableName="keep-only-retry", Key={"pk": {"S": "a"}})
    [span] = _spans(exporter)
    assert (span.attributes or {})["http.request.resend_count"] == 1
    events = [dict(e.attributes or {}) for e in span.events if e.name == ATTEMPT_EVENT]
    assert [e["botoware.attempt"] for e in events] == [1, 2]
    assert events[0]["error.type"] == "ProvisionedThroughputExceededException"
    assert events[1]["http.response.status_code"] == 200


def test_keep_only_predicate_sees_the_finished_call(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """``when`` is asked with the finished call; what it returns True for is kept."""
    seen: list[FinishedCall] = []

    def when(finished: FinishedCall) -> bool:
        seen.append(finished)
        return finished.call.service == "sqs"

    sqs, sts = client("sqs"), client("sts")
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly(when=when))):
        sts.get_caller_identity()
        sqs.list_queues()
    assert [span.name for span in _spans(exporter)] == ["SQS.ListQueues"]
    assert [(f.call.operation, f.status, f.error, f.attempts) for f in seen] == [
        ("GetCallerIdentity", 200, None, 1),
        ("ListQueues", 200, None, 1),
    ]
    assert all(f.duration >= 0 for f in seen)


def test_keep_only_predicate_that_raises_keeps_the_call(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A broken predicate keeps the call (nothing is lost) and the user's call goes on."""

    def when(finished: FinishedCall) -> bool:
        raise RuntimeError("broken predicate")

    sts = client("sts")
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly(when=when))):
        assert sts.get_caller_identity()["Account"]
    assert [span.name for span in _spans(exporter)] == ["STS.GetCallerIdentity"]


def test_keep_only_message_carries_the_span_id_of_the_kept_span(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A sent message carries the trace context of the call's span, which is kept when slow."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="keep-only-messages")["QueueUrl"]
    plugin = TracingPlugin(provider, keep_only=KeepOnly(slower_than=0))
    with _install(session, plugin):
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    carried = message["MessageAttributes"]["traceparent"]["StringValue"]
    [span] = _spans(exporter)
    assert span.context is not None
    assert carried.split("-")[2] == f"{span.context.span_id:016x}"


def test_keep_only_message_span_not_kept_is_never_exported(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A message's span that is not kept never reaches an exporter; the message still goes."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="keep-only-dropped")["QueueUrl"]
    with _install(session, TracingPlugin(provider, keep_only=KeepOnly(slower_than=60))):
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        assert trace.get_current_span() is trace.INVALID_SPAN  # the caller's context is back
    assert _spans(exporter) == []
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"


def test_not_sampled_call_never_reaches_the_sdk(
    session: Any, client: Any, exporter: Any, started: Started
) -> None:
    """With ALWAYS_OFF, the plugin decides alone: the SDK is never asked for a span."""
    provider = _provider(exporter, started, sampler=ALWAYS_OFF)
    sts = client("sts")
    with _install(session, TracingPlugin(provider)):
        sts.get_caller_identity()
    assert started.started == 0
    assert _spans(exporter) == []


def test_child_of_an_unsampled_parent_never_reaches_the_sdk(
    session: Any, client: Any, exporter: Any, started: Started
) -> None:
    """Under a parent that was not sampled, the call gets no span (ParentBased, decided early)."""
    provider = _provider(exporter, started, sampler=ParentBased(TraceIdRatioBased(0.0)))
    sts = client("sts")
    with _install(session, TracingPlugin(provider)):
        with provider.get_tracer("test").start_as_current_span("request"):  # not sampled
            sts.get_caller_identity()
    assert started.started == 0  # neither the parent nor the call's span records
    assert _spans(exporter) == []


def test_not_sampled_message_still_carries_the_context(
    session: Any, client: Any, exporter: Any, started: Started
) -> None:
    """A message sent during a call that is not sampled still carries the caller's context."""
    provider = _provider(exporter, started, sampler=ALWAYS_OFF)
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="not-sampled-messages")["QueueUrl"]
    other = TracerProvider()
    with _install(session, TracingPlugin(provider)):
        with other.get_tracer("test").start_as_current_span("request") as parent:
            sqs.send_message(QueueUrl=url, MessageBody="hello")
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    carried = message["MessageAttributes"]["traceparent"]["StringValue"]
    assert carried.split("-")[2] == f"{parent.get_span_context().span_id:016x}"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"slower_than": -1}, "slower_than=-1"),
        ({"slower_than": "1s"}, "slower_than='1s'"),
        ({"when": "yes"}, "when='yes'"),
    ],
)
def test_keep_only_rejects_bad_settings(kwargs: dict[str, Any], fragment: str) -> None:
    """A bad KeepOnly setting fails at construction with the setting named."""
    with pytest.raises(botoware.ConfigurationError, match=fragment.replace("(", r"\(")):
        KeepOnly(**kwargs)


def test_keep_only_with_attempt_spans_is_refused() -> None:
    """keep_only and attempt_spans together fail with a message naming both."""
    with pytest.raises(botoware.ConfigurationError, match="attempt_spans"):
        TracingPlugin(TracerProvider(), keep_only=KeepOnly(), attempt_spans=True)


def test_without_attempt_events_the_plugin_has_no_per_attempt_hook(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """attempt_events=False: two hooks per call, and the span still has server and resends."""
    ddb = client("dynamodb")
    faults = Faults({"dynamodb.ListTables": [throttle()]})
    plugin = TracingPlugin(provider, attempt_events=False)
    with _install(session, plugin, faults) as installation:
        ddb.list_tables()
        [info] = [i for i in installation.describe() if i.name == "tracing"]
    assert "botoware_request_created" not in info.hooks
    assert "botoware_response_received" not in info.hooks
    [span] = _spans(exporter)
    attributes = dict(span.attributes or {})
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["http.request.resend_count"] == 1
    assert [event.name for event in span.events] == []


def test_attempt_spans_without_attempt_events_is_refused() -> None:
    """attempt_spans needs the per-attempt hooks: asking for both on and off fails clearly."""
    with pytest.raises(botoware.ConfigurationError, match="attempt_events=False"):
        TracingPlugin(TracerProvider(), attempt_spans=True, attempt_events=False)


def test_lean_keep_only_plugin_has_only_its_ending_hooks() -> None:
    """keep_only without attempt events or propagation: botoware dispatches the ends only."""
    plugin = TracingPlugin(
        TracerProvider(), keep_only=KeepOnly(), attempt_events=False, propagate=False
    )
    per_call = {"botoware_after_call", "botoware_after_call_error"}
    hooks = {name for name in dir(plugin) if name.startswith("botoware_")}
    assert hooks - {"botoware_name", "botoware_client_created"} == per_call


def test_keep_only_retried_message_keeps_its_attempt_events(
    session: Any, client: Any, provider: TracerProvider, exporter: Any
) -> None:
    """A retried SendMessage is kept with its attempts, on the span its message names."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="keep-only-retried")["QueueUrl"]
    faults = Faults({"sqs.SendMessage": [throttle()]})
    plugin = TracingPlugin(provider, keep_only=KeepOnly(slower_than=60))
    with _install(session, plugin, faults):
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    [span] = _spans(exporter)
    events = [dict(e.attributes or {}) for e in span.events if e.name == ATTEMPT_EVENT]
    assert [e["botoware.attempt"] for e in events] == [1, 2]
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    carried = message["MessageAttributes"]["traceparent"]["StringValue"]
    assert span.context is not None
    assert carried.split("-")[2] == f"{span.context.span_id:016x}"
