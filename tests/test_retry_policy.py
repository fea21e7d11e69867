"""RetryPolicy on its own: validation, which errors retry, delays, overrides."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import botocore.session
import pytest

from botoware import ConfigurationError
from botoware.plugins.retry import (
    DEFAULT_RETRY_CODES,
    CircuitBreaker,
    RetryBudget,
    RetryPolicy,
)


def test_defaults_match_botocore_standard_mode() -> None:
    """The default policy: 3 attempts, full jitter, a 500-token budget, no breaker."""
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff, policy.breaker) == (3, "full", None)
    assert policy.budget == RetryBudget(capacity=500, retry_cost=5, timeout_cost=10)
    assert {"ThrottlingException", "SlowDown", "RequestTimeout"} <= DEFAULT_RETRY_CODES


@pytest.mark.parametrize(
    ("code", "status", "retried"),
    [
        ("ThrottlingException", 400, True),
        ("ProvisionedThroughputExceededException", 400, True),
        ("InternalError", 500, True),
        ("ServiceUnavailable", 503, True),
        (None, 429, True),
        ("NoSuchKey", 404, False),
        ("AccessDenied", 403, False),
        ("ValidationException", 400, False),
    ],
)
def test_default_retryable_errors(code: str | None, status: int, retried: bool) -> None:
    """Throttling and transient codes and 429/5xx statuses retry; client errors do not."""
    assert RetryPolicy().is_retryable_error(code, status) is retried


def test_added_code_retries() -> None:
    """A code in retry_codes retries even with a 400 status."""
    policy = RetryPolicy(retry_codes={"TransactionConflict"})
    assert policy.is_retryable_error("TransactionConflict", 400)


def test_removed_code_never_retries_whatever_the_status() -> None:
    """A code in no_retry_codes does not retry, not even as a 503."""
    policy = RetryPolicy(no_retry_codes={"SlowDown", "ServiceUnavailable"})
    assert not policy.is_retryable_error("SlowDown", 503)
    assert not policy.is_retryable_error("ServiceUnavailable", 503)
    assert policy.is_retryable_error("InternalError", 503)


def test_errors_the_model_marks_retryable_retry() -> None:
    """An error shape with botocore's ``retryable`` trait retries unless removed."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    operation = model.operation_model("BatchWriteItem")
    code = "ReplicatedWriteConflictException"
    assert RetryPolicy().is_retryable_error(code, 400, operation)
    assert not RetryPolicy().is_retryable_error(code, 400)
    assert not RetryPolicy(no_retry_codes={code}).is_retryable_error(code, 400, operation)


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    """Full jitter draws from [0, min(cap, base * 2**(n-1))]."""
    policy = RetryPolicy(base=0.5, cap=3.0)
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(3.0, 0.5 * 2 ** (attempt - 1))
        assert 0 <= policy.delay(attempt, rng) <= ceiling


def test_decorrelated_jitter_grows_from_the_previous_delay() -> None:
    """Decorrelated jitter draws from [base, 3 * previous], capped."""
    policy = RetryPolicy(backoff="decorrelated", base=0.2, cap=5.0)
    rng = random.Random(3)
    previous = None
    for attempt in range(1, 20):
        delay = policy.delay(attempt, rng, previous)
        assert 0.2 <= delay <= min(5.0, 3 * (previous or 0.2))
        previous = delay


