"""Metric cardinality: touching 1,000 distinct buckets and queues adds no series.

Every built-in plugin that exports metrics writes into one fresh registry; the workload (S3
put/get/list/head, SQS get-url/send/receive, throttles retried, misses) runs on 10 names, then
on 1,000 more. The registry must hold exactly the same series afterwards, and no label may
carry a bucket, queue, key or message. Every send is answered offline with wire-format
bodies, so 1,000 names cost seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import botoware
from botoware.plugins.credentials import JsonFileCredentials
from botoware.plugins.metrics import MetricsPlugin
from botoware.plugins.retry import RetryPlugin, RetryPolicy
from botoware.plugins.tracing import TracingPlugin

ENDPOINT = "http://127.0.0.1:9"  # never contacted: every send is answered at before-send
XML = {"Content-Type": "application/xml", "x-amz-request-id": "0000"}
JSON = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "0000"}
TENANT = "tenant-"  # every resource name starts with it; no label value may


class _Raw(io.BytesIO):
    """What botocore reads a response from: streamed for parsing, read() for GetObject."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.read()


class OfflineAws:
    """Answers S3 and SQS like AWS would, with a throttle on about one first attempt in ten."""

    botoware_name = "offline-aws"

    def __init__(self) -> None:
        self._random = random.Random(1000)
        self._lock = threading.Lock()

    def botoware_before_send(self, call: botoware.Call, request: Any) -> AWSResponse:
        with self._lock:
            throttled = call.attempt == 1 and self._random.random() < 0.1
        status, headers, body = self._answer(call, request, throttled)
        return AWSResponse(request.url, status, headers, _Raw(body))

    def _answer(self, call: botoware.Call, request: Any, throttled: bool) -> Any:
        operation = call.operation
        if call.service == "s3":
            if throttled:
                return 503, XML, b"<Error><Code>SlowDown</Code><Message>m</Message></Error>"
            bucket = request.url.split("/")[3].split("?")[0]
            if operation == "HeadBucket":
                return (404 if bucket.endswith("-missing") else 200), XML, b""
            if operation == "PutObject":
                return 200, {**XML, "ETag": '"0"'}, b""
            if operation == "GetObject":
                return 200, {"Content-Type": "application/octet-stream"}, b"object body"
            body = (
                f'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<Name>{bucket}</Name><KeyCount>1</KeyCount><IsTruncated>false</IsTruncated>"
                f"<Contents><Key>{bucket}/k</Key><Size>11</Size></Contents></ListBucketResult>"
            )
            return 200, XML, body.encode()
        if throttled:
            return 400, JSON, b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        sent = json.loads(request.body or b"{}")
        if operation == "GetQueueUrl":
            name = sent["QueueName"]
            if name.endswith("-missing"):
                headers = {
                    **JSON,
                    "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
                }
                body = b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"none"}'
                return 400, headers, body
            return 200, JSON, json.dumps({"QueueUrl": f"{ENDPOINT}/123456789012/{name}"}).encode()
        if operation == "SendMessage":
            digest = hashlib.md5(sent["MessageBody"].encode()).hexdigest()
            body = {"MessageId": sent["QueueUrl"].rsplit("/", 1)[1], "MD5OfMessageBody": digest}
            return 200, JSON, json.dumps(body).encode()
        return 200, JSON, b'{"Messages":[]}'


@dataclass
class Installed:
    registry: CollectorRegistry
    s3: Any
    sqs: Any


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Installed]:
    """Every built-in with metrics on one registry, and offline S3 and SQS clients."""
    creds = tmp_path / "aws.json"
    creds.write_text(
        json.dumps({"Version": 1, "AccessKeyId": "AKIDCARDINALITY00001", "SecretAccessKey": "s"})
    )
    registry = CollectorRegistry()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    plugins: list[object] = [
        OfflineAws(),
        MetricsPlugin(registry=registry),
        TracingPlugin(tracer_provider=provider),
        RetryPlugin(RetryPolicy(base=0.001, cap=0.002)),
        JsonFileCredentials(creds, tracer_provider=provider, registry=registry),
        "policies",
    ]
    session = boto3.Session(region_name="us-east-1")
    with botoware.install(session, plugins=plugins, autoload=False):
        yield Installed(
            registry,
            session.client("s3", endpoint_url=ENDPOINT),
            session.client("sqs", endpoint_url=ENDPOINT),
        )


def _touch(installed: Installed, names: range) -> None:
    """The workload on one bucket and one queue per name, hits and misses."""
    s3, sqs = installed.s3, installed.sqs
    for number in names:
        name = f"{TENANT}{number:04d}"
        s3.put_object(Bucket=name, Key=f"{name}/k", Body=b"object body")
        s3.get_object(Bucket=name, Key=f"{name}/k")["Body"].read()
        s3.list_objects_v2(Bucket=name, Prefix=f"{name}/")
        s3.head_bucket(Bucket=name)
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_bucket(Bucket=f"{name}-missing")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=f"message for {name}")
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        with pytest.raises(botocore.exceptions.ClientError):
            sqs.get_queue_url(QueueName=f"{name}-missing")


def _series(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in registry.collect()
        for sample in family.samples
    }


def test_a_thousand_buckets_and_queues_add_no_series(installed: Installed) -> None:
    """The series after 1,010 distinct buckets and queues are those after the first 10."""
    _touch(installed, range(10))
    first = _series(installed.registry)
    _touch(installed, range(10, 1010))
    after = _series(installed.registry)
    assert after == first
    values = {value for _, labels in after for _, value in labels}
    assert not [value for value in values if TENANT in value or "message" in value]


def test_the_series_are_the_expected_few(installed: Installed) -> None:
    """Labels name only services, operations, outcomes, error codes and provider."""
    _touch(installed, range(10))
    label_sets = {labels for _, labels in _series(installed.registry)}
    keys = {key for labels in label_sets for key, _ in labels}
    assert keys <= {"aws_service", "aws_operation", "outcome", "error_code", "le", "provider"}
    codes = {value for labels in label_sets for key, value in labels if key == "error_code"}
    assert codes == {"404", "AWS.SimpleQueueService.NonExistentQueue"}
