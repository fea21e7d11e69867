"""What botoware costs per call, per install() and at import, measured in one process.

Real clients whose HTTP send is answered at before-send with realistic wire-format bodies
(SQS GetQueueAttributes, S3 ListObjectsV2, DynamoDB GetItem, Lambda GetPolicy, STS
GetCallerIdentity), so serialization, signing, parsing and every hook run with no network
noise.

**Per call.** Each variant (bare botocore, hand-written lower bounds, the OpenTelemetry
contrib instrumentation, every botoware set-up) has its own session and clients. A round
runs, for each operation, a block of ``--calls`` calls in every variant, variants in shuffled
order, and takes each variant's CPU time (``time.process_time_ns``: all threads, so a span
processor's worker counts too) over the bare variant's block of the same round. The table
gives, per variant, the geometric mean over the five operations of the median per-round
ratio, and the median CPU microseconds per call over bare. Pairing blocks a few milliseconds
apart is what keeps ratios steady on a machine whose speed drifts by tens of percent within
seconds. Spans go through a ``BatchSpanProcessor`` into an exporter that drops them, as in
production (``--simple``: a ``SimpleSpanProcessor``).

**install().** CPU time of ``install()`` into a session that already has a client, against the
number of live (gc-tracked) objects in the process; time of an autoload ``install()`` in a
fresh interpreter (built-ins and entry points, imports included); ``python -X importtime``
figures for ``import botoware`` plus ``install()`` on top of ``import boto3``; and what the
first calls of that interpreter cost over bare boto3's (what botoware leaves to first use).

    python benchmarks/overhead.py [--rounds 30] [--calls 8] [--only NAME] [--simple]
                                  [--heap 1000000 --heap 5000000] [--json FILE|-] [--quick]

``--quick`` runs a smoke pass in seconds (figures meaningless, every code path exercised).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
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
                "ApproximateNumberOfMessagesNotVisible": "0",
                "VisibilityTimeout": "30",
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:bench-queue",
                "CreatedTimestamp": "1700000000",
                "LastModifiedTimestamp": "1700000000",
                "MessageRetentionPeriod": "345600",
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


# -------------------------------------------------------------------------------------------
# Span processors and the hand-written lower bounds
# -------------------------------------------------------------------------------------------


def _dropping_exporter() -> Any:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        """Takes every batch and keeps nothing: the export side of production, minus I/O."""

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return Dropping()


def _provider(simple: bool, sampler: Any = None) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider() if sampler is None else TracerProvider(sampler=sampler)
    processor = SimpleSpanProcessor if simple else BatchSpanProcessor
    provider.add_span_processor(processor(_dropping_exporter()))
    return provider


def _tracer_provider() -> Any:
    """A provider exporting to memory through a SimpleSpanProcessor (``overhead_aio.py``'s;
    it clears ``provider._botoware_bench_exporter`` between rounds)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider._botoware_bench_exporter = exporter
    return provider


