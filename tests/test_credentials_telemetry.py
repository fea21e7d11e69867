"""Credential loads and refreshes are visible as spans and a counter, never with key material."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, generate_latest

import botoware
from botoware.plugins.credentials import CredentialsFileError, JsonFileCredentials

START = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
KEY_ID, SECRET, TOKEN = (
    "AKIDTELEMETRY0000001",
    "wJalrTelemetrySecretKey/K7MDENG",
    "FwoGZXIvYXdzTOKEN",
)
NEW_KEY_ID, NEW_SECRET, NEW_TOKEN = "AKIDTELEMETRY0000002", "wJalrNewSecret/bPxRfiCY", "FwoNEWTOKEN"
MATERIAL = (KEY_ID, SECRET, TOKEN, NEW_KEY_ID, NEW_SECRET, NEW_TOKEN)
LABELS = {"provider": "botoware-json-file"}


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Spans of a fresh TracerProvider, kept in memory."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A fresh TracerProvider exporting to ``exporter`` (the global one is left alone)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh prometheus registry."""
    return CollectorRegistry()


def _write(path: Path, key: str, secret: str, token: str, expires: datetime.datetime) -> None:
    document = {
        "Version": 1,
        "AccessKeyId": key,
        "SecretAccessKey": secret,
        "SessionToken": token,
        "Expiration": expires.isoformat(),
    }
    path.write_text(json.dumps(document))


def _spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


def _count(registry: CollectorRegistry, outcome: str) -> float | None:
    return registry.get_sample_value(
        "aws_credentials_refreshes_total", {**LABELS, "outcome": outcome}
    )


def _plugin(path: Path, clock: _Clock, provider: TracerProvider, registry: CollectorRegistry,
            **kwargs: Any) -> JsonFileCredentials:  # fmt: skip
    return JsonFileCredentials(
        path, now=clock, tracer_provider=provider, registry=registry, **kwargs
    )


def test_load_and_refresh_are_spans_with_provider_and_outcome_only(
    tmp_path: Path,
    exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    registry: CollectorRegistry,
) -> None:
    """One span per load and per refresh, named by kind, with exactly two attributes."""
    path, clock = tmp_path / "aws.json", _Clock()
    _write(path, KEY_ID, SECRET, TOKEN, START + datetime.timedelta(hours=1))
    session = boto3.Session(region_name="us-east-1")
    plugin = _plugin(path, clock, tracer_provider, registry)
    with botoware.install(session, plugins=[plugin], autoload=False):
        credentials = session.get_credentials()
        _write(path, NEW_KEY_ID, NEW_SECRET, NEW_TOKEN, START + datetime.timedelta(hours=2))
        clock.now += datetime.timedelta(minutes=59)
        credentials.get_frozen_credentials()
    spans = _spans(exporter)
    assert [span.name for span in spans] == [
        "botoware.credentials load",
        "botoware.credentials refresh",
    ]
    for span in spans:
        assert dict(span.attributes or {}) == {
            "botoware.credentials.provider": "botoware-json-file",
            "botoware.credentials.outcome": "success",
        }
        assert span.status.status_code is StatusCode.UNSET and not span.events


def test_failed_refresh_is_an_error_span_and_count(
    tmp_path: Path,
    exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    registry: CollectorRegistry,
) -> None:
    """A refresh that fails: outcome 'error', span status ERROR without description or event."""
    path, clock = tmp_path / "aws.json", _Clock()
    _write(path, KEY_ID, SECRET, TOKEN, START + datetime.timedelta(hours=1))
    session = boto3.Session(region_name="us-east-1")
    with botoware.install(
        session, plugins=[_plugin(path, clock, tracer_provider, registry)], autoload=False
    ):
        credentials = session.get_credentials()
        path.write_text("{")
        clock.now += datetime.timedelta(minutes=59)
        with pytest.raises(CredentialsFileError):
            credentials.get_frozen_credentials()
    refresh = _spans(exporter)[-1]
    assert refresh.attributes is not None
    assert refresh.attributes["botoware.credentials.outcome"] == "error"
    assert refresh.status.status_code is StatusCode.ERROR
    assert refresh.status.description is None and not refresh.events
    assert (_count(registry, "success"), _count(registry, "error")) == (1.0, 1.0)


