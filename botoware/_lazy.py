"""Regular expressions and modules made ready when first used, not at import.

``import botoware`` and an autoload ``install()`` are part of every Lambda cold start; what
only error paths or one service's calls need is loaded by those.
"""

from __future__ import annotations

import importlib
import re
import types
from collections.abc import Iterator
from typing import Any, final

__all__ = ["Pattern", "module"]


@final
class Pattern:
    """A regular expression compiled on first use, with the ``re.Pattern`` methods botoware
    calls. (Compiling a pattern takes tens to hundreds of microseconds.)"""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Pattern({self._source!r})"

    def get(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:  # two threads may both compile: the same pattern either way
            compiled = self._compiled = re.compile(self._source, self._flags)
        return compiled

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.get().fullmatch(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.get().match(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.get().search(text)

    def split(self, text: str) -> list[str | Any]:
        return self.get().split(text)

    def finditer(self, text: str, pos: int = 0) -> Iterator[re.Match[str]]:
        return self.get().finditer(text, pos)


class _LazyModule(types.ModuleType):
    """Stands in for a module until one of its attributes is read, then takes on all of them:
    later reads are plain attribute reads, and later changes to the real module's attributes
    (a test's monkeypatch) do not reach the stand-in."""

    def __getattr__(self, name: str) -> Any:
        # import_module holds the module's import lock, so threads racing here wait for the
        # one import and then copy the same attributes.
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def module(name: str) -> types.ModuleType:
    """``name``, imported when one of its attributes is first read.

    Bind the result at module level under ``if not TYPE_CHECKING:`` and import the module
    normally under ``if TYPE_CHECKING:``, so type checkers see the real module.
    """
    return _LazyModule(name)