def _span_pair(session: boto3.Session, provider: Any) -> None:
    """The least a plugin must do for a current span: start it with the four attributes
    known up front, attach it, and at the end set the status code, detach and end."""
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

    tracer = provider.get_tracer("bench-hand-written")

    def before(model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        service_id = model.service_model.service_id
        attributes = {
            "rpc.system": "aws-api",
            "rpc.service": service_id,
            "rpc.method": model.name,
            "cloud.region": context.get("client_region") or "",
        }
        span = tracer.start_span(
            f"{service_id}.{model.name}", kind=SpanKind.CLIENT, attributes=attributes
        )
        token = _attach(trace.set_span_in_context(span))
        context["bench.span"] = (span, token)

    def after(http_response: Any, context: dict[str, Any], **kwargs: Any) -> None:
        span, token = context.pop("bench.span")
        span.set_attribute("http.response.status_code", http_response.status_code)
        _detach(token)
        span.end()

    _attach, _detach = context.attach, context.detach
    session.events.register("before-call", before)
    session.events.register("after-call", after)


def _lazy_span(session: boto3.Session, provider: Any) -> None:
    """A span made only once the call is over, with the start time taken at before-call:
    no context attached, so nothing nests under it."""
    from opentelemetry.trace import SpanKind

    tracer = provider.get_tracer("bench-hand-written")

    def before(context: dict[str, Any], **kwargs: Any) -> None:
        context["bench.start"] = time.time_ns()

    def after(http_response: Any, model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        service_id = model.service_model.service_id
        attributes = {
            "rpc.system": "aws-api",
            "rpc.service": service_id,
            "rpc.method": model.name,
            "cloud.region": context.get("client_region") or "",
            "http.response.status_code": http_response.status_code,
        }
        span = tracer.start_span(
            f"{service_id}.{model.name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=context.pop("bench.start"),
        )
        span.end()

    session.events.register("before-call", before)
    session.events.register("after-call", after)


def _prometheus_pair(session: boto3.Session) -> None:
    """A call counter and a duration histogram, the prometheus_client way."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    labels = ("service", "operation", "outcome")
    calls = Counter("bench_calls_total", "calls", labels, registry=registry)
    duration = Histogram("bench_seconds", "duration", ("service", "operation"), registry=registry)

    def before(context: dict[str, Any], **kwargs: Any) -> None:
        context["bench.t0"] = time.perf_counter()

    def after(http_response: Any, model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        elapsed = time.perf_counter() - context.pop("bench.t0")
        service, operation = model.service_model.service_name, model.name
        outcome = "success" if http_response.status_code < 300 else "error"
        calls.labels(service, operation, outcome).inc()
        duration.labels(service, operation).observe(elapsed)

    session.events.register("before-call", before)
    session.events.register("after-call", after)


# -------------------------------------------------------------------------------------------
# Variants
# -------------------------------------------------------------------------------------------


class NoopAfterCall:
    botoware_name = "noop"

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass


class NoopMetricsHooks:
    """The metrics plugin's hooks, doing nothing: the bridge's floor for that hook set."""

    botoware_name = "noop-metrics-hooks"

    def botoware_call_start(self, call: botoware.Call) -> None:
        pass

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        pass


class NoopTracingHooks(NoopMetricsHooks):
    """The tracing plugin's hooks (default options), doing nothing: the floor for that set."""

    botoware_name = "noop-tracing-hooks"

    def botoware_request_created(self, call: botoware.Call) -> None:
        pass

    def botoware_response_received(self, call: botoware.Call) -> None:
        pass


def _tracing(provider: Any, **options: Any) -> object:
    from botoware.plugins.tracing import TracingPlugin

    return TracingPlugin(tracer_provider=provider, **options)


def _keep_only(provider: Any, **options: Any) -> object:
    from botoware.plugins.tracing import KeepOnly

    # Every benchmark call succeeds at once and fast: the keep-only plugin drops them all.
    return _tracing(provider, keep_only=KeepOnly(slower_than=1.0), **options)


def _metrics(registry: Any = None) -> object:
    from prometheus_client import CollectorRegistry

    from botoware.plugins.metrics import MetricsPlugin

    return MetricsPlugin(registry=CollectorRegistry() if registry is None else registry)


def _with_genai(provider: Any) -> list[object]:
    """Tracing, metrics and genai on one registry, as ``botoware run`` and autoload set up."""
    from prometheus_client import CollectorRegistry

    from botoware.plugins.genai import GenAIPlugin

    registry = CollectorRegistry()
    return [_tracing(provider), _metrics(registry), GenAIPlugin(registry)]


class Variant:
    """One set-up: its own session, one client per operation, answered at before-send."""

    def __init__(
        self,
        key: str,
        label: str,
        *,
        plugins: Callable[[], list[object]] | None = None,
        hand_written: Callable[[boto3.Session], None] | None = None,
        around: tuple[Callable[[], None], Callable[[], None]] | None = None,
    ) -> None:
        self.key = key
        self.label = label
        self.around = around
        self.session = boto3.Session(**CREDENTIALS)
        if hand_written is not None:
            hand_written(self.session)
        self.installation = (
            botoware.install(self.session, plugins=plugins(), autoload=False)
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

    def block(self, operation: int, calls: int, clock: Callable[[], int]) -> int:
        """Clock nanoseconds of ``calls`` calls of one operation (``around`` not counted)."""
        method, params = self.calls[operation]
        if self.around is not None:
            self.around[0]()
        try:
            start = clock()
            for _ in range(calls):
                method(**params)
            return clock() - start
        finally:
            if self.around is not None:
                self.around[1]()


def _variants(simple: bool, only: set[str] | None) -> list[Variant]:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    def provider() -> Any:
        return _provider(simple)

    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("bare", "bare botocore", {}),
        (
            "span-pair",
            "hand-written span on before-call/after-call (start, 4 attributes, attach, end)",
            {"hand_written": lambda s: _span_pair(s, provider())},
        ),
        (
            "lazy-span",
            "hand-written span made once at after-call with the start time, no attach",
            {"hand_written": lambda s: _lazy_span(s, provider())},
        ),
        (
            "prometheus-pair",
            "hand-written prometheus Counter+Histogram on before-call/after-call",
            {"hand_written": _prometheus_pair},
        ),
        ("empty", "botoware installed, no plugins", {"plugins": lambda: []}),
        ("noop", "botoware, one no-op after_call hook", {"plugins": lambda: [NoopAfterCall()]}),
        (
            "noop-metrics-hooks",
            "botoware, no-op call_start, after_call, after_call_error (metrics' hooks)",
            {"plugins": lambda: [NoopMetricsHooks()]},
        ),
        (
            "noop-tracing-hooks",
            "botoware, no-op hooks of tracing (+ request_created, response_received)",
            {"plugins": lambda: [NoopTracingHooks()]},
        ),
        ("metrics", "botoware metrics", {"plugins": lambda: [_metrics()]}),
        ("tracing", "botoware tracing", {"plugins": lambda: [_tracing(provider())]}),
        (
            "tracing+metrics",
            "botoware tracing + metrics",
            {"plugins": lambda: [_tracing(provider()), _metrics()]},
        ),
        (
            "tracing+metrics+genai",
            "botoware tracing + metrics + genai (scoped to Bedrock: none of these calls)",
            {"plugins": lambda: _with_genai(provider())},
        ),
        (
            "tracing-no-attempts",
            "botoware tracing, attempt_events=False (no per-attempt hooks)",
            {"plugins": lambda: [_tracing(provider(), attempt_events=False)]},
        ),
        (
            "not-sampled",
            "botoware tracing, sampler ALWAYS_OFF (a call that is not sampled)",
            {"plugins": lambda: [_tracing(_provider(simple, ALWAYS_OFF))]},
        ),
        (
            "keep-only",
            "botoware tracing, keep-only (failed, retried or slower than 1 s: none here)",
            {"plugins": lambda: [_keep_only(provider())]},
        ),
        (
            "keep-only-lean",
            "botoware tracing, keep-only, attempt_events=False, propagate=False (one hook)",
            {"plugins": lambda: [_keep_only(provider(), attempt_events=False, propagate=False)]},
        ),
    ]
    variants: list[Variant] = []
    for key, label, options in specs:
        if only is not None and key not in only:
            continue
        try:
            variants.append(Variant(key, label, **options))
        except ImportError as exc:  # e.g. KeepOnly on an older botoware
            sys.stderr.write(f"skipped {key}: {exc}\n")
    if only is None or "otel-botocore" in only:
        try:
            from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
        except ImportError:
            sys.stderr.write("skipped otel-botocore: pip install '.[bench]'\n")
            return variants
        instrumentor = BotocoreInstrumentor()
        otel_provider = provider()

        def on() -> None:
            instrumentor.instrument(tracer_provider=otel_provider)

        def off() -> None:
            instrumentor.uninstrument()

        variants.insert(
            4 if len(variants) >= 4 else len(variants),
            Variant(
                "otel-botocore",
                "opentelemetry-instrumentation-botocore, same provider",
                around=(on, off),
            ),
        )
    return variants


TARGETS: dict[str, tuple[str | None, float]] = {
    # key -> (relative to, allowance): "<= that variant's ratio + allowance", or absolute.
    "empty": (None, 1.01),
    "metrics": ("prometheus-pair", 0.015),
    "tracing": ("span-pair", 0.03),
    "tracing+metrics": ("span-pair", 0.05),
    "tracing+metrics+genai": ("tracing+metrics", 0.01),  # genai is scoped to Bedrock: ~0
    "not-sampled": (None, 1.02),
    "keep-only": (None, 1.02),
    "keep-only-lean": (None, 1.02),
}


def _geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def measure_calls(
    variants: list[Variant], rounds: int, calls: int, clock: Callable[[], int]
) -> list[dict[str, Any]]:
    bare = next(v for v in variants if v.key == "bare")
    operations = range(len(OPERATIONS))
    for variant in variants:  # warm-up: model loading, caches, first series and spans
        for op in operations:
            variant.block(op, 3, clock)
    ratios = {v.key: [[] for _ in operations] for v in variants}
    extra = {v.key: [[] for _ in operations] for v in variants}
    base = [[] for _ in operations]
    order = list(variants)
    for _ in range(rounds):
        for op in random.sample(list(operations), len(OPERATIONS)):
            random.shuffle(order)
            elapsed = {v.key: v.block(op, calls, clock) for v in order}
            for key, ns in elapsed.items():
                ratios[key][op].append(ns / elapsed[bare.key])
                extra[key][op].append((ns - elapsed[bare.key]) / calls / 1e3)
            base[op].append(elapsed[bare.key] / calls / 1e3)
        gc.collect()  # clients and spans make cycles: collect between rounds, not in blocks
    rows: list[dict[str, Any]] = []
    for variant in variants:
        per_op = [statistics.median(r) for r in ratios[variant.key]]
        rows.append(
            {
                "variant": variant.key,
                "label": variant.label,
                "ratio": _geomean(per_op),
                "us_over_bare": statistics.fmean(statistics.median(e) for e in extra[variant.key]),
                "ratio_by_operation": {
                    OPERATIONS[op][3]: round(per_op[op], 4) for op in operations
                },
            }
        )
    by_key = {row["variant"]: row for row in rows}
    for row in rows:
        target = TARGETS.get(row["variant"])
        if target is None:
            row["target"] = None
            continue
        reference, allowance = target
        if reference is None:
            row["target"] = allowance
        elif reference in by_key:
            row["target"] = by_key[reference]["ratio"] + allowance
        else:
            row["target"] = None
        row["target_text"] = (
            f"<= {allowance:.2f}" if reference is None else f"<= {reference} + {allowance:.3f}"
        )
        row["meets_target"] = row["target"] is not None and row["ratio"] <= row["target"]
    for row in rows:
        row["bare_us_per_call"] = _geomean([statistics.median(b) for b in base])
    return rows


# -------------------------------------------------------------------------------------------
# install(): against heap size, autoload in a fresh interpreter, import time
# -------------------------------------------------------------------------------------------


def measure_install(heap_sizes: Sequence[int], repeats: int, simple: bool) -> list[dict[str, Any]]:
    """CPU milliseconds of install() (tracing + metrics, one client made) per heap size."""
    rows: list[dict[str, Any]] = []
    gc.collect()
    gc.disable()  # collections over millions of ballast objects would swamp the figures
    try:
        for size in heap_sizes:
            ballast = [[] for _ in range(size)]  # empty lists: the cheapest gc-tracked objects
            times: list[float] = []
            for _ in range(repeats):
                session = boto3.Session(**CREDENTIALS)
                session.client("sqs", endpoint_url=ENDPOINT)
                plugins = [_tracing(_provider(simple)), _metrics()]
                start = time.process_time()  # CPU: install() is one thread's work
                installation = botoware.install(session, plugins=plugins, autoload=False)
                times.append((time.process_time() - start) * 1e3)
                installation.uninstall()
            rows.append(
                {"live_objects_added": size, "install_ms": statistics.median(times), "runs": times}
            )
            del ballast
    finally:
        gc.enable()
        gc.collect()
    return rows


_COLD_SCRIPT = """
import gc, json, sys, time
CREDENTIALS, ENDPOINT, QUEUE_URL, ANSWERS = json.loads(sys.argv[1])
WITH_BOTOWARE = sys.argv[2] == "1"
import boto3
from botocore.awsrequest import AWSResponse


class Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def answer(client, operation):
    status, headers, body = ANSWERS[operation]
    body = body.encode("latin-1")
    client.meta.events.register(
        f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}",
        lambda request, **kwargs: AWSResponse(request.url, status, headers, Raw(body)),
    )
    return client


def mark(phase):
    sys.stderr.write(f"BENCH-MARK {phase}\\n")


clock = time.process_time
import_s = install_s = 0.0
if WITH_BOTOWARE:
    mark("import-botoware")
    t0 = clock()
    import botoware
    import_s = clock() - t0
session = boto3.Session(**CREDENTIALS)
if WITH_BOTOWARE:
    mark("install")
    t0 = clock()
    botoware.install(session)
    install_s = clock() - t0
# A full garbage collection (some 15 ms here) comes when allocations add up, in one call or
# another, with botoware or without: off from here, so each row shows what the call costs.
gc.disable()
mark("first-call")
t0 = clock()
dynamodb = answer(session.client("dynamodb", endpoint_url=ENDPOINT), "GetItem")
dynamodb.get_item(TableName="bench-table", Key={"pk": {"S": "user#42"}})
first_s = clock() - t0
mark("first-send")
t0 = clock()
sqs = answer(session.client("sqs", endpoint_url=ENDPOINT), "SendMessage")
sqs.send_message(QueueUrl=QUEUE_URL, MessageBody="hello")
send_s = clock() - t0
mark("end")
print(json.dumps([import_s * 1e3, install_s * 1e3, first_s * 1e3, send_s * 1e3]))
"""
# The first calls of a fresh interpreter, answered at before-send as in the per-call table.
_COLD_ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "GetItem": ("dynamodb", OPERATIONS[2][4]),
    "SendMessage": (
        "sqs",
        {
            "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
            "MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592",  # md5(b"hello")
        },
    ),
}


def _cold_argv() -> str:
    answers: dict[str, tuple[int, dict[str, str], str]] = {}
    for operation, (service, parsed) in _COLD_ANSWERS.items():
        client = boto3.client(service, endpoint_url=ENDPOINT, **CREDENTIALS)  # type: ignore[call-overload]
        response = response_for(client.meta.service_model.operation_model(operation), parsed)
        body = response.content.decode("latin-1")
        answers[operation] = (response.status_code, dict(response.headers), body)
    return json.dumps([CREDENTIALS, ENDPOINT, QUEUE_URL, answers])


def _cold_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTOWARE_", "OTEL_"))}
    # As installed by pip: compiled once (into a throw-away cache, by a first run), so the
    # figures are imports, not compiling the sources of an editable install.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _importtime(stderr: str) -> dict[str, float]:
    """Milliseconds of imports (top-level cumulative figures) in each marked phase."""
    phases: dict[str, float] = {}
    phase: str | None = None
    for line in stderr.splitlines():
        if line.startswith("BENCH-MARK "):
            phase = line.split(" ", 1)[1]
            phases.setdefault(phase, 0.0)
            continue
        if phase is None or not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):  # one space: a top-level import
            phases[phase] += int(parts[1]) / 1e3
    return phases


