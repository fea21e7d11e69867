"""Redaction: with every built-in plugin on, no secret reaches spans, metrics or botoware's logs.

A workload touching credentials, secrets and payloads (S3 put/get/presign, SQS messages,
Secrets Manager, STS, DynamoDB, a throttled attempt, and failures whose messages quote the
values: botocore's validation of a DynamoDB item and of S3 metadata, boto3's DynamoDB
serializer, http.client refusing an S3 metadata header with a PEM in it, and a service's
validation error, several with multi-line values), then
the ``botoware demo`` workload (:class:`botoware.contrib.demo.workload.Transcoder`, smaller),
run against moto with logging at DEBUG and credentials from the credentials plugin's file.
Every exported span (attributes, events, links, resource, status), the whole metrics
exposition, every record of a ``botoware`` logger and every warning are scanned for the
secrets used: keys, token, secret values, message and object bodies, signatures.

botocore's own DEBUG logs are left out on purpose: they hold the signed request headers
(``Authorization`` with the access key id and signature, ``X-Amz-Security-Token``), request
parameters and response bodies. That is botocore's choice, documented by AWS; enabling DEBUG
on ``botocore`` leaks by design.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import re
import urllib.parse
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse

import botoware
from botoware.contrib.demo.workload import Transcoder

ACCESS_KEY = "AKIDREDACTME00000001"
SECRET_KEY = "redactme-secret-access-key-0000000000001"
SESSION_TOKEN = "RedactMeSessionToken//0000000000000000000001=="
SECRET_STRING = "redactme-secretsmanager-string-value-0001"
SECRET_BINARY = b"redactme-secretsmanager-binary-value-0001"
MESSAGE_BODY = "redactme-sqs-message-body-0001"
OBJECT_BODY = b"redactme-s3-object-body-0001"
ITEM_VALUE = "redactme-dynamodb-item-value-0001"
INVALID_PARAM = "redactme-value-of-an-invalid-parameter-0001"
PROMPT = "redactme-bedrock-prompt-0001"
SYSTEM_PROMPT = "redactme-bedrock-system-prompt-0001"
COMPLETION = "redactme-bedrock-completion-0001"
TOOL_ARGUMENT = "redactme-bedrock-tool-argument-0001"
# Multi-line values: each line is a secret of its own, the scan looks for every one.
ITEM_LINES = ("redactme-dynamodb-item-line-one-0001", "redactme-dynamodb-item-line-two-0001")
SERIALIZED_LINES = ("redactme-serializer-line-one-0001", "redactme-serializer-line-two-0001")
PEM_LINE = "MIIEvRedactMePemBodyLine0000000000000000000000000001"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_LINE}\n-----END PRIVATE KEY-----"
METADATA_LINE = "redactme-non-ascii-metadata-line-0001-\u00e9"
NUMERIC_VALUE = "redactme-not-a-number-0001"


@dataclass
class Captured:
    """Everything the workload produced that a secret must not reach."""

    logs: str = ""
    spans: list[str] = field(default_factory=list)
    metrics: str = ""
    warnings: list[str] = field(default_factory=list)
    signatures: set[str] = field(default_factory=set)
    key_ids: set[str] = field(default_factory=set)
    retried: bool = False
    messages: list[str] = field(default_factory=list)


class SignatureWitness:
    """Remembers the signature of every request sent, so the scan can look for them."""

    botoware_name = "signature-witness"

    def __init__(self) -> None:
        self.signatures: set[str] = set()
        self.key_ids: set[str] = set()
        self.retried = False

    def botoware_before_send(self, call: botoware.Call, request: Any) -> AWSResponse | None:
        authorization = request.headers.get("Authorization", b"")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        self.signatures.update(re.findall(r"Signature=([0-9a-f]+)", authorization))
        self.key_ids.update(re.findall(r"Credential=([A-Z0-9]+)/", authorization))
        if call.operation == "SendMessage" and not self.retried:
            # One throttled attempt, so the retry path's telemetry is scanned too.
            self.retried = True
            body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 400, headers, _Raw(body))
        return None


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


@dataclass
class Telemetry:
    """The plugins of a run and where their output goes."""

    plugins: list[object]
    exporter: Any
    registry: Any
    provider: Any


def _every_builtin(credentials_file: Path) -> Telemetry:
    """Every built-in plugin, tracing and metrics (and the credentials plugin's own telemetry)
    pointed at a fresh provider and registry, credentials read from ``credentials_file``."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import CollectorRegistry

    from botoware.plugins import BUILTINS
    from botoware.plugins.credentials import JsonFileCredentials
    from botoware.plugins.genai import GenAIPlugin
    from botoware.plugins.metrics import MetricsPlugin
    from botoware.plugins.tracing import TracingPlugin

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = CollectorRegistry()
    configured: dict[str, object] = {
        "tracing": TracingPlugin(tracer_provider=provider, attempt_spans=True),
        "credentials": JsonFileCredentials(
            credentials_file, tracer_provider=provider, registry=registry
        ),
    }
    configured["metrics"] = MetricsPlugin(registry=registry)
    configured["genai"] = GenAIPlugin(registry=registry)
    plugins = [configured.get(name, name) for name in BUILTINS]
    return Telemetry(plugins, exporter, registry, provider)


def _workload(session: boto3.Session, moto_url: str) -> list[str]:
    """S3 put/get/presign, SQS send/receive, Secrets Manager, STS, DynamoDB put/get.

    Returns the presigned URLs it made.
    """
    s3 = session.client("s3", endpoint_url=moto_url)
    s3v4 = session.client(
        "s3", endpoint_url=moto_url, config=botocore.config.Config(signature_version="s3v4")
    )
    s3.create_bucket(Bucket="redaction-bucket")
    s3.put_object(Bucket="redaction-bucket", Key="object", Body=OBJECT_BODY)
    assert s3.get_object(Bucket="redaction-bucket", Key="object")["Body"].read() == OBJECT_BODY
    urls = [
        c.generate_presigned_url("get_object", Params={"Bucket": "redaction-bucket", "Key": "k"})
        for c in (s3, s3v4)
    ]

    sqs = session.client("sqs", endpoint_url=moto_url)
    queue = sqs.create_queue(QueueName="redaction-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=MESSAGE_BODY)
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)["Messages"]
    assert message["Body"] == MESSAGE_BODY

    secrets = session.client("secretsmanager", endpoint_url=moto_url)
    secrets.create_secret(Name="redaction/string", SecretString=SECRET_STRING)
    secrets.create_secret(Name="redaction/binary", SecretBinary=SECRET_BINARY)
    assert secrets.get_secret_value(SecretId="redaction/string")["SecretString"] == SECRET_STRING
    assert secrets.get_secret_value(SecretId="redaction/binary")["SecretBinary"] == SECRET_BINARY

    session.client("sts", endpoint_url=moto_url).get_caller_identity()

    dynamodb = session.client("dynamodb", endpoint_url=moto_url)
    dynamodb.create_table(
        TableName="redaction-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Failures carry messages; botocore's ParamValidationError quotes the bad value.
    with pytest.raises(botocore.exceptions.ParamValidationError):
        secrets.create_secret(Name="redaction/invalid", SecretString=[INVALID_PARAM])
    with pytest.raises(botocore.exceptions.ClientError):
        secrets.get_secret_value(SecretId="redaction/missing")

    item = {"pk": {"S": "k"}, "secret": {"S": ITEM_VALUE}}
    dynamodb.put_item(TableName="redaction-table", Item=item)
    assert dynamodb.get_item(TableName="redaction-table", Key={"pk": {"S": "k"}})["Item"] == item
    _failures(session, moto_url)
    return urls


_CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def _bedrock_answers() -> object:
    """Bedrock answered at before-send: its completions and tool arguments are payloads."""
    from botoware.testing import Canned

    tool_use = {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": TOOL_ARGUMENT}}
    converse = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"text": COMPLETION}, {"toolUse": tool_use}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 100},
    }
    stream = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": COMPLETION}, "contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "lookup"}},
                "contentBlockIndex": 1,
            }
        },
        {
            "contentBlockDelta": {
                "delta": {"toolUse": {"input": json.dumps({"q": TOOL_ARGUMENT})}},
                "contentBlockIndex": 1,
            }
        },
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}}},
    ]
    body = {
        "id": "msg_1",
        "model": "claude",
        "content": [{"type": "text", "text": COMPLETION}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    return Canned(
        {
            "bedrock-runtime.Converse": converse,
            "bedrock-runtime.ConverseStream": {"stream": stream},
            "bedrock-runtime.InvokeModel": {"body": json.dumps(body).encode()},
        },
        name="bedrock-answers",
    )


def _bedrock(session: boto3.Session) -> None:
    """Converse with a tool result, ConverseStream with a streamed tool call, InvokeModel."""
    bedrock = session.client("bedrock-runtime", endpoint_url="http://127.0.0.1:9")
    messages = [
        {"role": "user", "content": [{"text": PROMPT}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "t", "name": "lookup", "input": {"q": TOOL_ARGUMENT}}}
            ],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": COMPLETION}]}}],
        },
    ]
    system = [{"text": SYSTEM_PROMPT}]
    bedrock.converse(modelId=_CLAUDE, messages=messages, system=system)
    assert list(
        bedrock.converse_stream(modelId=_CLAUDE, messages=messages, system=system)["stream"]
    )
    request = {
        "max_tokens": 10,
        "system": SYSTEM_PROMPT,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    body = bedrock.invoke_model(modelId=_CLAUDE, body=json.dumps(request))["body"].read()
    assert COMPLETION.encode() in body


class _Opaque:
    """A value boto3's DynamoDB serializer cannot serialize; its text spans two lines."""

    def __str__(self) -> str:
        return "\n".join(SERIALIZED_LINES)


def _failures(session: boto3.Session, moto_url: str) -> None:
    """Calls whose exceptions quote the offending values, several of them multi-line."""
    dynamodb = session.client("dynamodb", endpoint_url=moto_url)
    with pytest.raises(botocore.exceptions.ParamValidationError):
        item = {"pk": {"S": "k"}, "secret": "\n".join(ITEM_LINES)}  # a str, not an AttributeValue
        dynamodb.put_item(TableName="redaction-table", Item=item)
    table = session.resource("dynamodb", endpoint_url=moto_url).Table("redaction-table")
    with pytest.raises(TypeError, match="Unsupported type"):
        table.put_item(Item={"pk": "k", "secret": _Opaque()})
    with pytest.raises(botocore.exceptions.ClientError, match="ValidationException"):
        item = {"pk": {"S": "k"}, "amount": {"N": NUMERIC_VALUE}}
        dynamodb.put_item(TableName="redaction-table", Item=item)
    s3 = session.client("s3", endpoint_url=moto_url)
    with pytest.raises(botocore.exceptions.HTTPClientError, match="Invalid header value"):
        s3.put_object(Bucket="redaction-bucket", Key="pem", Body=b"", Metadata={"certificate": PEM})
    with pytest.raises(botocore.exceptions.ParamValidationError, match="Non ascii"):
        metadata = {"certificate": f"{PEM}\n{METADATA_LINE}"}
        s3.put_object(Bucket="redaction-bucket", Key="pem", Body=b"", Metadata=metadata)


def _signatures(urls: list[str]) -> set[str]:
    """The signature values of presigned URLs (SigV2 ``Signature``, SigV4 ``X-Amz-Signature``)."""
    found: set[str] = set()
    for url in urls:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        found.update(query.get("X-Amz-Signature", []) + query.get("Signature", []))
    return found


def _credentials_file(directory: Path) -> Path:
    """A credential_process-style JSON file with the keys the workload signs with."""
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    path = directory / "aws-credentials.json"
    path.write_text(
        json.dumps(
            {
                "Version": 1,
                "AccessKeyId": ACCESS_KEY,
                "SecretAccessKey": SECRET_KEY,
                "SessionToken": SESSION_TOKEN,
                "Expiration": expires.isoformat(),
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def captured(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    """Run the workload once with every built-in plugin and DEBUG logging; capture all output."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.setenv(name, "/dev/null")
        for name in ("AWS_RETRY_MODE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield _capture(moto_url, _credentials_file(tmp_path_factory.mktemp("redaction")))


def _demo(session: boto3.Session, moto_url: str, workdir: Path, tracer: Any) -> list[str]:
    """The ``botoware demo`` workload, smaller; returns the SNS/SQS job messages it sent."""
    transcoder = Transcoder(
        session, moto_url, workdir, prefix="redaction", videos=2, segments=300, tracer=tracer
    )
    for step in transcoder.steps():
        step.run()
    return [json.dumps({"bucket": transcoder.inbox, "key": v}) for v in transcoder.videos]


def _capture(moto_url: str, credentials_file: Path) -> Captured:
    # No keys here: the credentials plugin's file is the only source, as in production.
    session = boto3.Session(region_name="us-east-1")
    telemetry = _every_builtin(credentials_file)
    plugins, exporter, registry = telemetry.plugins, telemetry.exporter, telemetry.registry
    witness = SignatureWitness()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(lambda record: record.name.split(".")[0] == "botoware")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    result = Captured()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            answers = _bedrock_answers()
            with botoware.install(session, plugins=[*plugins, answers, witness], autoload=False):
                urls = _workload(session, moto_url)
                _bedrock(session)
                tracer = telemetry.provider.get_tracer("demo")
                result.messages = _demo(session, moto_url, credentials_file.parent, tracer)
                logging.getLogger("botoware.redaction-canary").debug("canary")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    result.signatures = witness.signatures | _signatures(urls)
    result.key_ids, result.retried = witness.key_ids, witness.retried
    result.logs = stream.getvalue()
    result.warnings = [str(w.message) for w in caught]
    result.spans = [span.to_json() for span in exporter.get_finished_spans()]
    from prometheus_client import generate_latest

    result.metrics = generate_latest(registry).decode()
    return result


def _forms(secret: str | bytes) -> set[str]:
    """A secret as text and URL-quoted: the ways it could reach text output."""
    text = secret.decode() if isinstance(secret, bytes) else secret
    return {text, urllib.parse.quote(text, safe="")}


SECRETS: dict[str, str | bytes] = {
    "access key id": ACCESS_KEY,
    "secret access key": SECRET_KEY,
    "session token": SESSION_TOKEN,
    "Secrets Manager SecretString": SECRET_STRING,
    "Secrets Manager SecretBinary": SECRET_BINARY,
    "SQS message body": MESSAGE_BODY,
    "S3 object body": OBJECT_BODY,
    "DynamoDB item value": ITEM_VALUE,
    "value of an invalid parameter": INVALID_PARAM,
    "Bedrock prompt": PROMPT,
    "Bedrock system prompt": SYSTEM_PROMPT,
    "Bedrock completion": COMPLETION,
    "Bedrock tool argument": TOOL_ARGUMENT,
    **{f"DynamoDB item value, line {i}": line for i, line in enumerate(ITEM_LINES, 1)},
    **{f"unserializable value, line {i}": line for i, line in enumerate(SERIALIZED_LINES, 1)},
    "PEM in S3 metadata": PEM_LINE,
    "non-ASCII S3 metadata line": METADATA_LINE,
    "DynamoDB number that is not one": NUMERIC_VALUE,
}


def _leaks(text: str, captured: Captured) -> list[str]:
    found = [name for name, secret in SECRETS.items() if any(f in text for f in _forms(secret))]
    found += [f"signature {s[:8]}..." for s in captured.signatures if s in text]
    found += [f"demo message {m}" for m in captured.messages if any(f in text for f in _forms(m))]
    return found


def test_spans_hold_no_secret(captured: Captured) -> None:
    """No span attribute, event, link, resource or status holds a credential or payload."""
    for span in captured.spans:
        assert _leaks(span, captured) == [], span


def test_metrics_hold_no_secret(captured: Captured) -> None:
    """No metric name, label or sample holds a credential or payload."""
    assert _leaks(captured.metrics, captured) == []


def test_botoware_logs_hold_no_secret(captured: Captured) -> None:
    """No record of a botoware logger at DEBUG holds a credential or payload."""
    assert _leaks(captured.logs, captured) == []


def test_warnings_hold_no_secret(captured: Captured) -> None:
    """No warning raised during the workload holds a credential or payload."""
    assert _leaks("\n".join(captured.warnings), captured) == []


def test_the_scan_sees_what_it_scans(captured: Captured) -> None:
    """The scan is not vacuous: logs, signatures and the telemetry of each plugin arrived."""
    assert "botoware.redaction-canary DEBUG canary" in captured.logs
    assert len(captured.signatures) > 10 and captured.retried
    assert captured.key_ids == {ACCESS_KEY}, "the credentials plugin's keys signed every call"
    names = [json.loads(span)["name"] for span in captured.spans]
    assert "botoware.credentials load" in names and "SQS.SendMessage" in names
    assert "SNS.Publish" in names and "Lambda.CreateFunction" in names  # the demo ran
    assert len(captured.messages) == 2
    assert "aws_credentials_refreshes_total" in captured.metrics
    assert 'aws_client_calls_total{aws_operation="SendMessage"' in captured.metrics
    assert names.count("chat anthropic.claude-3-haiku-20240307-v1:0") == 3  # the genai plugin's
    assert "gen_ai_client_token_usage_sum" in captured.metrics


def _exception_events(captured: Captured) -> dict[str, list[str]]:
    """exception.message and exception.stacktrace of every span's exception events, by span."""
    found: dict[str, list[str]] = {}
    for text in captured.spans:
        span = json.loads(text)
        for event in span["events"]:
            if event["name"] == "exception":
                attributes = event["attributes"]
                found.setdefault(span["name"], []).append(
                    attributes["exception.message"] + "\n" + attributes["exception.stacktrace"]
                )
    return found


@pytest.mark.parametrize(
    ("span", "says"),
    [
        (
            "DynamoDB.PutItem",
            "Invalid type for parameter Item.secret, type: <class 'str'>, "
            "valid types: <class 'dict'>",
        ),
        ("DynamoDB.PutItem", "Unsupported type \"<class 'test_redaction._Opaque'>\""),
        ("DynamoDB.PutItem", "The parameter cannot be converted to a numeric value"),
        ("S3.PutObject", "An HTTP Client raised an unhandled exception: Invalid header value"),
        ("S3.PutObject", 'Non ascii characters found in S3 metadata for key "certificate"'),
        ("Secrets Manager.CreateSecret", "Invalid type for parameter SecretString, type: "),
    ],
)
def test_errors_keep_their_type_path_and_reason(captured: Captured, span: str, says: str) -> None:
    """Exception events left out the values, not what failed: the path and the reason stay."""
    events = _exception_events(captured).get(span, [])
    assert any(says in event for event in events), events
