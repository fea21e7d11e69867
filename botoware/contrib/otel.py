"""OpenTelemetry helpers: set up an SDK tracer provider, read trace context from messages.

:func:`configure` builds what the ``"tracing"`` plugin needs to send spans somewhere::

    from botoware.contrib import otel

    otel.configure(service_name="checkout")  # OTLP/HTTP to localhost:4318, or the env's choice
    botoware.install(session, plugins=["tracing"])

:func:`extract` is the consumer's half of the plugin's context propagation: it returns the
context the producer's span put into an SQS message, an SNS notification or a Lambda event
record, to parent (or link) the consumer's span::

    for message in sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]:
        with tracer.start_as_current_span("process", context=otel.extract(message)):
            ...

With ``OTEL_METRICS_EXPORTER=otlp`` (or ``console``) it also sets up a global SDK
``MeterProvider`` (:func:`configure_metrics`), which ``MetricsPlugin(meter_provider=...)`` records
into; ``botoware run`` wires that up itself.

``configure`` needs the ``otel`` extra (``pip install 'botoware[otel]'``); ``extract`` only the
OpenTelemetry API.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter

from botoware.errors import BotowareWarning, ConfigurationError, MissingExtraError
from botoware.plugins._aws_attributes import SQS_TRACE_HEADER

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["EXPORTERS", "check_environment", "configure", "configure_metrics", "extract"]

EXPORTERS = ("otlp", "console", "none")
"""Exporter names :func:`configure` accepts, as argument or in ``OTEL_TRACES_EXPORTER``."""

_FEATURE = "botoware.contrib.otel.configure()"
_DEFAULT_ENDPOINT = "http://localhost:4318"
_TRACES_PATH = "/v1/traces"
_METRICS_PATH = "/v1/metrics"
_PROTOCOL = "http/protobuf"


# -------------------------------------------------------------------------------------------
# configure()
# -------------------------------------------------------------------------------------------


def configure(
    *,
    exporter: SpanExporter | str | None = None,
    endpoint: str | None = None,
    service_name: str | None = None,
    set_global: bool = True,
) -> TracerProvider:
    """Create an SDK ``TracerProvider`` exporting through a ``BatchSpanProcessor``.

    :param exporter: a ``SpanExporter`` instance, or ``"otlp"`` (OTLP over HTTP/protobuf),
        ``"console"`` (stdout) or ``"none"``. Default: ``OTEL_TRACES_EXPORTER``, which may
        name several separated by commas, else ``"otlp"``.
    :param endpoint: the OTLP/HTTP collector, e.g. ``"http://127.0.0.1:4318"`` (``/v1/traces``
        is added when the URL has no path) or a full ``.../v1/traces`` URL. Default:
        ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is), else
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` plus ``/v1/traces``, else ``http://localhost:4318``.
    :param service_name: the ``service.name`` resource attribute. Default:
        ``OTEL_SERVICE_NAME`` (the SDK also reads ``OTEL_RESOURCE_ATTRIBUTES``).
    :param set_global: make the provider OpenTelemetry's global one, which the ``"tracing"``
        plugin uses unless given a provider. OpenTelemetry allows that once per process: if a
        global provider is already set, a :class:`~botoware.BotowareWarning` says so and the
        new provider is only returned. With ``set_global=True`` and ``OTEL_METRICS_EXPORTER``
        naming an exporter, a global meter provider is set up too (:func:`configure_metrics`).
    :raises ConfigurationError: an unknown exporter name, a protocol other than
        ``http/protobuf`` or a malformed endpoint, naming the argument or environment variable
        it came from.
    :raises MissingExtraError: ``opentelemetry-sdk`` (or, for OTLP, the OTLP/HTTP exporter) is
        not installed.
    """
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise MissingExtraError(_FEATURE, "otel", "opentelemetry-sdk") from None

    exporters = _exporters(exporter, endpoint)
    pushed = _metric_exporter_names(os.environ) != ("none",)  # checked even if not set up
    with_metrics = set_global and pushed
    if with_metrics:
        _check_metrics(os.environ)  # before anything is set up: all or nothing
    attributes = {SERVICE_NAME: service_name} if service_name else {}
    provider = TracerProvider(resource=Resource.create(attributes))
    for chosen in exporters:
        provider.add_span_processor(BatchSpanProcessor(chosen))
    if set_global:
        _set_global(provider)
    if with_metrics:
        configure_metrics(service_name=service_name)
    return provider


def configure_metrics(
    *,
    exporter: str | None = None,
    endpoint: str | None = None,
    service_name: str | None = None,
    set_global: bool = True,
) -> MeterProvider | None:
    """Create an SDK ``MeterProvider`` exporting every ``OTEL_METRIC_EXPORT_INTERVAL`` (60 s).

    Pass it to ``MetricsPlugin(meter_provider=...)`` to push the calls' measurements
    (``rpc.client.call.duration``, ...) besides, or instead of, Prometheus scrapes. The provider
    exports once more when the process exits.

    :param exporter: ``"otlp"`` (OTLP over HTTP/protobuf), ``"console"`` or ``"none"``.
        Default: ``OTEL_METRICS_EXPORTER`` (several may be named), else ``"none"``: botoware's
        metrics are Prometheus's to scrape unless a push is asked for.
    :param endpoint: the OTLP/HTTP collector, e.g. ``"http://127.0.0.1:4318"`` (``/v1/metrics``
        is added when the URL has no path). Default: ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``
        (used as is), else ``OTEL_EXPORTER_OTLP_ENDPOINT`` plus ``/v1/metrics``, else
        ``http://localhost:4318/v1/metrics``.
    :param service_name: the ``service.name`` resource attribute (default ``OTEL_SERVICE_NAME``).
    :param set_global: make it OpenTelemetry's global meter provider (once per process; if one
        is set already, a :class:`~botoware.BotowareWarning` says so).
    :return: the provider, or None when the exporter is ``"none"``.
    :raises ConfigurationError: as :func:`configure`, naming the argument or variable.
    :raises MissingExtraError: ``opentelemetry-sdk`` or the OTLP/HTTP exporter is missing.
    """
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    except ImportError:
        raise MissingExtraError(_FEATURE, "otel", "opentelemetry-sdk") from None

    if exporter is not None:
        names, source = _names_of(exporter), "exporter"
        _check_names(names, source, "metric")
    else:
        names, source = _metric_exporter_names(os.environ), "OTEL_METRICS_EXPORTER"
    if names == ("none",):
        return None
    readers = []
    for name in names:
        chosen: MetricExporter
        if name == "otlp":
            _check_protocol(os.environ, "METRICS")
            try:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                    OTLPMetricExporter,
                )
            except ImportError:
                raise MissingExtraError(
                    f"{_FEATURE} with the 'otlp' metric exporter",
                    "otel",
                    "opentelemetry-exporter-otlp-proto-http",
                ) from None
            chosen = OTLPMetricExporter(endpoint=_signal_url(endpoint, os.environ, "METRICS"))
        else:
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

            chosen = ConsoleMetricExporter(out=sys.stdout)
        readers.append(PeriodicExportingMetricReader(chosen))
    attributes = {SERVICE_NAME: service_name} if service_name else {}
    provider = MeterProvider(metric_readers=readers, resource=Resource.create(attributes))
    if set_global:
        _set_global_meter_provider(provider)
    return provider


def _names_of(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))


def _check_names(names: tuple[str, ...], source: str, kind: str) -> None:
    for name in names:
        if name not in EXPORTERS:
            raise ConfigurationError(
                f"{source}={name!r} is no {kind} exporter botoware can set up; use one of "
                f"{', '.join(EXPORTERS)}."
            )
    if "none" in names and len(names) > 1:
        raise ConfigurationError(f"{source}={','.join(names)!r} mixes 'none' with exporters.")


def _metric_exporter_names(env: Mapping[str, str]) -> tuple[str, ...]:
    names = _names_of(env.get("OTEL_METRICS_EXPORTER", "")) or ("none",)
    _check_names(names, "OTEL_METRICS_EXPORTER", "metric")
    return names


def _check_metrics(env: Mapping[str, str]) -> None:
    """Everything :func:`configure_metrics` reads from ``env``, checked."""
    if "otlp" in _metric_exporter_names(env):
        _check_protocol(env, "METRICS")
        _signal_url(None, env, "METRICS")


def check_environment(env: Mapping[str, str], *, traces: bool = True) -> None:
    """Check the ``OTEL_*`` variables :func:`configure` would read, without setting anything up.

    ``botoware run`` calls it before it starts the command, so that a mistake stops the run
    instead of leaving the program without telemetry.

    :param traces: check the trace settings too (False when no tracer provider is set up).
    :raises ConfigurationError: naming the variable, as :func:`configure` would.
    """
    if traces:
        names = _names_of(env.get("OTEL_TRACES_EXPORTER", "")) or ("otlp",)
        _check_names(names, "OTEL_TRACES_EXPORTER", "trace")
        if "otlp" in names:
            _check_protocol(env, "TRACES")
            _signal_url(None, env, "TRACES")
    _check_metrics(env)


def _set_global_meter_provider(provider: MeterProvider) -> None:
    from opentelemetry import metrics
    from opentelemetry.metrics import _internal

    current = metrics.get_meter_provider()
    if not isinstance(current, _internal._ProxyMeterProvider):
        warnings.warn(
            f"botoware.contrib.otel: a global meter provider ({type(current).__name__}) is "
            "already set and OpenTelemetry allows only one; the new provider is returned but "
            "not made global. Pass it to MetricsPlugin(meter_provider=...).",
            BotowareWarning,
            stacklevel=3,
        )
        return
    metrics.set_meter_provider(provider)


def _exporters(exporter: SpanExporter | str | None, endpoint: str | None) -> list[SpanExporter]:
    if exporter is not None and not isinstance(exporter, str):
        return [exporter]
    if exporter is not None:
        names, source = [exporter.strip().lower()], "exporter"
    else:
        raw = os.environ.get("OTEL_TRACES_EXPORTER", "")
        names = [part.strip().lower() for part in raw.split(",") if part.strip()] or ["otlp"]
        source = "OTEL_TRACES_EXPORTER"
    for name in names:
        if name not in EXPORTERS:
            raise ConfigurationError(
                f"{source}={name!r} is no trace exporter botoware can set up; use one of "
                f"{', '.join(EXPORTERS)} (or pass a SpanExporter instance as exporter=)."
            )
    _check_names(tuple(names), source, "trace")
    chosen: list[SpanExporter] = []
    for name in dict.fromkeys(names):
        if name == "otlp":
            chosen.append(_otlp_exporter(endpoint))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            # sys.stdout as it is now: the SDK's default is the one of its import time.
            chosen.append(ConsoleSpanExporter(out=sys.stdout))
    return chosen


def _otlp_exporter(endpoint: str | None) -> SpanExporter:
    _check_protocol(os.environ, "TRACES")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise MissingExtraError(
            f"{_FEATURE} with the 'otlp' exporter", "otel", "opentelemetry-exporter-otlp-proto-http"
        ) from None
    return OTLPSpanExporter(endpoint=_signal_url(endpoint, os.environ, "TRACES"))


def _check_protocol(env: Mapping[str, str], signal: str) -> None:
    """The signal's OTLP protocol must be http/protobuf, the exporter botoware sets up."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(variable, "").strip()
        if protocol:
            if protocol != _PROTOCOL:
                hint = (
                    " (gRPC is not supported: point it at the collector's OTLP/HTTP port, "
                    "4318 by default)"
                    if protocol == "grpc"
                    else ""
                )
                raise ConfigurationError(
                    f"{variable}={protocol!r}: botoware's OTLP exporter speaks 'http/protobuf' "
                    f"only{hint}; unset the variable or set it to http/protobuf, or pass an "
                    "exporter of your own."
                )
            return


def _signal_url(endpoint: str | None, env: Mapping[str, str], signal: str) -> str:
    path = _TRACES_PATH if signal == "TRACES" else _METRICS_PATH
    if endpoint is not None:
        return _checked_url(endpoint, "endpoint", add_path=path)
    variable = f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"
    own = env.get(variable, "").strip()
    if own:
        return _checked_url(own, variable, add_path=None)
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        url = _checked_url(base, "OTEL_EXPORTER_OTLP_ENDPOINT", add_path=None)
        return url.rstrip("/") + path
    return _DEFAULT_ENDPOINT + path


def _checked_url(url: str, source: str, *, add_path: str | None) -> str:
    if "://" not in url:
        raise ConfigurationError(
            f"{source}={url!r} has no scheme; write it as a URL, e.g. 'http://{url.strip()}'."
        )
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        raise ConfigurationError(f"{source}={url!r} is no valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{source}={url!r} is no http(s) URL with a host, e.g. 'http://127.0.0.1:4318'."
        )
    if add_path is not None and parts.path in ("", "/"):
        return urllib.parse.urlunsplit(parts._replace(path=add_path))
    return url.strip()


def _set_global(provider: TracerProvider) -> None:
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        warnings.warn(
            f"botoware.contrib.otel.configure(): a global tracer provider "
            f"({type(current).__name__}) is already set and OpenTelemetry allows only one; "
            "the new provider is returned but not made global. Pass it to "
            "TracingPlugin(tracer_provider=...) or call configure(set_global=False).",
            BotowareWarning,
            stacklevel=3,
        )
        return
    trace.set_tracer_provider(provider)


# -------------------------------------------------------------------------------------------
# extract()
# -------------------------------------------------------------------------------------------


class _MessageAttributesGetter(Getter[Mapping[str, Any]]):
    """Reads message attributes in every shape AWS delivers them.

    ``{"StringValue": ...}`` (SQS ``ReceiveMessage``), ``{"Value": ...}`` (an SNS
    notification's JSON) and ``{"stringValue": ...}`` (a Lambda SQS event record).
    """

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        attribute = carrier.get(key)
        if not isinstance(attribute, Mapping):
            return None
        for field in ("StringValue", "Value", "stringValue"):
            value = attribute.get(field)
            if isinstance(value, str):
                return [value]
        return None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [key for key in carrier if isinstance(key, str)]


_GETTER = _MessageAttributesGetter()


def extract(message: Mapping[str, Any] | str, context: Context | None = None) -> Context:
    """The trace context a producer put into a message, via the global propagator.

    :param message: one of

        - an SQS message from ``receive_message(..., MessageAttributeNames=["All"])``
          (when its attributes carry no trace context and its body is an SNS notification,
          the notification's attributes are used);
        - an SNS notification: the JSON body SNS delivers to SQS or HTTP (a dict or the
          JSON string);
        - a record of a Lambda SQS or SNS event.
    :param context: the context to add to (default: an empty one, as the propagator does).
    :return: a context whose span is the producer's span (a remote span context) when the
        message carried one, else ``context`` (or an empty context) unchanged.

    When no message attribute carries trace context, an SQS message's ``AWSTraceHeader``
    system attribute (X-Ray, asked for with ``MessageSystemAttributeNames=["AWSTraceHeader"]``
    or ``["All"]``; always there in a Lambda SQS record that has one) is read with the global
    propagator, or with the X-Ray propagator when the global one does not read X-Ray headers
    and ``opentelemetry-propagator-aws-xray`` is installed.
    """
    for attributes in _attribute_maps(message):
        extracted = propagate.extract(attributes, context=context, getter=_GETTER)
        if trace.get_current_span(extracted).get_span_context().is_valid:
            return extracted
    header = _trace_header(message)
    if header is not None:
        carrier = {_XRAY_KEY: header}
        extracted = propagate.extract(carrier, context=context)
        if trace.get_current_span(extracted).get_span_context().is_valid:
            return extracted
        try:
            from opentelemetry.propagators.aws import AwsXRayPropagator
        except ImportError:
            pass
        else:
            extracted = AwsXRayPropagator().extract(carrier, context=context)
            if trace.get_current_span(extracted).get_span_context().is_valid:
                return extracted
    return context if context is not None else Context()


_XRAY_KEY = "X-Amzn-Trace-Id"  # the X-Ray propagator's carrier key


def _trace_header(message: Mapping[str, Any] | str) -> str | None:
    """An SQS message's ``AWSTraceHeader`` system attribute, or None."""
    if not isinstance(message, Mapping):
        return None
    for key in ("Attributes", "attributes"):  # ReceiveMessage, a Lambda SQS event record
        attributes = message.get(key)
        if isinstance(attributes, Mapping):
            header = attributes.get(SQS_TRACE_HEADER)
            if isinstance(header, str) and header:
                return header
    return None


def _attribute_maps(message: Mapping[str, Any] | str) -> Iterable[Mapping[str, Any]]:
    """The message attribute maps of ``message``, most direct first."""
    if isinstance(message, str):
        document = _json_object(message)
        if document is not None:
            yield from _attribute_maps(document)
        return
    if not isinstance(message, Mapping):
        return
    for key in ("MessageAttributes", "messageAttributes"):
        attributes = message.get(key)
        if isinstance(attributes, Mapping):
            yield attributes
    sns = message.get("Sns")  # a Lambda SNS event record
    if isinstance(sns, Mapping):
        yield from _attribute_maps(sns)
    body = message.get("Body", message.get("body"))
    if isinstance(body, str) and '"Notification"' in body:
        notification = _json_object(body)
        if notification is not None and notification.get("Type") == "Notification":
            yield from _attribute_maps(notification)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
