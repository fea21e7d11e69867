"""Finding plugins: built-in names, passed-in objects, entry points, environment variables."""

from __future__ import annotations

import difflib
import importlib
import os
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from botoware.errors import ConfigurationError, PluginError
from botoware.plugins import BUILTINS, DEFAULT_BUILTINS

ENTRY_POINT_GROUP = "botoware"
DISABLE_ENV = "BOTOWARE_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "BOTOWARE_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class Candidate:
    """A plugin ``install()`` would register: its name, how to get it, where it is from."""

    name: str
    source: str
    plugin: object = None
    entry_point: metadata.EntryPoint | None = None
    builtin: str | None = None

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
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


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
            chosen.append(Candidate(plugin, "built-in", builtin=BUILTINS[plugin]))
        elif plugin is None or isinstance(plugin, (int, float, bytes)):
            raise PluginError(f"install(plugins=...) got {plugin!r}, which is no plugin.")
        else:
            chosen.append(Candidate(plugin_name(plugin), "passed in", plugin=plugin))
    if autoload:
        # Passed-in plugins come first so that a configured one replaces the default of its name.
        chosen += [Candidate(n, "built-in", builtin=BUILTINS[n]) for n in DEFAULT_BUILTINS]
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
