"""botoware.testing.Cassette: record against moto on loopback, replay with the server gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

import botoware
from botoware.testing import (
    REDACTED,
    Cassette,
    Faults,
    Mode,
    Recorder,
    UnrecordedCall,
    throttle,
)
from tests.conftest import CREDENTIALS

BUCKET = "cassette-bucket"
PAYLOAD = bytes(range(256)) * 40  # 10 KiB, not UTF-8: written as base64
SECRET = "hunter2-correct-horse-battery"
ROLE = "arn:aws:iam::123456789012:role/reader"

Recorded = tuple[Path, str, dict[str, Any]]


def _scenario(session: boto3.Session, endpoint: str, tmp: Path) -> dict[str, Any]:
    """Everything the replay tests replay: what the user's code saw, for comparison."""
    s3 = session.client("s3", endpoint_url=endpoint)
    seen: dict[str, Any] = {}
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="blob", Body=PAYLOAD)
    for i in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"page/{i}", Body=b"x")
    seen["body"] = s3.get_object(Bucket=BUCKET, Key="blob")["Body"].read()
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="page/", PaginationConfig={"PageSize": 2}
    )
    seen["pages"] = [[o["Key"] for o in page["Contents"]] for page in pages]
    s3.get_waiter("object_exists").wait(Bucket=BUCKET, Key="blob")
    resource = session.resource("s3", endpoint_url=endpoint)
    seen["resource"] = sorted(o.key for o in resource.Bucket(BUCKET).objects.filter(Prefix="page/"))
    source = tmp / "upload.bin"
    source.write_bytes(PAYLOAD)
    s3.upload_file(str(source), BUCKET, "uploaded")
    s3.download_file(BUCKET, "uploaded", str(tmp / "download.bin"))
    seen["download"] = (tmp / "download.bin").read_bytes()
    try:
        s3.get_object(Bucket=BUCKET, Key="missing")
    except s3.exceptions.NoSuchKey as exc:
        seen["error"] = exc.response["Error"]["Code"]
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    secrets.create_secret(Name="db-password", SecretString=SECRET)
    seen["secret_arn"] = secrets.get_secret_value(SecretId="db-password")["ARN"]
    sts = session.client("sts", endpoint_url=endpoint)
    seen["role"] = sts.assume_role(RoleArn=ROLE, RoleSessionName="cassette")["AssumedRoleUser"]
    return seen


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """A cassette of the scenario recorded against a moto server that is stopped afterwards.

    Yields the cassette path, the server's (now closed) URL and what the code saw then.
    """
    tmp = tmp_path_factory.mktemp("cassette")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    path = tmp / "scenario.json"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
            patch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
            patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
            session = boto3.Session(**CREDENTIALS)
            with Cassette(path, mode="once").use(session):
                seen = _scenario(session, url, tmp)
    finally:
        server.stop()
    yield path, url, seen


def _replay(path: Path, **kwargs: Any) -> tuple[boto3.Session, Cassette]:
    return boto3.Session(**CREDENTIALS), Cassette(path, mode="none", **kwargs)


def test_replay_with_the_server_stopped_gives_what_recording_saw(
    recorded: tuple[Path, str, dict[str, Any]], tmp_path: Path
) -> None:
    """The whole scenario replays against the stopped server's URL and returns the same data."""
    path, url, seen = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        replayed = _scenario(session, url, tmp_path)
    assert replayed == seen
    assert cassette.unplayed == []


def test_streaming_body_is_byte_equal_and_was_left_to_the_user(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """GetObject's body replays byte for byte; while recording the user still read all of it."""
    path, url, seen = recorded
    assert seen["body"] == PAYLOAD
    session, cassette = _replay(path)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        assert s3.get_object(Bucket=BUCKET, Key="blob")["Body"].read() == PAYLOAD


def test_paginator_replays_every_page(recorded: tuple[Path, str, dict[str, Any]]) -> None:
    """Each page is matched by its continuation token, so the pages come back in order."""
    path, url, seen = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix="page/", PaginationConfig={"PageSize": 2}
        )
        assert [[o["Key"] for o in p["Contents"]] for p in pages] == seen["pages"]
    assert seen["pages"] == [["page/0", "page/1"], ["page/2", "page/3"], ["page/4"]]


