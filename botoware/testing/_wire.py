"""Wire-format responses: data shaped like botocore's parsed output in, an AWS response out.

Each protocol is written the way botocore's own parser reads it (``botocore/parsers.py``), so
a client parsing a response built here gets the data back, plus ``ResponseMetadata``.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import io
import json
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, NamedTuple, final
from xml.sax.saxutils import escape, quoteattr

from botocore.awsrequest import AWSResponse
from botocore.utils import is_json_value_header, parse_timestamp

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape, StructureShape

DEFAULT_URL = "https://botoware.invalid/"
"""The URL put on responses built outside a request (a reserved name that never resolves)."""

_UTC = datetime.timezone.utc
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_HOST_ID = "Ym90b3dhcmUudGVzdGluZw=="


@final
class _Body(io.BytesIO):
    """A response body botocore can read both ways: ``stream()`` and, when streaming, ``read()``."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


@final
class WireResponse(NamedTuple):
    """A response as bytes on the wire; :meth:`respond` makes a fresh ``AWSResponse`` of it.

    Build it once and answer many requests with it: that is how :class:`Canned` answers a
    constant dict without serializing it again per call.
    """

    status_code: int
    headers: Mapping[str, str]
    body: bytes

    def respond(self, url: str = DEFAULT_URL) -> AWSResponse:
        """A new ``AWSResponse`` with its own unread body."""
        headers: Any = self.headers  # AWSResponse copies any mapping into its own HeadersDict
        return AWSResponse(url, self.status_code, headers, _Body(self.body))


def protocol_of(operation_model: OperationModel) -> str:
    """The wire protocol a client of this model speaks (``"json"``, ``"rest-xml"``, ...)."""
    service_model = operation_model.service_model
    resolved = getattr(service_model, "resolved_protocol", None)
    return str(resolved or service_model.protocol)


def response_for(
    operation_model: OperationModel,
    data: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    url: str = DEFAULT_URL,
) -> AWSResponse:
    """Serialize ``data`` into the response ``operation_model``'s service would send.

    ``data`` is shaped like the dict a client returns (``{"Attributes": {...}}``), without
    ``ResponseMetadata`` (if present, only its ``RequestId`` is used). botocore parses the
    result back into ``data``::

        model = sqs.meta.service_model.operation_model("GetQueueAttributes")
        response = response_for(model, {"Attributes": {"VisibilityTimeout": "30"}})

    Timestamps keep microseconds in XML and JSON bodies and whole seconds in headers
    (where AWS sends HTTP dates).

    :param operation_model: botocore's ``OperationModel`` (``client.meta.service_model
        .operation_model("GetQueueAttributes")``).
    :param status_code: the HTTP status, unless ``data`` has a status-code member.
    :param headers: extra HTTP headers, added last.
    :param url: the URL the response claims to answer.
    :raises ValueError: ``data`` has a key that is no member of the output shape.
    """
    return wire_response(operation_model, data, status_code, headers).respond(url)


def error_response(
    operation_model: OperationModel,
    code: str,
    message: str = "Injected by botoware.testing",
    status_code: int = 400,
    *,
    headers: Mapping[str, str] | None = None,
    url: str = DEFAULT_URL,
) -> AWSResponse:
    """The error response the service would send: botocore raises ``ClientError`` from it.

    JSON protocols get ``{"__type": code, "message": ...}`` (plus ``x-amzn-ErrorType`` for
    rest-json and ``x-amzn-query-error`` for query-compatible services such as SQS), query
    services ``<ErrorResponse><Error><Code>``, EC2 ``<Response><Errors><Error><Code>``, S3
    ``<Error><Code>``. HEAD operations get no body, as S3 sends them, so botocore reports the
    status as the code (``"404"``)::

        model = s3.meta.service_model.operation_model("GetObject")
        response = error_response(model, "NoSuchKey", status_code=404)
    """
    return wire_error(operation_model, code, message, status_code, headers).respond(url)


