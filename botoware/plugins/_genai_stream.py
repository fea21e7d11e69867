"""The one place where observing a Bedrock response depends on the kind of client.

The genai plugin's hooks and everything they record are shared by botocore and aiobotocore
clients; only handing the response body and event stream back to the user differs, because
aiobotocore's are read with ``await`` and ``async for``. :func:`observe_stream` and
:func:`observe_body` are that difference: a botocore stream is wrapped in a
:class:`TracedEventStream`, an aiobotocore one in a :class:`TracedAioEventStream` (both tell
the same :class:`StreamObserver`), and a botocore InvokeModel body is read and replaced by a
``StreamingBody`` over the same bytes (an aiobotocore body can only be read with ``await``,
so its token counts come from Bedrock's headers instead).
"""

from __future__ import annotations

import inspect
import io
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, final

from botocore.eventstream import EventStream

if TYPE_CHECKING:
    _EventStream = EventStream[Any]  # generic in botocore-stubs only
else:
    _EventStream = EventStream


class StreamObserver(Protocol):
    """What a wrapped stream reports; every method is safe to call from any thread, and the
    observation ends exactly once whichever of the last four comes first."""

    def event(self, event: Mapping[str, Any]) -> None:
        """The stream yielded ``event`` to the user."""

    def complete(self) -> None:
        """The stream was read to its end."""

    def failed(self, exception: BaseException) -> None:
        """Reading the stream raised ``exception`` (an ``EventStreamError``, a broken
        connection)."""

    def closed(self) -> None:
        """The user closed the stream before its end."""

    def dropped(self) -> None:
        """The stream was garbage-collected before any of the above."""


class _TracedStream(_EventStream):
    """What the sync and async traced streams share: a view of the stream they wrap (its
    state is not copied), closing, attribute lookups, and the end when dropped unread."""

    __slots__ = ("_finalizer", "_inner", "_observer")

    def __init__(self, inner: Any, observer: StreamObserver) -> None:  # no super(): a view
        self._inner = inner
        self._observer = observer
        # Holds the observer, not the wrapper, so the wrapper can still be collected.
        self._finalizer = weakref.finalize(self, observer.dropped)

    def close(self) -> None:
        """Close the underlying HTTP body (an unread stream ends its observation here)."""
        try:
            self._inner.close()
        finally:
            self._observer.closed()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._inner!r}>"


@final
class TracedEventStream(_TracedStream):
    """A botocore ``EventStream`` that tells a :class:`StreamObserver` what happens to it.

    An ``EventStream`` itself (``isinstance`` holds), it iterates and answers like the
    stream it wraps.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        observer = self._observer
        try:
            for event in self._inner:
                observer.event(event)
                yield event
        except GeneratorExit:
            # The loop was left early; botocore's stream can still be iterated on, so the
            # end is close(), the next failure, or the stream being dropped.
            raise
        except BaseException as exc:
            observer.failed(exc)
            raise
        observer.complete()

    def get_initial_response(self) -> Any:
        return self._inner.get_initial_response()


@final
class TracedAioEventStream(_TracedStream):
    """aiobotocore's ``EventStream``, read with ``async for``, observed the same way."""

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Use async-for instead")  # as aiobotocore's own stream

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        observer = self._observer
        try:
            async for event in self._inner:
                observer.event(event)
                yield event
        except GeneratorExit:
            raise  # left early, as with TracedEventStream
        except BaseException as exc:
            observer.failed(exc)
            raise
        observer.complete()

    async def get_initial_response(self) -> Any:
        return await self._inner.get_initial_response()


def observe_stream(stream: Any, observer: StreamObserver) -> Any | None:
    """The object to hand the user in place of ``stream``: a traced stream of the same kind
    (read with ``for`` or ``async for``), or None when ``stream`` is no event stream."""
    if not isinstance(stream, EventStream):
        return None
    if hasattr(stream, "__aiter__"):
        return TracedAioEventStream(stream, observer)
    return TracedEventStream(stream, observer)


def observe_body(parsed: dict[str, Any], key: str) -> bytes | None:
    """Read the InvokeModel body ``parsed[key]`` and put back a fresh ``StreamingBody`` of the
    same bytes, so the user reads exactly what the service sent; None when unreadable here."""
    from botocore.response import StreamingBody

    body = parsed.get(key)
    read = getattr(body, "read", None)
    if read is None or inspect.iscoroutinefunction(read):
        return None  # aiobotocore's body is read with await: not here
    data = read()
    if not isinstance(data, bytes):
        return None
    parsed[key] = StreamingBody(io.BytesIO(data), len(data))
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return data
