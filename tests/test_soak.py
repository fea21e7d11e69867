"""Soak: 8 threads share clients for a few thousand calls against moto with faults injected.

Bounded (about 2,400 calls) so that it runs in CI. Whatever the faults and the raising
observer do, every call ends exactly once in every plugin, one span ends per call, the metric
totals are exact, the OpenTelemetry context after each call equals the one before it, and no
observer's exception reaches the user. The tests at the end uninstall a plugin while a call
is in flight: the call still ends in it.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import botoware
from botoware.plugins.metrics import ATTEMPTS as ATTEMPTS_TOTAL
from botoware.plugins.metrics import CALL_DURATION, CALLS, CALLS_IN_FLIGHT, MetricsPlugin
from botoware.plugins.retry import RetryPlugin, RetryPolicy
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import (
    Faults,
    Recorder,
    connection_error,
    latency,
    read_timeout,
    server_error,
    throttle,
)

THREADS = 8
CALLS_PER_THREAD = 300
MAX_ATTEMPTS = 3
OBSERVER_HOOKS = (
    "client_created",
    "before_parameter_build",
    "before_sign",
    "request_created",
    "response_received",
    "after_call",
    "after_call_error",
    "run_start",
    "run_end",
)
TERMINAL = botoware.StashKey[list[str]]()
ATTEMPTS = botoware.StashKey[int]()
EXPECTED_ERRORS = (
    botocore.exceptions.ClientError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,  # ReadTimeoutError
    botocore.exceptions.ParamValidationError,
)


class Counting:
    """Keeps every Call it sees and counts its terminal hooks in the call's stash."""

    botoware_name = "counting"

    def __init__(self) -> None:
        self.calls: list[botoware.Call] = []
        self.runs: Counter[str] = Counter()

    def botoware_before_parameter_build(self, call: botoware.Call) -> None:
        call.stash.setdefault(TERMINAL, [])
        self.calls.append(call)  # list.append is atomic: no lock needed across threads

    def botoware_after_call(self, call: botoware.Call) -> None:
        call.stash.setdefault(TERMINAL, []).append("after_call")
        call.stash[ATTEMPTS] = call.attempt

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        call.stash.setdefault(TERMINAL, []).append("after_call_error")
        call.stash[ATTEMPTS] = call.attempt

    def botoware_run_start(self, run: botoware.Run) -> None:
        self.runs["start"] += 1

    def botoware_run_end(self, run: botoware.Run) -> None:
        self.runs["end"] += 1


class RandomlyRaising:
    """An observer with bugs: raises in about one hook in ten."""

    botoware_name = "randomly-raising"

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.raised = 0

    def _maybe_raise(self, hook: str) -> None:
        with self._lock:
            unlucky = self._random.random() < 0.1
            self.raised += unlucky
        if unlucky:
            raise RuntimeError(f"observer bug in {hook}")


def _raising_hook(hook: str) -> Callable[[RandomlyRaising], None]:
    def implementation(self: RandomlyRaising) -> None:
        self._maybe_raise(hook)

    return implementation


for _hook in OBSERVER_HOOKS:
    setattr(RandomlyRaising, f"botoware_{_hook}", _raising_hook(_hook))


