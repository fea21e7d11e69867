"""Shared fixtures: a real moto server on loopback and sessions pointed at it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from moto.server import ThreadedMotoServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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


BOTH_KINDS = pytest.mark.parametrize("kind", ["sync", "async"], indirect=True)
"""Run a test on botocore clients and on aiobotocore clients (``session``/``client``)."""


def unwrap(client: Any) -> Any:
    """The client itself behind an :class:`~tests.aio_view.AioView`."""
    return getattr(client, "aio_client", client)


def bare_base(kind: str) -> type:
    """The base class a bare client of ``kind`` has right after its own generated class."""
    if kind == "sync":
        return botocore.client.BaseClient
    from aiobotocore.client import AioBaseClient

    return AioBaseClient


@pytest.fixture
def kind(request: pytest.FixtureRequest) -> str:
    """Which clients ``session`` and ``client`` make: ``"sync"`` (boto3) unless parametrized."""
    return str(getattr(request, "param", "sync"))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop of the test's own."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@pytest.fixture
def session(kind: str) -> Any:
    """A fresh session with test credentials: boto3's, or aiobotocore's for ``async``."""
    if kind == "sync":
        return boto3.Session(**CREDENTIALS)
    from aiobotocore.session import AioSession

    aio = AioSession()
    aio.set_credentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
    aio.set_config_variable("region", CREDENTIALS["region_name"])
    return aio


@pytest.fixture
def client(session: Any, moto_url: str, kind: str, request: pytest.FixtureRequest) -> Any:
    """A factory: ``client("s3")`` makes a client of ``session`` pointed at moto.

    For ``async`` the client is an aiobotocore client, entered on the test's loop and seen
    through :class:`~tests.aio_view.AioView`, so the same test body drives both.
    """
    if kind == "sync":

        def make(service: str, **kwargs: Any) -> Any:
            kwargs.setdefault("endpoint_url", moto_url)
            return session.client(service, **kwargs)

        return make
    from aio_view import AioView

    loop = request.getfixturevalue("loop")
    opened: list[Any] = []

    def make_aio(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", moto_url)
        context = session.create_client(service, **kwargs)
        aio_client = loop.run_until_complete(context.__aenter__())
        opened.append(context)
        return AioView(aio_client, loop)

    def close() -> None:
        for context in reversed(opened):
            loop.run_until_complete(context.__aexit__(None, None, None))

    request.addfinalizer(close)
    return make_aio


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Where the test's spans end up."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A fresh SDK tracer provider exporting synchronously to ``exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def traced(session: Any, provider: TracerProvider) -> Iterator[Any]:
    """The tracing plugin installed on ``session`` with ``provider``."""
    import botoware
    from botoware.plugins.tracing import TracingPlugin

    with botoware.install(session, plugins=[TracingPlugin(provider)], autoload=False) as inst:
        yield inst


class WholeCalls:
    """A plugin recording each call it sees start (call_start) and end, by identity."""

    def __init__(self, name: str = "ends") -> None:
        self.botoware_name = name
        self.started: list[int] = []
        self.ended: list[int] = []
        self._lock = threading.Lock()

    def botoware_call_start(self, call: Any) -> None:
        with self._lock:
            self.started.append(id(call))

    def botoware_after_call(self, call: Any) -> None:
        with self._lock:
            self.ended.append(id(call))

    def botoware_after_call_error(self, call: Any) -> None:
        self.botoware_after_call(call)
