"""examples/transcoder.py runs its pipeline against moto and reads what the plugins recorded."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "transcoder.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("transcoder_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ran(moto_url: str) -> Any:
    """One run of the example's main() against the test session's moto."""
    return _load().main(moto_url, segments=260, prefix="transcoder-test")


def test_pipeline_ran_to_its_cleanup(ran: Any) -> None:
    """Every step ran, the last one deleting what the others created."""
    pipeline, _, _ = ran
    assert pipeline.created.buckets == []
    assert pipeline.created.table is None and pipeline.created.queue_url is None


def test_metrics_counted_the_pipelines_calls(ran: Any) -> None:
    """The registry passed to MetricsPlugin counted the Lambda policy read and the segments."""
    _, _, registry = ran
    calls = "aws_client_calls_total"
    get_policy = {"aws_service": "lambda", "aws_operation": "GetPolicy", "outcome": "success"}
    put_object = {"aws_service": "s3", "aws_operation": "PutObject", "outcome": "success"}
    assert registry.get_sample_value(calls, get_policy) == 1.0
    assert registry.get_sample_value(calls, put_object) == 260 + 4 + 4


def test_each_flow_is_one_trace_through_sns_and_sqs(ran: Any) -> None:
    """Every video's upload span and its transcode job share one trace."""
    pipeline, spans, _ = ran
    for video, trace_id in pipeline.flow_trace_ids.items():
        names = {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}
        assert {f"upload {video}", "SNS.Publish", f"transcode {video}"} <= names


def test_script_runs_standalone() -> None:
    """`python examples/transcoder.py` starts its own moto and exits 0."""
    # A guard against a hang, not a speed check: a loaded machine takes many times longer.
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'HTTP/1.1" 200' not in done.stderr  # moto's access log stays quiet
    assert "cleanup: buckets, topic, queue, function, role and table deleted" in done.stdout
