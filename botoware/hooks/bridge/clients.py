"""Covering clients, and knowing a session's clients without scanning the heap.

Covering sets a few instance attributes (``_make_api_call``, ``get_paginator``,
``get_waiter`` and the presigners, see ``calls.PRESIGNERS``); :func:`uncover` removes them,
and the class's own methods answer again.
aiobotocore clients get the awaiting counterparts from :mod:`botoware.hooks.bridge.aio`.

botocore keeps no list of a session's clients. From ``import botoware`` on, every new
session records its clients as they are made (:func:`track`): a ``creating-client-class``
handler gives each client class an ``__init__`` that adds the client to the session's
:class:`Registry` (a weak set) and tells the host installed there, if any. Nothing else is
added: the class's bases and MRO stay botocore's, installed or not. A session created
before ``import botoware`` has no registry; the first ``install()`` on it finds its
clients once by a heap scan (:func:`clients_of`) and tracks it from then on.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, final

from botocore.client import BaseClient

from botoware.hooks.bridge import calls, runs
from botoware.hooks.bridge.events import (
    CALL_HOOKS,
    CLIENT_CLASS_EVENT,
    START_HOOK,
    Dispatcher,
    Handler,
    make_handler,
    session_emitter,
)
from botoware.hooks.bridge.retries import make_retry_handler
from botoware.hooks.bridge.sessions import is_async_session, on_new_sessions

_COVER_ATTRS = ("_make_api_call", "get_paginator", "get_waiter", *calls.PRESIGNERS)


def service_of(client: BaseClient) -> tuple[str, str]:
    """(hyphenized service id as in event names, service id as AWS spells it)."""
    service_id = client.meta.service_model.service_id
    return service_id.hyphenize(), str(service_id)


def is_async(client: object) -> bool:
    """True for an aiobotocore client (never imports aiobotocore to find out)."""
    module = sys.modules.get("aiobotocore.client")
    return module is not None and isinstance(client, module.AioBaseClient)


def starts_late(client: Any) -> bool:
    """True when something wraps the ``_make_api_call`` :func:`cover` would wrap."""
    return not starts_early(client._make_api_call)


def starts_early(original: Callable[..., Any]) -> bool:
    """True when ``original`` is botocore's (or aiobotocore's) own ``_make_api_call``.

    Then no other wrapper (opentelemetry-instrumentation-botocore's, a user's monkeypatch)
    is between botoware and botocore, and a call's start hook may run before botocore's
    first event. wrapt's proxies and ``functools.wraps`` copy a function's name and module,
    so the test is where the outermost function's code lives.
    """
    if type(original) is not types.MethodType:
        return False  # a wrapt proxy passes the wrapped method's attributes on
    function = original.__func__
    if type(function) is not types.FunctionType:
        return False
    filename = os.path.abspath(function.__code__.co_filename)
    return any(filename.startswith(folder) for folder in _botocore_folders())


def _botocore_folders() -> list[str]:
    folders = []
    for name in ("botocore", "aiobotocore"):
        module = sys.modules.get(name)
        if module is not None and module.__file__:
            folders.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    return folders


def _sync_make_api_call(
    host: Dispatcher,
    original: Callable[..., Any],
    service: str,
    service_id: str,
    region: str | None,
    early: bool,
) -> Callable[..., Any]:
    def _make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        calling = calls.begin(host, service, service_id, region, operation_name, api_params, early)
        if calling is None:
            return original(operation_name, api_params)
        with calling:
            return original(operation_name, api_params)

    return _make_api_call


def _sync_presigner(
    host: Dispatcher,
    method: str,
    original: Callable[..., Any],
    api_names: dict[str, str],
    names: tuple[str, str, str | None],
) -> Callable[..., Any]:
    def presign(*args: Any, **kwargs: Any) -> Any:
        calling = calls.presigning(host, method, api_names, args, kwargs, names)
        if calling is None:
            return original(*args, **kwargs)
        with calling:
            return original(*args, **kwargs)

    return presign


def make_handlers(host: Dispatcher, session: Any) -> dict[str, Handler]:
    """The handler of each call hook for the emitters of ``session`` and its clients."""
    adapt: dict[str, Callable[[Any], Any]] = {}
    if is_async_session(session):
        from botoware.hooks.bridge import aio

        adapt["botoware_before_send"] = aio.adapt_response
    handlers = {
        hook: make_handler(host, hook, adapt.get(hook)) for hook in CALL_HOOKS if hook != START_HOOK
    }
    handlers["botoware_needs_retry"] = make_retry_handler(host)
    return handlers


def cover(host: Dispatcher, client: Any, page_iterator_cls: type[Any], early: bool) -> None:
    """Route a client's API calls, paginators and waiters through botoware.

    ``early``: not :func:`starts_late` (the host asks first, to place its handlers).
    """
    service, service_id = service_of(client)
    region = client.meta.region_name
    if is_async(client):
        from botoware.hooks.bridge import aio

        make_api_call = aio.make_api_call
        presigner = aio.presigner
        wrap_wait = aio.wrap_wait

        def page_class(paginator: Any) -> type[Any]:
            return aio.page_iterator_class(host, type(paginator).PAGE_ITERATOR_CLS)
    else:
        make_api_call = _sync_make_api_call
        presigner = _sync_presigner
        wrap_wait = runs.wrap_wait

        def page_class(paginator: Any) -> type[Any]:
            return page_iterator_cls

    covered = make_api_call(host, client._make_api_call, service, service_id, region, early)
    attrs = client.__dict__

    def _make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        # First call only: botocore has finished setting the client up by now. Later calls
        # go straight to ``covered`` (unless uncovered meanwhile).
        host.prepare(client)
        if attrs.get("_make_api_call") is _make_api_call:
            attrs["_make_api_call"] = covered
        return covered(operation_name, api_params)

    original_get_paginator = client.get_paginator
    original_get_waiter = client.get_waiter

    def get_paginator(operation_name: str) -> Any:
        paginator = original_get_paginator(operation_name)
        paginator.PAGE_ITERATOR_CLS = page_class(paginator)
        return paginator

    def get_waiter(waiter_name: str) -> Any:
        waiter = original_get_waiter(waiter_name)
        wrap_wait(host, waiter, service, service_id, region)
        return waiter

    get_paginator.__doc__ = original_get_paginator.__doc__
    get_waiter.__doc__ = original_get_waiter.__doc__
    attrs["_make_api_call"] = _make_api_call
    attrs["get_paginator"] = get_paginator
    attrs["get_waiter"] = get_waiter
    api_names = client.meta.method_to_api_mapping
    for method in calls.PRESIGNERS:
        original_presign = getattr(client, method, None)
        if original_presign is not None:
            presign = presigner(
                host, method, original_presign, api_names, (service, service_id, region)
            )
            presign.__doc__ = original_presign.__doc__
            attrs[method] = presign


def uncover(client: Any) -> None:
    """Undo :func:`cover`: the client's class methods answer again."""
    for name in _COVER_ATTRS:
        client.__dict__.pop(name, None)