def wire_response(
    operation_model: OperationModel,
    data: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> WireResponse:
    """Like :func:`response_for`, as reusable bytes (:class:`WireResponse`)."""
    data = dict(data or {})
    metadata = data.pop("ResponseMetadata", None) or {}
    request_id = str(metadata.get("RequestId") or uuid.uuid4())
    shape = operation_model.output_shape
    if shape is not None:
        _check_members(shape, data)
    elif data:
        raise ValueError(f"{operation_model.name} has no output, but data has {sorted(data)}.")
    protocol = protocol_of(operation_model)
    if operation_model.has_event_stream_output:
        from botoware.testing._eventstream import event_stream_response

        return event_stream_response(operation_model, data, status_code, headers, request_id)
    out_headers: dict[str, str] = {}
    if protocol == "json":
        body = _json_bytes(_json_value(shape, data)) if shape is not None else b"{}"
        out_headers["Content-Type"] = _json_content_type(operation_model)
        out_headers["x-amzn-RequestId"] = request_id
    elif (service_key := _service_key(operation_model)) in _QUIRKS:
        body = _QUIRKS[service_key](data)
        out_headers["Content-Type"] = "application/xml"
        _rest_request_id(operation_model, protocol, request_id, out_headers)
    elif protocol in ("rest-json", "rest-xml"):
        body, status_code = _rest(protocol, shape, data, out_headers, status_code)
        _rest_request_id(operation_model, protocol, request_id, out_headers)
    elif protocol == "query":
        body = _query(operation_model, shape, data, request_id)
        out_headers["Content-Type"] = "text/xml"
    elif protocol == "ec2":
        body = _ec2(operation_model, shape, data, request_id)
        out_headers["Content-Type"] = "text/xml;charset=UTF-8"
    else:
        raise NotImplementedError(f"botoware.testing cannot write {protocol!r} responses.")
    return _finish(operation_model, status_code, out_headers, body, headers)


def _service_key(operation_model: OperationModel) -> str:
    return f"{operation_model.service_model.service_id.hyphenize()}.{operation_model.name}"


def _bucket_location(data: Mapping[str, Any]) -> bytes:
    # botocore reads this one from the root element's text (handlers.parse_get_bucket_location).
    region = _text(str(data.get("LocationConstraint") or ""))
    namespace = quoteattr("http://s3.amazonaws.com/doc/2006-03-01/")
    return _xml_document(f"<LocationConstraint xmlns={namespace}>{region}</LocationConstraint>")


# Operations whose response botocore does not read from the model alone.
_QUIRKS: dict[str, Callable[[Mapping[str, Any]], bytes]] = {
    "s3.GetBucketLocation": _bucket_location,
}


def wire_error(
    operation_model: OperationModel,
    code: str,
    message: str = "Injected by botoware.testing",
    status_code: int = 400,
    headers: Mapping[str, str] | None = None,
) -> WireResponse:
    """Like :func:`error_response`, as reusable bytes (:class:`WireResponse`)."""
    protocol = protocol_of(operation_model)
    request_id = str(uuid.uuid4())
    out_headers: dict[str, str] = {}
    service_model = operation_model.service_model
    if protocol in ("json", "rest-json"):
        body = _json_bytes({"__type": code, "message": message})
        if protocol == "json":
            out_headers["Content-Type"] = _json_content_type(operation_model)
        else:
            out_headers["Content-Type"] = "application/json"
            out_headers["x-amzn-ErrorType"] = code
        out_headers["x-amzn-RequestId"] = request_id
        if service_model.metadata.get("awsQueryCompatible") is not None:
            fault = "Sender" if status_code < 500 else "Receiver"
            out_headers["x-amzn-query-error"] = f"{code};{fault}"
    elif protocol == "ec2":
        text = (
            f"<Response><Errors><Error><Code>{_text(code)}</Code>"
            f"<Message>{_text(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        body = _xml_document(text)
        out_headers["Content-Type"] = "text/xml;charset=UTF-8"
    elif protocol == "rest-xml" and service_model.service_id.hyphenize().startswith("s3"):
        text = (
            f"<Error><Code>{_text(code)}</Code><Message>{_text(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{_HOST_ID}</HostId></Error>"
        )
        body = _xml_document(text)
        out_headers["Content-Type"] = "application/xml"
        _rest_request_id(operation_model, protocol, request_id, out_headers)
    elif protocol in ("query", "rest-xml"):
        fault = "Sender" if status_code < 500 else "Receiver"
        namespace = _query_namespace(operation_model)
        text = (
            f"<ErrorResponse xmlns={quoteattr(namespace)}><Error><Type>{fault}</Type>"
            f"<Code>{_text(code)}</Code><Message>{_text(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        body = _xml_document(text)
        out_headers["Content-Type"] = "text/xml" if protocol == "query" else "application/xml"
    else:
        raise NotImplementedError(f"botoware.testing cannot write {protocol!r} errors.")
    if operation_model.http.get("method") == "HEAD":
        # A HEAD response has no body: botocore then takes the code from the status, as
        # it does for real S3 HeadObject/HeadBucket errors ("404", "403").
        body = b""
        out_headers.pop("Content-Type", None)
    return _finish(operation_model, status_code, out_headers, body, headers)


def _finish(
    operation_model: OperationModel,
    status_code: int,
    out_headers: dict[str, str],
    body: bytes,
    extra: Mapping[str, str] | None,
) -> WireResponse:
    _default_header(out_headers, "Content-Length", str(len(body)))
    if operation_model.service_model.service_id == "DynamoDB":
        # botocore checks DynamoDB bodies against this header when it is present.
        out_headers["x-amz-crc32"] = str(zlib.crc32(body) & 0xFFFFFFFF)
    if extra:
        out_headers.update(extra)
    return WireResponse(status_code, out_headers, body)


def _check_members(shape: Shape, data: Mapping[str, Any]) -> None:
    members = getattr(shape, "members", {})
    unknown = [key for key in data if key not in members]
    if unknown:
        raise ValueError(
            f"{shape.name} has no member {', '.join(map(repr, unknown))}; "
            f"its members are {', '.join(members) or 'none'}."
        )


# -------------------------------------------------------------------------------------------
# Scalars
# -------------------------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, _UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    parsed: datetime.datetime = parse_timestamp(value)
    return _as_datetime(parsed)


def _timestamp(value: Any, fmt: str) -> str | int | float:
    moment = _as_datetime(value).astimezone(_UTC)
    if fmt == "unixTimestamp":
        seconds = calendar.timegm(moment.utctimetuple())
        return seconds + moment.microsecond / 1e6 if moment.microsecond else seconds
    if fmt == "rfc822":
        return formatdate(calendar.timegm(moment.utctimetuple()), usegmt=True)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, (bytes, bytearray)):
        value = value.read()
    return base64.b64encode(value).decode("ascii")


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    data = value.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _scalar_text(shape: Shape, value: Any, default_timestamp: str) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        return repr(float(value))
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_timestamp)
        return str(_timestamp(value, fmt))
    if kind == "blob":
        return _blob(value)
    return str(value)


# -------------------------------------------------------------------------------------------
# JSON
# -------------------------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _json_content_type(operation_model: OperationModel) -> str:
    version = operation_model.service_model.metadata.get("jsonVersion", "1.0")
    return f"application/x-amz-json-{version}"


def _json_value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        _check_members(shape, value)
        members = shape.members  # type: ignore[attr-defined]
        return {
            members[name].serialization.get("name", name): _json_value(members[name], item)
            for name, item in value.items()
            if item is not None
        }
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        return [None if item is None else _json_value(member, item) for item in value]
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        return {
            str(_json_value(key_shape, key)): _json_value(value_shape, item)
            for key, item in value.items()
        }
    if kind == "timestamp":
        return _timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return _blob(value)
    if kind in ("float", "double"):
        return float(value)
    return value


# -------------------------------------------------------------------------------------------
# REST (rest-json, rest-xml): headers, status code, payload
# -------------------------------------------------------------------------------------------


def _header_text(shape: Shape, value: Any) -> str:
    if shape.type_name == "list":
        member = shape.member  # type: ignore[attr-defined]
        return ",".join(_header_text(member, item) for item in value)
    if shape.type_name == "string" and is_json_value_header(shape):
        return base64.b64encode(_json_bytes(value)).decode("ascii")
    return _scalar_text(shape, value, "rfc822")


def _rest(
    protocol: str,
    shape: StructureShape | None,
    data: Mapping[str, Any],
    headers: dict[str, str],
    status_code: int,
) -> tuple[bytes, int]:
    xml = protocol == "rest-xml"
    if shape is None:
        return b"", status_code
    members = shape.members
    body_data: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        member = members[name]
        location = member.serialization.get("location")
        if location == "header":
            headers[member.serialization.get("name", name)] = _header_text(member, value)
        elif location == "headers":
            prefix = member.serialization.get("name", "")
            for key, item in value.items():
                headers[f"{prefix}{key}"] = str(item)
        elif location == "statusCode":
            status_code = int(value)
        elif location is None:
            body_data[name] = value
    payload = shape.serialization.get("payload")
    if payload is not None:
        body_shape = members[payload]
        value = body_data.get(payload)
        if value is None:
            return b"", status_code
        if body_shape.type_name in ("string", "blob"):
            _default_header(headers, "Content-Type", "application/octet-stream")
            return _raw_bytes(value), status_code
        _default_header(headers, "Content-Type", "application/xml" if xml else "application/json")
        if xml:
            name = body_shape.serialization.get("name", body_shape.name)
            return _xml_document(_xml_element(body_shape, value, name, root=True)), status_code
        return _json_bytes(_json_value(body_shape, value)), status_code
    if xml:
        if not body_data:
            return b"", status_code
        _default_header(headers, "Content-Type", "application/xml")
        name = shape.serialization.get("name", shape.name)
        return _xml_document(_xml_element(shape, body_data, name, root=True)), status_code
    _default_header(headers, "Content-Type", "application/json")
    return _json_bytes(_json_value(shape, body_data)), status_code


def _default_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header unless the data already bound a member to it (in any case)."""
    lower = name.lower()
    if not any(key.lower() == lower for key in headers):
        headers[name] = value


def _rest_request_id(
    operation_model: OperationModel, protocol: str, request_id: str, headers: dict[str, str]
) -> None:
    if protocol == "rest-xml" and operation_model.service_model.service_id.hyphenize() in (
        "s3",
        "s3-control",
    ):
        headers["x-amz-request-id"] = request_id
        headers["x-amz-id-2"] = _HOST_ID
    else:
        headers["x-amzn-RequestId"] = request_id


# -------------------------------------------------------------------------------------------
# XML (query, ec2, rest-xml)
# -------------------------------------------------------------------------------------------


def _xml_document(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")


def _text(value: str) -> str:
    # A literal carriage return would come back as a newline: XML normalizes line ends.
    return escape(value).replace("\r", "&#13;")


def _member_element_name(shape: Shape, member_name: str) -> str:
    """The element name botocore looks for (``BaseXMLResponseParser._member_key_name``)."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        inner = shape.member.serialization.get("name")  # type: ignore[attr-defined]
        if inner is not None:
            return str(inner)
    return str(shape.serialization.get("name", member_name))


def _namespace_attr(shape: Shape) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, dict):
        prefix, uri = namespace.get("prefix"), namespace.get("uri", "")
        return f" xmlns:{prefix}={quoteattr(uri)}" if prefix else f" xmlns={quoteattr(uri)}"
    if isinstance(namespace, str):
        return f" xmlns={quoteattr(namespace)}"
    return ""


