"""The life of one covered call and of one run, shared by botocore and aiobotocore clients.

botocore has no event for a call that fails before ``before-call`` (a ParamValidationError,
an endpoint-resolution error) nor for a cancelled aiobotocore call, so covered clients open
each call here and end it here when no terminal event did. Calls and runs are context
managers with no awaits of their own, so the sync wrappers (``clients``, ``runs``) and the
async ones (``aio``) share them and differ only in whether they await the original method.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any, final

from botoware.hooks.bridge.events import (
    NO_ROUTE,
    PENDING,
    RUN,
    Dispatcher,
    fail,
    start,
)
from botoware.hooks.call import Call, Run


@final
class Calling:
    """A covered call in flight: the pending call of this thread or task until it exits.

    A call every plugin stepped out of at its start (see :func:`begin`) is not followed:
    nothing binds it and nothing waits for it. Its Calling only hides a pending call of an
    outer, unbound call from its events (``call`` is None then).
    """

    __slots__ = ("_host", "_token", "call")

    def __init__(self, host: Dispatcher, call: Call | None) -> None:
        self.call = call
        self._host = host
        if call is not None:
            host.in_flight.add(call)
        self._token: contextvars.Token[Call | None] = PENDING.set(call)

    def __enter__(self) -> Call | None:
        return self.call

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        call = self.call
        if call is None:
            PENDING.reset(self._token)
            return
        try:
            if exc is not None:  # CancelledError and wait_for's timeouts included
                fail(call, exc)
        finally:
            # No longer in flight: a session waiting to detach may do so now.
            PENDING.reset(self._token)
            host = self._host
            in_flight = host.in_flight
            in_flight.discard(call)
            if host.draining and not in_flight:
                host.drained()


def begin(
    host: Dispatcher,
    service: str,
    service_id: str,
    region: str | None,
    operation: str,
    params: Any,
    early: bool,
) -> Calling | None:
    """Open a call if any plugin has a call hook for it (None: call the original bare).

    ``early``: the client's original ``_make_api_call`` is botocore's own, so nothing else
    wraps the call and its ``botoware_call_start`` runs here, before botocore's first event
    (otherwise in the first event's handler, once an outer wrapper such as
    opentelemetry-instrumentation-botocore's has begun).
    """
    plans = host.plans
    route = plans.route(service, operation)
    run = RUN.get()  # call.run is there for every plugin, with run hooks or not
    if run is not None:
        if run.operation == operation and run.service == service:
            run.calls += 1
        else:
            run = None
    if route is NO_ROUTE:
        return None
    call = Call(service, service_id, operation, region, params, run)
    call._plans = plans
    call._route = route
    if early and not start(call):
        return _unfollowed(host)
    return Calling(host, call)


def _unfollowed(host: Dispatcher) -> Calling | None:
    """What a call no plugin follows needs: nothing, unless an outer call is pending unbound.

    That outer call (one whose call_start made this call, say) must not be bound by this
    call's events, so it is hidden for the duration.
    """
    pending = PENDING.get()
    if pending is None or pending._context is not None:
        return None
    return Calling(host, None)


PRESIGNERS = ("generate_presigned_url", "generate_presigned_post")
"""The client methods that sign without sending: each is a presigned call of its own."""


def presigning(
    host: Dispatcher,
    method: str,
    api_names: dict[str, str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    names: tuple[str, str, str | None],
) -> Calling | None:
    """Open the call of a presigned URL or POST (None: botocore signs it bare).

    ``api_names``: the client's method name -> operation name; ``names``: the client's
    service, service id and region.
    """
    service, service_id, region = names
    if method == "generate_presigned_post":
        # botocore serializes a POST's URL with the CreateBucket model (and says so).
        operation = "CreateBucket"
        params: Any = {"Bucket": kwargs.get("Bucket", args[0] if args else None)}
    else:
        operation = api_names.get(kwargs.get("ClientMethod", args[0] if args else ""), "")
        if not operation:
            return None  # botocore raises its own UnknownClientMethodError
        params = kwargs.get("Params", args[1] if len(args) > 1 else None) or {}
    plans = host.plans
    route = plans.route(service, operation)
    if route is NO_ROUTE:
        return None
    call = Call(service, service_id, operation, region, params, presigned=True)
    call._plans = plans
    call._route = route
    if not start(call):
        return _unfollowed(host)
    return Calling(host, call)


@final
class Running:
    """A run (one paginator iteration, one wait) from its start to its end.

    ``current``: the run is current for the whole block (a wait); a paginator instead makes
    it current for each step only (:class:`Step`), since the user's code runs between pages.
    Leaving a paginator early (``break``: GeneratorExit) ends the run without an error.
    """

    __slots__ = ("_token", "run")

    def __init__(self, host: Dispatcher, run: Run, current: bool = False) -> None:
        self.run = run
        run._plans = plans = host.plans
        plan = plans.plan("botoware_run_start", run.service, run.operation)
        if plan is not None:
            plan(run=run)
        self._token: contextvars.Token[Run | None] | None = RUN.set(run) if current else None

    def __enter__(self) -> Run:
        return self.run

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            RUN.reset(self._token)
        error = None if isinstance(exc, GeneratorExit) else exc
        run = self.run
        plan = run._plans.plan("botoware_run_end", run.service, run.operation)
        if plan is not None:
            plan(run=run, exception=error)


@final
class Step:
    """One step of a lazily iterated paginator: its run is current while the page loads."""

    __slots__ = ("_run", "_token")

    def __init__(self, run: Run) -> None:
        self._run = run

    def __enter__(self) -> None:
        self._token = RUN.set(self._run)

    def __exit__(self, *exc_info: object) -> None:
        RUN.reset(self._token)
