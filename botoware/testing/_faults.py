"""Fault injection at ``before_send``: AWS errors, transport failures and latency per attempt."""

from __future__ import annotations

import abc
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, final

from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from botoware._names import canonical_key
from botoware.errors import ConfigurationError
from botoware.hooks.markers import hookimpl
from botoware.testing._models import ServiceModels
from botoware.testing._wire import WireResponse, protocol_of, wire_error

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from botocore.model import OperationModel

    from botoware.hooks.call import Call

T = TypeVar("T")

Sleep = Callable[[float], object]
"""What :class:`Faults` sleeps with: ``time.sleep`` or a test's fake."""

# The throttling error each service sends, as botocore's retry rules (data/_retry.json and
# retries/standard.py) expect it; other services get their protocol's usual one.
_SERVICE_THROTTLES: dict[str, tuple[str, int]] = {
    "s3": ("SlowDown", 503),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "kinesis": ("ProvisionedThroughputExceededException", 400),
    "lambda": ("TooManyRequestsException", 429),
    "ec2": ("RequestLimitExceeded", 503),
    "sqs": ("RequestThrottled", 403),
}
_PROTOCOL_THROTTLES: dict[str, tuple[str, int]] = {
    "json": ("ThrottlingException", 400),
    "rest-json": ("ThrottlingException", 400),
    "query": ("Throttling", 400),
    "rest-xml": ("Throttling", 400),
    "ec2": ("RequestLimitExceeded", 503),
}


def throttling_error_for(operation_model: OperationModel) -> tuple[str, int]:
    """``(code, HTTP status)`` of the throttling error the operation's service sends."""
    service = operation_model.service_model.service_id.hyphenize()
    found = _SERVICE_THROTTLES.get(service)
    if found is None:
        found = _PROTOCOL_THROTTLES.get(protocol_of(operation_model), ("ThrottlingException", 400))
    return found


class Fault(abc.ABC):
    """One failure injected into one attempt; make them with :func:`throttle` and friends.

    A subclass implements :meth:`inject`, which may return a response, raise a transport
    error, or sleep and return None to let the request through::

        class Teapot(Fault):
            name = "teapot"

            def inject(self, call, request, model, sleep):
                return error_response(model, "Teapot", status_code=418, url=request.url)
    """

    __slots__ = ()

    name: str = "fault"
    """What :attr:`Faults.injected` calls it."""

    @abc.abstractmethod
    def inject(
        self,
        call: Call,
        request: AWSPreparedRequest,
        model: OperationModel,
        sleep: Sleep,
    ) -> AWSResponse | None:
        """Fail this attempt: return a response, raise, or return None to send the request."""

    def __repr__(self) -> str:
        return f"<Fault {self.name}>"


@final
class AWSError(Fault):
    """An AWS error response in the service's own wire format; see :func:`error`."""

    __slots__ = ("_cache", "code", "message", "name", "status_code")

    def __init__(
        self,
        code: str | None,
        status_code: int | None = None,
        message: str = "Injected by botoware.testing",
        name: str = "error",
    ) -> None:
        self.code = code
        self.status_code = status_code
        self.message = message
        self.name = name
        self._cache: dict[OperationModel, WireResponse] = {}

    def wire(self, model: OperationModel) -> WireResponse:
        """The error as bytes for ``model`` (built once per operation)."""
        try:
            return self._cache[model]
        except KeyError:
            pass
        code, status = self.code, self.status_code
        if code is None:
            code, usual = throttling_error_for(model)
            status = usual if status is None else status
        wire = wire_error(model, code, self.message, 400 if status is None else status)
        self._cache[model] = wire
        return wire

    def inject(
        self, call: Call, request: AWSPreparedRequest, model: OperationModel, sleep: Sleep
    ) -> AWSResponse:
        return self.wire(model).respond(request.url)

    def __repr__(self) -> str:
        return f"<Fault {self.name} {self.code or 'throttling'} {self.status_code or ''}>"


@final
class _Raise(Fault):
    __slots__ = ("_make", "name")

    def __init__(self, name: str, make: Callable[[str], Exception]) -> None:
        self.name = name
        self._make = make

    def inject(
        self, call: Call, request: AWSPreparedRequest, model: OperationModel, sleep: Sleep
    ) -> AWSResponse | None:
        raise self._make(request.url)


@final
class _Latency(Fault):
    __slots__ = ("seconds",)

    name = "latency"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def inject(
        self, call: Call, request: AWSPreparedRequest, model: OperationModel, sleep: Sleep
    ) -> AWSResponse | None:
        sleep(self.seconds)
        return None

    def __repr__(self) -> str:
        return f"<Fault latency {self.seconds}s>"


def error(code: str, status: int = 400, message: str = "Injected by botoware.testing") -> AWSError:
    """Any AWS error: ``error("AccessDenied", 403)``; botocore raises ``ClientError``."""
    return AWSError(code, status, message)


