"""Recorder: a plugin that writes down every hook call, for assertions."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, final

from botoware.hooks.markers import hookimpl
from botoware.testing._faults import canonical_table

if TYPE_CHECKING:
    from botoware.hooks.call import Call, Run

_Wrap = Generator[None, Any, Any]
TERMINAL_HOOKS = ("after_call", "after_call_error")


class _Fields(NamedTuple):
    hook: str
    service: str
    operation: str
    attempt: int


class Event(_Fields):
    """One hook call: ``("after_call", "s3", "ListBuckets", 1)``.

    It compares equal to that 4-tuple; :attr:`params` and :attr:`error` are attributes
    outside the tuple, so assertions on the tuple stay short.

    :ivar hook: the hook name without ``botoware_`` (``"before_send"``, ``"run_start"``).
    :ivar service: botocore's hyphenized service id (``"s3"``).
    :ivar operation: the operation; ``""`` for ``client_created``.
    :ivar attempt: ``call.attempt`` when the hook ran (0 before the first request, and for
        run and client hooks).
    :ivar params: the call's parameters (``call.params``: the user's dict, to which
        botocore's handlers may add defaults), None for run and client hooks.
    :ivar error: the AWS error code (``"NoSuchKey"``) or exception class name
        (``"EndpointConnectionError"``) the hook saw, else None; set for
        ``response_received``, ``needs_retry``, ``after_call`` and ``after_call_error``.
    """

    params: Mapping[str, Any] | None = None
    error: str | None = None

    def __new__(
        cls,
        hook: str,
        service: str,
        operation: str,
        attempt: int,
        params: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Event:
        event = super().__new__(cls, hook, service, operation, attempt)
        event.params = params
        event.error = error
        return event


def _code(parsed: Any) -> str | None:
    if isinstance(parsed, Mapping):
        found = parsed.get("Error")
        if isinstance(found, Mapping) and found.get("Code"):
            return str(found["Code"])
    return None


def _exception_code(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    return _code(getattr(exception, "response", None)) or type(exception).__name__


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
    Each event references the call's parameters (:attr:`Event.params`) and carries the error
    code the hook saw (:attr:`Event.error`); :meth:`assert_calls` checks the calls that
    ended, in order. Events and :attr:`calls` keep references until :meth:`clear`.
    """

    __slots__ = ("_calls", "_events", "_lock", "_only", "botoware_name", "botoware_scope")

    def __init__(self, name: str = "recorder", *, only: Iterable[str] | None = None) -> None:
        """:param name: the plugin name; give a second recorder in one session its own.
        :param only: record only these keys (``"s3.*"``, ``"sqs.SendMessage"``), checked
            against botocore's models like :class:`Canned`'s.
        """
        self.botoware_name = name
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._calls: dict[Call, None] = {}
        if isinstance(only, str):
            only = [only]
        keys = list(canonical_table(dict.fromkeys(only), "Recorder only")) if only else []
        self._only = None if not keys or "*" in keys else frozenset(keys)
        self.botoware_scope = None if self._only is None else tuple(sorted(self._only))

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

    def errors(self, hook: str = "after_call") -> list[str | None]:
        """The error code of each ``hook`` event, in order (None where there was none)."""
        return [e.error for e in self.events if e.hook == hook]

    def ended(self) -> list[tuple[str, str | None]]:
        """``("service.Operation", error code or None)`` of each call that ended, in order."""
        return [
            (f"{e.service}.{e.operation}", e.error) for e in self.events if e.hook in TERMINAL_HOOKS
        ]

    def assert_calls(self, expected: Sequence[str | tuple[str, str | None]]) -> None:
        """Assert which calls ended, in order, with a diff on failure.

        An entry is ``"service.Operation"`` (the call succeeded) or ``("service.Operation",
        "ErrorCode")`` (it failed with that code, or exception class name)::

            recorder.assert_calls(["s3.CreateBucket", ("s3.GetObject", "NoSuchKey")])
        """
        wanted = [(item, None) if isinstance(item, str) else tuple(item) for item in expected]
        actual = self.ended()
        if wanted == actual:
            return

        def show(items: Iterable[tuple[Any, ...]]) -> list[str]:
            return [name if error is None else f"{name} -> {error}" for name, error in items]

        diff = difflib.unified_diff(show(wanted), show(actual), "expected", "recorded", lineterm="")
        raise AssertionError("the calls that ended differ:\n" + "\n".join(diff))

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

    def _call(self, hook: str, call: Call, error: str | None = None) -> None:
        event = Event(hook, call.service, call.operation, call.attempt, call.params, error)
        with self._lock:
            self._events.append(event)
            self._calls[call] = None

    def _other(self, hook: str, service: str, operation: str) -> None:
        only = self._only
        if only is not None:
            # A client hook has no operation: it counts for any key of its service.
            names = {service, f"{service}.*", f"{service}.{operation}"}
            if not (
                names & only or (not operation and any(k.split(".")[0] == service for k in only))
            ):
                return
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
    def botoware_response_received(
        self, call: Call, parsed_response: Any, exception: BaseException | None
    ) -> _Wrap:
        self._call("response_received", call, _code(parsed_response) or _exception_code(exception))
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_needs_retry(
        self, call: Call, response: Any, caught_exception: BaseException | None
    ) -> _Wrap:
        parsed = response[1] if isinstance(response, tuple) else None
        self._call("needs_retry", call, _code(parsed) or _exception_code(caught_exception))
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_after_call(self, call: Call, parsed: Any) -> _Wrap:
        self._call("after_call", call, _code(parsed))
        return (yield)

    @hookimpl(wrapper=True)
    def botoware_after_call_error(self, call: Call, exception: BaseException) -> _Wrap:
        self._call("after_call_error", call, _exception_code(exception))
        return (yield)
