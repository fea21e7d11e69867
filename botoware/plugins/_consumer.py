"""The consumer's half of SQS tracing: a process span per received message.

``ReceiveMessage`` ends before the user's code works on the messages, so the span of that
work is the user's to open; :func:`process_span` opens it as the messaging conventions
describe (kind CONSUMER, ``process {queue}``, linked to the producer's span).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

if TYPE_CHECKING:
    from opentelemetry.trace import Span, SpanContext, TracerProvider
    from opentelemetry.util.types import AttributeValue

__all__ = ["link_producers", "process_span", "producer_span_context"]


@contextmanager
def process_span(
    message: Mapping[str, Any],
    *,
    queue_url: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A CONSUMER span for your work on one received SQS message, linked to its producer.

    Use it around the code that handles each message of ``receive_message()`` (or each
    record of a Lambda SQS event)::

        for message in sqs.receive_message(QueueUrl=url)["Messages"]:
            with process_span(message, queue_url=url):
                handle(message)

    The span is named ``process {queue}``, is a child of the current span, is current while
    the block runs, and has a link to the producer's span (the ``SendMessage`` span, or the
    ``Publish`` span of an SNS notification delivered through SQS), read from the message's
    attributes with the global propagator or from its ``AWSTraceHeader`` (X-Ray). With the
    tracing plugin, ``receive_message`` asks for those attributes itself. An exception in the
    block is recorded, sets ERROR status and ``error.type``, and propagates.

    :param message: an SQS message from ``receive_message``, or a Lambda SQS event record.
    :param queue_url: the queue's URL, for the destination name (a Lambda record names its
        queue itself, in ``eventSourceARN``).
    :param tracer_provider: default the global tracer provider.
    """
    from botoware import __version__

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer("botoware", __version__)
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "aws_sqs",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
    }
    queue = _queue_name(message, queue_url)
    if queue:
        attributes["messaging.destination.name"] = queue
    if queue_url:
        attributes["aws.sqs.queue.url"] = queue_url
    message_id = message.get("MessageId", message.get("messageId"))
    if isinstance(message_id, str):
        attributes["messaging.message.id"] = message_id
    producer = producer_span_context(message)
    links = [Link(producer)] if producer is not None else []
    name = f"process {queue}" if queue else "process"
    with tracer.start_as_current_span(
        name, kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ) as span:
        try:
            yield span
        except BaseException as exc:
            cls = type(exc)  # the qualified name, as the tracing plugin writes error.type
            module = cls.__module__
            name = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
            span.set_attribute("error.type", name)
            raise


def link_producers(span: Span, messages: object) -> None:
    """Link a ``ReceiveMessage`` span to the producer of each message received (once each)."""
    if not isinstance(messages, list):
        return
    seen: set[tuple[int, int]] = set()
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        producer = producer_span_context(message)
        if producer is not None:
            key = (producer.trace_id, producer.span_id)
            if key not in seen:
                seen.add(key)
                span.add_link(producer)


def producer_span_context(message: Mapping[str, Any]) -> SpanContext | None:
    """The span context the producer put into ``message``, or None when it carries none.

    What :func:`botoware.contrib.otel.extract` reads: message attributes, SNS
    notifications, then the ``AWSTraceHeader`` system attribute.
    """
    from botoware.contrib.otel import extract

    found = trace.get_current_span(extract(message)).get_span_context()
    return found if found.is_valid else None


def _queue_name(message: Mapping[str, Any], queue_url: str | None) -> str | None:
    if queue_url:
        return queue_url.rstrip("/").rpartition("/")[2]
    source = message.get("eventSourceARN")  # arn:aws:sqs:region:account:name
    if isinstance(source, str) and source:
        return source.rpartition(":")[2]
    return None
