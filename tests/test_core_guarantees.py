"""Lifecycle guarantees under hostile use: BaseExceptions in hooks, uninstall mid-call,
install/uninstall under concurrent calls, a bare uninstall, shared plugins, hook order."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

import boto3
import botocore
import botocore.session
import pytest
from conftest import BOTH_KINDS, CREDENTIALS, WholeCalls, bare_base, unwrap
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import botoware
from botoware.hooks import bridge
from botoware.plugins.metrics import CALLS_IN_FLIGHT, MetricsPlugin
from botoware.plugins.retry import RetryPlugin
from botoware.plugins.tracing import TracingPlugin


def _tracing() -> tuple[TracingPlugin, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingPlugin(tracer_provider=provider), exporter


def _raising(hook: str, exc: type[BaseException]) -> object:
    class Raises:
        botoware_name = "raises"

    def implementation(self: object) -> None:
        raise exc()

    setattr(Raises, f"botoware_{hook}", implementation)
    return Raises()


class _Wraps:
    """A no-op wrapper on every terminal hook: dispatch then goes through pluggy."""

    botoware_name = "wraps"

    @botoware.hookimpl(wrapper=True)
    def botoware_after_call(self) -> Any:
        return (yield)

    @botoware.hookimpl(wrapper=True)
    def botoware_request_created(self) -> Any:
        return (yield)


_BASE_EXCEPTIONS = [KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError]


# -------------------------------------------------------------------------------------------
# 1. A BaseException in an observer hook
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
@pytest.mark.parametrize("dispatch", ["direct", "pluggy"])
@pytest.mark.parametrize("exc", _BASE_EXCEPTIONS, ids=lambda e: e.__name__)
def test_base_exception_in_after_call_ends_every_other_plugin_first(
    session: Any, client: Any, kind: str, exc: type[BaseException], dispatch: str
) -> None:
    """KeyboardInterrupt & co. in one after_call reach the user after the others ended."""
    if kind == "async" and exc is GeneratorExit:
        pytest.skip("a coroutine raising GeneratorExit is a RuntimeError in asyncio itself")
    s3 = client("s3")
    tracing, spans = _tracing()
    ends = WholeCalls()
    plugins = [tracing, ends, *([_Wraps()] if dispatch == "pluggy" else [])]
    with botoware.install(session, plugins=[*plugins, _raising("after_call", exc)], autoload=False):
        with pytest.raises(exc):
            s3.list_buckets()
        assert not trace.get_current_span().is_recording(), "the span stayed current"
    assert [s.name for s in spans.get_finished_spans()] == ["S3.ListBuckets"]
    assert len(ends.started) == len(ends.ended) == 1


@BOTH_KINDS
@pytest.mark.parametrize("dispatch", ["direct", "pluggy"])
def test_base_exception_in_an_attempt_hook_still_ends_the_call_once(
    session: Any, client: Any, dispatch: str
) -> None:
    """KeyboardInterrupt in request_created: every plugin still ends the call, once."""
    s3 = client("s3")
    tracing, spans = _tracing()
    ends = WholeCalls()
    plugins = [tracing, ends, *([_Wraps()] if dispatch == "pluggy" else [])]
    raiser = _raising("request_created", KeyboardInterrupt)
    with botoware.install(session, plugins=[*plugins, raiser], autoload=False):
        with pytest.raises(KeyboardInterrupt):
            s3.list_buckets()
        assert not trace.get_current_span().is_recording()
    assert len(spans.get_finished_spans()) == 1
    assert len(ends.started) == len(ends.ended) == 1


def test_cancelled_error_raised_by_a_hook_cancels_the_task_after_every_ending(
    moto_url: str,
) -> None:
    """asyncio.CancelledError from an aiobotocore call's hook: the task is cancelled, spans end."""
    from aiobotocore.session import AioSession

    tracing, spans = _tracing()
    ends = WholeCalls()
    aio = AioSession()
    aio.set_credentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
    raiser = _raising("after_call", asyncio.CancelledError)

    async def main() -> None:
        async with aio.create_client("s3", region_name="us-east-1", endpoint_url=moto_url) as s3:
            task = asyncio.ensure_future(s3.list_buckets())
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()

    with botoware.install(aio, plugins=[tracing, ends, raiser], autoload=False):
        asyncio.run(main())
    assert len(spans.get_finished_spans()) == 1
    assert len(ends.started) == len(ends.ended) == 1


