"""GenAI telemetry for Amazon Bedrock: the ``"genai"`` built-in plugin.

For ``bedrock-runtime`` Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream calls (and ``bedrock-agent-runtime`` InvokeAgent and Retrieve)
it describes the tracing plugin's span the way the
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
import sys
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast, final

import prometheus_client.values
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from botoware import _lazy, _redaction
from botoware.errors import ConfigurationError
from botoware.plugins.tracing import hold_span, span_of

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span
    from opentelemetry.util.types import Attributes

    from botoware.hooks.call import Call
    from botoware.plugins import _bedrock as bedrock
    from botoware.plugins import _genai_stream as stream
else:
    # Bedrock's tables and stream wrappers load with the first Bedrock call: an autoload
    # install() (every Lambda cold start) installs this plugin whether or not it calls Bedrock.
    bedrock = _lazy.module("botoware.plugins._bedrock")
    stream = _lazy.module("botoware.plugins._genai_stream")

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
    "InvokeAgent": True,  # bedrock-agent-runtime
    "Retrieve": False,
}  # operation -> streamed
_STREAM_KEYS = {
    "ConverseStream": "stream",
    "InvokeModelWithResponseStream": "body",
    "InvokeAgent": "completion",
}
_CONVERSE, _INVOKE, _AGENT = "converse", "invoke", "agent"

_LABEL = _lazy.Pattern(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_CODE = _lazy.Pattern(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

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
    """The genai histograms of one registry and its label limits, shared by every plugin
    built on it.

    By default a call's observations are plain additions under one lock, exposed by a
    collector at scrape time (as the metrics plugin does); in prometheus_client's
    multiprocess mode, whose values live in shared files, its ``Histogram`` objects are used.
    """

    __slots__ = (
        "client",
        "codes",
        "collector",
        "lock",
        "max_models",
        "models",
        "rows",
        "values_lock",
    )

    def __init__(self, registry: CollectorRegistry, max_models: int) -> None:
        self.max_models = max_models
        self.models: set[str] = set()
        self.codes: set[str] = set()
        self.lock = threading.Lock()  # admitted labels
        self.values_lock = threading.Lock()  # every fast series' numbers
        self.rows: dict[tuple[str, str, str], _FastSeries] = {}
        fast = prometheus_client.values.ValueClass is prometheus_client.values.MutexValue
        self.collector: _Collector | None = _Collector(self) if fast else None
        self.client: tuple[Histogram, Histogram, Histogram] | None = None
        registered: list[Any] = []
        try:
            if self.collector is not None:
                registry.register(self.collector)
                registered.append(self.collector)
            else:
                self.client = tuple(  # type: ignore[assignment]
                    Histogram(name, _HELP[name], labels, buckets=buckets, registry=None)
                    for name, labels, buckets in _FAMILIES
                )
                for histogram in self.client or ():
                    registry.register(histogram)
                    registered.append(histogram)
        except ValueError as exc:
            for collector in registered:
                registry.unregister(collector)
            raise ConfigurationError(
                f"the registry already has a metric the genai plugin would create ({exc}); "
                "pass GenAIPlugin(registry=...) another registry."
            ) from None

    def fast_series(self, labels: tuple[str, str, str]) -> _FastSeries:
        """The one series of these labels in this registry, whichever plugin asks."""
        with self.values_lock:
            series = self.rows.get(labels)
            if series is None:
                series = self.rows[labels] = _FastSeries(labels)
            return series

    def admit(self, known: set[str], value: str, pattern: _lazy.Pattern, limit: int) -> str:
        if value in known:
            return value
        with self.lock:
            if value in known or (pattern.fullmatch(value) is not None and len(known) < limit):
                known.add(value)
                return value
        return OTHER


_HELP = {
    TOKEN_USAGE: "Tokens used by GenAI calls, by token type (input, output).",
    OPERATION_DURATION: "Duration of GenAI calls; a streamed call until its stream ended.",
    TIME_TO_FIRST_CHUNK: "Seconds from a streamed GenAI call to the first event of its stream.",
}
_FAMILIES = (
    (TOKEN_USAGE, _TOKEN_LABELS, TOKEN_BUCKETS),
    (OPERATION_DURATION, _DURATION_LABELS, DURATION_BUCKETS),
    (TIME_TO_FIRST_CHUNK, _CHUNK_LABELS, DURATION_BUCKETS),
)


def _new_counts(buckets: tuple[float, ...]) -> list[float]:
    return [0.0] * (len(buckets) + 2)  # per bucket (not cumulative), +Inf, then the sum


def _add(counts: list[float], buckets: tuple[float, ...], value: float) -> None:
    counts[bisect_left(buckets, value)] += 1.0
    counts[-1] += value


@final
class _FastSeries:
    """The numbers of one (GenAI operation, model label), updated under one lock."""

    __slots__ = ("chunk", "created", "duration", "input", "labels", "output")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.input = _new_counts(TOKEN_BUCKETS)
        self.output = _new_counts(TOKEN_BUCKETS)
        self.chunk = _new_counts(DURATION_BUCKETS)
        self.duration: dict[str, list[float]] = {}  # error type ("" for none) -> counts
        self.created = time.time()


@final
class _Collector(Collector):
    """Exposes the fast series of one registry as the three histogram families."""

    def __init__(self, instruments: _Instruments) -> None:
        self._instruments = instruments
        go_string = cast("Callable[[float], str]", floatToGoString)  # untyped upstream
        self._bounds = {
            buckets: [go_string(b) for b in (*buckets, float("inf"))]
            for buckets in (TOKEN_BUCKETS, DURATION_BUCKETS)
        }

    def describe(self) -> list[Metric]:
        return list(self._families())

    @staticmethod
    def _families() -> tuple[HistogramMetricFamily, ...]:
        return tuple(
            HistogramMetricFamily(name, _HELP[name], labels=labels) for name, labels, _ in _FAMILIES
        )

    def _add_metric(
        self,
        family: HistogramMetricFamily,
        labels: list[str],
        counts: list[float],
        buckets: tuple[float, ...],
    ) -> None:
        cumulative = 0.0
        rows: list[tuple[str, float]] = []
        for le, count in zip(self._bounds[buckets], counts[:-1], strict=True):
            cumulative += count
            rows.append((le, cumulative))
        family.add_metric(labels, rows, counts[-1])

    def collect(self) -> list[Metric]:
        instruments = self._instruments
        with instruments.values_lock:
            rows = [
                (
                    list(series.labels),
                    list(series.input),
                    list(series.output),
                    list(series.chunk),
                    {code: list(counts) for code, counts in series.duration.items()},
                )
                for series in instruments.rows.values()
            ]
        tokens, duration, chunk = self._families()
        for labels, inputs, outputs, chunks, durations in rows:
            if inputs[-1] or any(inputs[:-1]):
                self._add_metric(tokens, [*labels, "input"], inputs, TOKEN_BUCKETS)
            if outputs[-1] or any(outputs[:-1]):
                self._add_metric(tokens, [*labels, "output"], outputs, TOKEN_BUCKETS)
            if any(chunks[:-1]):
                self._add_metric(chunk, labels, chunks, DURATION_BUCKETS)
            for code, counts in durations.items():
                self._add_metric(duration, [*labels, code], counts, DURATION_BUCKETS)
        return [tokens, duration, chunk]


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
    """Where the observations of one (GenAI operation, model label) go, with their
    OpenTelemetry attribute sets built once."""

    __slots__ = (
        "client",
        "fast",
        "instruments",
        "otel",
        "otel_errors",
        "otel_input",
        "otel_output",
    )

    def __init__(
        self,
        instruments: _Instruments,
        operation: str,
        model: str,
        otel_base: dict[str, Any] | None,
    ) -> None:
        labels = (operation, bedrock.PROVIDER, model)
        self.instruments = instruments
        self.fast: _FastSeries | None = None
        self.client: tuple[str, str, str] | None = None
        if instruments.collector is not None:
            self.fast = instruments.fast_series(labels)
        else:
            self.client = labels
        self.otel: Attributes = otel_base
        self.otel_input: Attributes = None
        self.otel_output: Attributes = None
        self.otel_errors: dict[str, Attributes] = {}
        if otel_base is not None:
            self.otel_input = {**otel_base, "gen_ai.token.type": "input"}
            self.otel_output = {**otel_base, "gen_ai.token.type": "output"}

    def record(
        self,
        elapsed: float,
        code: str,
        total_input: int | None,
        output: int | None,
        first: float | None,
    ) -> None:
        fast = self.fast
        if fast is not None:
            # Inlined additions: this runs on every Bedrock call.
            with self.instruments.values_lock:
                counts = fast.duration.get(code)
                if counts is None:
                    counts = fast.duration[code] = _new_counts(DURATION_BUCKETS)
                counts[bisect_left(DURATION_BUCKETS, elapsed)] += 1.0
                counts[-1] += elapsed
                if total_input is not None:
                    counts = fast.input
                    counts[bisect_left(TOKEN_BUCKETS, total_input)] += 1.0
                    counts[-1] += total_input
                if output is not None:
                    counts = fast.output
                    counts[bisect_left(TOKEN_BUCKETS, output)] += 1.0
                    counts[-1] += output
                if first is not None:
                    _add(fast.chunk, DURATION_BUCKETS, first)
            return
        client, labels = self.instruments.client, self.client
        assert client is not None and labels is not None  # multiprocess mode
        tokens, duration, chunk = client
        duration.labels(*labels, code).observe(elapsed)
        if total_input is not None:
            tokens.labels(*labels, "input").observe(total_input)
        if output is not None:
            tokens.labels(*labels, "output").observe(output)
        if first is not None:
            chunk.labels(*labels).observe(first)

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
        "attributes",
        "capture",
        "ended",
        "family",
        "first_chunk",
        "held",
        "kind",
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
        attributes: bedrock.Attributes,
        kind: str,
    ) -> None:
        self.plugin = plugin
        self.kind = kind  # _CONVERSE, _INVOKE or _AGENT: how to read the response
        self.attributes = attributes  # the span's, set with the outcome's in one go at the end
        self.started = started
        self.operation = operation
        self.family = family  # of the model, for InvokeModel calls
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
            if self.kind == _CONVERSE:
                bedrock.converse_event(event, self.outcome, self.capture)
            elif self.kind == _AGENT:
                bedrock.agent_event(event, self.outcome, self.capture)
            elif self.family is not None:
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
            attributes = self.attributes
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
    botoware_scope = ("bedrock-runtime", "bedrock-agent-runtime")

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | None = None,
        max_models: int = 100,
    ) -> None:
        if isinstance(max_models, bool) or not isinstance(max_models, int) or max_models < 0:
            raise ConfigurationError(f"GenAIPlugin(max_models={max_models!r}) must be an int >= 0.")
        if capture_content is not None and not isinstance(capture_content, bool):
            raise ConfigurationError(
                f"GenAIPlugin(capture_content={capture_content!r}) must be True, False or None."
            )
        self._capture = (
            _flag_env(CAPTURE_CONTENT_ENV) if capture_content is None else (capture_content)
        )
        self._latest = _latest_only()
        self._registry = REGISTRY if registry is None else registry
        self._instruments = _instruments_for(self._registry, max_models)
        self._otel = None if meter_provider is None else _Otel(meter_provider)
        self._series: dict[tuple[str, str], _Series] = {}
        self._failed = False

    def __repr__(self) -> str:
        where = "REGISTRY" if self._registry is REGISTRY else "CollectorRegistry"
        otel = ", meter_provider=..." if self._otel is not None else ""
        return f"GenAIPlugin(registry={where}{otel}, capture_content={self._capture})"

    # ---- the call ----------------------------------------------------------------------
    # Everything happens at the end of the call (one hook per call keeps the cost down):
    # the call's span is still open then (the tracing plugin ends it in its own trylast
    # terminal hooks), and call.params are the parameters the user passed.

    def _start(self, call: Call, params: Mapping[str, Any]) -> _Observation:
        model = params.get("modelId")
        model = model if isinstance(model, str) else ""
        span = span_of(call)
        family: bedrock.Family | None = None
        body: Mapping[str, Any] | None = None
        attributes: bedrock.Attributes = {}
        name = None
        if call.operation.startswith("Converse"):
            kind, operation = _CONVERSE, bedrock.CHAT
            if span is not None:  # without a span only the metrics' labels are needed
                bedrock.converse_request(params, attributes)
        elif call.service == "bedrock-agent-runtime":
            kind = _AGENT
            operation = bedrock.RETRIEVAL if call.operation == "Retrieve" else bedrock.INVOKE_AGENT
            name = bedrock.agent_request(call.operation, params, attributes)
        else:
            kind = _INVOKE
            family = bedrock.family_of(model)
            if span is None and family.fixed is not None:
                operation = family.fixed  # metrics only: no need to parse the request body
            else:
                body = bedrock.load_json(params.get("body"))
                operation = bedrock.invoke_request(params, family, body, attributes)
        if span is not None:
            attributes[bedrock.PROVIDER_NAME] = bedrock.PROVIDER
            if not self._latest:
                attributes[bedrock.SYSTEM] = bedrock.PROVIDER
            attributes[bedrock.OPERATION_NAME] = operation
            if model:
                attributes[bedrock.REQUEST_MODEL] = model
            if _OPERATIONS[call.operation]:
                attributes[bedrock.REQUEST_STREAM] = True
            if self._capture:
                if kind == _CONVERSE:
                    bedrock.converse_content(params, attributes)
                elif family is not None:
                    bedrock.invoke_content(family, body, attributes)
                else:
                    bedrock.agent_content(params, attributes)
            if name is None:
                name = f"{operation} {model}" if model else operation
            span.update_name(name)
        series = self._series.get((operation, model)) or self._series_of(operation, model)
        return _Observation(
            self, call.started, operation, family, series, span, self._capture, attributes, kind
        )

    # ---- the end of a call --------------------------------------------------------------

    def botoware_after_call(
        self, call: Call, http_response: AWSResponse, parsed: dict[str, Any]
    ) -> None:
        operation = call.operation
        if operation not in _OPERATIONS:
            return
        try:
            if operation == "Converse" and not self._capture and span_of(call) is None:
                self._count_converse(call, http_response.status_code, parsed)
                return
            observation = self._start(call, call.params)
        except Exception:
            self._report("after_call")
            return
        try:
            status = http_response.status_code
            if status >= 300:
                observation._end(_code_of(parsed, status))
                return
            stream_key = _STREAM_KEYS.get(call.operation)
            if stream_key is not None and stream_key in parsed:
                observed = stream.observe_stream(parsed[stream_key], observation)
                if observed is not None:
                    self._hold(call, observation)
                    parsed[stream_key] = observed
                    return
                observation._end(None)  # an async client's stream: left to the user as it is
                return
            if observation.kind == _CONVERSE:
                bedrock.converse_response(parsed, observation.outcome, observation.capture)
            elif observation.family is not None:
                family = observation.family
                body = None
                # A family with nothing to read (an unknown model: image bodies, say) is not
                # parsed; Bedrock's token-count headers are read all the same.
                if family.response or observation.capture:
                    data = stream.observe_body(parsed, "body")
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

    def _count_converse(self, call: Call, status: int, parsed: Mapping[str, Any]) -> None:
        """Metrics of a Converse call without a span: what every call needs, nothing else."""
        elapsed = time.monotonic() - call.started
        model = call.params.get("modelId")
        model = model if isinstance(model, str) else ""
        series = self._series.get((bedrock.CHAT, model)) or self._series_of(bedrock.CHAT, model)
        if status >= 300:
            code = self._instruments.admit(
                self._instruments.codes, _code_of(parsed, status), _CODE, 100
            )
            series.record(elapsed, code, None, None, None)
            if self._otel is not None:
                self._otel.duration.record(elapsed, series.otel_failed(code))
            return
        usage = parsed.get("usage") or {}
        total = usage.get("inputTokens")
        output = usage.get("outputTokens")
        if type(total) is int:
            total += (usage.get("cacheReadInputTokens") or 0) + (
                usage.get("cacheWriteInputTokens") or 0
            )
        else:
            total = None
        if type(output) is not int:
            output = None
        series.record(elapsed, "", total, output, None)
        otel = self._otel
        if otel is not None:
            otel.duration.record(elapsed, series.otel)
            if total is not None:
                otel.tokens.record(total, series.otel_input)
            if output is not None:
                otel.tokens.record(output, series.otel_output)

    def botoware_after_call_error(self, call: Call, exception: BaseException) -> None:
        if call.operation not in _OPERATIONS:
            return
        try:
            observation = self._start(call, call.params)
        except Exception:
            self._report("after_call_error")
            return
        observation._end(_code_of_exception(exception))

    @staticmethod
    def _hold(call: Call, observation: _Observation) -> None:
        if observation.span is None:
            return
        observation.held = hold_span(call) is not None

    # ---- metrics ------------------------------------------------------------------------

    def _series_of(self, operation: str, model: str) -> _Series:
        series = self._series.get((operation, model))
        if series is None:
            instruments = self._instruments
            label = ""  # agents and knowledge bases name no model
            if model:
                label = instruments.admit(
                    instruments.models, _model_label(model), _LABEL, instruments.max_models
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
        output = outcome.output
        first = observation.first_chunk
        label = None
        if code is not None:
            instruments = self._instruments
            label = instruments.admit(instruments.codes, code, _CODE, 100)
        series.record(elapsed, label or "", total, output, first)
        otel = self._otel
        if otel is not None:
            otel.duration.record(
                elapsed, series.otel if label is None else series.otel_failed(label)
            )
            if total is not None:
                otel.tokens.record(total, series.otel_input)
            if output is not None:
                otel.tokens.record(output, series.otel_output)
            if first is not None:
                otel.chunk.record(first, series.otel)

    def _report(self, where: str) -> None:
        level = logging.DEBUG if self._failed else logging.ERROR
        self._failed = True
        exc_info = _redaction.loggable(sys.exc_info()[1])  # no user values in the log
        logger.log(level, "genai failed in %s; the AWS call goes on", where, exc_info=exc_info)


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
