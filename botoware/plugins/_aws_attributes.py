"""Span attributes of AWS calls, one row per service: what the tracing plugin reads.

Each service with attributes of its own has a *request* extractor, run when the span starts
(so samplers see what it adds), and may have a *response* extractor, run when the call ends.
Services without a row cost one dict lookup per call and nothing else.

The span carries every attribute opentelemetry-instrumentation-botocore (the "anchor") puts
on the same call, under the anchor's names, and the current semantic conventions' names
where those moved (``db.system`` and ``db.system.name``, ``http.status_code`` and
``http.response.status_code``, ...), so queries built on either keep working.
``tests/test_tracing_parity.py`` runs both on one workload and compares the keys.

Only identifiers are read from parameters (names, ARNs, URLs, keys, settings such as
``Limit``): never message or object bodies, item values or credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

__all__ = [
    "LEGACY_RETRY_ATTEMPTS",
    "LEGACY_STATUS_CODE",
    "REQUEST_ATTRIBUTES",
    "RESPONSE_ATTRIBUTES",
    "SQS_TRACE_HEADER",
]

Attributes = dict[str, "AttributeValue"]
RequestExtractor = Callable[[str, Mapping[str, Any], Attributes, "str | None"], "SpanKind | None"]
"""``(operation, params, attributes, region) -> span kind or None (CLIENT)``; adds to
``attributes``."""
ResponseExtractor = Callable[[str, Mapping[str, Any], Attributes, str], None]
"""``(operation, parsed, attributes, url) -> None``; adds to ``attributes``."""

LEGACY_STATUS_CODE = "http.status_code"
"""The anchor's name for ``http.response.status_code``."""
LEGACY_RETRY_ATTEMPTS = "retry_attempts"
"""The anchor's retry count (``http.request.resend_count`` is set only when it is not 0)."""
SQS_TRACE_HEADER = "AWSTraceHeader"
"""The SQS message system attribute X-Ray and Lambda read the trace context from."""

# Messaging (SQS, SNS); the deprecated names are the anchor's.
_MESSAGING_SYSTEM = "messaging.system"
_DESTINATION_NAME = "messaging.destination.name"
_OPERATION_NAME = "messaging.operation.name"
_OPERATION_TYPE = "messaging.operation.type"
_MESSAGE_ID = "messaging.message.id"
_BATCH_COUNT = "messaging.batch.message_count"
_LEGACY_DESTINATION = "messaging.destination"
_LEGACY_DESTINATION_KIND = "messaging.destination_kind"
_LEGACY_URL = "messaging.url"


# -------------------------------------------------------------------------------------------
# S3
# -------------------------------------------------------------------------------------------

_S3_PARAMS = (
    ("Bucket", "aws.s3.bucket"),
    ("Key", "aws.s3.key"),
    ("UploadId", "aws.s3.upload_id"),
    ("CopySource", "aws.s3.copy_source"),
)


def _s3_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    for param, attribute in _S3_PARAMS:
        value = params.get(param)
        if isinstance(value, str):
            attributes[attribute] = value
    if operation in ("UploadPart", "UploadPartCopy"):
        part = params.get("PartNumber")
        if isinstance(part, int):
            attributes["aws.s3.part_number"] = part
    return None


# -------------------------------------------------------------------------------------------
# DynamoDB: the anchor's table of operations, request side at span start
# -------------------------------------------------------------------------------------------


def _json_list(value: Any) -> AttributeValue | None:
    if not isinstance(value, list):
        return None
    return tuple(json.dumps(item, default=str) for item in value)


def _json_one(value: Any) -> AttributeValue | None:
    return None if value is None else (json.dumps(value, default=str),)


def _json_object(value: Any) -> AttributeValue | None:
    return json.dumps(value, default=str) if isinstance(value, Mapping) else None


def _plain(value: Any) -> AttributeValue | None:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _number(value: Any) -> AttributeValue | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(value: Any) -> AttributeValue | None:
    return len(value) if isinstance(value, list) else None


_Converter = Callable[[Any], "AttributeValue | None"]
_Spec = tuple[str, tuple[str, ...], _Converter]  # attribute, path, converter

