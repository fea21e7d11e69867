"""Prometheus metrics for every AWS call: the ``"metrics"`` built-in plugin.

Five metrics with fixed names, so dashboards and alerts can be written once::

    aws_client_calls_total{aws_service, aws_operation, outcome}      success | error
    aws_client_errors_total{aws_service, aws_operation, error_code}  AWS error code or class
    aws_client_call_duration_seconds{aws_service, aws_operation}     histogram of the call
    aws_client_attempts_total{aws_service, aws_operation}            every HTTP attempt
    aws_client_calls_in_flight{aws_service}                          gauge

``aws_service`` is botocore's hyphenized service id (``"s3"``, ``"dynamodb"``),
``aws_operation`` the operation name (``"GetObject"``): both come from botocore's service
models, so they are bounded. (Not ``service``: Prometheus's own target labels ``job``,
``instance``, ``namespace``, ``pod``, ``service`` ... would rename a metric label of the same
name to ``exported_...``.) ``error_code`` is bounded by :class:`MetricsPlugin`'s
``max_error_codes``. Bucket names, keys, ARNs, request ids and parameters never become labels.

::

    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    with botoware.install(session, plugins=[MetricsPlugin(registry)], autoload=False):
        session.client("s3").list_buckets()
    labels = {"aws_service": "s3", "aws_operation": "ListBuckets", "outcome": "success"}
    registry.get_sample_value("aws_client_calls_total", labels)  # 1.0

When an OpenTelemetry span is current and sampled, the duration observation carries its
trace and span ids as an exemplar (OpenMetrics exposition). With ``meter_provider=`` the same
measurements also go to OpenTelemetry instruments.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union, cast, final

import prometheus_client.metrics
import prometheus_client.values
from botocore.exceptions import ClientError
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar, Sample
from prometheus_client.utils import floatToGoString

from botoware import _redaction as _errors
from botoware._lazy import Pattern
from botoware.errors import ConfigurationError
from botoware.hooks.call import StashKey
from botoware.hooks.markers import hookimpl
from botoware.hooks.specs import STEP_OUT

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.util.types import Attributes

    from botoware.hooks.call import Call

__all__ = [
    "CALLS",
    "CALLS_IN_FLIGHT",
    "CALL_DURATION",
    "ATTEMPTS",
    "DEFAULT_BUCKETS",
    "ERRORS",
    "EXEMPLAR_INTERVAL",
    "OTEL_ACTIVE_CALLS",
    "OTEL_ATTEMPTS",
    "OPERATION_LABEL",
    "OTEL_CALL_DURATION",
    "OTHER_ERROR_CODE",
    "SERVICE_LABEL",
    "MetricsPlugin",
    "plugin",
]

logger = logging.getLogger(__name__)

CALLS = "aws_client_calls_total"
"""Counter: API calls that ended, by ``aws_service``, ``aws_operation`` and ``outcome``."""
ERRORS = "aws_client_errors_total"
"""Counter: failed API calls, by ``aws_service``, ``aws_operation`` and ``error_code``."""
CALL_DURATION = "aws_client_call_duration_seconds"
"""Histogram: seconds from the call to its end, retries and backoff included."""
ATTEMPTS = "aws_client_attempts_total"
"""Counter: HTTP attempts, by ``aws_service`` and ``aws_operation`` (retries: attempts - calls)."""
CALLS_IN_FLIGHT = "aws_client_calls_in_flight"
"""Gauge: API calls started and not yet ended, by ``aws_service``."""

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (seconds) of the duration histogram: a DynamoDB read in the same region to a
long S3 transfer or Lambda invocation; slower calls land in ``+Inf``."""

EXEMPLAR_INTERVAL = 1.0
"""Seconds between new exemplars of one duration bucket (per service and operation)."""

OTHER_ERROR_CODE = "other"
"""The ``error_code`` of errors whose code is malformed, longer than 64 characters, or new
after ``max_error_codes`` distinct codes were seen."""