def test_cassette_holds_no_secrets(recorded: tuple[Path, str, dict[str, Any]]) -> None:
    """Neither credentials, signatures, tokens nor secret values are written to the file."""
    path, _, _ = recorded
    text = path.read_text()
    for needle in (
        CREDENTIALS["aws_access_key_id"],
        CREDENTIALS["aws_secret_access_key"],
        SECRET,
        "Authorization",
        "AWS4-HMAC-SHA256",
        "Signature",
        "X-Amz-Security-Token",
        "x-amz-date",
    ):
        assert needle.lower() not in text.lower(), needle
    records = json.loads(text)["interactions"]
    (assumed,) = [r for r in records if r["operation"] == "AssumeRole"]
    credentials = assumed["response"]["Credentials"]
    assert credentials["SecretAccessKey"] == REDACTED
    assert credentials["SessionToken"] == REDACTED
    (created,) = [r for r in records if r["operation"] == "CreateSecret"]
    assert created["params"]["SecretString"] == REDACTED


def test_cassette_is_readable_json(recorded: tuple[Path, str, dict[str, Any]]) -> None:
    """Records name service, operation and parameters and hold the parsed response."""
    path, _, _ = recorded
    records = json.loads(path.read_text())["interactions"]
    first = records[0]
    assert first["service"] == "s3"
    assert first["operation"] == "CreateBucket"
    assert first["params"] == {"Bucket": BUCKET}
    assert first["status"] == 200
    (missing,) = [r for r in records if r["params"].get("Key") == "missing"]
    assert missing["error"]["Code"] == "NoSuchKey"
    assert missing["status"] == 404


