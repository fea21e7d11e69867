"""Property-based tests of the call lifecycle under random faults, short-circuits and bugs.

Hypothesis draws scenarios: sequences of calls, each with per-attempt outcomes (success,
5xx, throttle, 4xx, connection error), an early ending (ParamValidationError, a before_call
answer, a decision hook raising at some attempt) and a set of observer hooks that raise.
Every send is answered at before-send with wire-format bodies, so no network is touched and
botocore still serializes, signs, parses and retries. A model of botocore's lifecycle gives
the expected ending; the invariants are checked against what every plugin saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.client
import botocore.exceptions
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from conftest import WholeCalls
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import botoware
import botoware.hooks.bridge
from botoware.plugins.metrics import ATTEMPTS as ATTEMPTS_TOTAL
from botoware.plugins.metrics import CALLS as CALLS_TOTAL
from botoware.plugins.metrics import CALLS_IN_FLIGHT, MetricsPlugin
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import Recorder

CREDENTIALS = {
    "aws_access_key_id": "AKIDPROPERTYTESTS001",
    "aws_secret_access_key": "property-tests-secret-key-not-real-0000",
    "region_name": "us-east-1",
}
ENDPOINT = "http://127.0.0.1:9"  # never contacted: every send is answered at before-send
MAX_ATTEMPTS = 3

PRE_HOOKS = ("provide_client_params", "before_parameter_build", "before_call")
ATTEMPT_HOOKS = (
    "choose_signer",
    "before_sign",
    "request_created",
    "before_send",
    "response_received",
    "needs_retry",
)
TERMINALS = ("after_call", "after_call_error")
OBSERVER_HOOKS = (
    "before_parameter_build",
    "before_sign",
    "request_created",
    "response_received",
    "after_call",
    "after_call_error",
)
OUTCOMES = ("ok", "server_error", "throttle", "client_error", "connection")
RETRYABLE = frozenset({"server_error", "throttle", "connection"})
EARLY = (
    None,
    "param_error",
    "answer:before_call",
    "raise:provide_client_params",
    "raise:before_call",
    "raise:choose_signer",
    "raise:before_send",
    "raise:needs_retry",
)


class Boom(Exception):
    """What a raising decision hook raises; the user must receive exactly this."""


# -------------------------------------------------------------------------------------------
# Wire-format answers
# -------------------------------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


def _xml_error(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{code}</Message><RequestId>0000</RequestId></Error>"
    ).encode()


def _json_error(code: str) -> bytes:
    return f'{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{code}"}}'.encode()


XML = {"Content-Type": "application/xml", "x-amz-request-id": "0000"}
JSON = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "0000"}
LIST_OBJECTS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>props</Name>'
    b"<Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)
ANSWERS: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = {
    ("s3", "ok"): (200, XML, LIST_OBJECTS),
    ("s3", "server_error"): (500, XML, _xml_error("InternalError")),
    ("s3", "throttle"): (503, XML, _xml_error("SlowDown")),
    ("s3", "client_error"): (404, XML, _xml_error("NoSuchBucket")),
    ("dynamodb", "ok"): (200, JSON, b'{"Item":{"pk":{"S":"a"}}}'),
    ("dynamodb", "server_error"): (500, JSON, _json_error("InternalServerError")),
    ("dynamodb", "throttle"): (400, JSON, _json_error("ThrottlingException")),
    ("dynamodb", "client_error"): (400, JSON, _json_error("ResourceNotFoundException")),
}
THROTTLES = frozenset({"SlowDown", "ThrottlingException"})

# service -> (method, good params, params that fail validation)
OPERATIONS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "s3": ("list_objects_v2", {"Bucket": "props"}, {}),
    "dynamodb": (
        "get_item",
        {"TableName": "props", "Key": {"pk": {"S": "a"}}},
        {"TableName": "props"},
    ),
}


# -------------------------------------------------------------------------------------------
# Scenarios and their expected endings
# -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One API call: the answers of its attempts and what goes wrong on purpose."""

    service: str
    outcomes: tuple[str, ...]
    early: str | None
    raise_at: int
    observer_raises: frozenset[str]

    def outcome(self, attempt: int) -> str:
        return self.outcomes[attempt - 1] if attempt <= len(self.outcomes) else "ok"

    def raises(self, hook: str, attempt: int) -> bool:
        return self.early == f"raise:{hook}" and (hook in PRE_HOOKS or attempt == self.raise_at)


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the model of botocore's lifecycle predicts for a scenario."""

    pre: tuple[str, ...]
    attempts: tuple[tuple[str, ...], ...]
    terminal: str
    error: type[BaseException] | None


