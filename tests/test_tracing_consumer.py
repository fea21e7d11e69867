"""SQS consumers: the X-Ray header in AWSTraceHeader, ReceiveMessage asking for the trace
context, and process_span linking each message's processing to its producer."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import botoware
from botoware.plugins.tracing import TracingPlugin, process_span


@pytest.fixture
def xray() -> Iterator[TextMapPropagator]:
    """The X-Ray propagator as the global one (what OTEL_PROPAGATORS=xray selects)."""
    before = propagate.get_global_textmap()
    propagator = AwsXRayPropagator()
    propagate.set_global_textmap(propagator)
    yield propagator
    propagate.set_global_textmap(before)


class _Bodies:
    """Keeps every request body sent, to see what went out where moto drops it."""

    botoware_name = "bodies"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def botoware_before_send(self, call: botoware.Call, request: Any) -> None:
        body = request.body
        self.sent.append(body if isinstance(body, bytes) else str(body or "").encode())


def _one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [span for span in exporter.get_finished_spans() if span.name == name]
    return span


def _attributes(count: int) -> dict[str, dict[str, str]]:
    return {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(count)}


def _queue(sqs: Any, name: str) -> str:
    return str(sqs.create_queue(QueueName=name)["QueueUrl"])


def _xray_ids(header: str) -> tuple[int, int]:
    context = AwsXRayPropagator().extract({"X-Amzn-Trace-Id": header})
    span_context = trace.get_current_span(context).get_span_context()
    return span_context.trace_id, span_context.span_id


# -------------------------------------------------------------------------------------------
# OTEL_PROPAGATORS=xray: AWSTraceHeader
# -------------------------------------------------------------------------------------------


def test_xray_context_travels_in_aws_trace_header(
    traced: Any, client: Any, exporter: InMemorySpanExporter, xray: Any
) -> None:
    """With the X-Ray propagator SendMessage sets AWSTraceHeader, not a message attribute."""
    sqs = client("sqs")
    url = _queue(sqs, "xray-send")
    sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert "MessageAttributes" not in message
    producer = _one(exporter, "SQS.SendMessage").context
    assert _xray_ids(message["Attributes"]["AWSTraceHeader"]) == (
        producer.trace_id,
        producer.span_id,
    )


def test_xray_leaves_all_ten_message_attributes_to_the_caller(
    traced: Any, client: Any, xray: Any
) -> None:
    """Ten attributes of the caller's and the X-Ray context still travels."""
    sqs = client("sqs")
    url = _queue(sqs, "xray-ten")
    mine = _attributes(10)
    pristine = copy.deepcopy(mine)
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=mine)
    assert mine == pristine
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"]
    assert set(message["MessageAttributes"]) == set(pristine)
    assert message["Attributes"]["AWSTraceHeader"].startswith("Root=")


def test_a_callers_aws_trace_header_is_kept(traced: Any, client: Any, xray: Any) -> None:
    """An AWSTraceHeader the caller set wins over the current span."""
    sqs = client("sqs")
    url = _queue(sqs, "xray-own")
    own = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": own}}
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageSystemAttributes=system)
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert message["Attributes"]["AWSTraceHeader"] == own


def test_xray_batch_entries_each_get_aws_trace_header(
    session: Any, client: Any, provider: TracerProvider, xray: Any
) -> None:
    """SendMessageBatch: every entry is sent with its AWSTraceHeader system attribute."""
    bodies = _Bodies()
    plugins = [TracingPlugin(provider), bodies]
    sqs = client("sqs")
    url = _queue(sqs, "xray-batch")
    entries = [{"Id": "1", "MessageBody": "one"}, {"Id": "2", "MessageBody": "two"}]
    with botoware.install(session, plugins=plugins, autoload=False):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sent = json.loads(bodies.sent[-1])
    headers = [e["MessageSystemAttributes"]["AWSTraceHeader"] for e in sent["Entries"]]
    assert len(headers) == 2
    assert all(h["StringValue"].startswith("Root=") for h in headers)
    assert all("MessageAttributes" not in e for e in sent["Entries"])
    assert all("MessageSystemAttributes" not in e for e in entries)


# -------------------------------------------------------------------------------------------
# ReceiveMessage asks for the trace context
# -------------------------------------------------------------------------------------------


def test_receive_asks_for_the_trace_attributes_itself(traced: Any, client: Any) -> None:
    """Without MessageAttributeNames the message still comes back with its traceparent."""
    sqs = client("sqs")
    url = _queue(sqs, "ask-none")
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=_attributes(1))
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert set(message["MessageAttributes"]) == {"traceparent"}


