"""The retry plugin end to end: real clients against moto, faults injected per attempt."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.exceptions
import pytest
from conftest import BOTH_KINDS

import botoware
from botoware.plugins.retry import (
    RETRY_DELAY,
    RETRY_STOPPED,
    CircuitBreaker,
    CircuitOpenError,
    RetryBudget,
    RetryPlugin,
    RetryPolicy,
)
from botoware.testing import (
    Faults,
    Recorder,
    connection_error,
    error,
    read_timeout,
    response_for,
    server_error,
    throttle,
)


class _Delays:
    """Records, per attempt, the RETRY_DELAY that the hooks of that attempt can read."""

    botoware_name = "delays"

    def __init__(self) -> None:
        self.seen: list[float | None] = []

    def botoware_request_created(self, call: botoware.Call) -> None:
        self.seen.append(call.stash.get(RETRY_DELAY, None))


class _Stops:
    """Records each call's RETRY_STOPPED reason (None when absent) at its end."""

    botoware_name = "stops"

    def __init__(self) -> None:
        self.reasons: list[str | None] = []
        self.errors: list[BaseException] = []

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.reasons.append(call.stash.get(RETRY_STOPPED, None))

    def botoware_after_call_error(self, call: botoware.Call, exception: BaseException) -> None:
        self.reasons.append(call.stash.get(RETRY_STOPPED, None))
        self.errors.append(exception)


class _Clock:
    """A monotonic clock that only moves when a test (or a recorded sleep) moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _retry(policy: RetryPolicy, clock: _Clock | None = None, seed: int = 1) -> RetryPlugin:
    clock = clock or _Clock()
    return RetryPlugin(policy, clock=clock, random=random.Random(seed), sleep=clock.sleep)


def _retry(policy: RetryPolicy, clock: _Clock | None = None, seed: int = 1) -> RetryPlugin:
    clock = clock or _Clock()
    return RetryPlugin(policy, clock=clock, random=random.Random(seed), sleep=clock.sleep)


@contextmanager
def _outage(session: Any, operation: str = "s3.*") -> Iterator[Faults]:
    """Every attempt of ``operation`` gets a 500 while the block runs."""
    faults = Faults({operation: server_error()}, name="outage")
    with botoware.install(session, plugins=[faults], autoload=False):
        yield faults


def _fail(
    call: Any, times: int = 1, error: type[Exception] = botocore.exceptions.ClientError
) -> None:
    for _ in range(times):
        with pytest.raises(error):
            call()


# -------------------------------------------------------------------------------------------
# Attempts
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_throttled_attempts_are_retried_until_success(session: Any, client: Any) -> None:
    """Two throttles then moto's answer: three attempts, the seeded delays slept in between."""
    s3, recorder, clock = client("s3"), Recorder(), _Clock()
    faults = Faults({"s3.ListBuckets": [throttle(), throttle()]})
    policy = RetryPolicy(max_attempts=3)
    plugins = [recorder, faults, _retry(policy, clock, 5)]
    with botoware.install(session, plugins=plugins, autoload=False):
        response = s3.list_buckets()
    rng = random.Random(5)
    assert recorder.attempts("ListBuckets") == [1, 2, 3]
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert clock.slept == [policy.delay(1, rng), policy.delay(2, rng)]


@BOTH_KINDS
def test_max_attempts_counts_every_attempt(session: Any, client: Any) -> None:
    """A call that keeps failing makes exactly max_attempts attempts, then raises."""
    s3, recorder, stops = client("s3"), Recorder(), _Stops()
    plugins = [
        recorder,
        stops,
        Faults({"s3.*": server_error()}),
        _retry(RetryPolicy(max_attempts=4)),
    ]
    with botoware.install(session, plugins=plugins, autoload=False):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            s3.list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 2, 3, 4]
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 3
    assert stops.reasons == ["max-attempts"]


@BOTH_KINDS
def test_one_attempt_turns_retries_off(session: Any, client: Any) -> None:
    """max_attempts=1: a throttle ends the call after its first attempt."""
    s3, recorder = client("s3"), Recorder()
    plugins = [recorder, Faults({"s3.*": throttle()}), _retry(RetryPolicy(max_attempts=1))]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
    assert recorder.attempts("ListBuckets") == [1]


