"""Docs that must not rot: the generated hook reference and the first-plugin example."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_hook_reference_is_generated_from_the_hookspecs() -> None:
    """docs/hooks.md equals what docs/gen_hooks.py renders from specs.py."""
    gen = _load(ROOT / "docs" / "gen_hooks.py")
    assert (ROOT / "docs" / "hooks.md").read_text() == gen.render(), (  # type: ignore[attr-defined]
        "docs/hooks.md is stale: run python docs/gen_hooks.py"
    )


def test_first_plugin_example_logs_its_calls(
    moto_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """examples/first_plugin.py installs its plugin and logs each call with its attempts."""
    example = _load(ROOT / "examples" / "first_plugin.py")
    with caplog.at_level(logging.WARNING, logger="slow-calls"):
        example.main(moto_url)  # type: ignore[attr-defined]
    messages = [r.getMessage() for r in caplog.records if r.name == "slow-calls"]
    assert [m.split(" took ")[0] for m in messages] == ["S3.CreateBucket", "S3.ListBuckets"]
    assert all("(1 attempts, ok)" in m for m in messages)