def expected(s: Scenario) -> Expected:
    if s.early == "param_error":
        return Expected(
            PRE_HOOKS[:2], (), "after_call_error", botocore.exceptions.ParamValidationError
        )
    if s.early == "raise:provide_client_params":
        return Expected(PRE_HOOKS[:1], (), "after_call_error", Boom)
    if s.early == "raise:before_call":
        return Expected(PRE_HOOKS, (), "after_call_error", Boom)
    if s.early == "answer:before_call":
        return Expected(PRE_HOOKS, (), "after_call", None)
    attempts: list[tuple[str, ...]] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if s.raises("choose_signer", attempt):
            attempts.append(ATTEMPT_HOOKS[:1])
            return Expected(PRE_HOOKS, tuple(attempts), "after_call_error", Boom)
        attempts.append(ATTEMPT_HOOKS)
        if s.raises("before_send", attempt) or s.raises("needs_retry", attempt):
            return Expected(PRE_HOOKS, tuple(attempts), "after_call_error", Boom)
        outcome = s.outcome(attempt)
        if outcome in RETRYABLE and attempt < MAX_ATTEMPTS:
            continue
        if outcome == "connection":
            error: type[BaseException] = botocore.exceptions.EndpointConnectionError
            return Expected(PRE_HOOKS, tuple(attempts), "after_call_error", error)
        error_or_none = None if outcome == "ok" else botocore.exceptions.ClientError
        return Expected(PRE_HOOKS, tuple(attempts), "after_call", error_or_none)
    raise AssertionError("unreachable")  # pragma: no cover


scenarios = st.builds(
    Scenario,
    service=st.sampled_from(sorted(OPERATIONS)),
    outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=MAX_ATTEMPTS + 1).map(tuple),
    early=st.sampled_from(EARLY),
    raise_at=st.integers(1, MAX_ATTEMPTS),
    observer_raises=st.frozensets(st.sampled_from(OBSERVER_HOOKS)),
)


# -------------------------------------------------------------------------------------------
# Plugins: a ledger that sees every hook first, a script that plays the scenario
# -------------------------------------------------------------------------------------------


class Ledger:
    """Records (hook, attempt) per Call; runs first in every hook, so it sees what others skip."""

    botoware_name = "ledger"

    def __init__(self) -> None:
        self.calls: list[botoware.Call] = []
        self.hooks: dict[int, list[tuple[str, int]]] = {}

    def record(self, hook: str, call: botoware.Call) -> None:
        seen = self.hooks.get(id(call))
        if seen is None:
            self.calls.append(call)
            seen = self.hooks[id(call)] = []
        seen.append((hook, call.attempt))

    def reset(self) -> None:
        self.calls.clear()
        self.hooks.clear()


def _ledger_hook(hook: str) -> Callable[[Ledger, botoware.Call], None]:
    @botoware.hookimpl(tryfirst=True)
    def implementation(self: Ledger, call: botoware.Call) -> None:
        self.record(hook, call)

    return implementation


for _hook in (*PRE_HOOKS, *ATTEMPT_HOOKS, *TERMINALS):
    setattr(Ledger, f"botoware_{_hook}", _ledger_hook(_hook))


