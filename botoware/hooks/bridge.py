"""The only module that knows botocore's event names and internals.

It turns botocore events into botoware hook calls, covers clients so that every call ends
exactly once (botocore has no event for calls that fail before ``before-call``), tags
paginator and waiter calls with their :class:`~botoware.hooks.call.Run`, and takes botocore's
retry handler aside while a plugin decides retries.
"""

from __future__ import annotations

import contextvars
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from botocore.paginate import PageIterator

from botoware.hooks.call import Call, Run
from botoware.hooks.specs import NO_RETRY

if TYPE_CHECKING:
    from botocore.client import BaseClient

Handler = Callable[..., Any]

CALL_KEY = "botoware.call"
"""The one key botoware keeps in botocore's per-call context dict."""

_PENDING: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "botoware_pending_call", default=None
)
_RUN: contextvars.ContextVar[Run | None] = contextvars.ContextVar("botoware_run", default=None)

# Where each event's handler finds botocore's per-call context dict.
_IN_CONTEXT, _IN_REQUEST, _IN_REQUEST_DICT = 0, 1, 2

EVENTS: dict[str, tuple[str, int]] = {
    "botoware_provide_client_params": ("provide-client-params", _IN_CONTEXT),
    "botoware_before_parameter_build": ("before-parameter-build", _IN_CONTEXT),
    "botoware_before_call": ("before-call", _IN_CONTEXT),
    # botocore signs inside request-created (its signer handler runs before ours), so
    # choose-signer and before-sign come first.
    "botoware_choose_signer": ("choose-signer", _IN_CONTEXT),
    "botoware_before_sign": ("before-sign", _IN_REQUEST),
    "botoware_request_created": ("request-created", _IN_REQUEST),
    "botoware_before_send": ("before-send", _IN_REQUEST),
    "botoware_response_received": ("response-received", _IN_CONTEXT),
    "botoware_needs_retry": ("needs-retry", _IN_REQUEST_DICT),
    "botoware_after_call": ("after-call", _IN_CONTEXT),
    "botoware_after_call_error": ("after-call-error", _IN_CONTEXT),
}
"""Hook name -> (botocore event prefix, where its context lives), in the order they run."""

CALL_HOOKS = tuple(EVENTS)
TERMINAL_HOOKS = ("botoware_after_call", "botoware_after_call_error")
RETRY_HOOK = "botoware_needs_retry"
_DECISION_HOOKS = frozenset(
    {
        "botoware_provide_client_params",
        "botoware_before_call",
        "botoware_choose_signer",
        "botoware_before_send",
    }
)
CLIENT_CLASS_EVENT = "creating-client-class"


class Plans(Protocol):
    """The plugins installed at one moment, as one call (or run) sees them from start to end."""

    def plan(self, hook: str, service: str, operation: str) -> Handler | None:
        """A callable running ``hook`` on the plugins in scope (keyword arguments), or None."""
        ...

    def covers(self, service: str, operation: str) -> bool:
        """True when any plugin has any call or run hook for this operation."""
        ...


class Dispatcher(Protocol):
    """What the bridge needs from the host that owns it."""

    @property
    def plans(self) -> Plans: ...

    def retry_fallback(self, endpoint: object) -> Handler | None: ...

    def prepare(self, client: BaseClient) -> None: ...


def event_name(hook: str, pattern: str | None) -> str:
    """The botocore event name a handler for ``hook`` is registered on, for a scope pattern."""
    prefix = EVENTS[hook][0]
    return prefix if pattern is None else f"{prefix}.{pattern}"


def scope_event_suffix(scope: str) -> str:
    """``"s3.*"`` -> ``"s3"``; ``"lambda.GetPolicy"`` stays; ``"s3"`` stays."""
    return scope[:-2] if scope.endswith(".*") else scope


def _bind(context: dict[str, Any], kwargs: dict[str, Any], host: Dispatcher) -> Call:
    """Attach the call this event belongs to to botocore's context dict."""
    pending = _PENDING.get()
    presign = bool(context.get("is_presign_request"))
    if pending is not None and pending._context is None and not presign:
        call = pending
    else:
        # A presigned URL (no _make_api_call) or a client botoware does not cover.
        _, service, operation = kwargs["event_name"].split(".", 2)
        model = kwargs.get("model")
        service_id = str(model.service_model.service_id) if model is not None else service
        params = kwargs.get("params") if model is not None else None
        call = Call(
            service,
            service_id,
            operation,
            context.get("client_region"),
            params or {},
            presigned=presign,
        )
        call._plans = host.plans
    call._context = context
    context[CALL_KEY] = call
    return call


