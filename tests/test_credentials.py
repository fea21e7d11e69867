"""The JSON-file credential provider with real clients against moto: refresh, errors, placement."""

from __future__ import annotations

import datetime
import json
import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import botocore.exceptions
import pytest
from prometheus_client import CollectorRegistry

import botoware
from botoware import ConfigurationError
from botoware.plugins.credentials import (
    ENV_VAR,
    CredentialsFileError,
    JsonFileCredentials,
    plugin,
)

ENV_KEY = "AKIDEXAMPLEBOTOWARE1"  # what tests/conftest.py puts in the environment
START = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


class _Clock:
    """The plugin's ``now``: an aware datetime that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += datetime.timedelta(**delta)


class _File:
    """The credentials file, written the way a sidecar would."""

    def __init__(self, path: Path, clock: _Clock) -> None:
        self.path = path
        self.clock = clock

    def write(self, key: str, *, minutes: float | None = 60, **extra: Any) -> None:
        document: dict[str, Any] = {
            "Version": 1,
            "AccessKeyId": key,
            "SecretAccessKey": f"secret-of-{key}",
            "SessionToken": f"token-of-{key}",
        }
        if minutes is not None:
            expiry = self.clock.now + datetime.timedelta(minutes=minutes)
            document["Expiration"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        document.update(extra)
        self.path.write_text(json.dumps({k: v for k, v in document.items() if v is not None}))


class _Signed:
    """Records the access key id each request was signed with (from its Authorization)."""

    botoware_name = "signed"

    def __init__(self) -> None:
        self.keys: list[str] = []

    def botoware_before_send(self, request: Any) -> None:
        header = request.headers["Authorization"].decode()
        self.keys.append(header.split("Credential=")[1].split("/")[0])


@pytest.fixture
def clock() -> _Clock:
    """A fake clock for credential expiry."""
    return _Clock()


@pytest.fixture
def creds_file(tmp_path: Path, clock: _Clock) -> _File:
    """A credentials file holding AKIDFILE1 keys that expire in an hour."""
    file = _File(tmp_path / "aws-credentials.json", clock)
    file.write("AKIDFILE1")
    return file


@pytest.fixture
def plain_session() -> boto3.Session:
    """A session that resolves credentials through botocore's chain (env vars: ENV_KEY)."""
    return boto3.Session(region_name="us-east-1")


def _plugin(file: _File, **kwargs: Any) -> JsonFileCredentials:
    kwargs.setdefault("registry", CollectorRegistry())
    return JsonFileCredentials(file.path, now=file.clock, **kwargs)


def _chain(session: boto3.Session) -> list[str]:
    resolver = session._session.get_component("credential_provider")
    return [provider.METHOD for provider in resolver.providers]


# -------------------------------------------------------------------------------------------
# Keys and refresh
# -------------------------------------------------------------------------------------------


def test_clients_sign_with_the_file_keys(
    plain_session: boto3.Session, moto_url: str, creds_file: _File
) -> None:
    """Placed first, the file's keys sign the calls although env vars hold other keys."""
    signed = _Signed()
    with botoware.install(plain_session, plugins=[signed, _plugin(creds_file)], autoload=False):
        plain_session.client("s3", endpoint_url=moto_url).list_buckets()
    assert signed.keys == ["AKIDFILE1"]


def test_every_client_sees_refreshed_keys(
    plain_session: boto3.Session, moto_url: str, creds_file: _File, clock: _Clock
) -> None:
    """Two clients; the file is rewritten and the margin reached: both sign with the new keys."""
    signed = _Signed()
    with botoware.install(plain_session, plugins=[signed, _plugin(creds_file)], autoload=False):
        s3 = plain_session.client("s3", endpoint_url=moto_url)
        sqs = plain_session.client("sqs", endpoint_url=moto_url)
        s3.list_buckets()
        sqs.list_queues()
        creds_file.write("AKIDFILE2", minutes=120)
        clock.advance(minutes=56)  # 4 minutes left: inside the 5-minute refresh margin
        s3.list_buckets()
        sqs.list_queues()
    assert signed.keys == ["AKIDFILE1", "AKIDFILE1", "AKIDFILE2", "AKIDFILE2"]


