"""botocore's event names, and the handlers that turn each event into a hook call.

The handlers are plain synchronous functions: botocore calls them directly and aiobotocore's
emitter calls them too (it awaits only handlers that return an awaitable), so one handler
serves both kinds of client.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from botoware.hooks.call import Call, Run

if TYPE_CHECKING:
    from botocore.client import BaseClient

Handler = Callable[..., Any]

CALL_KEY = "botoware.call"
"""The one key botoware keeps in botocore's per-call context dict."""

# The call being made in this thread or task, until its first event binds it to botocore's
# context dict. Context variables, not thread-locals: asyncio tasks each see their own.
PENDING: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "botoware_pending_call", default=None
)
RUN: contextvars.ContextVar[Run | None] = contextvars.ContextVar("botoware_run", default=None)

# Where each event's handler finds botocore's per-call context dict.
_IN_CONTEXT, _IN_REQUEST, _IN_REQUEST_DICT = 0, 1, 2

EVENTS: dict[str, tuple[str, int]] = {
    # botoware_call_start runs in the provide-client-params handler, before the decision hook,
    # so no answer can hide a call's start from any plugin.
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

START_HOOK = "botoware_call_start"
FIRST_HOOK = "botoware_provide_client_params"
CALL_HOOKS = (START_HOOK, *EVENTS)
"""Every hook of one call, in the order they run."""
HOOK_INDEX = {hook: index for index, hook in enumerate(CALL_HOOKS)}
"""Where each call hook's plan sits in a :data:`Route`."""
Route = tuple[Any, ...]
"""One compiled plan (or None) per call hook, in :data:`CALL_HOOKS` order, for one operation."""
NO_ROUTE: Route = (None,) * len(CALL_HOOKS)
"""The route of an operation no plugin (left in a call) has any call hook for.

Plans return this very tuple for every such operation, so ``route is NO_ROUTE`` is the test.
"""
_START = HOOK_INDEX[START_HOOK]
_AFTER_CALL_ERROR = HOOK_INDEX["botoware_after_call_error"]
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

    def route(self, service: str, operation: str) -> Route:
        """The plan of every call hook for this operation (:data:`NO_ROUTE`: none at all)."""
        ...

    def step(self, names: tuple[str, ...], service: str, operation: str) -> tuple[Plans, Route]:
        """The same plugins less ``names`` (those that stepped out of one call), and their
        route for this operation."""
        ...


class StepOut:
    """What a compiled plan returns when plugins returned :data:`botoware.STEP_OUT`."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names


class Dispatcher(Protocol):
    """What the bridge needs from the host that owns it."""

    @property
    def plans(self) -> Plans: ...

    def retry_fallback(self, endpoint: object) -> Handler | None: ...

    def prepare(self, client: BaseClient) -> None: ...

    @property
    def in_flight(self) -> set[Call]:
        """The covered calls started and not yet returned (the host detaches once empty)."""
        ...

    @property
    def draining(self) -> bool:
        """True while the host waits for :attr:`in_flight` to empty before detaching."""
        ...

    def drained(self) -> None:
        """The last call in flight returned while :attr:`draining`."""
        ...


def event_name(hook: str) -> str:
    """The botocore event a handler for ``hook`` is registered on.

    Always the unscoped name, whatever the plugins' scopes: botocore runs handlers of a more
    specific name first, so a scoped name would move a plugin's hooks before botocore's own
    handlers (before the signer, for one). Plans filter by scope instead.
    """
    return EVENTS[FIRST_HOOK if hook == START_HOOK else hook][0]


def find_call(context: dict[str, Any]) -> Call | None:
    """The call this event belongs to, bound to botocore's context dict on its first event.

    Only a call opened by a covered client (the pending call of this task, whose snapshot
    was taken before any of its events; a presigned URL's too) binds: a call already under
    way when its client was covered is none of the plugins' business, so no plugin sees an
    ending without its start.
    """
    call: Call | None = context.get(CALL_KEY)
    if call is not None:
        return call
    call = PENDING.get()
    if call is None or call._context is not None:
        return None
    call._context = context
    context[CALL_KEY] = call
    return call


def start_handler(**kwargs: Any) -> None:
    """The provide-client-params handler that only starts a call (see :func:`start`).

    Registered on the clients whose ``_make_api_call`` something else wraps, so their
    calls start once that wrapper has begun; every other call starts before any event.
    """
    context = kwargs.get("context")
    call = None if context is None else find_call(context)
    if call is not None and not call._begun:
        start(call)


def step_out(call: Call, names: tuple[str, ...]) -> None:
    """``names`` see no more of ``call``: their later hooks for it are not called."""
    call._plans, call._route = call._plans.step(names, call.service, call.operation)


def run_plan(call: Call, hook: str, kwargs: dict[str, Any]) -> Any:
    """Run ``hook`` for ``call`` on the plugins still in it; drop those that step out."""
    plan = call._route[HOOK_INDEX[hook]]
    if plan is None:
        return None
    kwargs["call"] = call
    result = plan(**kwargs)
    if result.__class__ is StepOut:
        step_out(call, result.names)
        return None
    return result


def start(call: Call) -> bool:
    """Run ``botoware_call_start`` for ``call``; False when every plugin stepped out of it.

    A BaseException raised there ends the call for the others and goes up.
    """
    call._begun = True
    plan = call._route[_START]
    if plan is None:
        return True
    try:
        result = plan(call=call)
    except BaseException as exc:
        fail(call, exc)
        raise
    if result.__class__ is StepOut:
        step_out(call, result.names)
        return call._route is not NO_ROUTE
    return True


def fail(call: Call, exception: BaseException) -> None:
    """End a call that raised without a terminal event (exactly once; presigned: never)."""
    if call._ended or call.presigned:
        return
    call._ended = True
    plan = call._route[_AFTER_CALL_ERROR]
    if plan is not None:
        result = plan(call=call, exception=exception, context=call._context)
        if result.__class__ is StepOut:
            step_out(call, result.names)


def make_handler(host: Dispatcher, hook: str, adapt: Callable[[Any], Any] | None = None) -> Handler:
    """A botocore handler that calls ``hook`` on the plugins in scope of each call.

    ``adapt`` turns a decision hook's answer into what the emitter's client expects (an
    aiobotocore client wants an awaitable-bodied response from ``before_send``).
    """
    where = EVENTS[hook][1]
    returns = hook in _DECISION_HOOKS
    terminal = hook in TERMINAL_HOOKS
    first = hook == FIRST_HOOK
    index = HOOK_INDEX[hook]

    def handler(**kwargs: Any) -> Any:
        if where == _IN_CONTEXT:
            context = kwargs.get("context")
        elif where == _IN_REQUEST:
            context = getattr(kwargs["request"], "context", None)
        else:
            context = kwargs["request_dict"].get("context")
        call: Call | None
        if context is None:
            # Older botocore (1.40) gives the prepared request no context: the covered call
            # being made in this task is the one.
            call = PENDING.get() if where == _IN_REQUEST else None
        else:
            call = context.get(CALL_KEY)
            if call is None:
                # find_call, inline: this call's first event, or no call of botoware's (an
                # unfollowed call, a call begun before install).
                call = PENDING.get()
                if call is None or call._context is not None:
                    return None
                call._context = context
                context[CALL_KEY] = call
        if call is None:
            return None
        if terminal:
            if call._ended:
                return None
            call._ended = True
        elif first and not call._begun:
            # A client whose _make_api_call another wrapper wraps (opentelemetry-
            # instrumentation-botocore's): that wrapper has begun by now.
            start(call)
        plan = call._route[index]  # run_plan, inline: this runs on every event
        if plan is None:
            return None
        kwargs["call"] = call
        result = plan(**kwargs)
        if result is None:
            return None
        if result.__class__ is StepOut:
            step_out(call, result.names)
            return None
        if not returns:
            return None
        return result if adapt is None else adapt(result)

    handler.__qualname__ = handler.__name__ = f"botoware_{EVENTS[hook][0].replace('-', '_')}"
    return handler


# -------------------------------------------------------------------------------------------
# Emitters
# -------------------------------------------------------------------------------------------


def session_emitter(session: Any) -> Any:
    return session.get_component("event_emitter")


def client_emitter(client: Any) -> Any:
    return client.meta.events


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
