"""OpenTelemetry spans for every AWS call: the ``"tracing"`` built-in plugin.

One CLIENT span per logical API call, named ``{ServiceId}.{Operation}`` and current for the
whole call, with the attributes of the OpenTelemetry semantic conventions for AWS SDK calls.
When a call is retried, each of its HTTP attempts is an ``aws.attempt`` event on the span
(optionally every attempt is also a child span), the pages of one ``paginate()`` and the polls
of one ``wait()`` share a parent span, the parts of an S3 ``upload_file()`` or
``download_file()`` are children of the caller's span, and the trace context travels inside
SQS and SNS messages and Lambda invocations (:func:`process_span` is the consumer's half)::

    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()  # plus a span processor and exporter
    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False):
        session.client("s3").list_buckets()  # one span "S3.ListBuckets"

Only the OpenTelemetry API is needed; without an SDK (no tracer provider set) the plugin
costs one check per call. Nothing is added to HTTP requests, so neither SigV4 signatures nor
presigned URLs ever carry trace data.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NoOpTracer, ProxyTracerProvider, SpanKind, Status, StatusCode

from botoware import _redaction as _errors
from botoware.errors import BotowareWarning, ConfigurationError
from botoware.hooks.call import StashKey
from botoware.hooks.markers import hookimpl
from botoware.hooks.specs import STEP_OUT
from botoware.plugins._aws_attributes import (
    LEGACY_RETRY_ATTEMPTS,
    LEGACY_STATUS_CODE,
    REQUEST_ATTRIBUTES,
    RESPONSE_ATTRIBUTES,
    SQS_TRACE_HEADER,
    RequestExtractor,
)
from botoware.plugins._consumer import link_producers, process_span
from botoware.plugins._transfer import carry_context_into_transfers, transfer_context

if TYPE_CHECKING:
    from contextvars import Token

    from botocore.awsrequest import AWSRequest, AWSResponse
    from botocore.client import BaseClient
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

    from botoware.hooks.call import Call, Run

__all__ = [
    "ATTEMPT_EVENT",
    "ATTEMPT_NUMBER",
    "RETRY_DELAY",
    "FinishedCall",
    "KeepOnly",
    "TracingPlugin",
    "plugin",
    "process_span",
]

logger = logging.getLogger(__name__)

ATTEMPT_EVENT = "aws.attempt"
"""Name of the span event recorded for every HTTP attempt of a call."""
ATTEMPT_NUMBER = "botoware.attempt"
"""Event (and attempt span) attribute: the attempt's number, 1-based."""
RETRY_DELAY = "botoware.retry.delay"
"""Event attribute: seconds from this attempt's response to the next attempt's request."""

_RUN_KIND = "botoware.run.kind"
_RUN_CALLS = "botoware.run.calls"
_WAITER_NAME = "botoware.waiter.name"

# Semantic-convention attribute names (opentelemetry-semantic-conventions is not a dependency).
_RPC_SYSTEM = "rpc.system"
_RPC_SERVICE = "rpc.service"
_RPC_METHOD = "rpc.method"
_CLOUD_REGION = "cloud.region"
_SERVER_ADDRESS = "server.address"
_SERVER_PORT = "server.port"
_STATUS_CODE = "http.response.status_code"
_RESEND_COUNT = "http.request.resend_count"
_ERROR_TYPE = "error.type"
_REQUEST_ID = "aws.request_id"
_EXTENDED_REQUEST_ID = "aws.extended_request_id"

# OpenTelemetry's suppression keys live in opentelemetry.context under private names; the plain
# string is the older spelling opentelemetry-instrumentation still sets and honours.
_SUPPRESS_INSTRUMENTATION_KEY: str = getattr(
    otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", "suppress_instrumentation"
)
_SUPPRESS_HTTP_INSTRUMENTATION_KEY: str = getattr(
    otel_context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", "suppress_http_instrumentation"
)
_SUPPRESS_PLAIN = "suppress_instrumentation"

_MAX_MESSAGE_ATTRIBUTES = 10  # SQS and SNS both refuse an 11th message attribute
_MAX_CLIENT_CONTEXT = 3583  # bytes of base64 Lambda accepts in ClientContext
_XRAY_HEADER = "x-amzn-trace-id"  # the X-Ray propagator's carrier key, lower-cased

_Attributes = dict[str, "AttributeValue"]


@final
class _CallTrace:
    """What the plugin keeps on one traced call between its hooks."""

    __slots__ = (
        "attempt_span",
        "attempt_token",
        "held",
        "pending",
        "pending_ns",
        "span",
        "token",
        "url",
    )

    def __init__(self, span: Span, token: Token[Context] | None) -> None:
        self.span = span
        self.token = token
        self.url = ""  # of the first request; server.address is set with the other end attributes
        # The event of the latest attempt waits for the next request (for its delay) or the end.
        self.pending: _Attributes | None = None
        self.pending_ns = 0
        self.attempt_span: Span | None = None
        self.attempt_token: Token[Context] | None = None
        self.held = False  # another plugin ends the span (a streamed response): hold_span()


_CALL = StashKey[_CallTrace]()


def span_of(call: Call) -> Span | None:
    """The open CLIENT span of ``call``, for plugins that describe a call further."""
    state = call.stash.get(_CALL, None)
    return None if state is None else state.span


def hold_span(call: Call) -> Span | None:
    """Take over ending the span of ``call``: at the call's end the tracing plugin still sets
    its attributes and restores the caller's context, but the caller must ``end()`` the span."""
    state = call.stash.get(_CALL, None)
    if state is None:
        return None
    state.held = True
    return state.span


