"""Span parity: botoware's span of a call holds every attribute key the span of
opentelemetry-instrumentation-botocore (the anchor) holds for the same call, plus the current
semantic conventions' names and values.

One workload (S3, DynamoDB, SQS, SNS, Secrets Manager, Step Functions, and Lambda's Invoke
answered by ``botoware.testing.Canned``) runs against moto twice: first under the anchor's
``BotocoreInstrumentor``, then under botoware's tracing plugin, each with its own SDK provider
and fresh clients. The spans are paired call by call.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import botoware
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import Canned

_CREDENTIALS = {
    "aws_access_key_id": "AKIDEXAMPLEBOTOWARE1",
    "aws_secret_access_key": "wJalrXUtnFEMIbotowareSECRETKEYEXAMPLE01",
    "region_name": "us-east-1",
}
_ROLE = "arn:aws:iam::123456789012:role/parity"
_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})

Workload = Callable[[Callable[..., Any], str], None]


def _workload(make: Callable[..., Any], tag: str) -> None:
    """The same calls for both runs; ``tag`` keeps the runs' resources apart."""
    s3 = make("s3")
    bucket = f"parity-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/report.csv", Body=b"a,b\n")
    s3.get_object(Bucket=bucket, Key="dir/report.csv")["Body"].read()

    ddb = make("dynamodb")
    table = f"parity-{tag}"
    ddb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "colour", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-colour",
                "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            }
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
    )
    item = {"pk": {"S": "a"}, "sk": {"S": "1"}, "colour": {"S": "red"}}
    ddb.put_item(TableName=table, Item=item, ReturnConsumedCapacity="TOTAL")
    ddb.get_item(
        TableName=table,
        Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
        ConsistentRead=True,
        ProjectionExpression="pk, colour",
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
        UpdateExpression="SET colour = :c",
        ExpressionAttributeValues={":c": {"S": "blue"}},
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.query(
        TableName=table,
        IndexName="by-colour",
        KeyConditionExpression="colour = :c",
        ExpressionAttributeValues={":c": {"S": "blue"}},
        Limit=5,
        Select="ALL_ATTRIBUTES",
        ScanIndexForward=False,
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.scan(TableName=table, Limit=10, Segment=0, TotalSegments=1, ReturnConsumedCapacity="TOTAL")
    ddb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "2"}}}}]},
        ReturnConsumedCapacity="TOTAL",
    )
    ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "b"}, "sk": {"S": "2"}}]}})
    ddb.describe_table(TableName=table)
    ddb.list_tables(Limit=50)
    ddb.update_table(
        TableName=table, ProvisionedThroughput={"ReadCapacityUnits": 6, "WriteCapacityUnits": 4}
    )
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
    ddb.delete_table(TableName=table)
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=table)  # an error response

    sqs = make("sqs")
    url = sqs.create_queue(QueueName=f"parity-{tag}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "2", "MessageBody": "two"}])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    sqs.receive_message(QueueUrl=url)  # nothing left to receive

    sns = make("sns")
    topic = sns.create_topic(Name=f"parity-{tag}")["TopicArn"]
    sns.publish(TopicArn=topic, Message="hello")
    sns.publish_batch(
        TopicArn=topic, PublishBatchRequestEntries=[{"Id": "1", "Message": "batched"}]
    )

    secrets = make("secretsmanager")
    arn = secrets.create_secret(Name=f"parity-{tag}", SecretString="s3cr3t")["ARN"]
    secrets.get_secret_value(SecretId=arn)
    secrets.describe_secret(SecretId=f"parity-{tag}")

    sfn = make("stepfunctions")
    machine = sfn.create_state_machine(name=f"parity-{tag}", definition=_DEFINITION, roleArn=_ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    sfn.describe_execution(executionArn=execution)
    sfn.create_activity(name=f"parity-{tag}")

    # Lambda Invoke: answered by botoware.testing.Canned (moto would need docker)
    function = "arn:aws:lambda:us-east-1:123456789012:function:parity:live"
    make("lambda").invoke(FunctionName=function, Payload=b'{"order": 42}')


def _invoked() -> Canned:
    """Lambda's Invoke answered as Lambda does, the rest sent to moto."""
    return Canned({"lambda.Invoke": {"StatusCode": 200, "ExecutedVersion": "1"}})


def _exporter_and_provider() -> tuple[InMemorySpanExporter, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider


@pytest.fixture(scope="module")
def paired(moto_url: str) -> Iterator[list[tuple[ReadableSpan, ReadableSpan]]]:
    """(anchor's span, botoware's span) for every call of the workload, in call order."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    def maker(session: boto3.Session) -> Callable[..., Any]:
        return lambda service: session.client(service, endpoint_url=moto_url)

    anchor_spans, anchor_provider = _exporter_and_provider()
    our_spans, our_provider = _exporter_and_provider()
    with pytest.MonkeyPatch.context() as env:  # module scope: conftest's autouse one is later
        for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.setenv(name, "/dev/null")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        instrumentor = BotocoreInstrumentor()
        instrumentor.instrument(tracer_provider=anchor_provider)
        try:
            session = boto3.Session(**_CREDENTIALS)
            with botoware.install(session, plugins=[_invoked()], autoload=False):
                _workload(maker(session), "anchor")
        finally:
            instrumentor.uninstrument()
        session = boto3.Session(**_CREDENTIALS)
        plugins = [TracingPlugin(our_provider), _invoked()]
        with botoware.install(session, plugins=plugins, autoload=False):
            _workload(maker(session), "ours")

    theirs = list(anchor_spans.get_finished_spans())
    ours = list(our_spans.get_finished_spans())
    assert [_call(s) for s in theirs] == [_call(s) for s in ours]
    yield list(zip(theirs, ours, strict=True))
    anchor_provider.shutdown()
    our_provider.shutdown()


def _call(span: ReadableSpan) -> tuple[Any, Any]:
    attributes = span.attributes or {}
    return attributes.get("rpc.service"), attributes.get("rpc.method")


def _ours(paired: list[tuple[ReadableSpan, ReadableSpan]], name: str) -> dict[str, Any]:
    """The attributes of botoware's first span named ``name``."""
    span = next(ours for _, ours in paired if ours.name == name)
    return dict(span.attributes or {})


def test_every_call_of_the_workload_has_a_span_in_both_runs(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """Both runs traced the same calls in the same order (the fixture pairs them)."""
    assert len(paired) == 34


def test_botoware_span_keys_are_a_superset_of_the_anchors(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """For every call, each attribute key of the anchor's span is on botoware's span."""
    missing = {
        ours.name: sorted(set(theirs.attributes or {}) - set(ours.attributes or {}))
        for theirs, ours in paired
    }
    assert {name: keys for name, keys in missing.items() if keys} == {}


def test_span_kinds_match_the_anchors(paired: list[tuple[ReadableSpan, ReadableSpan]]) -> None:
    """Same span kind per call: CLIENT, and PRODUCER for SNS Publish and PublishBatch."""
    assert [ours.kind for _, ours in paired] == [theirs.kind for theirs, _ in paired]
    assert _kind(paired, "SNS.Publish") is SpanKind.PRODUCER
    assert _kind(paired, "SNS.PublishBatch") is SpanKind.PRODUCER


def _kind(paired: list[tuple[ReadableSpan, ReadableSpan]], name: str) -> SpanKind:
    [span] = [ours for _, ours in paired if ours.name == name]
    return span.kind


def test_values_the_anchor_and_botoware_share_are_equal(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """Where a value does not depend on the run's resource names, both spans agree on it."""
    shared = (
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "cloud.region",
        "server.address",
        "server.port",
        "http.status_code",
        "retry_attempts",
        "db.system",
        "db.operation",
        "net.peer.name",
        "aws.dynamodb.consistent_read",
        "aws.dynamodb.projection",
        "aws.dynamodb.limit",
        "aws.dynamodb.select",
        "aws.dynamodb.index_name",
        "aws.dynamodb.scan_forward",
        "aws.dynamodb.segment",
        "aws.dynamodb.total_segments",
        "aws.dynamodb.global_secondary_indexes",
        "aws.dynamodb.count",
        "aws.dynamodb.scanned_count",
        "messaging.destination_kind",
    )
    different = [
        (ours.name, key, (theirs.attributes or {})[key], (ours.attributes or {}).get(key))
        for theirs, ours in paired
        for key in shared
        if key in (theirs.attributes or {})
        and (theirs.attributes or {})[key] != (ours.attributes or {}).get(key)
    ]
    assert different == []


def test_dynamodb_spans_carry_current_and_anchor_db_names(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """DynamoDB: db.system.name=aws.dynamodb next to the anchor's db.system=dynamodb."""
    query = _ours(paired, "DynamoDB.Query")
    assert query["db.system.name"] == "aws.dynamodb"
    assert query["db.system"] == "dynamodb"
    assert query["db.operation.name"] == "Query"
    assert query["aws.dynamodb.table_names"] == ("parity-ours",)
    assert query["aws.dynamodb.index_name"] == "by-colour"
    assert query["aws.dynamodb.limit"] == 5
    assert query["aws.dynamodb.select"] == "ALL_ATTRIBUTES"
    assert query["aws.dynamodb.scan_forward"] is False


def test_dynamodb_request_and_response_values(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """Consistent read, projection, provisioned capacity, consumed capacity, table count."""
    get = _ours(paired, "DynamoDB.GetItem")
    assert get["aws.dynamodb.consistent_read"] is True
    assert get["aws.dynamodb.projection"] == "pk, colour"
    [consumed] = get["aws.dynamodb.consumed_capacity"]
    assert json.loads(consumed)["TableName"] == "parity-ours"
    created = _ours(paired, "DynamoDB.CreateTable")
    assert created["aws.dynamodb.provisioned_read_capacity"] == 5.0
    assert created["aws.dynamodb.provisioned_write_capacity"] == 3.0
    [index] = created["aws.dynamodb.global_secondary_indexes"]
    assert json.loads(index)["IndexName"] == "by-colour"
    listed = _ours(paired, "DynamoDB.ListTables")
    assert listed["aws.dynamodb.limit"] == 50
    assert isinstance(listed["aws.dynamodb.table_count"], int)


def test_sqs_spans_follow_the_sqs_conventions(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """SQS: messaging.system=aws_sqs, operation name and type, and the message id."""
    sent = _ours(paired, "SQS.SendMessage")
    assert sent["messaging.system"] == "aws_sqs"
    assert sent["messaging.operation.name"] == "SendMessage"
    assert sent["messaging.operation.type"] == "send"
    assert sent["messaging.destination.name"] == "parity-ours"
    assert sent["messaging.message.id"]
    received = _ours(paired, "SQS.ReceiveMessage")
    assert received["messaging.operation.type"] == "receive"
    assert received["messaging.batch.message_count"] == 2
    assert received["messaging.message.id"]
    deleted = _ours(paired, "SQS.DeleteMessage")
    assert deleted["messaging.operation.type"] == "settle"


def test_error_responses_keep_the_anchors_keys(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """A DynamoDB error response: status, retry count and the DynamoDB names are there."""
    theirs, ours = [pair for pair in paired if pair[1].name == "DynamoDB.DescribeTable"][-1]
    attributes = dict(ours.attributes or {})
    assert attributes["http.status_code"] == (theirs.attributes or {})["http.status_code"] == 400
    assert attributes["error.type"] == "ResourceNotFoundException"
    assert attributes["db.system.name"] == "aws.dynamodb"


def test_sns_publish_is_a_producer_span_with_the_topic(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """SNS Publish: the topic ARN, its name as destination, the message id."""
    published = _ours(paired, "SNS.Publish")
    assert published["aws.sns.topic.arn"].endswith(":parity-ours")
    assert published["messaging.destination.name"] == "parity-ours"
    assert published["messaging.system"] == "aws.sns"
    assert published["messaging.operation.type"] == "send"
    assert published["messaging.message.id"]
    created = _ours(paired, "SNS.CreateTopic")
    assert created["aws.sns.topic.arn"] == published["aws.sns.topic.arn"]


def test_secrets_manager_spans_carry_the_secret_arn(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """The secret's ARN, from the SecretId when it is one, else from the response."""
    got = _ours(paired, "Secrets Manager.GetSecretValue")
    described = _ours(paired, "Secrets Manager.DescribeSecret")
    assert got["aws.secretsmanager.secret.arn"].startswith("arn:aws:secretsmanager:")
    assert described["aws.secretsmanager.secret.arn"] == got["aws.secretsmanager.secret.arn"]


def test_step_functions_spans_carry_the_arns(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """Step Functions: the state machine ARN from parameters or response, the activity ARN."""
    created = _ours(paired, "SFN.CreateStateMachine")
    started = _ours(paired, "SFN.StartExecution")
    described = _ours(paired, "SFN.DescribeExecution")
    machine = created["aws.step_functions.state_machine.arn"]
    assert machine.endswith(":parity-ours")
    assert started["aws.step_functions.state_machine.arn"] == machine
    assert described["aws.step_functions.state_machine.arn"] == machine
    activity = _ours(paired, "SFN.CreateActivity")
    assert activity["aws.step_functions.activity.arn"].endswith(":parity-ours")


def test_lambda_invoke_names_the_function(
    paired: list[tuple[ReadableSpan, ReadableSpan]],
) -> None:
    """Invoke: faas.invoked_* as the anchor sets them, from an ARN with a qualifier."""
    theirs, ours = next(pair for pair in paired if pair[1].name == "Lambda.Invoke")
    keys = ("faas.invoked_name", "faas.invoked_provider", "faas.invoked_region")
    assert {k: (ours.attributes or {})[k] for k in keys} == {
        k: (theirs.attributes or {})[k] for k in keys
    }
    assert (ours.attributes or {})["faas.invoked_name"] == "parity"


def test_s3_spans_carry_bucket_and_key(paired: list[tuple[ReadableSpan, ReadableSpan]]) -> None:
    """S3 object calls: aws.s3.bucket and aws.s3.key."""
    put = _ours(paired, "S3.PutObject")
    assert put["aws.s3.bucket"] == "parity-ours"
    assert put["aws.s3.key"] == "dir/report.csv"
