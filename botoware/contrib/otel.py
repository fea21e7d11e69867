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

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["EXPORTERS", "configure", "extract"]

EXPORTERS = ("otlp", "console", "none")
"""Exporter names :func:`configure` accepts, as argument or in ``OTEL_TRACES_EXPORTER``."""

_FEATURE = "botoware.contrib.otel.configure()"
_DEFAULT_ENDPOINT = "http://localhost:4318"
_TRACES_PATH = "/v1/traces"


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
        new provider is only returned.
    :raises ConfigurationError: an unknown exporter name or a malformed endpoint, naming the
        argument or environment variable it came from.
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
    attributes = {SERVICE_NAME: service_name} if service_name else {}
    provider = TracerProvider(resource=Resource.create(attributes))
    for chosen in exporters:
        provider.add_span_processor(BatchSpanProcessor(chosen))
    if set_global:
        _set_global(provider)
    return provider


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
    if "none" in names and len(names) > 1:
        raise ConfigurationError(f"{source}={','.join(names)!r} mixes 'none' with exporters.")
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
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = os.environ.get(variable)
        if protocol:
            if protocol.strip() != "http/protobuf":
                raise ConfigurationError(
                    f"{variable}={protocol!r}: botoware's OTLP exporter speaks 'http/protobuf' "
                    "only; unset the variable or pass a SpanExporter of your own as exporter=."
                )
            break
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise MissingExtraError(
            f"{_FEATURE} with the 'otlp' exporter", "otel", "opentelemetry-exporter-otlp-proto-http"
        ) from None
    return OTLPSpanExporter(endpoint=_traces_url(endpoint))


def _traces_url(endpoint: str | None) -> str:
    if endpoint is not None:
        return _checked_url(endpoint, "endpoint", add_path=True)
    signal = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if signal:
        return _checked_url(signal, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", add_path=False)
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        url = _checked_url(base, "OTEL_EXPORTER_OTLP_ENDPOINT", add_path=False)
        return url.rstrip("/") + _TRACES_PATH
    return _DEFAULT_ENDPOINT + _TRACES_PATH


def _checked_url(url: str, source: str, *, add_path: bool) -> str:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError as exc:
        raise ConfigurationError(f"{source}={url!r} is no valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{source}={url!r} is no http(s) URL with a host, e.g. 'http://127.0.0.1:4318'."
        )
    if add_path and parts.path in ("", "/"):
        return urllib.parse.urlunsplit(parts._replace(path=_TRACES_PATH))
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
    """
    for attributes in _attribute_maps(message):
        extracted = propagate.extract(attributes, context=context, getter=_GETTER)
        if trace.get_current_span(extracted).get_span_context().is_valid:
            return extracted
    return context if context is not None else Context()


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
