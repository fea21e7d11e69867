"""Per-call CPU cost of botoware against bare botocore, measured in one process.

Real clients whose HTTP send is answered at before-send with realistic wire-format bodies
(SQS GetQueueAttributes, S3 ListObjectsV2, DynamoDB GetItem, Lambda GetPolicy, STS
GetCallerIdentity), so serialization, signing, parsing and every hook run with no network
noise.

Variants are interleaved in short rounds: each round makes one call of every operation in
every variant, variants in shuffled order, and gives each a paired ratio to bare botocore
for that round. The table reports, per variant, the median of those per-round ratios and
the median round time per call. On a shared machine whose speed drifts by tens of percent
within seconds, pairing rounds a few milliseconds apart is what keeps the ratios steady;
rounds of hundreds of calls were not. Client creation is measured the same way. Prints a
Markdown table and writes JSON (``--json``).

    python benchmarks/overhead.py [--rounds 600] [--calls 5] [--only VARIANT] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

import botoware
from botoware.testing import response_for

CREDENTIALS = {
    "aws_access_key_id": "AKIDBENCHMARK0000001",
    "aws_secret_access_key": "benchmark-secret-key-not-real-000000000",
    "region_name": "us-east-1",
}
ENDPOINT = "http://127.0.0.1:9"  # never contacted: every send is answered at before-send
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            {
                "Sid": "s3-invoke",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:thumbnailer",
            }
        ],
    }
)
QUEUE_URL = "http://127.0.0.1:9/123456789012/bench-queue"

# (service, method, params, operation, parsed answer)
OPERATIONS: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "sqs",
        "get_queue_attributes",
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["All"]},
        "GetQueueAttributes",
        {
            "Attributes": {
                "ApproximateNumberOfMessages": "3",
                "VisibilityTimeout": "30",
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:bench-queue",
                "CreatedTimestamp": "1700000000",
            }
        },
    ),
    (
        "s3",
        "list_objects_v2",
        {"Bucket": "bench-bucket", "Prefix": "videos/"},
        "ListObjectsV2",
        {
            "IsTruncated": False,
            "Name": "bench-bucket",
            "Prefix": "videos/",
            "KeyCount": 10,
            "MaxKeys": 1000,
            "Contents": [
                {
                    "Key": f"videos/clip-{i:04d}.mp4",
                    "Size": 1048576 + i,
                    "ETag": '"d41d8cd98f00b204e9800998ecf8427e"',
                    "StorageClass": "STANDARD",
                }
                for i in range(10)
            ],
        },
    ),
    (
        "dynamodb",
        "get_item",
        {"TableName": "bench-table", "Key": {"pk": {"S": "user#42"}}},
        "GetItem",
        {
            "Item": {
                "pk": {"S": "user#42"},
                "name": {"S": "Ada"},
                "visits": {"N": "1024"},
                "tags": {"SS": ["a", "b", "c"]},
            }
        },
    ),
    (
        "lambda",
        "get_policy",
        {"FunctionName": "thumbnailer"},
        "GetPolicy",
        {"Policy": POLICY, "RevisionId": "4f1e3c1a-0000-4000-8000-000000000000"},
    ),
    (
        "sts",
        "get_caller_identity",
        {},
        "GetCallerIdentity",
        {
            "UserId": "AIDABENCHMARK000000001",
            "Account": "123456789012",
            "Arn": "arn:aws:iam::123456789012:user/bench",
        },
    ),
]


class _Raw:
    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


def _answer_for(client: Any, operation: str, parsed: dict[str, Any]) -> Callable[..., AWSResponse]:
    model = client.meta.service_model.operation_model(operation)
    template = response_for(model, parsed)
    status, headers, body = template.status_code, dict(template.headers), template.content

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, _Raw(body))

    return answer


class Workload:
    """One session with one client per operation, answered at before-send."""

    def __init__(self, plugins: list[object] | None) -> None:
        self.session = boto3.Session(**CREDENTIALS)
        self.installation = (
            botoware.install(self.session, plugins=plugins, autoload=False)
            if plugins is not None
            else None
        )
        self.calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        for service, method, params, operation, parsed in OPERATIONS:
            client = self.session.client(service, endpoint_url=ENDPOINT)
            client.meta.events.register(
                f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                _answer_for(client, operation, parsed),
            )
            self.calls.append((getattr(client, method), params))

    def run(self, n: int) -> float:
        """Seconds per call over ``n`` calls cycling through the operations."""
        calls = self.calls
        k = len(calls)
        start = time.perf_counter()
        for i in range(n):
            method, params = calls[i % k]
            method(**params)
        return (time.perf_counter() - start) / n


class NoopAfterCall:
    botoware_name = "noop"

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass


class OtherOperation:
    botoware_name = "other-operation"
    botoware_scope = ("ec2.DescribeInstances",)

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass


def _tracer_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider._botoware_bench_exporter = exporter  # type: ignore[attr-defined]
    return provider


def _tracing(provider: Any) -> object:
    from botoware.plugins.tracing import TracingPlugin

    return TracingPlugin(tracer_provider=provider)


def _metrics() -> object:
    from prometheus_client import CollectorRegistry

    from botoware.plugins.metrics import MetricsPlugin

    return MetricsPlugin(registry=CollectorRegistry())


class Variant:
    def __init__(
        self,
        name: str,
        plugins: Callable[[], list[object] | None],
        around: tuple[Callable[[], None], Callable[[], None]] | None = None,
        provider: Any = None,
    ) -> None:
        self.name = name
        self.workload = Workload(plugins())
        self.around = around
        self.provider = provider
        self.times: list[int] = []  # nanoseconds of each round's calls

    def round(self, calls: int) -> int:
        """Nanoseconds of ``calls`` calls cycling through the operations (set-up of ``around``
        not counted)."""
        workload = self.workload.calls
        if self.around:
            self.around[0]()
        try:
            start = time.perf_counter_ns()
            for i in range(calls):
                method, params = workload[i % len(workload)]
                method(**params)
            elapsed = time.perf_counter_ns() - start
        finally:
            if self.around:
                self.around[1]()
        self.times.append(elapsed)
        return elapsed

    def tidy(self) -> None:
        if self.provider is not None:
            self.provider._botoware_bench_exporter.clear()

    def us_per_call(self, calls: int) -> float:
        return statistics.median(self.times) / calls / 1e3


def _variants(only: set[str] | None) -> list[Variant]:
    tp = {name: _tracer_provider() for name in ("tracing", "tracing+metrics", "all", "otel")}
    specs: list[tuple[str, Callable[[], list[object] | None], Any]] = [
        ("bare botocore", lambda: None, None),
        ("installed, no plugins", lambda: [], None),
        ("one no-op after_call", lambda: [NoopAfterCall()], None),
        ("plugin scoped to another operation", lambda: [OtherOperation()], None),
        ("metrics", lambda: [_metrics()], None),
        ("tracing", lambda: [_tracing(tp["tracing"])], tp["tracing"]),
        (
            "tracing+metrics",
            lambda: [_tracing(tp["tracing+metrics"]), _metrics()],
            tp["tracing+metrics"],
        ),
        (
            "all built-ins (tracing, metrics, policies, retry)",
            lambda: [_tracing(tp["all"]), _metrics(), "policies", "retry"],
            tp["all"],
        ),
    ]
    variants = [
        Variant(name, plugins, provider=provider)
        for name, plugins, provider in specs
        if only is None or name in only
    ]
    try:
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    except ImportError:
        sys.stderr.write("opentelemetry-instrumentation-botocore missing: pip install '.[bench]'\n")
        return variants
    instrumentor = BotocoreInstrumentor()
    provider = tp["otel"]

    def on() -> None:
        instrumentor.instrument(tracer_provider=provider)

    def off() -> None:
        instrumentor.uninstrument()

    if only is None or "opentelemetry-instrumentation-botocore" in only:
        variants.append(
            Variant("opentelemetry-instrumentation-botocore", lambda: None, (on, off), provider)
        )
    return variants


def _client_creation(rounds: int) -> dict[str, float]:
    bare = boto3.Session(**CREDENTIALS)
    installed = boto3.Session(**CREDENTIALS)
    botoware.install(installed, plugins=[_tracing(_tracer_provider()), _metrics()], autoload=False)
    sessions = [("bare", bare), ("installed", installed)]
    for _, session in sessions:  # load the service models once
        session.client("s3", endpoint_url=ENDPOINT)
    times: dict[str, list[int]] = {"bare": [], "installed": []}
    ratios: list[float] = []
    for i in range(rounds):
        per: dict[str, int] = {}
        for name, session in random.sample(sessions, 2):
            start = time.perf_counter_ns()
            session.client("s3", endpoint_url=ENDPOINT)
            per[name] = time.perf_counter_ns() - start
            times[name].append(per[name])
        ratios.append(per["installed"] / per["bare"])
        if i % 50 == 49:
            gc.collect()  # clients hold cycles; keep collections out of the timed calls
    return {
        "bare_ms": statistics.median(times["bare"]) / 1e6,
        "installed_ms": statistics.median(times["installed"]) / 1e6,
        "ratio": statistics.median(ratios),
    }


TARGETS = {
    "installed, no plugins": 1.01,
    "one no-op after_call": 1.03,
    "plugin scoped to another operation": 1.01,
    "metrics": 1.04,
    "tracing": 1.08,
    "tracing+metrics": 1.10,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--calls", type=int, default=len(OPERATIONS), help="calls per round")
    parser.add_argument("--clients", type=int, default=300, help="client creation rounds")
    parser.add_argument("--only", action="append", help="measure only these variants")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/overhead.json"))
    args = parser.parse_args(argv)

    variants = _variants(set(args.only) | {"bare botocore"} if args.only else None)
    bare = variants[0]
    for variant in variants:  # warm-up: imports, model loading, caches
        variant.round(100)
        variant.times = []
        variant.tidy()
    ratios: dict[str, list[float]] = {v.name: [] for v in variants}
    order = list(variants)
    for i in range(args.rounds):
        random.shuffle(order)
        this_round = {v.name: v.round(args.calls) for v in order}
        for name, elapsed in this_round.items():
            ratios[name].append(elapsed / this_round[bare.name])
        if i % 20 == 19:
            for variant in variants:
                variant.tidy()

    rows = []
    for variant in variants:
        ratio = statistics.median(ratios[variant.name])
        rows.append(
            {
                "variant": variant.name,
                "us_per_call": variant.us_per_call(args.calls),
                "ratio": ratio,
                "target": TARGETS.get(variant.name),
            }
        )
    creation = _client_creation(args.clients)

    print(
        f"\n{args.rounds} rounds of {args.calls} calls per variant, "
        "median of per-round ratios to bare\n"
    )
    print("| variant | µs/call | ratio to bare | target |")
    print("|---|---:|---:|---:|")
    for row in rows:
        target = f"<= {row['target']:.2f}x" if row["target"] else ""
        print(f"| {row['variant']} | {row['us_per_call']:.1f} | {row['ratio']:.3f}x | {target} |")
    print(
        f"| client creation (s3), tracing+metrics installed | {creation['installed_ms']:.2f} ms "
        f"vs {creation['bare_ms']:.2f} ms | {creation['ratio']:.3f}x | <= 1.05x |"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "rounds": args.rounds,
                "calls_per_round": args.calls,
                "variants": rows,
                "client_creation": creation,
            },
            indent=2,
        )
    )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