def _xml_element(shape: Shape, value: Any, name: str, root: bool = False) -> str:
    kind = shape.type_name
    if kind == "structure":
        return _xml_structure(shape, value, name, root)
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        if shape.serialization.get("flattened"):
            return "".join(_xml_element(member, item, name) for item in value)
        item_name = member.serialization.get("name", "member")
        inner = "".join(_xml_element(member, item, item_name) for item in value)
        return f"<{name}>{inner}</{name}>"
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        key_name = key_shape.serialization.get("name") or "key"
        value_name = value_shape.serialization.get("name") or "value"
        entries = [
            _xml_element(key_shape, key, key_name) + _xml_element(value_shape, item, value_name)
            for key, item in value.items()
        ]
        if shape.serialization.get("flattened"):
            return "".join(f"<{name}>{entry}</{name}>" for entry in entries)
        inner = "".join(f"<entry>{entry}</entry>" for entry in entries)
        return f"<{name}>{inner}</{name}>"
    return f"<{name}>{_text(_scalar_text(shape, value, 'iso8601'))}</{name}>"


def _xml_structure(shape: Shape, value: Mapping[str, Any], name: str, root: bool) -> str:
    attrs, children = _xml_members(shape, value)
    if root:
        attrs = _namespace_attr(shape) + attrs
    return f"<{name}{attrs}>{children}</{name}>"


