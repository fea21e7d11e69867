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

from botoware.hooks.bridge.events import PENDING, RUN, Dispatcher, StepOut
from botoware.hooks.call import Call, Run


@final
class Calling:
    """A covered call in flight: the pending call of this thread or task until it exits."""

    __slots__ = ("_host", "_token", "call")

    def __init__(self, host: Dispatcher, call: Call) -> None:
        self.call = call
        self._host = host
        host.in_flight.add(call)
        self._token: contextvars.Token[Call | None] = PENDING.set(call)

    def __enter__(self) -> Call:
        return self.call

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        call = self.call
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
) -> Calling | None:
    """Open a call if any plugin covers it (None: call the original method bare)."""
    plans = host.plans
    if not plans.covers(service, operation):
        return None
    run = RUN.get()
    if run is not None:
        if run.operation == operation and run.service == service:
            run.calls += 1
        else:
            run = None
    call = Call(service, service_id, operation, region, params, run)
    call._plans = plans
    return Calling(host, call)


def fail(call: Call, exception: BaseException) -> None:
    """End a call that raised without a terminal event (exactly once)."""
    if call._ended:
        return
    call._ended = True
    plan = call._plans.plan("botoware_after_call_error", call.service, call.operation)
    if plan is not None:
        result = plan(call=call, exception=exception, context=call._context)
        if result.__class__ is StepOut:
            call._plans = call._plans.without(result.names)


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
