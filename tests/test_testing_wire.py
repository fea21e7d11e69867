"""botoware.testing wire formats: botocore's own parser reads back what response_for writes."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from typing import Any

import botocore.session
import pytest
from botocore.endpoint import convert_to_response_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import ResponseParserFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botoware.testing import error_response, response_for, wire_response
from botoware.testing._wire import protocol_of

OPERATIONS = [
    ("sqs", "GetQueueAttributes"),  # json (query-compatible)
    ("s3", "ListObjectsV2"),  # rest-xml, flattened lists
    ("s3", "HeadObject"),  # rest-xml, every member bound to a header
    ("dynamodb", "GetItem"),  # json, recursive tagged unions, blobs
    ("lambda", "GetPolicy"),  # rest-json
    ("sts", "GetCallerIdentity"),  # query
    ("sns", "ListTopics"),  # query, lists
    ("ec2", "DescribeInstances"),  # ec2, deep nesting, timestamps
]

_MAX_DEPTH = 4
_UTC = datetime.timezone.utc


@functools.cache
def _service(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def _operation(service: str, operation: str) -> OperationModel:
    return _service(service).operation_model(operation)


def _parse(model: OperationModel, response: Any) -> dict[str, Any]:
    parser = ResponseParserFactory().create_parser(protocol_of(model))
    parsed: dict[str, Any] = parser.parse(
        convert_to_response_dict(response, model), model.output_shape
    )
    return parsed


def _without_metadata(parsed: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parsed.items() if k != "ResponseMetadata"}


# -------------------------------------------------------------------------------------------
# Strategies: values shaped like botocore's parsed output, for any shape
# -------------------------------------------------------------------------------------------

# XML 1.0 cannot carry most control characters, surrogates or U+FFFE/U+FFFF.
_XML_TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Cn"),
        whitelist_characters="\t\n\r",
    ),
    max_size=12,
)
_JSON_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_HEADER_TEXT = st.from_regex(
    r"[A-Za-z0-9_.;:/=+-]([A-Za-z0-9 _.;:/=+-]{0,10}[A-Za-z0-9])?", fullmatch=True
)
_HEADER_NAME = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True)


def _timestamps(whole_seconds: bool) -> st.SearchStrategy[datetime.datetime]:
    moments = st.datetimes(
        min_value=datetime.datetime(1971, 1, 1),
        max_value=datetime.datetime(2100, 1, 1),
        timezones=st.just(_UTC),
    )
    return moments.map(lambda d: d.replace(microsecond=0)) if whole_seconds else moments


def _values(shape: Shape, xml: bool, header: bool = False, depth: int = 0) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structures(shape, xml, depth)
    if kind == "list":
        member = _values(shape.member, xml, header, depth + 1)  # type: ignore[attr-defined]
        # An empty flattened list (or header list) leaves nothing on the wire, as with AWS.
        at_least = 1 if header or (xml and shape.serialization.get("flattened")) else 0
        if header:
            member = _HEADER_TEXT.filter(lambda s: "," not in s)
        return st.lists(member, min_size=at_least, max_size=0 if depth >= _MAX_DEPTH else 3)
    if kind == "map":
        keys = _XML_TEXT if xml else _JSON_TEXT
        at_least = 1 if xml and shape.serialization.get("flattened") else 0
        return st.dictionaries(
            keys,
            _values(shape.value, xml, header, depth + 1),  # type: ignore[attr-defined]
            min_size=at_least,
            max_size=0 if depth >= _MAX_DEPTH else 3,
        )
    if kind == "string":
        return _HEADER_TEXT if header else (_XML_TEXT if xml else _JSON_TEXT)
    if kind in ("integer", "long"):
        return st.integers(-(2**31), 2**31 - 1)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return st.binary(max_size=12)
    if kind == "timestamp":
        return _timestamps(whole_seconds=header)
    raise AssertionError(f"no strategy for {kind}")


def _structures(shape: Shape, xml: bool, depth: int, top: bool = False) -> Any:
    members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
    if depth >= _MAX_DEPTH:
        members = {
            n: m for n, m in members.items() if m.type_name not in ("structure", "list", "map")
        }
    strategies: dict[str, Any] = {}
    for name, member in members.items():
        location = member.serialization.get("location") if top else None
        if location == "statusCode":
            continue
        if location == "headers":
            strategies[name] = st.dictionaries(_HEADER_NAME, _HEADER_TEXT, max_size=3)
        else:
            strategies[name] = _values(member, xml, location == "header", depth + 1)
    if getattr(shape, "is_tagged_union", False):
        return st.one_of([st.fixed_dictionaries({n: s}) for n, s in strategies.items()])
    return st.fixed_dictionaries({}, optional=strategies)


def _data_for(model: OperationModel) -> Any:
    xml = protocol_of(model) in ("query", "ec2", "rest-xml")
    return _structures(model.output_shape, xml, 0, top=True)


def _expected(model: OperationModel, data: dict[str, Any], response: Any) -> dict[str, Any]:
    """What botocore returns besides ``data``: header maps always, Content-Length as sent."""
    expected = dict(data)
    for name, member in model.output_shape.members.items():
        location = member.serialization.get("location")
        if location == "headers":
            expected.setdefault(name, {})
        elif location == "header" and member.serialization.get("name") == "Content-Length":
            expected.setdefault(name, len(response.content))
    return expected


def _round_trip_test(service: str, operation: str) -> Any:
    model = _operation(service, operation)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=_data_for(model))
    def check(data: dict[str, Any]) -> None:
        response = response_for(model, data)
        assert _without_metadata(_parse(model, response)) == _expected(model, data, response)

    return check


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_parser_reads_back_what_response_for_writes(service: str, operation: str) -> None:
    """For real operations of every protocol, botocore parses response_for(data) into data."""
    _round_trip_test(service, operation)()


# -------------------------------------------------------------------------------------------
# Particular shapes
# -------------------------------------------------------------------------------------------


def test_response_metadata_carries_the_request_id() -> None:
    """A RequestId given in ResponseMetadata comes back where botocore puts it."""
    for service, operation in OPERATIONS:
        model = _operation(service, operation)
        data = {"ResponseMetadata": {"RequestId": "req-42"}}
        assert _parse(model, response_for(model, data))["ResponseMetadata"]["RequestId"] == "req-42"


def test_s3_lists_are_flattened_on_the_wire() -> None:
    """ListObjectsV2 Contents repeat as sibling elements, as S3 sends them."""
    model = _operation("s3", "ListObjectsV2")
    data = {"Contents": [{"Key": "a"}, {"Key": "b"}], "KeyCount": 2}
    body = response_for(model, data).content
    assert b"<Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents>" in body


def test_header_members_travel_in_headers() -> None:
    """S3 HeadObject members go to their headers, Metadata under its prefix."""
    model = _operation("s3", "HeadObject")
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=_UTC)
    response = response_for(
        model, {"ContentLength": 0, "LastModified": moment, "Metadata": {"k": "v"}}
    )
    assert response.headers["Last-Modified"] == "Mon, 06 May 2024 07:08:09 GMT"
    assert response.headers["x-amz-meta-k"] == "v"
    assert response.content == b""


def test_json_timestamps_are_epoch_seconds() -> None:
    """JSON bodies carry timestamps as epoch seconds, with a fraction when there is one."""
    model = _operation("dynamodb", "DescribeTable")
    moment = datetime.datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=_UTC)
    body = response_for(model, {"Table": {"CreationDateTime": moment}}).content
    assert body == b'{"Table":{"CreationDateTime":1704067200.5}}'


def test_dynamodb_responses_carry_a_valid_crc32() -> None:
    """DynamoDB responses carry x-amz-crc32 of their body, which botocore checks."""
    import zlib

    response = response_for(_operation("dynamodb", "GetItem"), {"Item": {"k": {"S": "v"}}})
    assert response.headers["x-amz-crc32"] == str(zlib.crc32(response.content))


def test_status_code_member_sets_the_http_status() -> None:
    """A member bound to the status code (Lambda Invoke StatusCode) sets the HTTP status."""
    model = _operation("lambda", "Invoke")
    response = response_for(model, {"StatusCode": 202, "Payload": b""})
    assert response.status_code == 202


def test_string_payload_is_the_raw_body() -> None:
    """S3 GetBucketPolicy's payload member is the whole body, unencoded."""
    model = _operation("s3", "GetBucketPolicy")
    response = response_for(model, {"Policy": '{"Version": "2012-10-17"}'})
    assert response.content == b'{"Version": "2012-10-17"}'
    assert _without_metadata(_parse(model, response)) == {"Policy": '{"Version": "2012-10-17"}'}


