"""Retry policies: the ``"retry"`` built-in plugin.

botocore retries with one of three fixed modes. With this plugin installed, a
:class:`RetryPolicy` decides instead, for every client of the session::

    policy = RetryPolicy(
        max_attempts=4,
        backoff="decorrelated",
        retry_codes={"TransactionConflict"},
        no_retry_codes={"RequestLimitExceeded"},
        breaker=CircuitBreaker(failure_threshold=5, cooldown=30),
        overrides={"dynamodb": RetryPolicy(max_attempts=6), "s3.GetObject": RetryPolicy(cap=2)},
    )
    with botoware.install(session, plugins=[RetryPlugin(policy)], autoload=False):
        ...

While the plugin is installed the host takes botocore's own retry handler off the covered
clients, so nothing retries twice or spends botocore's retry quota; uninstalling gives it back.

Every delay the policy picks is stored on the call under :data:`RETRY_DELAY` and, when a
failed attempt is not retried, the reason under :data:`RETRY_STOPPED`, for tracing and metrics.
"""

from __future__ import annotations

import logging
import math
import random as _random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, final

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import ConnectTimeoutError, HTTPClientError, ReadTimeoutError

from botoware._names import canonical_key
from botoware.errors import BotowareError, ConfigurationError
from botoware.hooks.call import StashKey
from botoware.hooks.markers import hookimpl
from botoware.hooks.specs import NO_RETRY, NoRetry

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from botocore.model import OperationModel

    from botoware.hooks.call import Call

__all__ = [
    "DEFAULT_RETRY_CODES",
    "DEFAULT_RETRY_STATUSES",
    "RETRY_DELAY",
    "RETRY_STOPPED",
    "CircuitBreaker",
    "CircuitOpenError",
    "RetryBudget",
    "RetryPlugin",
    "RetryPolicy",
    "plugin",
]

logger = logging.getLogger(__name__)

THROTTLING_CODES: frozenset[str] = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES: frozenset[str] = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
DEFAULT_RETRY_CODES: frozenset[str] = THROTTLING_CODES | TRANSIENT_CODES
"""Error codes retried by default: botocore standard mode's throttling and transient codes."""

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses retried by default, whatever the error code (unless the code is removed)."""

RETRY_DELAY = StashKey[float]()
"""``call.stash[RETRY_DELAY]``: seconds the policy chose to wait before the next attempt.

Set in ``botoware_needs_retry`` each time an attempt is retried, so the hooks of attempt
``n + 1`` (``request_created``, ``before_send``, ...) read the delay that preceded it.
"""

RETRY_STOPPED = StashKey[str]()
"""``call.stash[RETRY_STOPPED]``: why a failed attempt was not retried.

