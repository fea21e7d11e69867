"""GenAI telemetry for Amazon Bedrock: the ``"genai"`` built-in plugin.

For ``bedrock-runtime`` Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream calls it describes the tracing plugin's span the way the
OpenTelemetry GenAI semantic conventions say (name ``{gen_ai.operation.name}
{gen_ai.request.model}``, ``gen_ai.provider.name = "aws.bedrock"``, request parameters,
finish reasons, token usage with cached and reasoning tokens, guardrail id, time to first
chunk), keeps a streamed call's span open until its stream ends, and records
``gen_ai.client.*`` metrics in Prometheus (and OpenTelemetry, given a meter provider)::

    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    with botoware.install(session, plugins=["tracing", GenAIPlugin(registry)], autoload=False):
        session.client("bedrock-runtime").converse(modelId=..., messages=[...])

Prompts, completions and tool arguments are recorded only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (or ``capture_content=True``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, final

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from botoware.errors import ConfigurationError
from botoware.hooks.call import StashKey
from botoware.plugins import _bedrock as bedrock
from botoware.plugins._genai_stream import observe_body, observe_stream

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span
    from opentelemetry.util.types import Attributes

    from botoware.hooks.call import Call

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "DURATION_BUCKETS",
    "GenAIPlugin",
    "LATEST_EXPERIMENTAL",
    "OPERATION_DURATION",
    "OTEL_OPERATION_DURATION",
    "OTEL_TIME_TO_FIRST_CHUNK",
    "OTEL_TOKEN_USAGE",
    "OTHER",
    "STABILITY_ENV",
    "TIME_TO_FIRST_CHUNK",
    "TOKEN_BUCKETS",
    "TOKEN_USAGE",
    "plugin",
]

logger = logging.getLogger(__name__)

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""``true`` records prompts, completions and tool arguments on spans; default off."""
STABILITY_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
"""Comma-separated; with :data:`LATEST_EXPERIMENTAL` the deprecated ``gen_ai.system`` is
no longer written beside ``gen_ai.provider.name``."""
LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"

TOKEN_USAGE = "gen_ai_client_token_usage"
"""Prometheus histogram of tokens per call, by ``gen_ai_token_type`` (input, output)."""
OPERATION_DURATION = "gen_ai_client_operation_duration_seconds"
"""Prometheus histogram of seconds per call, a streamed call until its stream ended."""
TIME_TO_FIRST_CHUNK = "gen_ai_client_operation_time_to_first_chunk_seconds"
"""Prometheus histogram of seconds from the call to the first event of its stream."""
OTEL_TOKEN_USAGE = "gen_ai.client.token.usage"
OTEL_OPERATION_DURATION = "gen_ai.client.operation.duration"
OTEL_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"

TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))
"""The semantic conventions' buckets: 1, 4, 16, ... 67108864 tokens."""
DURATION_BUCKETS: tuple[float, ...] = tuple(0.01 * 2**i for i in range(14))
"""The semantic conventions' buckets: 0.01, 0.02, 0.04, ... 81.92 seconds."""

OTHER = "other"
"""The model or error label of values past the plugin's limits, or malformed."""

_OPERATIONS = {
    "Converse": False,
    "ConverseStream": True,
    "InvokeModel": False,
    "InvokeModelWithResponseStream": True,
}  # operation -> streamed
_STREAM_KEYS = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

_TOKEN_LABELS = (
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_token_type",
)
_DURATION_LABELS = (
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "error_type",
)
_CHUNK_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")

_END_LOCK = threading.Lock()  # the ended flag of every observation: set exactly once


def _flag_env(name: str) -> bool:
    raw = os.environ.get(name, "").strip()
    value = raw.lower()
    if value in ("", "0", "false", "no", "off", "no_content", "event_only"):
        return False
    if value in ("1", "true", "yes", "on", "span_only", "span_and_event"):
        return True
    raise ConfigurationError(
        f"{name}={raw!r} is not understood; use true or false (or OpenTelemetry's "
        "NO_CONTENT, SPAN_ONLY, SPAN_AND_EVENT)."
    )


def _latest_only() -> bool:
    values = os.environ.get(STABILITY_ENV, "").split(",")
    return LATEST_EXPERIMENTAL in (value.strip() for value in values)


