"""What a Bedrock call says about itself: request parameters, usage, finish reasons.

Pure functions over the parameters and parsed responses of ``bedrock-runtime`` calls, shared
by botocore and aiobotocore clients alike. InvokeModel bodies are read through a table of
model families (:data:`FAMILIES`); a model no entry knows still gets the provider, model and
operation attributes, and token counts from Bedrock's own headers and invocation metrics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

Attributes = dict[str, "AttributeValue"]
Path = tuple[Any, ...]  # keys and list indexes into a JSON document

# Semantic-convention attribute names (semantic-conventions-genai).
PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"  # deprecated by gen_ai.provider.name; written unless opted out
OPERATION_NAME = "gen_ai.operation.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING = "gen_ai.usage.reasoning.output_tokens"
GUARDRAIL_ID = "aws.bedrock.guardrail.id"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
ERROR_TYPE = "error.type"

PROVIDER = "aws.bedrock"

CHAT = "chat"
TEXT_COMPLETION = "text_completion"
EMBEDDINGS = "embeddings"
GENERATE_CONTENT = "generate_content"

# Bedrock's own token counts: InvokeModel response headers, and the last chunk of an
# InvokeModelWithResponseStream body, whatever the model.
_INPUT_HEADER = "x-amzn-bedrock-input-token-count"
_OUTPUT_HEADER = "x-amzn-bedrock-output-token-count"
_CACHE_READ_HEADER = "x-amzn-bedrock-cache-read-input-token-count"
_CACHE_WRITE_HEADER = "x-amzn-bedrock-cache-write-input-token-count"
_INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"


@final
class Outcome:
    """What the response of one call said, filled as it arrives (all at once, or chunk by
    chunk for a stream)."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "finish_reasons",
        "input",
        "output",
        "reasoning",
        "response_id",
        "response_model",
        "role",
        "texts",
        "tools",
    )

    def __init__(self) -> None:
        self.input: int | None = None  # without cached tokens, as Bedrock counts them
        self.output: int | None = None
        self.cache_read: int | None = None
        self.cache_write: int | None = None
        self.reasoning: int | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        # Content, only gathered when the user opted in to capturing it.
        self.role = "assistant"
        self.texts: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}  # content block index -> tool call

    def total_input(self) -> int | None:
        """Every input token, cached ones included, as ``gen_ai.usage.input_tokens`` wants."""
        if self.input is None:
            return None
        return self.input + (self.cache_read or 0) + (self.cache_write or 0)

    def attributes(self, attributes: Attributes) -> None:
        total = self.total_input()
        if total is not None:
            attributes[USAGE_INPUT_TOKENS] = total
        if self.output is not None:
            attributes[USAGE_OUTPUT_TOKENS] = self.output
        if self.cache_read is not None:
            attributes[USAGE_CACHE_READ] = self.cache_read
        if self.cache_write is not None:
            attributes[USAGE_CACHE_CREATION] = self.cache_write
        if self.reasoning is not None:
            attributes[USAGE_REASONING] = self.reasoning
        if self.finish_reasons:
            attributes[RESPONSE_FINISH_REASONS] = tuple(self.finish_reasons)
        if self.response_id:
            attributes[RESPONSE_ID] = self.response_id
        if self.response_model:
            attributes[RESPONSE_MODEL] = self.response_model

    def output_messages(self) -> str:
        parts: list[dict[str, Any]] = []
        if self.texts:
            parts.append({"type": "text", "content": "".join(self.texts)})
        for index in sorted(self.tools):
            parts.append(self.tools[index])
        message: dict[str, Any] = {"role": self.role, "parts": parts}
        if self.finish_reasons:
            message["finish_reason"] = self.finish_reasons[0]
        return _json([message])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def dig(document: Any, path: Path) -> Any:
    """``document[path[0]][path[1]]...``, or None where the path leads nowhere."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(document, list) or len(document) <= key:
                return None
        elif not isinstance(document, Mapping):
            return None
        document = document[key] if isinstance(key, int) else document.get(key)
        if document is None:
            return None
    return document


def _set_request(attributes: Attributes, name: str, value: Any) -> None:
    if value is None:
        return
    if name in (REQUEST_MAX_TOKENS, REQUEST_TOP_K):
        number = _int(value)
        if number is not None:
            attributes[name] = number
    elif name == REQUEST_STOP_SEQUENCES:
        if isinstance(value, str):
            attributes[name] = (value,)
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            attributes[name] = tuple(value)
    else:
        real = _number(value)
        if real is not None:
            attributes[name] = real


# -------------------------------------------------------------------------------------------
# Model ids
# -------------------------------------------------------------------------------------------

_REGION_PREFIXES = frozenset({"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"})


def base_model(model_id: str) -> str:
    """The foundation model of a model id, inference profile id or ARN (``anthropic.claude-
    3-haiku-20240307-v1:0`` for ``arn:...:inference-profile/us.anthropic.claude-3-haiku-...``);
    a provisioned or custom model's ARN gives its last path segment."""
    tail = model_id.rpartition("/")[2] if model_id.startswith("arn:") else model_id
    head, dot, rest = tail.partition(".")
    return rest if dot and head in _REGION_PREFIXES else tail