# -------------------------------------------------------------------------------------------
# 2. Uninstalling the last plugin while a call is in flight
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_uninstalling_the_last_plugin_mid_call_still_ends_the_call(
    session: Any, client: Any
) -> None:
    """The call ends in the plugins it started with; botoware detaches after it."""
    s3 = client("s3")
    tracing, spans = _tracing()
    registry = CollectorRegistry()
    installation: list[botoware.Installation] = []

    class Leaves:
        botoware_name = "leaves"

        def botoware_request_created(self) -> None:
            installation[0].uninstall()

    plugins = [tracing, MetricsPlugin(registry=registry), Leaves()]
    installation.append(botoware.install(session, plugins=plugins, autoload=False))
    s3.list_buckets()
    assert not trace.get_current_span().is_recording(), "the span stayed current"
    assert len(spans.get_finished_spans()) == 1
    assert registry.get_sample_value(CALLS_IN_FLIGHT, {"aws_service": "s3"}) == 0.0
    assert not bridge.is_covered(unwrap(s3))
    ids = bridge.registered_unique_ids(s3.meta.events)
    assert [uid for uid in ids if uid.startswith("botoware")] == [bridge.tracked_unique_id()]


# -------------------------------------------------------------------------------------------
# 3. Install and uninstall while other threads call
# -------------------------------------------------------------------------------------------


def test_toggling_an_installation_under_concurrent_calls_gives_whole_calls(
    session: Any, client: Any
) -> None:
    """8 threads call while install/uninstall toggles: the plugin sees whole calls or none."""
    sts = client("sts")
    seen = WholeCalls()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                sts.get_caller_identity()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for _ in range(6):
            with botoware.install(session, plugins=[seen], autoload=False):
                wanted = len(seen.ended) + 5
                while len(seen.ended) < wanted and not errors:
                    threading.Event().wait(0.001)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert seen.ended, "no call was seen"
    assert sorted(seen.started) == sorted(seen.ended)


# -------------------------------------------------------------------------------------------
# 4. Uninstall is bare
# -------------------------------------------------------------------------------------------


def _needs_retry_handlers(c: Any) -> list[str]:
    inner = getattr(c.meta.events, "_emitter", c.meta.events)
    found = inner._handlers.prefix_search("needs-retry.s3.ListBuckets")
    return [getattr(h, "__qualname__", type(h).__qualname__) for h in found]


@BOTH_KINDS
def test_uninstall_puts_botocores_retry_handler_back_in_its_place(
    session: Any, client: Any
) -> None:
    """After install+uninstall of a retry plugin, needs-retry handlers run in bare order."""
    s3 = client("s3")

    def users_own(**kwargs: Any) -> None:
        return None

    s3.meta.events.register("needs-retry.s3", users_own)
    bare = _needs_retry_handlers(s3)
    with botoware.install(session, plugins=[RetryPlugin()], autoload=False):
        s3.list_buckets()  # the first call takes botocore's retry handler over
        assert _needs_retry_handlers(s3) != bare
    assert _needs_retry_handlers(s3) == bare


@BOTH_KINDS
def test_clients_created_while_installed_look_bare_after_uninstall(
    session: Any, client: Any, kind: str
) -> None:
    """A client made while installed has botocore's MRO, during and after the installation."""
    with botoware.install(session, plugins=[WholeCalls()], autoload=False):
        during = client("s3")
        during.list_buckets()
        assert type(unwrap(during)).__mro__[1] is bare_base(kind)
    assert type(unwrap(during)).__mro__[1] is bare_base(kind)
    assert not bridge.is_covered(unwrap(during))


# -------------------------------------------------------------------------------------------
# 5. Installations that share a plugin
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_a_shared_plugin_stays_while_any_installation_that_asked_for_it_is_active(
    session: Any, client: Any
) -> None:
    """Uninstalling one of two installations of the same plugin keeps it for the other."""
    s3 = client("s3")
    ends = WholeCalls()
    first = botoware.install(session, plugins=[ends], autoload=False)
    second = botoware.install(session, plugins=[ends], autoload=False)
    first.uninstall()
    s3.list_buckets()
    assert len(ends.ended) == 1
    second.uninstall()
    s3.list_buckets()
    assert len(ends.ended) == 1