@dataclass
class Tally:
    """What one worker thread did, from the user's side."""

    calls: int = 0
    runs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def _worker(index: int, clients: dict[str, Any], names: dict[str, str], user: Any) -> Tally:
    rng = random.Random(index)
    s3, sqs, dynamodb = clients["s3"], clients["sqs"], clients["dynamodb"]
    bucket, queue, table = names["bucket"], names["queue"], names["table"]
    tally = Tally()

    def paginate(i: int) -> None:
        # Each page is one call; a failing page is one more call, then the error.
        tally.runs += 1
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"w{index}/", PaginationConfig={"PageSize": 20}
        )
        try:
            for _ in pages:
                tally.calls += 1
        except EXPECTED_ERRORS:
            tally.calls += 1
            raise

    steps: list[tuple[Callable[[int], Any], int]] = [
        (lambda i: s3.put_object(Bucket=bucket, Key=f"w{index}/{i}", Body=b"soak"), 1),
        (lambda i: s3.get_object(Bucket=bucket, Key=f"w{index}/{i - 1}")["Body"].read(), 1),
        (lambda i: s3.head_object(Bucket=bucket, Key="never-written"), 1),
        (lambda i: sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}"), 1),
        (lambda i: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0), 1),
        (
            lambda i: dynamodb.put_item(
                TableName=table, Item={"pk": {"S": f"w{index}-{i}"}, "n": {"N": str(i)}}
            ),
            1,
        ),
        (lambda i: dynamodb.get_item(TableName=table, Key={"pk": {"S": f"w{index}-{i}"}}), 1),
        (lambda i: s3.put_object(Bucket=bucket), 1),  # ParamValidationError: no Key
        (paginate, 0),  # counts its own calls
    ]
    while tally.calls < CALLS_PER_THREAD:
        step, calls = rng.choice(steps)
        # Half the calls run inside a span of the user's, half with no current span.
        with contextlib.ExitStack() as stack:
            if rng.random() < 0.5:
                span = stack.enter_context(user.tracer.start_as_current_span("user work"))
                user.span_ids.append(span.get_span_context().span_id)
            before = otel_context.get_current()
            try:
                step(tally.calls)
                tally.outcomes["ok"] += 1
            except EXPECTED_ERRORS as exc:
                tally.outcomes[type(exc).__name__] += 1
            finally:
                tally.calls += calls
            assert otel_context.get_current() == before, "a call changed the current context"
    return tally


@dataclass
class User:
    """The application's own tracer (another provider) and the ids of its spans."""

    tracer: Any
    span_ids: list[int] = field(default_factory=list)


def _total(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sum of a metric's samples over every label set matching ``labels``."""
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.fixture
def resources(client: Any) -> dict[str, str]:
    """A bucket, a queue and a table in moto (created before anything is installed)."""
    s3, sqs, dynamodb = client("s3"), client("sqs"), client("dynamodb")
    s3.create_bucket(Bucket="soak-bucket")
    queue = sqs.create_queue(QueueName="soak-queue")["QueueUrl"]
    dynamodb.create_table(
        TableName="soak-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"bucket": "soak-bucket", "queue": queue, "table": "soak-table"}


def test_soak_every_call_ends_once_in_every_plugin(
    session: Any, client: Any, resources: dict[str, str]
) -> None:
    """8 threads, shared clients, faults, a raising observer: one ending, span, count per call."""
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS}, max_pool_connections=THREADS
    )
    counting, raising, recorder = Counting(), RandomlyRaising(seed=6), Recorder()
    each = 0.04  # per attempt and kind: about one attempt in six meets a fault
    faults = Faults.random(
        {
            "*": [
                (each, throttle()),
                (each, server_error(503)),
                (each, connection_error()),
                (each, read_timeout()),
                (each, latency(0.002)),  # a slow network, not synchronisation
            ]
        },
        seed=6,
    )
    retry = RetryPlugin(RetryPolicy(max_attempts=MAX_ATTEMPTS, base=0.001, cap=0.004))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingPlugin(tracer_provider=provider, attempt_spans=True)
    user = User(TracerProvider().get_tracer("soak"))
    registry = CollectorRegistry()
    metrics = MetricsPlugin(registry=registry)
    plugins: list[object] = [counting, recorder, raising, faults, retry, tracing, metrics]
    with botoware.install(session, plugins=plugins, autoload=False):
        clients = {name: client(name, config=config) for name in ("s3", "sqs", "dynamodb")}
        with ThreadPoolExecutor(THREADS) as pool:
            tallies = list(
                pool.map(
                    _worker,
                    range(THREADS),
                    [clients] * THREADS,
                    [resources] * THREADS,
                    [user] * THREADS,
                )
            )
    made = sum(t.calls for t in tallies)
    assert made >= THREADS * CALLS_PER_THREAD
    assert len(counting.calls) == made
    endings = Counter(len(call.stash[TERMINAL]) for call in counting.calls)
    assert endings == {1: made}
    assert all(call.ended for call in counting.calls)
    runs = sum(t.runs for t in tallies)
    assert runs > 0 and counting.runs == {"start": runs, "end": runs}
    assert raising.raised > 0
    kinds = {"throttle", "server_error", "connection_error", "read_timeout", "latency"}
    assert {injection.fault for injection in faults.injected} == kinds
    assert recorder.terminals() == made == len(recorder.calls)
    assert recorder.count("provide_client_params") == made
    assert all(call.ended for call in recorder.calls)

    finished = exporter.get_finished_spans()
    client_spans = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert len(client_spans) == made, "spans ended == calls made"
    errors = sum(n for t in tallies for outcome, n in t.outcomes.items() if outcome != "ok")
    assert sum(s.status.status_code is StatusCode.ERROR for s in client_spans) == errors

    assert _total(registry, CALLS) == made, "metric totals are exact"
    assert _total(registry, CALLS, outcome="error") == errors
    assert _total(registry, CALL_DURATION + "_count") == made
    assert _total(registry, ATTEMPTS_TOTAL) == sum(c.stash[ATTEMPTS] for c in counting.calls)
    assert _total(registry, CALLS_IN_FLIGHT) == 0

    runs_ids = {s.context.span_id for s in finished if s.name.endswith(" paginate")}
    parents = set(user.span_ids) | runs_ids
    assert all(s.parent is None or s.parent.span_id in parents for s in client_spans)
    assert sum(s.parent is not None and s.parent.span_id in user.span_ids for s in client_spans)


