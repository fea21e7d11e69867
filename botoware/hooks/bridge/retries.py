"""botocore's (and aiobotocore's) retry handler: set aside while a plugin decides retries.

Each client registers its retry handler on ``needs-retry.<service-id>`` under the unique id
``retry-config-<service-id>``. aiobotocore's handler returns an awaitable, which its emitter
awaits; botoware's handler returns whatever the fallback returns, so it serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botoware.hooks.bridge.events import RETRY_HOOK, Dispatcher, Handler, find_call, run_plan
from botoware.hooks.specs import NO_RETRY

if TYPE_CHECKING:
    from botocore.client import BaseClient


def make_retry_handler(host: Dispatcher) -> Handler:
    """The needs-retry handler: plugins decide first, then botocore's own retry handler."""
    fallback_for = host.retry_fallback

    def botoware_needs_retry(**kwargs: Any) -> Any:
        context = kwargs["request_dict"].get("context")
        call = None if context is None else find_call(context)
        if call is not None:
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


def _held(**kwargs: Any) -> None:
    """Stands in botocore's retry handler's place while botoware holds it."""
    return None


def _emitter(client: BaseClient) -> Any:
    events = client.meta.events
    return getattr(events, "_emitter", events)  # the emitter behind botocore's EventAliaser


def _replace(emitter: Any, event: str, unique_id: str, old: Handler, new: Handler) -> bool:
    """Put ``new`` where ``old`` is in the emitter's handler lists, keeping its position.

    Unregistering and registering again would move botocore's retry handler after the
    handlers registered since (the S3 redirector's, the user's own), changing who answers
    needs-retry first once botoware is gone.
    """
    node = getattr(getattr(emitter, "_handlers", None), "_root", None)
    if node is None:
        return False
    for part in event.split("."):
        node = node["children"].get(part)
        if node is None:
            return False
    for section in node["values"] or ():
        for index, handler in enumerate(section):
            if handler is old:
                section[index] = new
                emitter._unique_id_handlers[unique_id]["handler"] = new
                emitter._lookup_cache = {}
                return True
    return False


def take_retry_handler(client: BaseClient) -> Handler | None:
    """Hold botocore's retry handler of a client and return it (None if absent).

    Its place in the client's handler lists is kept by a stand-in that answers nothing.
    """
    event, unique_id = _retry_unique_id(client)
    emitter = _emitter(client)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(unique_id)
    if entry is None or entry["handler"] is _held:
        return None
    handler: Handler = entry["handler"]
    if not _replace(emitter, event, unique_id, handler, _held):
        # Handler lists botoware does not know how to walk: set it aside the plain way.
        client.meta.events.unregister(event, unique_id=unique_id)
    return handler


def give_back_retry_handler(client: BaseClient, handler: Handler) -> None:
    """Put botocore's retry handler back in the place it had."""
    event, unique_id = _retry_unique_id(client)
    if not _replace(_emitter(client), event, unique_id, _held, handler):
        client.meta.events.register(event, handler, unique_id=unique_id)