def throttle(code: str | None = None, status: int | None = None) -> AWSError:
    """The service's throttling error, which botocore retries.

    By default the code and status the service sends: ``SlowDown`` 503 for S3,
    ``ProvisionedThroughputExceededException`` 400 for DynamoDB, ``TooManyRequestsException``
    429 for Lambda, ``RequestLimitExceeded`` 503 for EC2, ``RequestThrottled`` 403 for SQS,
    else ``ThrottlingException`` (JSON protocols) or ``Throttling`` (XML) with 400.
    """
    return AWSError(code, status, "Rate exceeded", name="throttle")


def server_error(status: int = 500, code: str = "InternalError") -> AWSError:
    """A 5xx error response (botocore retries 500, 502, 503 and 504)."""
    return AWSError(code, status, "We encountered an internal error.", name="server_error")


def connection_error(closed: bool = False) -> Fault:
    """The connection fails: botocore's ``EndpointConnectionError``.

    :param closed: raise ``ConnectionClosedError`` (the server hung up) instead.
    """
    if closed:
        return _Raise("connection_error", lambda url: ConnectionClosedError(endpoint_url=url))
    return _Raise("connection_error", lambda url: EndpointConnectionError(endpoint_url=url))


def read_timeout() -> Fault:
    """The response never comes: botocore's ``ReadTimeoutError`` (without waiting for it)."""
    return _Raise("read_timeout", lambda url: ReadTimeoutError(endpoint_url=url))


def latency(seconds: float) -> Fault:
    """Sleep ``seconds`` (with the :class:`Faults` plugin's ``sleep``), then send the request."""
    return _Latency(seconds)


# -------------------------------------------------------------------------------------------
# Plans: which fault an attempt gets
# -------------------------------------------------------------------------------------------

Rule = Fault | Sequence[Fault | None] | Sequence[tuple[float, Fault]]
"""A rule of :class:`Faults`: one fault for every attempt, one entry per attempt, or
``(probability, fault)`` pairs drawn per attempt."""


class _Plan(abc.ABC):
    __slots__ = ()

    @abc.abstractmethod
    def pick(self, attempt: int, draw: Callable[[], float]) -> Fault | None: ...


@final
class _Always(_Plan):
    __slots__ = ("fault",)

    def __init__(self, fault: Fault) -> None:
        self.fault = fault

    def pick(self, attempt: int, draw: Callable[[], float]) -> Fault | None:
        return self.fault


@final
class _PerAttempt(_Plan):
    __slots__ = ("faults",)

    def __init__(self, faults: Sequence[Fault | None]) -> None:
        self.faults = tuple(faults)

    def pick(self, attempt: int, draw: Callable[[], float]) -> Fault | None:
        return self.faults[attempt - 1] if 0 < attempt <= len(self.faults) else None


@final
class _Chance(_Plan):
    __slots__ = ("bounds",)

    def __init__(self, pairs: Sequence[tuple[float, Fault]]) -> None:
        total = 0.0
        bounds: list[tuple[float, Fault]] = []
        for probability, fault in pairs:
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"probability {probability!r} of {fault!r} is not in [0, 1].")
            total += probability
            bounds.append((total, fault))
        if total > 1.0 + 1e-9:
            raise ValueError(f"the probabilities add up to {total}, more than 1.")
        self.bounds = tuple(bounds)

    def pick(self, attempt: int, draw: Callable[[], float]) -> Fault | None:
        roll = draw()
        for bound, fault in self.bounds:
            if roll < bound:
                return fault
        return None


def _plan(pattern: str, rule: object) -> _Plan:
    if isinstance(rule, Fault):
        return _Always(rule)
    if isinstance(rule, Sequence) and not isinstance(rule, str):
        if all(isinstance(entry, tuple) for entry in rule) and rule:
            pairs = [(float(p), f) for p, f in rule]
            if all(isinstance(f, Fault) for _, f in pairs):
                return _Chance(pairs)
        elif all(entry is None or isinstance(entry, Fault) for entry in rule):
            return _PerAttempt(rule)
    raise TypeError(
        f"Faults rule for {pattern!r} is {rule!r}; use a fault (every attempt), a list of "
        "faults or None (one per attempt), or (probability, fault) pairs."
    )


def check_pattern(pattern: str, owner: str) -> str:
    """``pattern`` with botocore's hyphenized service id; raise if it names nothing.

    Keys are ``"*"``, ``"service"``, ``"service.*"`` or ``"service.Operation"``, checked
    against botocore's models (see :func:`botoware._names.canonical_key`).
    """
    return canonical_key(pattern, f"{owner} key")


def canonical_table(table: Mapping[str, T], owner: str) -> dict[str, T]:
    """``table`` with canonical keys; two keys naming the same thing are an error."""
    result: dict[str, T] = {}
    spelled: dict[str, str] = {}
    for key, value in table.items():
        canonical = check_pattern(key, owner)
        if canonical in result:
            raise ConfigurationError(
                f"{owner} keys {spelled[canonical]!r} and {key!r} both mean {canonical!r}; "
                "keep one."
            )
        result[canonical] = value
        spelled[canonical] = key
    return result