class Script:
    """Answers, fails and decides retries as the current scenario says."""

    botoware_name = "script"

    def __init__(self) -> None:
        self.scenario: Scenario | None = None

    def _now(self) -> Scenario:
        assert self.scenario is not None
        return self.scenario

    def botoware_provide_client_params(self, call: botoware.Call) -> None:
        if self._now().raises("provide_client_params", call.attempt):
            raise Boom("provide_client_params")

    def botoware_before_call(
        self, call: botoware.Call
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        scenario = self._now()
        if scenario.raises("before_call", call.attempt):
            raise Boom("before_call")
        if scenario.early == "answer:before_call":
            http = AWSResponse("https://cache.invalid/", 200, {}, _Raw(b""))
            return http, {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

    def botoware_choose_signer(self, call: botoware.Call) -> None:
        if self._now().raises("choose_signer", call.attempt):
            raise Boom("choose_signer")

    def botoware_before_send(self, call: botoware.Call, request: Any) -> AWSResponse:
        scenario = self._now()
        if scenario.raises("before_send", call.attempt):
            raise Boom("before_send")
        outcome = scenario.outcome(call.attempt)
        if outcome == "connection":
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=request.url)
        status, headers, body = ANSWERS[(call.service, outcome)]
        return AWSResponse(request.url, status, dict(headers), _Raw(body))

    def botoware_needs_retry(
        self,
        call: botoware.Call,
        response: tuple[AWSResponse, dict[str, Any]] | None,
        attempts: int,
        caught_exception: Exception | None,
    ) -> float | botoware.hooks.specs.NoRetry:
        if self._now().raises("needs_retry", attempts):
            raise Boom("needs_retry")
        if response is not None:
            status = response[0].status_code
            code = response[1].get("Error", {}).get("Code")
            retryable = status >= 500 or code in THROTTLES
        else:
            retryable = isinstance(caught_exception, botocore.exceptions.ConnectionError)
        return 0.0 if retryable and attempts < MAX_ATTEMPTS else botoware.NO_RETRY


class Raiser:
    """Raises in the observer hooks the current scenario names."""

    botoware_name = "raiser"

    def __init__(self, script: Script) -> None:
        self.script = script

    def _maybe(self, hook: str) -> None:
        scenario = self.script.scenario
        if scenario is not None and hook in scenario.observer_raises:
            raise RuntimeError(f"observer bug in {hook}")


def _raiser_hook(hook: str) -> Callable[[Raiser], None]:
    def implementation(self: Raiser) -> None:
        self._maybe(hook)

    return implementation


for _hook in OBSERVER_HOOKS:
    setattr(Raiser, f"botoware_{_hook}", _raiser_hook(_hook))


@dataclasses.dataclass
class World:
    clients: dict[str, Any]
    ledger: Ledger
    script: Script
    spans: InMemorySpanExporter
    user_tracer: Any
    registry: CollectorRegistry
    recorder: Recorder

    def total(self, name: str, **labels: str) -> float:
        return sum(
            sample.value
            for family in self.registry.collect()
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One installed session with offline clients, shared by every example of the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        mp.delenv("AWS_RETRY_MODE", raising=False)
        session = boto3.Session(**CREDENTIALS)
        clients = {name: session.client(name, endpoint_url=ENDPOINT) for name in OPERATIONS}
    ledger, script = Ledger(), Script()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingPlugin(tracer_provider=provider, attempt_spans=True)
    # The user's own spans come from another provider, so only botoware's are exported.
    user_tracer = TracerProvider().get_tracer("property-tests")
    registry = CollectorRegistry()
    recorder = Recorder()
    plugins = [
        ledger,
        script,
        Raiser(script),
        tracing,
        MetricsPlugin(registry=registry),
        recorder,
    ]
    with botoware.install(session, plugins=plugins, autoload=False):
        yield World(clients, ledger, script, exporter, user_tracer, registry, recorder)


def _play(world: World, scenario: Scenario) -> BaseException | None:
    method, good, bad = OPERATIONS[scenario.service]
    params = bad if scenario.early == "param_error" else good
    world.script.scenario = scenario
    with world.user_tracer.start_as_current_span("user work"):
        before = otel_context.get_current()
        try:
            getattr(world.clients[scenario.service], method)(**params)
        except Exception as exc:
            return exc
        finally:
            world.script.scenario = None
            assert otel_context.get_current() == before, "the OpenTelemetry context leaked"
    return None


# -------------------------------------------------------------------------------------------
# Properties
# -------------------------------------------------------------------------------------------

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _split(hooks: list[tuple[str, int]]) -> tuple[tuple[str, ...], list[list[tuple[str, int]]]]:
    pre = tuple(h for h, _ in hooks if h in PRE_HOOKS)
    attempts: list[list[tuple[str, int]]] = []
    for hook, attempt in hooks:
        if hook in ATTEMPT_HOOKS:
            if hook == "choose_signer":
                attempts.append([])
            attempts[-1].append((hook, attempt))
    return pre, attempts


@SETTINGS
@given(st.lists(scenarios, min_size=1, max_size=6))
def test_every_call_ends_exactly_once_as_the_model_says(
    world: World, calls: list[Scenario]
) -> None:
    """Whatever fails, each call ends once, with the ending and error the model predicts."""
    world.ledger.reset()
    world.spans.clear()
    calls_before = world.total(CALLS_TOTAL)
    errors_before = world.total(CALLS_TOTAL, outcome="error")
    attempts_before = world.total(ATTEMPTS_TOTAL)
    errors = []
    for scenario in calls:
        error = _play(world, scenario)
        errors.append(error)
        want = expected(scenario)
        if want.error is None:
            assert error is None, (scenario, error)
        else:
            assert isinstance(error, want.error), (scenario, error)
    spans = [s for s in world.spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert len(spans) == len(calls), "one ended CLIENT span per call"
    for span, error in zip(spans, errors, strict=True):
        assert (span.status.status_code is StatusCode.ERROR) == (error is not None), span.name
    assert world.total(CALLS_TOTAL) - calls_before == len(calls), "metric totals are exact"
    failed = sum(error is not None for error in errors)
    assert world.total(CALLS_TOTAL, outcome="error") - errors_before == failed
    attempts = sum(world.ledger.hooks[id(call)][-1][1] for call in world.ledger.calls)
    assert world.total(ATTEMPTS_TOTAL) - attempts_before == attempts
    assert world.total(CALLS_IN_FLIGHT) == 0
    assert len(world.ledger.calls) == len(calls)
    for call, scenario in zip(world.ledger.calls, calls, strict=True):
        hooks = world.ledger.hooks[id(call)]
        terminals = [h for h, _ in hooks if h in TERMINALS]
        assert terminals == [expected(scenario).terminal], (scenario, hooks)
        assert hooks[-1][0] in TERMINALS and call.ended


@SETTINGS
@given(scenarios)
def test_attempts_are_numbered_one_to_n_and_each_is_well_formed(
    world: World, scenario: Scenario
) -> None:
    """Pre-call hooks carry attempt 0; attempt k runs choose_signer..needs_retry, all at k."""
    world.ledger.reset()
    world.spans.clear()
    world.recorder.clear()
    _play(world, scenario)
    [call] = world.ledger.calls
    hooks = world.ledger.hooks[id(call)]
    want = expected(scenario)
    pre, attempts = _split(hooks)
    assert pre == want.pre
    assert [attempt for hook, attempt in hooks if hook in PRE_HOOKS] == [0] * len(pre)
    assert [tuple(h for h, _ in a) for a in attempts] == list(want.attempts)
    for number, attempt in enumerate(attempts, start=1):
        assert {n for _, n in attempt} == {number}, hooks
    terminal_attempt = hooks[-1][1]
    assert terminal_attempt == len(attempts)
    recorded = [(e.hook, e.attempt) for e in world.recorder.events]
    assert recorded == hooks, "botoware.testing.Recorder sees the same well-formed sequence"
    finished = world.spans.get_finished_spans()
    [span] = [s for s in finished if s.kind is SpanKind.CLIENT]
    tried = [s for s in finished if s.name.endswith(" attempt")]
    sent = sum(1 for a in attempts if any(h == "request_created" for h, _ in a))
    assert len(tried) == sent, "one ended attempt span per request"
    assert all(s.parent is not None and s.parent.span_id == span.context.span_id for s in tried)


def _answered_after_attempts(scenario: Scenario) -> bool:
    want = expected(scenario)
    return want.terminal == "after_call" and bool(want.attempts)


@SETTINGS
@given(scenarios.filter(_answered_after_attempts))
def test_answered_calls_report_the_retry_count(world: World, scenario: Scenario) -> None:
    """A call that ends with a response (success or AWS error) has RetryAttempts = attempts - 1."""
    want = expected(scenario)
    method, good, _ = OPERATIONS[scenario.service]
    world.script.scenario = scenario
    try:
        response = getattr(world.clients[scenario.service], method)(**good)
    except botocore.exceptions.ClientError as exc:
        response = exc.response
    finally:
        world.script.scenario = None
    assert response["ResponseMetadata"]["RetryAttempts"] == len(want.attempts) - 1


# -------------------------------------------------------------------------------------------
# Installing and uninstalling while calls run
# -------------------------------------------------------------------------------------------

SCOPES: tuple[tuple[str, ...] | None, ...] = (
    None,
    ("s3",),
    ("s3.ListObjectsV2",),
    ("dynamodb.*",),
    ("sts",),
)


class Seen:
    """Counts the calls it sees end, by operation."""

    def __init__(self, name: str, scope: tuple[str, ...] | None, decides_retries: bool) -> None:
        self.botoware_name = name
        if scope is not None:
            self.botoware_scope = scope
        self.ended: list[str] = []
        if decides_retries:
            self.botoware_needs_retry = self._no_opinion

    def _no_opinion(self) -> None:
        return None

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.ended.append(f"{call.service}.{call.operation}")

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        self.ended.append(f"{call.service}.{call.operation}")


def _in_scope(scope: tuple[str, ...] | None, service: str, operation: str) -> bool:
    if scope is None:
        return True
    return any(p in (service, f"{service}.*", f"{service}.{operation}") for p in scope)


actions = st.lists(
    st.one_of(
        st.tuples(st.just("install"), st.integers(0, len(SCOPES) - 1), st.booleans()),
        st.tuples(st.just("uninstall"), st.integers(0, 7), st.just(False)),
        st.tuples(st.just("call"), st.sampled_from(["s3", "dynamodb", "sts"]), st.booleans()),
        st.tuples(st.just("client"), st.sampled_from(["s3", "dynamodb", "sts"]), st.just(False)),
    ),
    max_size=14,
)
CALLS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "s3": ("list_objects_v2", "ListObjectsV2", {"Bucket": "props"}),
    "dynamodb": ("get_item", "GetItem", {"TableName": "props", "Key": {"pk": {"S": "a"}}}),
    "sts": ("get_caller_identity", "GetCallerIdentity", {}),
}
STS_OK = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/p</Arn>"
    b"<UserId>AIDAPROPS</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
    b"</GetCallerIdentityResponse>"
)


def _handlers(emitter: Any, service: str, operation: str) -> dict[str, list[str]]:
    """Each event's handlers in the order botocore calls them, by name."""
    inner = getattr(emitter, "_emitter", emitter)
    found: dict[str, list[str]] = {}
    for prefix, _ in botoware.hooks.bridge.EVENTS.values():
        event = f"{prefix}.{service}.{operation}"
        found[event] = [
            getattr(h, "__qualname__", type(h).__qualname__)
            for h in inner._handlers.prefix_search(event)
        ]
    return found


def _offline_client(session: boto3.Session, service: str) -> Any:
    client = session.client(service, endpoint_url=ENDPOINT)
    status, headers, body = ANSWERS.get((service, "ok"), (200, {}, STS_OK))

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        return AWSResponse(request.url, status, dict(headers), _Raw(body))

    # Registered on the client itself, not as a plugin: it must outlive every installation.
    client.meta.events.register(f"before-send.{service}", answer)
    return client


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_install_and_uninstall_in_any_order_leave_nothing_behind(
    steps: list[tuple[str, Any, bool]],
) -> None:
    """Plugins see exactly the calls made while installed and in scope; uninstall cleans up."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        clients = {"s3": [_offline_client(session, "s3")]}
        installed: list[tuple[botoware.Installation, Seen]] = []
        expected_ends: dict[str, list[str]] = {}
        every: list[Seen] = []
        for number, (action, arg, flag) in enumerate(steps):
            if action == "install":
                plugin = Seen(f"seen-{number}", SCOPES[arg], decides_retries=flag)
                installed.append(
                    (botoware.install(session, plugins=[plugin], autoload=False), plugin)
                )
                expected_ends[plugin.botoware_name] = []
                every.append(plugin)
            elif action == "uninstall" and installed:
                installation, _ = installed.pop(arg % len(installed))
                installation.uninstall()
            elif action == "client":
                clients.setdefault(arg, []).append(_offline_client(session, arg))
            elif action == "call":
                service = arg
                if service not in clients:
                    clients[service] = [_offline_client(session, service)]
                method, operation, params = CALLS[service]
                getattr(clients[service][-1 if flag else 0], method)(**params)
                for _, plugin in installed:
                    if _in_scope(getattr(plugin, "botoware_scope", None), service, operation):
                        expected_ends[plugin.botoware_name].append(f"{service}.{operation}")
        for installation, _ in installed:
            installation.uninstall()
        for plugin in every:
            assert plugin.ended == expected_ends[plugin.botoware_name], plugin.botoware_name
        bare = boto3.Session(**CREDENTIALS)  # never installed: the handlers to match
        bare_emitter = bare._session.get_component("event_emitter")
        emitter = session._session.get_component("event_emitter")
        assert _handlers(emitter, "s3", "ListObjectsV2") == _handlers(
            bare_emitter, "s3", "ListObjectsV2"
        )
        for service, group in clients.items():
            _, operation, _ = CALLS[service]
            twin = _handlers(_offline_client(bare, service).meta.events, service, operation)
            for c in group:
                assert _handlers(c.meta.events, service, operation) == twin, service
                assert type(c).__mro__[1] is botocore.client.BaseClient
        for group in clients.values():
            for client in group:
                assert not botoware.hooks.bridge.is_covered(client)
                service = client.meta.service_model.service_id.hyphenize()
                ids = botoware.hooks.bridge.registered_unique_ids(client.meta.events)
                assert f"retry-config-{service}" in ids, "botocore's retry handler is gone"


def test_install_adopts_a_client_whose_weak_proxy_is_found_first() -> None:
    """install() into a session whose client has a younger weakref.proxy covers the client."""
    import gc
    import weakref

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        s3 = _offline_client(session, "s3")
        gc.collect()  # the client moves to the oldest generation, listed after younger objects
        proxy = weakref.proxy(s3, lambda _: None)  # a callback makes a new, young proxy
        seen = Seen("seen", None, decides_retries=False)
        with botoware.install(session, plugins=[seen], autoload=False):
            proxy.list_objects_v2(Bucket="props")
    assert seen.ended == ["s3.ListObjectsV2"]


def test_call_in_scope_of_some_plugins_only() -> None:
    """A scoped and an unscoped plugin: a call outside the scope reaches the unscoped one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        sts = _offline_client(session, "sts")
        everything, s3_only = Seen("everything", None, False), Seen("s3-only", ("s3",), False)
        with botoware.install(session, plugins=[everything, s3_only], autoload=False):
            sts.get_caller_identity()
    assert (everything.ended, s3_only.ended) == (["sts.GetCallerIdentity"], [])


def test_install_leaves_clients_of_a_session_sharing_the_loader_alone() -> None:
    """Two sessions sharing a model loader: installing into one does not cover the other."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mine, other = botocore.session.get_session(), botocore.session.get_session()
        other.register_component("data_loader", mine.get_component("data_loader"))
        sts = _offline_client(boto3.Session(botocore_session=other, **CREDENTIALS), "sts")
        seen = Seen("seen", None, decides_retries=False)
        session = boto3.Session(botocore_session=mine, **CREDENTIALS)
        with botoware.install(session, plugins=[seen], autoload=False):
            sts.get_caller_identity()
    assert seen.ended == []


# -------------------------------------------------------------------------------------------
# BaseExceptions in hooks, and installations toggled under concurrent calls
# -------------------------------------------------------------------------------------------

BASE_EXCEPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)


class BaseRaiser:
    """Raises the BaseException it is told to, in the hook it is told to, once."""

    botoware_name = "base-raiser"

    def __init__(self) -> None:
        self.planned: tuple[str, type[BaseException]] | None = None


def _base_raiser_hook(hook: str) -> Callable[[BaseRaiser], None]:
    def implementation(self: BaseRaiser) -> None:
        planned = self.planned
        if planned is not None and planned[0] == hook:
            self.planned = None
            raise planned[1]()

    return implementation


for _hook in (*OBSERVER_HOOKS, "call_start"):
    setattr(BaseRaiser, f"botoware_{_hook}", _base_raiser_hook(_hook))


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[dict[str, Any], BaseRaiser, WholeCalls, InMemorySpanExporter]]:
    """An installed session whose BaseRaiser runs before tracing and a call ledger."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        clients = {name: _offline_client(session, name) for name in ("s3", "dynamodb")}
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    raiser, whole = BaseRaiser(), WholeCalls("whole")
    plugins = [TracingPlugin(tracer_provider=provider), whole, raiser]
    with botoware.install(session, plugins=plugins, autoload=False):
        yield clients, raiser, whole, exporter


@SETTINGS
@given(
    st.sampled_from([*OBSERVER_HOOKS, "call_start"]),
    st.sampled_from(BASE_EXCEPTIONS),
    st.sampled_from(["s3", "dynamodb"]),
    st.booleans(),
)
def test_a_base_exception_in_any_observer_hook_reaches_the_user_after_every_ending(
    hostile: tuple[dict[str, Any], BaseRaiser, WholeCalls, InMemorySpanExporter],
    hook: str,
    exc: type[BaseException],
    service: str,
    invalid: bool,
) -> None:
    """Whatever hook raises it, the BaseException reaches the user once the call has ended."""
    clients, raiser, whole, exporter = hostile
    exporter.clear()
    whole.started.clear()
    whole.ended.clear()
    method, good, bad = OPERATIONS[service]
    raiser.planned = (f"botoware_{hook}", exc)
    reached = True
    try:
        getattr(clients[service], method)(**(bad if invalid else good))
    except exc:
        pass
    except Exception:
        reached = raiser.planned is not None  # the hook never ran (validation came first)
    else:
        reached = raiser.planned is not None  # e.g. after_call_error on a call that succeeded
    raiser.planned = None
    assert reached
    assert whole.started == whole.ended and len(whole.ended) == 1
    assert len(exporter.get_finished_spans()) == 1
    assert not otel_trace.get_current_span().is_recording(), "a span stayed current"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=10))
