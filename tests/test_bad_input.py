"""Bad plugins: each gets a clear, named error or warning and leaves the other plugins working.

Complements tests/test_core_plugins.py (misspelled hook, wrong argument, non-callable hook,
unknown built-in name, raising after_call): this file covers entry points that fail to load,
observer hooks raising in every phase, and install() failing atomically.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

import botoware


class Ends:
    """Counts the terminal hooks of the calls it sees."""

    def __init__(self, name: str = "ends") -> None:
        self.botoware_name = name
        self.terminals: list[tuple[str, str]] = []

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.terminals.append(("after_call", call.operation))

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        self.terminals.append(("after_call_error", call.operation))


# -------------------------------------------------------------------------------------------
# Entry points: a throwaway distribution on sys.path
# -------------------------------------------------------------------------------------------


@pytest.fixture
def distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, str], dict[str, str]], str]]:
    """Make a ``<name>-1.0.dist-info`` with ``botoware`` entry points and modules; return name."""
    prefix = f"bw_ep_{uuid.uuid4().hex[:8]}"
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(entry_points: dict[str, str], modules: dict[str, str]) -> str:
        name = f"{prefix}-dist"
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = [f"{ep} = {target.format(prefix=prefix)}" for ep, target in entry_points.items()]
        (info / "entry_points.txt").write_text("[botoware]\n" + "\n".join(lines) + "\n")
        for module, source in modules.items():
            path = tmp_path / f"{module.format(prefix=prefix)}.py"
            path.write_text(textwrap.dedent(source))
        return name

    yield make
    for module in [m for m in sys.modules if m.startswith(prefix)]:
        del sys.modules[module]


GOOD_MODULE = """
    class Good:
        botoware_name = "good"

        def __init__(self):
            self.operations = []

        def botoware_after_call(self, call):
            self.operations.append(call.operation)

    INSTANCE = Good()
"""


def _warnings_of(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, botoware.BotowareWarning)]


def test_entry_point_with_missing_module_is_skipped_with_one_warning(
    session: Any, client: Any, distribution: Any
) -> None:
    """An entry point naming a missing module: one warning naming it, the others still work."""
    dist = distribution(
        {"broken": "{prefix}_missing_module:plugin", "good": "{prefix}_good:INSTANCE"},
        {"{prefix}_good": GOOD_MODULE},
    )
    passed_in = Ends()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        installation = botoware.install(session, plugins=[passed_in])
    with installation:
        client("s3").list_buckets()
        infos = {info.name: info for info in installation.describe()}
    [warning] = _warnings_of(caught)
    message = str(warning.message)
    assert "'broken'" in message and dist in message and "_missing_module:plugin" in message
    assert "ModuleNotFoundError" in message
    assert warning.filename == __file__  # points at the install() call, not at botoware
    good = sys.modules[f"{dist.removesuffix('-dist')}_good"].INSTANCE
    assert good.operations == ["ListBuckets"]
    assert passed_in.terminals == [("after_call", "ListBuckets")]
    assert infos["broken"].status == "failed"
    assert "ModuleNotFoundError" in (infos["broken"].reason or "")
    assert infos["good"].status == "active"


def test_entry_point_raising_at_import_is_skipped_with_one_warning(
    session: Any, client: Any, distribution: Any
) -> None:
    """A plugin module that raises while importing is skipped; the error type is named."""
    distribution(
        {"explodes": "{prefix}_explodes:plugin"},
        {"{prefix}_explodes": "raise RuntimeError('plugin import bug')\n"},
    )
    ends = Ends()
    with pytest.warns(botoware.BotowareWarning, match=r"'explodes'.*RuntimeError.*import bug"):
        installation = botoware.install(session, plugins=[ends])
    with installation:
        client("s3").list_buckets()
    assert ends.terminals == [("after_call", "ListBuckets")]


def test_entry_point_with_unknown_hook_is_skipped_not_fatal(
    session: Any, client: Any, distribution: Any
) -> None:
    """An installed plugin with a misspelled hook degrades to a warning (a passed-in one fails)."""
    distribution(
        {"typo": "{prefix}_typo:Typo"},
        {"{prefix}_typo": "class Typo:\n    def botoware_after_cal(self, call):\n        pass\n"},
    )
    ends = Ends()
    with pytest.warns(botoware.BotowareWarning, match=r"'typo'.*botoware_after_cal.*after_call"):
        installation = botoware.install(session, plugins=[ends])
    with installation:
        client("s3").list_buckets()
        [typo] = [info for info in installation.describe() if info.name == "typo"]
    assert typo.status == "failed"
    assert ends.terminals == [("after_call", "ListBuckets")]


def test_blocked_entry_point_is_never_imported(
    session: Any, distribution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOTOWARE_DISABLE_PLUGINS names a broken entry point: it is not imported, no warning."""
    dist = distribution(
        {"explodes": "{prefix}_explodes:plugin"},
        {"{prefix}_explodes": "raise RuntimeError('must not be imported')\n"},
    )
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "explodes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with botoware.install(session) as installation:
            [info] = [i for i in installation.describe() if i.name == "explodes"]
    assert _warnings_of(caught) == []
    assert f"{dist.removesuffix('-dist')}_explodes" not in sys.modules
    assert info.status == "blocked"