# AWS error codes ("NoSuchKey", "AWS.SimpleQueueService.NonExistentQueue", "404") and
# exception class names; anything else (spaces, markup, a message in the code field) is
# not a code. Compiled when a first error code is seen, not at every cold start.
_CODE = Pattern(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

# -------------------------------------------------------------------------------------------
# Collectors: one set per registry
# -------------------------------------------------------------------------------------------


def _exemplar_due(
    series: _ClientSeries | _FastSeries, elapsed: float, now: float
) -> tuple[int, dict[str, str] | None]:
    """The bucket ``elapsed`` falls in, and the current span's ids unless that bucket got an
    exemplar less than :data:`EXEMPLAR_INTERVAL` ago.

    Exposition keeps only the latest exemplar of each bucket, so one per second is all a
    scraper can see; skipping the others saves the span lookup and id formatting.
    """
    index = bisect_left(series.bounds, elapsed)
    if now >= series.exemplar_due[index]:
        exemplar = _exemplar()
        if exemplar is not None:
            series.exemplar_due[index] = now + EXEMPLAR_INTERVAL
            return index, exemplar
    return index, None


@final
class _FastSeries:
    """The numbers of one (service, operation), updated under one lock per call end.

    The default backend: a call costs one lock and a few additions instead of five locked
    prometheus_client values; :class:`_Collector` turns the numbers into the same metric
    families at scrape time.
    """

    __slots__ = (
        "bounds",
        "counts",
        "created",
        "errors",
        "exemplar_due",
        "exemplars",
        "flight",
        "lock",
        "operation",
        "otel",
        "service",
        "totals",
    )

    def __init__(self, metrics: _Metrics, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        self.lock = metrics.values_lock
        self.bounds = metrics.buckets
        self.totals = [0.0, 0.0, 0.0, 0.0]  # successes, errors, attempts, seconds
        self.counts = [0.0] * (len(metrics.buckets) + 1)  # per bucket, +Inf last; not cumulative
        self.exemplars: list[Exemplar | None] = [None] * (len(metrics.buckets) + 1)
        self.exemplar_due = [0.0] * (len(metrics.buckets) + 1)
        self.errors: dict[str, float] = {}  # admitted error code -> count
        self.flight = metrics.flight_of(service)  # [calls in flight], shared per service
        self.created = time.time()
        self.otel: _OtelSeries | None = None

    def start(self) -> None:
        with self.lock:
            self.flight[0] += 1

    def end(
        self, label: str | None, elapsed: float, now: float, attempts: int, started: bool
    ) -> None:
        # _exemplar_due, inline: this runs at the end of every call.
        index = bisect_left(self.bounds, elapsed)
        exemplar = None
        if now >= self.exemplar_due[index] and otel_context.get_current():
            ids = _exemplar()
            if ids is not None:
                self.exemplar_due[index] = now + EXEMPLAR_INTERVAL
                exemplar = Exemplar(ids, elapsed, time.time())
        with self.lock:
            if started:
                self.flight[0] -= 1
            totals = self.totals
            if label is None:
                totals[0] += 1
            else:
                totals[1] += 1
                self.errors[label] = self.errors.get(label, 0.0) + 1.0
            totals[2] += attempts
            totals[3] += elapsed
            self.counts[index] += 1.0
            if exemplar is not None:
                self.exemplars[index] = exemplar


_Series = Union["_FastSeries", "_ClientSeries"]


@final
class _ClientSeries:
    """The prometheus_client children of one (service, operation): the backend in
    prometheus_client's multiprocess mode, whose values live in shared files."""

    __slots__ = (
        "attempt",
        "bounds",
        "error",
        "error_counter",
        "errors",
        "exemplar_due",
        "in_flight_dec",
        "in_flight_inc",
        "observe",
        "operation",
        "otel",
        "service",
        "success",
    )

    def __init__(self, metrics: _Metrics, service: str, operation: str) -> None:
        calls, errors, duration, attempts, in_flight = metrics.client_collectors()
        self.error_counter = errors
        self.service = service
        self.operation = operation
        self.success: Callable[[], None] = calls.labels(service, operation, "success").inc
        self.error: Callable[[], None] = calls.labels(service, operation, "error").inc
        self.observe: Callable[[float, dict[str, str] | None], None] = duration.labels(
            service, operation
        ).observe
        self.attempt: Callable[[float], None] = attempts.labels(service, operation).inc
        gauge = in_flight.labels(service)
        self.in_flight_inc: Callable[[], None] = gauge.inc
        self.in_flight_dec: Callable[[], None] = gauge.dec
        self.errors: dict[str, Callable[[], None]] = {}  # admitted error code -> the child's inc
        self.otel: _OtelSeries | None = None
        self.bounds = metrics.buckets
        self.exemplar_due = [0.0] * (len(metrics.buckets) + 1)

    def start(self) -> None:
        self.in_flight_inc()

    def end(
        self, label: str | None, elapsed: float, now: float, attempts: int, started: bool
    ) -> None:
        if started:
            self.in_flight_dec()
        if label is None:
            self.success()
        else:
            self.error()
            inc = self.errors.get(label)
            if inc is None:
                child = self.error_counter.labels(self.service, self.operation, label)
                inc = self.errors[label] = child.inc
            inc()
        self.observe(elapsed, _exemplar_due(self, elapsed, now)[1])
        if attempts:
            self.attempt(attempts)


_HELP = {
    CALLS: "AWS API calls that ended, by outcome (success or error).",
    ERRORS: "Failed AWS API calls by AWS error code, or exception class when no response came.",
    CALL_DURATION: "Duration of AWS API calls, all attempts and retry delays included.",
    ATTEMPTS: "HTTP attempts of AWS API calls; retries are attempts minus calls.",
    CALLS_IN_FLIGHT: "AWS API calls started and not yet ended.",
}
SERVICE_LABEL = "aws_service"
"""The label of the hyphenized service id; never ``service``, a common Prometheus target label."""
OPERATION_LABEL = "aws_operation"
"""The label of the operation name (``GetObject``)."""
_LABELS = {
    CALLS: (SERVICE_LABEL, OPERATION_LABEL, "outcome"),
    ERRORS: (SERVICE_LABEL, OPERATION_LABEL, "error_code"),
    CALL_DURATION: (SERVICE_LABEL, OPERATION_LABEL),
    ATTEMPTS: (SERVICE_LABEL, OPERATION_LABEL),
    CALLS_IN_FLIGHT: (SERVICE_LABEL,),
}


def _families() -> tuple[
    CounterMetricFamily,
    CounterMetricFamily,
    HistogramMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
]:
    return (
        CounterMetricFamily(CALLS, _HELP[CALLS], labels=_LABELS[CALLS]),
        CounterMetricFamily(ERRORS, _HELP[ERRORS], labels=_LABELS[ERRORS]),
        HistogramMetricFamily(CALL_DURATION, _HELP[CALL_DURATION], labels=_LABELS[CALL_DURATION]),
        CounterMetricFamily(ATTEMPTS, _HELP[ATTEMPTS], labels=_LABELS[ATTEMPTS]),
        GaugeMetricFamily(CALLS_IN_FLIGHT, _HELP[CALLS_IN_FLIGHT], labels=_LABELS[CALLS_IN_FLIGHT]),
    )


@final
class _Collector(Collector):
    """Exposes the :class:`_FastSeries` of one registry as the five metric families."""

    def __init__(self, metrics: _Metrics) -> None:
        self._metrics = metrics
        go_string = cast("Callable[[float], str]", floatToGoString)  # untyped upstream
        self._bounds = [go_string(b) for b in (*metrics.buckets, float("inf"))]

    def describe(self) -> list[Metric]:
        return list(_families())

    def collect(self) -> list[Metric]:
        metrics = self._metrics
        with metrics.values_lock:
            rows = [
                (
                    series.service,
                    series.operation,
                    list(series.totals),
                    list(series.counts),
                    list(series.exemplars),
                    dict(series.errors),
                    series.created,
                )
                for series in list(metrics.series.values())
                if isinstance(series, _FastSeries)
            ]
            flights = {service: flight[0] for service, flight in metrics.flights.items()}
        calls, errors, duration, attempts, in_flight = _families()
        with_created = _created_series()
        for service, operation, totals, counts, exemplars, codes, created in rows:
            at = created if with_created else None
            calls.add_metric([service, operation, "success"], totals[0], created=at)
            calls.add_metric([service, operation, "error"], totals[1], created=at)
            for code, count in codes.items():
                errors.add_metric([service, operation, code], count, created=at)
            attempts.add_metric([service, operation], totals[2], created=at)
            buckets: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
            cumulative = 0.0
            for le, count, exemplar in zip(self._bounds, counts, exemplars, strict=True):
                cumulative += count
                buckets.append((le, cumulative) if exemplar is None else (le, cumulative, exemplar))
            duration.add_metric([service, operation], buckets, totals[3])
            if with_created:
                labels = {SERVICE_LABEL: service, OPERATION_LABEL: operation}
                duration.samples.append(Sample(f"{CALL_DURATION}_created", labels, created))
        for service, flight in flights.items():
            in_flight.add_metric([service], flight)
        return [calls, errors, duration, attempts, in_flight]


def _created_series() -> bool:
    """prometheus_client's own switch (``PROMETHEUS_DISABLE_CREATED_SERIES``)."""
    return bool(getattr(prometheus_client.metrics, "_use_created", True))


@final
class _Metrics:
    """The metrics of one registry, shared by every plugin built on it."""

    __slots__ = (
        "_client",
        "buckets",
        "codes",
        "collector",
        "fast",
        "flights",
        "lock",
        "max_error_codes",
        "series",
        "values_lock",
    )

    def __init__(self, buckets: tuple[float, ...], max_error_codes: int) -> None:
        self.buckets = buckets
        self.max_error_codes = max_error_codes
        # prometheus_client's multiprocess mode keeps values in shared files: use its metrics.
        self.fast = prometheus_client.values.ValueClass is prometheus_client.values.MutexValue
        self.collector: Collector | None = _Collector(self) if self.fast else None
        self._client: tuple[Counter, Counter, Histogram, Counter, Gauge] | None = None
        self.series: dict[tuple[str, str], _Series] = {}
        self.flights: dict[str, list[float]] = {}
        self.codes: set[str] = set()
        self.lock = threading.Lock()  # new series and error codes
        self.values_lock = threading.Lock()  # the numbers of every _FastSeries

    def collectors(self) -> tuple[Collector, ...]:
        if self.collector is not None:
            return (self.collector,)
        return tuple(self.client_collectors())

    def client_collectors(self) -> tuple[Counter, Counter, Histogram, Counter, Gauge]:
        if self._client is None:
            self._client = (
                Counter(CALLS, _HELP[CALLS], _LABELS[CALLS], registry=None),
                Counter(ERRORS, _HELP[ERRORS], _LABELS[ERRORS], registry=None),
                Histogram(
                    CALL_DURATION,
                    _HELP[CALL_DURATION],
                    _LABELS[CALL_DURATION],
                    buckets=self.buckets,
                    registry=None,
                ),
                Counter(ATTEMPTS, _HELP[ATTEMPTS], _LABELS[ATTEMPTS], registry=None),
                # livesum: in multiprocess mode, the sum over live processes (a dead worker's
                # calls are no longer in flight once mark_process_dead() ran for it).
                Gauge(
                    CALLS_IN_FLIGHT,
                    _HELP[CALLS_IN_FLIGHT],
                    _LABELS[CALLS_IN_FLIGHT],
                    multiprocess_mode="livesum",
                    registry=None,
                ),
            )
        return self._client

    def flight_of(self, service: str) -> list[float]:
        """The in-flight count of ``service`` (called with ``lock`` held)."""
        flight = self.flights.get(service)
        if flight is None:
            flight = self.flights[service] = [0.0]
        return flight

    def series_of(self, service: str, operation: str) -> _Series:
        key = (service, operation)
        series = self.series.get(key)
        if series is None:
            with self.lock:
                series = self.series.get(key)
                if series is None:
                    kind = _FastSeries if self.fast else _ClientSeries
                    series = self.series[key] = kind(self, service, operation)
        return series

    def error_label(self, code: str) -> str:
        """``code`` if it is admitted as an ``error_code`` label value, else ``"other"``:
        well-formed, and seen before or still within ``max_error_codes`` distinct codes."""
        if code in self.codes:
            return code
        with self.lock:
            if code in self.codes or (
                _CODE.fullmatch(code) is not None and len(self.codes) < self.max_error_codes
            ):
                self.codes.add(code)
                return code
        return OTHER_ERROR_CODE


_REGISTRIES: weakref.WeakKeyDictionary[CollectorRegistry, _Metrics] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def _metrics_for(
    registry: CollectorRegistry, buckets: tuple[float, ...], max_error_codes: int
) -> _Metrics:
    with _REGISTRIES_LOCK:
        metrics = _REGISTRIES.get(registry)
        if metrics is not None:
            if metrics.buckets != buckets or metrics.max_error_codes != max_error_codes:
                raise ConfigurationError(
                    "this registry already holds botoware's AWS client metrics with "
                    f"buckets={metrics.buckets} and max_error_codes={metrics.max_error_codes}; "
                    "a second MetricsPlugin on it must use the same settings (or pass "
                    "another registry)."
                )
            return metrics
        metrics = _Metrics(buckets, max_error_codes)
        registered: list[Any] = []
        try:
            for collector in metrics.collectors():
                registry.register(collector)
                registered.append(collector)
        except ValueError as exc:
            for collector in registered:
                registry.unregister(collector)
            raise ConfigurationError(
                f"the registry already has a metric botoware would create ({exc}); pass "
                "MetricsPlugin(registry=...) another registry."
            ) from None
        _REGISTRIES[registry] = metrics
        return metrics


def _check_buckets(buckets: Iterable[float] | None) -> tuple[float, ...]:
    if buckets is None:
        return DEFAULT_BUCKETS
    try:
        bounds = tuple(float(b) for b in buckets)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"MetricsPlugin(buckets={buckets!r}): buckets must be numbers (seconds)."
        ) from None
    finite = tuple(b for b in bounds if b != float("inf"))
    if not finite or list(finite) != sorted(set(finite)) or finite[0] <= 0:
        raise ConfigurationError(
            f"MetricsPlugin(buckets={buckets!r}): give positive upper bounds in seconds, "
            "strictly increasing, e.g. (0.01, 0.1, 1, 10)."
        )
    return finite


# -------------------------------------------------------------------------------------------
# OpenTelemetry instruments (optional)
# -------------------------------------------------------------------------------------------

OTEL_CALL_DURATION = "rpc.client.call.duration"
"""OpenTelemetry histogram (seconds), the RPC semantic conventions' client call duration."""
OTEL_ATTEMPTS = "aws.client.attempts"
"""OpenTelemetry counter of HTTP attempts."""
OTEL_ACTIVE_CALLS = "aws.client.active_calls"
"""OpenTelemetry up-down counter of calls in flight."""


@final
class _OtelSeries:
    """Attribute sets of one (service, operation), built once."""

    __slots__ = ("errors", "ok", "service")

    def __init__(self, service_id: str, operation: str) -> None:
        self.ok: Attributes = {
            "rpc.system": "aws-api",
            "rpc.service": service_id,
            "rpc.method": operation,
        }
        self.service: Attributes = {"rpc.system": "aws-api", "rpc.service": service_id}
        self.errors: dict[str, Attributes] = {}

    def failed(self, code: str) -> Attributes:
        attributes = self.errors.get(code)
        if attributes is None:
            attributes = self.errors[code] = {**(self.ok or {}), "error.type": code}
        return attributes


@final
class _Otel:
    __slots__ = ("active", "attempts", "duration")

    def __init__(self, meter_provider: MeterProvider, buckets: Sequence[float]) -> None:
        from botoware import __version__

        meter = meter_provider.get_meter("botoware", __version__)
        self.duration = meter.create_histogram(
            OTEL_CALL_DURATION,
            unit="s",
            description="Duration of AWS API calls, all attempts and retry delays included.",
            explicit_bucket_boundaries_advisory=list(buckets),
        )
        self.attempts = meter.create_counter(
            OTEL_ATTEMPTS, unit="{attempt}", description="HTTP attempts of AWS API calls."
        )
        self.active = meter.create_up_down_counter(
            OTEL_ACTIVE_CALLS, unit="{call}", description="AWS API calls in flight."
        )


# -------------------------------------------------------------------------------------------
# The plugin
# -------------------------------------------------------------------------------------------


def _exemplar() -> dict[str, str] | None:
    """The current sampled span's ids, for linking a duration to its trace."""
    current = otel_context.get_current()
    if not current:  # nothing attached, so no span: the usual case without tracing
        return None
    context = trace.get_current_span(current).get_span_context()
    if context.trace_flags.sampled and context.is_valid:
        return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
    return None


def _code_of(parsed: Mapping[str, Any], status: int) -> str:
    error = parsed.get("Error")
    code = error.get("Code") if isinstance(error, Mapping) else None
    return str(code) if code else str(status)


def _code_of_exception(exception: BaseException) -> str:
    if isinstance(exception, ClientError):  # raised by a plugin or a customization, not botocore
        return _code_of(exception.response, 0)
    return type(exception).__name__


@final
class MetricsPlugin:
    """Counts, times and tracks in flight every API call of the session it is installed into.

    The collectors are created and registered when the plugin is built. Plugins built on the
    same registry share them (so two sessions, or two plugins, never register a metric twice),
    as long as they use the same ``buckets`` and ``max_error_codes``.

    :param registry: where the metrics are registered; default prometheus_client's global
        ``REGISTRY``.
    :param buckets: upper bounds in seconds of ``aws_client_call_duration_seconds``; default
        :data:`DEFAULT_BUCKETS`.
    :param meter_provider: also record the measurements as OpenTelemetry instruments
        (``rpc.client.call.duration``, ``aws.client.attempts``, ``aws.client.active_calls``).
    :param max_error_codes: distinct ``error_code`` values the registry admits; later new
        codes are counted as :data:`OTHER_ERROR_CODE`.
    :raises ConfigurationError: for malformed buckets, or a registry that already holds one
        of these names from elsewhere or with other settings.
    """

    botoware_name = "metrics"

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        buckets: Iterable[float] | None = None,
        meter_provider: MeterProvider | None = None,
        max_error_codes: int = 100,
    ) -> None:
        if isinstance(max_error_codes, bool) or not isinstance(max_error_codes, int):
            raise ConfigurationError(
                f"MetricsPlugin(max_error_codes={max_error_codes!r}) must be an int >= 0."
            )
        if max_error_codes < 0:
            raise ConfigurationError(
                f"MetricsPlugin(max_error_codes={max_error_codes}) must be >= 0."
            )
        bounds = _check_buckets(buckets)
        self._registry = REGISTRY if registry is None else registry
        self._metrics = _metrics_for(self._registry, bounds, max_error_codes)
        self._known = self._metrics.series  # read without a lock: entries are only added
        self._otel = None if meter_provider is None else _Otel(meter_provider, bounds)
        # One key per plugin: two metrics plugins on one session each track their own calls.
        self._key = StashKey[_Series]()
        self._failed = False

    def __repr__(self) -> str:
        where = "REGISTRY" if self._registry is REGISTRY else "CollectorRegistry"
        otel = ", meter_provider=..." if self._otel is not None else ""
        return f"MetricsPlugin(registry={where}{otel})"

    # ---- the start of a call ------------------------------------------------------------

    def botoware_call_start(self, call: Call) -> Any:
        # The first hook of a call (the in-flight gauge goes up before anything can fail).
        if call.presigned:
            return STEP_OUT  # nothing is sent, and no terminal hook would take it out of flight
        try:
            series = self._known.get((call.service, call.operation))
            if series is None or (self._otel is not None and series.otel is None):
                series = self._series(call)
            series.start()
            call.stash[self._key] = series
            if self._otel is not None and series.otel is not None:
                self._otel.active.add(1, series.otel.service)
        except Exception:
            self._report("call_start")
        return None

    # ---- the end of a call --------------------------------------------------------------
    # tryfirst: the tracing plugin ends its span (and makes it no longer current) in its
    # own trylast terminal hooks, so the span is still current here for the exemplar.

    @hookimpl(tryfirst=True)
    def botoware_after_call(
        self, call: Call, http_response: AWSResponse, parsed: dict[str, Any]
    ) -> None:
        status = http_response.status_code
        if status < 300 and self._otel is None:
            # The usual end, inline: a started call that succeeded, Prometheus only.
            series = call.stash.get(self._key, None)
            if series is not None:
                now = time.monotonic()
                series.end(None, now - call.started, now, call.attempt, True)
                return
        self._end(call, None if status < 300 else _code_of(parsed, status))

    @hookimpl(tryfirst=True)
    def botoware_after_call_error(self, call: Call, exception: BaseException) -> None:
        self._end(call, _code_of_exception(exception))

    def _end(self, call: Call, code: str | None) -> None:
        now = time.monotonic()
        elapsed = now - call.started
        series = call.stash.get(self._key, None)
        started = series is not None
        if series is None:  # failed before its first hook, or the plugin came in mid-call
            series = self._series(call)
        label = None if code is None else self._metrics.error_label(code)
        # botocore numbers the attempts of a call in its context; the last number is the count
        # (0 when the call failed or was answered before its first request).
        attempts = call.attempt
        series.end(label, elapsed, now, attempts, started)
        otel, names = self._otel, series.otel
        if otel is not None and names is not None:
            if started:
                otel.active.add(-1, names.service)
            if attempts:
                otel.attempts.add(attempts, names.ok)
            otel.duration.record(elapsed, names.ok if label is None else names.failed(label))

    # ---- helpers ------------------------------------------------------------------------

    def _series(self, call: Call) -> _Series:
        series = self._metrics.series_of(call.service, call.operation)
        if self._otel is not None and series.otel is None:
            series.otel = _OtelSeries(call.service_id, call.operation)
        return series

    def _report(self, hook: str) -> None:
        level = logging.DEBUG if self._failed else logging.ERROR
        self._failed = True
        exc_info = _errors.loggable(sys.exc_info()[1])
        logger.log(level, "metrics failed in %s; the AWS call goes on", hook, exc_info=exc_info)


_DEFAULT: MetricsPlugin | None = None
_DEFAULT_LOCK = threading.Lock()


def plugin() -> MetricsPlugin:
    """The ``"metrics"`` built-in: prometheus_client's global ``REGISTRY``, default buckets.

    The same instance every time, so installing ``"metrics"`` into many sessions registers
    the collectors once.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MetricsPlugin()
        return _DEFAULT
