"""Memory under load: many calls with tracing+metrics installed keep the process flat.

Real clients whose HTTP send is answered at before-send with wire-format bodies (SQS
GetQueueAttributes, S3 ListObjectsV2, DynamoDB GetItem, STS GetCallerIdentity, an S3 404),
so every hook, span and metric runs with no network. After a warm-up the script samples RSS
and tracemalloc's traced memory at checkpoints; flat numbers mean no per-call object outlives
its call. It then counts live botoware objects and checks that clients the host tracks are
released when the user drops them.

``--keep-only`` traces with ``KeepOnly()``: only the failing S3 HeadObject calls (one in
five) are recorded. ``--sessions N`` then creates and drops N botocore sessions with a
process-wide ``install(None)`` (a session per tenant or per assumed role) and checks that
memory stays flat and no session outlives its user; at about 6 ms per session on a loaded
machine, 100k take ten minutes (``--sessions 0`` skips it).

    python benchmarks/memory.py [--calls 100000] [--warmup 5000] [--checkpoints 10]
                                [--keep-only] [--sessions 100000]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
from botocore.awsrequest import AWSResponse
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

import botoware
from botoware.hooks.call import Call, Run
from botoware.plugins.metrics import MetricsPlugin
from botoware.plugins.tracing import KeepOnly, TracingPlugin

CREDENTIALS = {
    "aws_access_key_id": "AKIDMEMORYBENCH00001",
    "aws_secret_access_key": "memory-benchmark-secret-key-not-real-00",
    "region_name": "us-east-1",
}
ENDPOINT = "http://127.0.0.1:9"  # never contacted: every send is answered at before-send
QUEUE_URL = "http://127.0.0.1:9/123456789012/memory-queue"

JSON = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "0000"}
XML = {"Content-Type": "text/xml", "x-amz-request-id": "0000"}

# (service, method, params, operation, HTTP status, headers, wire body)
OPERATIONS: list[tuple[str, str, dict[str, Any], str, int, dict[str, str], bytes]] = [
    (
        "sqs",
        "get_queue_attributes",
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["All"]},
        "GetQueueAttributes",
        200,
        JSON,
        b'{"Attributes":{"ApproximateNumberOfMessages":"3","VisibilityTimeout":"30"}}',
    ),
    (
        "s3",
        "list_objects_v2",
        {"Bucket": "memory-bucket", "Prefix": "logs/"},
        "ListObjectsV2",
        200,
        XML,
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Name>memory-bucket</Name><Prefix>logs/</Prefix><KeyCount>3</KeyCount>"
        b"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
        + b"".join(
            b"<Contents><Key>logs/%d.gz</Key><Size>%d</Size></Contents>" % (i, 1024 + i)
            for i in range(3)
        )
        + b"</ListBucketResult>",
    ),
    (
        "dynamodb",
        "get_item",
        {"TableName": "memory-table", "Key": {"pk": {"S": "user#42"}}},
        "GetItem",
        200,
        JSON,
        b'{"Item":{"pk":{"S":"user#42"},"visits":{"N":"7"}}}',
    ),
    (
        "sts",
        "get_caller_identity",
        {},
        "GetCallerIdentity",
        200,
        XML,
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/memory</Arn>"
        b"<UserId>AIDAMEMORY</UserId><Account>123456789012</Account>"
        b"</GetCallerIdentityResult><ResponseMetadata><RequestId>0000</RequestId>"
        b"</ResponseMetadata></GetCallerIdentityResponse>",
    ),
    (
        "s3",
        "head_object",
        {"Bucket": "memory-bucket", "Key": "missing"},
        "HeadObject",
        404,
        {"x-amz-request-id": "0000"},
        b"",
    ),
]


class _Raw:
    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


class CountingExporter(SpanExporter):
    """Counts exported spans and keeps none (an in-memory exporter would be the leak)."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _answer(status: int, headers: dict[str, str], body: bytes) -> Any:
    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, _Raw(body))

    return answer


def _answered(client: Any, operation: str, answer: Any) -> Any:
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}.{operation}", answer)
    return client


