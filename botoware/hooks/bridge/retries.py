"""botocore's (and aiobotocore's) retry handler: set aside while a plugin decides retries.

Each client registers its retry handler on ``needs-retry.<service-id>`` under the unique id
``retry-config-<service-id>``. aiobotocore's handler returns an awaitable, which its emitter
awaits; botoware's handler returns whatever the fallback returns, so it serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botoware.hooks.bridge.events import CALL_KEY, RETRY_HOOK, Dispatcher, Handler, bind, run_plan
from botoware.hooks.specs import NO_RETRY

if TYPE_CHECKING:
    from botocore.client import BaseClient


def make_retry_handler(host: Dispatcher) -> Handler:
    """The needs-retry handler: plugins decide first, then botocore's own retry handler."""
    fallback_for = host.retry_fallback

    def botoware_needs_retry(**kwargs: Any) -> Any:
        context = kwargs["request_dict"].get("context")
        if context is not None:
            call = context.get(CALL_KEY) or bind(context, kwargs, host)
            answer = run_plan(call, RETRY_HOOK, kwargs)
            kwargs.pop("call", None)
            if answer is NO_RETRY:
                return None
            if answer is not None:
                return answer
        fallback = fallback_for(kwargs["endpoint"])
        return None if fallback is None else fallback(**kwargs)

    return botoware_needs_retry


def endpoint_of(client: Any) -> object:
    """The key botoware keeps a client's retry handler under (one endpoint per client)."""
    return client._endpoint


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
