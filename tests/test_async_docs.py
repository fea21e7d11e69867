"""The examples of docs/async.md run against moto, on aiobotocore (and aioboto3 where installed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "async.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(), flags=re.S | re.M)


@pytest.mark.parametrize("number", range(1, len(BLOCKS) + 1))
def test_async_page_example_runs(
    number: int, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each python block of the async page runs against moto."""
    block = BLOCKS[number - 1]
    if "import aioboto3" in block and importlib.util.find_spec("aioboto3") is None:
        pytest.skip("aioboto3 is not installed here; `make pytest-aio-lowest` runs this block")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    exec(compile(block, f"docs/async.md block {number}", "exec"), {"__name__": "docs_async"})


def test_async_page_has_both_clients() -> None:
    """The page shows aiobotocore and aioboto3."""
    assert any("AioSession" in b for b in BLOCKS) and any("aioboto3" in b for b in BLOCKS)
