"""Finding entry points quickly: what the fast scan finds, and when it looks again."""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

import pytest

from botoware import _loading


def _dist_info(site: Path, name: str, entry_points: dict[str, str]) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = ["[botoware]", *(f"{ep} = {value}" for ep, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def _pairs(eps: list[metadata.EntryPoint]) -> list[tuple[str, str]]:
    return sorted((ep.name, ep.value) for ep in eps)


def test_scan_finds_what_importlib_metadata_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast scan returns the entry points importlib.metadata returns, first dist winning."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _dist_info(first, "scan_one", {"one": "scan_one.plugin"})
    _dist_info(second, "scan_one", {"shadowed": "scan_one.old"})  # same name, later on the path
    _dist_info(second, "scan_two", {"two": "scan_two:Plugin"})
    (second / "other-2.0.dist-info").mkdir()  # no entry points at all
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    found = _loading.entry_points()
    assert _pairs(found) == _pairs(list(metadata.entry_points(group="botoware")))
    assert ("one", "scan_one.plugin") in _pairs(found)
    assert ("shadowed", "scan_one.old") not in _pairs(found)
    assert [ep.dist.name for ep in found if ep.name == "two"] == ["scan_two"]  # type: ignore[union-attr]


def test_distribution_installed_later_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A distribution added to a sys.path directory after a scan is found by the next one."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = _pairs(_loading.entry_points())
    _dist_info(tmp_path, "scan_later", {"later": "scan_later.plugin"})
    after = _pairs(_loading.entry_points())
    assert ("later", "scan_later.plugin") in after
    assert ("later", "scan_later.plugin") not in before


def test_unchanged_path_is_not_scanned_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sys.path and its directories unchanged (and not just modified), no file is read."""
    site = tmp_path / "site"
    site.mkdir()
    _dist_info(site, "scan_cached", {"cached": "scan_cached.plugin"})
    old = 1_000_000_000  # 2001: well outside the racy window
    for path in (site, *site.iterdir()):
        os.utime(path, ns=(old, old))
    monkeypatch.setattr(sys, "path", [str(site)])
    first = _pairs(_loading.entry_points())
    opened: list[str] = []
    real_listdir = os.listdir

    def spying_listdir(path: str) -> object:
        opened.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", spying_listdir)
    assert _pairs(_loading.entry_points()) == first == [("cached", "scan_cached.plugin")]
    assert opened == []