def test_entry_point_naming_an_object_without_hooks_warns(session: Any, distribution: Any) -> None:
    """An entry point resolving to an object with no hooks (a factory, a constant) is named."""
    distribution(
        {"factory": "{prefix}_factory:plugin"},
        {
            "{prefix}_factory": "class P:\n    def botoware_after_call(self): pass\n"
            "def plugin():\n    return P()\n"
        },
    )
    with pytest.warns(botoware.BotowareWarning, match="'factory'"):
        botoware.install(session).uninstall()


# -------------------------------------------------------------------------------------------
# Passed-in plugins: install() fails before registering anything
# -------------------------------------------------------------------------------------------


def test_failed_install_registers_nothing_and_keeps_earlier_plugins(
    session: Any, client: Any
) -> None:
    """install([good, bad]) raises; good never runs and an earlier installation still works."""

    class Bad:
        botoware_name = "bad"

        def botoware_after_call(self, call: botoware.Call, nonsense: Any) -> None:
            pass

    earlier, good = Ends("earlier"), Ends("good")
    s3 = client("s3")
    with botoware.install(session, plugins=[earlier], autoload=False):
        with pytest.raises(botoware.PluginError, match=r"'bad'.*nonsense"):
            botoware.install(session, plugins=[good, Bad()], autoload=False)
        s3.list_buckets()
    assert earlier.terminals == [("after_call", "ListBuckets")]
    assert good.terminals == []


def test_class_instead_of_instance_is_named(session: Any) -> None:
    """Passing a plugin class whose hooks are methods fails naming the class and 'self'."""

    class NeedsInstance:
        def botoware_after_call(self, call: botoware.Call) -> None:
            pass

    with pytest.raises(botoware.PluginError, match=r"NeedsInstance.*asks for self"):
        botoware.install(session, plugins=[NeedsInstance], autoload=False)


@pytest.mark.parametrize("thing", [None, 42, b"tracing"])
def test_non_plugin_values_are_rejected(session: Any, thing: object) -> None:
    """None, numbers and bytes in plugins=[...] fail install() naming the value."""
    with pytest.raises(botoware.PluginError, match=r"is no plugin"):
        botoware.install(session, plugins=[thing], autoload=False)


class _WrapperNotGenerator:
    botoware_name = "wrapper-not-generator"

    @botoware.hookimpl(wrapper=True)
    def botoware_after_call(self, call: botoware.Call) -> None:
        pass


class _AsyncHook:
    botoware_name = "async-hook"

    async def botoware_after_call(self, call: botoware.Call) -> None:
        pass


class _GeneratorWithoutWrapper:
    botoware_name = "generator-hook"

    def botoware_after_call(self, call: botoware.Call) -> Iterator[None]:
        yield


class _KeywordOnlyArgument:
    botoware_name = "keyword-only"

    def botoware_after_call(self, *, call: botoware.Call) -> None:
        pass


class _ScopeNotIterable:
    botoware_name = "scope-not-iterable"
    botoware_scope = 42

    def botoware_after_call(self, call: botoware.Call) -> None:
        pass


