"""The bridge: the only package that knows botocore and aiobotocore.

One module per concern, so where sync and async differ shows in the names:

- :mod:`~botoware.hooks.bridge.events`: botocore's event names and the handlers that turn
  each event into a hook call (one handler serves botocore and aiobotocore emitters).
- :mod:`~botoware.hooks.bridge.calls`: the life of one covered call and of one run, shared.
- :mod:`~botoware.hooks.bridge.clients`: covering clients; each session's clients recorded
  as botocore makes them (a heap scan only for sessions made before ``import botoware``).
- :mod:`~botoware.hooks.bridge.runs`: botocore paginators and waiters as runs.
- :mod:`~botoware.hooks.bridge.retries`: botocore's retry handler set aside and given back.
- :mod:`~botoware.hooks.bridge.credentials`: the session's credential chain.
- :mod:`~botoware.hooks.bridge.sessions`: what ``install()`` accepts; sessions created later.
- :mod:`~botoware.hooks.bridge.aio`: aiobotocore's counterparts (imported only with it).
"""

from botoware.hooks.bridge.clients import (
    clients_of,
    cover,
    is_async,
    is_covered,
    make_handlers,
    registry_of,
    service_of,
    starts_late,
    track,
    track_new_session,
    tracked_unique_id,
    uncover,
)
from botoware.hooks.bridge.credentials import forget_credentials, place_provider, remove_providers
from botoware.hooks.bridge.events import (
    CALL_HOOKS,
    CALL_KEY,
    CLIENT_CLASS_EVENT,
    EVENTS,
    FIRST_HOOK,
    NO_ROUTE,
    RETRY_HOOK,
    START_HOOK,
    TERMINAL_HOOKS,
    Dispatcher,
    Handler,
    Plans,
    Route,
    StepOut,
    client_emitter,
    event_name,
    find_call,
    make_handler,
    register,
    registered_unique_ids,
    session_emitter,
    start_handler,
    unregister,
)
from botoware.hooks.bridge.retries import (
    endpoint_of,
    give_back_retry_handler,
    make_retry_handler,
    take_retry_handler,
)
from botoware.hooks.bridge.runs import make_page_iterator_class
from botoware.hooks.bridge.sessions import (
    botocore_session,
    create_default_session,
    default_session,
    is_async_session,
    off_new_sessions,
    on_new_sessions,
)

__all__ = [
    "CALL_HOOKS",
    "CALL_KEY",
    "CLIENT_CLASS_EVENT",
    "EVENTS",
    "FIRST_HOOK",
    "NO_ROUTE",
    "RETRY_HOOK",
    "START_HOOK",
    "TERMINAL_HOOKS",
    "Dispatcher",
    "Handler",
    "Plans",
    "Route",
    "StepOut",
    "botocore_session",
    "client_emitter",
    "clients_of",
    "cover",
    "create_default_session",
    "default_session",
    "endpoint_of",
    "event_name",
    "find_call",
    "forget_credentials",
    "give_back_retry_handler",
    "is_async",
    "is_async_session",
    "is_covered",
    "make_handler",
    "make_handlers",
    "make_page_iterator_class",
    "make_retry_handler",
    "off_new_sessions",
    "on_new_sessions",
    "place_provider",
    "register",
    "registered_unique_ids",
    "registry_of",
    "remove_providers",
    "service_of",
    "session_emitter",
    "start_handler",
    "starts_late",
    "take_retry_handler",
    "track",
    "track_new_session",
    "tracked_unique_id",
    "uncover",
    "unregister",
]
