"""Paginators and waiters of botocore clients: each iteration or wait is one :class:`Run`."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from botocore.paginate import PageIterator

from botoware.hooks.bridge.calls import Running, Step
from botoware.hooks.bridge.events import Dispatcher
from botoware.hooks.call import Run

END = object()
"""What ``next(pages, END)`` returns once a page iterator is exhausted."""


def page_run(page_iterator: Any) -> Run:
    """The run of one iteration of a page iterator (sync or async)."""
    method = page_iterator._method
    meta = method.__self__.meta
    service_id = meta.service_model.service_id
    operation = meta.method_to_api_mapping.get(method.__name__, method.__name__)
    return Run("paginate", service_id.hyphenize(), str(service_id), operation, meta.region_name)


def wait_run(waiter: Any, service: str, service_id: str, region: str | None) -> Run:
    return Run("wait", service, service_id, waiter.config.operation, region, waiter.name)


def make_page_iterator_class(host: Dispatcher) -> type[Any]:
    """A PageIterator whose iteration is one :class:`Run` (calls see ``call.run``)."""
    host_ref = weakref.ref(host)

    base: Any = PageIterator

    class CoveredPageIterator(base):  # type: ignore[misc]
        def __iter__(self) -> Iterator[Any]:
            inner = base.__iter__(self)
            owner = host_ref()
            if owner is None:
                yield from inner
                return
            with Running(owner, page_run(self)) as run:
                while True:
                    with Step(run):
                        page = next(inner, END)
                    if page is END:
                        return
                    yield page

    return CoveredPageIterator


def wrap_wait(
    host: Dispatcher, waiter: Any, service: str, service_id: str, region: str | None
) -> None:
    """Make ``waiter.wait()`` one run."""
    original_wait: Callable[..., Any] = waiter.wait

    def wait(**kwargs: Any) -> Any:
        with Running(host, wait_run(waiter, service, service_id, region), current=True):
            return original_wait(**kwargs)

    wait.__doc__ = original_wait.__doc__
    waiter.wait = wait
