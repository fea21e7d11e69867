"""docs/credentials.md: its Python examples run, in order, against moto."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "credentials.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)


def test_credentials_page_examples_run(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/credentials.md runs, in order, with clients pointed at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    blocks = _python_blocks()
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "docs_credentials"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/credentials.md block {number}", "exec"), namespace)