@BOTH_KINDS
def test_client_errors_are_not_retried(session: Any, client: Any) -> None:
    """moto's 404 for a missing bucket: one attempt, and no stop reason (nothing to retry)."""
    s3, recorder, stops = client("s3"), Recorder(), _Stops()
    with botoware.install(
        session, plugins=[recorder, stops, _retry(RetryPolicy())], autoload=False
    ):
        _fail(lambda: s3.head_bucket(Bucket="no-such-bucket-retry"))
    assert recorder.attempts("HeadBucket") == [1]
    assert stops.reasons == [None]


@BOTH_KINDS
def test_per_service_override(session: Any, client: Any) -> None:
    """A DynamoDB override gives DynamoDB calls its attempts; S3 keeps the top policy's."""
    s3, dynamodb, recorder = client("s3"), client("dynamodb"), Recorder()
    policy = RetryPolicy(max_attempts=2, overrides={"dynamodb": RetryPolicy(max_attempts=5)})
    plugins = [recorder, Faults({"*": server_error()}), _retry(policy)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
        _fail(dynamodb.list_tables)
    assert recorder.attempts("ListBuckets") == [1, 2]
    assert recorder.attempts("ListTables") == [1, 2, 3, 4, 5]


@BOTH_KINDS
def test_per_operation_override(session: Any, client: Any) -> None:
    """An 's3.ListBuckets' override applies to that operation only."""
    s3, recorder = client("s3"), Recorder()
    policy = RetryPolicy(max_attempts=2, overrides={"s3.ListBuckets": RetryPolicy(max_attempts=4)})
    plugins = [recorder, Faults({"s3.*": server_error()}), _retry(policy)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
        _fail(lambda: s3.list_objects_v2(Bucket="any-bucket"))
    assert len(recorder.attempts("ListBuckets")) == 4
    assert len(recorder.attempts("ListObjectsV2")) == 2


@BOTH_KINDS
def test_removed_code_is_not_retried(session: Any, client: Any) -> None:
    """no_retry_codes={'SlowDown'}: a 503 SlowDown ends the call at once."""
    s3, recorder = client("s3"), Recorder()
    policy = RetryPolicy(no_retry_codes={"SlowDown"})
    plugins = [recorder, Faults({"s3.*": throttle("SlowDown", 503)}), _retry(policy)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
    assert recorder.attempts("ListBuckets") == [1]


@BOTH_KINDS
def test_added_code_is_retried(session: Any, client: Any) -> None:
    """retry_codes={'OperationAborted'}: a 409 OperationAborted is retried, then succeeds."""
    s3, recorder = client("s3"), Recorder()
    faults = Faults({"s3.ListBuckets": [error("OperationAborted", 409)]})
    policy = RetryPolicy(retry_codes={"OperationAborted"})
    with botoware.install(session, plugins=[recorder, faults, _retry(policy)], autoload=False):
        s3.list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 2]


@pytest.mark.parametrize(
    ("fault", "setting", "attempts", "error"),
    [
        (connection_error(), {}, 3, botocore.exceptions.EndpointConnectionError),
        (
            connection_error(),
            {"connection_errors": False},
            1,
            botocore.exceptions.EndpointConnectionError,
        ),
        (connection_error(closed=True), {}, 3, botocore.exceptions.ConnectionClosedError),
        (read_timeout(), {}, 3, botocore.exceptions.ReadTimeoutError),
        (read_timeout(), {"read_timeouts": False}, 1, botocore.exceptions.ReadTimeoutError),
        (read_timeout(), {"connection_errors": False}, 3, botocore.exceptions.ReadTimeoutError),
    ],
    ids=["connection", "connection-off", "closed", "timeout", "timeout-off", "timeout-on"],
)
@BOTH_KINDS
def test_transport_errors_retry_as_configured(
    session: Any,
    client: Any,
    fault: Any,
    setting: dict[str, bool],
    attempts: int,
    error: type[Exception],
) -> None:
    """Connection errors and read timeouts retry unless the policy turns them off."""
    s3, recorder, stops = client("s3"), Recorder(), _Stops()
    plugins = [recorder, stops, Faults({"s3.*": fault}), _retry(RetryPolicy(**setting))]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets, error=error)
    assert len(recorder.attempts("ListBuckets")) == attempts
    assert stops.reasons == ["max-attempts" if attempts == 3 else "not-retryable"]


# -------------------------------------------------------------------------------------------
# Visible delays
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_delay_is_on_the_stash_of_the_next_attempt(session: Any, client: Any) -> None:
    """Hooks of attempt n+1 read the delay that preceded it under RETRY_DELAY."""
    s3, delays, clock = client("s3"), _Delays(), _Clock()
    faults = Faults({"s3.ListBuckets": [throttle(), server_error()]})
    plugins = [delays, faults, _retry(RetryPolicy(), clock)]
    with botoware.install(session, plugins=plugins, autoload=False):
        s3.list_buckets()
    assert delays.seen == [None, *clock.slept]


@BOTH_KINDS
def test_decorrelated_delays_follow_the_previous_one(session: Any, client: Any) -> None:
    """Decorrelated jitter: each delay is drawn from the one before it, reproducibly."""
    s3, clock = client("s3"), _Clock()
    policy = RetryPolicy(max_attempts=5, backoff="decorrelated", base=0.5, cap=30)
    plugins = [Faults({"s3.*": server_error()}), _retry(policy, clock, 9)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
    rng, previous, expected = random.Random(9), None, []
    for attempt in range(1, 5):
        previous = policy.delay(attempt, rng, previous)
        expected.append(previous)
    assert clock.slept == expected


# -------------------------------------------------------------------------------------------
# Retry budget
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_empty_budget_stops_retries(session: Any, client: Any) -> None:
    """A 10-token budget pays two retries of 5; then the call and the next one stop early."""
    s3, recorder, stops = client("s3"), Recorder(), _Stops()
    retry = _retry(RetryPolicy(max_attempts=10, budget=RetryBudget(capacity=10, retry_cost=5)))
    plugins = [recorder, stops, Faults({"s3.*": server_error()}), retry]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets, times=2)
    assert recorder.attempts("ListBuckets") == [1, 2, 3, 1]
    assert stops.reasons == ["budget", "budget"]
    assert retry.budget_available(s3._endpoint) == 0


@BOTH_KINDS
def test_success_refills_the_budget(session: Any, client: Any) -> None:
    """A call that succeeds at once puts success_refill tokens back."""
    s3 = client("s3")
    budget = RetryBudget(capacity=10, retry_cost=5, success_refill=3)
    retry = _retry(RetryPolicy(max_attempts=2, budget=budget))
    with botoware.install(session, plugins=[retry], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets)
        assert retry.budget_available(s3._endpoint) == 5
        s3.list_buckets()
    assert retry.budget_available(s3._endpoint) == 8


@BOTH_KINDS
def test_success_after_a_retry_refunds_that_retry(session: Any, client: Any) -> None:
    """As in botocore: a call that succeeds after retrying gives back its last retry's cost."""
    s3, recorder = client("s3"), Recorder()
    retry = _retry(RetryPolicy())
    faults = Faults({"s3.ListBuckets": [throttle()]})
    with botoware.install(session, plugins=[recorder, faults, retry], autoload=False):
        s3.list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 2]
    assert retry.budget_available(s3._endpoint) == 500