One of ``"not-retryable"`` (the policy does not retry this transport error),
``"max-attempts"``, ``"budget"`` (the client's retry budget is empty) or ``"circuit-open"``.
Absent when the call succeeded or failed with an error the policy never retries (a 404).
"""

_PROBE = StashKey[bool]()  # the call holds its breaker's half-open probe
_PROBED = StashKey[bool]()  # the probe's outcome has been recorded
_BUCKET = StashKey["_TokenBucket"]()
_SPENT = StashKey[int]()

_Backoff = Literal["full", "decorrelated"]
_BACKOFFS = ("full", "decorrelated")
_CONNECTION, _READ_TIMEOUT, _ERROR = "connection", "read-timeout", "error"


def _is_number(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@final
@dataclass(frozen=True, slots=True)
class RetryBudget:
    """A token bucket per client, like botocore standard mode's retry quota.

    Each retry takes tokens from the bucket of the client that makes it; when the bucket
    cannot pay, the call fails instead of retrying, so a failing dependency does not
    multiply the load. Successful calls put tokens back.

    :ivar capacity: tokens in a full bucket (and at the start).
    :ivar retry_cost: tokens one retry after an error response or connection error takes.
    :ivar timeout_cost: tokens one retry after a connect or read timeout takes.
    :ivar success_refill: tokens a call that succeeds at its first attempt puts back. A
        call that succeeds after retrying puts back what its last retry took.
    """

    capacity: int = 500
    retry_cost: int = 5
    timeout_cost: int = 10
    success_refill: int = 1

    def __post_init__(self) -> None:
        for name in ("capacity", "retry_cost", "timeout_cost", "success_refill"):
            value = getattr(self, name)
            if not _is_count(value) or value < 0:
                raise ConfigurationError(
                    f"RetryBudget({name}={value!r}): use a whole number of tokens >= 0."
                )
        if self.capacity < 1:
            raise ConfigurationError(
                f"RetryBudget(capacity={self.capacity!r}): a bucket needs at least 1 token; "
                "use RetryPolicy(budget=None) for no budget."
            )


@final
@dataclass(frozen=True, slots=True)
class CircuitBreaker:
    """Fail fast while a service in a region keeps failing.

    After ``failure_threshold`` consecutive failed attempts to one (service, region) the
    circuit opens: calls raise :class:`CircuitOpenError` at once, without a request. After
    ``cooldown`` seconds one call goes through as a probe (its first attempt only): if it
    gets an answer the circuit closes, if it fails the circuit opens for another cool-down.

    A failed attempt is one that ends in a transport error or an error response the policy
    counts as retryable (throttling, 5xx, the codes of :attr:`RetryPolicy.retry_codes`); any
    other answer, a 404 included, shows the service is up and resets the count.

    :ivar failure_threshold: consecutive failed attempts that open the circuit.
    :ivar cooldown: seconds the circuit stays open before a probe is let through.
    """

    failure_threshold: int = 5
    cooldown: float = 30.0

    def __post_init__(self) -> None:
        if not _is_count(self.failure_threshold) or self.failure_threshold < 1:
            raise ConfigurationError(
                f"CircuitBreaker(failure_threshold={self.failure_threshold!r}): "
                "use a whole number of failures >= 1."
            )
        if not _is_number(self.cooldown) or self.cooldown <= 0:
            raise ConfigurationError(
                f"CircuitBreaker(cooldown={self.cooldown!r}): use a number of seconds > 0."
            )


@final
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed attempts are retried. Validated when built; immutable afterwards.

    :ivar max_attempts: attempts in all, the first one included (1 turns retries off).
    :ivar backoff: ``"full"`` jitter, a delay drawn from ``[0, min(cap, base * 2**(n-1))]``
        before attempt ``n + 1``; or ``"decorrelated"`` jitter, drawn from
        ``[base, 3 * previous delay]`` and capped (see the AWS Architecture Blog,
        "Exponential Backoff And Jitter").
    :ivar base: seconds; the scale of the first delay.
    :ivar cap: seconds; no delay is longer.
    :ivar retry_codes: error codes retried on top of :data:`DEFAULT_RETRY_CODES`.
    :ivar no_retry_codes: error codes never retried, whatever their status; they are removed
        from the defaults and win over :attr:`retry_statuses` and the service model.
    :ivar retry_statuses: HTTP statuses retried whatever the error code.
    :ivar connection_errors: retry when no response arrived: connection refused or reset,
        connect timeout, DNS failure.
    :ivar read_timeouts: retry after a read timeout. The request may have been processed,
        so turn this off for operations that must not run twice.
    :ivar budget: the per-client :class:`RetryBudget`, or None for no budget.
    :ivar breaker: a :class:`CircuitBreaker` per (service, region), or None.
    :ivar overrides: policies for one service (``"dynamodb"``) or one operation
        (``"s3.GetObject"``), keyed with botocore's hyphenized service id as in
        ``botoware_scope``. The most specific key wins and replaces the whole policy; build
        one from another with ``dataclasses.replace(policy, max_attempts=5)``. The budget
        and breaker belong to the client and to (service, region), so they come from the
        service's policy; an operation override leaves them at their defaults or the same
        as its service's.

    Errors the service model marks retryable are retried too. Beyond that, an error response
    is retried when its code is in ``DEFAULT_RETRY_CODES | retry_codes`` or its status in
    ``retry_statuses``, and its code is not in ``no_retry_codes``.
    """

    max_attempts: int = 3
    backoff: _Backoff = "full"
    base: float = 0.1
    cap: float = 20.0
    retry_codes: AbstractSet[str] = frozenset()
    no_retry_codes: AbstractSet[str] = frozenset()
    retry_statuses: AbstractSet[int] = DEFAULT_RETRY_STATUSES
    connection_errors: bool = True
    read_timeouts: bool = True
    budget: RetryBudget | None = field(default_factory=RetryBudget)
    breaker: CircuitBreaker | None = None
    # Left out of hash(): a read-only mapping is not hashable, and equal policies stay equal.
    overrides: Mapping[str, RetryPolicy] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _is_count(self.max_attempts) or self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy(max_attempts={self.max_attempts!r}): use a whole number >= 1 "
                "(attempts in all, the first one included)."
            )
        if self.backoff not in _BACKOFFS:
            raise ConfigurationError(
                f"RetryPolicy(backoff={self.backoff!r}): use 'full' or 'decorrelated'."
            )
        if not _is_number(self.base) or self.base <= 0:
            raise ConfigurationError(
                f"RetryPolicy(base={self.base!r}): use a number of seconds > 0."
            )
        if not _is_number(self.cap) or self.cap < self.base:
            raise ConfigurationError(
                f"RetryPolicy(cap={self.cap!r}): use a number of seconds >= base ({self.base})."
            )
        added = _codes("retry_codes", self.retry_codes)
        removed = _codes("no_retry_codes", self.no_retry_codes)
        both = added & removed
        if both:
            raise ConfigurationError(
                f"RetryPolicy: {', '.join(sorted(both))} is both in retry_codes and "
                "no_retry_codes; keep it in one of them."
            )
        statuses = _statuses(self.retry_statuses)
        for name in ("connection_errors", "read_timeouts"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(
                    f"RetryPolicy({name}={getattr(self, name)!r}): use True or False."
                )
        if self.budget is not None and not isinstance(self.budget, RetryBudget):
            raise ConfigurationError(
                f"RetryPolicy(budget={self.budget!r}): use a RetryBudget(...) or None."
            )
        if self.breaker is not None and not isinstance(self.breaker, CircuitBreaker):
            raise ConfigurationError(
                f"RetryPolicy(breaker={self.breaker!r}): use a CircuitBreaker(...) or None."
            )
        set_ = object.__setattr__
        set_(self, "retry_codes", added)
        set_(self, "no_retry_codes", removed)
        set_(self, "retry_statuses", statuses)
        set_(self, "overrides", MappingProxyType(_overrides(self)))

    # ---- what the plugin asks ---------------------------------------------------------

    def for_operation(self, service: str, operation: str) -> RetryPolicy:
        """The policy that decides retries of one operation (``"s3"``, ``"GetObject"``)."""
        overrides = self.overrides
        return overrides.get(f"{service}.{operation}") or overrides.get(service) or self

    def for_service(self, service: str) -> RetryPolicy:
        """The policy whose budget and breaker apply to one service."""
        return self.overrides.get(service) or self

    def is_retryable_error(self, code: str | None, status: int, operation: Any = None) -> bool:
        """Whether an error response with this code and HTTP status is worth another attempt.

        :param operation: botocore's ``OperationModel``, to honour errors the service model
            marks ``retryable``; optional.
        """
        if code is not None and code in self.no_retry_codes:
            return False
        if code is not None and (code in DEFAULT_RETRY_CODES or code in self.retry_codes):
            return True
        if status in self.retry_statuses:
            return True
        return code is not None and _modeled_retryable(operation, code)

    def delay(self, attempt: int, rng: _random.Random, previous: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based).

        :param rng: the source of jitter (seeded in tests).
        :param previous: the delay before this attempt, for decorrelated jitter.
        """
        if self.backoff == "decorrelated":
            high = max(self.base, 3 * (previous if previous is not None else self.base))
            return min(self.cap, rng.uniform(self.base, high))
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt - 1, 64))
        return rng.uniform(0.0, ceiling)


def _codes(name: str, value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"RetryPolicy({name}={value!r}): use a set of error codes, "
            f"e.g. {{{value!r}}}" + ("." if isinstance(value, str) else " or frozenset().")
        )
    codes = frozenset(value)
    bad = [code for code in codes if not isinstance(code, str) or not code.strip()]
    if bad:
        raise ConfigurationError(
            f"RetryPolicy({name}=...): {bad[0]!r} is no error code; use strings such as "
            "'ThrottlingException'."
        )
    return codes


def _statuses(value: object) -> frozenset[int]:
    if isinstance(value, (str, int)) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"RetryPolicy(retry_statuses={value!r}): use a set of HTTP statuses, e.g. {{503}}."
        )
    statuses = frozenset(value)
    for status in statuses:
        if not _is_count(status) or not 400 <= status <= 599:
            raise ConfigurationError(
                f"RetryPolicy(retry_statuses=...): {status!r} is no HTTP error status (400-599)."
            )
    return statuses


def _overrides(policy: RetryPolicy) -> dict[str, RetryPolicy]:
    value: object = policy.overrides
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"RetryPolicy(overrides={value!r}): use a mapping such as "
            "{'dynamodb': RetryPolicy(...), 's3.GetObject': RetryPolicy(...)}."
        )
    result: dict[str, RetryPolicy] = {}
    for key, override in value.items():
        service, dot, operation = key.partition(".") if isinstance(key, str) else ("", "", "")
        if (
            not service
            or service != service.lower()
            or not service.replace("-", "").isalnum()
            or (dot and not (operation.isalnum() and operation[0].isupper()))
        ):
            raise ConfigurationError(
                f"RetryPolicy(overrides=...): key {key!r} names no service or operation; use "
                "botocore's hyphenized service id ('dynamodb', 'cloudwatch-logs') or "
                "'service.Operation' ('s3.GetObject')."
            )
        key = canonical_key(key, "RetryPolicy(overrides=...): key", star=False)
        if key in result:
            raise ConfigurationError(
                f"RetryPolicy(overrides=...): two keys mean {key!r} (a boto3 client name and "
                "botocore's service id); keep one."
            )
        if not isinstance(override, RetryPolicy):
            raise ConfigurationError(
                f"RetryPolicy(overrides=...): {key!r} maps to {override!r}; use a RetryPolicy."
            )
        if override.overrides:
            raise ConfigurationError(
                f"RetryPolicy(overrides=...): the policy for {key!r} has overrides of its own; "
                "put every override in the top policy."
            )
        result[key] = override
    for key, override in result.items():
        service, dot, _ = key.partition(".")
        if not dot:
            continue
        owner = result.get(service, policy)
        for name, default in (("budget", RetryBudget()), ("breaker", None)):
            mine = getattr(override, name)
            if mine != default and mine != getattr(owner, name):
                raise ConfigurationError(
                    f"RetryPolicy(overrides=...): the policy for {key!r} sets its own {name}, "
                    f"but the {name} is per "
                    f"{'client' if name == 'budget' else '(service, region)'}; set it on the "
                    f"{service!r} override instead."
                )
    return result


def _modeled_retryable(operation: OperationModel | None, code: str) -> bool:
    if operation is None:
        return False
    for shape in getattr(operation, "error_shapes", None) or ():
        if shape.metadata.get("retryable") is None:
            continue
        if (shape.metadata.get("error", {}).get("code") or shape.name) == code:
            return True
    return False


# -------------------------------------------------------------------------------------------
# Circuit breaker and budget state
# -------------------------------------------------------------------------------------------


class CircuitOpenError(BotowareError):
    """A call failed fast: the circuit breaker of its service and region is open.

    :ivar service: botocore's hyphenized service id.
    :ivar region: the region, or None.
    :ivar probe_in: seconds until a probe call is let through (0 while one is in flight).
    :ivar failures: consecutive failed attempts that opened the circuit.
    """

    def __init__(self, service: str, region: str | None, probe_in: float, failures: int) -> None:
        self.service = service
        self.region = region
        self.probe_in = probe_in
        self.failures = failures
        where = f"{service} in {region or 'no region'}"
        if probe_in > 0:
            when = f"a probe call goes through in {probe_in:.1f}s"
        else:
            when = "a probe call is in flight; calls go through again once it succeeds"
        super().__init__(
            f"botoware circuit breaker for {where} is open after {failures} consecutive failed "
            f"attempts; calls fail fast without a request. Next: {when}."
        )


_CLOSED, _OPEN, _HALF_OPEN = "closed", "open", "half-open"


@final
class _Breaker:
    __slots__ = (
        "failures",
        "lock",
        "opened_at",
        "probing",
        "region",
        "service",
        "settings",
        "state",
    )

    def __init__(self, settings: CircuitBreaker, service: str, region: str | None) -> None:
        self.settings = settings
        self.service = service
        self.region = region
        self.state = _CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.probing = False
        self.lock = threading.Lock()

    def admit(self, now: float) -> bool:
        """Let a call through (True if it is the probe) or raise :class:`CircuitOpenError`."""
        service, region = self.service, self.region
        with self.lock:
            if self.state == _CLOSED:
                return False
            if self.state == _OPEN:
                probe_at = self.opened_at + self.settings.cooldown
                if now < probe_at:
                    raise CircuitOpenError(service, region, probe_at - now, self.failures)
                self.state = _HALF_OPEN
            if self.probing:
                raise CircuitOpenError(service, region, 0.0, self.failures)
            self.probing = True
            return True

    def record(self, failed: bool, probe: bool, now: float) -> None:
        with self.lock:
            if self.state == _CLOSED:
                self.failures = self.failures + 1 if failed else 0
                if self.failures >= self.settings.failure_threshold:
                    self._open(now)
            elif self.state == _HALF_OPEN and probe:
                self.probing = False
                if failed:
                    self._open(now)
                else:
                    self.state = _CLOSED
                    self.failures = 0

    def release(self) -> None:
        """The probe call ended before any attempt was judged: let another call probe."""
        with self.lock:
            self.probing = False

    def _open(self, now: float) -> None:
        self.state = _OPEN
        self.opened_at = now
        logger.warning(
            "botoware circuit breaker for %s in %s opened after %d consecutive failed attempts; "
            "calls fail fast for %ss",
            self.service,
            self.region,
            self.failures,
            self.settings.cooldown,
        )


@final
class _TokenBucket:
    __slots__ = ("available", "capacity", "lock")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity
        self.lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        with self.lock:
            if amount > self.available:
                return False
            self.available -= amount
            return True

    def release(self, amount: int) -> None:
        with self.lock:
            self.available = min(self.capacity, self.available + amount)


# -------------------------------------------------------------------------------------------
# The plugin
# -------------------------------------------------------------------------------------------


def _failure(
    policy: RetryPolicy,
    response: tuple[AWSResponse, dict[str, Any]] | None,
    exception: BaseException | None,
    operation: OperationModel | None,
) -> str | None:
    """What went wrong with an attempt, if it is the kind of failure retries are for."""
    if response is None:
        if isinstance(exception, ReadTimeoutError):
            return _READ_TIMEOUT
        if isinstance(exception, (BotocoreConnectionError, HTTPClientError)):
            return _CONNECTION
        return None
    http_response, parsed = response
    status = http_response.status_code
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    if status < 300 and code is None:
        return None
    return _ERROR if policy.is_retryable_error(code, status, operation) else None


@final
class RetryPlugin:
    """Decides retries of every covered call with a :class:`RetryPolicy`.

    :param policy: the policy; the default one if None.
    :param clock: monotonic seconds, for the circuit breaker (inject a fake one in tests).
    :param random: the jitter source; pass ``random.Random(seed)`` for repeatable delays.
    :param sleep: None (the normal case): the plugin returns each delay and botocore
        sleeps it. A callable: the plugin calls ``sleep(delay)`` itself and tells botocore
        to retry at once, so tests can record delays (and advance a fake clock) instead
        of waiting. :data:`RETRY_DELAY` holds the delay either way.
    """

    botoware_name = "retry"

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        random: _random.Random | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if policy is not None and not isinstance(policy, RetryPolicy):
            raise ConfigurationError(f"RetryPlugin({policy!r}): use a RetryPolicy(...).")
        self.policy = policy if policy is not None else RetryPolicy()
        self._clock = clock
        self._random = random if random is not None else _random.Random()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._breakers: dict[tuple[str, str | None], _Breaker] = {}
        # One bucket per client; botocore gives each client its own endpoint object.
        self._buckets: weakref.WeakKeyDictionary[object, _TokenBucket] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"<RetryPlugin {self.policy!r}>"

    def circuit_state(self, service: str, region: str | None) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` for one (service, region)."""
        breaker = self._breakers.get((service, region))
        return _CLOSED if breaker is None else breaker.state

    def budget_available(self, endpoint: object) -> int | None:
        """Tokens left in the budget of the client that owns ``endpoint``, None if unused."""
        bucket = self._buckets.get(endpoint)
        return None if bucket is None else bucket.available

    # ---- hooks ----------------------------------------------------------------------

    @hookimpl(tryfirst=True)
    def botoware_before_call(self, call: Call) -> None:
        breaker = self._breaker(call)
        if breaker is not None and breaker.admit(self._clock()):
            call.stash[_PROBE] = True

    def botoware_needs_retry(
        self,
        call: Call,
        response: tuple[AWSResponse, dict[str, Any]] | None,
        endpoint: Any,
        operation: OperationModel,
        attempts: int,
        caught_exception: Exception | None,
    ) -> float | NoRetry:
        policy = self.policy.for_operation(call.service, call.operation)
        failure = _failure(policy, response, caught_exception, operation)
        bucket = self._bucket(call, endpoint)
        if bucket is not None:
            call.stash[_BUCKET] = bucket
        breaker = self._breaker(call)
        if breaker is not None:
            probe = call.stash.get(_PROBE, False) and not call.stash.get(_PROBED, False)
            if probe:
                call.stash[_PROBED] = True
            breaker.record(failure is not None, probe, self._clock())
        if failure is None:
            return NO_RETRY
        if (failure == _CONNECTION and not policy.connection_errors) or (
            failure == _READ_TIMEOUT and not policy.read_timeouts
        ):
            return self._stop(call, "not-retryable")
        if attempts >= policy.max_attempts:
            return self._stop(call, "max-attempts")
        if breaker is not None and breaker.state != _CLOSED:
            return self._stop(call, "circuit-open")
        if bucket is not None:
            budget = self.policy.for_service(call.service).budget
            assert budget is not None
            timeout = isinstance(caught_exception, (ReadTimeoutError, ConnectTimeoutError))
            cost = budget.timeout_cost if timeout else budget.retry_cost
            if not bucket.acquire(cost):
                return self._stop(call, "budget")
            call.stash[_SPENT] = cost
        delay = policy.delay(attempts, self._random, call.stash.get(RETRY_DELAY, None))
        call.stash[RETRY_DELAY] = delay
        logger.debug(
            "retrying %s.%s attempt %d after %.3fs",
            call.service_id,
            call.operation,
            attempts,
            delay,
        )
        if self._sleep is not None:
            self._sleep(delay)
            return 0.0
        return delay

    def botoware_after_call(self, call: Call, http_response: AWSResponse) -> None:
        bucket = call.stash.get(_BUCKET, None)
        if bucket is not None and 200 <= http_response.status_code < 300:
            spent = call.stash.get(_SPENT, None)
            if spent is not None:
                bucket.release(spent)
            else:
                budget = self.policy.for_service(call.service).budget
                bucket.release(budget.success_refill if budget is not None else 0)
        self._end(call)

    def botoware_after_call_error(self, call: Call) -> None:
        self._end(call)

    # ---- helpers --------------------------------------------------------------------

    def _stop(self, call: Call, reason: str) -> NoRetry:
        call.stash[RETRY_STOPPED] = reason
        logger.debug("not retrying %s.%s: %s", call.service_id, call.operation, reason)
        return NO_RETRY

    def _end(self, call: Call) -> None:
        if call.stash.get(_PROBE, False) and not call.stash.get(_PROBED, False):
            breaker = self._breakers.get((call.service, call.region))
            if breaker is not None:
                breaker.release()

    def _breaker(self, call: Call) -> _Breaker | None:
        key = (call.service, call.region)
        breaker = self._breakers.get(key)
        if breaker is not None:
            return breaker
        settings = self.policy.for_service(call.service).breaker
        if settings is None:
            return None
        with self._lock:
            return self._breakers.setdefault(key, _Breaker(settings, *key))

    def _bucket(self, call: Call, endpoint: object) -> _TokenBucket | None:
        bucket = self._buckets.get(endpoint)
        if bucket is not None:
            return bucket
        budget = self.policy.for_service(call.service).budget
        if budget is None:
            return None
        with self._lock:
            return self._buckets.setdefault(endpoint, _TokenBucket(budget.capacity))


def plugin() -> RetryPlugin:
    """The ``"retry"`` built-in: a :class:`RetryPlugin` with the default :class:`RetryPolicy`."""
    return RetryPlugin()
