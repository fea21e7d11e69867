"""Finding plugins: built-in names, passed-in objects, entry points, environment variables."""

from __future__ import annotations

import importlib
import os
import pathlib
import stat
import sys
import threading
import time
import types
from collections.abc import Iterable, Mapping
from importlib import metadata
from importlib.machinery import PathFinder
from typing import Any, final

from botoware.errors import ConfigurationError, PluginError
from botoware.plugins import BUILTINS, DEFAULT_BUILTINS

BUILT_IN = "built-in"
"""The source of the plugins botoware ships (``PluginInfo.source``)."""

ENTRY_POINT_GROUP = "botoware"
DISABLE_ENV = "BOTOWARE_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "BOTOWARE_DISABLE_PLUGIN_AUTOLOAD"


@final
class Candidate:
    """A plugin ``install()`` would register: its name, how to get it, where it is from."""

    # A plain class, not a dataclass: building a dataclass costs a millisecond of import time.
    __slots__ = ("builtin", "entry_point", "name", "plugin", "source")

    def __init__(
        self,
        name: str,
        source: str,
        plugin: object = None,
        entry_point: metadata.EntryPoint | None = None,
        builtin: str | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.plugin = plugin
        self.entry_point = entry_point
        self.builtin = builtin

    def __repr__(self) -> str:
        return f"Candidate({self.name!r}, {self.source!r})"

    def load(self) -> object:
        """Import and, for classes and factories, instantiate the plugin."""
        if self.builtin is not None:
            module_name, _, factory = self.builtin.partition(":")
            return getattr(importlib.import_module(module_name), factory)()
        if self.entry_point is not None:
            loaded = self.entry_point.load()
            return loaded() if isinstance(loaded, type) else loaded
        return self.plugin


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib  # only for error messages: half a millisecond of each cold start otherwise

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name}={value!r} is not a boolean; use 1 or 0.")


def entry_points() -> list[metadata.EntryPoint]:
    """The ``botoware`` entry points of the distributions on ``sys.path``, sorted by name.

    ``importlib.metadata.entry_points()`` reads and parses every distribution's entry points
    (milliseconds on each cold start, on every ``install()``); this reads only the files that
    name the group, and remembers the answer until ``sys.path`` or one of its directories
    changes (installing or removing a distribution changes its directory).
    """
    global _CACHE
    key = _path_key()
    cached = _CACHE
    if cached is not None and cached[0] == key:
        return list(cached[1])
    with _CACHE_LOCK:
        scanned_ns = time.time_ns()
        found = _scan() if key is not None else None
        if found is None:  # a zip or a custom finder on sys.path: ask importlib.metadata
            found = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        found.sort(key=lambda ep: ep.name)
        # A directory changed within the file system's timestamp granularity of the scan may
        # change again with the same mtime (as git's "racy" index entries): not cached then.
        if key is None or any(mtime >= scanned_ns - _RACY_NS for _, mtime in key):
            _CACHE = None
        else:
            _CACHE = (key, found)
    return list(found)


_CACHE: tuple[tuple[tuple[str, int], ...], list[metadata.EntryPoint]] | None = None
_CACHE_LOCK = threading.Lock()
_RACY_NS = 2_000_000_000
_GROUP_HEADER = f"[{ENTRY_POINT_GROUP}]"


def _path_key() -> tuple[tuple[str, int], ...] | None:
    """``sys.path`` with each directory's modification time; None when an entry is no
    directory (a zip: the fast path cannot look inside)."""
    key: list[tuple[str, int]] = []
    for entry in sys.path:
        if not isinstance(entry, str):
            return None
        directory = entry or os.getcwd()  # "" is the current directory, wherever that is now
        try:
            st = os.stat(directory)
        except OSError:
            continue  # a missing directory holds no distribution
        if not stat.S_ISDIR(st.st_mode):
            return None
        key.append((directory, st.st_mtime_ns))
    return tuple(key)