_PROVISIONED: tuple[_Spec, ...] = (
    (
        "aws.dynamodb.provisioned_read_capacity",
        ("ProvisionedThroughput", "ReadCapacityUnits"),
        _number,
    ),
    (
        "aws.dynamodb.provisioned_write_capacity",
        ("ProvisionedThroughput", "WriteCapacityUnits"),
        _number,
    ),
)
_READ: tuple[_Spec, ...] = (
    ("aws.dynamodb.attributes_to_get", ("AttributesToGet",), _plain),
    ("aws.dynamodb.consistent_read", ("ConsistentRead",), _plain),
    ("aws.dynamodb.index_name", ("IndexName",), _plain),
    ("aws.dynamodb.limit", ("Limit",), _plain),
    ("aws.dynamodb.projection", ("ProjectionExpression",), _plain),
    ("aws.dynamodb.select", ("Select",), _plain),
)
_DYNAMODB_REQUEST: dict[str, tuple[_Spec, ...]] = {
    "CreateTable": (
        ("aws.dynamodb.global_secondary_indexes", ("GlobalSecondaryIndexes",), _json_list),
        ("aws.dynamodb.local_secondary_indexes", ("LocalSecondaryIndexes",), _json_list),
        *_PROVISIONED,
    ),
    "GetItem": (
        ("aws.dynamodb.consistent_read", ("ConsistentRead",), _plain),
        ("aws.dynamodb.projection", ("ProjectionExpression",), _plain),
    ),
    "ListTables": (
        ("aws.dynamodb.exclusive_start_table", ("ExclusiveStartTableName",), _plain),
        ("aws.dynamodb.limit", ("Limit",), _plain),
    ),
    "Query": (("aws.dynamodb.scan_forward", ("ScanIndexForward",), _plain), *_READ),
    "Scan": (
        ("aws.dynamodb.segment", ("Segment",), _plain),
        ("aws.dynamodb.total_segments", ("TotalSegments",), _plain),
        *_READ,
    ),
    "UpdateTable": (
        ("aws.dynamodb.attribute_definitions", ("AttributeDefinitions",), _json_list),
        (
            "aws.dynamodb.global_secondary_index_updates",
            ("GlobalSecondaryIndexUpdates",),
            _json_list,
        ),
        *_PROVISIONED,
    ),
}
_CONSUMED = "aws.dynamodb.consumed_capacity"
_COLLECTIONS = "aws.dynamodb.item_collection_metrics"
_DYNAMODB_RESPONSE: dict[str, tuple[_Spec, ...]] = {
    "BatchGetItem": ((_CONSUMED, ("ConsumedCapacity",), _json_list),),
    "BatchWriteItem": (
        (_CONSUMED, ("ConsumedCapacity",), _json_list),
        (_COLLECTIONS, ("ItemCollectionMetrics",), _json_object),
    ),
    "DeleteItem": (
        (_CONSUMED, ("ConsumedCapacity",), _json_one),
        (_COLLECTIONS, ("ItemCollectionMetrics",), _json_object),
    ),
    "GetItem": ((_CONSUMED, ("ConsumedCapacity",), _json_one),),
    "ListTables": (("aws.dynamodb.table_count", ("TableNames",), _count),),
    "PutItem": (
        (_CONSUMED, ("ConsumedCapacity",), _json_one),
        (_COLLECTIONS, ("ItemCollectionMetrics",), _json_object),
    ),
    "Query": (
        ("aws.dynamodb.count", ("Count",), _plain),
        ("aws.dynamodb.scanned_count", ("ScannedCount",), _plain),
        (_CONSUMED, ("ConsumedCapacity",), _json_one),
    ),
    "Scan": (
        ("aws.dynamodb.count", ("Count",), _plain),
        ("aws.dynamodb.scanned_count", ("ScannedCount",), _plain),
        (_CONSUMED, ("ConsumedCapacity",), _json_one),
    ),
    "UpdateItem": (
        (_CONSUMED, ("ConsumedCapacity",), _json_one),
        (_COLLECTIONS, ("ItemCollectionMetrics",), _json_object),
    ),
}


def _apply(specs: tuple[_Spec, ...], source: Mapping[str, Any], attributes: Attributes) -> None:
    for attribute, path, convert in specs:
        value: Any = source
        for key in path:
            # Parameters and parsed responses are dicts: skip the Mapping ABC check for them.
            value = value.get(key) if type(value) is dict or isinstance(value, Mapping) else None
            if value is None:
                break
        if value is not None:
            converted = convert(value)
            if converted is not None:
                attributes[attribute] = converted


