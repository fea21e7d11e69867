"""The metrics plugin against moto: counts, error codes, attempts, in-flight, bounds, threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import boto3
import botocore.config
import botocore.exceptions
import botocore.model
import pytest
from botocore.awsrequest import AWSResponse
from conftest import BOTH_KINDS
from prometheus_client import REGISTRY, CollectorRegistry, Counter

import botoware
from botoware.plugins import metrics as metrics_module
from botoware.plugins.metrics import (
    ATTEMPTS,
    CALL_DURATION,
    CALLS,
    CALLS_IN_FLIGHT,
    DEFAULT_BUCKETS,
    ERRORS,
    OTHER_ERROR_CODE,
    MetricsPlugin,
)
from botoware.plugins.retry import RetryPlugin, RetryPolicy
from botoware.testing import Faults, connection_error, server_error, throttle

# -------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test."""
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> MetricsPlugin:
    """The metrics plugin on the test's registry."""
    return MetricsPlugin(registry)


@pytest.fixture
def installed(session: Any, metrics: MetricsPlugin) -> Iterator[botoware.Installation]:
    """The metrics plugin installed on ``session``."""
    with botoware.install(session, plugins=[metrics], autoload=False) as installation:
        yield installation


def calls(registry: CollectorRegistry, service: str, operation: str, outcome: str) -> float | None:
    labels = {"aws_service": service, "aws_operation": operation, "outcome": outcome}
    return registry.get_sample_value(CALLS, labels)


def errors(registry: CollectorRegistry, service: str, operation: str, code: str) -> float | None:
    labels = {"aws_service": service, "aws_operation": operation, "error_code": code}
    return registry.get_sample_value(ERRORS, labels)


def attempts(registry: CollectorRegistry, service: str, operation: str) -> float | None:
    return registry.get_sample_value(ATTEMPTS, {"aws_service": service, "aws_operation": operation})


def durations(registry: CollectorRegistry, service: str, operation: str) -> float | None:
    labels = {"aws_service": service, "aws_operation": operation}
    return registry.get_sample_value(f"{CALL_DURATION}_count", labels)


def in_flight(registry: CollectorRegistry, service: str) -> float | None:
    return registry.get_sample_value(CALLS_IN_FLIGHT, {"aws_service": service})


def label_sets(registry: CollectorRegistry, name: str) -> list[dict[str, str]]:
    return [
        sample.labels
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


def s3_error(url: str, status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{escape(code)}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body))


class Codes:
    """Answers every attempt with a 400 carrying the code the test chose for that call."""

    botoware_name = "codes"

    def __init__(self) -> None:
        self.code = "Initial"

    def botoware_before_send(self, request: Any) -> AWSResponse:
        return s3_error(request.url, 400, self.code)


def no_wait_retries(max_attempts: int) -> RetryPlugin:
    return RetryPlugin(RetryPolicy(max_attempts=max_attempts), sleep=lambda delay: None)