_CLIENT = SpanKind.CLIENT
# span name, start attributes before the request extractor, the extractor, and whether the
# call's parameters carry or ask for the trace context (see _inject)
_Opening = tuple[str, _Attributes, "RequestExtractor | None", bool]
_MAX_OPENINGS = 2048


def _opening_of(call: Call) -> _Opening:
    """What every span of one (service, operation, region) starts with."""
    attributes: _Attributes = {
        _RPC_SYSTEM: "aws-api",
        _RPC_SERVICE: call.service_id,
        _RPC_METHOD: call.operation,
    }
    if call.region:
        attributes[_CLOUD_REGION] = call.region
    extract = REQUEST_ATTRIBUTES.get(call.service)
    touched = (call.service, call.operation) in _TOUCHED
    return f"{call.service_id}.{call.operation}", attributes, extract, touched


_RUN = StashKey["Span"]()
_ATTEMPTS = StashKey["list[tuple[_Attributes, int]]"]()  # keep-only: failed attempts so far

# What a tracer's sampler lets the plugin know before asking it (see _sampling_of).
_SAMPLER_DECIDES, _NEVER_SAMPLED, _PARENT_DECIDES = 0, 1, 2


@final
class FinishedCall:
    """What :class:`KeepOnly`'s ``when`` predicate is asked about one finished call.

    :ivar call: the :class:`botoware.Call` (service, operation, region, params, run).
    :ivar duration: seconds from the call to its end, retries included.
    :ivar status: the final HTTP status, or None when no response came.
    :ivar error: the AWS error code or the exception's qualified class name, or None.
    :ivar attempts: HTTP attempts made (0 when the call failed before its first request).
    """

    __slots__ = ("attempts", "call", "duration", "error", "status")

    def __init__(
        self, call: Call, duration: float, status: int | None, error: str | None, attempts: int
    ) -> None:
        self.call = call
        self.duration = duration
        self.status = status
        self.error = error
        self.attempts = attempts

    def __repr__(self) -> str:
        return (
            f"<FinishedCall {self.call.service_id}.{self.call.operation} "
            f"duration={self.duration:.3f} status={self.status} error={self.error}>"
        )


KeepPredicate = Callable[[FinishedCall], bool]
"""``when(finished) -> bool``: True keeps the call's span."""


@final
class KeepOnly:
    """Record only the calls worth keeping; every other call never reaches the SDK.

    A call is kept when any of the enabled conditions holds::

        TracingPlugin(provider, keep_only=KeepOnly(slower_than=0.5))
        KeepOnly(errors=False, when=lambda f: f.call.service == "dynamodb")

    :param errors: keep calls that failed (AWS error response, or an exception).
    :param retried: keep calls that needed more than one HTTP attempt.
    :param slower_than: keep calls that took at least this many seconds; None: no threshold.
    :param when: keep calls for which this returns True (asked only when no other condition
        kept the call; an exception in it keeps the call and is logged).
    """

    __slots__ = ("errors", "retried", "slower_than", "when")

    def __init__(
        self,
        *,
        errors: bool = True,
        retried: bool = True,
        slower_than: float | None = None,
        when: KeepPredicate | None = None,
    ) -> None:
        if slower_than is not None and (
            isinstance(slower_than, bool)
            or not isinstance(slower_than, (int, float))
            or not slower_than >= 0
        ):
            raise ConfigurationError(
                f"KeepOnly(slower_than={slower_than!r}) must be seconds (a number >= 0) or None."
            )
        if when is not None and not callable(when):
            raise ConfigurationError(
                f"KeepOnly(when={when!r}) must be a callable taking a FinishedCall, or None."
            )
        self.errors = bool(errors)
        self.retried = bool(retried)
        self.slower_than = None if slower_than is None else float(slower_than)
        self.when = when

    def __repr__(self) -> str:
        return (
            f"KeepOnly(errors={self.errors}, retried={self.retried}, "
            f"slower_than={self.slower_than}, when={self.when!r})"
        )

    def keeps(self, call: Call, status: int | None, error: str | None) -> bool:
        """Whether the call that just ended is recorded."""
        if error is not None and self.errors:
            return True
        attempts = call.attempt
        if attempts > 1 and self.retried:
            return True
        duration = time.monotonic() - call.started
        if self.slower_than is not None and duration >= self.slower_than:
            return True
        when = self.when
        if when is None:
            return False
        try:
            return bool(when(FinishedCall(call, duration, status, error, attempts)))
        except Exception:
            logger.error("KeepOnly(when=...) raised; the call is kept", exc_info=True)
            return True