class Workload:
    """One installed session, one client per operation, answered at before-send."""

    def __init__(self, bare: bool = False, keep_only: bool = False) -> None:
        self.exporter = CountingExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.registry = CollectorRegistry()
        self.session = boto3.Session(**CREDENTIALS)
        self.failed = 0  # calls answered with an error (the S3 404)
        tracing = TracingPlugin(
            tracer_provider=provider, keep_only=KeepOnly() if keep_only else None
        )
        plugins = [tracing, MetricsPlugin(registry=self.registry)]
        self.installation = (
            None if bare else botoware.install(self.session, plugins=plugins, autoload=False)
        )
        self.calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        for service, method, params, operation, status, headers, body in OPERATIONS:
            client = self.session.client(service, endpoint_url=ENDPOINT)
            _answered(client, operation, _answer(status, headers, body))
            self.calls.append((getattr(client, method), params))

    def run(self, n: int) -> None:
        calls = self.calls
        k = len(calls)
        for i in range(n):
            method, params = calls[i % k]
            try:
                method(**params)
            except botocore.exceptions.ClientError:
                self.failed += 1


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _live(kind: type) -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


def _mib(n: float) -> str:
    return f"{n / 2**20:.2f}"


def clients_are_released() -> dict[str, bool]:
    """Clients the host tracks die with the user's last reference: created before/after install."""
    session = boto3.Session(**CREDENTIALS)
    before = session.client("s3", endpoint_url=ENDPOINT)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(CountingExporter()))
    plugins = [TracingPlugin(tracer_provider=provider), MetricsPlugin(registry=CollectorRegistry())]
    installation = botoware.install(session, plugins=plugins, autoload=False)
    after = session.client("sqs", endpoint_url=ENDPOINT)
    _answered(before, "ListObjectsV2", _answer(*OPERATIONS[1][4:]))
    _answered(after, "GetQueueAttributes", _answer(*OPERATIONS[0][4:]))
    before.list_objects_v2(**OPERATIONS[1][2])
    after.get_queue_attributes(**OPERATIONS[0][2])
    refs = {"created before install()": weakref.ref(before), "created after": weakref.ref(after)}
    del before, after
    gc.collect()
    released = {name: ref() is None for name, ref in refs.items()}
    installation.uninstall()
    return released


