"""The `botoware` command line: parsing, `plugins`, and the console script itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from botoware import __version__
from botoware.contrib import cli
from botoware.plugins import BUILTINS, DEFAULT_BUILTINS


def test_console_script_is_installed() -> None:
    """The `botoware` entry point of pyproject.toml runs main()."""
    script = Path(sys.executable).with_name("botoware")
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"botoware {__version__}")


def test_python_dash_m_runs_the_same_command_line() -> None:
    """`python -m botoware plugins --json` works where the script is not on PATH."""
    done = subprocess.run(
        [sys.executable, "-m", "botoware", "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names = {plugin["name"] for plugin in json.loads(done.stdout)}
    assert set(DEFAULT_BUILTINS) <= names


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`botoware` alone exits 2 and shows the commands."""
    assert cli.main([]) == 2
    help_text = capsys.readouterr().err
    assert all(command in help_text for command in ("demo", "run", "plugins"))


def test_plugins_lists_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    """Each built-in appears once: active if install() loads it by default, else opt-in."""
    assert cli.main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    for name in BUILTINS:
        expected = "active" if name in DEFAULT_BUILTINS else "opt-in"
        assert (rows[name]["source"], rows[name]["status"]) == ("built-in", expected)


def test_plugins_shows_hooks_in_lifecycle_order(capsys: pytest.CaptureFixture[str]) -> None:
    """A built-in's hooks are listed without the prefix, in the order they run."""
    cli.main(["plugins", "--json"])
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["metrics"]["hooks"] == ["call_start", "after_call", "after_call_error"]


def test_plugins_explains_an_opt_in_that_needs_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The credentials built-in says which variable its defaults need, instead of failing."""
    assert cli.main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert "BOTOWARE_CREDENTIALS_FILE" in rows["credentials"]["reason"]


def test_plugins_text_shows_scope_briefly(capsys: pytest.CaptureFixture[str]) -> None:
    """The text listing shortens a long scope and says how many patterns it has."""
    cli.main(["plugins"])
    text = capsys.readouterr().out
    assert text.startswith("botoware.install(session) would load ")
    scopes = [line for line in text.splitlines() if line.startswith("    scope: ")]
    assert "    scope: bedrock-runtime, bedrock-agent-runtime" in scopes  # short: in full
    assert any(scope.endswith(" in all)") for scope in scopes)


def test_plugins_reports_a_bad_disable_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown name in BOTOWARE_DISABLE_PLUGINS is printed as install() would raise it."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "tracng")
    assert cli.main(["plugins"]) == 1
    assert "Did you mean 'tracing'?" in capsys.readouterr().err


def test_plugins_marks_a_blocked_builtin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A built-in named in BOTOWARE_DISABLE_PLUGINS is still listed (as opt-in or blocked)."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "retry")
    cli.main(["plugins", "--json"])
    rows = [row for row in json.loads(capsys.readouterr().out) if row["name"] == "retry"]
    assert len(rows) == 1
    assert rows[0]["status"] == ("blocked" if "retry" in DEFAULT_BUILTINS else "opt-in")


def test_list_plugins_is_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    """list_plugins() returns the rows `plugins --json` prints."""
    cli.main(["plugins", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in printed] == [row.name for row in cli.list_plugins()]


def test_demo_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    """`botoware demo --port 70000` is a usage error naming the value."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", "--port", "70000"])
    assert exited.value.code == 2
    assert "70000 is not a port" in capsys.readouterr().err