@BOTH_KINDS
def test_timeouts_cost_more_than_errors(session: Any, client: Any) -> None:
    """A retry after a read timeout takes timeout_cost tokens, after a 500 retry_cost."""
    s3 = client("s3")
    retry = _retry(RetryPolicy(max_attempts=2))
    with botoware.install(session, plugins=[retry], autoload=False):
        timeouts = Faults({"s3.*": read_timeout()})
        with botoware.install(session, plugins=[timeouts], autoload=False):
            _fail(s3.list_buckets, error=botocore.exceptions.ReadTimeoutError)
        after_timeout = retry.budget_available(s3._endpoint)
        with _outage(session):
            _fail(s3.list_buckets)
    assert (after_timeout, retry.budget_available(s3._endpoint)) == (490, 485)


@BOTH_KINDS
def test_each_client_has_its_own_budget(session: Any, client: Any) -> None:
    """Draining one client's budget leaves another client of the session its retries."""
    drained, fresh, recorder = client("s3"), client("s3"), Recorder()
    retry = _retry(RetryPolicy(max_attempts=3, budget=RetryBudget(capacity=5, retry_cost=5)))
    plugins = [recorder, Faults({"s3.*": server_error()}), retry]
    with botoware.install(session, plugins=plugins, autoload=False):
        for s3 in (drained, drained, fresh):
            _fail(s3.list_buckets)
    assert recorder.attempts("ListBuckets") == [1, 2, 1, 1, 2]


