"""docs/genai.md: its Python examples run, in order, with Bedrock answered offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "genai.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)


def test_genai_page_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/genai.md runs, in order, without a network."""
    for name in (
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "OTEL_SEMCONV_STABILITY_OPT_IN",
    ):
        monkeypatch.delenv(name, raising=False)
    blocks = _python_blocks()
    assert len(blocks) >= 7
    namespace: dict[str, object] = {"__name__": "docs_genai"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/genai.md block {number}", "exec"), namespace)


def test_genai_page_documents_every_public_name() -> None:
    """The page names the plugin, its metrics and the variables it reads."""
    from botoware.plugins import genai

    text = DOC.read_text()
    assert "GenAIPlugin" in text
    for name in (
        genai.TOKEN_USAGE,
        genai.OPERATION_DURATION,
        genai.TIME_TO_FIRST_CHUNK,
        genai.OTEL_TOKEN_USAGE,
        genai.OTEL_OPERATION_DURATION,
        genai.OTEL_TIME_TO_FIRST_CHUNK,
        genai.CAPTURE_CONTENT_ENV,
        genai.STABILITY_ENV,
        genai.LATEST_EXPERIMENTAL,
    ):
        assert f"`{name}`" in text, name
