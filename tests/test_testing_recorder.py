"""botoware.testing.Recorder: every hook call, in order, as plain tuples."""

from __future__ import annotations

import contextlib
import threading

import boto3
import pytest

import botoware
from botoware.testing import Canned, Event, Recorder

NOWHERE = "http://127.0.0.1:9"


def _canned() -> Canned:
    return Canned({"s3.ListBuckets": {"Buckets": []}, "s3.ListObjectsV2": {"KeyCount": 0}})


def test_events_are_hook_service_operation_attempt(session: boto3.Session) -> None:
    """The terminal hook of a one-attempt call is recorded as ("after_call", "s3", op, 1)."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        session.client("s3", endpoint_url=NOWHERE).list_buckets()
    assert recorder.events[-1] == ("after_call", "s3", "ListBuckets", 1)
    assert recorder.events[-1] == Event("after_call", "s3", "ListBuckets", 1)


def test_attempt_is_zero_before_the_first_request(session: boto3.Session) -> None:
    """Call-shaping hooks run at attempt 0, per-attempt hooks at 1."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        session.client("s3", endpoint_url=NOWHERE).list_buckets()
    attempts = {e.hook: e.attempt for e in recorder.events if e.operation == "ListBuckets"}
    assert attempts["provide_client_params"] == 0 and attempts["before_send"] == 1


def test_client_created_is_recorded(session: boto3.Session) -> None:
    """A client created while installed is recorded as ("client_created", service, "", 0)."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        session.client("dynamodb", endpoint_url=NOWHERE)
    assert recorder.events == [("client_created", "dynamodb", "", 0)]


def test_runs_are_recorded_around_their_calls(session: boto3.Session) -> None:
    """A paginate() run records run_start first and run_end last, at attempt 0."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        recorder.clear()
        list(s3.get_paginator("list_objects_v2").paginate(Bucket="b"))
    assert recorder.events[0] == ("run_start", "s3", "ListObjectsV2", 0)
    assert recorder.events[-1] == ("run_end", "s3", "ListObjectsV2", 0)


def test_calls_are_the_distinct_call_objects(session: boto3.Session) -> None:
    """calls lists each botoware.Call once, in order of its first hook."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        s3.list_buckets()
        s3.list_objects_v2(Bucket="b")
    assert [(c.operation, c.ended) for c in recorder.calls] == [
        ("ListBuckets", True),
        ("ListObjectsV2", True),
    ]


def test_helpers_count_hooks_and_terminals(session: boto3.Session) -> None:
    """hooks(), count(), terminals() and attempts() summarise the events per operation."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        for _ in range(3):
            s3.list_buckets()
    assert recorder.hooks("ListBuckets")[-1] == "after_call"
    assert recorder.count("before_send", "ListBuckets") == 3
    assert recorder.terminals("ListBuckets") == recorder.terminals() == 3
    assert recorder.attempts("ListBuckets") == [1, 1, 1]


def test_clear_forgets_everything(session: boto3.Session) -> None:
    """clear() empties events and calls."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        session.client("s3", endpoint_url=NOWHERE).list_buckets()
    recorder.clear()
    assert recorder.events == [] and recorder.calls == [] and len(recorder) == 0


def test_events_is_a_copy(session: boto3.Session) -> None:
    """Changing the list returned by events changes nothing recorded."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        session.client("s3", endpoint_url=NOWHERE)
    recorder.events.clear()
    assert len(recorder.events) == 1


def test_sees_before_send_answered_by_another_plugin(session: boto3.Session) -> None:
    """Registered before a plugin that answers before_send, it still records before_send."""
    recorder = Recorder()
    with botoware.install(session, plugins=[_canned(), recorder], autoload=False):
        session.client("s3", endpoint_url=NOWHERE).list_buckets()
    assert recorder.count("before_send") == 1


def test_records_no_parameters(session: boto3.Session) -> None:
    """Events hold names and numbers only, never what the user passed."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        s3.list_objects_v2(Bucket="secret-bucket-name", Prefix="private/")
    text = repr(recorder.events)
    assert "secret-bucket-name" not in text and "private/" not in text


def test_threads_record_every_event(session: boto3.Session) -> None:
    """Eight threads: every call's ten hooks are recorded, none lost."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)

        def work() -> None:
            for _ in range(20):
                s3.list_buckets()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert recorder.terminals() == 160 and len(recorder.hooks("ListBuckets")) == 1600
    assert len(recorder.calls) == 160


def test_is_a_plugin_named_recorder(session: boto3.Session) -> None:
    """It registers as "recorder" and implements every call, run and client hook."""
    with botoware.install(session, plugins=[Recorder()], autoload=False) as installation:
        (info,) = installation.describe()
    assert info.name == "recorder" and len(info.hooks) == 14 and info.scope is None


def test_two_recorders_need_two_names(session: boto3.Session) -> None:
    """A second recorder in one session gets its own name and records too."""
    first, second = Recorder(), Recorder(name="second")
    with botoware.install(session, plugins=[first, second], autoload=False):
        session.client("s3", endpoint_url=NOWHERE)
    assert first.events == second.events == [("client_created", "s3", "", 0)]


def test_events_carry_params_and_error_codes(session: boto3.Session) -> None:
    """Each call event references the call's params; terminal events carry the error code."""
    from botoware.testing import error

    recorder = Recorder()
    canned = Canned({"s3.GetObject": error("NoSuchKey", 404)})
    with botoware.install(session, plugins=[recorder, canned], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        with contextlib.suppress(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="b", Key="k")
    last = recorder.events[-1]
    assert last == ("after_call", "s3", "GetObject", 1)
    assert last.error == "NoSuchKey"
    assert last.params is not None and last.params["Key"] == "k"
    assert recorder.errors("response_received") == ["NoSuchKey"]


def test_assert_calls_checks_the_ended_calls_in_order(session: boto3.Session) -> None:
    """assert_calls passes for the right sequence and shows a diff for a wrong one."""
    from botoware.testing import error

    recorder = Recorder()
    canned = Canned({"s3.ListBuckets": {"Buckets": []}, "s3.GetObject": error("NoSuchKey", 404)})
    with botoware.install(session, plugins=[recorder, canned], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        s3.list_buckets()
        with contextlib.suppress(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="b", Key="k")
    recorder.assert_calls(["s3.ListBuckets", ("s3.GetObject", "NoSuchKey")])
    with pytest.raises(AssertionError, match=r"(?s)-s3\.GetObject\n\+s3\.GetObject -> NoSuchKey"):
        recorder.assert_calls(["s3.ListBuckets", "s3.GetObject"])


def test_transport_failures_are_named_by_exception_class(session: boto3.Session) -> None:
    """A call that fails without a response records the exception class as its error."""
    from botocore.config import Config

    recorder = Recorder()
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    with botoware.install(session, plugins=[recorder], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE, config=config)
        with pytest.raises(Exception, match="Could not connect"):
            s3.list_buckets()
    assert recorder.ended() == [("s3.ListBuckets", "EndpointConnectionError")]


def test_only_records_the_named_keys(session: boto3.Session) -> None:
    """Recorder(only=[...]) records the calls of those keys and nothing else."""
    recorder = Recorder(only=["s3.ListBuckets"])
    with botoware.install(session, plugins=[recorder, _canned()], autoload=False):
        s3 = session.client("s3", endpoint_url=NOWHERE)
        s3.list_buckets()
        s3.list_objects_v2(Bucket="b")
    assert {e.operation for e in recorder.events} == {"ListBuckets", ""}
    assert recorder.terminals() == 1
