"""The Python examples of the quick start, lifecycle, configuration and migrating pages run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["index.md", "quickstart.md", "lifecycle.md", "configuration.md", "migrating.md"]


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", (DOCS / page).read_text(), flags=re.S | re.M)


@pytest.fixture
def against_moto(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clients created by the examples talk to moto; boto3's default session is restored."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    default = boto3.DEFAULT_SESSION
    yield
    boto3.DEFAULT_SESSION = default


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run_in_order(page: str, against_moto: None) -> None:
    """Every python block of the page runs, in order, in one namespace, against moto."""
    blocks = _python_blocks(page)
    assert blocks, f"docs/{page} has no python example"
    namespace: dict[str, object] = {"__name__": f"docs_{page[:-3]}"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/{page} block {number}", "exec"), namespace)


def test_configuration_page_names_every_variable() -> None:
    """Each environment variable botoware's code reads is documented on the page."""
    from botoware import _loading
    from botoware.contrib import prometheus, run
    from botoware.plugins import credentials

    text = (DOCS / "configuration.md").read_text()
    variables = [
        _loading.DISABLE_ENV,
        _loading.NO_AUTOLOAD_ENV,
        credentials.ENV_VAR,
        run.PLUGINS_ENV,
        run.METRICS_PORT_ENV,
        run.METRICS_ADDR_ENV,
        prometheus.MULTIPROC_ENV,
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_SERVICE_NAME",
    ]
    assert [v for v in variables if f"`{v}`" not in text] == []


def test_cli_options_are_in_the_quick_start() -> None:
    """Every option of `botoware demo` and `botoware run` is explained in the quick start."""
    text = (DOCS / "quickstart.md").read_text()
    for option in ("--keep-serving", "--port", "--otlp", "--segments"):
        assert f"`{option}" in text
    for option in ("--plugins", "--exporter", "--otlp-endpoint", "--metrics-port"):
        assert f"`{option}" in text
