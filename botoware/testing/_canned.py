"""Canned: answer chosen operations at ``before_send`` with wire-format responses."""

from __future__ import annotations

import difflib
import pprint
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from botocore.awsrequest import AWSResponse

from botoware.hooks.call import StashKey
from botoware.testing._faults import Fault, canonical_table, lookup, scope_of
from botoware.testing._models import ServiceModels
from botoware.testing._wire import WireResponse, wire_response

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest

    from botoware.hooks.call import Call

Answer = (
    Mapping[str, Any]
    | AWSResponse
    | Fault
    | Callable[["Call"], "Mapping[str, Any] | AWSResponse | Fault | None"]
)
"""What :class:`Canned` answers with: parsed-shaped data, a response, a fault, or a function
of the :class:`botoware.Call` returning one of those (None: no answer)."""


class UnansweredCall(AssertionError):
    """A :class:`Canned` answer function returned None, or a queue of answers ran out, and
    ``passthrough`` is off."""


class UnexpectedParams(AssertionError):
    """A call's parameters differ from a :func:`reply`'s ``expected_params``."""


@final
class Reply:
    """An answer that also checks the call's parameters; make one with :func:`reply`."""

    __slots__ = ("answer", "expected_params")

    def __init__(self, answer: Answer, expected_params: Mapping[str, Any] | None) -> None:
        self.answer = answer
        self.expected_params = None if expected_params is None else dict(expected_params)

    def __repr__(self) -> str:
        return f"<Reply {self.answer!r} expected_params={self.expected_params!r}>"


def reply(answer: Answer, expected_params: Mapping[str, Any] | None = None) -> Reply:
    """``answer``, served only to a call whose parameters equal ``expected_params``.

    Like ``Stubber.add_response(method, response, expected_params)``: the parameters are
    the ones the user passed (before botocore adds defaults such as idempotency tokens), and
    ``unittest.mock.ANY`` matches any value. A mismatch fails the attempt with
    :class:`UnexpectedParams` and a key-by-key diff.
    """
    return Reply(answer, expected_params)


_USER_PARAMS = StashKey[dict[str, Any]]()


@final
class _Queue:
    """Answers served one per attempt, in order (a list in :class:`Canned`)."""

    __slots__ = ("items", "served")

    def __init__(self, items: Sequence[Answer | Reply]) -> None:
        self.items = tuple(items)
        self.served = 0