def _fresh_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_process_wide_and_per_session_installs_of_one_plugin_each_own_it(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uninstalling a process-wide install keeps a per-session install of the same plugin."""
    _fresh_default_session(monkeypatch)
    ends = WholeCalls()
    everywhere = botoware.install(plugins=[ends], autoload=False)
    session = boto3.Session(**CREDENTIALS)
    mine = botoware.install(session, plugins=[ends], autoload=False)
    everywhere.uninstall()
    session.client("s3", endpoint_url=moto_url).list_buckets()
    mine.uninstall()
    assert len(ends.ended) == 1


def test_two_process_wide_installs_of_one_plugin_each_own_it(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """install(None) twice: uninstalling the first leaves the second working everywhere."""
    _fresh_default_session(monkeypatch)
    ends = WholeCalls()
    first = botoware.install(plugins=[ends], autoload=False)
    second = botoware.install(plugins=[ends], autoload=False)
    first.uninstall()
    boto3.client("s3", endpoint_url=moto_url).list_buckets()
    boto3.Session(**CREDENTIALS).client("s3", endpoint_url=moto_url).list_buckets()
    second.uninstall()
    assert len(ends.ended) == 2


# -------------------------------------------------------------------------------------------
# 6. A process-wide install and many sessions
# -------------------------------------------------------------------------------------------


def test_sessions_dropped_under_a_process_wide_install_leave_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 sessions created and dropped: each is freed, the installation keeps no entry."""
    _fresh_default_session(monkeypatch)
    refs: list[weakref.ref[Any]] = []
    with botoware.install(plugins=[WholeCalls()], autoload=False) as installation:
        for _ in range(300):
            refs.append(weakref.ref(boto3.Session(**CREDENTIALS)._session))
        gc.collect()
        gc.collect()  # a host's own cycle goes once its session's has gone
        assert [r for r in refs if r() is not None] == []
        assert len(installation._entries) <= 1  # boto3's default session


# -------------------------------------------------------------------------------------------
# 9. Hook order does not depend on scope
# -------------------------------------------------------------------------------------------

_SCOPES = [None, ("s3",), ("s3.*",), ("s3.ListBuckets",)]


def _positions(c: Any) -> dict[str, list[int]]:
    """Where botoware's handlers sit among all handlers of each event of ListBuckets."""
    inner = getattr(c.meta.events, "_emitter", c.meta.events)
    found: dict[str, list[int]] = {}
    for prefix, _ in bridge.EVENTS.values():
        handlers = list(inner._handlers.prefix_search(f"{prefix}.s3.ListBuckets"))
        names = [getattr(h, "__qualname__", "") for h in handlers]
        found[prefix] = [i for i, n in enumerate(names) if n.startswith("botoware_")]
    return found


class _EveryHook:
    """Implements every call hook, so each gets a handler."""

    botoware_name = "every-hook"


for _hook in bridge.CALL_HOOKS:
    setattr(_EveryHook, _hook, lambda self: None)


@BOTH_KINDS
def test_hooks_sit_in_the_same_place_among_botocores_handlers_whatever_the_scope(
    session: Any, client: Any
) -> None:
    """Unscoped, service-scoped and operation-scoped plugins' handlers run at the same point."""
    s3 = client("s3")
    placed = []
    for scope in _SCOPES:
        plugin = _EveryHook()
        if scope is not None:
            plugin.botoware_scope = scope  # type: ignore[attr-defined]
        with botoware.install(session, plugins=[plugin], autoload=False):
            placed.append(_positions(s3))
    assert all(p == placed[0] for p in placed), placed


@BOTH_KINDS
def test_an_operation_scoped_request_created_sees_the_signed_request(
    session: Any, client: Any
) -> None:
    """request_created of a plugin scoped to one operation runs after botocore signs."""
    s3 = client("s3")
    signed: list[bool] = []

    class Scoped:
        botoware_name = "scoped"
        botoware_scope = ("s3.ListBuckets",)

        def botoware_request_created(self, request: Any) -> None:
            signed.append("Authorization" in request.headers)
            request.headers["x-botoware-added"] = "1"

    with botoware.install(session, plugins=[Scoped()], autoload=False):
        s3.list_buckets()
    assert signed == [True]


# -------------------------------------------------------------------------------------------
# 10. Every plugin sees the start of every call it sees end
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_a_decision_hooks_answer_hides_no_start(session: Any, client: Any) -> None:
    """A plugin answering provide_client_params does not hide call_start from the others."""
    s3 = client("s3")
    ends = WholeCalls()

    class Answers:
        botoware_name = "answers"

        def botoware_provide_client_params(self, params: Any) -> Any:
            return dict(params)

    with botoware.install(session, plugins=[ends, Answers()], autoload=False):
        s3.list_buckets()
        s3.list_buckets()
    assert len(ends.started) == len(ends.ended) == 2


@BOTH_KINDS
def test_built_in_tracing_and_metrics_start_calls_an_answer_would_hide(
    session: Any, client: Any
) -> None:
    """A first-registered wrapper-free decision answer leaves the built-ins' starts alone."""
    s3 = client("s3")
    tracing, spans = _tracing()
    registry = CollectorRegistry()

    class Answers:
        botoware_name = "answers"

        @botoware.hookimpl(tryfirst=True)
        def botoware_provide_client_params(self, params: Any) -> Any:
            return dict(params)

    plugins = [tracing, MetricsPlugin(registry=registry), Answers()]
    with botoware.install(session, plugins=plugins, autoload=False):
        s3.list_buckets()
    assert len(spans.get_finished_spans()) == 1
    assert registry.get_sample_value(CALLS_IN_FLIGHT, {"aws_service": "s3"}) == 0.0


# -------------------------------------------------------------------------------------------
# STEP_OUT
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_a_plugin_that_steps_out_sees_no_more_of_that_call_only(session: Any, client: Any) -> None:
    """STEP_OUT from call_start: no later hook of that call (ending included); next call seen."""
    s3 = client("s3")
    seen: list[tuple[int, str]] = []
    others = WholeCalls("others")

    class StepsOutOnce:
        botoware_name = "steps-out"

        def __init__(self) -> None:
            self.calls = 0

    for hook in bridge.CALL_HOOKS:

        def implementation(self: StepsOutOnce, call: botoware.Call, _hook: str = hook) -> Any:
            if _hook == bridge.START_HOOK:
                self.calls += 1
            seen.append((self.calls, _hook))
            if _hook == bridge.START_HOOK and self.calls == 1:
                return botoware.STEP_OUT
            return None

        setattr(StepsOutOnce, hook, implementation)

    with botoware.install(session, plugins=[others, StepsOutOnce()], autoload=False):
        s3.list_buckets()
        s3.list_buckets()
    assert [hook for n, hook in seen if n == 1] == [bridge.START_HOOK]
    second = [hook for n, hook in seen if n == 2]
    assert second[0] == bridge.START_HOOK and second[-1] == "botoware_after_call"
    assert len(others.started) == len(others.ended) == 2


# -------------------------------------------------------------------------------------------
# install() finds clients without scanning the heap
# -------------------------------------------------------------------------------------------


def test_install_finds_existing_clients_without_a_heap_scan(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session made after import botoware: install() covers its clients, gc untouched."""
    session = boto3.Session(**CREDENTIALS)
    s3 = session.client("s3", endpoint_url=moto_url)

    def no_scan() -> list[object]:
        raise AssertionError("install() scanned the heap")

    monkeypatch.setattr(gc, "get_objects", no_scan)
    ends = WholeCalls()
    with botoware.install(session, plugins=[ends], autoload=False):
        s3.list_buckets()
    assert len(ends.ended) == 1


def test_a_session_made_before_import_is_found_by_a_heap_scan_once(moto_url: str) -> None:
    """A session botoware never saw created: its clients are found, later ones tracked."""
    botocore.unregister_initializer(bridge.track_new_session)
    try:
        raw = botocore.session.get_session()
    finally:
        botocore.register_initializer(bridge.track_new_session)
    old = raw.create_client("s3", region_name="us-east-1", endpoint_url=moto_url)
    ends = WholeCalls()
    with botoware.install(raw, plugins=[ends], autoload=False):
        old.list_buckets()
    scans = 0
    real = gc.get_objects

    def counted() -> list[object]:
        nonlocal scans
        scans += 1
        return real()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gc, "get_objects", counted)
        new = raw.create_client("sqs", region_name="us-east-1", endpoint_url=moto_url)
        with botoware.install(raw, plugins=[ends], autoload=False):
            old.list_buckets()
            new.list_queues()
    assert scans == 0
    assert len(ends.ended) == 3