@BOTH_KINDS
def test_no_budget_retries_up_to_max_attempts(session: Any, client: Any) -> None:
    """budget=None: nothing limits retries but max_attempts."""
    s3, recorder = client("s3"), Recorder()
    retry = _retry(RetryPolicy(max_attempts=6, budget=None))
    plugins = [recorder, Faults({"s3.*": server_error()}), retry]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
    assert len(recorder.attempts("ListBuckets")) == 6
    assert retry.budget_available(s3._endpoint) is None


# -------------------------------------------------------------------------------------------
# Circuit breaker
# -------------------------------------------------------------------------------------------

BREAKER = CircuitBreaker(failure_threshold=3, cooldown=30)


@BOTH_KINDS
def test_breaker_opens_after_consecutive_failures(session: Any, client: Any) -> None:
    """Three failed attempts open the circuit; the next call fails fast, sending nothing."""
    s3, recorder, stops, clock = client("s3"), Recorder(), _Stops(), _Clock()
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER), clock)
    with botoware.install(session, plugins=[recorder, stops, retry], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets, times=3)
        clock.now += 10
        with pytest.raises(CircuitOpenError) as info:
            s3.list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 1, 1]
    assert recorder.terminals("ListBuckets") == 4
    assert retry.circuit_state("s3", "us-east-1") == "open"
    error = info.value
    assert (error.service, error.region, error.probe_in, error.failures) == (
        "s3",
        "us-east-1",
        20.0,
        3,
    )
    assert "s3 in us-east-1 is open" in str(error) and "in 20.0s" in str(error)
    assert isinstance(error, botoware.BotowareError)
    assert stops.errors[-1] is error


@BOTH_KINDS
def test_successful_probe_closes_the_circuit(session: Any, client: Any) -> None:
    """After the cool-down one call goes through; its success closes the circuit."""
    s3, recorder, clock = client("s3"), Recorder(), _Clock()
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER), clock)
    with botoware.install(session, plugins=[recorder, retry], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets, times=3)
        clock.now += 30
        s3.list_buckets()
        assert retry.circuit_state("s3", "us-east-1") == "closed"
        s3.list_buckets()
    assert len(recorder.attempts("ListBuckets")) == 5


@BOTH_KINDS
def test_failed_probe_reopens_the_circuit(session: Any, client: Any) -> None:
    """A probe that fails makes one attempt only and opens the circuit for another cool-down."""
    s3, recorder, clock = client("s3"), Recorder(), _Clock()
    retry = _retry(RetryPolicy(max_attempts=3, breaker=BREAKER), clock)
    with botoware.install(session, plugins=[recorder, retry], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets)  # three failed attempts open it
            assert retry.circuit_state("s3", "us-east-1") == "open"
            clock.now += 30
            _fail(s3.list_buckets)  # the probe
            with pytest.raises(CircuitOpenError) as info:
                s3.list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 2, 3, 1]
    assert info.value.probe_in == 30.0


def test_calls_fail_fast_while_the_probe_is_in_flight(session: Any, client: Any) -> None:
    """While the half-open probe is under way, other calls to that service fail fast."""
    s3, other, clock = client("s3"), client("s3"), _Clock()
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER), clock)
    seen: list[BaseException] = []

    class DuringProbe:
        botoware_name = "during-probe"
        botoware_scope = ("s3.ListObjectsV2",)

        def botoware_before_send(self) -> None:
            try:
                other.list_buckets()
            except CircuitOpenError as exc:
                seen.append(exc)

    with botoware.install(session, plugins=[retry, DuringProbe()], autoload=False):
        with _outage(session, "s3.ListBuckets"):
            _fail(s3.list_buckets, times=3)
        clock.now += 30
        _fail(lambda: s3.list_objects_v2(Bucket="no-such-bucket-probe"))  # a 404: S3 is up
    assert len(seen) == 1 and seen[0].probe_in == 0
    assert "probe call is in flight" in str(seen[0])
    assert retry.circuit_state("s3", "us-east-1") == "closed"


@BOTH_KINDS
def test_breaker_is_per_service_and_region(session: Any, client: Any) -> None:
    """An open circuit for S3 in us-east-1 leaves S3 in eu-west-1 and DynamoDB alone."""
    s3 = client("s3")
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER))
    with botoware.install(session, plugins=[retry], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets, times=3)
        client("s3", region_name="eu-west-1").list_buckets()
        client("dynamodb").list_tables()
        with pytest.raises(CircuitOpenError):
            s3.list_buckets()
    assert retry.circuit_state("s3", "eu-west-1") == "closed"


