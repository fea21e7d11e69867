"""Recorder: a plugin that writes down every hook call, for assertions."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple, final

from botoware.hooks.markers import hookimpl

if TYPE_CHECKING:
    from botoware.hooks.call import Call, Run

_Wrap = Generator[None, Any, Any]
TERMINAL_HOOKS = ("after_call", "after_call_error")


class Event(NamedTuple):
    """One hook call: ``("after_call", "s3", "ListBuckets", 1)``.

    :ivar hook: the hook name without ``botoware_`` (``"before_send"``, ``"run_start"``).
    :ivar service: botocore's hyphenized service id (``"s3"``).
    :ivar operation: the operation; ``""`` for ``client_created``.
    :ivar attempt: ``call.attempt`` when the hook ran (0 before the first request, and for
        run and client hooks).
    """

    hook: str
    service: str
    operation: str
    attempt: int


@final
class Recorder:
    """Records ``(hook, service, operation, attempt)`` for every hook, in order, thread-safely.

    ::

        recorder = Recorder()
        with botoware.install(session, plugins=[recorder], autoload=False):
            session.client("s3").list_buckets()
        assert recorder.hooks("ListBuckets")[-1] == "after_call"
        assert recorder.terminals("ListBuckets") == 1

    Its hooks are pluggy wrappers, so it sees every hook even when another plugin answers a
    decision hook first (a :class:`Canned` or :class:`Faults` answer at ``before_send``).
    It records no parameters; :attr:`calls` keeps the :class:`botoware.Call` objects, which
    reference the parameters the user passed until :meth:`clear`.
    """

    __slots__ = ("_calls", "_events", "_lock", "botoware_name")

    def __init__(self, name: str = "recorder") -> None:
        """:param name: the plugin name; give a second recorder in one session its own."""
        self.botoware_name = name
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._calls: dict[Call, None] = {}

    # ---- reading --------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """A copy of the events so far."""
        with self._lock:
            return list(self._events)

    @property
    def calls(self) -> list[Call]:
        """The distinct calls seen, in the order of their first hook."""
        with self._lock:
            return list(self._calls)

    def hooks(self, operation: str | None = None) -> list[str]:
        """The hook names recorded, for one operation or all."""
        return [e.hook for e in self.events if operation is None or e.operation == operation]

    def count(self, hook: str, operation: str | None = None) -> int:
        """How often ``hook`` (without ``botoware_``) ran, for one operation or all."""
        return sum(1 for name in self.hooks(operation) if name == hook)

    def terminals(self, operation: str | None = None) -> int:
        """How many calls ended (``after_call`` plus ``after_call_error``)."""
        return sum(1 for name in self.hooks(operation) if name in TERMINAL_HOOKS)

    def attempts(self, operation: str | None = None) -> list[int]:
        """The attempt numbers of the ``before_send`` hooks, in order (``[1, 2, 3]``)."""
        return [
            e.attempt
            for e in self.events
            if e.hook == "before_send" and (operation is None or e.operation == operation)
        ]

    def clear(self) -> None:
        """Forget every event and call."""
        with self._lock:
            self._events.clear()
            self._calls.clear()

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"<Recorder events={len(self._events)} calls={len(self._calls)}>"

    # ---- recording ------------------------------------------------------------------

    def _call(self, hook: str, call: Call) -> None:
        event = Event(hook, call.service, call.operation, call.attempt)
        with self._lock:
            self._events.append(event)
            self._calls[call] = None

    def _other(self, hook: str, service: str, operation: str) -> None:
        with self._lock:
            self._events.append(Event(hook, service, operation, 0))

    @hookimpl(wrapper=True)
    def botoware_client_created(self, client: Any) -> _Wrap:
        self._other("client_created", client.meta.service_model.service_id.hyphenize(), "")
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_run_start(self, run: Run) -> _Wrap:
        self._other("run_start", run.service, run.operation)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_run_end(self, run: Run) -> _Wrap:
        self._other("run_end", run.service, run.operation)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_provide_client_params(self, call: Call) -> _Wrap:
        self._call("provide_client_params", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_before_parameter_build(self, call: Call) -> _Wrap:
        self._call("before_parameter_build", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_before_call(self, call: Call) -> _Wrap:
        self._call("before_call", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_choose_signer(self, call: Call) -> _Wrap:
        self._call("choose_signer", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_before_sign(self, call: Call) -> _Wrap:
        self._call("before_sign", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_request_created(self, call: Call) -> _Wrap:
        self._call("request_created", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_before_send(self, call: Call) -> _Wrap:
        self._call("before_send", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_response_received(self, call: Call) -> _Wrap:
        self._call("response_received", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_needs_retry(self, call: Call) -> _Wrap:
        self._call("needs_retry", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_after_call(self, call: Call) -> _Wrap:
        self._call("after_call", call)
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_after_call_error(self, call: Call) -> _Wrap:
        self._call("after_call_error", call)
        return (yield)