def test_installations_toggled_under_concurrent_calls_see_whole_calls(
    toggles: list[tuple[int, bool]],
) -> None:
    """Three plugins installed and uninstalled in any order while 4 threads call: whole calls."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        s3 = _offline_client(session, "s3")
    plugins = [WholeCalls(f"whole-{n}") for n in range(3)]
    active: dict[int, botoware.Installation] = {}
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                s3.list_objects_v2(Bucket="props")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for number, pause in toggles:
            if number in active:
                active.pop(number).uninstall()
            else:
                active[number] = botoware.install(
                    session, plugins=[plugins[number]], autoload=False
                )
            if pause:
                threading.Event().wait(0.002)
        for installation in active.values():
            installation.uninstall()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    for plugin in plugins:
        assert sorted(plugin.started) == sorted(plugin.ended), plugin.botoware_name
    assert not botoware.hooks.bridge.is_covered(s3)


class Leaving:
    """Steps out at call_start of the calls it is told to; records every hook it sees."""

    def __init__(self, name: str, leaves: frozenset[int]) -> None:
        self.botoware_name = name
        self.leaves = leaves
        self.starts: list[int] = []
        self.hooks: list[tuple[int, str]] = []

    def botoware_call_start(self, call: botoware.Call) -> Any:
        number = _CALL_NUMBER[0]
        call.stash[_NUMBER] = number
        self.starts.append(number)
        return botoware.STEP_OUT if number in self.leaves else None

    def botoware_before_sign(self, call: botoware.Call) -> None:
        self.hooks.append((call.stash.get(_NUMBER, -1), "before_sign"))

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.hooks.append((call.stash.get(_NUMBER, -1), "end"))

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        self.hooks.append((call.stash.get(_NUMBER, -1), "end"))


_NUMBER = botoware.StashKey[int]()
_CALL_NUMBER = [0]  # which call of the test is being made


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.frozensets(st.integers(0, 5)), min_size=1, max_size=3),
    st.booleans(),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_a_plugin_that_steps_out_at_start_sees_nothing_more_and_the_others_see_it_whole(
    leaves: list[frozenset[int]], with_observer: bool, invalid: list[bool]
) -> None:
    """Whoever steps out of which call at call_start (all, some or none of them), each
    plugin left in a call sees its hooks and one ending; one that stepped out sees nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        session = boto3.Session(**CREDENTIALS)
        sts = _offline_client(session, "sts")
        plugins = [Leaving(f"leave-{i}", left) for i, left in enumerate(leaves)]
        observer = Seen("observer", None, False)
        everyone: list[Any] = [*plugins, *([observer] if with_observer else [])]
        with botoware.install(session, plugins=everyone, autoload=False):
            for number, bad in enumerate(invalid):
                _CALL_NUMBER[0] = number
                params = {"Unknown": "parameter"} if bad else {}  # bad: ParamValidationError
                with contextlib.suppress(botocore.exceptions.ParamValidationError):
                    sts.get_caller_identity(**params)
    for plugin in plugins:
        assert plugin.starts == list(range(len(invalid)))
        expected = []
        for number, bad in enumerate(invalid):
            if number in plugin.leaves:
                continue
            expected += [(number, "end")] if bad else [(number, "before_sign"), (number, "end")]
        assert plugin.hooks == expected
    if with_observer:
        assert observer.ended == ["sts.GetCallerIdentity"] * len(invalid)