def is_covered(client: Any) -> bool:
    return "_make_api_call" in client.__dict__


@final
class Registry:
    """The live clients of one session, recorded as botocore creates them."""

    __slots__ = ("clients", "listener")

    def __init__(self) -> None:
        self.clients: weakref.WeakSet[BaseClient] = weakref.WeakSet()
        # The host installed on the session, told of each new client (None: not installed).
        self.listener: Callable[[BaseClient], None] | None = None

    def add(self, client: BaseClient) -> None:
        self.clients.add(client)
        listener = self.listener
        if listener is not None:
            listener(client)


_TRACK_ID = "botoware-track-clients"
_REGISTRIES: weakref.WeakKeyDictionary[Any, Registry] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def _tracking_handler(registry: Registry) -> Handler:
    def botoware_track_clients(class_attributes: dict[str, Any], **kwargs: Any) -> None:
        own = class_attributes.get("__init__")  # another handler's, kept

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if own is not None:
                own(self, *args, **kwargs)
            else:
                # The class this function belongs to (a subclass may exist), then its bases.
                owner = next(c for c in type(self).__mro__ if c.__dict__.get("__init__") is init)
                after: Any = super(owner, self)
                after.__init__(*args, **kwargs)
            registry.add(self)

        init = __init__
        class_attributes["__init__"] = __init__

    return botoware_track_clients


def track(session: Any) -> Registry:
    """Record ``session``'s clients from now on (idempotent); its :class:`Registry`."""
    with _REGISTRIES_LOCK:
        registry = _REGISTRIES.get(session)
        if registry is None:
            registry = _REGISTRIES[session] = Registry()
            session_emitter(session).register(
                CLIENT_CLASS_EVENT, _tracking_handler(registry), unique_id=_TRACK_ID
            )
        return registry


def registry_of(session: Any) -> Registry:
    """The session's registry; a session made before ``import botoware`` is scanned once."""
    registry = _REGISTRIES.get(session)
    if registry is not None:
        return registry
    registry = track(session)
    for client in clients_of(session):
        registry.clients.add(client)
    return registry


def tracked_unique_id() -> str:
    """The unique id of the tracking handler every session has (for tests and diagnostics)."""
    return _TRACK_ID


def track_new_session(session: Any) -> None:
    """The initializer botocore runs for every new session (see :func:`track`)."""
    track(session)


on_new_sessions(track_new_session)


def clients_of(session: Any) -> list[BaseClient]:
    """The clients of a session made before ``import botoware``: ask gc (the fallback).

    A client holds no reference to its session, only to its components: the model loader
    (which sessions may share) and the session's own exceptions factory (which they don't).
    """
    try:
        loader = session.get_component("data_loader")
        factory = session._get_internal_component("exceptions_factory")
    except Exception:  # pragma: no cover - a session without components has no clients
        return []
    # A weakref.proxy to a client passes isinstance() (botocore's S3 region redirector holds
    # one) but cannot be weakly referenced or covered: take the clients themselves only.
    return [
        obj
        for obj in gc.get_objects()
        if not isinstance(obj, weakref.ProxyTypes)  # first: a dead proxy raises on isinstance
        and isinstance(obj, BaseClient)
        and getattr(obj, "_loader", None) is loader
        and getattr(obj, "_exceptions_factory", None) is factory
    ]