def _where_botoware_comes_from() -> str:
    """How the measured interpreters find botoware, and what an editable install changes."""
    editable = any("editable" in getattr(f, "__module__", "").lower() for f in sys.meta_path)
    where = f"botoware from {Path(botoware.__file__).parent}"
    if not editable:
        return where + "."
    return (
        f"{where}, an editable install: a .pth file imports its finder at interpreter start-up, "
        "before the measured steps, and the finder is asked only for what no other finder "
        "finds (the top-level `botoware` package, optional imports that fail), so the figures "
        "are those of a wheel install."
    )


def _distributions() -> int:
    """Distributions on sys.path: the entry-point scan of an autoload install() reads each."""
    count = 0
    for entry in sys.path:
        with contextlib.suppress(OSError), os.scandir(entry or ".") as listing:
            count += sum(e.name.endswith((".dist-info", ".egg-info")) for e in listing)
    return count


def measure_cold(repeats: int) -> dict[str, Any]:
    """Fresh interpreters, ``repeats`` with botoware and as many with bare boto3, alternating:
    CPU milliseconds of ``import botoware``, of an autoload ``install()``, and of each first
    call (client creation included), which shows what botoware leaves to the first call.
    (CPU time: a loaded machine inflates wall time by multiples.) Half as many more runs with
    ``-X importtime`` give the imports of each step."""
    timed: dict[bool, list[list[float]]] = {True: [], False: []}
    imports: list[dict[str, float]] = []
    pycache = tempfile.mkdtemp(prefix="botoware-bench-pycache-")
    env = _cold_env(pycache)
    script = textwrap.dedent(_COLD_SCRIPT)
    argv = _cold_argv()

    def run(with_botoware: bool, importtime: bool = False) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", script, argv, "1" if with_botoware else "0"]
        if importtime:
            command[1:1] = ["-X", "importtime"]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, check=True, timeout=120
        )

    run(True)  # compiles into the cache
    for i in range(repeats):
        for with_botoware in (True, False):
            timed[with_botoware].append(json.loads(run(with_botoware).stdout))
        if i % 2 == 1 or repeats == 1:
            imports.append(_importtime(run(True, importtime=True).stderr))
    shutil.rmtree(pycache, ignore_errors=True)

    def median(with_botoware: bool, column: int) -> float:
        return statistics.median(row[column] for row in timed[with_botoware])

    import_ms, install_ms = median(True, 0), median(True, 1)
    result: dict[str, Any] = {
        "runs": repeats,
        "import_botoware_ms": import_ms,
        "autoload_install_ms": install_ms,
        "import_plus_install_ms": import_ms + install_ms,
        "first_call_ms": median(True, 2),
        "bare_first_call_ms": median(False, 2),
        "first_send_ms": median(True, 3),
        "bare_first_send_ms": median(False, 3),
        "distributions_on_path": _distributions(),
        "botoware_from": _where_botoware_comes_from(),
    }
    if imports:
        for key, phase in (
            ("importtime_import_botoware_ms", "import-botoware"),
            ("importtime_during_install_ms", "install"),
            ("importtime_first_call_ms", "first-call"),
            ("importtime_first_send_ms", "first-send"),
        ):
            result[key] = statistics.median(p.get(phase, 0.0) for p in imports)
    return result


