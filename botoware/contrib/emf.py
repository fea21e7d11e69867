"""CloudWatch Embedded Metric Format for AWS Lambda: the calls' metrics as JSON lines on stdout.

A Lambda function cannot be scraped, but everything it prints goes to CloudWatch Logs, which
turns each line in the Embedded Metric Format (EMF) into CloudWatch metrics. :class:`EmfMetrics`
is a plugin that counts and times every call like the ``"metrics"`` plugin, and writes what it
saw when flushed, at the end of each invocation::

    from botoware.contrib.emf import EmfMetrics

    emf = EmfMetrics(namespace="checkout")
    botoware.install(None, plugins=[emf])

    @emf.flush_after
    def handler(event, context):
        ...

Each flush writes one document (one line) per ``(Service, Operation)`` called since the last
flush, with the metrics ``Calls``, ``Errors``, ``Attempts`` (``Count``) and ``Duration``
(``Milliseconds``, one value per call) under the dimension set ``[Service, Operation]`` (plus
the constant ``dimensions`` given). The format's limits hold: at most 100 metrics per document,
30 dimensions per dimension set and 100 values per metric; more durations than that go to
further documents of the same dimensions.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TextIO, TypeVar, final

from botoware.errors import ConfigurationError
from botoware.hooks.markers import hookimpl

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse

    from botoware.hooks.call import Call

__all__ = [
    "MAX_DIMENSIONS",
    "MAX_METRICS",
    "MAX_VALUES",
    "METRICS",
    "UNITS",
    "EmfMetrics",
]

logger = logging.getLogger(__name__)

MAX_METRICS = 100
"""Metric definitions one EMF directive may hold."""
MAX_DIMENSIONS = 30
"""Dimension keys one EMF dimension set may hold."""
MAX_VALUES = 100
"""Values one EMF metric may carry in one document."""

UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds",
        "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second",
        "None",
    }
)  # fmt: skip
"""The units CloudWatch accepts in a metric definition."""

METRICS = {"Calls": "Count", "Errors": "Count", "Attempts": "Count", "Duration": "Milliseconds"}
"""The metrics of each document and their units."""

_SERVICE = "Service"
_OPERATION = "Operation"
_MAX_NAME = 255  # a CloudWatch dimension name
_MAX_VALUE = 1024  # a CloudWatch dimension value, and a namespace

P = ParamSpec("P")
R = TypeVar("R")


@final
class _Series:
    """What one (service, operation) did since the last flush."""

    __slots__ = ("attempts", "calls", "durations", "errors")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.attempts = 0
        self.durations: list[float] = []  # milliseconds, one per call


def _check_text(what: str, text: object, limit: int) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        raise ConfigurationError(
            f"EmfMetrics({what}={text!r}): give a non-empty string of at most {limit} characters."
        )
    if not text.isascii() or not text.isprintable():
        raise ConfigurationError(
            f"EmfMetrics({what}={text!r}): CloudWatch takes printable ASCII only."
        )
    return text


@final
class EmfMetrics:
    """Counts and times every API call, and writes CloudWatch EMF documents when flushed.

    :param namespace: the CloudWatch namespace of the metrics.
    :param dimensions: constant dimensions added to every document and to its dimension set,
        e.g. ``{"Stage": "prod"}``; at most 28 (with ``Service`` and ``Operation``, 30).
    :param out: where documents go; default ``sys.stdout`` at each flush (what Lambda sends to
        CloudWatch Logs).
    :raises ConfigurationError: a namespace or dimension CloudWatch would reject.
    """

    botoware_name = "emf-metrics"

    __slots__ = ("_dimensions", "_lock", "_namespace", "_out", "_series")

    def __init__(
        self,
        namespace: str = "botoware",
        *,
        dimensions: Mapping[str, str] | None = None,
        out: TextIO | None = None,
    ) -> None:
        self._namespace = _check_text("namespace", namespace, _MAX_VALUE)
        extra = dict(dimensions or {})
        if len(extra) > MAX_DIMENSIONS - 2:
            raise ConfigurationError(
                f"EmfMetrics(dimensions=...) has {len(extra)} dimensions; with Service and "
                f"Operation a dimension set holds at most {MAX_DIMENSIONS}, so give at most "
                f"{MAX_DIMENSIONS - 2}."
            )
        for name, value in extra.items():
            _check_text("dimensions key", name, _MAX_NAME)
            _check_text(f"dimensions[{name!r}]", value, _MAX_VALUE)
            if name in METRICS or name in (_SERVICE, _OPERATION) or name.startswith(":"):
                raise ConfigurationError(
                    f"EmfMetrics(dimensions=...): {name!r} is taken by a metric or a built-in "
                    "dimension, or starts with ':'; choose another name."
                )
        self._dimensions = extra
        self._out = out
        self._series: dict[tuple[str, str], _Series] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmfMetrics(namespace={self._namespace!r})"

    # ---- the end of a call --------------------------------------------------------------

    @hookimpl
    def botoware_after_call(
        self, call: Call, http_response: AWSResponse, parsed: dict[str, Any]
    ) -> None:
        self._record(call, failed=http_response.status_code >= 300)

    @hookimpl
    def botoware_after_call_error(self, call: Call, exception: BaseException) -> None:
        self._record(call, failed=True)

    def _record(self, call: Call, *, failed: bool) -> None:
        milliseconds = (time.monotonic() - call.started) * 1000.0
        key = (call.service, call.operation)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
            series.calls += 1
            series.errors += failed
            series.attempts += call.attempt
            series.durations.append(round(milliseconds, 3))

    # ---- flushing -----------------------------------------------------------------------

    def documents(self) -> list[dict[str, Any]]:
        """The EMF documents of the calls since the last flush, and forget those calls."""
        with self._lock:
            taken, self._series = self._series, {}
        timestamp = int(time.time() * 1000)
        found: list[dict[str, Any]] = []
        for (service, operation), series in sorted(taken.items()):
            found += self._documents_of(service, operation, series, timestamp)
        return found

    def flush(self) -> int:
        """Write the documents of the calls since the last flush, one JSON line each, to
        ``out`` (default stdout); return how many. A failed write is logged, never raised: it
        must not turn a handler's result into an error."""
        documents = self.documents()
        if not documents:
            return 0
        try:
            out = sys.stdout if self._out is None else self._out
            out.write("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents))
            out.flush()
        except Exception:
            logger.error("EmfMetrics could not write %d documents", len(documents), exc_info=True)
            return 0
        return len(documents)

    def flush_after(self, handler: Callable[P, R]) -> Callable[P, R]:
        """Decorate a Lambda handler so that each invocation ends with :meth:`flush`, also
        when the handler raises."""

        @functools.wraps(handler)
        def flushing(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return handler(*args, **kwargs)
            finally:
                self.flush()

        return flushing

    def _documents_of(
        self, service: str, operation: str, series: _Series, timestamp: int
    ) -> Iterator[dict[str, Any]]:
        dimension_set = [_SERVICE, _OPERATION, *self._dimensions]
        for start in range(0, max(len(series.durations), 1), MAX_VALUES):
            values: dict[str, Any] = {"Duration": series.durations[start : start + MAX_VALUES]}
            if start == 0:  # the counts once, in the first document
                values = {
                    "Calls": series.calls,
                    "Errors": series.errors,
                    "Attempts": series.attempts,
                    **values,
                }
            yield {
                "_aws": {
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self._namespace,
                            "Dimensions": [dimension_set],
                            "Metrics": [{"Name": n, "Unit": METRICS[n]} for n in values],
                        }
                    ],
                },
                _SERVICE: service,
                _OPERATION: operation,
                **self._dimensions,
                **values,
            }
