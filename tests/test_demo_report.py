"""The demo's report (quantiles, table, trace tree) and status line, on recorded data."""

from __future__ import annotations

import io
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from prometheus_client import CollectorRegistry

import botoware
from botoware.contrib.demo.report import (
    OperationStats,
    operation_stats,
    quantile,
    summary_table,
    trace_tree,
)
from botoware.contrib.demo.status import StatusLine
from botoware.plugins.metrics import MetricsPlugin
from botoware.testing import Faults, throttle


def test_quantile_interpolates_inside_the_bucket() -> None:
    """Like histogram_quantile: the rank's position inside its bucket, linearly."""
    buckets = [(0.01, 0.0), (0.02, 10.0), (float("inf"), 10.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.015)


def test_quantile_in_the_first_bucket_starts_at_zero() -> None:
    """The lowest bucket's lower bound is 0."""
    assert quantile(0.5, [(0.004, 4.0), (float("inf"), 4.0)]) == pytest.approx(0.002)


def test_quantile_in_the_inf_bucket_is_the_highest_bound() -> None:
    """Observations above every bound answer the highest finite bound."""
    assert quantile(0.95, [(0.1, 1.0), (float("inf"), 10.0)]) == 0.1


def test_quantile_of_nothing_is_none() -> None:
    """No observations, no estimate."""
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None


def test_operation_stats_read_the_plugins_registry(session: Any, client: Any) -> None:
    """Calls, errors, attempts and quantiles per operation come from the metrics plugin."""
    registry = CollectorRegistry()
    faults = Faults({"s3.ListBuckets": [throttle(), None]})
    sqs = client("sqs")
    s3 = client("s3")
    with botoware.install(session, plugins=[MetricsPlugin(registry), faults], autoload=False):
        s3.list_buckets()
        with pytest.raises(sqs.exceptions.ClientError):
            sqs.get_queue_url(QueueName="no-such-queue-report")
    stats = {(s.service, s.operation): s for s in operation_stats(registry)}
    assert (stats["s3", "ListBuckets"].calls, stats["s3", "ListBuckets"].attempts) == (1, 2)
    assert (stats["sqs", "GetQueueUrl"].calls, stats["sqs", "GetQueueUrl"].errors) == (1, 1)
    assert stats["s3", "ListBuckets"].p50 is not None


def test_summary_table_aligns_and_totals() -> None:
    """Columns line up under the header and the total row sums the counts."""
    table = summary_table(
        [
            OperationStats("s3", "PutObject", 10, 1, 12, 0.004, 0.009),
            OperationStats("lambda", "GetPolicy", 1, 0, 1, None, None),
        ]
    ).splitlines()
    header = ["service", "operation", "calls", "errors", "attempts", "p50", "ms", "p95", "ms"]
    assert table[0].split() == header
    assert table[2].split() == ["s3", "PutObject", "10", "1", "12", "4.0", "9.0"]
    assert table[3].split() == ["lambda", "GetPolicy", "1", "0", "1", "-", "-"]
    assert table[-1].split() == ["total", "2", "operations", "11", "1", "13"]
    assert table[2].rindex("10") + 2 == table[0].index("calls") + len("calls")


def _spans() -> tuple[list[Any], int]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("flow") as root:
        with tracer.start_as_current_span("S3.PutObject") as put:
            put.set_attribute("http.request.resend_count", 2)
        with tracer.start_as_current_span("SNS.Publish"):
            with tracer.start_as_current_span("consume") as consume:
                consume.set_status(Status(StatusCode.ERROR, "boom"))
    with tracer.start_as_current_span("elsewhere"):
        pass
    return list(memory.get_finished_spans()), root.get_span_context().trace_id


def test_trace_tree_indents_children_under_parents() -> None:
    """Each level of parentage indents two spaces; other traces are left out."""
    spans, trace_id = _spans()
    lines = trace_tree(spans, trace_id).splitlines()
    names = [line.split(" ms  ", 2)[-1] for line in lines]
    assert names == ["flow", "  S3.PutObject  (3 attempts)", "  SNS.Publish", "    consume  ERROR"]


def test_trace_tree_starts_at_zero_offset() -> None:
    """The root's offset is +0.0 ms; every line shows an offset and a duration."""
    spans, trace_id = _spans()
    lines = trace_tree(spans, trace_id).splitlines()
    assert lines[0].split()[:2] == ["+0.0", "ms"]
    assert all(line.count(" ms") == 2 for line in lines)


def test_trace_tree_of_an_unknown_trace_says_so() -> None:
    """A trace id without spans gives a one-line note."""
    assert trace_tree([], 1) == "(no spans recorded for this trace)"


def test_status_line_off_a_terminal_prints_plain_lines() -> None:
    """Without a TTY: no carriage returns, one line per step, quarter progress lines."""
    stream = io.StringIO()
    with StatusLine(stream, lambda: 0) as status:
        status.start("segments")
        for done in range(1, 101):
            status.progress(f"{done}/100 written")
        status.finish(True, "100 written")
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[-1].startswith("[ok  ] segments (")
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "1/100 written",
        "25/100 written",
        "50/100 written",
        "75/100 written",
        "100/100 written",
    ]


def test_status_line_on_a_terminal_rewrites_one_line() -> None:
    """Live: the line is redrawn in place with the call count, and erased at the end."""
    stream = io.StringIO()
    with StatusLine(stream, lambda: 42, live=True, interval=3600) as status:
        status.start("buckets")
        status.progress("waiting")
        status.finish(False, "boom")
    text = stream.getvalue()
    assert "\r\x1b[K  ▸ buckets · waiting · 42 AWS calls · " in text
    assert "\r\x1b[K[FAIL] buckets (" in text
    assert text.endswith("\r\x1b[K")
