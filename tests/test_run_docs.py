"""docs/run.md and docs/lambda.md: their Python examples run, in order, against moto."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", (DOCS / page).read_text(), flags=re.S | re.M)


def test_run_page_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The python block of docs/run.md runs: the checks refuse gRPC before any start."""
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "BOTOWARE_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    [block] = _python_blocks("run.md")
    exec(compile(block, "docs/run.md", "exec"), {"__name__": "docs_run"})


def test_lambda_page_example_prints_an_emf_line(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/lambda.md's handler, invoked once, prints one EMF document for S3 ListBuckets."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    [block] = _python_blocks("lambda.md")
    namespace: dict[str, object] = {"__name__": "docs_lambda"}
    exec(compile(block, "docs/lambda.md", "exec"), namespace)
    [line] = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    assert (document["Service"], document["Operation"], document["Calls"]) == (
        "s3",
        "ListBuckets",
        1,
    )
