"""A cold start loads only what it uses: checked in one fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_CHILD = """
import json, sys
import boto3
before = set(sys.modules)
import botoware
imported = sorted(set(sys.modules) - before)
botoware.install(boto3.Session(region_name="us-east-1"))
installed = sorted(set(sys.modules) - before)
print(json.dumps([imported, installed]))
"""


@pytest.fixture(scope="module")
def loaded() -> tuple[list[str], list[str]]:
    """Modules a fresh interpreter gains from ``import botoware``, then from ``install()``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOTOWARE_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    imported, installed = json.loads(done.stdout)
    return imported, installed


def _under(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def test_import_botoware_loads_no_plugin_dependency(loaded: tuple[list[str], list[str]]) -> None:
    """`import botoware` imports neither prometheus_client, OpenTelemetry, aiobotocore nor a
    built-in plugin, contrib or testing module."""
    imported, _ = loaded
    assert "botoware.host" in imported
    heavy = ("prometheus_client", "opentelemetry", "aiobotocore", "botoware.contrib")
    assert _under(imported, *heavy, "botoware.testing") == []
    assert [m for m in imported if m.startswith("botoware.plugins.")] == []


def test_autoload_install_leaves_unused_parts_unloaded(
    loaded: tuple[list[str], list[str]],
) -> None:
    """An autoload install() loads the default plugins, but not the OpenTelemetry SDK, the
    propagators (first message sent), Bedrock's tables (first Bedrock call), contrib or testing."""
    _, installed = loaded
    assert {"botoware.plugins.tracing", "botoware.plugins.metrics"} <= set(installed)
    assert "botoware.plugins.genai" in installed
    unused = _under(
        installed,
        "opentelemetry.sdk",
        "opentelemetry.propagate",
        "opentelemetry.propagators",
        "botoware.plugins._bedrock",
        "botoware.plugins._genai_stream",
        "botoware.contrib",
        "botoware.testing",
        "aiobotocore",
    )
    assert unused == []