# -------------------------------------------------------------------------------------------
# Metrics
# -------------------------------------------------------------------------------------------


@final
class _Instruments:
    """The Prometheus histograms of one registry and its label limits, shared by every plugin
    built on it."""

    __slots__ = ("chunk", "codes", "duration", "lock", "max_models", "models", "tokens")

    def __init__(self, registry: CollectorRegistry, max_models: int) -> None:
        self.max_models = max_models
        self.models: set[str] = set()
        self.codes: set[str] = set()
        self.lock = threading.Lock()
        created: list[Histogram] = []
        try:
            self.tokens = Histogram(
                TOKEN_USAGE,
                "Tokens used by GenAI calls, by token type (input, output).",
                _TOKEN_LABELS,
                buckets=TOKEN_BUCKETS,
                registry=registry,
            )
            created.append(self.tokens)
            self.duration = Histogram(
                OPERATION_DURATION,
                "Duration of GenAI calls; a streamed call until its stream ended.",
                _DURATION_LABELS,
                buckets=DURATION_BUCKETS,
                registry=registry,
            )
            created.append(self.duration)
            self.chunk = Histogram(
                TIME_TO_FIRST_CHUNK,
                "Seconds from a streamed GenAI call to the first event of its stream.",
                _CHUNK_LABELS,
                buckets=DURATION_BUCKETS,
                registry=registry,
            )
        except ValueError as exc:
            for histogram in created:
                registry.unregister(histogram)
            raise ConfigurationError(
                f"the registry already has a metric the genai plugin would create ({exc}); "
                "pass GenAIPlugin(registry=...) another registry."
            ) from None

    def admit(self, known: set[str], value: str, pattern: re.Pattern[str], limit: int) -> str:
        if value in known:
            return value
        with self.lock:
            if value in known or (pattern.fullmatch(value) is not None and len(known) < limit):
                known.add(value)
                return value
        return OTHER


_REGISTRIES: weakref.WeakKeyDictionary[CollectorRegistry, _Instruments] = (
    weakref.WeakKeyDictionary()
)
_REGISTRIES_LOCK = threading.Lock()


def _instruments_for(registry: CollectorRegistry, max_models: int) -> _Instruments:
    with _REGISTRIES_LOCK:
        instruments = _REGISTRIES.get(registry)
        if instruments is None:
            instruments = _REGISTRIES[registry] = _Instruments(registry, max_models)
        elif instruments.max_models != max_models:
            raise ConfigurationError(
                f"this registry already holds the genai metrics with max_models="
                f"{instruments.max_models}; a second GenAIPlugin on it must use the same."
            )
        return instruments