def test_file_is_not_reread_before_the_margin(
    plain_session: boto3.Session, moto_url: str, creds_file: _File, clock: _Clock
) -> None:
    """A rewrite is picked up when the keys near expiry, not at every call."""
    signed = _Signed()
    with botoware.install(plain_session, plugins=[signed, _plugin(creds_file)], autoload=False):
        s3 = plain_session.client("s3", endpoint_url=moto_url)
        creds_file.write("AKIDFILE2", minutes=120)
        clock.advance(minutes=54)  # 6 minutes left
        s3.list_buckets()
    assert signed.keys == ["AKIDFILE1"]


def test_concurrent_refresh_reads_the_file_once(
    plain_session: boto3.Session, creds_file: _File, clock: _Clock
) -> None:
    """Eight threads needing fresh keys at once: one refresh, and all get the new keys."""
    registry = CollectorRegistry()
    with botoware.install(
        plain_session, plugins=[_plugin(creds_file, registry=registry)], autoload=False
    ):
        credentials = plain_session.get_credentials()
        creds_file.write("AKIDFILE2", minutes=120)
        clock.advance(minutes=59)  # inside the mandatory half of the margin: everyone waits
        barrier, seen = threading.Barrier(8), []

        def use() -> None:
            barrier.wait()
            seen.append(credentials.get_frozen_credentials().access_key)

        threads = [threading.Thread(target=use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen == ["AKIDFILE2"] * 8
    labels = {"provider": "botoware-json-file", "outcome": "success"}
    assert registry.get_sample_value("aws_credentials_refreshes_total", labels) == 2  # load + 1


def test_failed_early_refresh_keeps_the_current_keys(
    plain_session: boto3.Session,
    moto_url: str,
    creds_file: _File,
    clock: _Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken file in the first half of the margin: calls go on with the keys they have."""
    signed = _Signed()
    with botoware.install(plain_session, plugins=[signed, _plugin(creds_file)], autoload=False):
        s3 = plain_session.client("s3", endpoint_url=moto_url)
        creds_file.path.write_text('{"AccessKeyId": ')  # a sidecar caught mid-write
        clock.advance(minutes=56)
        with caplog.at_level(logging.WARNING):
            s3.list_buckets()
        creds_file.write("AKIDFILE2", minutes=60)
        s3.list_buckets()
    assert signed.keys == ["AKIDFILE1", "AKIDFILE2"]
    assert any("advisory refresh" in record.getMessage() for record in caplog.records)


def test_keys_left_to_expire_fail_the_call_naming_the_file(
    plain_session: boto3.Session, moto_url: str, creds_file: _File, clock: _Clock
) -> None:
    """Nobody rewrote the file and its keys expired: the call fails with an error naming it."""
    with botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False):
        s3 = plain_session.client("s3", endpoint_url=moto_url)
        clock.advance(minutes=61)
        with pytest.raises(CredentialsFileError, match="expired at 2030-01-01T01:00:00") as info:
            s3.list_buckets()
    assert str(creds_file.path) in str(info.value)


def test_file_without_expiration_gives_static_credentials(
    plain_session: boto3.Session, creds_file: _File
) -> None:
    """No Expiration: plain botocore Credentials from the file, named after the provider."""
    creds_file.write("AKIDSTATIC", minutes=None)
    with botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False):
        credentials = plain_session.get_credentials()
    assert not isinstance(credentials, botocore.credentials.RefreshableCredentials)
    assert (credentials.access_key, credentials.method) == ("AKIDSTATIC", "botoware-json-file")


def test_container_credentials_format_is_accepted(
    plain_session: boto3.Session, creds_file: _File
) -> None:
    """The container-credentials spelling (Token, extra fields, no Version) works too."""
    creds_file.write(
        "AKIDCONTAINER", Version=None, SessionToken=None, Token="the-token", Code="Success"
    )
    with botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False):
        frozen = plain_session.get_credentials().get_frozen_credentials()
    assert (frozen.access_key, frozen.token) == ("AKIDCONTAINER", "the-token")


# -------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------


def test_missing_required_file_is_an_error_not_a_fallback(
    plain_session: boto3.Session, moto_url: str, tmp_path: Path, clock: _Clock
) -> None:
    """required=True and no file: creating a client fails naming the file; env keys unused."""
    file = _File(tmp_path / "absent.json", clock)
    with botoware.install(plain_session, plugins=[_plugin(file)], autoload=False):
        with pytest.raises(CredentialsFileError) as info:
            plain_session.client("s3", endpoint_url=moto_url)
    assert str(file.path) in str(info.value) and "does not exist" in str(info.value)
    assert isinstance(info.value, botocore.exceptions.CredentialRetrievalError)
    assert isinstance(info.value, botoware.BotowareError)


_KEYS = '"AccessKeyId": "AKIDX", "SecretAccessKey": "s3cr3t"'
_ISO = 'expected an ISO 8601 timestamp such as "2030-01-01T00:00:00Z"'
_STRING = "expected a non-empty string"

# (id, file content, what the error says): content None is a directory, a callable makes
# the path some other way.
MALFORMED: list[tuple[str, Any, str]] = [
    ("truncated JSON", "{" + _KEYS, "is not valid JSON: Expecting ',' delimiter (line 1,"),
    ("empty file", "", "is not valid JSON: Expecting value (line 1, column 1)"),
    ("nested too deeply", "[" * 5000, "it nests arrays or objects too deeply"),
    ("a number too long", '{"AccessKeyId": ' + "7" * 5000 + "}", "a number with too many"),
    ("not UTF-8", b"\xff\xfe\x00AKIDX", "is not UTF-8 text"),
    ("an array", '["AKIDX", "s3cr3t"]', "holds a JSON array; expected an object with AccessKeyId"),
    ("null", "null", "holds a JSON null; expected an object"),
    ("a string", '"AKIDX s3cr3t"', "holds a JSON string; expected an object"),
    ("no AccessKeyId", '{"SecretAccessKey": "s3cr3t"}', f"has no AccessKeyId; {_STRING}"),
    ("no SecretAccessKey", '{"AccessKeyId": "AKIDX"}', f"has no SecretAccessKey; {_STRING}"),
    (
        "a number for a key",
        '{"AccessKeyId": "AKIDX", "SecretAccessKey": 7}',
        f"has a SecretAccessKey that is a JSON number; {_STRING}",
    ),
    (
        "an empty key",
        '{"AccessKeyId": "", "SecretAccessKey": "s3cr3t"}',
        f"has an empty AccessKeyId; {_STRING}",
    ),
    (
        "a key with a line break",
        '{"AccessKeyId": "AKIDX\\nX-Evil: 1", "SecretAccessKey": "s3cr3t"}',
        "has an AccessKeyId holding a space, line break, control or non-ASCII character",
    ),
    (
        "a non-ASCII token",
        "{" + _KEYS + ', "SessionToken": "t\u00f6ken"}',
        "has a SessionToken holding a space, line break, control or non-ASCII character",
    ),
    (
        "an empty token",
        "{" + _KEYS + ', "SessionToken": ""}',
        f"has an empty SessionToken; {_STRING}",
    ),
    (
        "an array for Token",
        "{" + _KEYS + ', "Token": ["AKIDX"]}',
        f"has a Token that is a JSON array; {_STRING}",
    ),
    ("Version 2", '{"Version": 2, ' + _KEYS + "}", "has Version 2; expected 1, the only"),
    (
        "Version a string",
        '{"Version": "1", ' + _KEYS + "}",
        "Version that is a JSON string; expected 1",
    ),
    ("Version true", '{"Version": true, ' + _KEYS + "}", "Version that is a JSON true; expected 1"),
    (
        "AccountId a number",
        "{" + _KEYS + ', "AccountId": 123456789012}',
        "AccountId that is a JSON number; expected the 12 digits of an AWS account id as a string",
    ),
    (
        "AccountId too short",
        "{" + _KEYS + ', "AccountId": "1234"}',
        "AccountId that is not 12 digits",
    ),
    (
        "Expiration 1e20",
        "{" + _KEYS + ', "Expiration": "1e20"}',
        f"has an Expiration botoware cannot read as ISO 8601; {_ISO}",
    ),
    ("Expiration inf", "{" + _KEYS + ', "Expiration": "inf"}', "cannot read as ISO 8601"),
    ("Expiration soon", "{" + _KEYS + ', "Expiration": "soon"}', "cannot read as ISO 8601"),
    ("Expiration epoch", "{" + _KEYS + ', "Expiration": "1893456000"}', "cannot read as ISO 8601"),
    (
        "Expiration offset of 99 hours",
        "{" + _KEYS + ', "Expiration": "2030-01-01T00:00:00+99:00"}',
        "cannot read as ISO 8601",
    ),
    (
        "Expiration past year 9999 in UTC",
        "{" + _KEYS + ', "Expiration": "9999-12-31T23:00:00-05:00"}',
        f"has an Expiration that is out of range in UTC (years 1 to 9999); {_ISO}",
    ),
    (
        "Expiration a number",
        "{" + _KEYS + ', "Expiration": 1893456000}',
        f"has an Expiration that is a JSON number; {_ISO}",
    ),
    (
        "Expiration an object",
        "{" + _KEYS + ', "Expiration": {"at": "2030"}}',
        f"has an Expiration that is a JSON object; {_ISO}",
    ),
    ("Expiration empty", "{" + _KEYS + ', "Expiration": " "}', f"has an empty Expiration; {_ISO}"),
    (
        "expired",
        "{" + _KEYS + ', "Expiration": "2029-12-31T23:00:00Z"}',
        "expired at 2029-12-31T23:00:00+00:00",
    ),
    ("a directory", None, "is a directory; expected a JSON file"),
    ("a FIFO", os.mkfifo, "is not a regular file (a FIFO, socket or device); expected a JSON"),
    (
        "too large",
        lambda path: path.write_text("{" + _KEYS + "," + " " * 70_000 + "}"),
        "is larger than 65536 bytes; expected a small JSON document",
    ),
]


def _make(path: Path, content: Any) -> Path:
    """Put ``content`` at ``path`` as MALFORMED describes it."""
    if content is None:
        path.mkdir()
    elif callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(("case", "content", "problem"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_is_an_error_naming_it(
    plain_session: boto3.Session,
    tmp_path: Path,
    clock: _Clock,
    case: str,
    content: Any,
    problem: str,
) -> None:
    """Each kind of broken file fails naming the file, the field and what it should hold."""
    file = _File(_make(tmp_path / "aws.json", content), clock)
    with botoware.install(plain_session, plugins=[_plugin(file)], autoload=False):
        with pytest.raises(CredentialsFileError) as info:
            plain_session.get_credentials()
    message = str(info.value)
    assert f"credentials file {file.path} " in message and problem in message
    assert "AKIDX" not in message and "s3cr3t" not in message and "\n" not in message
    assert info.value.__context__ is None or "AKIDX" not in str(info.value.__context__)


def test_file_under_a_regular_file_cannot_be_read(
    plain_session: boto3.Session, tmp_path: Path, clock: _Clock
) -> None:
    """A path through a file (not a directory) fails with the OS's reason."""
    (tmp_path / "plain").write_text("{}")
    file = _File(tmp_path / "plain" / "aws.json", clock)
    with botoware.install(plain_session, plugins=[_plugin(file)], autoload=False):
        with pytest.raises(CredentialsFileError, match="cannot be read: Not a directory"):
            plain_session.get_credentials()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_an_error_naming_it(
    plain_session: boto3.Session, creds_file: _File
) -> None:
    """A file this process may not read fails with "Permission denied", not a fallback."""
    creds_file.path.chmod(0)
    with botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False):
        with pytest.raises(CredentialsFileError, match="cannot be read: Permission denied"):
            plain_session.get_credentials()


@pytest.mark.parametrize(
    "expiration",
    ["2030-01-01T02:00:00Z", "2030-01-01T02:00:00+00:00", "2030-01-01T03:00:00.123456+01:00"],
)
def test_iso_8601_expirations_are_read(
    plain_session: boto3.Session, creds_file: _File, expiration: str
) -> None:
    """ "Z", an offset and fractions of a second: refreshable keys expiring at that instant."""
    creds_file.write("AKIDFILE1", minutes=None, Expiration=expiration)
    with botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False):
        credentials = plain_session.get_credentials()
    assert credentials.access_key == "AKIDFILE1"
    expected = datetime.datetime(2030, 1, 1, 2, tzinfo=datetime.timezone.utc)
    assert abs(credentials._expiry_time - expected) < datetime.timedelta(seconds=1)


def test_missing_optional_file_lets_the_chain_continue(
    plain_session: boto3.Session, moto_url: str, tmp_path: Path, clock: _Clock
) -> None:
    """required=False and no file: the next provider (env) answers."""
    signed = _Signed()
    file = _File(tmp_path / "absent.json", clock)
    plugins = [signed, _plugin(file, required=False)]
    with botoware.install(plain_session, plugins=plugins, autoload=False):
        plain_session.client("s3", endpoint_url=moto_url).list_buckets()
    assert signed.keys == [ENV_KEY]


def test_broken_optional_file_warns_and_falls_back(
    plain_session: boto3.Session, creds_file: _File, caplog: pytest.LogCaptureFixture
) -> None:
    """required=False and a malformed file: a warning naming the file, then env keys."""
    creds_file.path.write_text("[]")
    with botoware.install(
        plain_session, plugins=[_plugin(creds_file, required=False)], autoload=False
    ):
        with caplog.at_level(logging.WARNING, logger="botoware"):
            credentials = plain_session.get_credentials()
    assert credentials.access_key == ENV_KEY
    (record,) = [r for r in caplog.records if r.name.startswith("botoware")]
    assert str(creds_file.path) in record.getMessage() and "required=False" in record.getMessage()


def test_error_pickles_with_its_path() -> None:
    """CredentialsFileError survives pickling (botocore errors travel between processes)."""
    error = pickle.loads(pickle.dumps(CredentialsFileError(Path("/x/aws.json"), "is odd")))
    assert (error.path, error.problem, str(error)) == (
        Path("/x/aws.json"),
        "is odd",
        "credentials file /x/aws.json is odd",
    )


# -------------------------------------------------------------------------------------------
# Placement in the chain, and what install/uninstall do to sessions and clients
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("placement", "index", "signer"),
    [
        ("first", 0, "AKIDFILE1"),
        ("before:env", 0, "AKIDFILE1"),
        ("after:env", 1, ENV_KEY),
        ("after:shared-credentials-file", None, ENV_KEY),
        ("last", -1, ENV_KEY),
    ],
)
def test_placement_in_the_chain(
    plain_session: boto3.Session,
    moto_url: str,
    creds_file: _File,
    placement: str,
    index: int | None,
    signer: str,
) -> None:
    """The provider lands where placed; a provider ahead of it that has keys wins."""
    signed = _Signed()
    plugins = [signed, _plugin(creds_file, placement=placement)]
    with botoware.install(plain_session, plugins=plugins, autoload=False):
        chain = _chain(plain_session)
        plain_session.client("s3", endpoint_url=moto_url).list_buckets()
    if index is None:
        anchor = chain.index("shared-credentials-file")
        assert chain[anchor + 1] == "botoware-json-file"
    else:
        assert chain[index] == "botoware-json-file"
    assert signed.keys == [signer]