def make_handler(host: Dispatcher, hook: str) -> Handler:
    """A botocore handler that calls ``hook`` on the plugins in scope of each call."""
    where = EVENTS[hook][1]
    returns = hook in _DECISION_HOOKS
    terminal = hook in TERMINAL_HOOKS

    def handler(**kwargs: Any) -> Any:
        if where == _IN_CONTEXT:
            context = kwargs.get("context")
        elif where == _IN_REQUEST:
            context = getattr(kwargs["request"], "context", None)
        else:
            context = kwargs["request_dict"].get("context")
        if context is None:
            return None
        call = context.get(CALL_KEY)
        if call is None:
            if terminal and _PENDING.get() is None:
                return None  # no plugin saw this call start (its operation was not covered)
            call = _bind(context, kwargs, host)
        if terminal:
            if call._ended:
                return None
            call._ended = True
        plan = call._plans.plan(hook, call.service, call.operation)
        if plan is None:
            return None
        kwargs["call"] = call
        result = plan(**kwargs)
        return result if returns else None

    handler.__qualname__ = handler.__name__ = f"botoware_{EVENTS[hook][0].replace('-', '_')}"
    return handler


def end_with_error(call: Call, exception: BaseException) -> None:
    """The ending of a call that failed before botocore emitted a terminal event."""
    plan = call._plans.plan("botoware_after_call_error", call.service, call.operation)
    if plan is not None:
        plan(call=call, exception=exception, context=call._context)


def _run_start(host: Dispatcher, run: Run) -> None:
    run._plans = plans = host.plans
    plan = plans.plan("botoware_run_start", run.service, run.operation)
    if plan is not None:
        plan(run=run)


def _run_end(run: Run, exception: BaseException | None) -> None:
    plan = run._plans.plan("botoware_run_end", run.service, run.operation)
    if plan is not None:
        plan(run=run, exception=exception)


def make_retry_handler(host: Dispatcher) -> Handler:
    """The needs-retry handler: plugins decide first, then botocore's own retry handler."""
    fallback_for = host.retry_fallback

    def botoware_needs_retry(**kwargs: Any) -> Any:
        context = kwargs["request_dict"].get("context")
        if context is not None:
            call = context.get(CALL_KEY) or _bind(context, kwargs, host)
            plan = call._plans.plan(RETRY_HOOK, call.service, call.operation)
            if plan is not None:
                answer = plan(call=call, **kwargs)
                if answer is NO_RETRY:
                    return None
                if answer is not None:
                    return answer
        fallback = fallback_for(kwargs["endpoint"])
        return None if fallback is None else fallback(**kwargs)

    return botoware_needs_retry


# -------------------------------------------------------------------------------------------
# Emitters
# -------------------------------------------------------------------------------------------


def register(emitter: Any, event: str, handler: Handler, unique_id: str) -> None:
    if event.startswith("choose-signer"):
        # botocore's own choose-signer handlers answer for most operations; ours asks first.
        emitter.register_first(event, handler, unique_id=unique_id)
    else:
        emitter.register(event, handler, unique_id=unique_id)


def unregister(emitter: Any, event: str, unique_id: str) -> None:
    emitter.unregister(event, unique_id=unique_id)


def registered_unique_ids(emitter: Any) -> set[str]:
    """The unique ids registered on a botocore emitter (for tests and diagnostics)."""
    inner = getattr(emitter, "_emitter", emitter)
    return set(getattr(inner, "_unique_id_handlers", {}))


def _retry_unique_id(client: BaseClient) -> tuple[str, str]:
    service = client.meta.service_model.service_id.hyphenize()
    return f"needs-retry.{service}", f"retry-config-{service}"


def take_retry_handler(client: BaseClient) -> Handler | None:
    """Unregister botocore's retry handler from a client and return it (None if absent)."""
    event, unique_id = _retry_unique_id(client)
    inner = getattr(client.meta.events, "_emitter", client.meta.events)
    entry = getattr(inner, "_unique_id_handlers", {}).get(unique_id)
    if entry is None:
        return None
    handler: Handler = entry["handler"]
    client.meta.events.unregister(event, unique_id=unique_id)
    return handler


def give_back_retry_handler(client: BaseClient, handler: Handler) -> None:
    event, unique_id = _retry_unique_id(client)
    client.meta.events.register(event, handler, unique_id=unique_id)


