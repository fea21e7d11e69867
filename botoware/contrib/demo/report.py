"""What ``botoware demo`` prints at the end: a metrics table and the trace tree of one flow.

Both are built from what the plugins recorded, never from the workload's own bookkeeping: the
table from the metrics plugin's registry (quantiles estimated from the duration histogram's
buckets, the way Prometheus' ``histogram_quantile`` does), the tree from the spans.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from botoware.plugins.metrics import (
    ATTEMPTS,
    CALL_DURATION,
    CALLS,
    ERRORS,
    OPERATION_LABEL,
    SERVICE_LABEL,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from prometheus_client import CollectorRegistry

_RESEND_COUNT = "http.request.resend_count"

__all__ = ["OperationStats", "operation_stats", "quantile", "summary_table", "trace_tree"]


@final
@dataclass(frozen=True)
class OperationStats:
    """One row of the summary: what the metrics say about one service's operation."""

    service: str
    operation: str
    calls: int
    errors: int
    attempts: int
    p50: float | None
    p95: float | None


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Estimate the ``q`` quantile from cumulative histogram buckets ``[(upper_bound, count)]``.

    Linear interpolation inside the bucket holding the rank, as Prometheus'
    ``histogram_quantile``: the lowest bucket starts at 0, and a rank in the ``+Inf`` bucket
    answers the highest finite bound. None when nothing was observed.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    ordered = sorted(buckets)
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def operation_stats(registry: CollectorRegistry) -> list[OperationStats]:
    """Per (service, operation) seen by the metrics plugin, sorted by service and operation."""
    calls: dict[tuple[str, str], float] = defaultdict(float)
    errors: dict[tuple[str, str], float] = defaultdict(float)
    attempts: dict[tuple[str, str], float] = defaultdict(float)
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for metric in registry.collect():
        for sample in metric.samples:
            labels = sample.labels
            key = (labels.get(SERVICE_LABEL, ""), labels.get(OPERATION_LABEL, ""))
            if sample.name == CALLS:
                calls[key] += sample.value
            elif sample.name == ERRORS:
                errors[key] += sample.value
            elif sample.name == ATTEMPTS:
                attempts[key] += sample.value
            elif sample.name == f"{CALL_DURATION}_bucket":
                buckets[key].append((float(labels["le"]), sample.value))
    return [
        OperationStats(
            service,
            operation,
            int(calls[(service, operation)]),
            int(errors[(service, operation)]),
            int(attempts[(service, operation)]),
            quantile(0.5, buckets[(service, operation)]),
            quantile(0.95, buckets[(service, operation)]),
        )
        for service, operation in sorted(calls)
    ]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def summary_table(stats: Iterable[OperationStats]) -> str:
    """The stats as an aligned text table with a total row."""
    rows = list(stats)
    header = ("service", "operation", "calls", "errors", "attempts", "p50 ms", "p95 ms")
    lines = [
        (
            r.service,
            r.operation,
            str(r.calls),
            str(r.errors),
            str(r.attempts),
            _ms(r.p50),
            _ms(r.p95),
        )
        for r in rows
    ]
    total = (
        "total",
        f"{len(rows)} operations",
        str(sum(r.calls for r in rows)),
        str(sum(r.errors for r in rows)),
        str(sum(r.attempts for r in rows)),
        "",
        "",
    )
    widths = [max(len(line[i]) for line in [header, *lines, total]) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        text = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(text).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *map(render, lines), rule, render(total)])


def trace_tree(spans: Iterable[ReadableSpan], trace_id: int) -> str:
    """The spans of one trace, children indented under parents, with start offset and duration.

    ``+12.3 ms  4.1 ms  S3.PutObject``: the offset is from the trace's first span. Failed spans
    are marked ``ERROR``, retried calls with their number of attempts.
    """
    members = [s for s in spans if s.context is not None and s.context.trace_id == trace_id]
    if not members:
        return "(no spans recorded for this trace)"
    ids = {s.context.span_id for s in members if s.context is not None}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in members:
        parent = span.parent.span_id if span.parent is not None else None
        children[parent if parent in ids else None].append(span)
    origin = min(s.start_time or 0 for s in members)
    lines: list[str] = []

    def walk(span: ReadableSpan, depth: int) -> None:
        start = (span.start_time or 0) - origin
        duration = (span.end_time or span.start_time or 0) - (span.start_time or 0)
        flag = "  ERROR" if not span.status.is_ok else ""
        resent = (span.attributes or {}).get(_RESEND_COUNT)
        if isinstance(resent, int) and resent > 0:
            flag += f"  ({resent + 1} attempts)"
        lines.append(
            f"{f'+{start / 1e6:.1f} ms':>11} {f'{duration / 1e6:.1f} ms':>10}  "
            f"{'  ' * depth}{span.name}{flag}"
        )
        assert span.context is not None
        for child in sorted(children[span.context.span_id], key=lambda s: s.start_time or 0):
            walk(child, depth + 1)

    for root in sorted(children[None], key=lambda s: s.start_time or 0):
        walk(root, 0)
    return "\n".join(lines)
