"""A blocking view of an aiobotocore client, so one lifecycle test runs on both kinds.

Each awaited method runs to completion on the test's event loop (a task per call, as an
asyncio program runs them); paginators iterate with ``async for`` underneath and waiters
are awaited. Tests about asyncio itself (tasks, cancellation) use aiobotocore directly.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any


class AioView:
    """``view.list_buckets()`` = ``await client.list_buckets()`` on ``loop``."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.aio_client = client
        self._loop = loop

    def __eq__(self, other: object) -> bool:
        return other is self or other is self.aio_client

    def __hash__(self) -> int:
        return hash(self.aio_client)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.aio_client, name)
        if name == "get_paginator":
            return lambda operation: _PaginatorView(attr(operation), self._loop)
        if name == "get_waiter":
            return lambda waiter: _WaiterView(attr(waiter), self._loop)
        if not callable(attr) or inspect.isclass(attr):
            return attr
        return lambda *args, **kwargs: _settle(attr(*args, **kwargs), self._loop)


def _settle(result: Any, loop: asyncio.AbstractEventLoop) -> Any:
    return loop.run_until_complete(result) if inspect.isawaitable(result) else result


class _PaginatorView:
    def __init__(self, paginator: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._paginator = paginator
        self._loop = loop

    def paginate(self, **kwargs: Any) -> _PagesView:
        return _PagesView(self._paginator.paginate(**kwargs), self._loop)


class _PagesView:
    def __init__(self, pages: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._pages = pages
        self._loop = loop

    def __iter__(self) -> Iterator[Any]:
        return _drain(self._pages.__aiter__(), self._loop)

    def search(self, expression: str) -> Iterator[Any]:
        return _drain(self._pages.search(expression), self._loop)

    def build_full_result(self) -> Any:
        return self._loop.run_until_complete(self._pages.build_full_result())


def _drain(iterator: Any, loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    try:
        while True:
            try:
                item = loop.run_until_complete(iterator.__anext__())
            except StopAsyncIteration:
                return
            yield item
    finally:
        loop.run_until_complete(iterator.aclose())


class _WaiterView:
    def __init__(self, waiter: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._waiter = waiter
        self._loop = loop
        self.name = waiter.name
        self.config = waiter.config

    def wait(self, **kwargs: Any) -> Any:
        return self._loop.run_until_complete(self._waiter.wait(**kwargs))