def _dynamodb_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    attributes["db.system"] = "dynamodb"  # the anchor's (older conventions)
    attributes["db.system.name"] = "aws.dynamodb"
    attributes["db.operation"] = operation
    attributes["db.operation.name"] = operation
    table = params.get("TableName")
    if isinstance(table, str):
        attributes["aws.dynamodb.table_names"] = (table,)
    else:
        items = params.get("RequestItems")  # BatchGetItem, BatchWriteItem
        if isinstance(items, Mapping):
            names = tuple(name for name in items if isinstance(name, str))
            if names:
                attributes["aws.dynamodb.table_names"] = names
    specs = _DYNAMODB_REQUEST.get(operation)
    if specs is not None:
        _apply(specs, params, attributes)
    return None


_PEERS: dict[str, str | None] = {}  # DynamoDB request URL -> net.peer.name (None: no scheme)
_MAX_PEERS = 256


def _dynamodb_response(
    operation: str, parsed: Mapping[str, Any], attributes: Attributes, url: str
) -> None:
    if url:  # the anchor's net.peer.name: the endpoint's host[:port]
        try:
            peer = _PEERS[url]
        except KeyError:
            _, sep, rest = url.partition("://")
            peer = rest.split("/", 1)[0].rpartition("@")[2] if sep else None
            if len(_PEERS) >= _MAX_PEERS:
                _PEERS.clear()  # DynamoDB URLs are its endpoints ("/" paths): few
            _PEERS[url] = peer
        if peer is not None:
            attributes["net.peer.name"] = peer
    specs = _DYNAMODB_RESPONSE.get(operation)
    if specs is not None:
        _apply(specs, parsed, attributes)


# -------------------------------------------------------------------------------------------
# SQS
# -------------------------------------------------------------------------------------------

_SQS_OPERATION_TYPES = {
    "SendMessage": "send",
    "SendMessageBatch": "send",
    "ReceiveMessage": "receive",
    "DeleteMessage": "settle",
    "DeleteMessageBatch": "settle",
    "ChangeMessageVisibility": "settle",
    "ChangeMessageVisibilityBatch": "settle",
}


def _sqs_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    url = params.get("QueueUrl")
    if isinstance(url, str):
        name = url.rstrip("/").rpartition("/")[2]
        attributes["aws.sqs.queue.url"] = url
        attributes["aws.queue_url"] = url  # the anchor's three
        attributes[_LEGACY_URL] = url
        attributes[_LEGACY_DESTINATION] = name
    else:
        queue = params.get("QueueName")
        if not isinstance(queue, str):
            return None
        name = queue
    attributes[_MESSAGING_SYSTEM] = "aws_sqs"
    attributes[_DESTINATION_NAME] = name
    attributes[_OPERATION_NAME] = operation
    kind = _SQS_OPERATION_TYPES.get(operation)
    if kind is not None:
        attributes[_OPERATION_TYPE] = kind
        if operation.endswith("Batch"):
            entries = params.get("Entries")
            if isinstance(entries, list):
                attributes[_BATCH_COUNT] = len(entries)
    return None


def _sqs_response(
    operation: str, parsed: Mapping[str, Any], attributes: Attributes, url: str
) -> None:
    if "Error" in parsed:
        return
    if operation == "SendMessage":
        message_id = parsed.get("MessageId")
    elif operation == "SendMessageBatch":
        message_id = _first_id(parsed.get("Successful"))
    elif operation == "ReceiveMessage":
        messages = parsed.get("Messages")
        attributes[_BATCH_COUNT] = len(messages) if isinstance(messages, list) else 0
        message_id = _first_id(messages)  # the first one's, as the anchor does
    else:
        return
    if isinstance(message_id, str):
        attributes[_MESSAGE_ID] = message_id


def _first_id(items: Any) -> Any:
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0].get("MessageId")
    return None


# -------------------------------------------------------------------------------------------
# SNS: Publish and PublishBatch are PRODUCER spans
# -------------------------------------------------------------------------------------------


