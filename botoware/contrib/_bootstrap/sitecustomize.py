"""Installs botoware in a process started by ``botoware run``, before the program's code.

Python's ``site`` imports the first ``sitecustomize`` on ``sys.path``; ``botoware run`` puts
this directory first on ``PYTHONPATH``, so that is this module. It first runs the
``sitecustomize`` the environment would have run without it (a virtualenv's, a distribution's),
then :func:`botoware.contrib.run.bootstrap`. A failure is reported on stderr and the program
runs without botoware: instrumentation must not be the reason a program does not start.
"""

from __future__ import annotations

import importlib
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _on_path(entry: str) -> bool:
    return os.path.abspath(entry or os.curdir) == _HERE


def _chain() -> None:
    """Import the next ``sitecustomize`` on the path, as if this one were not there."""
    own = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [entry for entry in sys.path if not _on_path(entry)]
    try:
        importlib.import_module("sitecustomize")
    except ModuleNotFoundError as error:
        if error.name != "sitecustomize":
            raise
    finally:
        chained = sys.modules.pop("sitecustomize", None)
        sys.path[:] = saved
        if own is not None:
            sys.modules["sitecustomize"] = own
        if chained is not None:
            sys.modules["_botoware_chained_sitecustomize"] = chained


def _bootstrap() -> None:
    try:
        _chain()
    except Exception as error:
        print(f"botoware run: the environment's sitecustomize failed: {error!r}", file=sys.stderr)
    try:
        from botoware.contrib.run import bootstrap

        bootstrap()
    except Exception as error:
        print(
            f"botoware run: botoware is not installed in this process: "
            f"{type(error).__name__}: {error}",
            file=sys.stderr,
        )
    finally:
        # The program sees its own sys.path; the variable stays for its Python subprocesses.
        sys.path[:] = [entry for entry in sys.path if not _on_path(entry)]


_bootstrap()
