"""The botoware pytest plugin: fixtures, a cassette marker and ``--botoware-record``.

pytest loads it through the ``pytest11`` entry point of the botoware package; importing
botoware never imports pytest. Nothing heavier than this module is imported before a test
asks for one of its fixtures.

Fixtures (each function-scoped, installed on :func:`botoware_session` and uninstalled after
the test):

- ``botoware_session``: a ``boto3.Session`` (override it to configure your own);
- ``botoware_recorder``: a :class:`~botoware.testing.Recorder` on that session;
- ``botoware_canned``: a factory, ``botoware_canned({...})`` returns an installed
  :class:`~botoware.testing.Canned`;
- ``botoware_faults``: a factory, ``botoware_faults({...})`` returns installed
  :class:`~botoware.testing.Faults`;
- ``botoware_cassette``: a :class:`~botoware.testing.Cassette` named after the test,
  ``cassettes/<module>/<test>.json`` beside the test file, saved after the test.

The cassette's mode is ``--botoware-record-mode=MODE`` if given, else ``once`` if
``--botoware-record`` is, else the test's ``@pytest.mark.botoware_cassette(mode=...)``,
else the ``botoware_record`` ini option, else ``none`` (replay only: a missing cassette is
an error saying how to record it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    import boto3

    from botoware.testing import Canned, Cassette, Faults, Mode, Recorder

_MODES = ("once", "none", "new_episodes", "all")

T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("botoware", "botoware cassettes")
    group.addoption(
        "--botoware-record",
        action="store_const",
        const="once",
        dest="botoware_record",
        default=None,
        help="record the botoware cassettes that are missing (mode 'once'); overrides the "
        "botoware_cassette marker.",
    )
    group.addoption(
        "--botoware-record-mode",
        choices=_MODES,
        dest="botoware_record_mode",
        default=None,
        metavar="MODE",
        help="cassette mode for every test: 'once' records missing cassettes, "
        "'new_episodes' adds the calls a cassette lacks, 'all' re-records, 'none' only "
        "replays. Overrides --botoware-record and the botoware_cassette marker.",
    )
    parser.addini(
        "botoware_record",
        "cassette mode when neither --botoware-record nor the marker names one (none)",
        default="none",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "botoware_cassette(mode=None, path=None, secrets=(), ignore=None, allow_repeats=False):"
        " options of the botoware_cassette fixture for this test.",
    )


@pytest.fixture
def botoware_session() -> boto3.Session:
    """A ``boto3.Session`` the other botoware fixtures install into (us-east-1 if no region)."""
    import boto3

    session = boto3.Session()
    if session.region_name is None:
        session = boto3.Session(region_name="us-east-1")
    return session


def _installed(session: Any, plugin: object) -> Any:
    import botoware

    return botoware.install(session, plugins=[plugin], autoload=False)


@pytest.fixture
def botoware_recorder(botoware_session: boto3.Session) -> Iterator[Recorder]:
    """A :class:`~botoware.testing.Recorder` installed on ``botoware_session``."""
    from botoware.testing import Recorder

    recorder = Recorder(name="pytest-recorder")
    with _installed(botoware_session, recorder):
        yield recorder


@pytest.fixture
def botoware_canned(botoware_session: boto3.Session) -> Iterator[Callable[..., Canned]]:
    """``botoware_canned(answers, passthrough=False)`` installs and returns a Canned."""
    from botoware.testing import Canned

    with _Factory(botoware_session, "pytest-canned") as factory:

        def make(answers: Any, *, passthrough: bool = False) -> Canned:
            return factory.add(Canned(answers, passthrough=passthrough, name=factory.name()))

        yield make


@pytest.fixture
def botoware_faults(botoware_session: boto3.Session) -> Iterator[Callable[..., Faults]]:
    """``botoware_faults(rules, seed=None)`` installs and returns Faults (no real sleeps)."""
    from botoware.testing import Faults

    with _Factory(botoware_session, "pytest-faults") as factory:

        def make(rules: Any, *, seed: int | None = None) -> Faults:
            faults = Faults(rules, seed=seed, sleep=_no_sleep, name=factory.name())
            return factory.add(faults)

        yield make


@pytest.fixture
def botoware_cassette(
    request: pytest.FixtureRequest, botoware_session: boto3.Session
) -> Iterator[Cassette]:
    """A cassette named after the test, installed on ``botoware_session``, saved after it."""
    from botoware.testing import Cassette

    marker = request.node.get_closest_marker("botoware_cassette")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    marked_mode = options.pop("mode", None)
    config = request.config
    mode = config.getoption("botoware_record_mode") or config.getoption("botoware_record")
    mode = mode or marked_mode
    mode = mode or request.config.getini("botoware_record") or "none"
    path = options.pop("path", None) or cassette_path(request)
    cassette = Cassette(path, mode=cast("Mode", mode), **options)
    with _installed(botoware_session, cassette):
        yield cassette
    cassette.save()


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """``<test dir>/cassettes/<module>/<Class.>test[params].json`` for the requesting test."""
    module = Path(str(request.node.path))
    name = request.node.name
    if request.cls is not None:
        name = f"{request.cls.__name__}.{name}"
    safe = re.sub(r"[^\w.\[\]-]+", "-", name)
    return module.parent / "cassettes" / module.stem / f"{safe}.json"


class _Factory:
    """Installs the plugins a factory fixture makes; uninstalls them after the test."""

    __slots__ = ("_installations", "_prefix", "_session")

    def __init__(self, session: Any, prefix: str) -> None:
        self._session = session
        self._prefix = prefix
        self._installations: list[Any] = []

    def name(self) -> str:
        count = len(self._installations)
        return self._prefix if count == 0 else f"{self._prefix}-{count + 1}"

    def add(self, plugin: T) -> T:
        self._installations.append(_installed(self._session, plugin))
        return plugin

    def __enter__(self) -> _Factory:
        return self

    def __exit__(self, *exc: object) -> None:
        for installation in reversed(self._installations):
            installation.uninstall()


def _no_sleep(seconds: float) -> None:
    """Injected latency takes no time in a test."""