# -------------------------------------------------------------------------------------------
# Output
# -------------------------------------------------------------------------------------------


def _print_tables(result: dict[str, Any], out: Any) -> None:
    calls = result["calls"]
    print(
        f"\nPer call: {result['rounds']} rounds x {len(OPERATIONS)} operations x "
        f"{result['calls_per_block']} calls per variant; {result['clock']} time; spans via "
        f"{result['span_processor']} into a dropping exporter. Ratio = geomean over the "
        "operations of the median per-round ratio to bare botocore "
        f"({calls[0]['bare_us_per_call']:.0f} µs per bare call, geomean).\n",
        file=out,
    )
    print("| variant | ratio | CPU per call over bare | target |", file=out)
    print("|---|---:|---:|---|", file=out)
    for row in calls:
        target = ""
        if row.get("target") is not None:
            verdict = "met" if row["meets_target"] else "NOT met"
            target = f"{row['target_text']} = {row['target']:.3f} ({verdict})"
        print(
            f"| {row['label']} | {row['ratio']:.3f} | {row['us_over_bare']:+.0f} µs | {target} |",
            file=out,
        )
    if result.get("install"):
        print(
            "\ninstall() into a session with one client (tracing + metrics), median CPU time:\n",
            file=out,
        )
        print("| live objects added to the heap | install() | target |", file=out)
        print("|---:|---:|---|", file=out)
        for row in result["install"]:
            print(
                f"| {row['live_objects_added']:,} | {row['install_ms']:.2f} ms | <= 2 ms |",
                file=out,
            )
    cold = result.get("cold")
    if cold:
        _print_cold(cold, out)


