"""Strict keys: every key naming a service or operation is checked against botocore's models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

import botoware
from botoware._names import canonical_key
from botoware.plugins import BUILTINS
from botoware.plugins.retry import RetryPolicy
from botoware.testing import Canned, Cassette, Faults, Recorder, throttle


def test_misspelled_operation_suggests_the_model_name() -> None:
    """A near miss of an operation names the operation botocore has."""
    with pytest.raises(
        botoware.ConfigurationError,
        match=r"has no operation 'GetSecretValues'; did you mean 'GetSecretValue'",
    ):
        Canned({"secrets-manager.GetSecretValues": {}})


def test_snake_case_operation_suggests_the_model_name() -> None:
    """A client method name (get_object) is answered with the operation name (GetObject)."""
    with pytest.raises(
        botoware.ConfigurationError, match=r"'get_object'; did you mean 'GetObject'"
    ):
        Faults({"s3.get_object": throttle()})


def test_misspelled_service_suggests_client_name_and_id() -> None:
    """A near miss of a service names the client name and botocore's service id."""
    with pytest.raises(
        botoware.ConfigurationError,
        match=r"no service 'secretmanager'; did you mean 'secretsmanager' "
        r"\(botocore's id 'secrets-manager'\)",
    ):
        Canned({"secretmanager.GetSecretValue": {}})


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("secretsmanager.GetSecretValue", "secrets-manager.GetSecretValue"),
        ("secrets-manager.*", "secrets-manager.*"),
        ("logs", "cloudwatch-logs"),
        ("cloudwatch-logs.PutLogEvents", "cloudwatch-logs.PutLogEvents"),
        ("stepfunctions.StartExecution", "sfn.StartExecution"),
        ("s3.GetObject", "s3.GetObject"),
        ("*", "*"),
    ],
)
def test_client_names_map_to_service_ids(key: str, canonical: str) -> None:
    """boto3 client names are accepted and mean botocore's hyphenized service id."""
    assert canonical_key(key, "key") == canonical


def test_two_spellings_of_one_key_are_refused() -> None:
    """A client name and its service id in one table would be ambiguous: refused."""
    with pytest.raises(botoware.ConfigurationError, match=r"both mean 'secrets-manager\.\*'"):
        Canned({"secretsmanager.*": {}, "secrets-manager.*": {}})


def test_faults_key_that_matches_nothing_is_refused() -> None:
    """A Faults rule for no real operation fails at construction, not silently."""
    with pytest.raises(
        botoware.ConfigurationError, match=r"Faults key 'sqs.RecieveMessage'.*'ReceiveMessage'"
    ):
        Faults({"sqs.RecieveMessage": throttle()})


def test_recorder_only_is_checked() -> None:
    """Recorder(only=...) keys are checked like the others."""
    with pytest.raises(
        botoware.ConfigurationError, match=r"Recorder only key 'dynamo\.\*'.*'dynamodb'"
    ):
        Recorder(only=["dynamo.*"])


def test_cassette_ignore_keys_are_checked(tmp_path: Any) -> None:
    """Cassette(ignore=...) keys are checked like the others."""
    with pytest.raises(botoware.ConfigurationError, match=r"Cassette ignore key 'sqs.SendMesage'"):
        Cassette(tmp_path / "c.json", ignore={"sqs.SendMesage": ["MessageBody"]})


def test_retry_override_key_is_checked() -> None:
    """RetryPolicy(overrides=...) refuses an operation that does not exist, with a suggestion."""
    with pytest.raises(
        botoware.ConfigurationError, match=r"'GetObjects'; did you mean 'GetObject'"
    ):
        RetryPolicy(overrides={"s3.GetObjects": RetryPolicy(max_attempts=2)})


def test_retry_override_client_name_maps_to_service_id() -> None:
    """A boto3 client name in overrides is stored under botocore's service id."""
    policy = RetryPolicy(overrides={"secretsmanager": RetryPolicy(max_attempts=2)})
    assert list(policy.overrides) == ["secrets-manager"]


class _Scoped:
    botoware_name = "scoped"

    def __init__(self, scope: Any) -> None:
        self.botoware_scope = scope

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.seen = call.operation


def test_botoware_scope_is_checked_at_install(session: boto3.Session) -> None:
    """A plugin scope naming no operation fails install() with a PluginError and a suggestion."""
    with pytest.raises(botoware.PluginError, match=r"'ListBucket'; did you mean 'ListBuckets'"):
        botoware.install(session, plugins=[_Scoped("s3.ListBucket")], autoload=False)


def test_botoware_scope_client_name_reaches_the_service(session: boto3.Session) -> None:
    """A scope spelled with the client name covers that service's calls."""
    plugin = _Scoped(["secretsmanager.GetSecretValue"])
    canned = Canned({"secrets-manager.GetSecretValue": {"SecretString": "s"}})
    with botoware.install(session, plugins=[plugin, canned], autoload=False):
        client = session.client("secretsmanager", endpoint_url="http://127.0.0.1:9")
        client.get_secret_value(SecretId="x")
    assert plugin.seen == "GetSecretValue"


def test_models_are_read_lazily_one_service_at_a_time() -> None:
    """Importing botoware reads no model; checking "sqs.SendMessage" reads SQS's alone."""
    code = (
        "import botoware, botoware.testing, botoware.plugins.retry\n"
        "from botoware import _names\n"
        "assert _names.client_names.cache_info().currsize == 0\n"
        "assert _names._model.cache_info().currsize == 0\n"
        "_names.canonical_key('sqs.SendMessage', 'key')\n"
        "assert _names._model.cache_info().currsize == 1, _names._model.cache_info()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_built_ins_pass_the_checks_install_skips_for_them(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every built-in's scope names real services and operations, and its hook signatures
    pass the checks any other plugin gets (install trusts built-ins and skips both)."""
    from botoware._loading import BUILT_IN, Candidate
    from botoware.host import _scope_of, check_plugin
    from botoware.plugins.credentials import ENV_VAR

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "credentials.json"))  # read at first use only
    plugin = Candidate(name, BUILT_IN, builtin=BUILTINS[name]).load()
    assert _scope_of(name, plugin) == _scope_of(name, plugin, trusted=True)
    assert check_plugin(name, "passed in", plugin) == check_plugin(name, BUILT_IN, plugin)
