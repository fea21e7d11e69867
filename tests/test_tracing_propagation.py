"""Trace context into SQS, SNS and Lambda, and ``botoware.contrib.otel.extract`` out of them."""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import Any

import pytest
from conftest import BOTH_KINDS
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import botoware
from botoware.contrib.otel import extract
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import Canned


def _one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [span for span in exporter.get_finished_spans() if span.name == name]
    return span


def _span_context(context: Context) -> SpanContext:
    return trace.get_current_span(context).get_span_context()


def _ids(span_context: SpanContext | None) -> tuple[int, int]:
    assert span_context is not None
    return span_context.trace_id, span_context.span_id


def _attributes(count: int) -> dict[str, dict[str, str]]:
    return {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(count)}


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )
    return list(response["Messages"])


# -------------------------------------------------------------------------------------------
# SQS
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_sqs_consumer_extracts_the_producer_span(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """send_message then receive_message: extract() gives the SendMessage span's context."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-send")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = _receive(sqs, url)
    producer = _one(exporter, "SQS.SendMessage")
    extracted = _span_context(extract(message))
    assert _ids(extracted) == _ids(producer.context)
    assert extracted.is_remote


@BOTH_KINDS
def test_users_message_attributes_are_not_mutated(traced: Any, client: Any) -> None:
    """The caller's MessageAttributes dict is left as it was; the message has both."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-own")["QueueUrl"]
    mine = _attributes(2)
    pristine = copy.deepcopy(mine)
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=mine)
    assert mine == pristine
    [message] = _receive(sqs, url)
    assert set(message["MessageAttributes"]) == {"a0", "a1", "traceparent"}


@BOTH_KINDS
def test_batch_entries_each_carry_the_context(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """SendMessageBatch: every entry carries the batch span; the caller's entries stay as is."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-batch")["QueueUrl"]
    entries = [
        {"Id": "1", "MessageBody": "one"},
        {"Id": "2", "MessageBody": "two", "MessageAttributes": _attributes(1)},
    ]
    pristine = copy.deepcopy(entries)
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert entries == pristine
    producer = _one(exporter, "SQS.SendMessageBatch")
    messages = _receive(sqs, url)
    assert len(messages) == 2
    for message in messages:
        assert _ids(_span_context(extract(message))) == _ids(producer.context)


@BOTH_KINDS
def test_full_message_attributes_are_left_alone(
    traced: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """With 10 attributes already, nothing is added (SQS's limit) and a debug line says so."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-full")["QueueUrl"]
    with caplog.at_level(logging.DEBUG, logger="botoware.plugins.tracing"):
        sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=_attributes(10))
    [message] = _receive(sqs, url)
    assert "traceparent" not in message["MessageAttributes"]
    assert len(message["MessageAttributes"]) == 10
    assert any("limit of 10" in record.getMessage() for record in caplog.records)


@BOTH_KINDS
def test_nine_attributes_leave_room_for_traceparent(traced: Any, client: Any) -> None:
    """With 9 attributes the traceparent is the tenth."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-nine")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=_attributes(9))
    [message] = _receive(sqs, url)
    assert len(message["MessageAttributes"]) == 10
    assert "traceparent" in message["MessageAttributes"]


@BOTH_KINDS
def test_a_traceparent_the_caller_set_is_kept(traced: Any, client: Any) -> None:
    """A traceparent attribute the caller put in the message wins over the current span."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-theirs")["QueueUrl"]
    theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    attributes = {"traceparent": {"DataType": "String", "StringValue": theirs}}
    sqs.send_message(QueueUrl=url, MessageBody="work", MessageAttributes=attributes)
    [message] = _receive(sqs, url)
    assert message["MessageAttributes"]["traceparent"]["StringValue"] == theirs


@BOTH_KINDS
def test_propagate_false_adds_nothing(session: Any, client: Any, provider: TracerProvider) -> None:
    """TracingPlugin(propagate=False) traces but leaves messages alone."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-off")["QueueUrl"]
    plugin = TracingPlugin(provider, propagate=False)
    with botoware.install(session, plugins=[plugin], autoload=False):
        sqs.send_message(QueueUrl=url, MessageBody="work")
    [message] = _receive(sqs, url)
    assert "MessageAttributes" not in message


@BOTH_KINDS
def test_suppressed_instrumentation_propagates_nothing(traced: Any, client: Any) -> None:
    """Under suppress-instrumentation messages go out untouched."""
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-suppressed")["QueueUrl"]
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        sqs.send_message(QueueUrl=url, MessageBody="work")
    finally:
        otel_context.detach(token)
    [message] = _receive(sqs, url)
    assert "MessageAttributes" not in message


@BOTH_KINDS
def test_without_sdk_the_current_context_still_travels(session: Any, client: Any) -> None:
    """No tracer provider: an incoming context (e.g. extracted upstream) still propagates."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="prop-nosdk")["QueueUrl"]
    upstream = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(upstream)))
    try:
        with botoware.install(session, plugins=[TracingPlugin()], autoload=False):
            sqs.send_message(QueueUrl=url, MessageBody="work")
    finally:
        otel_context.detach(token)
    [message] = _receive(sqs, url)
    assert _ids(_span_context(extract(message))) == _ids(upstream)


