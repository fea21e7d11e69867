"""botoware.testing.Faults: injected failures that botocore's own retries handle, against moto."""

from __future__ import annotations

from typing import Any

import botocore.retries.standard
import botocore.retryhandler
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from conftest import BOTH_KINDS

import botoware
from botoware.testing import (
    Canned,
    Faults,
    Recorder,
    connection_error,
    error,
    latency,
    read_timeout,
    server_error,
    throttle,
)

# One cheap read per protocol, answered by moto once the faults let it through.
READS = [
    ("s3", "list_buckets", {}),  # rest-xml
    ("sqs", "list_queues", {}),  # json, query-compatible
    ("dynamodb", "list_tables", {}),  # json
    ("lambda", "list_functions", {}),  # rest-json
    ("sts", "get_caller_identity", {}),  # query
    ("sns", "list_topics", {}),  # query
    ("ec2", "describe_instances", {}),  # ec2
]
LEGACY = Config(retries={"mode": "legacy"})


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry delays become zero, so retries cost no wall time."""
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", lambda **kwargs: 0)
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0
    )


def _attempts(response: dict[str, Any]) -> int:
    return int(response["ResponseMetadata"]["RetryAttempts"]) + 1


@BOTH_KINDS
def test_sequence_fails_attempts_in_order(session: Any, client: Any) -> None:
    """A throttle, a 503, then a real answer: three attempts, each seen by hooks."""
    faults = Faults({"s3.ListBuckets": [throttle(), server_error(503), None]})
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, faults], autoload=False):
        response = client("s3", config=LEGACY).list_buckets()
    assert _attempts(response) == 3
    assert recorder.attempts("ListBuckets") == [1, 2, 3]
    assert [(i.attempt, i.fault) for i in faults.injected] == [
        (1, "throttle"),
        (2, "server_error"),
    ]


@BOTH_KINDS
def test_sequences_restart_with_every_call(session: Any, client: Any) -> None:
    """A sequence is per call: each call's first attempt gets its first entry."""
    faults = Faults({"s3.ListBuckets": [throttle()]})
    with botoware.install(session, plugins=[faults], autoload=False):
        s3 = client("s3", config=LEGACY)
        assert [_attempts(s3.list_buckets()) for _ in range(3)] == [2, 2, 2]


@pytest.mark.parametrize("mode", ["legacy", "standard"])
@pytest.mark.parametrize(("service", "method", "params"), READS)
@BOTH_KINDS
def test_throttle_is_retried_for_every_protocol(
    session: Any, client: Any, mode: str, service: str, method: str, params: dict[str, Any]
) -> None:
    """Each service's usual throttling error is retried by botocore's legacy and standard modes."""
    faults = Faults({f"{service}.*": [throttle(), throttle()]})
    with botoware.install(session, plugins=[faults], autoload=False):
        c = client(service, config=Config(retries={"mode": mode, "total_max_attempts": 3}))
        response = getattr(c, method)(**params)
    assert _attempts(response) == 3 and faults.count("throttle") == 2


@BOTH_KINDS
def test_server_errors_are_retried(session: Any, client: Any) -> None:
    """500, 502, 503 and 504 are each retried."""
    statuses = [500, 502, 503, 504]
    faults = Faults({"sqs.ListQueues": [server_error(s) for s in statuses]})
    with botoware.install(session, plugins=[faults], autoload=False):
        response = client("sqs", config=Config(retries={"mode": "legacy", "total_max_attempts": 5}))
        assert _attempts(response.list_queues()) == 5


@BOTH_KINDS
def test_client_errors_are_not_retried(session: Any, client: Any) -> None:
    """error("AccessDenied", 403) ends the call at once with that ClientError."""
    faults = Faults({"s3.ListBuckets": error("AccessDenied", 403)})
    with botoware.install(session, plugins=[faults], autoload=False):
        with pytest.raises(ClientError) as caught:
            client("s3", config=LEGACY).list_buckets()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0


@BOTH_KINDS
def test_a_lone_fault_fails_every_attempt(session: Any, client: Any) -> None:
    """One fault as the rule throttles every attempt; the last error reaches the caller."""
    faults = Faults({"dynamodb.ListTables": throttle()})
    config = Config(retries={"mode": "standard", "total_max_attempts": 4})
    with botoware.install(session, plugins=[faults], autoload=False):
        with pytest.raises(ClientError) as caught:
            client("dynamodb", config=config).list_tables()
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert faults.count() == 4


@BOTH_KINDS
def test_connection_errors_end_as_endpoint_connection_error(session: Any, client: Any) -> None:
    """Connection errors are retried as transport failures, then raised; one terminal hook."""
    faults = Faults({"s3.ListBuckets": connection_error()})
    recorder = Recorder()
    config = Config(retries={"mode": "legacy", "total_max_attempts": 3})
    with botoware.install(session, plugins=[recorder, faults], autoload=False):
        with pytest.raises(EndpointConnectionError):
            client("s3", config=config).list_buckets()
    assert recorder.attempts("ListBuckets") == [1, 2, 3]
    assert recorder.hooks("ListBuckets")[-1] == "after_call_error"
    assert recorder.terminals("ListBuckets") == 1


@BOTH_KINDS
def test_connection_errors_then_success(session: Any, client: Any) -> None:
    """Two dropped connections then a real answer: the call succeeds on attempt 3."""
    faults = Faults({"sts.*": [connection_error(), connection_error(closed=True)]})
    with botoware.install(session, plugins=[faults], autoload=False):
        response = client("sts", config=LEGACY).get_caller_identity()
    assert _attempts(response) == 3


