"""Canned: answer chosen operations at ``before_send`` with wire-format responses."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, final

from botocore.awsrequest import AWSResponse

from botoware.testing._faults import Fault, check_pattern, lookup, scope_of
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
    """A :class:`Canned` answer function returned None and ``passthrough`` is off."""


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

    A constant dict or response is serialized once per operation; each call then costs one
    lookup and one ``AWSResponse``. A function is called per attempt with the call; when
    it returns None the request is sent normally if ``passthrough`` is true, else the
    attempt fails with :class:`UnansweredCall`.

    :param passthrough: send the request when an answer function returns None.
    :param name: the plugin name (``"canned"``); give a second instance its own.
    :ivar answered: how many attempts each ``"service.Operation"`` was answered.
    """

    def __init__(
        self, answers: Mapping[str, Answer], *, passthrough: bool = False, name: str = "canned"
    ) -> None:
        for key in answers:
            check_pattern(key, "Canned")
        self._answers = dict(answers)
        self._passthrough = passthrough
        self._models = ServiceModels()
        self._wires: dict[tuple[str, str], tuple[WireResponse, str]] = {}
        self._found: dict[tuple[str, str], Answer | None] = {}
        self._lock = threading.Lock()
        self.answered: Counter[str] = Counter()
        self.botoware_name = name
        self.botoware_scope = scope_of(list(answers))

    def botoware_client_created(self, client: Any) -> None:
        self._models.remember(client)

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

    def _answer(self, key: tuple[str, str]) -> Answer | None:
        try:
            return self._found[key]
        except KeyError:
            found: Answer | None = lookup(self._answers, *key)
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

    def __repr__(self) -> str:
        return f"<Canned {sorted(self._answers)}>"


def _no_sleep(seconds: float) -> None:
    """Canned answers take no time; a ``latency`` fault among them is a no-op."""
