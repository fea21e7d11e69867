"""aiobotocore's counterparts: awaited calls, async paginators and waiters, async credentials.

Imported only once aiobotocore itself is (an aiobotocore client or session exists), so
botoware never imports anything async on its own. Everything that does not await lives in
the sync modules and is shared; what differs here is only where aiobotocore awaits.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiobotocore.awsrequest import AioAWSResponse
from aiobotocore.client import AioBaseClient
from aiobotocore.credentials import AioCredentials, AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider, RefreshableCredentials

from botoware.hooks.bridge.calls import Running, Step, begin, presigning
from botoware.hooks.bridge.events import Dispatcher
from botoware.hooks.bridge.runs import END, page_run, wait_run

__all__ = [
    "AioBaseClient",
    "AioSession",
    "adapt_provider",
    "adapt_response",
    "make_api_call",
    "page_iterator_class",
    "presigner",
    "wrap_wait",
]


def make_api_call(
    host: Dispatcher,
    original: Callable[..., Any],
    service: str,
    service_id: str,
    region: str | None,
    early: bool,
) -> Callable[..., Any]:
    """The covered ``_make_api_call`` of an aiobotocore client (see ``clients.cover``)."""

    async def _make_api_call(operation_name: str, api_params: dict[str, Any]) -> Any:
        calling = begin(host, service, service_id, region, operation_name, api_params, early)
        if calling is None:
            return await original(operation_name, api_params)
        with calling:
            return await original(operation_name, api_params)

    return _make_api_call


def presigner(
    host: Dispatcher,
    method: str,
    original: Callable[..., Any],
    api_names: dict[str, str],
    names: tuple[str, str, str | None],
) -> Callable[..., Any]:
    """The covered ``generate_presigned_url``/``_post`` of an aiobotocore client."""

    async def presign(*args: Any, **kwargs: Any) -> Any:
        calling = presigning(host, method, api_names, args, kwargs, names)
        if calling is None:
            return await original(*args, **kwargs)
        with calling:
            return await original(*args, **kwargs)

    return presign


_PAGE_CLASSES: weakref.WeakKeyDictionary[Any, dict[type, type]] = weakref.WeakKeyDictionary()


def page_iterator_class(host: Dispatcher, base: type[Any]) -> type[Any]:
    """An async page iterator over ``base`` whose ``async for`` is one run."""
    classes = _PAGE_CLASSES.setdefault(host, {})
    found = classes.get(base)
    if found is not None:
        return found
    host_ref = weakref.ref(host)
    inner_base: Any = base

    class CoveredAioPageIterator(inner_base):  # type: ignore[misc]
        def __aiter__(self) -> AsyncIterator[Any]:
            owner = host_ref()
            inner = inner_base.__aiter__(self)
            return inner if owner is None else _iterate(owner, self, inner)

    classes[base] = CoveredAioPageIterator
    return CoveredAioPageIterator


async def _iterate(host: Dispatcher, page_iterator: Any, inner: Any) -> AsyncIterator[Any]:
    try:
        with Running(host, page_run(page_iterator)) as run:
            while True:
                with Step(run):
                    page = await anext(inner, END)
                if page is END:
                    return
                yield page
    finally:
        await inner.aclose()


def wrap_wait(
    host: Dispatcher, waiter: Any, service: str, service_id: str, region: str | None
) -> None:
    """Make ``await waiter.wait()`` one run."""
    original_wait: Callable[..., Any] = waiter.wait

    async def wait(**kwargs: Any) -> Any:
        with Running(host, wait_run(waiter, service, service_id, region), current=True):
            return await original_wait(**kwargs)

    wait.__doc__ = original_wait.__doc__
    waiter.wait = wait


# -------------------------------------------------------------------------------------------
# Answers given at before-send
# -------------------------------------------------------------------------------------------


class _Content:
    """What aiobotocore's streaming body reads from: aiohttp's ``response.content``."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    async def read(self, amount: int = -1) -> bytes:
        start = self._offset
        end = len(self._data) if amount is None or amount < 0 else start + amount
        self._offset = min(end, len(self._data))
        return self._data[start : self._offset]

    def at_eof(self) -> bool:
        return self._offset >= len(self._data)

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        """What aiobotocore's event stream reads from (aiohttp's ``iter_chunks``)."""
        while not self.at_eof():
            yield await self.read(65536), True


class _Raw:
    """An aiohttp-like raw response over bytes a plugin answered with.

    No ``__slots__``: older aiobotocore wraps it in a ``wrapt.ObjectProxy`` (its
    ``StreamingBody``) whose own attributes, such as a checksum, land on this object.
    """

    def __init__(self, data: bytes, url: str) -> None:
        self.content = _Content(data)
        self.url = url

    async def read(self) -> bytes:
        return await self.content.read()

    def close(self) -> None:
        pass


def adapt_response(answer: Any) -> Any:
    """A botocore ``AWSResponse`` from a ``before_send`` hook, as aiobotocore reads one."""
    if isinstance(answer, AioAWSResponse) or not hasattr(answer, "raw"):
        return answer
    data = answer.content
    return AioAWSResponse(answer.url, answer.status_code, answer.headers, _Raw(data, answer.url))


# -------------------------------------------------------------------------------------------
# Credentials
# -------------------------------------------------------------------------------------------


class _AioProvider(CredentialProvider):
    """A botocore credential provider on aiobotocore's async resolver.

    Its ``load`` (file reads, say) runs in a worker thread, so the event loop never waits on
    it; refreshes do too. The credentials it returns become aiobotocore's async ones.
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        self.METHOD = inner.METHOD
        self.CANONICAL_NAME = getattr(inner, "CANONICAL_NAME", None)

    async def load(self) -> Any:
        credentials = await asyncio.to_thread(self.inner.load)
        return _aio_credentials(credentials)


def _aio_credentials(credentials: Any) -> Any:  # Any: botocore's private attributes
    # botocore keeps a refreshable credential's parts private; aiobotocore's class takes
    # the same constructor arguments.
    if credentials is None or isinstance(credentials, (AioCredentials, AioRefreshableCredentials)):
        return credentials
    if isinstance(credentials, RefreshableCredentials):
        parts: Any = credentials
        refresh_sync = parts._refresh_using

        async def refresh() -> Any:
            return await asyncio.to_thread(refresh_sync)

        return AioRefreshableCredentials(
            parts._access_key,
            parts._secret_key,
            parts._token,
            parts._expiry_time,
            refresh,
            parts.method,
        )
    frozen = credentials.get_frozen_credentials()
    return AioCredentials(frozen.access_key, frozen.secret_key, frozen.token, credentials.method)


def adapt_provider(provider: Any) -> Any:
    """``provider`` made fit for an AioSession's resolver (async providers pass unchanged)."""
    if asyncio.iscoroutinefunction(getattr(provider, "load", None)):
        return provider
    return _AioProvider(provider)