def scope_of(patterns: Sequence[str]) -> tuple[str, ...] | None:
    """The ``botoware_scope`` for these keys (None when ``"*"`` covers everything)."""
    return None if "*" in patterns else tuple(patterns)


def lookup(table: Mapping[str, Any], service: str, operation: str) -> Any:
    """The entry for ``service.Operation``, else ``service.*`` / ``service``, else ``*``."""
    for key in (f"{service}.{operation}", f"{service}.*", service, "*"):
        found = table.get(key)
        if found is not None:
            return found
    return None


class Injection(NamedTuple):
    """One injected fault: ``("s3", "ListBuckets", 1, "throttle")``."""

    service: str
    operation: str
    attempt: int
    fault: str


@final
class Faults:
    """A plugin that fails chosen attempts at ``before_send``; botocore retries them as usual.

    Keys are ``"service.Operation"``, ``"service.*"`` or ``"*"`` (the most specific wins),
    checked against botocore's models (a boto3 client name means its service id);
    a rule is a list with one entry per attempt of **each call** (None lets the attempt
    through; attempts past the end go through), a single fault for every attempt, or
    ``(probability, fault)`` pairs drawn per attempt from a ``random.Random(seed)``::

        faults = Faults({"s3.ListBuckets": [throttle(), server_error(503), None]})
        with botoware.install(session, plugins=[faults], autoload=False):
            s3.list_buckets()  # three attempts, the third succeeds
        assert [i.fault for i in faults.injected] == ["throttle", "server_error"]

        flaky = Faults.random({"sqs.*": [(0.2, throttle()), (0.1, connection_error())]}, seed=7)

    Its ``before_send`` runs first (``tryfirst``), so a :class:`Canned` answer only serves
    attempts that no fault took. Draws are reproducible for a given seed and order of
    attempts (with several threads the order is theirs).

    :param seed: seeds the draws of probability rules.
    :param sleep: what :func:`latency` sleeps with (a test passes a fake).
    :param name: the plugin name (``"faults"``); give a second instance its own.
    """

    def __init__(
        self,
        rules: Mapping[str, Rule],
        *,
        seed: int | None = None,
        sleep: Sleep = time.sleep,
        name: str = "faults",
    ) -> None:
        plans: dict[str, _Plan] = {}
        for pattern, rule in canonical_table(rules, "Faults").items():
            plans[pattern] = _plan(pattern, rule)
        self._plans = plans
        self._resolved: dict[tuple[str, str], _Plan | None] = {}
        self._random = random.Random(seed)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._injected: list[Injection] = []
        self._models = ServiceModels()
        self.botoware_name = name
        self.botoware_scope = scope_of(list(plans))

    @classmethod
    def random(
        cls,
        rules: Mapping[str, Sequence[tuple[float, Fault]]],
        *,
        seed: int | None = None,
        sleep: Sleep = time.sleep,
        name: str = "faults",
    ) -> Faults:
        """Faults drawn per attempt: ``{"sqs.*": [(0.2, throttle())]}`` throttles ~20%."""
        for pattern, pairs in canonical_table(rules, "Faults").items():
            if not isinstance(_plan(pattern, pairs), _Chance):
                raise TypeError(f"Faults.random rule for {pattern!r} needs (probability, fault).")
        return cls(rules, seed=seed, sleep=sleep, name=name)

    @property
    def injected(self) -> list[Injection]:
        """A copy of what was injected so far, in order."""
        with self._lock:
            return list(self._injected)

    def count(self, fault: str | None = None) -> int:
        """How many faults (named ``fault``, or all) were injected."""
        with self._lock:
            return sum(1 for i in self._injected if fault is None or i.fault == fault)

    def clear(self) -> None:
        """Forget what was injected (the seeded draws go on)."""
        with self._lock:
            self._injected.clear()

    def _draw(self) -> float:
        with self._lock:
            return self._random.random()

    def botoware_client_created(self, client: Any) -> None:
        self._models.remember(client)

    @hookimpl(tryfirst=True)
    def botoware_before_send(self, call: Call, request: AWSPreparedRequest) -> AWSResponse | None:
        key = (call.service, call.operation)
        try:
            plan = self._resolved[key]
        except KeyError:
            plan = self._resolved[key] = lookup(self._plans, *key)
        if plan is None:
            return None
        attempt = call.attempt
        fault = plan.pick(attempt, self._draw)
        if fault is None:
            return None
        with self._lock:
            self._injected.append(Injection(call.service, call.operation, attempt, fault.name))
        return fault.inject(call, request, self._models.operation(call), self._sleep)

    def __repr__(self) -> str:
        return f"<Faults {sorted(self._plans)} injected={len(self._injected)}>"