def test_seeded_delays_repeat() -> None:
    """The same seed gives the same delays."""
    policy = RetryPolicy(backoff="decorrelated")
    first = [policy.delay(n, rng) for rng in [random.Random(42)] for n in range(1, 6)]
    again = [policy.delay(n, rng) for rng in [random.Random(42)] for n in range(1, 6)]
    assert first == again


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, r"max_attempts=0.*>= 1"),
        ({"max_attempts": 2.5}, r"max_attempts=2.5"),
        ({"max_attempts": True}, r"max_attempts=True"),
        ({"backoff": "exponential"}, r"backoff='exponential'.*'full' or 'decorrelated'"),
        ({"base": 0}, r"base=0.*> 0"),
        ({"base": float("nan")}, r"base=nan"),
        ({"base": 2.0, "cap": 1.0}, r"cap=1.0.*>= base \(2.0\)"),
        ({"cap": 10**400}, r"cap=1000"),
        ({"retry_codes": "SlowDown"}, r"retry_codes='SlowDown'.*set of error codes"),
        ({"no_retry_codes": {""}}, r"'' is no error code"),
        ({"retry_codes": {"X"}, "no_retry_codes": {"X"}}, r"X is both in retry_codes"),
        ({"retry_statuses": {200}}, r"200 is no HTTP error status"),
        ({"retry_statuses": 503}, r"retry_statuses=503.*\{503\}"),
        ({"connection_errors": "yes"}, r"connection_errors='yes'.*True or False"),
        ({"budget": 500}, r"budget=500.*RetryBudget"),
        ({"breaker": True}, r"breaker=True.*CircuitBreaker"),
        ({"overrides": [("s3", RetryPolicy())]}, r"overrides=.*mapping"),
        ({"overrides": {"DynamoDB": RetryPolicy()}}, r"'DynamoDB'.*hyphenized service id"),
        ({"overrides": {"s3.getObject": RetryPolicy()}}, r"'s3.getObject'"),
        ({"overrides": {"s3": 3}}, r"'s3' maps to 3.*RetryPolicy"),
    ],
)
def test_malformed_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    """Each malformed setting fails at construction with a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match=message):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RetryBudget(capacity=0), r"capacity=0.*budget=None"),
        (lambda: RetryBudget(retry_cost=-1), r"retry_cost=-1"),
        (lambda: CircuitBreaker(failure_threshold=0), r"failure_threshold=0"),
        (lambda: CircuitBreaker(cooldown=-5), r"cooldown=-5"),
        (lambda: CircuitBreaker(cooldown=10**400), r"cooldown=1000"),
    ],
)
def test_malformed_budget_and_breaker_are_rejected(build: Any, message: str) -> None:
    """RetryBudget and CircuitBreaker validate their settings too."""
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_nested_overrides_are_rejected() -> None:
    """An override with overrides of its own is a configuration error."""
    inner = RetryPolicy(overrides={"s3": RetryPolicy()})
    with pytest.raises(ConfigurationError, match=r"'dynamodb' has overrides of its own"):
        RetryPolicy(overrides={"dynamodb": inner})


def test_operation_override_cannot_bring_its_own_breaker() -> None:
    """The breaker is per (service, region): an operation override may not set another one."""
    with pytest.raises(ConfigurationError, match=r"'s3.GetObject' sets its own breaker"):
        RetryPolicy(overrides={"s3.GetObject": RetryPolicy(breaker=CircuitBreaker())})


def test_operation_override_may_repeat_its_services_breaker() -> None:
    """An override built with dataclasses.replace() from the top policy is accepted."""
    top = RetryPolicy(breaker=CircuitBreaker(), budget=RetryBudget(capacity=50))
    op = dataclasses.replace(top, max_attempts=6)
    policy = dataclasses.replace(top, overrides={"s3.GetObject": op})
    assert policy.for_operation("s3", "GetObject").max_attempts == 6


def test_most_specific_override_wins() -> None:
    """Operation beats service beats the top policy; budget and breaker come per service."""
    dynamo = RetryPolicy(max_attempts=6, breaker=CircuitBreaker(cooldown=5))
    get_object = RetryPolicy(max_attempts=2)
    policy = RetryPolicy(overrides={"dynamodb": dynamo, "s3.GetObject": get_object})
    assert policy.for_operation("dynamodb", "GetItem") is dynamo
    assert policy.for_operation("s3", "GetObject") is get_object
    assert policy.for_operation("s3", "PutObject") is policy
    assert policy.for_service("s3") is policy
    assert policy.for_service("dynamodb").breaker == CircuitBreaker(cooldown=5)


def test_policies_are_immutable_and_normalised() -> None:
    """Settings are frozen; code lists become frozensets, overrides a read-only mapping."""
    policy = RetryPolicy(retry_codes=["A", "A"], overrides={"s3": RetryPolicy()})
    assert policy.retry_codes == frozenset({"A"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.overrides["sqs"] = RetryPolicy()  # type: ignore[index]
    assert hash(policy) == hash(RetryPolicy(retry_codes={"A"}, overrides={"s3": RetryPolicy()}))