# -------------------------------------------------------------------------------------------
# Converse and ConverseStream: one request and response shape for every model
# -------------------------------------------------------------------------------------------


def converse_request(params: Mapping[str, Any], attributes: Attributes) -> None:
    config = params.get("inferenceConfig")
    if isinstance(config, Mapping):
        _set_request(attributes, REQUEST_MAX_TOKENS, config.get("maxTokens"))
        _set_request(attributes, REQUEST_TEMPERATURE, config.get("temperature"))
        _set_request(attributes, REQUEST_TOP_P, config.get("topP"))
        _set_request(attributes, REQUEST_STOP_SEQUENCES, config.get("stopSequences"))
    extra = params.get("additionalModelRequestFields")
    if isinstance(extra, Mapping):
        _set_request(attributes, REQUEST_TOP_K, extra.get("top_k", extra.get("topK")))
    guardrail = params.get("guardrailConfig")
    if isinstance(guardrail, Mapping):
        identifier = guardrail.get("guardrailIdentifier")
        if isinstance(identifier, str):
            attributes[GUARDRAIL_ID] = identifier


def converse_usage(usage: Any, outcome: Outcome) -> None:
    if not isinstance(usage, Mapping):
        return
    outcome.input = _int(usage.get("inputTokens"))
    outcome.output = _int(usage.get("outputTokens"))
    outcome.cache_read = _int(usage.get("cacheReadInputTokens"))
    outcome.cache_write = _int(usage.get("cacheWriteInputTokens"))


def converse_response(parsed: Mapping[str, Any], outcome: Outcome, capture: bool) -> None:
    converse_usage(parsed.get("usage"), outcome)
    reason = parsed.get("stopReason")
    if isinstance(reason, str):
        outcome.finish_reasons.append(reason)
    if capture:
        message = dig(parsed, ("output", "message"))
        if isinstance(message, Mapping):
            outcome.role = str(message.get("role") or "assistant")
            for index, block in enumerate(message.get("content") or ()):
                part = _converse_part(block)
                if part is None:
                    continue
                if part["type"] == "text":
                    outcome.texts.append(part["content"])
                else:
                    outcome.tools[index] = part


def converse_event(event: Mapping[str, Any], outcome: Outcome, capture: bool) -> None:
    """One event of a ConverseStream response."""
    metadata = event.get("metadata")
    if metadata is not None:
        converse_usage(metadata.get("usage"), outcome)
        return
    stop = event.get("messageStop")
    if stop is not None:
        reason = stop.get("stopReason")
        if isinstance(reason, str):
            outcome.finish_reasons.append(reason)
        return
    if not capture:
        return
    delta = event.get("contentBlockDelta")
    if delta is not None:
        body = delta.get("delta") or {}
        text = body.get("text")
        if isinstance(text, str):
            outcome.texts.append(text)
        tool_input = dig(body, ("toolUse", "input"))
        tool = outcome.tools.get(delta.get("contentBlockIndex", -1))
        if isinstance(tool_input, str) and tool is not None:
            tool["arguments"] = tool.get("arguments", "") + tool_input
        return
    start = event.get("contentBlockStart")
    if start is not None:
        tool_use = dig(start, ("start", "toolUse"))
        if isinstance(tool_use, Mapping):
            outcome.tools[start.get("contentBlockIndex", len(outcome.tools))] = {
                "type": "tool_call",
                "id": tool_use.get("toolUseId"),
                "name": tool_use.get("name"),
            }
        return
    message_start = event.get("messageStart")
    if message_start is not None:
        outcome.role = str(message_start.get("role") or "assistant")