def _sns_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    attributes[_MESSAGING_SYSTEM] = "aws.sns"
    arn = params.get("TopicArn")
    if isinstance(arn, str):
        attributes["aws.sns.topic.arn"] = arn
        attributes[_DESTINATION_NAME] = arn.rpartition(":")[2]
    if operation not in ("Publish", "PublishBatch"):
        return None
    if not isinstance(arn, str) and operation == "Publish":
        target = params.get("TargetArn")
        if isinstance(target, str):
            arn = target
            attributes[_DESTINATION_NAME] = target.rpartition(":")[2]
        elif params.get("PhoneNumber"):
            arn = "phone_number:**"  # the anchor's stand-in: a phone number is personal data
            attributes[_DESTINATION_NAME] = "phone_number"
    attributes[_LEGACY_DESTINATION] = arn if isinstance(arn, str) else "unknown"
    attributes[_LEGACY_DESTINATION_KIND] = "topic"
    attributes[_OPERATION_NAME] = operation
    attributes[_OPERATION_TYPE] = "send"
    if operation == "PublishBatch":
        entries = params.get("PublishBatchRequestEntries")
        if isinstance(entries, list):
            attributes[_BATCH_COUNT] = len(entries)
    return SpanKind.PRODUCER


def _sns_response(
    operation: str, parsed: Mapping[str, Any], attributes: Attributes, url: str
) -> None:
    arn = parsed.get("TopicArn")  # CreateTopic
    if isinstance(arn, str):
        attributes["aws.sns.topic.arn"] = arn
    if operation == "Publish":
        message_id = parsed.get("MessageId")
        if isinstance(message_id, str):
            attributes[_MESSAGE_ID] = message_id


# -------------------------------------------------------------------------------------------
# Lambda
# -------------------------------------------------------------------------------------------

_INVOKE_OPERATIONS = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})


def _lambda_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    function = params.get("FunctionName")
    if not isinstance(function, str):
        return None
    # "name", "name:alias", "123456789012:function:name" or a full ARN
    _, found, tail = function.partition("function:")
    name = (tail if found else function).split(":", 1)[0]
    attributes["aws.lambda.function.name"] = name
    if operation in _INVOKE_OPERATIONS:
        attributes["faas.invoked_name"] = name
        attributes["faas.invoked_provider"] = "aws"
        if region:
            attributes["faas.invoked_region"] = region
    return None


# -------------------------------------------------------------------------------------------
# Secrets Manager, Step Functions: ARNs
# -------------------------------------------------------------------------------------------

_SECRET_ARN = "aws.secretsmanager.secret.arn"


def _secrets_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    secret = params.get("SecretId")  # a name or an ARN; only an ARN is the attribute
    if isinstance(secret, str) and secret.startswith("arn:") and ":secretsmanager:" in secret:
        attributes[_SECRET_ARN] = secret
    return None


def _secrets_response(
    operation: str, parsed: Mapping[str, Any], attributes: Attributes, url: str
) -> None:
    arn = parsed.get("ARN")
    if isinstance(arn, str):
        attributes[_SECRET_ARN] = arn


_SFN_ARNS = (
    ("activityArn", "aws.step_functions.activity.arn"),
    ("stateMachineArn", "aws.step_functions.state_machine.arn"),
)


def _sfn_request(
    operation: str, params: Mapping[str, Any], attributes: Attributes, region: str | None
) -> SpanKind | None:
    _sfn_arns(params, attributes)
    return None


def _sfn_response(
    operation: str, parsed: Mapping[str, Any], attributes: Attributes, url: str
) -> None:
    _sfn_arns(parsed, attributes)


def _sfn_arns(source: Mapping[str, Any], attributes: Attributes) -> None:
    for key, attribute in _SFN_ARNS:
        arn = source.get(key)
        if isinstance(arn, str):
            attributes[attribute] = arn


# -------------------------------------------------------------------------------------------
# The tables, keyed by botocore's hyphenized service id (Call.service)
# -------------------------------------------------------------------------------------------

REQUEST_ATTRIBUTES: dict[str, RequestExtractor] = {
    "s3": _s3_request,
    "dynamodb": _dynamodb_request,
    "sqs": _sqs_request,
    "sns": _sns_request,
    "lambda": _lambda_request,
    "secrets-manager": _secrets_request,
    "sfn": _sfn_request,
}
"""Run when the span starts; the returned kind (if any) replaces CLIENT."""

RESPONSE_ATTRIBUTES: dict[str, ResponseExtractor] = {
    "dynamodb": _dynamodb_response,
    "sqs": _sqs_response,
    "sns": _sns_response,
    "secrets-manager": _secrets_response,
    "sfn": _sfn_response,
}
"""Run on the parsed response of a call that got one (error responses too)."""
