"""botoware.testing.Canned: real clients answered at before_send, with no network."""

from __future__ import annotations

import threading
from typing import Any
from unittest.mock import ANY

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import BOTH_KINDS

import botoware
from botoware.testing import (
    Canned,
    Recorder,
    UnansweredCall,
    UnexpectedParams,
    error,
    reply,
    response_for,
)

# Nothing listens here: a request that reached the network would fail to connect.
NOWHERE = "http://127.0.0.1:9"

QUEUE_URL = f"{NOWHERE}/123456789012/jobs"
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _nowhere(session: boto3.Session, service: str) -> Any:
    return session.client(service, endpoint_url=NOWHERE)


def test_constant_answer_is_parsed_by_the_client(session: boto3.Session) -> None:
    """A dict answer comes back from the real client as that dict, plus metadata."""
    canned = Canned({"sqs.GetQueueAttributes": {"Attributes": {"VisibilityTimeout": "30"}}})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = _nowhere(session, "sqs").get_queue_attributes(QueueUrl=QUEUE_URL)
    assert response["Attributes"] == {"VisibilityTimeout": "30"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_every_hook_runs_for_a_canned_call(session: boto3.Session) -> None:
    """Signing, sending, parsing and retry hooks all run: only the HTTP exchange is replaced."""
    recorder = Recorder()
    canned = Canned({"s3.ListBuckets": {"Buckets": []}})
    with botoware.install(session, plugins=[recorder, canned], autoload=False):
        _nowhere(session, "s3").list_buckets()
    assert recorder.hooks("ListBuckets") == [
        "provide_client_params",
        "before_parameter_build",
        "before_call",
        "choose_signer",
        "before_sign",
        "request_created",
        "before_send",
        "response_received",
        "needs_retry",
        "after_call",
    ]


def test_function_answer_gets_the_call(session: boto3.Session) -> None:
    """A function answer is called with the botoware.Call and its dict is served."""
    seen: list[botoware.Call] = []

    def answer(call: botoware.Call) -> dict[str, Any]:
        seen.append(call)
        return {"Policy": "{}", "RevisionId": call.params["FunctionName"]}

    with botoware.install(session, plugins=[Canned({"lambda.GetPolicy": answer})], autoload=False):
        response = _nowhere(session, "lambda").get_policy(FunctionName="thumbnailer")
    assert response["RevisionId"] == "thumbnailer"
    assert [(c.service, c.operation, c.attempt) for c in seen] == [("lambda", "GetPolicy", 1)]


def test_function_answers_drive_a_paginator(session: boto3.Session) -> None:
    """Pages answered by a function follow the continuation token like real ones."""

    def page(call: botoware.Call) -> dict[str, Any]:
        start = int(call.params.get("ContinuationToken", "0"))
        keys = [f"k{i}" for i in range(start, min(start + 2, 5))]
        more = start + 2 < 5
        return {
            "Contents": [{"Key": k} for k in keys],
            "KeyCount": len(keys),
            "IsTruncated": more,
            **({"NextContinuationToken": str(start + 2)} if more else {}),
        }

    with botoware.install(session, plugins=[Canned({"s3.ListObjectsV2": page})], autoload=False):
        pages = _nowhere(session, "s3").get_paginator("list_objects_v2").paginate(Bucket="b")
        keys = [o["Key"] for p in pages for o in p["Contents"]]
    assert keys == ["k0", "k1", "k2", "k3", "k4"]


def test_error_answer_raises_the_modeled_exception(session: boto3.Session) -> None:
    """error("NoSuchKey", 404) raises the client's own NoSuchKey exception."""
    canned = Canned({"s3.GetObject": error("NoSuchKey", 404)})
    with botoware.install(session, plugins=[canned], autoload=False):
        s3 = _nowhere(session, "s3")
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="b", Key="missing")


def test_streaming_body_is_readable(session: boto3.Session) -> None:
    """A streaming payload (S3 GetObject Body) reads back as the bytes answered."""
    canned = Canned({"s3.GetObject": {"Body": b"hello", "ContentType": "text/plain"}})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = _nowhere(session, "s3").get_object(Bucket="b", Key="k")
    assert response["Body"].read() == b"hello" and response["ContentType"] == "text/plain"


