"""The genai plugin: Bedrock spans, token metrics and streams.

Real botocore ``bedrock-runtime`` clients, answered at before-send by ``botoware.testing``
with wire-format bodies and event streams in the shapes the Bedrock API reference documents;
the real OpenTelemetry SDK and prometheus_client record what the plugins produce.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.eventstream
import botocore.exceptions
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

import botoware
from botoware.errors import ConfigurationError
from botoware.plugins.genai import GenAIPlugin
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import Canned, error

NOWHERE = "http://127.0.0.1:9"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
PROMPT = "genai-test-prompt-what-is-the-weather"
COMPLETION = "genai-test-completion-it-is-sunny"
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]

CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": COMPLETION}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19},
    "metrics": {"latencyMs": 321},
}

STREAM_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": COMPLETION[:10]}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": COMPLETION[10:]}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "max_tokens"}},
    {
        "metadata": {
            "usage": {"inputTokens": 30, "outputTokens": 9, "totalTokens": 39},
            "metrics": {"latencyMs": 456},
        }
    },
]


@dataclass
class Bedrock:
    """A bedrock-runtime client with tracing and genai installed, and where they record."""

    client: Any
    exporter: InMemorySpanExporter
    registry: CollectorRegistry
    reader: InMemoryMetricReader
    canned: Canned

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        [span] = self.spans()
        return span

    def sample(self, name: str, **labels: str) -> float | None:
        value: float | None = self.registry.get_sample_value(name, labels)
        return value


def _invoke_answer(body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return {"body": json.dumps(body).encode(), "contentType": "application/json"}


def _make(
    session: boto3.Session, answers: dict[str, Any], *, tracing: bool = True, **genai: Any
) -> tuple[Bedrock, botoware.Installation]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    registry = CollectorRegistry()
    canned = Canned(answers)
    plugins: list[object] = [
        GenAIPlugin(registry, meter_provider=MeterProvider(metric_readers=[reader]), **genai),
        canned,
    ]
    if tracing:
        plugins.insert(0, TracingPlugin(provider))
    installation = botoware.install(session, plugins=plugins, autoload=False)
    config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 1})
    client = session.client("bedrock-runtime", endpoint_url=NOWHERE, config=config)
    return Bedrock(client, exporter, registry, reader, canned), installation


@pytest.fixture
def bedrock(session: boto3.Session) -> Iterator[Bedrock]:
    """Converse, ConverseStream and InvokeModel answered; tracing and genai installed."""
    answers = {
        "bedrock-runtime.Converse": CONVERSE,
        "bedrock-runtime.ConverseStream": {"stream": STREAM_EVENTS},
    }
    made, installation = _make(session, answers)
    with installation:
        yield made


def _claude_body() -> str:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "stop_sequences": ["\n\nHuman:"],
            "system": "You are terse.",
            "messages": [{"role": "user", "content": PROMPT}],
        }
    )


# -------------------------------------------------------------------------------------------
# Converse
# -------------------------------------------------------------------------------------------


def test_converse_span_follows_the_genai_conventions(bedrock: Bedrock) -> None:
    """A Converse call is one CLIENT span "chat {model}" with GenAI request and usage data."""
    bedrock.client.converse(
        modelId=CLAUDE,
        messages=MESSAGES,
        inferenceConfig={"maxTokens": 100, "temperature": 0.5, "topP": 0.8, "stopSequences": ["x"]},
    )
    span = bedrock.span()
    assert span.name == f"chat {CLAUDE}"
    attributes = dict(span.attributes or {})
    expected = {
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": CLAUDE,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.8,
        "gen_ai.request.stop_sequences": ("x",),
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "rpc.method": "Converse",
    }
    assert {k: attributes.get(k) for k in expected} == expected
    assert "gen_ai.request.stream" not in attributes


def test_cached_tokens_count_as_input_and_are_reported(session: boto3.Session) -> None:
    """gen_ai.usage.input_tokens includes cache reads and writes, which have their own too."""
    usage = {
        "inputTokens": 10,
        "outputTokens": 5,
        "totalTokens": 115,
        "cacheReadInputTokens": 80,
        "cacheWriteInputTokens": 20,
    }
    made, installation = _make(session, {"bedrock-runtime.Converse": {**CONVERSE, "usage": usage}})
    with installation:
        made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    attributes = made.span().attributes or {}
    assert attributes["gen_ai.usage.input_tokens"] == 110
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 80
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 20


def test_guardrail_id_is_an_attribute(bedrock: Bedrock) -> None:
    """The guardrail a Converse call names becomes aws.bedrock.guardrail.id."""
    guardrail = {"guardrailIdentifier": "sgi5gkybzqak", "guardrailVersion": "1"}
    bedrock.client.converse(modelId=CLAUDE, messages=MESSAGES, guardrailConfig=guardrail)
    assert (bedrock.span().attributes or {})["aws.bedrock.guardrail.id"] == "sgi5gkybzqak"


def test_deprecated_system_attribute_is_kept_by_default(bedrock: Bedrock) -> None:
    """Without the stability opt-in, gen_ai.system is written beside gen_ai.provider.name."""
    bedrock.client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert (bedrock.span().attributes or {})["gen_ai.system"] == "aws.bedrock"


def test_latest_experimental_opt_in_drops_the_deprecated_attribute(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental writes the latest names only."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    made, installation = _make(session, {"bedrock-runtime.Converse": CONVERSE})
    with installation:
        made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    attributes = made.span().attributes or {}
    assert "gen_ai.system" not in attributes
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException"])
def test_service_error_is_the_error_type(session: boto3.Session, code: str) -> None:
    """A Bedrock error response is error.type on the span and on the duration metric."""
    status = 429 if code == "ThrottlingException" else 400
    made, installation = _make(session, {"bedrock-runtime.Converse": error(code, status)})
    with installation:
        with pytest.raises(botocore.exceptions.ClientError):
            made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    span = made.span()
    assert span.name == f"chat {CLAUDE}"
    assert (span.attributes or {})["error.type"] == code
    assert span.status.status_code is StatusCode.ERROR
    labels = {"gen_ai_request_model": CLAUDE, "error_type": code, **_chat()}
    assert made.sample("gen_ai_client_operation_duration_seconds_count", **labels) == 1.0


def _chat() -> dict[str, str]:
    return {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "aws.bedrock"}


# -------------------------------------------------------------------------------------------
# InvokeModel, by model family
# -------------------------------------------------------------------------------------------

FAMILIES = {
    "anthropic": (
        CLAUDE,
        json.loads(_claude_body()),
        {
            "id": "msg_bdrk_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-haiku-20240307",
            "content": [{"type": "text", "text": COMPLETION}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 21, "output_tokens": 8},
        },
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.top_k": 40,
            "gen_ai.request.stop_sequences": ("\n\nHuman:",),
            "gen_ai.usage.input_tokens": 21,
            "gen_ai.usage.output_tokens": 8,
            "gen_ai.response.finish_reasons": ("end_turn",),
            "gen_ai.response.id": "msg_bdrk_01",
            "gen_ai.response.model": "claude-3-haiku-20240307",
        },
    ),
    "nova": (
        "us.amazon.nova-lite-v1:0",
        {
            "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
            "inferenceConfig": {"max_new_tokens": 300, "temperature": 0.7, "topP": 0.9},
        },
        {
            "output": {"message": {"role": "assistant", "content": [{"text": COMPLETION}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 14, "outputTokens": 6, "totalTokens": 20},
        },
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.max_tokens": 300,
            "gen_ai.request.temperature": 0.7,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.usage.input_tokens": 14,
            "gen_ai.usage.output_tokens": 6,
            "gen_ai.response.finish_reasons": ("end_turn",),
        },
    ),
    "titan": (
        "amazon.titan-text-express-v1",
        {
            "inputText": PROMPT,
            "textGenerationConfig": {"maxTokenCount": 512, "temperature": 0.0, "topP": 1.0},
        },
        {
            "inputTextTokenCount": 9,
            "results": [{"tokenCount": 11, "outputText": COMPLETION, "completionReason": "FINISH"}],
        },
        {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.request.max_tokens": 512,
            "gen_ai.request.temperature": 0.0,
            "gen_ai.request.top_p": 1.0,
            "gen_ai.usage.input_tokens": 9,
            "gen_ai.usage.output_tokens": 11,
            "gen_ai.response.finish_reasons": ("FINISH",),
        },
    ),
    "llama": (
        "meta.llama3-8b-instruct-v1:0",
        {"prompt": PROMPT, "max_gen_len": 128, "temperature": 0.5, "top_p": 0.9},
        {
            "generation": COMPLETION,
            "prompt_token_count": 17,
            "generation_token_count": 5,
            "stop_reason": "stop",
        },
        {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.request.max_tokens": 128,
            "gen_ai.request.temperature": 0.5,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.usage.input_tokens": 17,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.response.finish_reasons": ("stop",),
        },
    ),
    "mistral": (
        "mistral.mistral-7b-instruct-v0:2",
        {"prompt": f"<s>[INST] {PROMPT} [/INST]", "max_tokens": 64, "top_k": 50, "stop": ["."]},
        {"outputs": [{"text": COMPLETION, "stop_reason": "length"}]},
        {
            "gen_ai.operation.name": "text_completion",
            "gen_ai.request.max_tokens": 64,
            "gen_ai.request.top_k": 50,
            "gen_ai.request.stop_sequences": (".",),
            "gen_ai.usage.input_tokens": 19,  # from Bedrock's token-count headers
            "gen_ai.usage.output_tokens": 64,
            "gen_ai.response.finish_reasons": ("length",),
        },
    ),
    "cohere": (
        "cohere.command-r-v1:0",
        {"message": PROMPT, "max_tokens": 100, "p": 0.75, "k": 5},
        {
            "response_id": "6f0d3b2e-cohere",
            "text": COMPLETION,
            "generation_id": "a1b2",
            "finish_reason": "COMPLETE",
        },
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.max_tokens": 100,
            "gen_ai.request.top_p": 0.75,
            "gen_ai.request.top_k": 5,
            "gen_ai.usage.input_tokens": 19,
            "gen_ai.usage.output_tokens": 64,
            "gen_ai.response.finish_reasons": ("COMPLETE",),
            "gen_ai.response.id": "6f0d3b2e-cohere",
        },
    ),
    "openai": (
        "openai.gpt-oss-20b-1:0",
        {"messages": [{"role": "user", "content": PROMPT}], "max_completion_tokens": 256},
        {
            "id": "chatcmpl-bedrock-1",
            "model": "openai.gpt-oss-20b-1:0",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": COMPLETION}}],
            "usage": {
                "prompt_tokens": 25,
                "completion_tokens": 40,
                "completion_tokens_details": {"reasoning_tokens": 30},
            },
        },
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.max_tokens": 256,
            "gen_ai.usage.input_tokens": 25,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.reasoning.output_tokens": 30,
            "gen_ai.response.finish_reasons": ("stop",),
            "gen_ai.response.id": "chatcmpl-bedrock-1",
        },
    ),
}

TOKEN_HEADERS = {
    "X-Amzn-Bedrock-Input-Token-Count": "19",
    "X-Amzn-Bedrock-Output-Token-Count": "64",
    "X-Amzn-Bedrock-Invocation-Latency": "850",
}


def _invoke(session: boto3.Session, model: str, request: Any, response: dict[str, Any]) -> Any:
    from botoware.testing import response_for

    def answer(call: botoware.Call) -> Any:
        model_ = made.client.meta.service_model.operation_model("InvokeModel")
        data = {"body": json.dumps(response).encode(), "contentType": "application/json"}
        return response_for(model_, data, headers=TOKEN_HEADERS)

    made, installation = _make(session, {"bedrock-runtime.InvokeModel": answer})
    with installation:
        result = made.client.invoke_model(modelId=model, body=json.dumps(request))
        read = result["body"].read()
    return made, read


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_invoke_model_attributes_per_family(session: boto3.Session, family: str) -> None:
    """InvokeModel request and response bodies of each model family become GenAI attributes."""
    model, request, response, expected = FAMILIES[family]
    made, _ = _invoke(session, model, request, response)
    span = made.span()
    attributes = dict(span.attributes or {})
    assert span.name == f"{expected['gen_ai.operation.name']} {model}"
    assert {k: attributes.get(k) for k in expected} == expected
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == model


def test_unknown_family_gets_provider_model_operation_and_header_tokens(
    session: boto3.Session,
) -> None:
    """A model no table entry knows still gets provider, model, operation and token counts."""
    model = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcd1234efgh"
    made, read = _invoke(session, model, {"prompt": PROMPT}, {"completion": COMPLETION})
    assert json.loads(read) == {"completion": COMPLETION}
    attributes = dict(made.span().attributes or {})
    assert made.span().name == f"text_completion {model}"
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == model
    assert attributes["gen_ai.usage.input_tokens"] == 19
    assert attributes["gen_ai.usage.output_tokens"] == 64
    labels = {"gen_ai_operation_name": "text_completion", "gen_ai_provider_name": "aws.bedrock"}
    # The ARN's account id never becomes a label value.
    count = made.sample(
        "gen_ai_client_operation_duration_seconds_count",
        gen_ai_request_model="abcd1234efgh",
        error_type="",
        **labels,
    )
    assert count == 1.0


def test_invoke_model_body_stays_readable_byte_for_byte(session: boto3.Session) -> None:
    """After the plugin read the InvokeModel body, the user reads the very same bytes."""
    model, request, response, _ = FAMILIES["anthropic"]
    made, read = _invoke(session, model, request, response)
    assert read == json.dumps(response).encode()
    assert (made.span().attributes or {})["gen_ai.usage.output_tokens"] == 8


# -------------------------------------------------------------------------------------------
# Streams: the span ends exactly once, however the stream ends
# -------------------------------------------------------------------------------------------


def _stream(bedrock: Bedrock) -> Any:
    return bedrock.client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"]


def test_stream_read_to_the_end_ends_the_span_with_usage(bedrock: Bedrock) -> None:
    """A fully read ConverseStream ends its one span, with usage and time to first chunk."""
    before = time.monotonic()
    stream = _stream(bedrock)
    assert isinstance(stream, botocore.eventstream.EventStream)
    assert bedrock.spans() == []  # open while the stream is unread
    assert list(stream) == STREAM_EVENTS
    elapsed = time.monotonic() - before
    span = bedrock.span()
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {CLAUDE}"
    assert attributes["gen_ai.usage.input_tokens"] == 30
    assert attributes["gen_ai.usage.output_tokens"] == 9
    assert attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert attributes["gen_ai.request.stream"] is True
    first = attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first, float) and 0 < first <= elapsed


def test_stream_that_raises_ends_the_span_as_an_error(session: boto3.Session) -> None:
    """An exception event ends the span once, with error.type, and reaches the user."""
    events = [*STREAM_EVENTS[:2], {"throttlingException": {"message": "Too many tokens"}}]
    made, installation = _make(session, {"bedrock-runtime.ConverseStream": {"stream": events}})
    with installation:
        stream = _stream(made)
        seen = []
        with pytest.raises(botocore.exceptions.EventStreamError):
            for event in stream:
                seen.append(event)
        stream.close()  # a later close does not end it again
    assert seen == STREAM_EVENTS[:2]
    span = made.span()
    assert (span.attributes or {})["error.type"] == "ThrottlingException"
    assert span.status.status_code is StatusCode.ERROR
    labels = {"gen_ai_request_model": CLAUDE, "error_type": "ThrottlingException", **_chat()}
    assert made.sample("gen_ai_client_operation_duration_seconds_count", **labels) == 1.0


def test_stream_closed_early_ends_the_span_once(bedrock: Bedrock) -> None:
    """Closing a half-read stream ends the span; reading or closing again adds nothing."""
    stream = _stream(bedrock)
    for _ in zip(range(2), stream, strict=False):
        pass
    stream.close()
    stream.close()
    [span] = bedrock.spans()
    assert "gen_ai.usage.input_tokens" not in (span.attributes or {})
    labels = {"gen_ai_request_model": CLAUDE, "error_type": "", **_chat()}
    assert bedrock.sample("gen_ai_client_operation_duration_seconds_count", **labels) == 1.0


def test_stream_dropped_unread_ends_the_span_once(bedrock: Bedrock) -> None:
    """A stream the user drops without reading it ends its span when it is collected."""
    response = bedrock.client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    assert bedrock.spans() == []
    del response
    gc.collect()
    [span] = bedrock.spans()
    assert span.name == f"chat {CLAUDE}"
    assert "gen_ai.response.time_to_first_chunk" not in (span.attributes or {})


def test_stream_consumed_in_another_thread(bedrock: Bedrock) -> None:
    """A stream read in a worker thread ends its span there, with the usage it reported."""
    stream = _stream(bedrock)
    events: list[Any] = []
    worker = threading.Thread(target=events.extend, args=(stream,))
    worker.start()
    worker.join()
    assert events == STREAM_EVENTS
    [span] = bedrock.spans()
    assert (span.attributes or {})["gen_ai.usage.output_tokens"] == 9
    del stream
    gc.collect()
    assert len(bedrock.spans()) == 1


def _chunk(document: dict[str, Any]) -> dict[str, Any]:
    return {"chunk": {"bytes": json.dumps(document).encode()}}


def test_invoke_model_stream_reports_chunk_usage(session: boto3.Session) -> None:
    """InvokeModelWithResponseStream: usage and finish reason from the Claude chunks."""
    chunks = [
        _chunk(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bdrk_02",
                    "model": "claude-3-haiku-20240307",
                    "usage": {"input_tokens": 25, "output_tokens": 1},
                },
            }
        ),
        _chunk({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}),
        _chunk(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 15},
            }
        ),
        _chunk(
            {
                "type": "message_stop",
                "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": 25,
                    "outputTokenCount": 15,
                    "invocationLatency": 900,
                    "firstByteLatency": 300,
                },
            }
        ),
    ]
    answer = {"body": chunks, "contentType": "application/json"}
    made, installation = _make(session, {"bedrock-runtime.InvokeModelWithResponseStream": answer})
    with installation:
        result = made.client.invoke_model_with_response_stream(modelId=CLAUDE, body=_claude_body())
        assert [json.loads(e["chunk"]["bytes"])["type"] for e in result["body"]] == [
            "message_start",
            "content_block_delta",
            "message_delta",
            "message_stop",
        ]
    attributes = dict(made.span().attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == 25
    assert attributes["gen_ai.usage.output_tokens"] == 15
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.response.id"] == "msg_bdrk_02"
    assert attributes["gen_ai.request.max_tokens"] == 200


def test_invoke_model_stream_of_unknown_family_uses_invocation_metrics(
    session: boto3.Session,
) -> None:
    """Any model's stream gets its token counts from Bedrock's invocation metrics."""
    chunks = [
        _chunk({"text": "hello"}),
        _chunk({"amazon-bedrock-invocationMetrics": {"inputTokenCount": 4, "outputTokenCount": 2}}),
    ]
    answer = {"body": chunks}
    made, installation = _make(session, {"bedrock-runtime.InvokeModelWithResponseStream": answer})
    with installation:
        result = made.client.invoke_model_with_response_stream(
            modelId="writer.palmyra-x5-v1:0", body=json.dumps({"prompt": "x"})
        )
        list(result["body"])
    attributes = dict(made.span().attributes or {})
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        4,
        2,
    )


# -------------------------------------------------------------------------------------------
# Metrics
# -------------------------------------------------------------------------------------------


def test_prometheus_totals_are_exact(bedrock: Bedrock) -> None:
    """Three Converse calls and two streams: token sums, counts and chunk timings add up."""
    for _ in range(3):
        bedrock.client.converse(modelId=CLAUDE, messages=MESSAGES)
    for _ in range(2):
        list(_stream(bedrock))
    labels = {"gen_ai_request_model": CLAUDE, **_chat()}
    tokens = "gen_ai_client_token_usage"
    assert bedrock.sample(f"{tokens}_sum", gen_ai_token_type="input", **labels) == 3 * 12 + 2 * 30
    assert bedrock.sample(f"{tokens}_sum", gen_ai_token_type="output", **labels) == 3 * 7 + 2 * 9
    assert bedrock.sample(f"{tokens}_count", gen_ai_token_type="input", **labels) == 5.0
    # 12 and 30 input tokens both fall in the (4, 16] and (16, 64] buckets: le=16 holds 3.
    assert bedrock.sample(f"{tokens}_bucket", gen_ai_token_type="input", le="16.0", **labels) == 3
    duration = "gen_ai_client_operation_duration_seconds_count"
    assert bedrock.sample(duration, error_type="", **labels) == 5.0
    chunk = "gen_ai_client_operation_time_to_first_chunk_seconds_count"
    assert bedrock.sample(chunk, **labels) == 2.0


def test_opentelemetry_histograms_use_the_conventions(bedrock: Bedrock) -> None:
    """With a meter provider, gen_ai.client.* histograms get exact values and spec buckets."""
    bedrock.client.converse(modelId=CLAUDE, messages=MESSAGES)
    list(_stream(bedrock))
    data = bedrock.reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    usage = {p.attributes["gen_ai.token.type"]: p for p in points["gen_ai.client.token.usage"]}
    assert usage["input"].sum == 12 + 30 and usage["output"].sum == 7 + 9
    assert usage["input"].attributes["gen_ai.request.model"] == CLAUDE
    assert list(usage["input"].explicit_bounds)[:3] == [1.0, 4.0, 16.0]
    [duration] = points["gen_ai.client.operation.duration"]
    assert duration.count == 2 and list(duration.explicit_bounds)[:2] == [0.01, 0.02]
    assert duration.attributes["gen_ai.provider.name"] == "aws.bedrock"
    [first] = points["gen_ai.client.operation.time_to_first_chunk"]
    assert first.count == 1


def test_metrics_without_the_tracing_plugin(session: boto3.Session) -> None:
    """Without the tracing plugin there is no span, and the metrics are still recorded."""
    made, installation = _make(session, {"bedrock-runtime.Converse": CONVERSE}, tracing=False)
    with installation:
        made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert made.spans() == []
    labels = {"gen_ai_request_model": CLAUDE, "gen_ai_token_type": "output", **_chat()}
    assert made.sample("gen_ai_client_token_usage_sum", **labels) == 7.0


def test_plugin_is_scoped_to_the_bedrock_runtimes(session: boto3.Session) -> None:
    """genai is scoped to bedrock-runtime and bedrock-agent-runtime: no hook of it runs for
    (or costs) an S3, SQS or any other call, though it is loaded with tracing and metrics."""
    with botoware.install(
        session, plugins=[GenAIPlugin(CollectorRegistry())], autoload=False
    ) as installation:
        [info] = [p for p in installation.describe() if p.name == "genai"]
    assert info.scope == ("bedrock-runtime", "bedrock-agent-runtime")


def test_plugins_on_one_registry_share_its_series(session: boto3.Session) -> None:
    """Two genai plugins on one registry (two sessions) add to the same series."""
    registry = CollectorRegistry()
    answers = {"bedrock-runtime.Converse": CONVERSE}
    for each in (session, boto3.Session(**_credentials(session))):
        plugins = [GenAIPlugin(registry), Canned(answers)]
        with botoware.install(each, plugins=plugins, autoload=False):
            each.client("bedrock-runtime", endpoint_url=NOWHERE).converse(
                modelId=CLAUDE, messages=MESSAGES
            )
    labels = {"gen_ai_request_model": CLAUDE, "gen_ai_token_type": "input", **_chat()}
    assert registry.get_sample_value("gen_ai_client_token_usage_sum", labels) == 24.0


def test_metrics_only_error_is_labelled(session: boto3.Session) -> None:
    """Without tracing, a failed Converse is counted under its error code."""
    answers = {"bedrock-runtime.Converse": error("ValidationException")}
    made, installation = _make(session, answers, tracing=False)
    with installation:
        with pytest.raises(botocore.exceptions.ClientError):
            made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    labels = {"gen_ai_request_model": CLAUDE, "error_type": "ValidationException", **_chat()}
    assert made.sample("gen_ai_client_operation_duration_seconds_count", **labels) == 1.0
    tokens = {"gen_ai_request_model": CLAUDE, "gen_ai_token_type": "input", **_chat()}
    assert made.sample("gen_ai_client_token_usage_count", **tokens) is None


def test_model_labels_are_bounded(session: boto3.Session) -> None:
    """Past max_models distinct models, further models are counted as "other"."""
    made, installation = _make(session, {"bedrock-runtime.Converse": CONVERSE}, max_models=1)
    with installation:
        made.client.converse(modelId=CLAUDE, messages=MESSAGES)
        made.client.converse(modelId="amazon.nova-pro-v1:0", messages=MESSAGES)
    labels = {"gen_ai_token_type": "input", **_chat()}
    total = "gen_ai_client_token_usage_sum"
    assert made.sample(total, gen_ai_request_model=CLAUDE, **labels) == 12.0
    assert made.sample(total, gen_ai_request_model="other", **labels) == 12.0
    # The span still names the exact model.
    assert made.spans()[1].name == "chat amazon.nova-pro-v1:0"


# -------------------------------------------------------------------------------------------
# Content: never recorded unless opted in
# -------------------------------------------------------------------------------------------


def _everything(made: Bedrock) -> str:
    from prometheus_client import generate_latest

    spans = "\n".join(span.to_json() for span in made.spans())
    return spans + generate_latest(made.registry).decode()


def _workload(made: Bedrock) -> None:
    made.client.converse(modelId=CLAUDE, messages=MESSAGES, system=[{"text": "Be terse."}])
    list(_stream(made))
    made.client.invoke_model(modelId=CLAUDE, body=_claude_body())["body"].read()


def _content_answers() -> dict[str, Any]:
    claude = FAMILIES["anthropic"][2]
    return {
        "bedrock-runtime.Converse": CONVERSE,
        "bedrock-runtime.ConverseStream": {"stream": STREAM_EVENTS},
        "bedrock-runtime.InvokeModel": _invoke_answer(claude),
    }


def test_content_is_absent_by_default(session: boto3.Session) -> None:
    """By default no prompt, system prompt or completion reaches spans or metrics."""
    made, installation = _make(session, _content_answers())
    with installation:
        _workload(made)
    text = _everything(made)
    assert len(made.spans()) == 3
    for secret in (PROMPT, COMPLETION, COMPLETION[10:], "Be terse.", "You are terse."):
        assert secret not in text
    assert "gen_ai.input.messages" not in text


def test_content_is_recorded_with_the_opt_in(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true records messages on spans."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    made, installation = _make(session, _content_answers())
    with installation:
        _workload(made)
    converse, stream, invoke = made.spans()
    for span in (converse, stream, invoke):
        attributes = span.attributes or {}
        [user] = json.loads(str(attributes["gen_ai.input.messages"]))
        assert user["role"] == "user" and user["parts"][0]["content"] == PROMPT
        [answer] = json.loads(str(attributes["gen_ai.output.messages"]))
        assert answer["parts"][0] == {"type": "text", "content": COMPLETION}
    system = json.loads(str((converse.attributes or {})["gen_ai.system_instructions"]))
    assert system == [{"type": "text", "content": "Be terse."}]


def test_tool_arguments_are_content(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool call's arguments appear only with the opt-in, streamed deltas joined."""
    events = [
        {"messageStart": {"role": "assistant"}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}},
                "contentBlockIndex": 0,
            }
        },
        {
            "contentBlockDelta": {
                "delta": {"toolUse": {"input": '{"city": '}},
                "contentBlockIndex": 0,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Lyon"}'}}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "tool_use"}},
    ]
    answers = {"bedrock-runtime.ConverseStream": {"stream": events}}
    made, installation = _make(session, answers)
    with installation:
        list(_stream(made))
    assert "Lyon" not in _everything(made)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    made, installation = _make(boto3.Session(**_credentials(session)), answers)
    with installation:
        list(_stream(made))
    [answer] = json.loads(str((made.span().attributes or {})["gen_ai.output.messages"]))
    assert answer["parts"] == [
        {
            "type": "tool_call",
            "id": "tooluse_1",
            "name": "get_weather",
            "arguments": '{"city": "Lyon"}',
        }
    ]
    assert answer["finish_reason"] == "tool_use"


def _credentials(session: boto3.Session) -> dict[str, Any]:
    credentials = session.get_credentials()
    assert credentials is not None
    return {
        "aws_access_key_id": credentials.access_key,
        "aws_secret_access_key": credentials.secret_key,
        "region_name": session.region_name,
    }


# -------------------------------------------------------------------------------------------
# Configuration
# -------------------------------------------------------------------------------------------


def test_bad_capture_setting_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown content-capture value is refused with the variable's name."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe")
    with pytest.raises(ConfigurationError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE"):
        GenAIPlugin(CollectorRegistry())


def test_genai_is_a_default_builtin(session: boto3.Session) -> None:
    """install() with autoload loads the genai plugin beside tracing and metrics."""
    from botoware.plugins import DEFAULT_BUILTINS

    assert DEFAULT_BUILTINS == ("tracing", "metrics", "genai")
    with botoware.install(session, plugins=[], autoload=True) as installation:
        assert "genai" in installation.plugins


def test_multiprocess_mode_uses_prometheus_client_histograms(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """In prometheus_client's multiprocess mode the observations reach the shared files."""
    import prometheus_client.values
    from prometheus_client.multiprocess import MultiProcessCollector

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(
        prometheus_client.values, "ValueClass", prometheus_client.values.MultiProcessValue()
    )
    made, installation = _make(session, {"bedrock-runtime.Converse": CONVERSE}, tracing=False)
    with installation:
        made.client.converse(modelId=CLAUDE, messages=MESSAGES)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, str(tmp_path))
    labels = {"gen_ai_request_model": CLAUDE, "gen_ai_token_type": "output", **_chat()}
    assert merged.get_sample_value("gen_ai_client_token_usage_sum", labels) == 7.0


# -------------------------------------------------------------------------------------------
# bedrock-agent-runtime
# -------------------------------------------------------------------------------------------


def _agent_client(session: boto3.Session) -> Any:
    return session.client("bedrock-agent-runtime", endpoint_url=NOWHERE)


def _usage_trace(inputs: int, outputs: int) -> dict[str, Any]:
    usage = {"usage": {"inputTokens": inputs, "outputTokens": outputs}}
    step = {"modelInvocationOutput": {"metadata": usage}}
    return {"trace": {"agentId": "AGENT12345", "trace": {"orchestrationTrace": step}}}


def test_invoke_agent_span_sums_the_agent_model_usage(session: boto3.Session) -> None:
    """InvokeAgent: one invoke_agent span, ended with its stream, usage summed over traces."""
    completion = [
        _usage_trace(100, 20),
        _usage_trace(150, 30),
        {"chunk": {"bytes": COMPLETION.encode()}},
    ]
    answer = {"completion": completion, "sessionId": "session-1", "contentType": "text/plain"}
    made, installation = _make(session, {"bedrock-agent-runtime.InvokeAgent": answer})
    with installation:
        response = _agent_client(session).invoke_agent(
            agentId="AGENT12345",
            agentAliasId="TSTALIASID",
            sessionId="session-1",
            inputText=PROMPT,
            enableTrace=True,
        )
        assert made.spans() == []
        assert len(list(response["completion"])) == 3
    span = made.span()
    attributes = dict(span.attributes or {})
    assert span.name == "invoke_agent"
    expected = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.agent.id": "AGENT12345",
        "gen_ai.conversation.id": "session-1",
        "gen_ai.usage.input_tokens": 250,
        "gen_ai.usage.output_tokens": 50,
    }
    assert {k: attributes.get(k) for k in expected} == expected
    assert PROMPT not in span.to_json() and COMPLETION not in span.to_json()
    labels = {
        "gen_ai_operation_name": "invoke_agent",
        "gen_ai_provider_name": "aws.bedrock",
        "gen_ai_request_model": "",
        "gen_ai_token_type": "input",
    }
    assert made.sample("gen_ai_client_token_usage_sum", **labels) == 250.0


def test_retrieve_span_names_the_knowledge_base(session: boto3.Session) -> None:
    """Retrieve: a retrieval span with the knowledge base as its data source."""
    answer = {"retrievalResults": [{"content": {"text": COMPLETION}, "score": 0.9}]}
    made, installation = _make(session, {"bedrock-agent-runtime.Retrieve": answer})
    with installation:
        _agent_client(session).retrieve(
            knowledgeBaseId="XFWUPB9PAW",
            retrievalQuery={"text": PROMPT},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 5}},
        )
    span = made.span()
    attributes = dict(span.attributes or {})
    assert span.name == "retrieval XFWUPB9PAW"
    assert attributes["aws.bedrock.knowledge_base.id"] == "XFWUPB9PAW"
    assert attributes["gen_ai.data_source.id"] == "XFWUPB9PAW"
    assert attributes["gen_ai.request.top_k"] == 5
    assert attributes["gen_ai.operation.name"] == "retrieval"
    assert PROMPT not in span.to_json() and COMPLETION not in span.to_json()