def _print_cold(cold: dict[str, Any], out: Any) -> None:
    def imports(key: str) -> str:
        value = cold.get(key)
        return "" if value is None else f"{value:.1f} ms"

    print(
        f"\nFresh interpreter, after `import boto3` (median of {cold['runs']} runs; the first "
        "calls, answered at before-send, against as many runs of bare boto3, with garbage "
        "collection off: a full one, some 15 ms, lands in one call or another):\n",
        file=out,
    )
    print("| step | CPU | of it imports (-X importtime, wall) | target |", file=out)
    print("|---|---:|---:|---|", file=out)
    rows = [
        ("import botoware", cold["import_botoware_ms"], "importtime_import_botoware_ms", ""),
        (
            "autoload install() (tracing, metrics, genai, entry points)",
            cold["autoload_install_ms"],
            "importtime_during_install_ms",
            "<= 20 ms",
        ),
        ("both", cold["import_plus_install_ms"], None, "<= 30 ms"),
    ]
    for label, ms, key, target in rows:
        verdict = ""
        if target:
            verdict = f"{target} ({'met' if ms <= float(target.split()[1]) else 'NOT met'})"
        print(f"| {label} | {ms:.1f} ms | {imports(key) if key else ''} | {verdict} |", file=out)
    for label, key in (
        ("first DynamoDB GetItem, client included, over bare boto3's", "first_call_ms"),
        ("then a first SQS SendMessage (the propagators load), over bare's", "first_send_ms"),
    ):
        bare = cold[f"bare_{key}"]
        print(
            f"| {label} {bare:.1f} ms | {cold[key] - bare:+.1f} ms | "
            f"{imports(f'importtime_{key}')} | |",
            file=out,
        )
    print(
        f"\n{cold['botoware_from']} {cold['distributions_on_path']} distributions on sys.path "
        "(the entry-point scan reads each). -X importtime does not list modules loaded with "
        "importlib.import_module (the built-in plugins themselves), only what they import.",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=8, help="calls per block")
    parser.add_argument("--only", action="append", help="measure only these variants (keys)")
    parser.add_argument("--simple", action="store_true", help="SimpleSpanProcessor")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU")
    parser.add_argument(
        "--heap", type=int, action="append", help="live objects for the install() table"
    )
    parser.add_argument("--cold-runs", type=int, default=6, help="fresh interpreters to start")
    parser.add_argument("--json", help="write the results as JSON to this file ('-': stdout)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.cold_runs = 1, 1, 2
        heap = args.heap or [0, 20_000]
        repeats = 1
    else:
        heap = args.heap or [0, 1_000_000, 5_000_000]
        repeats = 3
    random.seed(args.seed)
    clock = time.perf_counter_ns if args.wall else time.process_time_ns
    only = set(args.only) | {"bare"} if args.only else None

    variants = _variants(args.simple, only)
    result: dict[str, Any] = {
        "rounds": args.rounds,
        "calls_per_block": args.calls,
        "operations": [op[3] for op in OPERATIONS],
        "clock": "wall" if args.wall else "CPU",
        "span_processor": "SimpleSpanProcessor" if args.simple else "BatchSpanProcessor",
        "python": sys.version.split()[0],
    }
    result["calls"] = measure_calls(variants, args.rounds, args.calls, clock)
    for variant in variants:
        if variant.installation is not None:
            variant.installation.uninstall()
    del variants
    gc.collect()
    result["install"] = measure_install(heap, repeats, args.simple)
    result["cold"] = measure_cold(args.cold_runs) if args.cold_runs > 0 else None

    to_stdout = args.json == "-"
    _print_tables(result, sys.stderr if to_stdout else sys.stdout)
    if args.json:
        text = json.dumps(result, indent=2)
        if to_stdout:
            print(text)
        else:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
