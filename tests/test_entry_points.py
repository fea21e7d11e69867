"""examples/botoware-example-plugin installed as a distribution: discovery, blocking, autoload.

The distribution is installed into a temporary directory that is put on ``sys.path``: with
pip (``--no-deps --no-build-isolation --no-index``) where the environment's setuptools can
build a wheel, else as the ``.dist-info`` pip would write, made from its ``pyproject.toml``.
Either way ``importlib.metadata`` finds its entry point exactly as for any installed plugin.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import botoware
from botoware.contrib import cli
from botoware.errors import BotowareWarning

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "botoware-example-plugin"
SOURCE = "botoware-example-plugin 0.1.0"


def _dist_info(target: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    """Write the metadata pip writes for an installed distribution."""
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[botoware]", *(f"{ep} = {value}" for ep, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (info / "INSTALLER").write_text("botoware-tests\n")
    (info / "RECORD").write_text("")


def _install_example(target: Path, scratch: Path) -> None:
    source = scratch / "src"
    # A copy, so that building leaves no build/ or egg-info in the repository.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--disable-pip-version-check", "--target", str(target)]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return
    # No wheel builder here (setuptools < 70.1 without the wheel package): install by hand.
    shutil.rmtree(target, ignore_errors=True)
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    shutil.copytree(source / "botoware_example_plugin", target / "botoware_example_plugin")
    _dist_info(target, project["name"], project["version"], project["entry-points"]["botoware"])


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed example distribution."""
    scratch = tmp_path_factory.mktemp("example-plugin")
    target = scratch / "site"
    _install_example(target, scratch)
    return target


@pytest.fixture
def with_example(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example distribution importable and discoverable for one test."""
    monkeypatch.syspath_prepend(str(example_site))
    yield example_site
    sys.modules.pop("botoware_example_plugin", None)


@pytest.fixture
def broken_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution whose entry point names a module that does not exist."""
    _dist_info(tmp_path, "botoware-broken-plugin", "1.0", {"broken": "no_such_module:Plugin"})
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _infos(installation: botoware.Installation) -> dict[str, botoware.PluginInfo]:
    return {info.name: info for info in installation.describe()}


def _rows(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    code = cli.main(["plugins", "--json"])
    rows = json.loads(capsys.readouterr().out)
    return code, {row["name"]: row for row in rows}


def test_example_distribution_is_loaded_by_install(
    with_example: Path, session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """install() with autoload registers the entry point under its name and it sees calls."""
    s3 = client("s3")
    with caplog.at_level(logging.INFO, logger="botoware_example_plugin"):
        with botoware.install(session) as installation:
            s3.list_buckets()
    info = _infos(installation)["call-log"]
    assert (info.source, info.status) == (SOURCE, "active")
    assert info.hooks == ("botoware_after_call", "botoware_after_call_error")
    lines = [r.getMessage() for r in caplog.records if r.name == "botoware_example_plugin"]
    assert len(lines) == 1 and lines[0].startswith("S3.ListBuckets ok attempts=1 ")


def test_disable_plugins_blocks_the_example(
    with_example: Path,
    session: Any,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """BOTOWARE_DISABLE_PLUGINS=call-log: described as blocked, never called."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "call-log")
    s3 = client("s3")
    with caplog.at_level(logging.INFO, logger="botoware_example_plugin"):
        with botoware.install(session) as installation:
            s3.list_buckets()
    info = _infos(installation)["call-log"]
    assert (info.status, info.reason) == ("blocked", "blocked by BOTOWARE_DISABLE_PLUGINS")
    assert not [r for r in caplog.records if r.name == "botoware_example_plugin"]


def test_autoload_off_leaves_the_example_out(
    with_example: Path, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOTOWARE_DISABLE_PLUGIN_AUTOLOAD=1: install() does not load the entry point at all."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGIN_AUTOLOAD", "1")
    with botoware.install(session) as installation:
        assert "call-log" not in _infos(installation)
    assert "botoware_example_plugin" not in sys.modules


def test_plugins_command_lists_the_example(
    with_example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`botoware plugins --json` shows the distribution, version, hooks, active."""
    code, rows = _rows(capsys)
    assert code == 0
    assert rows["call-log"] == {
        "name": "call-log",
        "source": SOURCE,
        "status": "active",
        "hooks": ["after_call", "after_call_error"],
        "scope": None,
        "reason": None,
    }


def test_plugins_command_shows_the_block_and_why(
    with_example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blocked entry point is listed as blocked, with the variable that blocks it."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "call-log")
    _, rows = _rows(capsys)
    assert (rows["call-log"]["status"], rows["call-log"]["reason"]) == (
        "blocked",
        "blocked by BOTOWARE_DISABLE_PLUGINS",
    )


def test_plugins_command_shows_autoload_off(
    with_example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With autoload off the entry point is listed as not autoloaded, not hidden."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGIN_AUTOLOAD", "1")
    _, rows = _rows(capsys)
    assert rows["call-log"]["status"] == "not autoloaded"
    assert rows["call-log"]["source"] == SOURCE


def test_plugins_command_shows_load_errors(
    broken_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin whose import fails is listed as failed with its error; the exit code is 1."""
    code, rows = _rows(capsys)
    assert code == 1
    broken = rows["broken"]
    assert (broken["status"], broken["source"]) == ("failed", "botoware-broken-plugin 1.0")
    assert broken["reason"].startswith("ModuleNotFoundError: No module named 'no_such_module'")


def test_plugins_command_text_names_the_error(
    broken_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text listing prints the failed plugin's error under it."""
    assert cli.main(["plugins"]) == 1
    text = capsys.readouterr().out
    assert "broken  [failed]  botoware-broken-plugin 1.0" in text
    assert "    error: ModuleNotFoundError: No module named 'no_such_module'" in text


def test_install_skips_a_broken_entry_point_with_a_warning(broken_site: Path, session: Any) -> None:
    """install() warns about the broken plugin, names it, and goes on without it."""
    with pytest.warns(BotowareWarning, match="'broken' from botoware-broken-plugin 1.0"):
        installation = botoware.install(session)
    with installation:
        assert _infos(installation)["broken"].status == "failed"


def test_run_loads_the_example_in_the_child(example_site: Path, moto_url: str) -> None:
    """`botoware run` children discover entry-point plugins on their path too."""
    script = (
        "import logging, sys, boto3\n"
        "logging.basicConfig(stream=sys.stdout, format='%(message)s')\n"
        "logging.getLogger('botoware_example_plugin').setLevel(logging.INFO)\n"
        "boto3.client('s3', endpoint_url=sys.argv[1]).list_buckets()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(example_site)}
    botoware_run = [sys.executable, "-m", "botoware.contrib.cli", "run"]
    options = ["--exporter", "none", "--plugins", "metrics", "--"]
    done = subprocess.run(
        [*botoware_run, *options, sys.executable, "-c", script, moto_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("S3.ListBuckets ok attempts=1 "), done.stdout + done.stderr
