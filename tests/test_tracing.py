"""The tracing plugin against moto: spans, attributes, parentage, attempts, errors, runs."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from conftest import BOTH_KINDS
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

import botoware
from botoware.plugins.tracing import ATTEMPT_EVENT, ATTEMPT_NUMBER, RETRY_DELAY, TracingPlugin
from botoware.testing import (
    Canned,
    Faults,
    connection_error,
    response_for,
    server_error,
    throttle,
)

# -------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def _one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = _named(exporter, name)
    return span


def _events(span: ReadableSpan, name: str = ATTEMPT_EVENT) -> list[dict[str, Any]]:
    return [dict(event.attributes or {}) for event in span.events if event.name == name]


class _CurrentSpans:
    """Records the name of the current span in some hooks of every call."""

    botoware_name = "current-spans"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def _note(self, hook: str) -> None:
        span = trace.get_current_span()
        self.seen.append((hook, getattr(span, "name", "<none>")))

    def botoware_before_call(self, call: botoware.Call) -> None:
        self._note("before_call")

    @botoware.hookimpl(tryfirst=True)  # before Faults, which answers first too
    def botoware_before_send(self, call: botoware.Call) -> None:
        self._note("before_send")

    def botoware_after_call(self, call: botoware.Call) -> None:
        self._note("after_call")

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        self._note("after_call_error")


def _table(ddb: Any, name: str) -> None:
    """Create the table unless an earlier test (the other client kind) did."""
    with contextlib.suppress(ddb.exceptions.ResourceInUseException):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


# -------------------------------------------------------------------------------------------
# Names, kinds, attributes per service
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_s3_call_is_one_client_span_with_rpc_attributes(
    traced: Any, client: Any, exporter: InMemorySpanExporter, moto_url: str
) -> None:
    """An S3 call: one CLIENT span "S3.CreateBucket" with rpc, cloud, server and HTTP facts."""
    client("s3").create_bucket(Bucket="trace-attrs")
    span = _one(exporter, "S3.CreateBucket")
    assert span.kind is SpanKind.CLIENT
    port = int(moto_url.rsplit(":", 1)[1])
    attributes = dict(span.attributes or {})
    assert attributes.pop("aws.request_id")
    assert attributes == {
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": "CreateBucket",
        "cloud.region": "us-east-1",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
        "http.status_code": 200,  # the anchor's name, kept for parity
        "retry_attempts": 0,  # likewise
        "aws.s3.bucket": "trace-attrs",
    }
    assert span.status.status_code is StatusCode.UNSET


@BOTH_KINDS
def test_s3_extended_request_id_comes_from_x_amz_id_2(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """S3's x-amz-id-2 response header becomes aws.extended_request_id."""
    answer = {"Buckets": [], "ResponseMetadata": {"RequestId": "REQ123"}}
    plugins = [TracingPlugin(provider), Canned({"s3.ListBuckets": answer})]
    with botoware.install(session, plugins=plugins, autoload=False):
        metadata = client("s3").list_buckets()["ResponseMetadata"]
    attributes = _one(exporter, "S3.ListBuckets").attributes or {}
    assert attributes["aws.request_id"] == "REQ123"
    assert metadata["HostId"]
    assert attributes["aws.extended_request_id"] == metadata["HostId"]


