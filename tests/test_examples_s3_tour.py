"""examples/s3_tour.py: the S3 resource API against moto, with the calls behind each line."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "s3_tour.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("s3_tour_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tour(moto_url: str) -> tuple[dict[str, Any], str]:
    """One run of the tour; its results and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = _load().main(moto_url, prefix="s3-tour-test")
    return results, printed.getvalue()


def test_buckets_all_lists_the_tour_bucket(tour: tuple[dict[str, Any], str]) -> None:
    """s3.buckets.all() includes the bucket the tour created."""
    results, _ = tour
    assert "s3-tour-test-photos" in results["[b.name for b in s3.buckets.all()]"]


def test_objects_filter_pages_by_page_size(tour: tuple[dict[str, Any], str]) -> None:
    """filter(Prefix=...).page_size(5) finds March's 12 photos in three ListObjects pages."""
    results, printed = tour
    march = results["bucket.objects.filter(Prefix='2024/03/').page_size(5)"]
    assert march == [f"2024/03/photo-{n:02d}.jpg" for n in range(12)]
    assert "S3.ListObjects (page 1), S3.ListObjects (page 2), S3.ListObjects (page 3)" in printed


def test_batch_delete_is_one_delete_objects(tour: tuple[dict[str, Any], str]) -> None:
    """A filtered collection's delete() removes January with a single DeleteObjects."""
    results, printed = tour
    deleted = results["bucket.objects.filter(Prefix='2024/01/').delete()"]
    assert sum(len(response["Deleted"]) for response in deleted) == 12
    assert "-> S3.ListObjects (page 1), S3.DeleteObjects\n" in printed
    assert results["sum(1 for _ in bucket.objects.all())"] == 24


def test_upload_fileobj_calls_are_seen_from_transfer_threads(
    tour: tuple[dict[str, Any], str],
) -> None:
    """The 36 uploads, made by s3transfer's worker threads, are all recorded."""
    _, printed = tour
    assert "bucket.upload_fileobj(...) x 36\n    -> S3.PutObject x36\n" in printed


def test_script_runs_standalone() -> None:
    """`python examples/s3_tour.py` starts its own moto and exits 0."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'HTTP/1.1" 200' not in done.stderr  # moto's access log stays quiet
    assert "S3.DeleteBucket" in done.stdout