@final
class TracingPlugin:
    """Traces every API call of the session it is installed into.

    :param tracer_provider: where spans go; default the global tracer provider (looked up on
        each call, so a provider set after ``install()`` is used from then on).
    :param attempt_spans: also make one INTERNAL child span per HTTP attempt,
        ``{ServiceId}.{Operation} attempt``, current while the attempt runs.
    :param propagate: put the current trace context (global propagator) into SQS and SNS
        message attributes (SQS ``AWSTraceHeader`` for the X-Ray header) and Lambda
        ``ClientContext``, and have SQS ``ReceiveMessage`` ask for those attributes.
    :param attempt_events: record an ``aws.attempt`` event per attempt of a retried call.
        Off, the plugin has no per-attempt hook at all (two hooks per call instead of four);
        the span still says how often the call was resent.
    :param keep_only: record only the calls this :class:`KeepOnly` keeps (failed, retried,
        slow, or matching a predicate). Their spans are made when the call ends, with the
        call's true start time, so they are not current during the call; the other calls
        never reach the SDK.
    """

    botoware_name = "tracing"

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        attempt_spans: bool = False,
        propagate: bool = True,
        keep_only: KeepOnly | None = None,
        attempt_events: bool = True,
    ) -> None:
        if keep_only is not None and not isinstance(keep_only, KeepOnly):
            raise ConfigurationError(
                f"TracingPlugin(keep_only={keep_only!r}) must be a KeepOnly(...) or None."
            )
        if keep_only is not None and attempt_spans:
            raise ConfigurationError(
                "TracingPlugin(keep_only=..., attempt_spans=True): attempt spans are current "
                "while their attempt runs, but keep-only spans are made when the call ends. "
                "Drop one of the two."
            )
        if attempt_spans and not attempt_events:
            raise ConfigurationError(
                "TracingPlugin(attempt_spans=True, attempt_events=False): attempt spans need "
                "the per-attempt hooks that attempt_events=False removes. Drop one of the two."
            )
        self._provider = tracer_provider
        self._attempt_spans = attempt_spans
        self._attempt_events = attempt_events
        self._propagate = propagate
        self._keep_only = keep_only
        # (provider, tracer or None when the provider cannot record, what its sampler lets us
        # know up front): one tuple, swapped whole.
        self._resolved: tuple[object, Tracer | None, int] = (None, None, _SAMPLER_DECIDES)
        if tracer_provider is not None:
            self._resolved = _resolve(tracer_provider)
        # (service, operation, region) -> span name, start attributes, request extractor.
        self._openings: dict[tuple[str, str, str | None], _Opening] = {}
        self._deferred_warned = False
        self._failed = False
        # Hooks this configuration never needs are hidden from botoware (see __dir__).
        unwanted: set[str] = set()
        if not attempt_events:
            unwanted.update(("botoware_request_created", "botoware_response_received"))
        if keep_only is not None:
            unwanted.add("botoware_request_created")  # no live span, no retry delay to time
            # A run span would be recorded whether or not any of its calls is kept.
            unwanted.update(("botoware_run_start", "botoware_run_end"))
            if not propagate:
                unwanted.add("botoware_call_start")  # nothing to do up front
        self._unwanted = frozenset(unwanted)

    def __dir__(self) -> Iterable[str]:
        # botoware finds a plugin's hooks with dir(): every hook it finds is dispatched on
        # every call, which costs microseconds even when the hook returns at once.
        return [name for name in super().__dir__() if name not in self._unwanted]

    def __repr__(self) -> str:
        provider = "global" if self._provider is None else type(self._provider).__name__
        keep = "" if self._keep_only is None else f", keep_only={self._keep_only!r}"
        events = "" if self._attempt_events else ", attempt_events=False"
        return (
            f"TracingPlugin(tracer_provider={provider}, attempt_spans={self._attempt_spans}, "
            f"propagate={self._propagate}{keep}{events})"
        )

    # ---- clients ------------------------------------------------------------------------

    def botoware_client_created(self, client: BaseClient) -> None:
        if client.meta.service_model.service_name == "s3":
            carry_context_into_transfers(client)

    # ---- the start of a call ------------------------------------------------------------

    def botoware_call_start(self, call: Call) -> Any:
        # The first hook of a call, so the span also covers failures in botocore's own
        # before-parameter-build handlers; no other plugin's answer can skip it.
        # STEP_OUT: a call with no span needs none of the plugin's later hooks.
        if call.presigned:
            return STEP_OUT  # sends nothing, so no terminal hook would end a span
        try:
            params: dict[str, Any] = call.params  # type: ignore[assignment]
            current = otel_context.get_current()
            if call.service == "s3":
                carried = transfer_context()  # a part of upload_file() & co, in a worker thread
                if (
                    carried is not None
                    and not trace.get_current_span(current).get_span_context().is_valid
                ):
                    current = carried
            if current:  # an empty context suppresses nothing
                if current.get(_SUPPRESS_INSTRUMENTATION_KEY) or current.get(_SUPPRESS_PLAIN):
                    return STEP_OUT
                if current.get(_SUPPRESS_HTTP_INSTRUMENTATION_KEY) and self._deferred(current):
                    return STEP_OUT
            opening = self._openings.get((call.service, call.operation, call.region))
            if opening is None:
                opening = self._opening_of(call)
            touches = self._propagate and opening[3]
            resolved = self._resolved
            if self._provider is None and trace.get_tracer_provider() is not resolved[0]:
                resolved = self._resolved = _resolve(trace.get_tracer_provider())
            tracer, sampling = resolved[1], resolved[2]
            parent = current if call.run is None else _under_run(call.run, current)
            if tracer is None or (sampling != _SAMPLER_DECIDES and _not_sampled(sampling, parent)):
                if touches:  # with or without our span: the current context is what travels on
                    _inject(call, params)
                return STEP_OUT
            if self._keep_only is not None and not (
                touches and (call.service, call.operation) in _CARRIES_CONTEXT
            ):
                if touches:
                    _inject(call, params)  # SQS ReceiveMessage: ask for the trace attributes
                return None  # the span, if the call is kept, is made when it ends
            name, base, extract, _ = opening
            attributes = base.copy()
            kind = _CLIENT
            if extract is not None:
                kind = extract(call.operation, params, attributes, call.region) or _CLIENT
            span = tracer.start_span(name, parent, kind, attributes)
            if not span.is_recording():
                if touches:
                    _inject(call, params)
                return STEP_OUT
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            call.stash[_CALL] = _CallTrace(span, token)
            if touches:
                # Keep-only too: the message must carry this span's id before it leaves.
                _inject(call, params)
        except Exception:
            self._report("call_start")
        return None

    def _opening_of(self, call: Call) -> _Opening:
        """What every span of the call's (service, operation, region) starts with (cached)."""
        opening = _opening_of(call)
        if len(self._openings) >= _MAX_OPENINGS:
            self._openings.clear()  # operations x regions are few; a flood only re-builds
        self._openings[call.service, call.operation, call.region] = opening
        return opening

    # ---- attempts -----------------------------------------------------------------------

    def botoware_request_created(self, call: Call, request: AWSRequest) -> None:
        state = call.stash.get(_CALL, None)
        if state is None:
            return
        if not state.url:  # the first attempt's request (a request always has a URL)
            state.url = request.url or ""
        elif state.pending is not None:
            pending = state.pending
            pending[RETRY_DELAY] = (time.time_ns() - state.pending_ns) / 1e9
            state.span.add_event(ATTEMPT_EVENT, pending, state.pending_ns)
            state.pending = None
        if self._attempt_spans:
            self._start_attempt(call, state, call.attempt)

    def botoware_response_received(
        self,
        call: Call,
        response_dict: dict[str, Any] | None,
        parsed_response: dict[str, Any] | None,
        exception: Exception | None,
    ) -> None:
        if self._keep_only is not None:
            self._keep_attempt(call, call.attempt, response_dict, parsed_response, exception)
            return
        state = call.stash.get(_CALL, None)
        if state is None:
            return
        if (
            exception is None
            and state.attempt_span is None
            and response_dict is not None
            and response_dict.get("status_code", 500) < 300
            and call.attempt <= 1
        ):
            return  # a first attempt that succeeded: its event would never be recorded
        attempt = call.attempt
        attributes: _Attributes = {ATTEMPT_NUMBER: attempt}
        if exception is not None:
            attributes[_ERROR_TYPE] = _type_name(exception)
        elif response_dict is not None:
            status = response_dict.get("status_code")
            if isinstance(status, int):
                attributes[_STATUS_CODE] = status
                if status >= 300:
                    attributes[_ERROR_TYPE] = _error_code(parsed_response, status)
            if parsed_response:
                request_id = (parsed_response.get("ResponseMetadata") or {}).get("RequestId")
                if request_id:
                    attributes[_REQUEST_ID] = request_id
        state.pending = attributes
        state.pending_ns = time.time_ns()
        if state.attempt_span is not None:
            self._end_attempt(state, attributes, exception)

    # ---- the end of a call --------------------------------------------------------------

    @hookimpl(trylast=True)
    def botoware_after_call(
        self, call: Call, http_response: AWSResponse, parsed: dict[str, Any]
    ) -> None:
        state = call.stash.get(_CALL, None)
        if self._keep_only is not None:
            status = http_response.status_code
            error = None if status < 300 else _error_code(parsed, status)
            state = self._kept(call, state, status, error, http_response.url)
        if state is None:
            return
        url = state.url
        if not url:  # no request_created hook (attempt_events=False)
            url = state.url = http_response.url or ""
        try:
            attempt = call.attempt
            if state.pending is not None:
                _flush_attempt(state, attempt)
            span = state.span
            status = http_response.status_code
            server = _server_of(url) if url else _NO_SERVER
            # One dict display: the same keys, in the same order, as the error path's.
            if attempt > 1:
                attributes: _Attributes = {
                    **server,
                    _RESEND_COUNT: attempt - 1,
                    _STATUS_CODE: status,
                    LEGACY_STATUS_CODE: status,
                    LEGACY_RETRY_ATTEMPTS: attempt - 1,
                }
            else:
                attributes = {
                    **server,
                    _STATUS_CODE: status,
                    LEGACY_STATUS_CODE: status,
                    LEGACY_RETRY_ATTEMPTS: 0,
                }
            extract = RESPONSE_ATTRIBUTES.get(call.service)
            if extract is not None:
                extract(call.operation, parsed, attributes, url)
                if call.operation == "ReceiveMessage" and call.service == "sqs":
                    link_producers(span, parsed.get("Messages"))
            metadata = parsed.get("ResponseMetadata")
            if metadata:
                request_id = metadata.get("RequestId")
                if request_id:
                    attributes[_REQUEST_ID] = request_id
                if call.service == "s3":
                    host_id = metadata.get("HostId")
                    if host_id:
                        attributes[_EXTENDED_REQUEST_ID] = host_id
            if status >= 300:
                code = _error_code(parsed, status)
                attributes[_ERROR_TYPE] = code
                span.set_status(Status(StatusCode.ERROR, code))
                _record_client_error(span, parsed, call.operation)
            span.set_attributes(attributes)
        finally:
            _finish(state)

    @hookimpl(trylast=True)
    def botoware_after_call_error(self, call: Call, exception: BaseException) -> None:
        state = call.stash.get(_CALL, None)
        if self._keep_only is not None:
            state = self._kept(call, state, None, _type_name(exception), _url_of(exception))
        if state is None:
            return
        if not state.url:  # no request_created hook (attempt_events=False)
            state.url = _url_of(exception) or ""
        try:
            attempt = call.attempt
            _flush_attempt(state, attempt)
            span = state.span
            attributes = _end_attributes(state, attempt)
            attributes[_ERROR_TYPE] = _type_name(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
            _record_exception(span, exception)
            span.set_attributes(attributes)
        finally:
            _finish(state)

    # ---- paginators and waiters ---------------------------------------------------------

    def botoware_run_start(self, run: Run) -> None:
        current = otel_context.get_current()
        if current.get(_SUPPRESS_INSTRUMENTATION_KEY) or current.get(_SUPPRESS_PLAIN):
            return
        tracer = self._tracer()
        if tracer is None or _botocore_instrumented():
            return
        attributes: _Attributes = {
            _RPC_SERVICE: run.service_id,
            _RPC_METHOD: run.operation,
            _RUN_KIND: run.kind,
        }
        if run.region:
            attributes[_CLOUD_REGION] = run.region
        if run.kind == "wait":
            name = f"{run.service_id} wait {run.waiter_name}"
            attributes[_WAITER_NAME] = run.waiter_name or ""
        else:
            name = f"{run.service_id}.{run.operation} {run.kind}"
        span = tracer.start_span(name, current, SpanKind.INTERNAL, attributes)
        if span.is_recording():
            run.stash[_RUN] = span

    def botoware_run_end(self, run: Run, exception: BaseException | None) -> None:
        span = run.stash.get(_RUN, None)
        if span is None:
            return
        del run.stash[_RUN]
        span.set_attribute(_RUN_CALLS, run.calls)
        if exception is not None:
            span.set_attribute(_ERROR_TYPE, _type_name(exception))
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
            _record_exception(span, exception)
        span.end()

    # ---- helpers ------------------------------------------------------------------------

    def _tracer(self) -> Tracer | None:
        """The tracer to use for this call, or None when nothing could record a span."""
        return self._tracer_and_sampling()[0]

    def _tracer_and_sampling(self) -> tuple[Tracer | None, int]:
        resolved = self._resolved
        if self._provider is None:
            provider = trace.get_tracer_provider()
            if provider is not resolved[0]:
                resolved = _resolve(provider)
                self._resolved = resolved
        return resolved[1], resolved[2]

    # ---- keep-only ----------------------------------------------------------------------

    def _keep_attempt(
        self,
        call: Call,
        attempt: int,
        response_dict: dict[str, Any] | None,
        parsed: dict[str, Any] | None,
        exception: Exception | None,
    ) -> None:
        """Remember a failed attempt: a retry only follows one, and then its event is due."""
        status = None if response_dict is None else response_dict.get("status_code")
        if exception is None and isinstance(status, int) and status < 300:
            return
        attributes: _Attributes = {ATTEMPT_NUMBER: attempt}
        if exception is not None:
            attributes[_ERROR_TYPE] = _type_name(exception)
        elif isinstance(status, int):
            attributes[_STATUS_CODE] = status
            attributes[_ERROR_TYPE] = _error_code(parsed, status)
            request_id = ((parsed or {}).get("ResponseMetadata") or {}).get("RequestId")
            if request_id:
                attributes[_REQUEST_ID] = request_id
        call.stash.setdefault(_ATTEMPTS, []).append((attributes, time.time_ns()))

    def _kept(
        self,
        call: Call,
        state: _CallTrace | None,
        status: int | None,
        error: str | None,
        url: str | None,
    ) -> _CallTrace | None:
        """The span to end for a kept call (made now if the call had none), or None."""
        keep = self._keep_only
        assert keep is not None
        if not keep.keeps(call, status, error):
            if state is not None and state.token is not None:
                # A message carried this span's id, but the span is not kept: it is never
                # ended, so no span processor ever sees it.
                otel_context.detach(state.token)
                state.token = None
            return None
        if state is not None:
            _add_failed_attempts(call, state.span, status)
            return state
        tracer = self._tracer()
        if tracer is None:
            return None
        current = otel_context.get_current()
        if call.service == "s3":
            carried = transfer_context()
            if (
                carried is not None
                and not trace.get_current_span(current).get_span_context().is_valid
            ):
                current = carried
        if current and (
            current.get(_SUPPRESS_INSTRUMENTATION_KEY)
            or current.get(_SUPPRESS_PLAIN)
            or (current.get(_SUPPRESS_HTTP_INSTRUMENTATION_KEY) and self._deferred(current))
        ):
            return None
        parent = current if call.run is None else _under_run(call.run, current)
        # call.started is monotonic: the wall-clock start is now minus the call's duration.
        start_ns = time.time_ns() - int((time.monotonic() - call.started) * 1e9)
        opening = self._openings.get((call.service, call.operation, call.region))
        if opening is None:
            opening = self._opening_of(call)
        name, base, extract, _ = opening
        attributes = base.copy()
        kind = _CLIENT
        if extract is not None:
            kind = extract(call.operation, call.params, attributes, call.region) or _CLIENT
        span = tracer.start_span(name, parent, kind, attributes, start_time=start_ns)
        if not span.is_recording():
            return None
        state = _CallTrace(span, None)
        state.url = url or ""
        _add_failed_attempts(call, span, status)
        return state

    def _report(self, hook: str) -> None:
        level = logging.DEBUG if self._failed else logging.ERROR
        self._failed = True
        exc_info = _errors.loggable(sys.exc_info()[1])
        logger.log(level, "tracing failed in %s; the AWS call goes on", hook, exc_info=exc_info)

    def _deferred(self, current: Context) -> bool:
        """True when opentelemetry-instrumentation-botocore already traces this call.

        Its wrapper around ``BaseClient._make_api_call`` opens its span and suppresses HTTP
        instrumentation before botocore emits any event, so its span is the current one here.
        Asking the span rather than the instrumentor also covers clients that kept its wrapper
        after ``uninstrument()``, and clients that never had it.
        """
        if not _traced_by_instrumentor(current):
            return False
        if not self._deferred_warned:
            self._deferred_warned = True
            warnings.warn(
                "opentelemetry-instrumentation-botocore is tracing botocore: botoware's tracing "
                "plugin keeps its spans and makes none of its own (nor propagates context) for "
                "the calls it traces. Call BotocoreInstrumentor().uninstrument() and create "
                "clients anew to get botoware's spans.",
                BotowareWarning,
                stacklevel=2,
            )
        return True

    def _start_attempt(self, call: Call, state: _CallTrace, attempt: int) -> None:
        if state.attempt_span is not None:  # the previous attempt never got a response
            _end_attempt_span(state)
        tracer = self._resolved[1]
        if tracer is None:
            return
        attributes: _Attributes = {ATTEMPT_NUMBER: attempt}
        if attempt > 1:
            attributes[_RESEND_COUNT] = attempt - 1
        parent = trace.set_span_in_context(state.span)
        span = tracer.start_span(
            f"{call.service_id}.{call.operation} attempt", parent, SpanKind.INTERNAL, attributes
        )
        state.attempt_span = span
        state.attempt_token = otel_context.attach(trace.set_span_in_context(span))

    @staticmethod
    def _end_attempt(
        state: _CallTrace, attributes: _Attributes, exception: BaseException | None
    ) -> None:
        span = state.attempt_span
        if span is None:
            return
        span.set_attributes({k: v for k, v in attributes.items() if k != ATTEMPT_NUMBER})
        error = attributes.get(_ERROR_TYPE)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, str(error)))
        if exception is not None:
            _record_exception(span, exception)
        _end_attempt_span(state)