def test_response_answer_is_served_to_every_call(session: boto3.Session) -> None:
    """An AWSResponse answer is served afresh to each call."""
    model = session.client("sts").meta.service_model.operation_model("GetCallerIdentity")
    canned = Canned({"sts.GetCallerIdentity": response_for(model, {"Account": "123456789012"})})
    with botoware.install(session, plugins=[canned], autoload=False):
        sts = _nowhere(session, "sts")
        accounts = [sts.get_caller_identity()["Account"] for _ in range(3)]
    assert accounts == ["123456789012"] * 3 and canned.answered["sts.GetCallerIdentity"] == 3


@BOTH_KINDS
def test_unanswered_operations_are_sent(session: boto3.Session, client: Any) -> None:
    """Operations without an answer go to the real endpoint (moto here)."""
    canned = Canned({"s3.ListBuckets": {"Buckets": [{"Name": "canned"}]}})
    with botoware.install(session, plugins=[canned], autoload=False):
        s3 = client("s3")
        s3.create_bucket(Bucket="real-bucket")
        assert s3.list_buckets()["Buckets"] == [{"Name": "canned"}]
        assert s3.head_bucket(Bucket="real-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert dict(canned.answered) == {"s3.ListBuckets": 1}


def test_declined_answer_fails_without_passthrough(session: boto3.Session) -> None:
    """A function returning None fails the call with UnansweredCall by default."""
    canned = Canned({"s3.ListBuckets": lambda call: None})
    with botoware.install(session, plugins=[canned], autoload=False):
        with pytest.raises(UnansweredCall, match=r"s3\.ListBuckets"):
            _nowhere(session, "s3").list_buckets()


@BOTH_KINDS
def test_declined_answer_is_sent_with_passthrough(session: boto3.Session, client: Any) -> None:
    """With passthrough=True a function returning None lets the request go out."""
    canned = Canned(
        {"s3.HeadBucket": lambda call: None if call.params["Bucket"] == "real" else {}},
        passthrough=True,
    )
    with botoware.install(session, plugins=[canned], autoload=False):
        s3 = client("s3")
        s3.head_bucket(Bucket="fake")
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket="real")
    assert canned.answered["s3.HeadBucket"] == 1


def test_service_wide_keys_and_precedence(session: boto3.Session) -> None:
    """service.Operation beats service.*; service.* answers the service's other operations."""
    canned = Canned({"sqs.*": error("Unavailable", 503), "sqs.ListQueues": {"QueueUrls": []}})
    with botoware.install(session, plugins=[canned], autoload=False):
        sqs = session.client("sqs", endpoint_url=NOWHERE, config=ONE_ATTEMPT)
        assert sqs.list_queues().get("QueueUrls", []) == []
        with pytest.raises(ClientError, match="Unavailable"):
            sqs.get_queue_url(QueueName="q")


def test_canned_is_scoped_to_its_keys() -> None:
    """Canned declares its keys as botoware_scope, so other calls never reach it."""
    assert Canned({"s3.ListBuckets": {}, "sqs.*": {}}).botoware_scope == ("s3.ListBuckets", "sqs.*")


def test_unknown_member_fails_the_call(session: boto3.Session) -> None:
    """A misspelt member in a constant answer fails loudly instead of vanishing."""
    canned = Canned({"sqs.GetQueueAttributes": {"Atributes": {}}})
    with botoware.install(session, plugins=[canned], autoload=False):
        with pytest.raises(ValueError, match="Atributes"):
            _nowhere(session, "sqs").get_queue_attributes(QueueUrl=QUEUE_URL)


def test_bad_key_is_refused() -> None:
    """Keys use botocore's hyphenized service id and the operation name."""
    with pytest.raises(ValueError, match=r"no service 'SQS'; did you mean 'sqs'"):
        Canned({"SQS.GetQueueAttributes": {}})


def test_threads_share_one_canned(session: boto3.Session) -> None:
    """Eight threads sharing one client get every answer; the counts are exact."""
    canned = Canned({"dynamodb.GetItem": {"Item": {"pk": {"S": "a"}}}})
    errors: list[BaseException] = []
    with botoware.install(session, plugins=[canned], autoload=False):
        ddb = _nowhere(session, "dynamodb")

        def work() -> None:
            try:
                for _ in range(25):
                    item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
                    assert item == {"pk": {"S": "a"}}
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and canned.answered["dynamodb.GetItem"] == 200


