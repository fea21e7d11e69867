"""docs/testing.md: every Python example on the page runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import botocore.retries.standard
import botocore.retryhandler
import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_page_has_examples() -> None:
    """The page shows each helper in a Python example."""
    text = "\n".join(_BLOCK.findall(PAGE.read_text()))
    for name in (
        "Recorder(",
        "Canned(",
        "response_for(",
        "error_response(",
        "Faults(",
        "Faults.random(",
        "Cassette(",
        "reply(",
        "assert_calls(",
        "assert_all_used(",
    ):
        assert name in text


def test_examples_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's Python blocks run top to bottom in one namespace, with no network."""
    # What the page's own no_backoff() does, applied before its retrying examples run.
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", lambda **kwargs: 0)
    monkeypatch.setattr(
        botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0
    )
    namespace: dict[str, object] = {"__name__": "docs_testing"}
    for number, block in enumerate(_BLOCK.findall(PAGE.read_text()), start=1):
        code = compile(block, f"{PAGE.name} block {number}", "exec")
        exec(code, namespace)
    namespace["no_backoff"](monkeypatch)  # type: ignore[operator]