def plugin() -> TracingPlugin:
    """The ``"tracing"`` built-in: the global tracer provider, context propagation on."""
    return TracingPlugin()


# -------------------------------------------------------------------------------------------
# Spans
# -------------------------------------------------------------------------------------------


def _tracer_of(provider: object) -> Tracer | None:
    if isinstance(provider, ProxyTracerProvider):
        return None  # the global provider is not set: the proxy would hand out no-op tracers
    from botoware import __version__

    tracer: Tracer = provider.get_tracer("botoware", __version__)  # type: ignore[attr-defined]
    return None if isinstance(tracer, NoOpTracer) else tracer


def _resolve(provider: object) -> tuple[object, Tracer | None, int]:
    tracer = _tracer_of(provider)
    return provider, tracer, _sampling_of(tracer)


_SDK_SAMPLERS = "opentelemetry.sdk.trace.sampling"
_DROPS_UNSAMPLED_PARENTS = (
    "remoteParentNotSampled:AlwaysOffSampler",
    "localParentNotSampled:AlwaysOffSampler",
)


def _sampling_of(tracer: object) -> int:
    """What the SDK's own samplers decide without being asked: ``ALWAYS_OFF`` drops every
    span, ``ParentBased`` (the default) drops the child of a parent that was not sampled.
    Knowing it, a call that would get a dropped span never builds its attributes or reaches
    the SDK. Any other sampler is asked for every call."""
    sampler = getattr(tracer, "sampler", None)
    if sampler is None or type(sampler).__module__ != _SDK_SAMPLERS:
        return _SAMPLER_DECIDES
    try:
        description = str(sampler.get_description())
    except Exception:
        return _SAMPLER_DECIDES
    if description == "AlwaysOffSampler":
        return _NEVER_SAMPLED
    if description.startswith("ParentBased{") and all(
        part in description for part in _DROPS_UNSAMPLED_PARENTS
    ):
        return _PARENT_DECIDES
    return _SAMPLER_DECIDES


