"""The benchmarks keep running: smoke passes of a few seconds (figures are not asserted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_overhead_quick_run_reports_every_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """overhead.py --quick measures every variant, install() per heap size and a cold start."""
    out = tmp_path / "overhead.json"
    assert _load("overhead").main(["--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    variants = {row["variant"] for row in result["calls"]}
    assert variants == {
        "bare",
        "span-pair",
        "lazy-span",
        "prometheus-pair",
        "otel-botocore",
        "empty",
        "noop",
        "noop-metrics-hooks",
        "noop-tracing-hooks",
        "metrics",
        "tracing",
        "tracing+metrics",
        "tracing+metrics+genai",
        "tracing-no-attempts",
        "not-sampled",
        "keep-only",
        "keep-only-lean",
    }
    assert all(row["ratio"] > 0 for row in result["calls"])
    assert [row["live_objects_added"] for row in result["install"]] == [0, 20_000]
    assert result["cold"]["autoload_install_ms"] > 0
    assert result["cold"]["importtime_import_botoware_ms"] > 0
    assert "| botoware tracing, keep-only" in capsys.readouterr().out


def test_memory_quick_run_stays_flat() -> None:
    """memory.py on a few hundred calls in keep-only mode: no Call outlives its call."""
    argv = ["--calls", "100", "--warmup", "20", "--checkpoints", "1", "--keep-only"]
    argv += ["--no-tracemalloc", "--sessions", "0"]
    assert _load("memory").main(argv) == 0
