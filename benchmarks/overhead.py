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
fresh interpreter (built-ins and entry points, imports included); and ``python -X
importtime`` figures for ``import botoware`` plus ``install()`` on top of ``import boto3``.

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


class NoopTracingHooks:
    """The tracing plugin's hooks (default options), doing nothing: the floor for that set."""

    botoware_name = "noop-tracing-hooks"

    def botoware_call_start(self, call: botoware.Call) -> None:
        pass

    def botoware_request_created(self, call: botoware.Call) -> None:
        pass

    def botoware_response_received(self, call: botoware.Call) -> None:
        pass

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass

    def botoware_after_call_error(self, call: botoware.Call) -> None:
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
import sys, time
import boto3
sys.stderr.write("BENCH-MARK import-botoware\\n")
t0 = time.process_time()
import botoware
t1 = time.process_time()
session = boto3.Session(region_name="us-east-1")
sys.stderr.write("BENCH-MARK install\\n")
t2 = time.process_time()
botoware.install(session)
t3 = time.process_time()
sys.stderr.write("BENCH-MARK end\\n")
print((t1 - t0) * 1e3, (t3 - t2) * 1e3)
"""


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


def measure_cold(repeats: int) -> dict[str, Any]:
    """A fresh interpreter per run: CPU milliseconds of ``import botoware`` and of an autoload
    ``install()`` (CPU time: a loaded machine inflates wall time by multiples)."""
    walls: list[tuple[float, float]] = []
    imports: list[dict[str, float]] = []
    pycache = tempfile.mkdtemp(prefix="botoware-bench-pycache-")
    env = _cold_env(pycache)
    script = textwrap.dedent(_COLD_SCRIPT)
    subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, check=True)
    for i in range(repeats):
        command = [sys.executable, "-c", script]
        if i % 2 == 1:
            command[1:1] = ["-X", "importtime"]
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, check=True, timeout=120
        )
        import_ms, install_ms = (float(x) for x in done.stdout.split())
        if i % 2 == 1:
            imports.append(_importtime(done.stderr))
        else:
            walls.append((import_ms, install_ms))
    shutil.rmtree(pycache, ignore_errors=True)
    import_ms = statistics.median(w[0] for w in walls)
    install_ms = statistics.median(w[1] for w in walls)
    result: dict[str, Any] = {
        "runs": len(walls),
        "import_botoware_ms": import_ms,
        "autoload_install_ms": install_ms,
        "import_plus_install_ms": import_ms + install_ms,
    }
    if imports:
        result["importtime_import_botoware_ms"] = statistics.median(
            p.get("import-botoware", 0.0) for p in imports
        )
        result["importtime_during_install_ms"] = statistics.median(
            p.get("install", 0.0) for p in imports
        )
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
        print(f"\nFresh interpreter, after `import boto3` (median of {cold['runs']}):\n", file=out)
        print("| step | CPU | of it imports (-X importtime, wall) | target |", file=out)
        print("|---|---:|---:|---|", file=out)
        it_import = cold.get("importtime_import_botoware_ms")
        it_install = cold.get("importtime_during_install_ms")
        print(
            f"| import botoware | {cold['import_botoware_ms']:.1f} ms | "
            f"{'' if it_import is None else f'{it_import:.1f} ms'} | |",
            file=out,
        )
        print(
            f"| autoload install() (tracing, metrics, entry points) | "
            f"{cold['autoload_install_ms']:.1f} ms | "
            f"{'' if it_install is None else f'{it_install:.1f} ms'} | <= 20 ms |",
            file=out,
        )
        print(
            f"| both | {cold['import_plus_install_ms']:.1f} ms | | <= 30 ms |",
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