def _under_run(run: Run, current: Context) -> Context:
    """The parent of a run's call: the run's span when it has one, else ``current``."""
    run_span = run.stash.get(_RUN, None)
    return current if run_span is None else trace.set_span_in_context(run_span, current)


def _not_sampled(sampling: int, parent: Context) -> bool:
    """True when the tracer's sampler is known to drop a span with this parent."""
    if sampling == _SAMPLER_DECIDES:
        return False
    if sampling == _NEVER_SAMPLED:
        return True
    if not parent:
        return False  # no parent: the root sampler decides
    context = trace.get_current_span(parent).get_span_context()
    return context.is_valid and not context.trace_flags.sampled


def _add_failed_attempts(call: Call, span: Span, status: int | None) -> None:
    """Keep-only: the events of a retried call, from the failed attempts it remembered."""
    attempts = call.stash.get(_ATTEMPTS, None)
    attempt = call.attempt
    if attempts and attempt > 1:
        for attributes, at_ns in attempts:
            span.add_event(ATTEMPT_EVENT, attributes, at_ns)
        if attempts[-1][0][ATTEMPT_NUMBER] != attempt and status is not None:
            span.add_event(ATTEMPT_EVENT, {ATTEMPT_NUMBER: attempt, _STATUS_CODE: status})