def test_unknown_member_is_refused() -> None:
    """A key that is no member of the output shape fails loudly, naming the members."""
    with pytest.raises(ValueError, match=r"'Atributes'.*Attributes"):
        response_for(_operation("sqs", "GetQueueAttributes"), {"Atributes": {}})


def test_wire_response_answers_many_requests() -> None:
    """A WireResponse makes a fresh, unread AWSResponse each time."""
    model = _operation("sts", "GetCallerIdentity")
    wire = wire_response(model, {"Account": "123456789012"})
    first, second = wire.respond("https://a.example/"), wire.respond("https://b.example/")
    assert first.content == second.content and first.raw is not second.raw
    assert second.url == "https://b.example/"


_SYNTHETIC = {
    "metadata": {
        "protocol": "query",
        "apiVersion": "2024-01-01",
        "endpointPrefix": "synthetic",
        "serviceId": "Synthetic",
        "signatureVersion": "v4",
    },
    "operations": {
        "Get": {
            "name": "Get",
            "http": {"method": "POST", "requestUri": "/"},
            "output": {"shape": "GetOutput", "resultWrapper": "GetResult"},
        }
    },
    "shapes": {
        "GetOutput": {
            "type": "structure",
            "members": {
                "Attributes": {"shape": "AttributeMap", "locationName": "Attribute"},
                "Names": {"shape": "NameList", "locationName": "Name"},
                "Owner": {"shape": "Owner"},
            },
        },
        "AttributeMap": {
            "type": "map",
            "key": {"shape": "String", "locationName": "Name"},
            "value": {"shape": "String", "locationName": "Value"},
            "flattened": True,
        },
        "NameList": {
            "type": "list",
            "member": {"shape": "String", "locationName": "Item"},
            "flattened": True,
        },
        "Owner": {
            "type": "structure",
            "members": {
                "Kind": {"shape": "String", "locationName": "xsi:type", "xmlAttribute": True},
                "Id": {"shape": "String"},
            },
            "xmlNamespace": {"prefix": "xsi", "uri": "http://www.w3.org/2001/XMLSchema-instance"},
        },
        "String": {"type": "string"},
    },
}