@final
class _Otel:
    __slots__ = ("chunk", "duration", "tokens")

    def __init__(self, meter_provider: MeterProvider) -> None:
        from botoware import __version__

        meter = meter_provider.get_meter("botoware.genai", __version__)
        self.tokens = meter.create_histogram(
            OTEL_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self.duration = meter.create_histogram(
            OTEL_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.chunk = meter.create_histogram(
            OTEL_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )


@final
class _Series:
    """The bound Prometheus children and OpenTelemetry attribute sets of one (GenAI
    operation, model label), built once."""

    __slots__ = (
        "chunk",
        "errors",
        "input",
        "labels",
        "ok",
        "otel",
        "otel_errors",
        "otel_input",
        "otel_output",
        "output",
    )

    def __init__(
        self,
        instruments: _Instruments,
        operation: str,
        model: str,
        otel_base: dict[str, Any] | None,
    ) -> None:
        labels = (operation, bedrock.PROVIDER, model)
        self.labels = labels
        self.input: Callable[[float], None] = instruments.tokens.labels(*labels, "input").observe
        self.output: Callable[[float], None] = instruments.tokens.labels(*labels, "output").observe
        self.ok: Callable[[float], None] = instruments.duration.labels(*labels, "").observe
        self.chunk: Callable[[float], None] = instruments.chunk.labels(*labels).observe
        self.errors: dict[str, Callable[[float], None]] = {}
        self.otel: Attributes = otel_base
        self.otel_input: Attributes = None
        self.otel_output: Attributes = None
        self.otel_errors: dict[str, Attributes] = {}
        if otel_base is not None:
            self.otel_input = {**otel_base, "gen_ai.token.type": "input"}
            self.otel_output = {**otel_base, "gen_ai.token.type": "output"}

    def failed(self, instruments: _Instruments, label: str) -> Callable[[float], None]:
        observe = self.errors.get(label)
        if observe is None:
            observe = self.errors[label] = instruments.duration.labels(*self.labels, label).observe
        return observe

    def otel_failed(self, label: str) -> Attributes:
        attributes = self.otel_errors.get(label)
        if attributes is None:
            attributes = self.otel_errors[label] = {**(self.otel or {}), "error.type": label}
        return attributes


# -------------------------------------------------------------------------------------------
# One observed call
# -------------------------------------------------------------------------------------------


@final
class _Observation:
    """A Bedrock call from its parameters to the end of its response (or stream).

    It is also the :class:`~botoware.plugins._genai_stream.StreamObserver` of a streamed
    call's stream, so whichever way the stream ends, :meth:`_end` runs once.
    """

    __slots__ = (
        "capture",
        "ended",
        "family",
        "first_chunk",
        "held",
        "operation",
        "outcome",
        "plugin",
        "series",
        "span",
        "started",
    )

    def __init__(
        self,
        plugin: GenAIPlugin,
        started: float,
        operation: str,
        family: bedrock.Family | None,
        series: _Series,
        span: Span | None,
        capture: bool,
    ) -> None:
        self.plugin = plugin
        self.started = started
        self.operation = operation
        self.family = family  # None for Converse and ConverseStream
        self.series = series
        self.span = span
        self.capture = capture
        self.outcome = bedrock.Outcome()
        self.first_chunk: float | None = None
        self.held = False
        self.ended = False

    # ---- the stream -----------------------------------------------------------------

    def event(self, event: Mapping[str, Any]) -> None:
        try:
            if self.first_chunk is None:
                self.first_chunk = time.monotonic() - self.started
            if self.family is None:
                bedrock.converse_event(event, self.outcome, self.capture)
            else:
                chunk = event.get("chunk")
                if chunk is not None:
                    bedrock.invoke_chunk(self.family, chunk, self.outcome, self.capture)
        except Exception:
            self.plugin._report("a stream event")

    def complete(self) -> None:
        self._end(None)

    def failed(self, exception: BaseException) -> None:
        self._end(_code_of_exception(exception), stream_error=True)

    def closed(self) -> None:
        self._end(None)

    def dropped(self) -> None:
        self._end(None)

    # ---- the end --------------------------------------------------------------------

    def _end(self, code: str | None, stream_error: bool = False) -> None:
        with _END_LOCK:
            if self.ended:
                return
            self.ended = True
        try:
            self._record(code, stream_error)
        except Exception:
            self.plugin._report("the end of a call")
        finally:
            if self.held and self.span is not None:
                self.span.end()

    def _record(self, code: str | None, stream_error: bool) -> None:
        elapsed = time.monotonic() - self.started
        outcome = self.outcome
        span = self.span
        if span is not None:
            attributes: bedrock.Attributes = {}
            outcome.attributes(attributes)
            if self.first_chunk is not None:
                attributes[bedrock.TIME_TO_FIRST_CHUNK] = self.first_chunk
            if self.capture and code is None:
                attributes[bedrock.OUTPUT_MESSAGES] = outcome.output_messages()
            if stream_error and code is not None:
                from opentelemetry.trace import Status, StatusCode

                attributes[bedrock.ERROR_TYPE] = code
                span.set_status(Status(StatusCode.ERROR, code))
            span.set_attributes(attributes)
        self.plugin._measure(self, code, elapsed)


def _code_of_exception(exception: BaseException) -> str:
    response = getattr(exception, "response", None)
    error = response.get("Error") if isinstance(response, Mapping) else None
    code = error.get("Code") if isinstance(error, Mapping) else None
    if isinstance(code, str) and code:
        # Event-stream exceptions are named after the stream's union member
        # ("throttlingException"); the same error outside a stream is "ThrottlingException".
        return code[0].upper() + code[1:]
    return type(exception).__name__


def _code_of(parsed: Mapping[str, Any], status: int) -> str:
    error = parsed.get("Error")
    code = error.get("Code") if isinstance(error, Mapping) else None
    return str(code) if code else str(status)


def _model_label(model_id: str) -> str:
    # An ARN's account id is no label value: keep the model, profile or resource id.
    return model_id.rpartition("/")[2] if model_id.startswith("arn:") else model_id


# -------------------------------------------------------------------------------------------
# The plugin
# -------------------------------------------------------------------------------------------


@final
class GenAIPlugin:
    """Spans and ``gen_ai.client.*`` metrics for Amazon Bedrock calls.

    Spans come from the tracing plugin: this plugin renames and describes the span of each
    Bedrock call (one span per call), and without the tracing plugin records metrics only.

    :param registry: where the Prometheus histograms go; default prometheus_client's global
        ``REGISTRY``. Plugins built on one registry share its histograms.
    :param meter_provider: also record the OpenTelemetry ``gen_ai.client.*`` histograms.
    :param capture_content: record prompts, completions and tool arguments on spans; default
        from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (off when unset).
    :param max_models: distinct ``gen_ai_request_model`` label values per registry; later
        new models are counted as :data:`OTHER`.
    :raises ConfigurationError: for a bad ``max_models`` or content-capture setting, or a
        registry that already holds these names from elsewhere.
    """

    botoware_name = "genai"
    botoware_scope = ("bedrock-runtime",)

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | None = None,
        max_models: int = 100,
    ) -> None:
        if isinstance(max_models, bool) or not isinstance(max_models, int) or max_models < 0:
            raise ConfigurationError(
                f"GenAIPlugin(max_models={max_models!r}) must be an int >= 0."
            )
        if capture_content is not None and not isinstance(capture_content, bool):
            raise ConfigurationError(
                f"GenAIPlugin(capture_content={capture_content!r}) must be True, False or None."
            )
        self._capture = _flag_env(CAPTURE_CONTENT_ENV) if capture_content is None else (
            capture_content
        )
        self._latest = _latest_only()
        self._registry = REGISTRY if registry is None else registry
        self._instruments = _instruments_for(self._registry, max_models)
        self._otel = None if meter_provider is None else _Otel(meter_provider)
        self._series: dict[tuple[str, str], _Series] = {}
        self._key = StashKey[_Observation]()
        self._failed = False

    def __repr__(self) -> str:
        where = "REGISTRY" if self._registry is REGISTRY else "CollectorRegistry"
        otel = ", meter_provider=..." if self._otel is not None else ""
        return f"GenAIPlugin(registry={where}{otel}, capture_content={self._capture})"

    # ---- the start of a call ------------------------------------------------------------

    def botoware_before_parameter_build(self, call: Call, params: dict[str, Any]) -> None:
        # Not provide_client_params: that one stops at the first plugin replacing the params.
        # The tracing plugin's span exists by now (it starts in provide_client_params).
        if call.operation not in _OPERATIONS or call.presigned:
            return
        try:
            self._start(call, params)
        except Exception:
            self._report("before_parameter_build")

    def _start(self, call: Call, params: Mapping[str, Any]) -> None:
        from botoware.plugins.tracing import span_of

        model = params.get("modelId")
        model = model if isinstance(model, str) else ""
        attributes: bedrock.Attributes = {bedrock.PROVIDER_NAME: bedrock.PROVIDER}
        if not self._latest:
            attributes[bedrock.SYSTEM] = bedrock.PROVIDER
        family: bedrock.Family | None = None
        body: Mapping[str, Any] | None = None
        if call.operation.startswith("Converse"):
            operation = bedrock.CHAT
            bedrock.converse_request(params, attributes)
        else:
            family = bedrock.family_of(model)
            body = bedrock.load_json(params.get("body"))
            operation = bedrock.invoke_request(params, family, body, attributes)
        attributes[bedrock.OPERATION_NAME] = operation
        if model:
            attributes[bedrock.REQUEST_MODEL] = model
        if _OPERATIONS[call.operation]:
            attributes[bedrock.REQUEST_STREAM] = True
        span = span_of(call)
        if span is not None:
            if self._capture:
                if family is None:
                    bedrock.converse_content(params, attributes)
                else:
                    bedrock.invoke_content(family, body, attributes)
            span.update_name(f"{operation} {model}" if model else operation)
            span.set_attributes(attributes)
        call.stash[self._key] = _Observation(
            self, call.started, operation, family, self._series_of(operation, model), span,
            self._capture,
        )

    # ---- the end of a call --------------------------------------------------------------

    def botoware_after_call(
        self, call: Call, http_response: AWSResponse, parsed: dict[str, Any]
    ) -> None:
        observation = call.stash.get(self._key, None)
        if observation is None:
            return
        try:
            status = http_response.status_code
            if status >= 300:
                observation._end(_code_of(parsed, status))
                return
            stream_key = _STREAM_KEYS.get(call.operation)
            if stream_key is not None and stream_key in parsed:
                self._hold(call, observation)
                parsed[stream_key] = observe_stream(parsed[stream_key], observation)
                return
            if observation.family is None:
                bedrock.converse_response(parsed, observation.outcome, observation.capture)
            else:
                data = observe_body(parsed, "body")
                body = bedrock.load_json(data) if data is not None else None
                bedrock.invoke_response(
                    observation.family,
                    body,
                    http_response.headers,
                    observation.outcome,
                    observation.capture,
                )
        except Exception:
            self._report("after_call")
        observation._end(None)

    def botoware_after_call_error(self, call: Call, exception: BaseException) -> None:
        observation = call.stash.get(self._key, None)
        if observation is not None:
            observation._end(_code_of_exception(exception))

    @staticmethod
    def _hold(call: Call, observation: _Observation) -> None:
        if observation.span is None:
            return
        from botoware.plugins.tracing import hold_span

        observation.held = hold_span(call) is not None

    # ---- metrics ------------------------------------------------------------------------

    def _series_of(self, operation: str, model: str) -> _Series:
        series = self._series.get((operation, model))
        if series is None:
            instruments = self._instruments
            label = instruments.admit(
                instruments.models, _model_label(model) or OTHER, _LABEL, instruments.max_models
            )
            otel_base: dict[str, Any] | None = None
            if self._otel is not None:
                otel_base = {
                    bedrock.OPERATION_NAME: operation,
                    bedrock.PROVIDER_NAME: bedrock.PROVIDER,
                    bedrock.REQUEST_MODEL: model,
                }
                if not self._latest:
                    otel_base[bedrock.SYSTEM] = bedrock.PROVIDER
            series = self._series[(operation, model)] = _Series(
                instruments, operation, label, otel_base
            )
        return series

    def _measure(self, observation: _Observation, code: str | None, elapsed: float) -> None:
        series = observation.series
        outcome = observation.outcome
        total = outcome.total_input()
        label = None
        if code is None:
            series.ok(elapsed)
        else:
            instruments = self._instruments
            label = instruments.admit(instruments.codes, code, _CODE, 100)
            series.failed(instruments, label)(elapsed)
        if total is not None:
            series.input(total)
        if outcome.output is not None:
            series.output(outcome.output)
        first = observation.first_chunk
        if first is not None:
            series.chunk(first)
        otel = self._otel
        if otel is not None:
            otel.duration.record(elapsed, series.otel if label is None else series.otel_failed(label))
            if total is not None:
                otel.tokens.record(total, series.otel_input)
            if outcome.output is not None:
                otel.tokens.record(outcome.output, series.otel_output)
            if first is not None:
                otel.chunk.record(first, series.otel)

    def _report(self, where: str) -> None:
        level = logging.DEBUG if self._failed else logging.ERROR
        self._failed = True
        logger.log(level, "genai failed in %s; the AWS call goes on", where, exc_info=True)


_DEFAULT: GenAIPlugin | None = None
_DEFAULT_LOCK = threading.Lock()


def plugin() -> GenAIPlugin:
    """The ``"genai"`` built-in: prometheus_client's global ``REGISTRY``, content capture as
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says.

    The same instance every time, so installing ``"genai"`` into many sessions registers the
    histograms once.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = GenAIPlugin()
        return _DEFAULT
