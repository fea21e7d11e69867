"""botoware.testing answers event-stream operations with frames botocore parses."""

from __future__ import annotations

import json
import struct
from binascii import crc32
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

import botoware
from botoware.testing import Canned, response_for, wire_response
from botoware.testing._eventstream import CONTENT_TYPE, encode_message

NOWHERE = "http://127.0.0.1:9"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]


def _client(session: boto3.Session) -> Any:
    return session.client("bedrock-runtime", endpoint_url=NOWHERE)


def test_a_message_decodes_with_botocore() -> None:
    """A frame's prelude, headers and payload come back from botocore's decoder intact."""
    frame = encode_message({":event-type": "chunk", ":message-type": "event"}, b'{"a":1}')
    total, headers_length, prelude_crc = struct.unpack(">III", frame[:12])
    assert total == len(frame) and prelude_crc == crc32(frame[:8])
    assert struct.unpack(">I", frame[-4:])[0] == crc32(frame[:-4])
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    [message] = list(buffer)
    assert message.headers == {":event-type": "chunk", ":message-type": "event"}
    assert message.payload == b'{"a":1}'
    assert headers_length == len(frame) - 16 - len(b'{"a":1}')


def test_a_corrupt_message_fails_botocore_checksum() -> None:
    """The CRCs are real: one flipped payload byte makes botocore refuse the message."""
    frame = bytearray(encode_message({":message-type": "event"}, b"payload"))
    frame[-6] ^= 0xFF
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(frame))
    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_converse_stream_events_round_trip(session: boto3.Session) -> None:
    """A ConverseStream answer iterates as the events it was built from."""
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Hello"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}},
    ]
    canned = Canned({"bedrock-runtime.ConverseStream": {"stream": events}})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = _client(session).converse_stream(modelId=MODEL, messages=MESSAGES)
        assert list(response["stream"]) == events
        assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == CONTENT_TYPE


def test_response_stream_chunks_and_headers_round_trip(session: boto3.Session) -> None:
    """InvokeModelWithResponseStream: blob chunks and the content-type header come back."""
    chunks = [{"chunk": {"bytes": json.dumps({"n": n}).encode()}} for n in range(3)]
    answer = {"body": chunks, "contentType": "application/json"}
    canned = Canned({"bedrock-runtime.InvokeModelWithResponseStream": answer})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = _client(session).invoke_model_with_response_stream(modelId=MODEL, body=b"{}")
        assert response["contentType"] == "application/json"
        assert list(response["body"]) == chunks


def test_an_exception_event_raises_event_stream_error(session: boto3.Session) -> None:
    """An exception member of the stream is raised by botocore when iteration reaches it."""
    events = [
        {"messageStart": {"role": "assistant"}},
        {"modelStreamErrorException": {"message": "boom", "originalStatusCode": 500}},
    ]
    canned = Canned({"bedrock-runtime.ConverseStream": {"stream": events}})
    with botoware.install(session, plugins=[canned], autoload=False):
        stream = _client(session).converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
        iterator = iter(stream)
        assert next(iterator) == events[0]
        with pytest.raises(botocore.exceptions.EventStreamError) as raised:
            next(iterator)
    assert raised.value.response["Error"] == {
        "Code": "modelStreamErrorException",
        "Message": "boom",
    }


def test_an_unknown_event_names_the_known_ones(session: boto3.Session) -> None:
    """An event the stream has no member for is a ValueError listing the stream's events."""
    model = _client(session).meta.service_model.operation_model("ConverseStream")
    with pytest.raises(ValueError, match="messageStart"):
        wire_response(model, {"stream": [{"messageBegin": {}}]})


def test_response_for_answers_a_stream_directly(session: boto3.Session) -> None:
    """response_for builds a stream response that a before-send handler can return."""
    client = _client(session)
    model = client.meta.service_model.operation_model("ConverseStream")
    events = [{"messageStop": {"stopReason": "end_turn"}}]
    client.meta.events.register(
        "before-send.bedrock-runtime.ConverseStream",
        lambda request, **kwargs: response_for(model, {"stream": events}, url=request.url),
    )
    assert list(client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]) == events


def test_s3_select_stream_round_trips_with_xml_payloads(session: boto3.Session) -> None:
    """A rest-xml event stream (S3 SelectObjectContent) carries its structures as XML."""
    events = [
        {"Records": {"Payload": b"a,b\n"}},
        {"Stats": {"Details": {"BytesScanned": 10, "BytesProcessed": 10, "BytesReturned": 4}}},
        {"End": {}},
    ]
    canned = Canned({"s3.SelectObjectContent": {"Payload": events}})
    with botoware.install(session, plugins=[canned], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        response = s3.select_object_content(
            Bucket="b",
            Key="k.csv",
            Expression="select * from s3object",
            ExpressionType="SQL",
            InputSerialization={"CSV": {}},
            OutputSerialization={"CSV": {}},
        )
        assert list(response["Payload"]) == events


def test_lambda_response_stream_round_trips(session: boto3.Session) -> None:
    """Lambda InvokeWithResponseStream: payload chunks and the status code come back."""
    events = [{"PayloadChunk": {"Payload": b"hello"}}, {"InvokeComplete": {"LogResult": "bG9n"}}]
    canned = Canned({"lambda.InvokeWithResponseStream": {"EventStream": events, "StatusCode": 200}})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = session.client("lambda", endpoint_url=NOWHERE).invoke_with_response_stream(
            FunctionName="f"
        )
        assert response["StatusCode"] == 200
        assert list(response["EventStream"]) == events
