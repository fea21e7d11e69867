"""Per-call state: the :class:`Call` every hook of one API call receives."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

T = TypeVar("T")
D = TypeVar("D")


@final
class StashKey(Generic[T]):
    """A typed key into a :class:`Stash`; create one per piece of plugin state.

    >>> SPAN = StashKey[object]()
    """

    __slots__ = ()


@final
class Stash:
    """Typed per-object storage for plugins, like pytest's ``Stash``.

    Keys are :class:`StashKey` instances, so two plugins never clash::

        STARTED = StashKey[float]()
        call.stash[STARTED] = time.monotonic()
    """

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[StashKey[Any], object] = {}

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        self._data[key] = value

    def __getitem__(self, key: StashKey[T]) -> T:
        return self._data[key]  # type: ignore[return-value]

    def get(self, key: StashKey[T], default: D) -> T | D:
        """Return the value stored under ``key``, or ``default``."""
        return self._data.get(key, default)  # type: ignore[return-value]

    def setdefault(self, key: StashKey[T], default: T) -> T:
        """Return the value under ``key``, storing ``default`` first if absent."""
        return self._data.setdefault(key, default)  # type: ignore[return-value]

    def __delitem__(self, key: StashKey[T]) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


@final
class Run:
    """One ``paginate()`` iteration or one ``waiter.wait()``: the calls it makes share it.

    :ivar kind: ``"paginate"`` or ``"wait"``.
    :ivar service: botocore's hyphenized service id (``"s3"``).
    :ivar service_id: the service id as AWS spells it (``"S3"``).
    :ivar operation: the operation paged or polled (``"ListObjectsV2"``).
    :ivar waiter_name: the waiter's name for ``"wait"`` runs (``"BucketExists"``), else None.
    :ivar region: the client's region.
    :ivar calls: how many API calls the run has made so far.
    :ivar stash: per-run plugin state.
    """

    __slots__ = (
        "_plans",
        "calls",
        "kind",
        "operation",
        "region",
        "service",
        "service_id",
        "started",
        "stash",
        "waiter_name",
    )

    def __init__(
        self,
        kind: str,
        service: str,
        service_id: str,
        operation: str,
        region: str | None,
        waiter_name: str | None = None,
    ) -> None:
        self.kind = kind
        self.service = service
        self.service_id = service_id
        self.operation = operation
        self.region = region
        self.waiter_name = waiter_name
        self.calls = 0
        self.started = time.monotonic()
        self.stash = Stash()
        self._plans: Any = None  # the host's plugin snapshot this run started with

    def __repr__(self) -> str:
        name = self.waiter_name or self.operation
        return f"<Run {self.kind} {self.service_id}.{name} calls={self.calls}>"


@final
class Call:
    """One logical API call: the same object reaches every hook of that call.

    :ivar service: botocore's hyphenized service id, the one in event names
        (``"s3"``, ``"dynamodb"``, ``"lambda"``).
    :ivar service_id: the service id as AWS spells it (``"S3"``, ``"DynamoDB"``).
    :ivar operation: the operation name (``"GetPolicy"``).
    :ivar region: the client's region name.
    :ivar attempt: the current HTTP attempt, 1-based; 0 until the first request is created.
    :ivar params: the parameters as the user passed them (do not log them: they may hold secrets).
    :ivar started: :func:`time.monotonic` when the call began.
    :ivar run: the :class:`Run` (paginate or wait) this call belongs to, or None.
    :ivar presigned: True for ``generate_presigned_url`` signings, which send nothing and
        so get no ``before_send``, ``response_received``, ``needs_retry`` or terminal hook.
    :ivar stash: per-call plugin state.
    """

    __slots__ = (
        "_begun",
        "_context",
        "_ended",
        "_plans",
        "_route",
        "operation",
        "params",
        "presigned",
        "region",
        "run",
        "service",
        "service_id",
        "started",
        "stash",
    )

    def __init__(
        self,
        service: str,
        service_id: str,
        operation: str,
        region: str | None,
        params: Mapping[str, Any],
        run: Run | None = None,
        presigned: bool = False,
    ) -> None:
        self.service = service
        self.service_id = service_id
        self.operation = operation
        self.region = region
        self.params = params
        self.run = run
        self.presigned = presigned
        self.started = time.monotonic()
        self._context: dict[str, Any] | None = None
        self._ended = False
        self._begun = False  # botoware_call_start has run
        self._plans: Any = None  # the host's plugin snapshot this call started with
        self._route: Any = None  # its compiled plans for this operation (bridge.events.Route)

    stash: Stash
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached while a slot is unset: the stash is made on first use, so a call
            # no plugin keeps state for never makes one.
            if name == "stash":
                stash = self.stash = Stash()
                return stash
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def attempt(self) -> int:
        """The current HTTP attempt, 1-based; 0 before the first request is created."""
        context = self._context
        retries = context.get("retries") if context is not None else None
        return int(retries["attempt"]) if retries else 0

    @property
    def paginated(self) -> bool:
        """True when the call fetches one page of a ``paginate()`` run."""
        return self.run is not None and self.run.kind == "paginate"

    @property
    def waiter(self) -> str | None:
        """The waiter's name when the call is one poll of ``wait()``, else None."""
        run = self.run
        return run.waiter_name if run is not None and run.kind == "wait" else None

    @property
    def ended(self) -> bool:
        """True once the terminal hook (after_call or after_call_error) has run."""
        return self._ended

    def __repr__(self) -> str:
        return f"<Call {self.service_id}.{self.operation} attempt={self.attempt}>"