# -------------------------------------------------------------------------------------------
# SNS
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_sns_to_sqs_notification_carries_the_publish_span(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """Publish to a topic with an SQS subscription: extract() of the delivered message
    (an SNS notification in the body) gives the Publish span's context."""
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name="prop-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="prop-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    sns.publish(TopicArn=topic, Message="hello")
    [message] = _receive(sqs, url)
    notification = json.loads(message["Body"])
    assert notification["Type"] == "Notification"
    assert "traceparent" in notification["MessageAttributes"]
    producer = _one(exporter, "SNS.Publish")
    assert _ids(_span_context(extract(message))) == _ids(producer.context)
    assert _ids(_span_context(extract(notification))) == _ids(producer.context)
    assert _ids(_span_context(extract(message["Body"]))) == _ids(producer.context)


@BOTH_KINDS
def test_sns_publish_batch_entries_carry_the_context(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """PublishBatch: each delivered notification carries the batch span's context."""
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name="prop-batch-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="prop-batch-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    entries = [{"Id": "1", "Message": "one"}, {"Id": "2", "Message": "two"}]
    pristine = copy.deepcopy(entries)
    sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert entries == pristine
    producer = _one(exporter, "SNS.PublishBatch")
    messages = _receive(sqs, url)
    assert len(messages) == 2
    for message in messages:
        assert _ids(_span_context(extract(message))) == _ids(producer.context)


# -------------------------------------------------------------------------------------------
# Lambda
# -------------------------------------------------------------------------------------------


class _ClientContextWitness:
    """Keeps the X-Amz-Client-Context header of every request it sees (decoded)."""

    botoware_name = "client-context-witness"

    def __init__(self) -> None:
        self.client_contexts: list[dict[str, Any]] = []

    def botoware_before_send(self, request: Any) -> None:
        header = request.headers.get("X-Amz-Client-Context")
        if isinstance(header, bytes):
            header = header.decode()
        self.client_contexts.append(json.loads(base64.b64decode(header)) if header else {})


@BOTH_KINDS
def test_lambda_invoke_client_context_carries_the_span(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Invoke: ClientContext.custom gets the traceparent; the caller's own keys are kept."""
    witness = _ClientContextWitness()
    canned = Canned({"lambda.Invoke": {"StatusCode": 200, "Payload": b"{}"}})
    own = {"custom": {"tenant": "t1"}, "env": {"locale": "en"}}
    encoded = base64.b64encode(json.dumps(own).encode()).decode()
    plugins = [TracingPlugin(provider), canned, witness]  # the witness looks before Canned
    with botoware.install(session, plugins=plugins, autoload=False):
        client("lambda").invoke(FunctionName="fn", Payload=b"{}", ClientContext=encoded)
        client("lambda").invoke(FunctionName="fn", Payload=b"{}")
    first, second = witness.client_contexts
    assert first["custom"]["tenant"] == "t1" and first["env"] == {"locale": "en"}
    invokes = [s for s in exporter.get_finished_spans() if s.name == "Lambda.Invoke"]
    for seen, span in zip((first, second), invokes, strict=True):
        assert _ids(_span_context(propagate.extract(seen["custom"]))) == _ids(span.context)


# -------------------------------------------------------------------------------------------
# extract() on the shapes AWS delivers
# -------------------------------------------------------------------------------------------

_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
_IDS = (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331)


@pytest.mark.parametrize(
    "message",
    [
        {"MessageAttributes": {"traceparent": {"DataType": "String", "StringValue": _TRACEPARENT}}},
        {
            "Type": "Notification",
            "MessageAttributes": {"traceparent": {"Type": "String", "Value": _TRACEPARENT}},
        },
        {"messageAttributes": {"traceparent": {"dataType": "String", "stringValue": _TRACEPARENT}}},
        {
            "EventSource": "aws:sns",
            "Sns": {
                "MessageAttributes": {"traceparent": {"Type": "String", "Value": _TRACEPARENT}}
            },
        },
    ],
    ids=["sqs-receive", "sns-notification", "lambda-sqs-record", "lambda-sns-record"],
)
def test_extract_reads_every_delivery_shape(message: dict[str, Any]) -> None:
    """SQS messages, SNS notifications and Lambda event records all yield the context."""
    assert _ids(_span_context(extract(message))) == _IDS


def test_extract_without_trace_context_is_empty() -> None:
    """A message without trace attributes (or a non-JSON body) gives no valid span."""
    for message in ({"Body": "plain", "MessageAttributes": {}}, {"Body": "{not json"}, "text"):
        assert not _span_context(extract(message)).is_valid


def test_extract_keeps_the_given_context() -> None:
    """extract(message, context) adds to ``context``; without trace data returns it as is."""
    base = otel_context.set_value("k", "v")
    assert extract({"Body": "plain"}, base) is base
    found = extract({"MessageAttributes": {"traceparent": {"StringValue": _TRACEPARENT}}}, base)
    assert found.get("k") == "v"
    assert _ids(_span_context(found)) == _IDS


@pytest.mark.parametrize("key", ["Attributes", "attributes"], ids=["receive", "lambda-record"])
def test_extract_reads_the_aws_trace_header(key: str) -> None:
    """A message whose only trace context is its X-Ray AWSTraceHeader yields that context."""
    header = "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"
    found = _span_context(extract({"Body": "plain", key: {"AWSTraceHeader": header}}))
    assert _ids(found) == _IDS and found.trace_flags.sampled