def _converse_part(block: Any) -> dict[str, Any] | None:
    if not isinstance(block, Mapping):
        return None
    if "text" in block:
        return {"type": "text", "content": block["text"]}
    tool_use = block.get("toolUse")
    if isinstance(tool_use, Mapping):
        return {
            "type": "tool_call",
            "id": tool_use.get("toolUseId"),
            "name": tool_use.get("name"),
            "arguments": tool_use.get("input"),
        }
    result = block.get("toolResult")
    if isinstance(result, Mapping):
        content = [
            _converse_part(item)
            for item in result.get("content") or ()
            if isinstance(item, Mapping)
        ]
        return {"type": "tool_call_response", "id": result.get("toolUseId"), "result": content}
    for kind in block:
        return {"type": kind}  # image, document, video, ...: the kind, never the bytes
    return None


def converse_content(params: Mapping[str, Any], attributes: Attributes) -> None:
    """The opt-in content attributes of a Converse request."""
    messages = []
    for message in params.get("messages") or ():
        if isinstance(message, Mapping):
            parts = [_converse_part(block) for block in message.get("content") or ()]
            messages.append({"role": message.get("role"), "parts": [p for p in parts if p]})
    attributes[INPUT_MESSAGES] = _json(messages)
    system = [
        part
        for part in (_converse_part(block) for block in params.get("system") or ())
        if part is not None
    ]
    if system:
        attributes[SYSTEM_INSTRUCTIONS] = _json(system)


# -------------------------------------------------------------------------------------------
# InvokeModel bodies, by model family
# -------------------------------------------------------------------------------------------

_Fields = tuple[tuple[str, Path], ...]