def _flush_attempt(state: _CallTrace, attempt: int) -> None:
    """Record the last attempt's event (no next attempt, so no delay) if the call retried.

    A call answered at its first attempt gets no event: the span's own attributes say all
    the event would, and span events cost CPU here and storage (often money) in backends.
    """
    if state.pending is not None:
        if attempt > 1:
            state.span.add_event(ATTEMPT_EVENT, state.pending, state.pending_ns)
        state.pending = None


def _finish(state: _CallTrace) -> None:
    """Restore the caller's context first, whatever a broken SDK does while ending spans."""
    try:
        if state.attempt_token is not None:
            otel_context.detach(state.attempt_token)
            state.attempt_token = None
        if state.token is not None:  # keep-only spans are made at the end, never attached
            otel_context.detach(state.token)
    finally:
        if state.attempt_span is not None:
            state.attempt_span.end()
            state.attempt_span = None
        if not state.held:
            state.span.end()


def _end_attempt_span(state: _CallTrace) -> None:
    if state.attempt_token is not None:
        otel_context.detach(state.attempt_token)
        state.attempt_token = None
    if state.attempt_span is not None:
        state.attempt_span.end()
        state.attempt_span = None


def _end_attributes(state: _CallTrace, attempt: int) -> _Attributes:
    attributes: _Attributes = _server_of(state.url).copy() if state.url else {}
    if attempt > 1:
        attributes[_RESEND_COUNT] = attempt - 1
    return attributes