def test_a_stream_read_with_async_for_ends_the_span_once() -> None:
    """On aiobotocore, a ConverseStream read with ``async for`` ends its span with usage."""
    import asyncio

    from aiobotocore.session import AioSession

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answers = {"bedrock-runtime.ConverseStream": {"stream": STREAM_EVENTS}}
    plugins = [TracingPlugin(provider), GenAIPlugin(CollectorRegistry()), Canned(answers)]

    async def main() -> list[Any]:
        session = AioSession()
        session.set_credentials("AKIDEXAMPLEBOTOWARE1", "not-a-real-secret-key-for-aio-tests")
        with botoware.install(session, plugins=plugins, autoload=False):
            async with session.create_client(
                "bedrock-runtime", region_name="us-east-1", endpoint_url=NOWHERE
            ) as client:
                response = await client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
                assert exporter.get_finished_spans() == ()  # open while the stream is unread
                return [event async for event in response["stream"]]

    assert asyncio.run(main()) == STREAM_EVENTS
    [span] = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {CLAUDE}"
    assert attributes["gen_ai.usage.input_tokens"] == 30
    assert attributes["gen_ai.usage.output_tokens"] == 9


def test_what_is_no_event_stream_is_left_alone() -> None:
    """observe_stream wraps event streams only."""
    from botoware.plugins._genai_stream import observe_stream

    observer: Any = object()
    assert observe_stream(iter([]), observer) is None
