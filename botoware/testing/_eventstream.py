"""Event-stream responses: ``application/vnd.amazon.eventstream`` frames botocore parses.

An operation with an event-stream output (Bedrock ``ConverseStream`` and
``InvokeModelWithResponseStream``, Lambda ``InvokeWithResponseStream``, S3
``SelectObjectContent``, ...) answers with a body of binary messages. Each message is::

    total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes
    headers: name length (uint8), name, type (uint8, 7 = string), length (uint16), value
    payload
    CRC32 of everything before it

``data`` gives the event-stream member as a list of events shaped like the ones the client
yields, ``{"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}}``; an
event named after an exception member of the stream (``{"throttlingException": {"message":
"..."}}``) becomes an exception message, which botocore raises as ``EventStreamError`` when
the iteration reaches it.
"""

from __future__ import annotations

import struct
import uuid
from binascii import crc32
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from botoware.testing._wire import WireResponse

CONTENT_TYPE = "application/vnd.amazon.eventstream"

_STRING = 7  # header value type: UTF-8 string with a uint16 length


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers, prelude and message CRCs included."""
    header_bytes = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack(">I", crc32(message) & 0xFFFFFFFF)


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def encode_events(
    stream_shape: Shape, events: Iterable[Mapping[str, Any]], xml: bool = False
) -> bytes:
    """The body of an event stream whose union shape is ``stream_shape``; structure payloads
    are XML for rest-xml services (S3 ``SelectObjectContent``), else JSON."""
    from botoware.testing._wire import _json_bytes, _json_value, _xml_element

    def document(shape: Shape, value: Any) -> bytes:
        if xml:
            name = shape.serialization.get("name", shape.name)
            return _xml_element(shape, value, name, root=True).encode("utf-8")
        return _json_bytes(_json_value(shape, value))

    members = stream_shape.members  # type: ignore[attr-defined]
    body = bytearray()
    for index, event in enumerate(events):
        if not isinstance(event, Mapping) or len(event) != 1:
            raise ValueError(
                f"event {index} of the {stream_shape.name} stream is {event!r}; give one "
                'dict with a single key naming the event, e.g. {"messageStop": {...}}.'
            )
        [(name, value)] = event.items()
        shape = members.get(name)
        if shape is None:
            raise ValueError(
                f"event {index}: {stream_shape.name} has no event {name!r}; its events are "
                f"{', '.join(members)}."
            )
        value = dict(value or {})
        if shape.metadata.get("exception"):
            headers = {
                ":message-type": "exception",
                ":exception-type": name,
                ":content-type": "application/json",
            }
            body += encode_message(headers, _json_bytes(_json_value(shape, value)))
            continue  # AWS sends exception payloads as JSON, XML services too
        headers = {":message-type": "event", ":event-type": name}
        payload_member = None
        for member_name, member in shape.members.items():
            if member.serialization.get("eventheader") and member_name in value:
                headers[member_name] = str(value.pop(member_name))
            elif member.serialization.get("eventpayload"):
                payload_member = member_name
        if payload_member is not None:
            member = shape.members[payload_member]
            item = value.get(payload_member)
            if member.type_name in ("blob", "string"):
                payload = item.encode("utf-8") if isinstance(item, str) else bytes(item or b"")
                headers[":content-type"] = "application/octet-stream"
            else:
                payload = document(member, item or {})
                headers[":content-type"] = "text/xml" if xml else "application/json"
        else:
            payload = document(shape, value) if value else b""
            headers[":content-type"] = "text/xml" if xml else "application/json"
        body += encode_message(headers, payload)
    return bytes(body)


def event_stream_response(
    operation_model: OperationModel,
    data: Mapping[str, Any],
    status_code: int,
    headers: Mapping[str, str] | None,
    request_id: str | None = None,
) -> WireResponse:
    """The response of an operation with an event-stream output: its other members as
    headers, its event-stream member (a list of events) as the framed body."""
    from botoware.testing._wire import WireResponse, _header_text, protocol_of

    shape = operation_model.output_shape
    assert shape is not None  # an event-stream output is a structure
    stream_name = shape.serialization.get("payload")
    if stream_name is None or not shape.members[stream_name].serialization.get("eventstream"):
        raise NotImplementedError(
            f"botoware.testing writes event streams sent as the payload (rest-json, rest-xml), "
            f"not the initial-response streams of {operation_model.name}."
        )
    out_headers: dict[str, str] = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id or str(uuid.uuid4()),
    }
    body = b""
    for name, value in data.items():
        if value is None:
            continue
        member = shape.members[name]
        if name == stream_name:
            body = encode_events(member, value, xml=protocol_of(operation_model) == "rest-xml")
        elif member.serialization.get("location") == "header":
            out_headers[member.serialization.get("name", name)] = _header_text(member, value)
        elif member.serialization.get("location") == "statusCode":
            status_code = int(value)
        else:
            raise ValueError(
                f"botoware.testing cannot put {name!r} of {shape.name} beside an event "
                "stream; give the stream and header members only."
            )
    if headers:
        out_headers.update(headers)
    return WireResponse(status_code, out_headers, body)