_DEFAULT_PORTS = {"https": 443, "http": 80}
_NO_SERVER: _Attributes = {}


def _server_of(url: str) -> _Attributes:
    """``server.address`` and ``server.port`` of the request URL, without urllib's cost
    (shared: copy before changing)."""
    end = url.find("/", url.find("://") + 3)
    origin = url if end < 0 else url[:end]
    server = _SERVERS.get(origin)
    if server is None:
        server = {}
        _parse_server(server, origin)
        if len(_SERVERS) >= _MAX_SERVERS:
            _SERVERS.clear()  # endpoints are few; a flood of them only costs a re-parse
        _SERVERS[origin] = server
    return server


_SERVERS: dict[str, _Attributes] = {}  # scheme://netloc -> its server attributes
_MAX_SERVERS = 512


def _parse_server(attributes: _Attributes, url: str) -> None:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if netloc.startswith("["):  # IPv6 literal
        host, _, tail = netloc[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = netloc.partition(":")
    if host:
        attributes[_SERVER_ADDRESS] = host
        if port.isdigit():
            attributes[_SERVER_PORT] = int(port)
        elif scheme in _DEFAULT_PORTS:
            attributes[_SERVER_PORT] = _DEFAULT_PORTS[scheme]


def _url_of(exception: BaseException) -> str | None:
    """The endpoint a transport error names (botocore's connection and timeout errors do)."""
    kwargs = getattr(exception, "kwargs", None)
    url = kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None
    return url if isinstance(url, str) else None


def _type_name(exception: BaseException) -> str:
    """The fully qualified class name, as the SDK writes ``exception.type``."""
    cls = type(exception)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _error_code(parsed: Mapping[str, Any] | None, status: int) -> str:
    error = parsed.get("Error") if parsed else None
    code = error.get("Code") if isinstance(error, Mapping) else None
    return str(code) if code else str(status)


def _record_client_error(span: Span, parsed: dict[str, Any], operation: str) -> None:
    """Record the ClientError botocore raises right after ``after_call``."""
    _errors.record_client_error(span, parsed, operation)


def _record_exception(span: Span, exception: BaseException) -> None:
    # Validation and serialization errors quote the offending values, which may be secrets.
    _errors.record(span, exception)


_INSTRUMENTOR = "opentelemetry.instrumentation.botocore"


def _traced_by_instrumentor(current: Context) -> bool:
    if _INSTRUMENTOR not in sys.modules:
        return False
    span = trace.get_current_span(current)
    scope = getattr(span, "instrumentation_scope", None)  # SDK spans know their tracer
    if scope is not None:
        return str(getattr(scope, "name", "")).startswith(_INSTRUMENTOR)
    return span.is_recording() and _botocore_instrumented()


def _botocore_instrumented() -> bool:
    """Whether opentelemetry-instrumentation-botocore currently patches botocore."""
    module = sys.modules.get(_INSTRUMENTOR)
    instrumentor = getattr(module, "BotocoreInstrumentor", None)
    if instrumentor is None:
        return False
    try:
        return bool(instrumentor().is_instrumented_by_opentelemetry)
    except Exception:  # an unexpected version: assume it does not trace
        return False


# -------------------------------------------------------------------------------------------
# Context propagation into messages
# -------------------------------------------------------------------------------------------


def _carrier() -> dict[str, str]:
    # Imported here: loading the propagators takes milliseconds at start-up (a Lambda cold
    # start pays them), and most processes never send a message.
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _with_trace_attributes(
    existing: object, carrier: Mapping[str, str], where: str
) -> dict[str, Any] | None:
    """``existing`` message attributes plus the carrier's, or None to leave them alone."""
    if existing is None:
        existing = {}
    elif not isinstance(existing, Mapping):
        return None  # botocore's validation will report it
    new = {
        key: {"DataType": "String", "StringValue": value}
        for key, value in carrier.items()
        if key not in existing
    }
    if not new:
        return None
    if len(existing) + len(new) > _MAX_MESSAGE_ATTRIBUTES:
        logger.debug(
            "%s already has %d message attributes; the %d of the trace context would pass "
            "the limit of %d, so the trace context is not propagated",
            where,
            len(existing),
            len(new),
            _MAX_MESSAGE_ATTRIBUTES,
        )
        return None
    return {**existing, **new}


def _split_trace_header(carrier: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """The carrier without the X-Ray header, and the header (None when there is none)."""
    for key, value in carrier.items():
        if key.lower() == _XRAY_HEADER:
            return {k: v for k, v in carrier.items() if k != key}, value
    return carrier, None


def _with_trace_header(existing: object, header: str) -> dict[str, Any] | None:
    """SQS ``MessageSystemAttributes`` with ``AWSTraceHeader``, or None to leave them alone."""
    if existing is None:
        existing = {}
    elif not isinstance(existing, Mapping):
        return None  # botocore's validation will report it
    if SQS_TRACE_HEADER in existing:
        return None  # the caller's own header wins
    return {**existing, SQS_TRACE_HEADER: {"DataType": "String", "StringValue": header}}


def _trace_changes(
    entry: Mapping[str, Any], carrier: dict[str, str], header: str | None, where: str
) -> dict[str, Any]:
    """The new values of ``entry``'s (a request's or a batch entry's) attribute maps."""
    changes: dict[str, Any] = {}
    if header is not None:
        system = _with_trace_header(entry.get("MessageSystemAttributes"), header)
        if system is not None:
            changes["MessageSystemAttributes"] = system
    if carrier:
        attributes = _with_trace_attributes(entry.get("MessageAttributes"), carrier, where)
        if attributes is not None:
            changes["MessageAttributes"] = attributes
    return changes


def _trace_context(system_attribute: bool) -> tuple[dict[str, str], str | None]:
    """The carrier, and (for SQS) the X-Ray header split off for ``AWSTraceHeader``.

    X-Ray and Lambda read an SQS message's trace context from its ``AWSTraceHeader`` system
    attribute, which also leaves the ten message attributes to the user.
    """
    carrier = _carrier()
    if system_attribute and carrier:
        return _split_trace_header(carrier)
    return carrier, None


def _inject_message(params: MutableMapping[str, Any], where: str, sqs: bool = False) -> None:
    carrier, header = _trace_context(sqs)
    if carrier or header is not None:
        params.update(_trace_changes(params, carrier, header, where))


def _inject_batch(
    params: MutableMapping[str, Any], key: str, where: str, sqs: bool = False
) -> None:
    entries = params.get(key)
    if not isinstance(entries, list):
        return
    carrier, header = _trace_context(sqs)
    if not carrier and header is None:
        return
    # New entry dicts and a new list: the user's own objects stay as they were.
    fresh: list[Any] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            changes = _trace_changes(entry, carrier, header, f"{where} entry {index}")
            if changes:
                entry = {**entry, **changes}
        fresh.append(entry)
    params[key] = fresh


def _ask_for_trace_context(params: MutableMapping[str, Any]) -> None:
    """ReceiveMessage: also ask for the attributes the trace context travels in.

    The global propagator's fields (``traceparent``, ...) as message attributes, and the
    ``AWSTraceHeader`` system attribute, unless the caller asks for them (or "All") already.
    New lists replace the caller's; messages then also carry these attributes.
    """
    from opentelemetry import propagate  # see _carrier

    try:
        fields = sorted(propagate.get_global_textmap().fields)
    except Exception:  # a propagator without fields: nothing to ask for
        fields = []
    names = params.get("MessageAttributeNames")
    if names is None or isinstance(names, list):
        names = names or []
        if fields and "All" not in names and ".*" not in names:
            wanted = [field for field in fields if field not in names]
            if wanted:
                params["MessageAttributeNames"] = [*names, *wanted]
    legacy = params.get("AttributeNames")
    system = params.get("MessageSystemAttributeNames")
    asked: list[Any] = []
    for value in (legacy, system):
        if isinstance(value, list):
            asked.extend(value)
        elif value is not None:
            return  # botocore's validation will report it
    if "All" in asked or SQS_TRACE_HEADER in asked:
        return
    key = (
        "AttributeNames"
        if legacy is not None and system is None
        else ("MessageSystemAttributeNames")
    )
    params[key] = [*(params.get(key) or []), SQS_TRACE_HEADER]


def _inject_client_context(params: MutableMapping[str, Any], where: str) -> None:
    carrier = _carrier()
    if not carrier:
        return
    raw = params.get("ClientContext")
    document: Any = {}
    if raw is not None:
        try:
            document = json.loads(base64.b64decode(raw, validate=True))
        except (TypeError, ValueError, binascii.Error):
            logger.debug("%s has a ClientContext that is not base64 JSON; left alone", where)
            return
        if not isinstance(document, dict):
            return
    custom = document.get("custom")
    if custom is None:
        custom = {}
    elif not isinstance(custom, dict):
        return
    new = {key: value for key, value in carrier.items() if key not in custom}
    if not new:
        return
    encoded = base64.b64encode(
        json.dumps({**document, "custom": {**custom, **new}}, separators=(",", ":")).encode()
    ).decode()
    if len(encoded) > _MAX_CLIENT_CONTEXT:
        logger.debug(
            "%s: ClientContext with the trace context would pass %d bytes; not propagated",
            where,
            _MAX_CLIENT_CONTEXT,
        )
        return
    params["ClientContext"] = encoded


def _inject_sqs(operation: str, params: MutableMapping[str, Any]) -> None:
    if operation == "SendMessage":
        _inject_message(params, "SQS SendMessage", sqs=True)
    elif operation == "SendMessageBatch":
        _inject_batch(params, "Entries", "SQS SendMessageBatch", sqs=True)
    elif operation == "ReceiveMessage":
        _ask_for_trace_context(params)


def _inject_sns(operation: str, params: MutableMapping[str, Any]) -> None:
    if operation == "Publish":
        _inject_message(params, "SNS Publish")
    elif operation == "PublishBatch":
        _inject_batch(params, "PublishBatchRequestEntries", "SNS PublishBatch")


def _inject_lambda(operation: str, params: MutableMapping[str, Any]) -> None:
    if operation in ("Invoke", "InvokeWithResponseStream"):
        _inject_client_context(params, f"Lambda {operation}")


_CARRIES_CONTEXT = frozenset(
    {
        ("sqs", "SendMessage"),
        ("sqs", "SendMessageBatch"),
        ("sns", "Publish"),
        ("sns", "PublishBatch"),
        ("lambda", "Invoke"),
        ("lambda", "InvokeWithResponseStream"),
    }
)
"""(service, operation) of the calls whose messages carry the call's span context."""
_TOUCHED = _CARRIES_CONTEXT | {("sqs", "ReceiveMessage")}
"""... and of every call whose parameters :func:`_inject` changes."""

_INJECTORS: dict[str, Callable[[str, MutableMapping[str, Any]], None]] = {
    "sqs": _inject_sqs,
    "sns": _inject_sns,
    "lambda": _inject_lambda,
}


def _inject(call: Call, params: dict[str, Any]) -> None:
    """Put the current trace context into the call's message(s), replacing (never mutating)
    the user's nested dicts and lists."""
    _INJECTORS[call.service](call.operation, params)