@BOTH_KINDS
def test_an_answer_resets_the_failure_count(session: Any, client: Any) -> None:
    """Failures must be consecutive: a 404 in between shows the service is up."""
    s3 = client("s3")
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER))
    with botoware.install(session, plugins=[retry], autoload=False):
        with _outage(session, "s3.ListBuckets"):
            _fail(s3.list_buckets, times=2)
            _fail(lambda: s3.head_bucket(Bucket="no-such-bucket-reset"))
            _fail(s3.list_buckets, times=2)
    assert retry.circuit_state("s3", "us-east-1") == "closed"


@BOTH_KINDS
def test_opening_circuit_stops_retries_in_flight(session: Any, client: Any) -> None:
    """A call whose failures open the circuit stops retrying at that moment."""
    s3, recorder, stops = client("s3"), Recorder(), _Stops()
    policy = RetryPolicy(max_attempts=5, breaker=CircuitBreaker(failure_threshold=2))
    plugins = [recorder, stops, Faults({"s3.*": server_error()}), _retry(policy)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets)
    assert recorder.attempts("ListBuckets") == [1, 2]
    assert stops.reasons == ["circuit-open"]


@BOTH_KINDS
def test_probe_without_attempt_lets_another_call_probe(session: Any, client: Any) -> None:
    """A probe answered before any request (a before_call short-circuit) frees the probe slot."""
    s3, clock = client("s3"), _Clock()
    retry = _retry(RetryPolicy(max_attempts=1, breaker=BREAKER), clock)
    model = s3.meta.service_model.operation_model("ListBuckets")

    class AnswerBeforeCall:
        botoware_name = "answer-before-call"
        botoware_scope = ("s3.ListBuckets",)
        armed = False

        def botoware_before_call(self) -> Any:
            if not self.armed:
                return None
            self.armed = False
            return response_for(model, {"Buckets": []}), {"Buckets": []}

    answer = AnswerBeforeCall()
    with botoware.install(session, plugins=[retry, answer], autoload=False):
        with _outage(session):
            _fail(s3.list_buckets, times=3)
        clock.now += 30
        answer.armed = True
        assert s3.list_buckets()["Buckets"] == []
        assert retry.circuit_state("s3", "us-east-1") == "half-open"
        s3.list_buckets()
    assert retry.circuit_state("s3", "us-east-1") == "closed"


@BOTH_KINDS
def test_per_service_breaker_override(session: Any, client: Any) -> None:
    """A breaker set in the DynamoDB override guards DynamoDB only."""
    s3, dynamodb, recorder = client("s3"), client("dynamodb"), Recorder()
    policy = RetryPolicy(
        max_attempts=1,
        overrides={"dynamodb": RetryPolicy(max_attempts=1, breaker=CircuitBreaker(2, 5))},
    )
    plugins = [recorder, Faults({"*": server_error()}), _retry(policy)]
    with botoware.install(session, plugins=plugins, autoload=False):
        _fail(s3.list_buckets, times=3)
        _fail(dynamodb.list_tables, times=2)
        with pytest.raises(CircuitOpenError, match="dynamodb in us-east-1"):
            dynamodb.list_tables()
    assert len(recorder.attempts("ListBuckets")) == 3
    assert len(recorder.attempts("ListTables")) == 2


@BOTH_KINDS
def test_builtin_name_installs_the_default_policy(session: Any, client: Any) -> None:
    """install(plugins=['retry']) registers a RetryPlugin with the default policy."""
    with botoware.install(session, plugins=["retry"], autoload=False) as installation:
        (info,) = installation.describe()
        client("s3").list_buckets()
    assert info.name == "retry" and "botoware_needs_retry" in info.hooks
    assert botoware.plugins.retry.plugin().policy == RetryPolicy()


def test_one_plugin_in_two_sessions_shares_its_breakers(moto_url: str) -> None:
    """One plugin in two sessions: breakers are per (service, region), shared by both."""
    sessions = [boto3.Session(region_name="us-east-1") for _ in range(2)]
    faults = Faults({"s3.*": server_error()})
    retry = _retry(RetryPolicy(max_attempts=1, breaker=CircuitBreaker(2, 5)))
    installs = [botoware.install(s, plugins=[faults, retry], autoload=False) for s in sessions]
    try:
        for s in sessions:
            _fail(s.client("s3", endpoint_url=moto_url).list_buckets)
        with pytest.raises(CircuitOpenError):
            sessions[0].client("s3", endpoint_url=moto_url).list_buckets()
    finally:
        for installation in installs:
            installation.uninstall()