class _Specname:
    botoware_name = "specname"

    @botoware.hookimpl(specname="botoware_after_call")
    def on_end(self, call: botoware.Call) -> None:
        pass


@pytest.mark.parametrize(
    "plugin",
    [
        pytest.param(_WrapperNotGenerator(), id="wrapper-not-generator"),
        pytest.param(
            _AsyncHook(),
            id="async-hook",
        ),
        pytest.param(
            _GeneratorWithoutWrapper(),
            id="generator-without-wrapper",
        ),
        pytest.param(
            _KeywordOnlyArgument(),
            id="keyword-only-argument",
        ),
        pytest.param(
            _ScopeNotIterable(),
            id="scope-not-iterable",
        ),
        pytest.param(
            _Specname(),
            id="specname",
        ),
    ],
)
def test_hook_that_can_never_run_fails_install_naming_the_plugin(session: Any, plugin: Any) -> None:
    """A hook pluggy could never run correctly fails install() with the plugin's name."""
    with pytest.raises(botoware.PluginError, match=repr(plugin.botoware_name)):
        botoware.install(session, plugins=[plugin], autoload=False).uninstall()


# -------------------------------------------------------------------------------------------
# Observer hooks raising, phase by phase
# -------------------------------------------------------------------------------------------


def _list_buckets(s3: Any) -> None:
    s3.list_buckets()


def _bad_params(s3: Any) -> None:
    with pytest.raises(botocore.exceptions.ParamValidationError):
        s3.put_object(Bucket="bad-input-bucket")


def _paginate(s3: Any) -> None:
    s3.create_bucket(Bucket="bad-input-pages")
    list(s3.get_paginator("list_objects_v2").paginate(Bucket="bad-input-pages"))


OBSERVERS: dict[str, Callable[[Any], None]] = {
    "botoware_before_parameter_build": _list_buckets,
    "botoware_before_sign": _list_buckets,
    "botoware_request_created": _list_buckets,
    "botoware_response_received": _list_buckets,
    "botoware_after_call": _list_buckets,
    "botoware_after_call_error": _bad_params,
    "botoware_run_start": _paginate,
    "botoware_run_end": _paginate,
}


@pytest.mark.parametrize("hook", sorted(OBSERVERS))
def test_observer_raising_in_any_phase_is_logged_and_isolated(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    """An observer raising in any phase never reaches the call; other plugins see it end."""

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"bug in {hook}")

    raising = type("Raising", (), {"botoware_name": "raising", hook: staticmethod(explode)})()
    ends = Ends()
    s3 = client("s3")
    with caplog.at_level(logging.ERROR, logger="botoware"):
        with botoware.install(session, plugins=[ends, raising], autoload=False):
            OBSERVERS[hook](s3)
    assert ends.terminals and ends.terminals[-1][0].startswith("after_call")
    [record] = [r for r in caplog.records if r.name.startswith("botoware")]
    assert "'raising'" in record.getMessage() and hook in record.getMessage()
    assert record.exc_info is not None and "bug in" in str(record.exc_info[1])


def test_client_created_raising_still_creates_the_client(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A client_created observer raising: the client is created and covered all the same."""

    class Raising:
        botoware_name = "raising"

        def botoware_client_created(self) -> None:
            raise RuntimeError("bug in client_created")

    ends = Ends()
    with caplog.at_level(logging.ERROR, logger="botoware"):
        with botoware.install(session, plugins=[ends, Raising()], autoload=False):
            client("s3").list_buckets()
    assert ends.terminals == [("after_call", "ListBuckets")]
    assert any("botoware_client_created" in r.getMessage() for r in caplog.records)


def test_raising_wrapper_of_an_observer_hook_does_not_reach_the_call(
    session: Any, client: Any
) -> None:
    """An observer hook's wrapper=True implementation raising is isolated like the others."""

    class RaisingWrapper:
        botoware_name = "raising-wrapper"

        @botoware.hookimpl(wrapper=True)
        def botoware_after_call(self) -> Iterator[None]:
            yield
            raise RuntimeError("wrapper bug")

    ends = Ends()
    with botoware.install(session, plugins=[ends, RaisingWrapper()], autoload=False):
        client("s3").list_buckets()
    assert ends.terminals == [("after_call", "ListBuckets")]