def sessions_are_released(count: int, checkpoints: int) -> list[tuple[int, int, int, float]]:
    """Create and drop ``count`` sessions under a process-wide install(): (sessions, RSS,
    live gc objects, seconds) at each checkpoint."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(CountingExporter()))
    plugins = [TracingPlugin(tracer_provider=provider), MetricsPlugin(registry=CollectorRegistry())]
    installation = botoware.install(None, plugins=plugins, autoload=False)
    try:
        botocore.session.Session()  # warm-up: the first session loads what every one shares
        gc.collect()
        rows = [(0, _rss_bytes(), len(gc.get_objects()), 0.0)]
        step = max(1, count // max(1, checkpoints))
        start = time.perf_counter()
        for i in range(1, count + 1):
            botocore.session.Session()  # installed into by the initializer, then dropped
            if i % step == 0 or i == count:
                gc.collect()
                rows.append((i, _rss_bytes(), len(gc.get_objects()), time.perf_counter() - start))
    finally:
        installation.uninstall()
    return rows


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0


def _botoware_growth(end: tracemalloc.Snapshot, base: tracemalloc.Snapshot) -> int:
    """Bytes allocated by lines of botoware's own package that are still alive."""
    package = os.path.dirname(botoware.__file__)
    only = [tracemalloc.Filter(True, os.path.join(package, "*"))]
    stats = end.filter_traces(only).compare_to(base.filter_traces(only), "filename")
    return sum(stat.size_diff for stat in stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="calls after the warm-up")
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--checkpoints", type=int, default=10)
    parser.add_argument(
        "--no-tracemalloc",
        dest="tracemalloc",
        action="store_false",
        help="RSS only, at full speed (tracemalloc slows calls about threefold)",
    )
    parser.add_argument(
        "--bare", action="store_true", help="install nothing: botocore's own baseline"
    )
    parser.add_argument(
        "--keep-only", action="store_true", help="tracing with KeepOnly(): errors kept only"
    )
    parser.add_argument(
        "--sessions", type=int, default=100_000, help="sessions to create and drop (0: skip)"
    )
    args = parser.parse_args(argv)

    if args.tracemalloc:
        tracemalloc.start()
    workload = Workload(bare=args.bare, keep_only=args.keep_only)
    workload.run(args.warmup)
    gc.collect()
    base_snapshot = tracemalloc.take_snapshot() if args.tracemalloc else None
    base_rss, base_traced = _rss_bytes(), _traced()  # after the snapshot, which takes RSS
    rows: list[tuple[int, int, int, float]] = [(0, base_rss, base_traced, 0.0)]
    step = max(1, args.calls // args.checkpoints)
    done, start = 0, time.perf_counter()
    while done < args.calls:
        n = min(step, args.calls - done)
        workload.run(n)
        done += n
        gc.collect()
        rows.append((done, _rss_bytes(), _traced(), time.perf_counter() - start))
    end_snapshot = tracemalloc.take_snapshot() if args.tracemalloc else None
    tracemalloc.stop()
    live_calls, live_runs = _live(Call), _live(Run)
    spans = workload.exporter.exported
    series = sum(len(metric.samples) for metric in workload.registry.collect())
    released = clients_are_released()

    total = args.warmup + args.calls
    expected_spans = 0 if args.bare else workload.failed if args.keep_only else total
    what = "bare botocore" if args.bare else "tracing+metrics installed"
    if args.keep_only and not args.bare:
        what += " (tracing keep-only: errors)"
    print(f"\n{args.calls} calls after {args.warmup} warm-up calls, {what}")
    print(f"(tracemalloc {'on' if args.tracemalloc else 'off'})\n")
    print("| calls after warm-up | RSS MiB | traced MiB | traced growth KiB | seconds |")
    print("|---:|---:|---:|---:|---:|")
    for calls, rss, traced, seconds in rows:
        growth = (traced - base_traced) / 1024
        print(f"| {calls} | {_mib(rss)} | {_mib(traced)} | {growth:+.1f} | {seconds:.1f} |")
    half = rows[len(rows) // 2]
    print()
    print("| check | result |")
    print("|---|---|")
    print(f"| RSS growth after warm-up | {(rows[-1][1] - base_rss) / 1024:+.0f} KiB |")
    print(f"| RSS growth over the second half | {(rows[-1][1] - half[1]) / 1024:+.0f} KiB |")
    if base_snapshot is not None and end_snapshot is not None:
        traced_growth = rows[-1][2] - base_traced
        print(
            f"| tracemalloc growth after warm-up | {traced_growth / 1024:+.1f} KiB "
            f"({traced_growth / max(args.calls, 1):+.3f} B/call) |"
        )
        print(
            f"| ... of it allocated in botoware's package | "
            f"{_botoware_growth(end_snapshot, base_snapshot) / 1024:+.1f} KiB |"
        )
    print(f"| live botoware Call / Run objects after the run | {live_calls} / {live_runs} |")
    print(f"| spans exported / expected / calls made | {spans} / {expected_spans} / {total} |")
    print(f"| metric samples in the registry | {series} |")
    for name, ok in released.items():
        print(f"| client {name} released when dropped | {'yes' if ok else 'NO'} |")
    if base_snapshot is not None and end_snapshot is not None:
        print("\nlargest tracemalloc growth by line (after warm-up):")
        for stat in end_snapshot.compare_to(base_snapshot, "lineno")[:5]:
            print(f"  {stat}")
    ok = live_calls == 0 and spans == expected_spans and all(released.values())
    if args.sessions > 0:
        del workload, base_snapshot, end_snapshot
        session_rows = sessions_are_released(args.sessions, args.checkpoints)
        live_sessions = _live(botocore.session.Session)
        print(f"\n{args.sessions} botocore sessions created and dropped under install(None)\n")
        print("| sessions | RSS MiB | live gc objects | seconds |")
        print("|---:|---:|---:|---:|")
        for made, rss, objects, seconds in session_rows:
            print(f"| {made} | {_mib(rss)} | {objects} | {seconds:.1f} |")
        half = session_rows[len(session_rows) // 2]
        last = session_rows[-1]
        growth = (last[2] - half[2]) / max(1, last[0] - half[0])
        print()
        print("| check | result |")
        print("|---|---|")
        print(f"| RSS growth over the second half | {(last[1] - half[1]) / 1024:+.0f} KiB |")
        print(f"| live gc objects per session, second half | {growth:+.3f} |")
        print(f"| sessions alive after the run (the default session aside) | {live_sessions} |")
        ok = ok and growth < 0.01
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
