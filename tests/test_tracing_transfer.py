"""S3 managed transfers: the parts s3transfer sends from its threads join the caller's trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MIB = 1024 * 1024
# S3 parts are at least 5 MiB (but the last): 11 MiB makes three parts.
MULTIPART = TransferConfig(
    multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=3
)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """An 11 MiB file."""
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x01" * (11 * MIB))
    return path


def _s3_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("S3.")]


def test_multipart_upload_parts_are_children_of_the_callers_span(
    traced: Any,
    client: Any,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    big_file: Path,
) -> None:
    """upload_file in worker threads: every part call is a child of the span current at the call."""
    s3 = client("s3")
    s3.create_bucket(Bucket="transfer-up")
    exporter.clear()
    with provider.get_tracer("test").start_as_current_span("upload") as upload:
        s3.upload_file(str(big_file), "transfer-up", "big.bin", Config=MULTIPART)
    spans = _s3_spans(exporter)
    names = sorted(s.name for s in spans)
    assert names == [
        "S3.CompleteMultipartUpload",
        "S3.CreateMultipartUpload",
        "S3.UploadPart",
        "S3.UploadPart",
        "S3.UploadPart",
    ]
    ours = upload.get_span_context()
    assert {s.context.trace_id for s in spans} == {ours.trace_id}
    assert {s.parent.span_id for s in spans if s.parent} == {ours.span_id}
    assert all(s.parent is not None for s in spans)
    parts = sorted(s.attributes["aws.s3.part_number"] for s in spans if s.name == "S3.UploadPart")
    assert parts == [1, 2, 3]


def test_multipart_download_parts_are_children_of_the_callers_span(
    traced: Any,
    client: Any,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    big_file: Path,
    tmp_path: Path,
) -> None:
    """download_file: the HeadObject and every ranged GetObject join the caller's span."""
    s3 = client("s3")
    s3.create_bucket(Bucket="transfer-down")
    s3.upload_file(str(big_file), "transfer-down", "big.bin", Config=MULTIPART)
    exporter.clear()
    target = tmp_path / "copy.bin"
    with provider.get_tracer("test").start_as_current_span("download") as download:
        s3.download_file("transfer-down", "big.bin", str(target), Config=MULTIPART)
    assert target.stat().st_size == 11 * MIB
    spans = _s3_spans(exporter)
    assert sorted(s.name for s in spans).count("S3.GetObject") == 3
    assert {s.parent.span_id for s in spans if s.parent} == {download.get_span_context().span_id}
    assert all(s.parent is not None for s in spans)


def test_calls_of_a_worker_thread_after_the_transfer_have_no_stale_parent(
    traced: Any,
    client: Any,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    big_file: Path,
) -> None:
    """A plain call after a transfer is not parented on the finished transfer's span."""
    s3 = client("s3")
    s3.create_bucket(Bucket="transfer-after")
    with provider.get_tracer("test").start_as_current_span("upload"):
        s3.upload_file(str(big_file), "transfer-after", "big.bin", Config=MULTIPART)
    exporter.clear()
    s3.head_object(Bucket="transfer-after", Key="big.bin")
    [head] = _s3_spans(exporter)
    assert head.parent is None