@BOTH_KINDS
def test_closed_connection_raises_connection_closed_error(session: Any, client: Any) -> None:
    """connection_error(closed=True) ends as ConnectionClosedError."""
    faults = Faults({"sns.*": connection_error(closed=True)})
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with botoware.install(session, plugins=[faults], autoload=False):
        with pytest.raises(ConnectionClosedError):
            client("sns", config=config).list_topics()


@BOTH_KINDS
def test_read_timeout_raises_read_timeout_error(session: Any, client: Any) -> None:
    """read_timeout() is retried, then raised as ReadTimeoutError, without waiting."""
    faults = Faults({"lambda.*": read_timeout()})
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with botoware.install(session, plugins=[faults], autoload=False):
        with pytest.raises(ReadTimeoutError):
            client("lambda", config=config).list_functions()
    assert faults.count("read_timeout") == 2


@BOTH_KINDS
def test_latency_sleeps_then_sends(session: Any, client: Any) -> None:
    """latency() sleeps through the injected sleep and lets the request through."""
    slept: list[float] = []
    faults = Faults({"s3.ListBuckets": [latency(0.25)]}, sleep=slept.append)
    with botoware.install(session, plugins=[faults], autoload=False):
        response = client("s3", config=LEGACY).list_buckets()
    assert slept == [0.25] and _attempts(response) == 1


@BOTH_KINDS
def test_seeded_random_faults_repeat(session: Any, client: Any) -> None:
    """Two Faults.random with one seed inject the same faults into the same calls."""
    rules = {"s3.*": [(0.3, throttle()), (0.2, server_error())]}
    runs = []
    for _ in range(2):
        faults = Faults.random(rules, seed=7)
        with botoware.install(session, plugins=[faults], autoload=False):
            s3 = client("s3", config=Config(retries={"mode": "standard", "total_max_attempts": 10}))
            for _ in range(15):
                s3.list_buckets()
        runs.append(faults.injected)
    assert runs[0] == runs[1] and len(runs[0]) > 0


@BOTH_KINDS
def test_probabilities_zero_and_one(session: Any, client: Any) -> None:
    """Probability 1 injects every attempt, probability 0 none."""
    never = Faults.random({"s3.*": [(0.0, throttle())]}, seed=1, name="never")
    always = Faults.random({"sqs.*": [(1.0, error("InvalidAction"))]}, seed=1, name="always")
    with botoware.install(session, plugins=[never, always], autoload=False):
        client("s3", config=LEGACY).list_buckets()
        with pytest.raises(ClientError):
            client("sqs", config=LEGACY).list_queues()
    assert never.count() == 0 and always.count() == 1


@BOTH_KINDS
def test_most_specific_pattern_wins(session: Any, client: Any) -> None:
    """service.Operation beats service.* beats *."""
    faults = Faults(
        {"*": error("Star"), "s3.*": error("Service"), "s3.ListBuckets": error("Operation")}
    )
    codes = []
    with botoware.install(session, plugins=[faults], autoload=False):
        for call in (
            lambda: client("s3").list_buckets(),
            lambda: client("s3").list_objects_v2(Bucket="nope-bucket"),
            lambda: client("sqs").list_queues(),
        ):
            with pytest.raises(ClientError) as caught:
                call()
            codes.append(caught.value.response["Error"]["Code"])
    assert codes == ["Operation", "Service", "Star"]


def test_faults_are_scoped_to_their_keys() -> None:
    """Faults declares botoware_scope from its keys ("*" means every call)."""
    assert Faults({"s3.*": [throttle()], "sqs.ListQueues": [None]}).botoware_scope == (
        "s3.*",
        "sqs.ListQueues",
    )
    assert Faults({"*": [throttle()]}).botoware_scope is None


@BOTH_KINDS
def test_faults_run_before_canned_answers(session: Any, client: Any) -> None:
    """A fault takes its attempt first; Canned answers the retry."""
    faults = Faults({"s3.ListBuckets": [throttle()]})
    canned = Canned({"s3.ListBuckets": {"Buckets": [{"Name": "canned"}]}})
    with botoware.install(session, plugins=[faults, canned], autoload=False):
        response = client("s3", config=LEGACY).list_buckets()
    assert response["Buckets"] == [{"Name": "canned"}] and _attempts(response) == 2


@pytest.mark.parametrize(
    ("rules", "exception"),
    [
        ({"S3.ListBuckets": [throttle()]}, ValueError),
        ({"s3.List-Buckets": [throttle()]}, ValueError),
        ({"s3.ListBuckets": ["throttle"]}, TypeError),
        ({"s3.ListBuckets": [(0.7, throttle()), (0.6, server_error())]}, ValueError),
        ({"s3.ListBuckets": [(1.5, throttle())]}, ValueError),
    ],
)
def test_bad_rules_fail_at_construction(rules: Any, exception: type[Exception]) -> None:
    """Bad keys, non-faults and impossible probabilities fail when Faults is built."""
    with pytest.raises(exception):
        Faults(rules)


def test_random_needs_probability_pairs() -> None:
    """Faults.random refuses a per-attempt sequence."""
    with pytest.raises(TypeError, match="probability"):
        Faults.random({"s3.*": [throttle()]})  # type: ignore[list-item]