@BOTH_KINDS
def test_dynamodb_spans_name_their_tables(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """DynamoDB calls carry aws.dynamodb.table_names: TableName, or RequestItems' keys."""
    ddb = client("dynamodb")
    _table(ddb, "trace-one")
    _table(ddb, "trace-two")
    ddb.put_item(TableName="trace-one", Item={"pk": {"S": "a"}})
    ddb.batch_get_item(
        RequestItems={
            "trace-one": {"Keys": [{"pk": {"S": "a"}}]},
            "trace-two": {"Keys": [{"pk": {"S": "b"}}]},
        }
    )
    put = _one(exporter, "DynamoDB.PutItem").attributes or {}
    batch = _one(exporter, "DynamoDB.BatchGetItem").attributes or {}
    assert put["aws.dynamodb.table_names"] == ("trace-one",)
    assert sorted(batch["aws.dynamodb.table_names"]) == ["trace-one", "trace-two"]  # type: ignore[arg-type]
    assert put["rpc.service"] == "DynamoDB"


@BOTH_KINDS
def test_sqs_spans_carry_queue_url_and_destination(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """SQS calls carry aws.sqs.queue.url and the messaging destination (the queue's name)."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="trace-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="body")
    attributes = _one(exporter, "SQS.SendMessage").attributes or {}
    assert attributes["aws.sqs.queue.url"] == url
    assert attributes["messaging.system"] == "aws_sqs"
    assert attributes["messaging.destination.name"] == "trace-queue"
    assert attributes["messaging.operation.type"] == "send"
    created = _one(exporter, "SQS.CreateQueue").attributes or {}
    assert created["messaging.destination.name"] == "trace-queue"


@BOTH_KINDS
def test_sns_spans_carry_the_topic_arn(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """SNS Publish carries aws.sns.topic.arn and the topic name as destination."""
    sns = client("sns")
    arn = sns.create_topic(Name="trace-topic")["TopicArn"]
    sns.publish(TopicArn=arn, Message="hello")
    attributes = _one(exporter, "SNS.Publish").attributes or {}
    assert attributes["aws.sns.topic.arn"] == arn
    assert attributes["messaging.destination.name"] == "trace-topic"
    assert attributes["messaging.system"] == "aws.sns"


@BOTH_KINDS
def test_lambda_spans_name_the_function_without_qualifier(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """Lambda calls name the function (from a name or an ARN, qualifier dropped)."""
    lam = client("lambda")
    lam.list_functions()
    arn = "arn:aws:lambda:us-east-1:123456789012:function:trace-fn:live"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=arn)
    span = _one(exporter, "Lambda.GetPolicy")
    assert (span.attributes or {})["aws.lambda.function.name"] == "trace-fn"
    assert "faas.invoked_name" not in (span.attributes or {})  # not an invocation
    assert _one(exporter, "Lambda.ListFunctions").kind is SpanKind.CLIENT


@BOTH_KINDS
def test_lambda_invoke_spans_carry_faas_invoked_attributes(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Invoke (answered at before-send) carries faas.invoked_name, provider and region."""
    answer = {"StatusCode": 200, "Payload": b"{}", "ResponseMetadata": {"RequestId": "inv-1"}}
    plugins = [TracingPlugin(provider), Canned({"lambda.Invoke": answer})]
    with botoware.install(session, plugins=plugins, autoload=False):
        client("lambda").invoke(FunctionName="thumbnailer", Payload=b"{}")
    attributes = _one(exporter, "Lambda.Invoke").attributes or {}
    assert attributes["faas.invoked_name"] == "thumbnailer"
    assert attributes["faas.invoked_provider"] == "aws"
    assert attributes["faas.invoked_region"] == "us-east-1"
    assert attributes["aws.request_id"] == "inv-1"


@BOTH_KINDS
def test_sts_request_id_comes_from_the_query_protocol_body(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """STS (query protocol, request id in the XML body) still gets aws.request_id."""
    client("sts").get_caller_identity()
    span = _one(exporter, "STS.GetCallerIdentity")
    assert span.kind is SpanKind.CLIENT
    assert (span.attributes or {})["aws.request_id"]


@BOTH_KINDS
def test_attributes_hold_no_payload_or_credentials(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """Message bodies, object bodies and the access key appear in no span."""
    s3 = client("s3")
    s3.create_bucket(Bucket="trace-payload")
    s3.put_object(Bucket="trace-payload", Key="k", Body=b"object-body-canary")
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="trace-payload")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="message-body-canary")
    dumped = "".join(span.to_json() for span in exporter.get_finished_spans())
    for canary in ("object-body-canary", "message-body-canary", "AKIDEXAMPLEBOTOWARE1"):
        assert canary not in dumped


# -------------------------------------------------------------------------------------------
# Parentage and the current context
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_call_span_is_a_child_of_the_callers_span(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The span of a call made under a span of the caller is that span's child."""
    with provider.get_tracer("test").start_as_current_span("handler") as parent:
        client("s3").list_buckets()
    span = _one(exporter, "S3.ListBuckets")
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


@BOTH_KINDS
def test_call_span_is_current_for_the_whole_call(
    session: Any, client: Any, provider: TracerProvider
) -> None:
    """Other plugins' hooks, early and late in the call, run with the call span current."""
    current = _CurrentSpans()
    with botoware.install(session, plugins=[TracingPlugin(provider), current], autoload=False):
        client("s3").list_buckets()
    assert current.seen == [
        ("before_call", "S3.ListBuckets"),
        ("before_send", "S3.ListBuckets"),
        ("after_call", "S3.ListBuckets"),
    ]


@BOTH_KINDS
def test_context_is_restored_after_each_call(traced: Any, client: Any) -> None:
    """After a call, success or AWS error, the current context is the one before it."""
    before = otel_context.get_current()
    ddb = client("dynamodb")
    ddb.list_tables()
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName="trace-missing")
    assert otel_context.get_current() is before


# -------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_aws_error_sets_error_status_code_and_exception(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """An AWS error: status ERROR with the error code, error.type, the exception recorded."""
    ddb = client("dynamodb")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName="trace-missing")
    span = _one(exporter, "DynamoDB.DescribeTable")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ResourceNotFoundException"
    attributes = span.attributes or {}
    assert attributes["error.type"] == "ResourceNotFoundException"
    assert attributes["http.response.status_code"] == 400
    [exception] = _events(span, "exception")
    assert exception["exception.type"] == "botocore.exceptions.ClientError"
    assert "ResourceNotFoundException" in str(exception["exception.message"])


def test_transport_failure_records_the_exception_type(
    session: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A refused connection: error.type is the exception class, on the span and its attempt."""
    config = botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=2)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        s3 = session.client("s3", endpoint_url="http://127.0.0.1:9", config=config)
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            s3.list_buckets()
    span = _one(exporter, "S3.ListBuckets")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "EndpointConnectionError"
    expected = "botocore.exceptions.EndpointConnectionError"
    assert (span.attributes or {})["error.type"] == expected
    assert (span.attributes or {})["server.port"] == 9
    assert _events(span, "exception")[0]["exception.type"] == expected


@BOTH_KINDS
def test_transport_failures_retried_are_attempt_events(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Connection failures retried: every attempt is an event naming the exception."""
    faults = Faults({"dynamodb.ListTables": connection_error()})
    config = botocore.config.Config(retries={"total_max_attempts": 2})
    with botoware.install(session, plugins=[TracingPlugin(provider), faults], autoload=False):
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            client("dynamodb", config=config).list_tables()
    span = _one(exporter, "DynamoDB.ListTables")
    expected = "botocore.exceptions.EndpointConnectionError"
    first, second = _events(span)
    assert first.pop(RETRY_DELAY) >= 0  # type: ignore[operator]
    assert first == {ATTEMPT_NUMBER: 1, "error.type": expected}
    assert second == {ATTEMPT_NUMBER: 2, "error.type": expected}
    assert (span.attributes or {})["http.request.resend_count"] == 1
    assert (span.attributes or {})["error.type"] == expected


@BOTH_KINDS
def test_early_failure_ends_its_span_and_restores_context(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """A ParamValidationError (before before-call) still ends the span, with the error."""
    before = otel_context.get_current()
    sqs = client("sqs")
    with pytest.raises(botocore.exceptions.ParamValidationError):
        sqs.send_message(QueueUrl="http://127.0.0.1:1/q", MessageBody=424242)
    assert otel_context.get_current() is before
    span = _one(exporter, "SQS.SendMessage")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "botocore.exceptions.ParamValidationError"
    assert span.end_time is not None
    assert _events(span) == []  # no attempt was made


@BOTH_KINDS
def test_validation_errors_are_recorded_without_parameter_values(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """The recorded ParamValidationError names the parameter but never quotes its value."""
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client("sqs").send_message(QueueUrl="http://127.0.0.1:1/q", MessageBody=424242)
    [exception] = _events(_one(exporter, "SQS.SendMessage"), "exception")
    assert "MessageBody" in str(exception["exception.message"])
    assert "424242" not in str(exception["exception.message"])
    assert "424242" not in str(exception["exception.stacktrace"])


@BOTH_KINDS
def test_a_span_processor_raising_at_end_still_restores_context(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A processor whose on_end raises: the call succeeds and the context is restored."""
    from opentelemetry.sdk.trace import SpanProcessor

    class Raising(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            raise RuntimeError("processor bug")

    provider = TracerProvider()
    provider.add_span_processor(Raising())
    before = otel_context.get_current()
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        with caplog.at_level(logging.ERROR, logger="botoware"):
            assert client("s3").list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert otel_context.get_current() is before
    assert any("processor bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@BOTH_KINDS
def test_short_circuited_call_ends_its_span_without_attempts(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A before_call answer (no HTTP attempt) ends the span with that response's facts."""

    s3 = client("s3")
    model = s3.meta.service_model.operation_model("ListBuckets")

    class Cached:
        botoware_name = "cached"

        def botoware_before_call(self, call: botoware.Call) -> tuple[AWSResponse, dict[str, Any]]:
            parsed = {"Buckets": [], "ResponseMetadata": {"HTTPStatusCode": 200}}
            return response_for(model, {"Buckets": []}), parsed

    before = otel_context.get_current()
    with botoware.install(session, plugins=[TracingPlugin(provider), Cached()], autoload=False):
        s3.list_buckets()
    assert otel_context.get_current() is before
    span = _one(exporter, "S3.ListBuckets")
    assert _events(span) == []
    assert (span.attributes or {})["http.response.status_code"] == 200


# -------------------------------------------------------------------------------------------
# Attempts
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_retries_show_every_attempt_as_an_event(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A throttle, a 500, then success: three attempt events, the delays, the resend count."""
    ddb = client("dynamodb")
    _table(ddb, "trace-retry")
    faults = Faults({"dynamodb.GetItem": [throttle(), server_error(500, "InternalServerError")]})
    with botoware.install(session, plugins=[TracingPlugin(provider), faults], autoload=False):
        response = ddb.get_item(TableName="trace-retry", Key={"pk": {"S": "a"}})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    span = _one(exporter, "DynamoDB.GetItem")
    first, second, third = _events(span)
    assert first.pop(RETRY_DELAY) >= 0  # type: ignore[operator]
    assert second.pop(RETRY_DELAY) >= 0  # type: ignore[operator]
    request_ids = [event.pop("aws.request_id") for event in (first, second, third)]
    assert len(set(request_ids)) == 3  # each attempt has its own
    assert first == {
        ATTEMPT_NUMBER: 1,
        "http.response.status_code": 400,
        "error.type": "ProvisionedThroughputExceededException",
    }
    assert second == {
        ATTEMPT_NUMBER: 2,
        "http.response.status_code": 500,
        "error.type": "InternalServerError",
    }
    assert third == {ATTEMPT_NUMBER: 3, "http.response.status_code": 200}
    attributes = span.attributes or {}
    assert attributes["http.request.resend_count"] == 2
    assert attributes["aws.request_id"] == request_ids[2]
    assert span.status.status_code is StatusCode.UNSET


@BOTH_KINDS
def test_attempt_events_are_in_time_order_within_the_span(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Attempt events are stamped when each response arrived, in order, inside the span."""
    ddb = client("dynamodb")
    _table(ddb, "trace-order")
    faults = Faults({"dynamodb.GetItem": [throttle()]})
    with botoware.install(session, plugins=[TracingPlugin(provider), faults], autoload=False):
        ddb.get_item(TableName="trace-order", Key={"pk": {"S": "a"}})
    span = _one(exporter, "DynamoDB.GetItem")
    stamps = [event.timestamp for event in span.events]
    assert stamps == sorted(stamps)
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time <= stamps[0] and stamps[-1] <= span.end_time


@BOTH_KINDS
def test_single_attempt_has_no_event_and_no_resend_count(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """A first-try answer: no attempt event (the span says it all), no resend count."""
    client("s3").list_buckets()
    span = _one(exporter, "S3.ListBuckets")
    assert span.events == ()
    assert "http.request.resend_count" not in (span.attributes or {})


@BOTH_KINDS
def test_attempt_spans_are_children_current_during_their_attempt(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """attempt_spans=True: one INTERNAL child per attempt, current while it runs."""
    ddb = client("dynamodb")
    _table(ddb, "trace-attempts")
    current = _CurrentSpans()
    faults = Faults({"dynamodb.GetItem": [throttle()]})
    plugins = [faults, TracingPlugin(provider, attempt_spans=True), current]
    with botoware.install(session, plugins=plugins, autoload=False):
        ddb.get_item(TableName="trace-attempts", Key={"pk": {"S": "a"}})
    call = _one(exporter, "DynamoDB.GetItem")
    first, second = _named(exporter, "DynamoDB.GetItem attempt")
    for attempt in (first, second):
        assert attempt.kind is SpanKind.INTERNAL
        assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert (first.attributes or {})[ATTEMPT_NUMBER] == 1
    assert first.status.status_code is StatusCode.ERROR
    assert (first.attributes or {})["error.type"] == "ProvisionedThroughputExceededException"
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert second.status.status_code is StatusCode.UNSET
    sends = [name for hook, name in current.seen if hook == "before_send"]
    assert sends == ["DynamoDB.GetItem attempt"] * 2
    assert ("after_call", "DynamoDB.GetItem") in current.seen


# -------------------------------------------------------------------------------------------
# Paginators and waiters
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_pages_of_one_paginate_share_a_parent_span(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Every page of one paginate() is a child of "S3.ListObjectsV2 paginate"."""
    s3 = client("s3")
    s3.create_bucket(Bucket="trace-pages")
    for key in "abc":
        s3.put_object(Bucket="trace-pages", Key=key, Body=b"x")
    exporter.clear()
    paginator = s3.get_paginator("list_objects_v2")
    with provider.get_tracer("test").start_as_current_span("handler") as handler:
        pages = list(paginator.paginate(Bucket="trace-pages", PaginationConfig={"PageSize": 1}))
    run = _one(exporter, "S3.ListObjectsV2 paginate")
    calls = _named(exporter, "S3.ListObjectsV2")
    assert len(calls) == len(pages) >= 3
    assert {c.parent.span_id for c in calls if c.parent} == {run.context.span_id}
    assert run.parent is not None and run.parent.span_id == handler.get_span_context().span_id
    assert run.kind is SpanKind.INTERNAL
    assert (run.attributes or {})["botoware.run.calls"] == len(pages)


@BOTH_KINDS
def test_polls_of_one_wait_share_a_parent_span(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """A successful wait(): "S3 wait BucketExists" parents its HeadBucket polls, status OK."""
    s3 = client("s3")
    s3.create_bucket(Bucket="trace-wait")
    s3.get_waiter("bucket_exists").wait(Bucket="trace-wait")
    run = _one(exporter, "S3 wait BucketExists")
    [poll] = _named(exporter, "S3.HeadBucket")
    assert poll.parent is not None and poll.parent.span_id == run.context.span_id
    assert run.status.status_code is StatusCode.UNSET
    assert (run.attributes or {})["botoware.waiter.name"] == "BucketExists"


@BOTH_KINDS
def test_failed_wait_ends_its_span_with_the_waiter_error(
    traced: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """A wait() that gives up: its span is an ERROR with the WaiterError recorded."""
    s3 = client("s3")
    waiter = s3.get_waiter("bucket_exists")
    with pytest.raises(botocore.exceptions.WaiterError):
        waiter.wait(Bucket="trace-never", WaiterConfig={"Delay": 0, "MaxAttempts": 2})
    run = _one(exporter, "S3 wait BucketExists")
    assert run.status.status_code is StatusCode.ERROR
    assert (run.attributes or {})["error.type"] == "botocore.exceptions.WaiterError"
    assert (run.attributes or {})["botoware.run.calls"] == 2
    polls = _named(exporter, "S3.HeadBucket")
    assert len(polls) == 2
    assert all(p.parent is not None and p.parent.span_id == run.context.span_id for p in polls)


# -------------------------------------------------------------------------------------------
# Nothing on the wire
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_presigned_url_has_no_trace_data_and_makes_no_span(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """generate_presigned_url under a span: no trace id, traceparent or span in sight."""
    s3 = client("s3")
    with provider.get_tracer("test").start_as_current_span("handler") as handler:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "b-x", "Key": "k"})
    trace_id = format(handler.get_span_context().trace_id, "032x")
    assert trace_id not in url.lower()
    assert "traceparent" not in url.lower()
    assert [span.name for span in exporter.get_finished_spans()] == ["handler"]


@BOTH_KINDS
def test_http_requests_carry_no_trace_headers(
    session: Any, client: Any, provider: TracerProvider
) -> None:
    """Sent requests have no traceparent (nor the trace id) in any header: SigV4 is untouched."""
    sent: list[dict[str, str]] = []

    class Witness:
        botoware_name = "witness"

        def botoware_before_send(self, request: Any) -> None:
            sent.append({k.lower(): str(v) for k, v in request.headers.items()})

    tracer = provider.get_tracer("test")
    with botoware.install(session, plugins=[TracingPlugin(provider), Witness()], autoload=False):
        with tracer.start_as_current_span("handler") as handler:
            client("s3").list_buckets()
            sqs = client("sqs")
            sqs.send_message(
                QueueUrl=sqs.create_queue(QueueName="trace-headers")["QueueUrl"], MessageBody="b"
            )
    trace_id = format(handler.get_span_context().trace_id, "032x")
    assert len(sent) == 3
    for headers in sent:
        assert "traceparent" not in headers and "tracestate" not in headers
        assert not any(trace_id in value for value in headers.values())


# -------------------------------------------------------------------------------------------
# Suppression, other instrumentation, no SDK
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["api-key", "plain-key"])
@BOTH_KINDS
def test_suppressed_instrumentation_makes_no_span(
    traced: Any, client: Any, exporter: InMemorySpanExporter, key: str
) -> None:
    """Under OpenTelemetry's suppress-instrumentation key (either spelling) nothing is traced."""
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

    name = _SUPPRESS_INSTRUMENTATION_KEY if key == "api-key" else "suppress_instrumentation"
    token = otel_context.attach(otel_context.set_value(name, True))
    try:
        client("s3").list_buckets()
    finally:
        otel_context.detach(token)
    assert exporter.get_finished_spans() == ()


def test_an_exporters_own_aws_calls_are_never_traced(
    session: Any, client: Any, moto_url: str
) -> None:
    """An exporter that calls AWS while exporting adds no spans and does not recurse."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="trace-exporter")["QueueUrl"]
    exported: list[str] = []

    class SqsExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            for span in spans:
                exported.append(span.name)
                sqs.send_message(QueueUrl=url, MessageBody=span.name)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SqsExporter()))
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
        client("dynamodb").list_tables()
    provider.shutdown()
    assert exported == ["S3.ListBuckets", "DynamoDB.ListTables"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == sorted(exported)


def test_botocore_instrumentor_wins_with_one_warning(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """With opentelemetry-instrumentation-botocore active each call has its span only."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
            s3 = client("s3")
            with pytest.warns(botoware.BotowareWarning, match="instrumentation-botocore"):
                s3.list_buckets()
            s3.list_buckets()  # no second warning: pytest's filter turns one into an error
    finally:
        instrumentor.uninstrument()
    spans = _named(exporter, "S3.ListBuckets")
    assert len(spans) == 2
    scopes = {span.instrumentation_scope.name for span in spans if span.instrumentation_scope}
    assert scopes == {"opentelemetry.instrumentation.botocore"}


@BOTH_KINDS
def test_clients_the_instrumentor_does_not_wrap_get_botoware_spans(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A client covered before instrument() bypasses its wrapper: botoware's span, no warning."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        s3 = client("s3")  # covered now, with botocore's own _make_api_call
        instrumentor = BotocoreInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            s3.list_buckets()
        finally:
            instrumentor.uninstrument()
    [span] = _named(exporter, "S3.ListBuckets")
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "botoware"


def test_a_wrapper_kept_after_uninstrument_still_wins(
    session: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A client covered while instrumented keeps the wrapper after uninstrument(): one span."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        try:
            s3 = client("s3")  # covered around the instrumentor's wrapper
        finally:
            instrumentor.uninstrument()
        with pytest.warns(botoware.BotowareWarning):
            s3.list_buckets()
    [span] = _named(exporter, "S3.ListBuckets")
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "opentelemetry.instrumentation.botocore"


@BOTH_KINDS
def test_without_sdk_calls_work_and_nothing_is_attached(session: Any, client: Any) -> None:
    """TracingPlugin() with no global provider set: calls succeed, context untouched."""
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    current = _CurrentSpans()
    before = otel_context.get_current()
    with botoware.install(session, plugins=[TracingPlugin(), current], autoload=False):
        client("s3").list_buckets()
    assert otel_context.get_current() is before
    assert {name for _, name in current.seen} == {"<none>"}


@BOTH_KINDS
def test_unsampled_calls_export_nothing_and_restore_context(
    session: Any, client: Any, exporter: InMemorySpanExporter
) -> None:
    """A sampler that drops everything: no span exported, context unchanged."""
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = otel_context.get_current()
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
    assert otel_context.get_current() is before
    assert exporter.get_finished_spans() == ()


@BOTH_KINDS
def test_global_provider_is_used_once_set(
    session: Any, client: Any, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default plugin (by name) uses the global provider, also one set after install."""
    from opentelemetry.util._once import Once

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    with botoware.install(session, plugins=["tracing"], autoload=False) as installation:
        assert installation.plugins == ["tracing"]
        s3 = client("s3")
        s3.list_buckets()  # no provider yet: no span, no error
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        s3.list_buckets()
    assert [span.name for span in exporter.get_finished_spans()] == ["S3.ListBuckets"]


@BOTH_KINDS
def test_blocked_by_name_traces_nothing(
    session: Any,
    client: Any,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BOTOWARE_DISABLE_PLUGINS=tracing blocks the plugin like any other."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "tracing")
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        client("s3").list_buckets()
    assert exporter.get_finished_spans() == ()


# -------------------------------------------------------------------------------------------
# Threads
# -------------------------------------------------------------------------------------------


def test_exact_spans_under_eight_threads(
    traced: Any, client: Any, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """8 threads x 50 calls on shared clients: 400 call spans, each under its thread's span."""
    s3, ddb = client("s3"), client("dynamodb")
    tracer = provider.get_tracer("test")
    parents: dict[int, int] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with tracer.start_as_current_span(f"worker-{index}") as span:
                parents[index] = span.get_span_context().span_id
                for i in range(50):
                    (s3.list_buckets if i % 2 else ddb.list_tables)()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    calls = [s for s in exporter.get_finished_spans() if not s.name.startswith("worker-")]
    assert len(calls) == 400
    per_parent: dict[int, int] = {}
    for span in calls:
        assert span.parent is not None
        per_parent[span.parent.span_id] = per_parent.get(span.parent.span_id, 0) + 1
    assert per_parent == {span_id: 50 for span_id in parents.values()}