def test_replay_needs_no_credentials(
    recorded: tuple[Path, str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no credentials anywhere, replay signs with placeholders and works."""
    path, url, _ = recorded
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    session = boto3.Session(region_name="eu-west-1")  # another region than recorded, too
    assert session.get_credentials() is None
    with Cassette(path, mode="none").use(session):
        response = session.client("s3", endpoint_url=url).head_object(Bucket=BUCKET, Key="blob")
    assert response["ContentLength"] == len(PAYLOAD)


def test_unmatched_call_names_it_and_the_closest_record(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """A call the cassette lacks fails before sending, naming the closest recorded call."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        with pytest.raises(UnrecordedCall) as caught:
            s3.get_object(Bucket=BUCKET, Key="blobb")
    message = str(caught.value)
    assert 's3.GetObject {"Bucket": "cassette-bucket", "Key": "blobb"}' in message
    assert "closest recorded: s3.GetObject" in message
    assert "differs in Key" in message
    assert "Nothing was sent" in message


def test_unmatched_operation_names_the_closest_operation(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """An operation the cassette never saw is refused with the nearest recorded one."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        with pytest.raises(UnrecordedCall, match=r"closest recorded: s3\.\w+"):
            s3.list_buckets()


def test_unmatched_call_sends_nothing(recorded: tuple[Path, str, dict[str, Any]]) -> None:
    """No before_send runs for an unmatched call: it ends before any request exists."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    recorder = Recorder()
    with cassette.use(session, recorder):
        with pytest.raises(UnrecordedCall):
            session.client("s3", endpoint_url=url).list_buckets()
    assert recorder.count("before_send") == 0
    assert recorder.errors("after_call_error") == ["UnrecordedCall"]


def test_repeats_beyond_the_recording_are_refused(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """An identical call replays once per record; one more is an error naming the count."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        s3.create_bucket(Bucket=BUCKET)
        with pytest.raises(UnrecordedCall, match=r"recorded 1 time\(s\) and each was replayed"):
            s3.create_bucket(Bucket=BUCKET)


def test_allow_repeats_replays_the_last_record_again(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """With allow_repeats, calls past the recorded ones get the last answer."""
    path, url, _ = recorded
    session, cassette = _replay(path, allow_repeats=True)
    with cassette.use(session):
        s3 = session.client("s3", endpoint_url=url)
        for _ in range(3):
            assert s3.create_bucket(Bucket=BUCKET)["Location"] == f"/{BUCKET}"


def test_faults_still_drive_retries_during_replay(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """Replay answers at before_send: an injected throttle is retried, then the record serves."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    faults = Faults({"s3.HeadObject": [throttle(), None]}, sleep=lambda s: None)
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    with cassette.use(session, faults):
        s3 = session.client("s3", endpoint_url=url, config=config)
        response = s3.head_object(Bucket=BUCKET, Key="blob")
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert faults.count("throttle") == 1


def test_assert_all_played_names_what_was_not_replayed(
    recorded: tuple[Path, str, dict[str, Any]],
) -> None:
    """Records no call replayed are listed by assert_all_played."""
    path, url, _ = recorded
    session, cassette = _replay(path)
    with cassette.use(session):
        session.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    with pytest.raises(AssertionError, match=r"never replayed: s3\.PutObject"):
        cassette.assert_all_played()


# ---- modes, against the shared moto server -------------------------------------------


def _queue(session: boto3.Session, moto_url: str, name: str) -> tuple[Any, str]:
    sqs = session.client("sqs", endpoint_url=moto_url)
    return sqs, sqs.create_queue(QueueName=name)["QueueUrl"]


def _messages(moto_url: str, url: str) -> int:
    sqs = boto3.Session(**CREDENTIALS).client("sqs", endpoint_url=moto_url)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_mode_none_needs_the_file(tmp_path: Path) -> None:
    """mode='none' without a cassette file fails at once, saying how to record it."""
    with pytest.raises(botoware.ConfigurationError, match=r"--botoware-record"):
        Cassette(tmp_path / "absent.json", mode="none")


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    """A mode outside once/none/new_episodes/all is a ConfigurationError naming them."""
    with pytest.raises(botoware.ConfigurationError, match=r"'new_episodes'"):
        Cassette(tmp_path / "c.json", mode="rewrite")  # type: ignore[arg-type]


def test_mode_once_records_when_missing_then_only_replays(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """'once' records into a new file; the next run replays it and refuses anything new."""
    path = tmp_path / "once.json"
    with Cassette(path, mode="once").use(session):
        sqs, url = _queue(session, moto_url, "once-queue")
        sqs.send_message(QueueUrl=url, MessageBody="first")
    assert path.exists()
    assert _messages(moto_url, url) == 1
    again = Cassette(path, mode="once")
    assert (again.recording, again.replaying) == (False, True)
    with again.use(session):
        sqs, _ = _queue(session, moto_url, "once-queue")
        sqs.send_message(QueueUrl=url, MessageBody="first")
        with pytest.raises(UnrecordedCall):
            sqs.send_message(QueueUrl=url, MessageBody="second")
    assert _messages(moto_url, url) == 1


def test_mode_new_episodes_replays_matches_and_records_the_rest(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """'new_episodes' sends only calls the cassette lacks, and appends them to the file."""
    path = tmp_path / "episodes.json"
    with Cassette(path, mode="once").use(session):
        sqs, url = _queue(session, moto_url, "episodes-queue")
        sqs.send_message(QueueUrl=url, MessageBody="first")
    cassette = Cassette(path, mode="new_episodes")
    with cassette.use(session):
        sqs, _ = _queue(session, moto_url, "episodes-queue")
        sqs.send_message(QueueUrl=url, MessageBody="first")
        sqs.send_message(QueueUrl=url, MessageBody="second")
    assert cassette.played == 2
    assert _messages(moto_url, url) == 2  # "first" went out once, when recorded
    bodies = [r["params"].get("MessageBody") for r in json.loads(path.read_text())["interactions"]]
    assert bodies == [None, "first", "second"]


def test_mode_all_records_everything_again(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """'all' sends every call and replaces the file with just this run's records."""
    path = tmp_path / "all.json"
    with Cassette(path, mode="once").use(session):
        sqs, url = _queue(session, moto_url, "all-queue")
        sqs.send_message(QueueUrl=url, MessageBody="old")
    cassette = Cassette(path, mode="all")
    assert (cassette.recording, cassette.replaying) == (True, False)
    with cassette.use(session):
        sqs, _ = _queue(session, moto_url, "all-queue")
        sqs.send_message(QueueUrl=url, MessageBody="new")
    assert _messages(moto_url, url) == 2
    bodies = [r["params"].get("MessageBody") for r in json.loads(path.read_text())["interactions"]]
    assert bodies == [None, "new"]


def test_ignored_parameters_do_not_take_part_in_matching(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """A parameter named in ignore may differ between recording and replay."""
    path = tmp_path / "ignore.json"
    ignore = {"sqs.SendMessage": ["MessageBody"]}
    with Cassette(path, mode="once", ignore=ignore).use(session):
        sqs, url = _queue(session, moto_url, "ignore-queue")
        sqs.send_message(QueueUrl=url, MessageBody="at 12:00")
    with Cassette(path, mode="none", ignore=ignore).use(session):
        sqs, _ = _queue(session, moto_url, "ignore-queue")
        sqs.send_message(QueueUrl=url, MessageBody="at 12:01")
    assert _messages(moto_url, url) == 1


def test_configured_secret_fields_are_redacted(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """Member names passed as secrets are redacted in parameters and responses."""
    path = tmp_path / "secrets.json"
    with Cassette(path, mode="once", secrets=["MessageBody", "Body"]).use(session):
        sqs, url = _queue(session, moto_url, "secret-queue")
        sqs.send_message(QueueUrl=url, MessageBody="card 4111-1111")
        sqs.receive_message(QueueUrl=url)
    text = path.read_text()
    assert "4111" not in text
    assert REDACTED in text


def test_bad_cassette_file_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is no botoware cassette is refused, saying what to do."""
    path = tmp_path / "vcr.json"
    path.write_text('{"interactions": []}')
    with pytest.raises(botoware.ConfigurationError, match=r"no botoware cassette"):
        Cassette(path, mode="none")


def test_credential_calls_are_not_recorded(
    moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An assume-role profile's STS call, made while signing the user's call, is not recorded."""
    config = tmp_path / "config"
    config.write_text(
        "[profile base]\n"
        f"aws_access_key_id = {CREDENTIALS['aws_access_key_id']}\n"
        f"aws_secret_access_key = {CREDENTIALS['aws_secret_access_key']}\n"
        "[profile reader]\n"
        f"role_arn = {ROLE}\n"
        "source_profile = base\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_url)
    session = boto3.Session(profile_name="reader", region_name="us-east-1")
    recorder = Recorder()
    path = tmp_path / "role.json"
    with Cassette(path, mode="once").use(session, recorder):
        session.client("s3", endpoint_url=moto_url).list_buckets()
    assert ("after_call", "sts", "AssumeRole", 1) in recorder.events
    records = json.loads(path.read_text())["interactions"]
    assert [r["operation"] for r in records] == ["ListBuckets"]


def test_sensitive_members_of_the_model_are_redacted(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """KMS Plaintext, marked sensitive in botocore's model, is never written; replay works."""
    path = tmp_path / "kms.json"
    with Cassette(path, mode="once").use(session):
        kms = session.client("kms", endpoint_url=moto_url)
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"launch-code-0000")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"launch-code-0000"
    assert "launch-code" not in path.read_text()
    with Cassette(path, mode="none").use(session):
        kms = session.client("kms", endpoint_url="http://127.0.0.1:9")
        kms.create_key()
        kms.encrypt(KeyId=key, Plaintext=b"launch-code-0000")
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == REDACTED.encode()


def test_unreplayable_record_says_why(tmp_path: Path, session: boto3.Session) -> None:
    """A record marked unsupported (an event stream) fails its replay with the reason."""
    path = tmp_path / "stream.json"
    record = {
        "service": "s3",
        "operation": "ListBuckets",
        "params": {},
        "status": 200,
        "unsupported": "event-stream responses are not recorded",
    }
    path.write_text(json.dumps({"botoware_cassette": 1, "interactions": [record]}))
    with Cassette(path, mode="none").use(session):
        s3 = session.client("s3", endpoint_url="http://127.0.0.1:9")
        with pytest.raises(NotImplementedError, match=r"event-stream responses are not recorded"):
            s3.list_buckets()


def test_multipart_transfers_replay_in_any_order(
    session: boto3.Session, moto_url: str, tmp_path: Path
) -> None:
    """Concurrent multipart uploads and ranged downloads replay, whatever order threads take."""
    from boto3.s3.transfer import TransferConfig

    mib = 1024 * 1024
    data = bytes(range(256)) * (6 * mib // 256)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * mib, multipart_chunksize=5 * mib)
    path = tmp_path / "multipart.json"
    runs: list[tuple[str, Mode]] = [(moto_url, "once"), ("http://127.0.0.1:9", "none")]
    for endpoint, mode in runs:
        target = tmp_path / f"down-{mode}.bin"
        with Cassette(path, mode=mode).use(session):
            s3 = session.client("s3", endpoint_url=endpoint)
            s3.create_bucket(Bucket="multipart-bucket")
            s3.upload_file(str(source), "multipart-bucket", "big", Config=config)
            s3.download_file("multipart-bucket", "big", str(target), Config=config)
        assert target.read_bytes() == data
    operations = [r["operation"] for r in json.loads(path.read_text())["interactions"]]
    assert operations.count("UploadPart") == 2
    assert operations.count("GetObject") == 2