def _scan() -> list[metadata.EntryPoint] | None:
    """The group's entry points from ``*.dist-info`` and ``*.egg-info`` directories, the
    first distribution of each name winning as in importlib.metadata; None to fall back."""
    if any(
        finder is not PathFinder and getattr(finder, "find_distributions", None) is not None
        for finder in sys.meta_path
    ):
        return None  # a finder with distributions of its own
    found: list[metadata.EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")  # names only: cheaper than scandir's entries
        except OSError:
            continue
        names = sorted(name for name in listing if name.endswith(_INFO_SUFFIXES))
        for name in names:
            dist_name = _normalized(name)
            if dist_name in seen:
                continue
            seen.add(dist_name)
            path = os.path.join(entry or ".", name)
            if not _names_group(os.path.join(path, "entry_points.txt")):
                continue
            dist = metadata.PathDistribution(pathlib.Path(path))
            found.extend(dist.entry_points.select(group=ENTRY_POINT_GROUP))
    return found


_INFO_SUFFIXES = (".dist-info", ".egg-info")
_GROUP_HEADER_BYTES = _GROUP_HEADER.encode()


def _names_group(entry_points_txt: str) -> bool:
    """Whether the file has a ``[botoware]`` section (False when there is no such file).

    Read as bytes with os.read: of a hundred distributions, most have no botoware entry
    point, and a text-mode open() of each cost half a millisecond more per cold start.
    """
    try:
        fd = os.open(entry_points_txt, os.O_RDONLY)
    except OSError:
        return False
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        return False
    finally:
        os.close(fd)
    return _GROUP_HEADER_BYTES in b"".join(chunks)


def _normalized(info_dir: str) -> str:
    """``Foo.Bar-1.0.dist-info`` -> ``foo_bar`` (PEP 503 name, as importlib.metadata dedups)."""
    stem = info_dir.rpartition(".")[0].partition("-")[0]
    return stem.lower().replace("-", "_").replace(".", "_")


def entry_point_source(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else f"entry point {ep.value}"


def blocked_names(known: Iterable[str], environ: Mapping[str, str] | None = None) -> set[str]:
    """Names in ``BOTOWARE_DISABLE_PLUGINS`` (of ``environ``, default os.environ); an unknown
    one is a configuration error."""
    raw = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    names = {part.strip() for part in raw.split(",") if part.strip()}
    known = set(known)
    for name in sorted(names - known):
        raise ConfigurationError(
            f"{DISABLE_ENV} names {name!r}, which is no plugin botoware knows."
            f"{_suggest(name, known)} Known plugins: {', '.join(sorted(known)) or 'none'}."
        )
    return names


def plugin_name(plugin: object) -> str:
    """The name a passed-in plugin object is registered under."""
    explicit = getattr(plugin, "botoware_name", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    if isinstance(plugin, type):
        return f"{plugin.__module__}.{plugin.__qualname__}"
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}@{id(plugin):x}"


def candidates(
    plugins: Iterable[object], autoload: bool
) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Plugins to register and the blocked ones with the reason, in registration order."""
    autoload = autoload and not _flag(NO_AUTOLOAD_ENV)
    # Scanning the installed distributions takes milliseconds: only when they are wanted (or
    # needed to tell a blocked entry point's name from a typo).
    eps = entry_points() if autoload or os.environ.get(DISABLE_ENV, "").strip() else []
    chosen: list[Candidate] = []
    for plugin in plugins:
        if isinstance(plugin, str):
            if plugin not in BUILTINS:
                raise PluginError(
                    f"install(plugins=...) names {plugin!r}, which is no built-in plugin."
                    f"{_suggest(plugin, BUILTINS)} Built-in plugins: "
                    f"{', '.join(sorted(BUILTINS)) or 'none'}."
                )
            chosen.append(Candidate(plugin, BUILT_IN, builtin=BUILTINS[plugin]))
        elif plugin is None or isinstance(plugin, (int, float, bytes)):
            raise PluginError(f"install(plugins=...) got {plugin!r}, which is no plugin.")
        else:
            chosen.append(Candidate(plugin_name(plugin), "passed in", plugin=plugin))
    if autoload:
        # Passed-in plugins come first so that a configured one replaces the default of its name.
        chosen += [Candidate(n, BUILT_IN, builtin=BUILTINS[n]) for n in DEFAULT_BUILTINS]
        chosen += [Candidate(ep.name, entry_point_source(ep), entry_point=ep) for ep in eps]
    known = set(BUILTINS) | {ep.name for ep in eps} | {c.name for c in chosen}
    blocked = blocked_names(known)
    active: list[Candidate] = []
    skipped: list[tuple[Candidate, str]] = []
    seen: set[str] = set()
    for cand in chosen:
        if cand.name in blocked:
            skipped.append((cand, f"blocked by {DISABLE_ENV}"))
        elif cand.name not in seen:
            seen.add(cand.name)
            active.append(cand)
    return active, skipped


def describe_object(obj: Any) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__