@final
class Family:
    """How one family of models writes its InvokeModel request and response bodies.

    :ivar request: (attribute, path into the request body) pairs.
    :ivar response: (``Outcome`` field, path into the response body) pairs.
    :ivar chunk: the same for each chunk of a streamed response (later chunks overwrite).
    :ivar texts: paths to generated text, in the response and in chunks (opt-in content).
    :ivar prompt: builds ``gen_ai.input.messages`` from the request body (opt-in content).
    """

    __slots__ = (
        "chunk",
        "fixed",
        "name",
        "operation",
        "prompt",
        "request",
        "response",
        "texts",
    )

    def __init__(
        self,
        name: str,
        operation: Callable[[Mapping[str, Any]], str],
        request: _Fields,
        response: _Fields,
        chunk: _Fields = (),
        texts: tuple[Path, ...] = (),
        prompt: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.name = name
        self.operation = operation
        # The operation name when it does not depend on the body (no need to parse it then).
        self.fixed: str | None = getattr(operation, "fixed", None)
        self.request = request
        self.response = response
        self.chunk = chunk
        self.texts = texts
        self.prompt = prompt


def _always(operation: str) -> Callable[[Mapping[str, Any]], str]:
    def fixed(body: Mapping[str, Any]) -> str:
        return operation

    fixed.fixed = operation  # type: ignore[attr-defined]
    return fixed


def _chat_if_messages(body: Mapping[str, Any]) -> str:
    return CHAT if "messages" in body else TEXT_COMPLETION


def _text_prompt(key: str) -> Callable[[Mapping[str, Any]], list[dict[str, Any]]]:
    def prompt(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        text = body.get(key)
        if text is None:
            return []
        return [{"role": "user", "parts": [{"type": "text", "content": text}]}]

    return prompt


def _messages_prompt(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        return _text_prompt("prompt")(body)
    messages = []
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append({"type": "text", "content": content})
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping):
                    text = block.get("text")
                    kind = str(block.get("type") or ("text" if text is not None else "other"))
                    parts.append({"type": "text", "content": text} if text else {"type": kind})
        messages.append({"role": message.get("role"), "parts": parts})
    return messages


_ANTHROPIC = Family(
    "anthropic",
    _always(CHAT),
    request=(
        (REQUEST_MAX_TOKENS, ("max_tokens",)),
        (REQUEST_TEMPERATURE, ("temperature",)),
        (REQUEST_TOP_P, ("top_p",)),
        (REQUEST_TOP_K, ("top_k",)),
        (REQUEST_STOP_SEQUENCES, ("stop_sequences",)),
    ),
    response=(
        ("input", ("usage", "input_tokens")),
        ("output", ("usage", "output_tokens")),
        ("cache_read", ("usage", "cache_read_input_tokens")),
        ("cache_write", ("usage", "cache_creation_input_tokens")),
        ("finish", ("stop_reason",)),
        ("response_id", ("id",)),
        ("response_model", ("model",)),
    ),
    chunk=(
        ("input", ("message", "usage", "input_tokens")),
        ("cache_read", ("message", "usage", "cache_read_input_tokens")),
        ("cache_write", ("message", "usage", "cache_creation_input_tokens")),
        ("response_id", ("message", "id")),
        ("response_model", ("message", "model")),
        ("output", ("usage", "output_tokens")),
        ("finish", ("delta", "stop_reason")),
    ),
    texts=(("content", 0, "text"), ("delta", "text")),
    prompt=_messages_prompt,
)

_NOVA = Family(
    "amazon.nova",
    _always(CHAT),
    request=(
        (REQUEST_MAX_TOKENS, ("inferenceConfig", "max_new_tokens")),
        (REQUEST_TEMPERATURE, ("inferenceConfig", "temperature")),
        (REQUEST_TOP_P, ("inferenceConfig", "topP")),
        (REQUEST_TOP_K, ("inferenceConfig", "topK")),
        (REQUEST_STOP_SEQUENCES, ("inferenceConfig", "stopSequences")),
    ),
    response=(
        ("input", ("usage", "inputTokens")),
        ("output", ("usage", "outputTokens")),
        ("cache_read", ("usage", "cacheReadInputTokenCount")),
        ("cache_write", ("usage", "cacheWriteInputTokenCount")),
        ("finish", ("stopReason",)),
    ),
    chunk=(
        ("input", ("metadata", "usage", "inputTokens")),
        ("output", ("metadata", "usage", "outputTokens")),
        ("cache_read", ("metadata", "usage", "cacheReadInputTokenCount")),
        ("cache_write", ("metadata", "usage", "cacheWriteInputTokenCount")),
        ("finish", ("messageStop", "stopReason")),
    ),
    texts=(("output", "message", "content", 0, "text"), ("contentBlockDelta", "delta", "text")),
    prompt=_messages_prompt,
)

_TITAN_TEXT = Family(
    "amazon.titan-text",
    _always(TEXT_COMPLETION),
    request=(
        (REQUEST_MAX_TOKENS, ("textGenerationConfig", "maxTokenCount")),
        (REQUEST_TEMPERATURE, ("textGenerationConfig", "temperature")),
        (REQUEST_TOP_P, ("textGenerationConfig", "topP")),
        (REQUEST_STOP_SEQUENCES, ("textGenerationConfig", "stopSequences")),
    ),
    response=(
        ("input", ("inputTextTokenCount",)),
        ("output", ("results", 0, "tokenCount")),
        ("finish", ("results", 0, "completionReason")),
    ),
    chunk=(
        ("input", ("inputTextTokenCount",)),
        ("output", ("totalOutputTextTokenCount",)),
        ("finish", ("completionReason",)),
    ),
    texts=(("results", 0, "outputText"), ("outputText",)),
    prompt=_text_prompt("inputText"),
)

_TITAN_EMBED = Family(
    "amazon.titan-embed",
    _always(EMBEDDINGS),
    request=(),
    response=(("input", ("inputTextTokenCount",)),),
    prompt=_text_prompt("inputText"),
)

_LLAMA = Family(
    "meta",
    _always(TEXT_COMPLETION),
    request=(
        (REQUEST_MAX_TOKENS, ("max_gen_len",)),
        (REQUEST_TEMPERATURE, ("temperature",)),
        (REQUEST_TOP_P, ("top_p",)),
    ),
    response=(
        ("input", ("prompt_token_count",)),
        ("output", ("generation_token_count",)),
        ("finish", ("stop_reason",)),
    ),
    chunk=(
        ("input", ("prompt_token_count",)),
        ("output", ("generation_token_count",)),
        ("finish", ("stop_reason",)),
    ),
    texts=(("generation",),),
    prompt=_text_prompt("prompt"),
)

_MISTRAL = Family(
    "mistral",
    _chat_if_messages,
    request=(
        (REQUEST_MAX_TOKENS, ("max_tokens",)),
        (REQUEST_TEMPERATURE, ("temperature",)),
        (REQUEST_TOP_P, ("top_p",)),
        (REQUEST_TOP_K, ("top_k",)),
        (REQUEST_STOP_SEQUENCES, ("stop",)),
    ),
    response=(
        ("finish", ("outputs", 0, "stop_reason")),
        ("finish", ("choices", 0, "finish_reason")),
        ("input", ("usage", "prompt_tokens")),
        ("output", ("usage", "completion_tokens")),
    ),
    chunk=(
        ("finish", ("outputs", 0, "stop_reason")),
        ("finish", ("choices", 0, "stop_reason")),
    ),
    texts=(
        ("outputs", 0, "text"),
        ("choices", 0, "message", "content"),
        ("choices", 0, "delta", "content"),
    ),
    prompt=_messages_prompt,
)

_COHERE = Family(
    "cohere",
    lambda body: CHAT if "message" in body else TEXT_COMPLETION,
    request=(
        (REQUEST_MAX_TOKENS, ("max_tokens",)),
        (REQUEST_TEMPERATURE, ("temperature",)),
        (REQUEST_TOP_P, ("p",)),
        (REQUEST_TOP_K, ("k",)),
        (REQUEST_STOP_SEQUENCES, ("stop_sequences",)),
    ),
    response=(
        ("finish", ("finish_reason",)),
        ("finish", ("generations", 0, "finish_reason")),
        ("response_id", ("response_id",)),
        ("response_id", ("id",)),
        ("input", ("meta", "billed_units", "input_tokens")),
        ("output", ("meta", "billed_units", "output_tokens")),
    ),
    chunk=(
        ("finish", ("finish_reason",)),
        ("finish", ("generations", 0, "finish_reason")),
    ),
    texts=(("text",), ("generations", 0, "text")),
    prompt=lambda body: _text_prompt("message" if "message" in body else "prompt")(body),
)

_COHERE_EMBED = Family(
    "cohere.embed", _always(EMBEDDINGS), request=(), response=(("response_id", ("id",)),)
)

_OPENAI = Family(
    "openai",
    _always(CHAT),
    request=(
        (REQUEST_MAX_TOKENS, ("max_completion_tokens",)),
        (REQUEST_MAX_TOKENS, ("max_tokens",)),
        (REQUEST_TEMPERATURE, ("temperature",)),
        (REQUEST_TOP_P, ("top_p",)),
        (REQUEST_STOP_SEQUENCES, ("stop",)),
    ),
    response=(
        ("input", ("usage", "prompt_tokens")),
        ("output", ("usage", "completion_tokens")),
        ("cache_read", ("usage", "prompt_tokens_details", "cached_tokens")),
        ("reasoning", ("usage", "completion_tokens_details", "reasoning_tokens")),
        ("finish", ("choices", 0, "finish_reason")),
        ("response_id", ("id",)),
        ("response_model", ("model",)),
    ),
    chunk=(
        ("finish", ("choices", 0, "finish_reason")),
        ("response_id", ("id",)),
        ("input", ("usage", "prompt_tokens")),
        ("output", ("usage", "completion_tokens")),
        ("reasoning", ("usage", "completion_tokens_details", "reasoning_tokens")),
    ),
    texts=(("choices", 0, "message", "content"), ("choices", 0, "delta", "content")),
    prompt=_messages_prompt,
)


def _generic_operation(body: Mapping[str, Any]) -> str:
    if "messages" in body:
        return CHAT
    if "prompt" in body or "inputText" in body:
        return TEXT_COMPLETION
    return GENERATE_CONTENT


UNKNOWN = Family("unknown", _generic_operation, request=(), response=())
"""Models no entry knows: provider, model and operation, plus Bedrock's token counts."""

FAMILIES: tuple[tuple[str, Family], ...] = (
    ("anthropic.", _ANTHROPIC),
    ("amazon.nova-canvas", UNKNOWN),  # image and video generation: bodies of base64 media
    ("amazon.nova-reel", UNKNOWN),
    ("amazon.nova", _NOVA),
    ("amazon.titan-embed", _TITAN_EMBED),
    ("amazon.titan-t", _TITAN_TEXT),  # titan-text-*, titan-tg1-large
    ("meta.llama", _LLAMA),
    ("mistral.", _MISTRAL),
    ("cohere.embed", _COHERE_EMBED),
    ("cohere.command", _COHERE),
    ("openai.", _OPENAI),
)
"""Base-model id prefixes and their family, first match wins."""


def family_of(model_id: str) -> Family:
    model = base_model(model_id)
    for prefix, family in FAMILIES:
        if model.startswith(prefix):
            return family
    return UNKNOWN


def load_json(body: Any) -> Mapping[str, Any] | None:
    """A request or response body as JSON, or None (not JSON, or a file we must not read)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw: bytes | str = bytes(body)
    elif isinstance(body, str):
        raw = body
    else:
        return None
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return document if isinstance(document, Mapping) else None


def invoke_request(
    params: Mapping[str, Any],
    family: Family,
    body: Mapping[str, Any] | None,
    attributes: Attributes,
) -> str:
    """Request attributes of an InvokeModel call; returns ``gen_ai.operation.name``."""
    identifier = params.get("guardrailIdentifier")
    if isinstance(identifier, str):
        attributes[GUARDRAIL_ID] = identifier
    if body is None:
        return family.operation({})
    for name, path in family.request:
        if name not in attributes:
            _set_request(attributes, name, dig(body, path))
    return family.operation(body)


def invoke_content(family: Family, body: Mapping[str, Any] | None, attributes: Attributes) -> None:
    if body is None or family.prompt is None:
        return
    attributes[INPUT_MESSAGES] = _json(family.prompt(body))
    system = body.get("system")
    if isinstance(system, str):
        attributes[SYSTEM_INSTRUCTIONS] = _json([{"type": "text", "content": system}])
    elif isinstance(system, list):
        parts = [
            {"type": "text", "content": item.get("text")}
            for item in system
            if isinstance(item, Mapping) and "text" in item
        ]
        attributes[SYSTEM_INSTRUCTIONS] = _json(parts)


def _apply(fields: _Fields, document: Mapping[str, Any], outcome: Outcome) -> None:
    for field, path in fields:
        value = dig(document, path)
        if value is None:
            continue
        if field == "finish":
            if isinstance(value, str) and not outcome.finish_reasons:
                outcome.finish_reasons.append(value)
        elif field in ("response_id", "response_model"):
            if isinstance(value, str) and getattr(outcome, field) is None:
                setattr(outcome, field, value)
        else:
            number = _int(value)
            if number is not None:
                setattr(outcome, field, number)


def _texts(paths: tuple[Path, ...], document: Mapping[str, Any], outcome: Outcome) -> None:
    for path in paths:
        text = dig(document, path)
        if isinstance(text, str):
            outcome.texts.append(text)
            return


def invoke_response(
    family: Family,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, Any],
    outcome: Outcome,
    capture: bool,
) -> None:
    if body is not None:
        _apply(family.response, body, outcome)
        if capture:
            _texts(family.texts, body, outcome)
    # Bedrock counts the tokens of every model in these headers: the fallback.
    for field, header in (
        ("input", _INPUT_HEADER),
        ("output", _OUTPUT_HEADER),
        ("cache_read", _CACHE_READ_HEADER),
        ("cache_write", _CACHE_WRITE_HEADER),
    ):
        if getattr(outcome, field) is None:
            value = headers.get(header)
            if isinstance(value, str) and value.isdigit():
                setattr(outcome, field, int(value))


def invoke_chunk(family: Family, chunk: Any, outcome: Outcome, capture: bool) -> None:
    """One ``chunk`` event of an InvokeModelWithResponseStream body."""
    document = load_json(dig(chunk, ("bytes",)))
    if document is None:
        return
    _apply(family.chunk, document, outcome)
    if capture:
        _texts(family.texts, document, outcome)
    metrics = document.get(_INVOCATION_METRICS)
    if isinstance(metrics, Mapping):
        for field, key in (
            ("input", "inputTokenCount"),
            ("output", "outputTokenCount"),
            ("cache_read", "cacheReadInputTokenCount"),
            ("cache_write", "cacheWriteInputTokenCount"),
        ):
            if getattr(outcome, field) is None:
                setattr(outcome, field, _int(metrics.get(key)))


# -------------------------------------------------------------------------------------------
# bedrock-agent-runtime: InvokeAgent (a stream) and Retrieve
# -------------------------------------------------------------------------------------------

AGENT_ID = "gen_ai.agent.id"
CONVERSATION_ID = "gen_ai.conversation.id"
DATA_SOURCE_ID = "gen_ai.data_source.id"
KNOWLEDGE_BASE_ID = "aws.bedrock.knowledge_base.id"

INVOKE_AGENT = "invoke_agent"
RETRIEVAL = "retrieval"


def agent_request(operation: str, params: Mapping[str, Any], attributes: Attributes) -> str:
    """Request attributes of an agent-runtime call; returns the span name."""
    if operation == "Retrieve":
        knowledge_base = params.get("knowledgeBaseId")
        top_k = dig(
            params, ("retrievalConfiguration", "vectorSearchConfiguration", "numberOfResults")
        )
        _set_request(attributes, REQUEST_TOP_K, top_k)
        identifier = dig(params, ("guardrailConfiguration", "guardrailId"))
        if isinstance(identifier, str):
            attributes[GUARDRAIL_ID] = identifier
        if isinstance(knowledge_base, str):
            attributes[KNOWLEDGE_BASE_ID] = knowledge_base
            attributes[DATA_SOURCE_ID] = knowledge_base
            return f"{RETRIEVAL} {knowledge_base}"
        return RETRIEVAL
    for attribute, key in ((AGENT_ID, "agentId"), (CONVERSATION_ID, "sessionId")):
        value = params.get(key)
        if isinstance(value, str):
            attributes[attribute] = value
    return INVOKE_AGENT  # the conventions name it after the agent's name, which is not sent


_TRACE_STEPS = (
    "orchestrationTrace",
    "preProcessingTrace",
    "postProcessingTrace",
    "routingClassifierTrace",
    "customOrchestrationTrace",
)


def agent_event(event: Mapping[str, Any], outcome: Outcome, capture: bool) -> None:
    """One event of an InvokeAgent completion stream: model usage arrives in trace events
    (with ``enableTrace``), summed over the agent's model invocations."""
    trace = dig(event, ("trace", "trace"))
    if isinstance(trace, Mapping):
        for step in _TRACE_STEPS:
            usage = dig(trace, (step, "modelInvocationOutput", "metadata", "usage"))
            if isinstance(usage, Mapping):
                for field, key in (("input", "inputTokens"), ("output", "outputTokens")):
                    count = _int(usage.get(key))
                    if count is not None:
                        setattr(outcome, field, (getattr(outcome, field) or 0) + count)
        return
    if capture:
        data = dig(event, ("chunk", "bytes"))
        if isinstance(data, bytes):
            outcome.texts.append(data.decode("utf-8", "replace"))


def agent_content(params: Mapping[str, Any], attributes: Attributes) -> None:
    """The opt-in content of an InvokeAgent request: its input text."""
    text = params.get("inputText")
    if isinstance(text, str):
        attributes[INPUT_MESSAGES] = _json(
            [{"role": "user", "parts": [{"type": "text", "content": text}]}]
        )