# ---- Stubber-style queues and expected parameters -------------------------------------


def test_a_list_is_a_queue_of_answers_in_order(session: boto3.Session) -> None:
    """Each call takes the next answer of a list, as with Stubber."""
    canned = Canned({"sqs.ReceiveMessage": [{"Messages": [{"Body": "a"}]}, {"Messages": []}]})
    with botoware.install(session, plugins=[canned], autoload=False):
        sqs = _nowhere(session, "sqs")
        first = sqs.receive_message(QueueUrl=QUEUE_URL)
        second = sqs.receive_message(QueueUrl=QUEUE_URL)
    assert [m["Body"] for m in first["Messages"]] == ["a"]
    assert second.get("Messages", []) == []


def test_a_used_up_queue_fails_the_call(session: boto3.Session) -> None:
    """A call after the last queued answer raises UnansweredCall instead of being sent."""
    canned = Canned({"sqs.ListQueues": [{"QueueUrls": []}]})
    with botoware.install(session, plugins=[canned], autoload=False):
        sqs = _nowhere(session, "sqs")
        sqs.list_queues()
        with pytest.raises(UnansweredCall, match=r"1 queued Canned answers for sqs\.ListQueues"):
            sqs.list_queues()


def test_a_retried_attempt_takes_the_next_queued_answer(session: boto3.Session) -> None:
    """A throttling error in the queue is retried by botocore, and the retry gets the next one."""
    canned = Canned({"sqs.ListQueues": [error("RequestThrottled", 403), {"QueueUrls": ["q"]}]})
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with botoware.install(session, plugins=[canned], autoload=False):
        response = session.client("sqs", endpoint_url=NOWHERE, config=config).list_queues()
    assert response["QueueUrls"] == ["q"]
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_expected_params_mismatch_shows_a_diff(session: boto3.Session) -> None:
    """reply(..., expected_params) fails a call with other parameters, naming each difference."""
    canned = Canned(
        {"sqs.SendMessage": reply({"MessageId": "1"}, {"QueueUrl": ANY, "MessageBody": "hi"})}
    )
    with botoware.install(session, plugins=[canned], autoload=False):
        sqs = _nowhere(session, "sqs")
        with pytest.raises(UnexpectedParams) as caught:
            sqs.send_message(QueueUrl=QUEUE_URL, MessageBody="bye", DelaySeconds=5)
    message = str(caught.value)
    assert "MessageBody: expected 'hi', passed 'bye'" in message
    assert "DelaySeconds: passed 5, not expected" in message


def test_expected_params_match_serves_the_answer(session: boto3.Session) -> None:
    """Matching parameters (ANY for any value) get the reply's answer."""
    canned = Canned(
        {"sqs.SendMessage": reply({"MessageId": "1"}, {"QueueUrl": ANY, "MessageBody": "hi"})}
    )
    with botoware.install(session, plugins=[canned], autoload=False):
        response = _nowhere(session, "sqs").send_message(QueueUrl=QUEUE_URL, MessageBody="hi")
    assert response["MessageId"] == "1"


def test_assert_all_used_names_the_unused_answers(session: boto3.Session) -> None:
    """assert_all_used raises while a queue has answers left, and passes once they are taken."""
    canned = Canned({"sqs.ListQueues": [{"QueueUrls": []}, {"QueueUrls": []}]})
    with botoware.install(session, plugins=[canned], autoload=False):
        sqs = _nowhere(session, "sqs")
        sqs.list_queues()
        with pytest.raises(AssertionError, match=r"sqs\.ListQueues: 1 of 2 left"):
            canned.assert_all_used()
        sqs.list_queues()
    canned.assert_all_used()


def test_boto3_client_name_means_botocores_service_id(session: boto3.Session) -> None:
    """A "secretsmanager" key answers calls of service id "secrets-manager"."""
    canned = Canned({"secretsmanager.GetSecretValue": {"SecretString": "s"}})
    assert canned.botoware_scope == ("secrets-manager.GetSecretValue",)
    with botoware.install(session, plugins=[canned], autoload=False):
        client = _nowhere(session, "secretsmanager")
        assert client.get_secret_value(SecretId="x")["SecretString"] == "s"