def test_flattened_maps_lists_and_xml_attributes_round_trip() -> None:
    """Flattened maps and lists with their own element names, and xsi attributes, come back."""
    model = ServiceModel(_SYNTHETIC, "synthetic").operation_model("Get")
    data = {
        "Attributes": {"a": "1", "b": "2"},
        "Names": ["x", "y"],
        "Owner": {"Kind": "CanonicalUser", "Id": "me"},
    }
    response = response_for(model, data)
    assert b"<Attribute><Name>a</Name><Value>1</Value></Attribute>" in response.content
    assert _without_metadata(_parse(model, response)) == data


# -------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_error_response_parses_to_code_and_message(service: str, operation: str) -> None:
    """error_response yields the code, message and status botocore reads for any protocol."""
    model = _operation(service, operation)
    parsed = _parse(model, error_response(model, "SomethingBroke", "it broke", status_code=409))
    if model.http["method"] == "HEAD":  # no body, as S3 sends it: the status is the code
        assert parsed["Error"]["Code"] == "409"
    else:
        assert parsed["Error"]["Code"] == "SomethingBroke"
        assert parsed["Error"]["Message"] == "it broke"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert parsed["ResponseMetadata"]["RequestId"]


def test_head_errors_have_no_body() -> None:
    """A HEAD operation's error has an empty body, so botocore reports the status."""
    response = error_response(_operation("s3", "HeadBucket"), "NoSuchBucket", status_code=404)
    assert response.content == b"" and response.status_code == 404


def test_imports_without_moto_or_the_otel_sdk() -> None:
    """botoware.testing imports neither moto nor the OpenTelemetry SDK."""
    import subprocess
    import sys

    code = (
        "import sys, botoware.testing; "
        "print([m for m in sys.modules if m.startswith(('moto', 'opentelemetry.sdk'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("service", "operation", "marker"),
    [
        ("sqs", "GetQueueAttributes", b'"__type":"Nope"'),
        ("lambda", "GetPolicy", b'"__type":"Nope"'),
        ("sts", "GetCallerIdentity", b"<ErrorResponse"),
        ("ec2", "DescribeInstances", b"<Response><Errors><Error><Code>Nope"),
        ("s3", "ListObjectsV2", b"<Error><Code>Nope</Code>"),
    ],
)
def test_error_body_has_the_protocol_shape(service: str, operation: str, marker: bytes) -> None:
    """Error bodies take the protocol's own form (JSON __type, query, EC2, S3)."""
    assert marker in error_response(_operation(service, operation), "Nope").content


def test_query_compatible_errors_carry_the_query_error_header() -> None:
    """SQS (JSON, query-compatible) errors carry x-amzn-query-error like the real service."""
    model = _operation("sqs", "GetQueueUrl")
    response = error_response(model, "AWS.SimpleQueueService.NonExistentQueue")
    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
