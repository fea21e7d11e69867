"""docs/tracing.md: its Python examples run, in order, against moto."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "tracing.md"


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)


def test_tracing_page_examples_run(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python block of docs/tracing.md runs, in order, with clients pointed at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    blocks = _python_blocks()
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs_tracing"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/tracing.md block {number}", "exec"), namespace)


def test_tracing_page_documents_every_public_name() -> None:
    """The page names each public name of the tracing plugin and of botoware.contrib.otel."""
    from botoware.contrib import otel
    from botoware.plugins import tracing

    text = DOC.read_text()
    names = ("configure", "configure_metrics", "check_environment", "extract", "process_span")
    for name in ("TracingPlugin", *names):
        assert name in text
    for constant in (tracing.ATTEMPT_EVENT, tracing.ATTEMPT_NUMBER, tracing.RETRY_DELAY):
        assert f"`{constant}`" in text
    assert set(otel.__all__) == {
        "EXPORTERS",
        "check_environment",
        "configure",
        "configure_metrics",
        "extract",
    }
    for exporter in otel.EXPORTERS:
        assert f'"{exporter}"' in text
