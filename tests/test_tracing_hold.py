"""The tracing plugin's extension point for plugins that end a call's span themselves."""

from __future__ import annotations

from typing import Any

import boto3
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import botoware
from botoware.plugins.tracing import TracingPlugin, hold_span, span_of
from botoware.testing import Canned


class Holder:
    """Takes over the span of every call at its end, as the genai plugin does for streams."""

    botoware_name = "holder"

    def __init__(self) -> None:
        self.held: list[Any] = []
        self.seen: list[Any] = []

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.seen.append(span_of(call))
        self.held.append(hold_span(call))


def _run(session: boto3.Session, plugins: list[object]) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    canned = Canned({"sts.GetCallerIdentity": {"Account": "123456789012"}})
    plugins = [TracingPlugin(provider), *plugins, canned]
    with botoware.install(session, plugins=plugins, autoload=False):
        session.client("sts", endpoint_url="http://127.0.0.1:9").get_caller_identity()
    return exporter


def test_a_held_span_stays_open_and_the_context_is_restored(session: boto3.Session) -> None:
    """hold_span(): the tracing plugin finishes its attributes but leaves end() to the holder."""
    holder = Holder()
    exporter = _run(session, [holder])
    [span] = holder.held
    assert span is holder.seen[0] and span.is_recording()
    assert exporter.get_finished_spans() == ()
    assert trace.get_current_span() is not span  # no longer current after the call
    span.end()
    [finished] = exporter.get_finished_spans()
    assert finished.name == "STS.GetCallerIdentity"
    assert finished.attributes["http.response.status_code"] == 200


def test_without_tracing_there_is_no_span_to_hold(session: boto3.Session) -> None:
    """span_of() and hold_span() give None for a call the tracing plugin does not trace."""
    holder = Holder()
    canned = Canned({"sts.GetCallerIdentity": {"Account": "123456789012"}})
    with botoware.install(session, plugins=[holder, canned], autoload=False):
        session.client("sts", endpoint_url="http://127.0.0.1:9").get_caller_identity()
    assert holder.held == [None] and holder.seen == [None]