def test_receive_adds_to_the_attributes_the_caller_asked_for(traced: Any, client: Any) -> None:
    """MessageAttributeNames=["a0"]: a0 and traceparent come back; the caller's list is kept."""
    sqs = client("sqs")
    url = _queue(sqs, "ask-some")
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=_attributes(2))
    names = ["a0"]
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=names)["Messages"]
    assert names == ["a0"]
    assert set(message["MessageAttributes"]) == {"a0", "traceparent"}


def test_receive_asks_for_aws_trace_header(traced: Any, client: Any, xray: Any) -> None:
    """With the X-Ray propagator, a bare receive_message brings the AWSTraceHeader back."""
    sqs = client("sqs")
    url = _queue(sqs, "ask-xray")
    sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Attributes"]["AWSTraceHeader"].startswith("Root=")


def test_propagate_false_leaves_receive_alone(
    session: Any, client: Any, provider: TracerProvider
) -> None:
    """TracingPlugin(propagate=False) asks for nothing the caller did not."""
    sqs = client("sqs")
    url = _queue(sqs, "ask-off")
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=_attributes(1))
    plugin = TracingPlugin(provider, propagate=False)
    with botoware.install(session, plugins=[plugin], autoload=False):
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert "MessageAttributes" not in message
    assert "Attributes" not in message


# -------------------------------------------------------------------------------------------
# process_span
# -------------------------------------------------------------------------------------------


def test_process_span_links_each_message_to_its_producer(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """producer span -> SendMessage -> ReceiveMessage -> a CONSUMER process span linked to it."""
    tracer = provider.get_tracer("test")
    sqs = client("sqs")
    url = _queue(sqs, "process-link")
    with tracer.start_as_current_span("checkout"):
        sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    with tracer.start_as_current_span("poll") as poll:
        with process_span(message, queue_url=url, tracer_provider=provider) as span:
            assert trace.get_current_span() is span
    process = _one(exporter, "process process-link")
    producer = _one(exporter, "SQS.SendMessage")
    assert process.kind is SpanKind.CONSUMER
    assert process.parent is not None
    assert process.parent.span_id == poll.get_span_context().span_id
    [link] = process.links
    assert (link.context.trace_id, link.context.span_id) == (
        producer.context.trace_id,
        producer.context.span_id,
    )
    assert process.attributes == {
        "messaging.system": "aws_sqs",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": "process-link",
        "aws.sqs.queue.url": url,
        "messaging.message.id": message["MessageId"],
    }


def test_process_span_reads_aws_trace_header(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter, xray: Any
) -> None:
    """An X-Ray producer: the link comes from the message's AWSTraceHeader."""
    sqs = client("sqs")
    url = _queue(sqs, "process-xray")
    sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    with process_span(message, queue_url=url, tracer_provider=provider):
        pass
    [link] = _one(exporter, "process process-xray").links
    assert link.context.span_id == _one(exporter, "SQS.SendMessage").context.span_id


def test_process_span_reads_a_lambda_record(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A Lambda SQS record: queue from eventSourceARN, link from attributes.AWSTraceHeader."""
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    record = {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "body": "work",
        "attributes": {"AWSTraceHeader": header},
        "messageAttributes": {},
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
    }
    with process_span(record, tracer_provider=provider):
        pass
    span = _one(exporter, "process orders")
    assert span.attributes is not None
    assert span.attributes["messaging.message.id"] == record["messageId"]
    [link] = span.links
    assert (link.context.trace_id, link.context.span_id) == _xray_ids(header)


def test_process_span_without_trace_context_has_no_link(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A message that carries no trace context gets a process span without links."""
    with process_span({"MessageId": "m", "Body": "x"}, tracer_provider=provider):
        pass
    assert _one(exporter, "process").links == ()


def test_process_span_records_the_handlers_exception(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An exception in the block: ERROR status, error.type, the exception event; it propagates."""
    with pytest.raises(KeyError):
        with process_span(
            {"MessageId": "m"}, queue_url="http://q/1/jobs", tracer_provider=provider
        ):
            raise KeyError("missing")
    span = _one(exporter, "process jobs")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "KeyError"
    assert [event.name for event in span.events] == ["exception"]


def test_receive_span_links_to_each_producer(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """ReceiveMessage gets one link per distinct producer span of the messages it received."""
    tracer = provider.get_tracer("test")
    sqs = client("sqs")
    url = _queue(sqs, "receive-links")
    for order in ("one", "two"):
        with tracer.start_as_current_span(f"order {order}"):
            sqs.send_message(QueueUrl=url, MessageBody=order)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    sends = {
        (s.context.trace_id, s.context.span_id)
        for s in exporter.get_finished_spans()
        if s.name == "SQS.SendMessage"
    }
    receive = _one(exporter, "SQS.ReceiveMessage")
    assert {(link.context.trace_id, link.context.span_id) for link in receive.links} == sends
    assert len(receive.links) == 2