# -------------------------------------------------------------------------------------------
# One count per call
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_successful_call_counts_one_success(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A successful call adds one success, one attempt and one duration observation."""
    client("s3").list_buckets()
    assert calls(registry, "s3", "ListBuckets", "success") == 1
    assert calls(registry, "s3", "ListBuckets", "error") == 0
    assert attempts(registry, "s3", "ListBuckets") == 1
    assert durations(registry, "s3", "ListBuckets") == 1


@BOTH_KINDS
def test_labels_are_hyphenized_service_and_operation(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """service is botocore's hyphenized service id, operation the API's operation name."""
    client("dynamodb").list_tables()
    client("sts").get_caller_identity()
    assert calls(registry, "dynamodb", "ListTables", "success") == 1
    assert calls(registry, "sts", "GetCallerIdentity", "success") == 1


@BOTH_KINDS
def test_aws_error_counts_one_error_with_its_code(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """An AWS error response is one error call, counted under the AWS error code."""
    with pytest.raises(botocore.exceptions.ClientError):
        client("s3").get_object(Bucket="missing-bucket", Key="k")
    assert calls(registry, "s3", "GetObject", "error") == 1
    assert calls(registry, "s3", "GetObject", "success") == 0
    assert errors(registry, "s3", "GetObject", "NoSuchBucket") == 1
    assert durations(registry, "s3", "GetObject") == 1


@BOTH_KINDS
def test_error_without_code_counts_its_status(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """An error response without a code (HEAD has no body) is counted under its HTTP status."""
    with pytest.raises(botocore.exceptions.ClientError):
        client("s3").head_bucket(Bucket="missing-bucket")
    assert errors(registry, "s3", "HeadBucket", "404") == 1


@BOTH_KINDS
def test_early_failure_counts_the_exception_class(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A call failing validation is one error under the exception's class, with no attempt."""
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client("s3").get_object(Bucket="b")
    assert calls(registry, "s3", "GetObject", "error") == 1
    assert errors(registry, "s3", "GetObject", "ParamValidationError") == 1
    assert attempts(registry, "s3", "GetObject") == 0
    assert in_flight(registry, "s3") == 0


@BOTH_KINDS
def test_failure_before_the_first_hook_keeps_in_flight_at_zero(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A call botocore rejects before any hook is counted and never takes in-flight below 0."""
    sts = client("sts")
    with pytest.raises(botocore.model.OperationNotFoundError):
        sts._make_api_call("NoSuchOperation", {})
    assert errors(registry, "sts", "NoSuchOperation", "OperationNotFoundError") == 1
    assert in_flight(registry, "sts") == 0


def test_transport_failure_counts_the_exception_class(
    installed: Any, session: Any, registry: CollectorRegistry
) -> None:
    """A refused connection is one error under the transport exception's class."""
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    sts = session.client("sts", endpoint_url="http://127.0.0.1:9", config=config)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        sts.get_caller_identity()
    assert calls(registry, "sts", "GetCallerIdentity", "error") == 1
    assert errors(registry, "sts", "GetCallerIdentity", "EndpointConnectionError") == 1
    assert attempts(registry, "sts", "GetCallerIdentity") == 1


@BOTH_KINDS
def test_short_circuited_call_counts_without_attempts(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """A call answered at before_call is one call with no HTTP attempt."""

    class Cache:
        botoware_name = "cache"

        def botoware_before_call(self) -> tuple[AWSResponse, dict[str, Any]]:
            return AWSResponse("http://cache", 200, {}, _Raw(b"")), {"Buckets": []}

    with botoware.install(session, plugins=[Cache(), metrics], autoload=False):
        client("s3").list_buckets()
    assert calls(registry, "s3", "ListBuckets", "success") == 1
    assert attempts(registry, "s3", "ListBuckets") == 0


@BOTH_KINDS
def test_presigned_urls_are_not_counted(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """generate_presigned_url sends nothing, so nothing is counted or left in flight."""
    client("s3").generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert calls(registry, "s3", "GetObject", "success") is None
    assert in_flight(registry, "s3") is None


@BOTH_KINDS
def test_each_page_of_a_paginator_is_a_call(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """paginate() makes one counted call per page."""
    s3 = client("s3")
    s3.create_bucket(Bucket="pages")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="pages", Key=key, Body=b"")
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket="pages", MaxKeys=1))
    assert calls(registry, "s3", "ListObjectsV2", "success") == len(pages) == 3


# -------------------------------------------------------------------------------------------
# Attempts and retries
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_attempts_are_calls_plus_retries(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """Two throttled attempts per call, then success: attempts are three per call."""
    faults = Faults({"s3.ListBuckets": [throttle(), throttle()]})
    with botoware.install(session, plugins=[faults, no_wait_retries(3), metrics], autoload=False):
        s3 = client("s3")
        for _ in range(4):
            response = s3.list_buckets()
            assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert faults.count("throttle") == 8
    assert calls(registry, "s3", "ListBuckets", "success") == 4
    assert attempts(registry, "s3", "ListBuckets") == 4 + 8
    assert errors(registry, "s3", "ListBuckets", "SlowDown") is None


@BOTH_KINDS
def test_every_kind_of_retried_fault_is_an_attempt(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """A throttle, a 5xx and a refused connection, then success: four attempts, one success."""
    rule = [throttle(), server_error(503), connection_error()]
    faults = Faults({"sts.GetCallerIdentity": rule})
    with botoware.install(session, plugins=[faults, no_wait_retries(4), metrics], autoload=False):
        client("sts").get_caller_identity()
    assert [i.fault for i in faults.injected] == ["throttle", "server_error", "connection_error"]
    assert calls(registry, "sts", "GetCallerIdentity", "success") == 1
    assert calls(registry, "sts", "GetCallerIdentity", "error") == 0
    assert attempts(registry, "sts", "GetCallerIdentity") == 4


@BOTH_KINDS
def test_retries_exhausted_count_one_error(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """A call throttled on every attempt is one error, with every attempt counted."""
    faults = Faults({"s3.ListBuckets": throttle()})
    with botoware.install(session, plugins=[faults, no_wait_retries(3), metrics], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            client("s3").list_buckets()
    assert calls(registry, "s3", "ListBuckets", "error") == 1
    assert errors(registry, "s3", "ListBuckets", "SlowDown") == 1
    assert attempts(registry, "s3", "ListBuckets") == 3


@BOTH_KINDS
def test_connection_refused_on_every_attempt_counts_the_exception(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """Retried connection failures that never succeed are one EndpointConnectionError."""
    faults = Faults({"sts.GetCallerIdentity": connection_error()})
    with botoware.install(session, plugins=[faults, no_wait_retries(2), metrics], autoload=False):
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            client("sts").get_caller_identity()
    assert errors(registry, "sts", "GetCallerIdentity", "EndpointConnectionError") == 1
    assert attempts(registry, "sts", "GetCallerIdentity") == 2
    assert in_flight(registry, "sts") == 0


# -------------------------------------------------------------------------------------------
# In flight
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_in_flight_counts_the_running_call(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """While a call waits for its response the gauge is 1; afterwards it is 0 again."""
    seen: list[float | None] = []

    class Look:
        botoware_name = "look"

        def botoware_before_send(self) -> None:
            seen.append(in_flight(registry, "sts"))

    with botoware.install(session, plugins=[Look(), metrics], autoload=False):
        client("sts").get_caller_identity()
    assert seen == [1]
    assert in_flight(registry, "sts") == 0


@BOTH_KINDS
def test_in_flight_returns_to_zero_after_every_kind_of_ending(
    installed: Any, client: Any, session: Any, registry: CollectorRegistry
) -> None:
    """Successes, AWS errors, early failures and transport failures all leave the gauge at 0."""
    s3 = client("s3")
    s3.list_buckets()
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_object(Bucket="missing-bucket", Key="k")
    with pytest.raises(botocore.exceptions.ParamValidationError):
        s3.get_object(Bucket="b")
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    down = client("s3", endpoint_url="http://127.0.0.1:9", config=config)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        down.list_buckets()
    assert in_flight(registry, "s3") == 0
    assert calls(registry, "s3", "ListBuckets", "success") == 1
    assert calls(registry, "s3", "ListBuckets", "error") == 1


# -------------------------------------------------------------------------------------------
# Threads
# -------------------------------------------------------------------------------------------


def test_totals_are_exact_under_eight_threads(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """8 threads x 200 calls on shared clients: every total is exactly 1,600."""
    sts = client("sts")
    threads, per_thread = 8, 200
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(per_thread):
                sts.get_caller_identity()
        except BaseException as exc:  # reported below, a thread cannot fail the test itself
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    total = threads * per_thread
    assert calls(registry, "sts", "GetCallerIdentity", "success") == total
    assert attempts(registry, "sts", "GetCallerIdentity") == total
    assert durations(registry, "sts", "GetCallerIdentity") == total
    assert in_flight(registry, "sts") == 0


# -------------------------------------------------------------------------------------------
# Bounded labels
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_thousand_buckets_add_no_series(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """1,000 calls on distinct bucket names make the same few series and no name in labels."""
    s3 = client("s3")
    for number in range(1000):
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_bucket(Bucket=f"tenant-{number:04d}-bucket")
    values = {
        value
        for family in registry.collect()
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert not [value for value in values if "tenant-" in value]
    assert label_sets(registry, ERRORS) == [
        {"aws_service": "s3", "aws_operation": "HeadBucket", "error_code": "404"}
    ]
    assert len(label_sets(registry, CALLS)) == 2  # success and error
    assert errors(registry, "s3", "HeadBucket", "404") == 1000


@BOTH_KINDS
def test_distinct_error_codes_are_capped(
    session: Any, client: Any, registry: CollectorRegistry
) -> None:
    """Beyond max_error_codes distinct codes, new codes are counted as 'other'."""
    codes = Codes()
    plugin = MetricsPlugin(registry, max_error_codes=5)
    with botoware.install(session, plugins=[codes, plugin], autoload=False):
        s3 = client("s3")
        for number in range(1000):
            codes.code = f"Invented{number}Error"
            with pytest.raises(botocore.exceptions.ClientError):
                s3.list_buckets()
    seen = {labels["error_code"] for labels in label_sets(registry, ERRORS)}
    assert len(seen) == 6
    assert OTHER_ERROR_CODE in seen
    assert errors(registry, "s3", "ListBuckets", OTHER_ERROR_CODE) == 995
    assert errors(registry, "s3", "ListBuckets", "Invented0Error") == 1


@BOTH_KINDS
def test_admitted_codes_keep_counting_after_the_cap(
    session: Any, client: Any, registry: CollectorRegistry
) -> None:
    """A code admitted before the cap was reached keeps its own series afterwards."""
    codes = Codes()
    plugin = MetricsPlugin(registry, max_error_codes=1)
    with botoware.install(session, plugins=[codes, plugin], autoload=False):
        s3 = client("s3")
        for code in ("AccessDenied", "Other1", "AccessDenied", "Other2"):
            codes.code = code
            with pytest.raises(botocore.exceptions.ClientError):
                s3.list_buckets()
    assert errors(registry, "s3", "ListBuckets", "AccessDenied") == 2
    assert errors(registry, "s3", "ListBuckets", OTHER_ERROR_CODE) == 2


@pytest.mark.parametrize(
    "code",
    ["not a code", "x" * 65, "<b>bold</b>", "-leading-dash", "Ünïcode"],
    ids=["spaces", "overlong", "markup", "leading-dash", "non-ascii"],
)
@BOTH_KINDS
def test_malformed_error_codes_are_other(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry, code: str
) -> None:
    """A code that is no AWS error code (spaces, markup, over 64 characters) becomes 'other'."""
    codes = Codes()
    codes.code = code
    with botoware.install(session, plugins=[codes, metrics], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            client("s3").list_buckets()
    assert label_sets(registry, ERRORS) == [
        {"aws_service": "s3", "aws_operation": "ListBuckets", "error_code": OTHER_ERROR_CODE}
    ]


@BOTH_KINDS
def test_dotted_aws_codes_are_kept(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """Codes with dots, as SQS's query protocol has them, are real codes and kept."""
    codes = Codes()
    codes.code = "AWS.SimpleQueueService.NonExistentQueue"
    with botoware.install(session, plugins=[codes, metrics], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            client("s3").list_buckets()
    assert errors(registry, "s3", "ListBuckets", "AWS.SimpleQueueService.NonExistentQueue") == 1


# -------------------------------------------------------------------------------------------
# Construction and registries
# -------------------------------------------------------------------------------------------


def test_metrics_exist_once_the_plugin_is_built(registry: CollectorRegistry) -> None:
    """Building the plugin registers all five metrics, before any call."""
    MetricsPlugin(registry)
    names = {family.name for family in registry.collect()}
    assert names == {
        "aws_client_calls",
        "aws_client_errors",
        "aws_client_call_duration_seconds",
        "aws_client_attempts",
        "aws_client_calls_in_flight",
    }


@BOTH_KINDS
def test_default_buckets_span_milliseconds_to_a_minute(
    installed: Any, client: Any, registry: CollectorRegistry
) -> None:
    """The duration histogram has the default buckets from milliseconds to a minute."""
    client("sts").get_caller_identity()
    bounds = [
        labels["le"]
        for labels in label_sets(registry, f"{CALL_DURATION}_bucket")
        if labels["aws_operation"] == "GetCallerIdentity"
    ]
    assert [float(b) for b in bounds] == [*DEFAULT_BUCKETS, float("inf")]
    assert DEFAULT_BUCKETS[0] <= 0.005
    assert DEFAULT_BUCKETS[-1] >= 30


@BOTH_KINDS
def test_custom_buckets_are_used(session: Any, client: Any, registry: CollectorRegistry) -> None:
    """buckets= sets the histogram's upper bounds."""
    with botoware.install(
        session, plugins=[MetricsPlugin(registry, buckets=[0.5, 5])], autoload=False
    ):
        client("sts").get_caller_identity()
    labels = {"aws_service": "sts", "aws_operation": "GetCallerIdentity", "le": "5.0"}
    assert registry.get_sample_value(f"{CALL_DURATION}_bucket", labels) == 1


@pytest.mark.parametrize(
    "buckets",
    [(), (1.0, 0.5), ("soon",), (-1.0, 1.0), (0.1, 0.1)],
    ids=["empty", "decreasing", "not-numbers", "negative", "repeated"],
)
def test_malformed_buckets_are_a_configuration_error(
    registry: CollectorRegistry, buckets: Any
) -> None:
    """Buckets must be positive, strictly increasing seconds; anything else is refused."""
    with pytest.raises(botoware.ConfigurationError, match="buckets"):
        MetricsPlugin(registry, buckets=buckets)
    assert list(registry.collect()) == []


@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_malformed_max_error_codes_is_a_configuration_error(
    registry: CollectorRegistry, value: Any
) -> None:
    """max_error_codes must be an int >= 0."""
    with pytest.raises(botoware.ConfigurationError, match="max_error_codes"):
        MetricsPlugin(registry, max_error_codes=value)


@BOTH_KINDS
def test_plugins_on_one_registry_share_its_metrics(
    session: Any, client: Any, registry: CollectorRegistry
) -> None:
    """Two plugins built on one registry count into the same series, registered once."""
    first, second = MetricsPlugin(registry), MetricsPlugin(registry)
    with botoware.install(session, plugins=[first], autoload=False):
        client("sts").get_caller_identity()
    with botoware.install(session, plugins=[second], autoload=False):
        client("sts").get_caller_identity()
    assert calls(registry, "sts", "GetCallerIdentity", "success") == 2


def test_other_settings_on_the_same_registry_are_refused(registry: CollectorRegistry) -> None:
    """A second plugin with other buckets on the same registry is a configuration error."""
    MetricsPlugin(registry)
    with pytest.raises(botoware.ConfigurationError, match="same settings"):
        MetricsPlugin(registry, buckets=(1, 2))


def test_foreign_metric_of_the_same_name_is_refused_cleanly(registry: CollectorRegistry) -> None:
    """A registry holding someone else's aws_client_attempts_total is refused, left unchanged."""
    Counter("aws_client_attempts", "Not ours.", registry=registry)
    with pytest.raises(botoware.ConfigurationError, match="another registry"):
        MetricsPlugin(registry)
    assert {family.name for family in registry.collect()} == {"aws_client_attempts"}


def test_default_plugin_is_one_instance_on_the_global_registry() -> None:
    """plugin() returns the same instance each time, registered once in REGISTRY."""
    assert metrics_module.plugin() is metrics_module.plugin()
    names = [family.name for family in REGISTRY.collect() if family.name.startswith("aws_client_")]
    assert sorted(names) == sorted(set(names))


def test_metrics_builtin_installs_into_many_sessions(moto_url: str) -> None:
    """install(plugins=["metrics"]) into several sessions counts into one set of collectors."""
    labels = {"aws_service": "sts", "aws_operation": "GetCallerIdentity", "outcome": "success"}
    before = REGISTRY.get_sample_value(CALLS, labels) or 0.0
    sessions = [boto3.Session(region_name="us-east-1") for _ in range(3)]
    installations = [botoware.install(s, plugins=["metrics"], autoload=False) for s in sessions]
    try:
        for each in sessions:
            each.client("sts", endpoint_url=moto_url).get_caller_identity()
    finally:
        for installation in installations:
            installation.uninstall()
    assert REGISTRY.get_sample_value(CALLS, labels) == before + 3


@BOTH_KINDS
def test_uninstalled_plugin_stops_counting(
    session: Any, metrics: MetricsPlugin, client: Any, registry: CollectorRegistry
) -> None:
    """After uninstall the session's calls are no longer counted."""
    sts = client("sts")
    with botoware.install(session, plugins=[metrics], autoload=False):
        sts.get_caller_identity()
    sts.get_caller_identity()
    assert calls(registry, "sts", "GetCallerIdentity", "success") == 1


@BOTH_KINDS
def test_two_metrics_plugins_on_one_session_track_their_own_calls(
    session: Any, client: Any
) -> None:
    """Two metrics plugins (two registries) on one session each count and settle every call."""
    registries = [CollectorRegistry(), CollectorRegistry()]
    first, second = MetricsPlugin(registries[0]), MetricsPlugin(registries[1])
    second.botoware_name = "metrics-for-the-other-team"
    with botoware.install(session, plugins=[first, second], autoload=False):
        client("sts").get_caller_identity()
    for registry in registries:
        assert calls(registry, "sts", "GetCallerIdentity", "success") == 1
        assert in_flight(registry, "sts") == 0


# Labels Prometheus attaches to every scraped series (scrape config, Kubernetes service
# discovery, Prometheus Operator ServiceMonitors): a metric label of the same name is renamed.
_TARGET_LABELS = {"job", "instance", "service", "namespace", "pod", "container", "endpoint"}


def test_no_label_collides_with_a_prometheus_target_label(
    installed: botoware.Installation, client: Any, registry: CollectorRegistry
) -> None:
    """No metric label is one that Prometheus would rename to exported_<name> on scrape."""
    client("sts").get_caller_identity()
    names = {name for metric in registry.collect() for s in metric.samples for name in s.labels}
    assert {"aws_service", "aws_operation", "outcome"} <= names
    assert not names & _TARGET_LABELS
