"""The life of one covered call and of one run, shared by botocore and aiobotocore clients.

botocore has no event for a call that fails before ``before-call`` (a ParamValidationError,
an endpoint-resolution error) nor for a cancelled aiobotocore call, so covered clients open
each call here and end it here when no terminal event did. The sync and async client
wrappers (``clients``, ``aio``) differ only in whether they await the original method.
"""

from __future__ import annotations

import contextvars
from typing import Any

from botoware.hooks.bridge.events import PENDING, RUN, Dispatcher, StepOut
from botoware.hooks.call import Call, Run


def begin(
    host: Dispatcher,
    service: str,
    service_id: str,
    region: str | None,
    operation: str,
    params: Any,
) -> tuple[Call, contextvars.Token[Call | None]] | None:
    """Open a call if any plugin covers it: it becomes the pending call of this task."""
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
    return call, PENDING.set(call)


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


def finish(token: contextvars.Token[Call | None]) -> None:
    PENDING.reset(token)


def run_start(host: Dispatcher, run: Run) -> contextvars.Token[Run | None]:
    run._plans = plans = host.plans
    plan = plans.plan("botoware_run_start", run.service, run.operation)
    if plan is not None:
        plan(run=run)
    return RUN.set(run)


def run_step(run: Run) -> contextvars.Token[Run | None]:
    """Make ``run`` current again for one step of a lazily iterated paginator."""
    return RUN.set(run)


def run_pause(token: contextvars.Token[Run | None]) -> None:
    RUN.reset(token)


def run_end(run: Run, exception: BaseException | None) -> None:
    plan = run._plans.plan("botoware_run_end", run.service, run.operation)
    if plan is not None:
        plan(run=run, exception=exception)