def _xml_members(shape: Shape, value: Mapping[str, Any]) -> tuple[str, str]:
    """A structure's XML attributes and child elements."""
    _check_members(shape, value)
    members = shape.members  # type: ignore[attr-defined]
    attrs = ""
    children: list[str] = []
    for member_name, item in value.items():
        if item is None:
            continue
        member = members[member_name]
        if member.serialization.get("xmlAttribute"):
            attr = member.serialization.get("name", member_name)
            prefix = attr.split(":", 1)[0] if ":" in attr else None
            if prefix is not None and f"xmlns:{prefix}=" not in attrs:
                uri = _XSI if prefix == "xsi" else f"urn:botoware:{prefix}"
                attrs += f" xmlns:{prefix}={quoteattr(uri)}"
            attrs += f" {attr}={quoteattr(str(item))}"
            continue
        children.append(_xml_element(member, item, _member_element_name(member, member_name)))
    return attrs, "".join(children)


def _query_namespace(operation_model: OperationModel) -> str:
    metadata = operation_model.service_model.metadata
    namespace = metadata.get("xmlNamespace")
    if namespace:
        return str(namespace)
    prefix = metadata.get("endpointPrefix", "aws")
    return f"https://{prefix}.amazonaws.com/doc/{metadata.get('apiVersion', '')}/"


def _query(
    operation_model: OperationModel,
    shape: StructureShape | None,
    data: Mapping[str, Any],
    request_id: str,
) -> bytes:
    root = f"{operation_model.name}Response"
    result = ""
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        # Without a wrapper botocore reads the members straight off the root element.
        result = (
            _xml_structure(shape, data, wrapper, False) if wrapper else _xml_members(shape, data)[1]
        )
    namespace = quoteattr(_query_namespace(operation_model))
    return _xml_document(
        f"<{root} xmlns={namespace}>{result}"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{root}>"
    )


def _ec2(
    operation_model: OperationModel,
    shape: StructureShape | None,
    data: Mapping[str, Any],
    request_id: str,
) -> bytes:
    root = f"{operation_model.name}Response"
    members = _xml_members(shape, data)[1] if shape is not None else ""
    api_version = operation_model.service_model.metadata.get("apiVersion", "")
    namespace = quoteattr(f"http://ec2.amazonaws.com/doc/{api_version}/")
    return _xml_document(
        f"<{root} xmlns={namespace}><requestId>{request_id}</requestId>{members}</{root}>"
    )
