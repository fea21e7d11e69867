"""Shared fixtures: a real moto server on loopback and sessions pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

CREDENTIALS = {
    "aws_access_key_id": "AKIDEXAMPLEBOTOWARE1",
    "aws_secret_access_key": "wJalrXUtnFEMIbotowareSECRETKEYEXAMPLE01",
    "region_name": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The URL of a moto server on 127.0.0.1 (one per test session)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from real credentials, config files and IMDS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", CREDENTIALS["region_name"])
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("BOTOWARE_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("BOTOWARE_DISABLE_PLUGIN_AUTOLOAD", raising=False)


@pytest.fixture
def session() -> boto3.Session:
    """A fresh boto3 session with test credentials."""
    return boto3.Session(**CREDENTIALS)


@pytest.fixture
def client(session: boto3.Session, moto_url: str) -> Any:
    """A factory: ``client("s3")`` makes a client of ``session`` pointed at moto."""

    def make(service: str, **kwargs: Any) -> Any:
        return session.client(service, endpoint_url=moto_url, **kwargs)

    return make