class Bracket:
    """Counts the calls it saw start, and the endings of those calls."""

    botoware_name = "bracket"

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0

    def botoware_before_parameter_build(self, call: botoware.Call) -> None:
        call.stash[OPENED_BY] = self
        self.started += 1

    def botoware_after_call(self, call: botoware.Call) -> None:
        if call.stash.get(OPENED_BY, None) is self:
            self.ended += 1


OPENED_BY = botoware.StashKey[Bracket]()


class Gate:
    """Holds each send until released, then answers it offline."""

    botoware_name = "gate"

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def botoware_before_send(self, request: Any) -> AWSResponse:
        self.reached.set()
        self.release.wait(timeout=30)
        return AWSResponse(request.url, 200, {}, _Raw(STS_OK))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


STS_OK = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Account>123456789012</Account></GetCallerIdentityResult>"
    b"</GetCallerIdentityResponse>"
)


def test_uninstall_while_a_call_is_in_flight_still_ends_it(session: Any) -> None:
    """A plugin uninstalled mid-call still gets the ending of the call it saw start."""
    sts = session.client("sts", endpoint_url="http://127.0.0.1:9")
    gate, bracket = Gate(), Bracket()
    with botoware.install(session, plugins=[gate], autoload=False):
        installation = botoware.install(session, plugins=[bracket], autoload=False)
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(sts.get_caller_identity)
            assert gate.reached.wait(timeout=30)
            installation.uninstall()
            gate.release.set()
            in_flight.result()
    assert (bracket.started, bracket.ended) == (1, 1)


def test_uninstalling_tracing_mid_call_leaves_the_thread_context_clean(session: Any) -> None:
    """Tracing uninstalled while a call is in flight: the span ends, the context is restored."""
    sts = session.client("sts", endpoint_url="http://127.0.0.1:9")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gate = Gate()

    def call_and_compare() -> bool:
        before = otel_context.get_current()
        sts.get_caller_identity()
        return otel_context.get_current() == before

    with botoware.install(session, plugins=[gate], autoload=False):
        installation = botoware.install(
            session, plugins=[TracingPlugin(tracer_provider=provider)], autoload=False
        )
        with ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(call_and_compare)
            assert gate.reached.wait(timeout=30)
            installation.uninstall()
            gate.release.set()
            restored = in_flight.result()
    assert restored and len(exporter.get_finished_spans()) == 1
