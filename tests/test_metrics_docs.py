"""docs/metrics.md: its Python examples run, in order, against moto."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)


def test_metrics_page_examples_run(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/metrics.md runs, in order, with clients pointed at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    blocks = _python_blocks()
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs_metrics"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/metrics.md block {number}", "exec"), namespace)