def test_absent_optional_file_is_counted_as_absent(
    tmp_path: Path, tracer_provider: TracerProvider, registry: CollectorRegistry
) -> None:
    """required=False and no file: the load counts with outcome 'absent'."""
    session = boto3.Session(region_name="us-east-1")
    plugin = _plugin(tmp_path / "none.json", _Clock(), tracer_provider, registry, required=False)
    with botoware.install(session, plugins=[plugin], autoload=False):
        assert session.get_credentials().method == "env"
    assert (_count(registry, "absent"), _count(registry, "success")) == (1.0, 0.0)


def test_refresh_span_is_a_child_of_the_current_span(
    tmp_path: Path,
    exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    registry: CollectorRegistry,
) -> None:
    """A refresh during a traced operation shows up inside that operation's span."""
    path, clock = tmp_path / "aws.json", _Clock()
    _write(path, KEY_ID, SECRET, TOKEN, START + datetime.timedelta(hours=1))
    session = boto3.Session(region_name="us-east-1")
    with botoware.install(
        session, plugins=[_plugin(path, clock, tracer_provider, registry)], autoload=False
    ):
        credentials = session.get_credentials()
        clock.now += datetime.timedelta(minutes=58)
        with tracer_provider.get_tracer("test").start_as_current_span("S3.ListBuckets") as parent:
            credentials.get_frozen_credentials()
    refresh = next(s for s in _spans(exporter) if s.name == "botoware.credentials refresh")
    assert refresh.parent is not None
    assert refresh.parent.span_id == parent.get_span_context().span_id


def test_constructing_twice_on_one_registry_shares_the_counter(registry: CollectorRegistry) -> None:
    """Two plugins on one registry: no duplicate registration, one metric family."""
    JsonFileCredentials("/run/a.json", registry=registry)
    JsonFileCredentials("/run/b.json", registry=registry, method="other-file")
    exposition = generate_latest(registry).decode()
    assert exposition.count("# TYPE aws_credentials_refreshes_total counter") == 1
    assert 'provider="other-file"' in exposition


def test_a_foreign_metric_of_that_name_is_a_clear_error(registry: CollectorRegistry) -> None:
    """A registry already holding aws_credentials_refreshes from elsewhere: ConfigurationError."""
    from prometheus_client import Counter

    Counter("aws_credentials_refreshes", "someone else's", registry=registry)
    with pytest.raises(botoware.ConfigurationError, match="another registry"):
        JsonFileCredentials("/run/a.json", registry=registry)


def test_no_key_material_in_spans_metrics_or_logs(
    tmp_path: Path,
    moto_url: str,
    exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Load, refresh, failed refreshes and a broken file: no key, secret or token anywhere."""
    path, clock = tmp_path / "aws.json", _Clock()
    _write(path, KEY_ID, SECRET, TOKEN, START + datetime.timedelta(hours=1))
    session = boto3.Session(region_name="us-east-1")
    caplog.set_level(logging.DEBUG)
    with botoware.install(
        session, plugins=[_plugin(path, clock, tracer_provider, registry)], autoload=False
    ):
        s3 = session.client("s3", endpoint_url=moto_url)
        s3.list_buckets()
        # Half-written file: advisory refresh fails and is logged, then a mandatory one raises.
        path.write_text(json.dumps({"AccessKeyId": NEW_KEY_ID, "SecretAccessKey": NEW_SECRET})[:-9])
        clock.now += datetime.timedelta(minutes=56)
        s3.list_buckets()
        clock.now += datetime.timedelta(minutes=3)
        with pytest.raises(CredentialsFileError):
            s3.list_buckets()
        _write(path, NEW_KEY_ID, NEW_SECRET, NEW_TOKEN, START + datetime.timedelta(hours=2))
        s3.list_buckets()
    spans = _spans(exporter)
    assert len(spans) >= 4
    telemetry = [repr(span.to_json()) for span in spans]
    telemetry.append(generate_latest(registry).decode())
    # botocore's own signer logs canonical requests (with the token header) at DEBUG;
    # what botoware and botocore's credential code log is what this plugin answers for.
    logs = [
        f"{record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if record.name.startswith(("botoware", "botocore.credentials"))
    ]
    assert any("advisory refresh" in line for line in logs)
    assert any(str(path) in line for line in logs)
    for text in [*telemetry, *logs]:
        for material in MATERIAL:
            assert material not in text
