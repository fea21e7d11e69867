"""Errors that quote user values, as botocore, boto3, http.client and services raise them.

Each case is a real client call against moto (or boto3's own serializer) with a bad value;
the error's text as botoware records it (span events, logs) must say what failed and where,
and must not hold the value. Errors that quote nothing keep their whole message.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest
from boto3.dynamodb.types import TypeSerializer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import botoware
from botoware import _redaction as _errors
from botoware.plugins.policies import Field, FieldTransform
from botoware.plugins.tracing import TracingPlugin

SECRET = "redactme-quoted-value-0001"
SECOND_LINE = "redactme-quoted-second-line-0001"
MULTILINE = f"{SECRET}\n{SECOND_LINE}"
NUMBER = "-987654321"

TABLE = "redaction-errors-table"
BUCKET = "redaction-errors-bucket"
_Call = Callable[[Any], object]


def _raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call did not fail")


CASES: list[tuple[str, Callable[[Any], object], str]] = [
    (
        "a str where an AttributeValue goes",
        lambda c: c("dynamodb").put_item(TableName=TABLE, Item={"pk": MULTILINE}),
        "Invalid type for parameter Item.pk, type: <class 'str'>, valid types: <class 'dict'>",
    ),
    (
        "two bad fields in one report",
        lambda c: c("dynamodb").put_item(
            TableName=TABLE, Item={"a": MULTILINE, "b": {"S": [SECRET]}}
        ),
        "Invalid type for parameter Item.a, type: <class 'str'>, valid types: <class 'dict'>\n"
        "Invalid type for parameter Item.b.S, type: <class 'list'>, valid types: <class 'str'>",
    ),
    (
        "a number below the minimum",
        lambda c: c("dynamodb").scan(TableName=TABLE, Limit=int(NUMBER)),
        "Invalid value for parameter Limit, valid min value: 1",
    ),
    (
        "a bucket name botocore refuses",
        lambda c: c("s3").head_bucket(Bucket=f"{SECRET} {SECOND_LINE}"),
        "Invalid bucket name: Bucket name must match the regex",
    ),
    (
        "non-ASCII S3 metadata",
        lambda c: c("s3").put_object(Bucket=BUCKET, Key="k", Metadata={"m": f"{MULTILINE}\u00e9"}),
        'Non ascii characters found in S3 metadata for key "m". S3 metadata can only contain',
    ),
    (
        "an S3 metadata value http.client refuses",
        lambda c: c("s3").put_object(Bucket=BUCKET, Key="k", Metadata={"m": MULTILINE}),
        "An HTTP Client raised an unhandled exception: Invalid header value (left out",
    ),
    (
        "a service's validation error in AWS's format",
        lambda c: c("ssm").put_parameter(Name="p", Value="v", Type=SECRET),
        "1 validation error detected: Value at 'type' failed to satisfy constraint: Member must",
    ),
    (
        "a service's validation error in free text",
        lambda c: c("dynamodb").put_item(
            TableName=TABLE, Item={"pk": {"S": "k"}, "amount": {"N": SECRET}}
        ),
        "The parameter cannot be converted to a numeric value (details left out",
    ),
]


@pytest.fixture(scope="module")
def table(moto_url: str) -> None:
    """TABLE and BUCKET in moto, for the calls that get as far as the service."""
    session = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )
    session.client("dynamodb", endpoint_url=moto_url).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    session.client("s3", endpoint_url=moto_url).create_bucket(Bucket=BUCKET)


@pytest.mark.parametrize(("case", "call", "says"), CASES, ids=[c[0] for c in CASES])
def test_error_text_keeps_the_reason_and_drops_the_value(
    table: None, client: Any, case: str, call: _Call, says: str
) -> None:
    """The redacted message names the parameter and the reason, never the value."""
    error = _raised(lambda: call(client))
    quoted = NUMBER if "Limit" in says else SECRET
    assert quoted in str(error), "the case is not vacuous: the raw message quotes the value"
    text = _errors.redacted(error)
    assert text is not None and says in text
    assert quoted not in text and SECRET not in text and SECOND_LINE not in text


@pytest.mark.parametrize(("case", "call", "says"), CASES, ids=[c[0] for c in CASES])
def test_span_exception_events_hold_no_value(
    table: None, session: boto3.Session, moto_url: str, case: str, call: _Call, says: str
) -> None:
    """exception.message and exception.stacktrace of the call's span and attempt spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingPlugin(provider, attempt_spans=True)
    with botoware.install(session, plugins=[tracing], autoload=False):
        _raised(lambda: call(lambda service: session.client(service, endpoint_url=moto_url)))
    events = [e for s in exporter.get_finished_spans() for e in s.events if e.name == "exception"]
    assert events
    for event in events:
        message = str(event.attributes["exception.message"])
        stack = str(event.attributes["exception.stacktrace"])
        assert all(v not in message + stack for v in (SECRET, SECOND_LINE, NUMBER))
    assert any(says in str(e.attributes["exception.message"]) for e in events)


def test_dynamodb_serializer_error_holds_no_value() -> None:
    """boto3's TypeSerializer names the unsupported type and leaves the value out."""

    class Opaque:
        def __str__(self) -> str:
            return MULTILINE

    error = _raised(lambda: TypeSerializer().serialize(Opaque()))
    text = _errors.redacted(error)
    assert text is not None and "Unsupported type" in text and ".Opaque'>" in text
    assert SECRET not in text and SECOND_LINE not in text


def test_errors_that_quote_nothing_are_kept_whole() -> None:
    """A connection error (no user value in it) is recorded exactly as the SDK would."""
    error = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
    assert _errors.redacted(error) is None
    assert _errors.loggable(error) is error


def test_logged_chain_holds_no_value(table: None, client: Any) -> None:
    """loggable(): the traceback logging prints covers the whole chain, values left out."""
    error = _raised(
        lambda: client("s3").put_object(Bucket=BUCKET, Key="k", Metadata={"m": MULTILINE})
    )
    assert error.__context__ is not None and SECRET in repr(error.__context__)
    stream = io.StringIO()
    logger = logging.getLogger("botoware.test-redaction-errors")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.error("failed", exc_info=_errors.loggable(error))
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "botocore.exceptions.HTTPClientError: An HTTP Client raised" in text
    assert "ValueError: Invalid header value (left out" in text  # the chained cause
    assert SECRET not in text and SECOND_LINE not in text


class _Numbers(FieldTransform):
    botoware_name = "numbers"

    def decode(self, call: botoware.Call, field: Field, value: Any) -> Any:
        return int(value)


def test_field_transform_failure_log_holds_no_value(
    session: boto3.Session, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A transform's ValueError quoting the field's value is logged without the value."""
    s3 = client("s3")
    owner = s3.list_buckets()["Owner"]["ID"]
    transform = _Numbers([Field("s3", "ListBuckets", ("Owner", "ID"))])
    with caplog.at_level(logging.WARNING, logger="botoware.plugins.policies"):
        with botoware.install(session, plugins=[transform], autoload=False):
            s3.list_buckets()
    (record,) = [r for r in caplog.records if r.name == "botoware.plugins.policies"]
    assert "invalid literal for int() with base 10 (the value is left out)" in record.getMessage()
    assert owner not in record.getMessage()
