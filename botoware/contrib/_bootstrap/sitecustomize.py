"""Installs botoware in a process started by ``botoware run``, before the program's code.

Python's ``site`` imports the first ``sitecustomize`` on ``sys.path``; ``botoware run`` puts
this directory first on ``PYTHONPATH``, so that is this module. It first runs the
``sitecustomize`` the environment would have run without it (a virtualenv's, a distribution's),
then :func:`botoware.contrib.run.bootstrap`. If that fails (a setting only this process can
find wrong, a metrics port already taken), the process stops with exit code 1 and the reason
on stderr, before the program's code runs: ``botoware run`` promised telemetry, and a program
silently running without it is the worse failure. The one exception is a Python that cannot
import botoware at all (another interpreter the program starts): it says so in one line on
stderr and runs without botoware.
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
        try:
            from botoware.contrib.run import bootstrap
        except ImportError as error:
            # Another Python than the one botoware is installed in, started by the program
            # (a system tool written in Python, say): not the program botoware run was asked
            # to instrument, and it must keep working.
            print(
                f"botoware run: {sys.executable} cannot import botoware ({error}); this process "
                "runs without it.",
                file=sys.stderr,
            )
            return
        bootstrap()
    except Exception as error:
        print(
            f"botoware run: cannot install botoware in this process, so the program was not "
            f"started: {type(error).__name__}: {error}",
            file=sys.stderr,
            flush=True,
        )
        # Not sys.exit(): SystemExit out of sitecustomize is a fatal error of Python's start-up,
        # with a traceback that hides the message.
        os._exit(1)
    finally:
        # The program sees its own sys.path; the variable stays for its Python subprocesses.
        sys.path[:] = [entry for entry in sys.path if not _on_path(entry)]


_bootstrap()