# -------------------------------------------------------------------------------------------
# Covered clients
# -------------------------------------------------------------------------------------------

_COVER_ATTRS = ("_make_api_call", "get_paginator", "get_waiter")


def service_of(client: BaseClient) -> tuple[str, str]:
    """(hyphenized service id as in event names, service id as AWS spells it)."""
    service_id = client.meta.service_model.service_id
    return service_id.hyphenize(), str(service_id)


def cover(host: Dispatcher, client: Any, page_iterator_cls: type[Any]) -> None:
    """Route a client's API calls, paginators and waiters through botoware.

    Sets instance attributes only, so :func:`uncover` restores the class's own methods.
    """
    service, service_id = service_of(client)
    region = client.meta.region_name
    original = client._make_api_call
    prepared = False

    def _make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        nonlocal prepared
        if not prepared:
            prepared = True
            host.prepare(client)
        plans = host.plans
        if not plans.covers(service, operation_name):
            return original(operation_name, api_params)
        run = _RUN.get()
        if run is not None:
            if run.operation == operation_name and run.service == service:
                run.calls += 1
            else:
                run = None
        call = Call(service, service_id, operation_name, region, api_params, run)
        call._plans = plans
        token = _PENDING.set(call)
        try:
            return original(operation_name, api_params)
        except BaseException as exc:
            if not call._ended:
                call._ended = True
                end_with_error(call, exc)
            raise
        finally:
            _PENDING.reset(token)

    original_get_paginator = client.get_paginator
    original_get_waiter = client.get_waiter

    def get_paginator(operation_name: str) -> Any:
        paginator = original_get_paginator(operation_name)
        paginator.PAGE_ITERATOR_CLS = page_iterator_cls
        return paginator

    def get_waiter(waiter_name: str) -> Any:
        waiter: Any = original_get_waiter(waiter_name)
        original_wait = waiter.wait

        def wait(**kwargs: Any) -> None:
            run = Run("wait", service, service_id, waiter.config.operation, region, waiter.name)
            _run_start(host, run)
            token = _RUN.set(run)
            error: BaseException | None = None
            try:
                original_wait(**kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                _RUN.reset(token)
                _run_end(run, error)

        wait.__doc__ = original_wait.__doc__
        waiter.wait = wait
        return waiter

    get_paginator.__doc__ = original_get_paginator.__doc__
    get_waiter.__doc__ = original_get_waiter.__doc__
    attrs = client.__dict__
    attrs["_make_api_call"] = _make_api_call
    attrs["get_paginator"] = get_paginator
    attrs["get_waiter"] = get_waiter


def uncover(client: Any) -> None:
    """Undo :func:`cover`: the client's class methods answer again."""
    for name in _COVER_ATTRS:
        client.__dict__.pop(name, None)


def is_covered(client: Any) -> bool:
    return "_make_api_call" in client.__dict__


def make_page_iterator_class(host: Dispatcher) -> type[Any]:
    """A PageIterator whose iteration is one :class:`Run` (calls see ``call.run``)."""
    host_ref = weakref.ref(host)

    base: Any = PageIterator

    class CoveredPageIterator(base):  # type: ignore[misc]
        def __iter__(self) -> Iterator[Any]:
            inner = base.__iter__(self)
            owner = host_ref()
            if owner is None:
                yield from inner
                return
            method = self._method
            client = method.__self__
            meta = client.meta
            service, service_id = service_of(client)
            operation = meta.method_to_api_mapping.get(method.__name__, method.__name__)
            run = Run("paginate", service, service_id, operation, meta.region_name)
            _run_start(owner, run)
            error: BaseException | None = None
            try:
                while True:
                    token = _RUN.set(run)
                    try:
                        page = next(inner)
                    except StopIteration:
                        return
                    finally:
                        _RUN.reset(token)
                    yield page
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                _run_end(run, error)

    return CoveredPageIterator


def make_client_mixin(adopt: Callable[[BaseClient], None]) -> type:
    """A base class added to clients created while installed, so each is covered at birth."""

    class BotowareClient:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            adopt(self)  # type: ignore[arg-type]

    return BotowareClient


def make_client_class_handler(mixin: type) -> Handler:
    def botoware_client_class(base_classes: list[type], **kwargs: Any) -> None:
        if mixin not in base_classes:
            base_classes.insert(0, mixin)

    return botoware_client_class