@final
class Canned:
    """A plugin that answers operations at ``before_send``, like httpx's ``MockTransport``.

    Real clients still validate, serialize, sign, retry, parse and run every hook; only
    the HTTP exchange is replaced. Keys are ``"service.Operation"`` with botocore's
    hyphenized service id (``"service.*"`` and ``"*"`` also work, the most specific wins);
    other calls never reach the plugin and are sent normally::

        canned = Canned({
            "sqs.GetQueueAttributes": {"Attributes": {"VisibilityTimeout": "30"}},
            "s3.GetObject": error("NoSuchKey", 404),
            "lambda.GetPolicy": lambda call: {"Policy": "{}", "RevisionId": call.operation},
        })
        with botoware.install(session, plugins=[canned], autoload=False):
            sqs.get_queue_attributes(QueueUrl=url)["Attributes"]  # {"VisibilityTimeout": "30"}

    A list is a queue, as with ``Stubber``: each attempt takes the next answer (a retried
    attempt takes the one after, as from a real server); once it is used up, the attempt
    fails with :class:`UnansweredCall` (or is sent, with ``passthrough``).
    :func:`reply` adds expected parameters; :meth:`assert_all_used` checks every queued
    answer was taken. Keys are checked against botocore's models (a boto3 client name such
    as ``"secretsmanager"`` means its service id ``"secrets-manager"``).

    A constant dict or response is serialized once per operation; each call then costs one
    lookup and one ``AWSResponse``. A function is called per attempt with the call; when
    it returns None the request is sent normally if ``passthrough`` is true, else the
    attempt fails with :class:`UnansweredCall`.

    :param passthrough: send the request when an answer function returns None.
    :param name: the plugin name (``"canned"``); give a second instance its own.
    :ivar answered: how many attempts each ``"service.Operation"`` was answered.
    """

    def __init__(
        self,
        answers: Mapping[str, Answer | Reply | Sequence[Answer | Reply]],
        *,
        passthrough: bool = False,
        name: str = "canned",
    ) -> None:
        table: dict[str, Any] = {}
        for key, answer in canonical_table(answers, "Canned").items():
            if isinstance(answer, Sequence) and not isinstance(answer, (str, bytes)):
                if not answer:
                    raise ValueError(f"Canned key {key!r} has an empty list of answers.")
                table[key] = _Queue(answer)
            else:
                table[key] = answer
        self._answers = table
        self._passthrough = passthrough
        self._models = ServiceModels()
        self._wires: dict[tuple[str, str], tuple[WireResponse, str]] = {}
        self._found: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._expects = any(
            isinstance(item, Reply)
            for answer in table.values()
            for item in (answer.items if isinstance(answer, _Queue) else (answer,))
        )
        self.answered: Counter[str] = Counter()
        self.botoware_name = name
        self.botoware_scope = scope_of(list(table))

    def assert_all_used(self) -> None:
        """Raise AssertionError naming every queued answer no attempt took."""
        unused = self.unused
        if unused:
            lines = [f"  {key}: {count} of {total} left" for key, (count, total) in unused.items()]
            raise AssertionError("Canned answers never used:\n" + "\n".join(lines))

    @property
    def unused(self) -> dict[str, tuple[int, int]]:
        """``{"service.Operation": (left, queued)}`` for each queue not used up."""
        with self._lock:
            return {
                key: (len(answer.items) - answer.served, len(answer.items))
                for key, answer in self._answers.items()
                if isinstance(answer, _Queue) and answer.served < len(answer.items)
            }

    def botoware_client_created(self, client: Any) -> None:
        self._models.remember(client)

    def botoware_provide_client_params(self, call: Call, params: Mapping[str, Any]) -> None:
        # Expected parameters are compared with what the user passed, before botocore's
        # own handlers add defaults (idempotency tokens, S3's EncodingType).
        if self._expects and not call.presigned:
            call.stash[_USER_PARAMS] = dict(params)

    def botoware_before_send(self, call: Call, request: AWSPreparedRequest) -> AWSResponse | None:
        key = (call.service, call.operation)
        found = self._wires.get(key)
        if found is None:
            found = self._constant(call, key)
            if found is None:
                return self._dynamic(call, request, key)
        wire, label = found
        with self._lock:
            self.answered[label] += 1
        return wire.respond(request.url)

    def _answer(self, key: tuple[str, str]) -> Any:
        try:
            return self._found[key]
        except KeyError:
            found = lookup(self._answers, *key)
            self._found[key] = found
            return found

    def _constant(self, call: Call, key: tuple[str, str]) -> tuple[WireResponse, str] | None:
        answer = self._answer(key)
        if isinstance(answer, AWSResponse):
            wire = WireResponse(answer.status_code, dict(answer.headers), answer.content)
        elif isinstance(answer, Mapping):
            wire = wire_response(self._models.operation(call), answer)
        else:
            return None
        found = self._wires[key] = (wire, f"{call.service}.{call.operation}")
        return found

    def _dynamic(
        self, call: Call, request: AWSPreparedRequest, key: tuple[str, str]
    ) -> AWSResponse | None:
        answer = self._answer(key)
        if answer is None:
            return None
        if isinstance(answer, _Queue):
            answer = self._next(call, answer)
            if answer is None:
                return None
        if isinstance(answer, Reply):
            _check_params(call, answer.expected_params)
            answer = answer.answer
        result: object = answer
        if callable(answer) and not isinstance(answer, (Fault, AWSResponse, Mapping)):
            result = answer(call)
        if result is None:
            if self._passthrough:
                return None
            raise UnansweredCall(
                f"the Canned answer for {call.service}.{call.operation} returned None; "
                "return data, or pass passthrough=True to send such calls."
            )
        model = self._models.operation(call)
        if isinstance(result, Fault):
            response = result.inject(call, request, model, _no_sleep)
            if response is None:
                return None
        elif isinstance(result, AWSResponse):
            response = result
        elif isinstance(result, Mapping):
            response = wire_response(model, result).respond(request.url)
        else:
            raise TypeError(
                f"the Canned answer for {call.service}.{call.operation} returned {result!r}; "
                "return a dict, an AWSResponse, a fault or None."
            )
        with self._lock:
            self.answered[f"{call.service}.{call.operation}"] += 1
        return response

    def _next(self, call: Call, queue: _Queue) -> Answer | Reply | None:
        with self._lock:
            served = queue.served
            if served < len(queue.items):
                queue.served += 1
                return queue.items[served]
        if self._passthrough:
            return None
        raise UnansweredCall(
            f"the {len(queue.items)} queued Canned answers for {call.service}.{call.operation} "
            f"are used up (attempt {call.attempt} of this call wants one more); queue another, "
            "or pass passthrough=True to send such calls."
        )

    def __repr__(self) -> str:
        return f"<Canned {sorted(self._answers)}>"


def _check_params(call: Call, expected: Mapping[str, Any] | None) -> None:
    if expected is None:
        return
    actual = call.stash.get(_USER_PARAMS, None)
    if actual is None:
        actual = dict(call.params)
    if expected == actual:
        return
    lines: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            lines.append(f"  {name}: expected {expected[name]!r}, not passed")
        elif name not in expected:
            lines.append(f"  {name}: passed {actual[name]!r}, not expected")
        elif expected[name] != actual[name]:
            lines.append(f"  {name}: expected {expected[name]!r}, passed {actual[name]!r}")
    diff = difflib.ndiff(
        pprint.pformat(expected, width=60).splitlines(),
        pprint.pformat(actual, width=60).splitlines(),
    )
    raise UnexpectedParams(
        f"{call.service}.{call.operation} was called with other parameters than expected:\n"
        + "\n".join(lines)
        + "\n(- expected, + passed)\n"
        + "\n".join(line for line in diff if not line.startswith("?"))
    )


def _no_sleep(seconds: float) -> None:
    """Canned answers take no time; a ``latency`` fault among them is a no-op."""