@pytest.mark.parametrize("placement", ["after:env", "last"])
def test_later_placement_answers_when_nothing_before_does(
    plain_session: boto3.Session,
    moto_url: str,
    creds_file: _File,
    monkeypatch: pytest.MonkeyPatch,
    placement: str,
) -> None:
    """Without env keys the providers before it pass and the file's keys sign."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    signed = _Signed()
    plugins = [signed, _plugin(creds_file, placement=placement)]
    with botoware.install(plain_session, plugins=plugins, autoload=False):
        plain_session.client("s3", endpoint_url=moto_url).list_buckets()
    assert signed.keys == ["AKIDFILE1"]


def test_resolved_session_picks_up_the_new_chain(
    plain_session: boto3.Session, moto_url: str, creds_file: _File
) -> None:
    """A session that resolved env keys before install: new clients use the file's keys,
    a client created before install keeps the keys it was created with."""
    before = plain_session.client("s3", endpoint_url=moto_url)
    assert plain_session.get_credentials().method == "env"
    signed = _Signed()
    with botoware.install(plain_session, plugins=[signed, _plugin(creds_file)], autoload=False):
        after = plain_session.client("s3", endpoint_url=moto_url)
        after.list_buckets()
        before.list_buckets()
    assert signed.keys == ["AKIDFILE1", ENV_KEY]


def test_uninstall_restores_the_chain_for_new_clients(
    plain_session: boto3.Session, moto_url: str, creds_file: _File, clock: _Clock
) -> None:
    """After uninstall new clients resolve through botocore's chain again; a client created
    while installed keeps its refreshable keys, which still re-read the file."""
    signed = _Signed()
    install = botoware.install(plain_session, plugins=[_plugin(creds_file)], autoload=False)
    during = plain_session.client("s3", endpoint_url=moto_url)
    install.uninstall()
    assert "botoware-json-file" not in _chain(plain_session)
    creds_file.write("AKIDFILE2", minutes=120)
    clock.advance(minutes=58)
    with botoware.install(plain_session, plugins=[signed], autoload=False):
        plain_session.client("s3", endpoint_url=moto_url).list_buckets()
        during.list_buckets()
    assert signed.keys == [ENV_KEY, "AKIDFILE2"]


def test_explicit_session_credentials_survive_install(
    session: boto3.Session, creds_file: _File, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys passed to the Session outrank the chain, so a provider placed last changes nothing."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDOTHERENVKEY00001")
    explicit = session.get_credentials().access_key
    with botoware.install(session, plugins=[_plugin(creds_file, placement="last")], autoload=False):
        assert session.get_credentials().access_key == explicit


def test_two_files_in_one_chain(plain_session: boto3.Session, creds_file: _File) -> None:
    """Two plugins with distinct methods both join the chain, first one placed first."""
    other = _File(creds_file.path.with_name("other.json"), creds_file.clock)
    other.write("AKIDOTHER")
    plugins = [
        _plugin(creds_file, method="primary-file"),
        _plugin(other, method="backup-file", placement="after:primary-file"),
    ]
    with botoware.install(plain_session, plugins=plugins, autoload=False):
        assert _chain(plain_session)[:2] == ["primary-file", "backup-file"]
        assert plain_session.get_credentials().method == "primary-file"


# -------------------------------------------------------------------------------------------
# Construction and the built-in
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"placement": "middle"}, r"placement='middle'.*'before:NAME'"),
        ({"placement": "before:"}, r"placement='before:'"),
        ({"refresh_margin": 0}, r"refresh_margin=0.*seconds > 0"),
        ({"refresh_margin": float("inf")}, r"refresh_margin=inf"),
        ({"refresh_margin": 10**400}, r"refresh_margin=1000"),
        ({"required": "yes"}, r"required='yes'"),
        ({"method": ""}, r"method=''"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    """Malformed settings fail at construction with a ConfigurationError naming them."""
    with pytest.raises(ConfigurationError, match=message):
        JsonFileCredentials("/run/aws.json", registry=CollectorRegistry(), **kwargs)


def test_path_must_be_a_path() -> None:
    """A non-path argument is a ConfigurationError, not a TypeError deep in botocore."""
    with pytest.raises(ConfigurationError, match=r"JsonFileCredentials\(None\)"):
        JsonFileCredentials(None, registry=CollectorRegistry())  # type: ignore[arg-type]


def test_builtin_reads_its_path_from_the_environment(
    plain_session: boto3.Session, creds_file: _File, monkeypatch: pytest.MonkeyPatch
) -> None:
    """install(plugins=['credentials']) reads the file named by BOTOWARE_CREDENTIALS_FILE."""
    creds_file.write("AKIDBUILTIN", minutes=24 * 60 * 365 * 20)  # the real clock is earlier
    monkeypatch.setenv(ENV_VAR, str(creds_file.path))
    with botoware.install(plain_session, plugins=["credentials"], autoload=False) as installation:
        assert plain_session.get_credentials().access_key == "AKIDBUILTIN"
    assert installation.plugins == ["credentials"]
    assert plugin().path == creds_file.path


def test_builtin_without_its_variable_fails_clearly(plain_session: boto3.Session) -> None:
    """Without BOTOWARE_CREDENTIALS_FILE the built-in says which variable to set."""
    with pytest.raises(ConfigurationError, match="BOTOWARE_CREDENTIALS_FILE, which is not set"):
        botoware.install(plain_session, plugins=["credentials"], autoload=False)
