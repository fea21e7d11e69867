"""The ``botoware`` command: ``demo``, ``run`` and ``plugins``.

::

    botoware demo [--keep-serving] [--otlp URL] [--port N]
    botoware run [--exporter otlp|console|none] [--otlp-endpoint URL] [--metrics-port N]
                 [--plugins a,b] -- COMMAND ...
    botoware plugins [--json]

Exit codes: 0 success; 1 a demo step failed, a plugin failed to load, or botoware could not be
set up (the message says why); 2 a usage error. ``botoware run`` ends with its command's code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TextIO, final

from botoware import __version__
from botoware.errors import BotowareError

__all__ = ["PluginRow", "list_plugins", "main"]

_SCOPE_SHOWN = 4
_DESCRIPTION = "botoware: plugins for every boto3 call. Try `botoware demo`."


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port from 0 to 65535")
    return port


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not 1 or more")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botoware", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"botoware {__version__}")
    commands = parser.add_subparsers(dest="subcommand", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a traced, measured workload on a local AWS (moto); show what botoware saw",
        description="Start moto on 127.0.0.1, install botoware's tracing, metrics and policies "
        "plugins, run the 'drop video transcoder' workload, then print a per-operation table "
        "and the trace tree of one flow. Needs: pip install 'botoware[demo,otel]'.",
    )
    demo.add_argument(
        "--keep-serving",
        action="store_true",
        help="keep the Prometheus endpoint up after the summary, until Ctrl-C",
    )
    demo.add_argument("--otlp", metavar="URL", help="also export spans over OTLP/HTTP to URL")
    demo.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="port of the Prometheus endpoint on 127.0.0.1 (default: a free one)",
    )
    demo.add_argument(
        "--segments",
        type=_positive,
        default=2000,
        metavar="N",
        help="segment keys written and listed with a paginator (default: 2000)",
    )

    run = commands.add_parser(
        "run",
        help="run a command with botoware installed in its Python process",
        description="Run COMMAND (python app.py, python -m pkg, a console script) with botoware "
        "installed process-wide before user code runs, like opentelemetry-instrument. Options "
        "become BOTOWARE_*/OTEL_* environment variables of the child; unset options keep "
        "the variables you set. The exit code is the command's.",
    )
    run.add_argument(
        "--exporter",
        choices=("otlp", "console", "none"),
        help="where spans go (OTEL_TRACES_EXPORTER; default otlp). 'none' sets up no tracer "
        "provider: spans go to one the program sets itself, if any",
    )
    run.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="OTLP/HTTP collector (OTEL_EXPORTER_OTLP_ENDPOINT; default http://localhost:4318)",
    )
    run.add_argument(
        "--metrics-port",
        type=_port,
        metavar="N",
        help="serve Prometheus metrics on 127.0.0.1:N (BOTOWARE_METRICS_PORT; 0: a free port, "
        "printed on stderr)",
    )
    run.add_argument(
        "--plugins",
        metavar="a,b",
        help="built-in plugins to install (BOTOWARE_PLUGINS; default tracing,metrics,genai); "
        "entry-point plugins load too unless BOTOWARE_DISABLE_PLUGIN_AUTOLOAD=1",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")

    plugins = commands.add_parser(
        "plugins",
        help="list the plugins install() would load, blocked ones and load errors",
        description="List what botoware.install(session) would load with this environment: "
        "each plugin's name, source, hooks and status (active, blocked and why, failed with "
        "its error), then the built-ins that only load when named. Exit code 1 when a plugin "
        "fails to load.",
    )
    plugins.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``botoware`` command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.subcommand is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.subcommand == "demo":
            return _demo(args)
        if args.subcommand == "run":
            return _run(parser, args)
        return _plugins(args, sys.stdout)
    except BotowareError as error:
        print(f"botoware {args.subcommand}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`botoware plugins | head`): no traceback, and none at exit
        # when Python flushes stdout again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# -------------------------------------------------------------------------------------------
# demo
# -------------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from botoware.contrib.demo import DemoOptions, run

    options = DemoOptions(
        keep_serving=args.keep_serving, otlp=args.otlp, port=args.port, segments=args.segments
    )
    try:
        return run(options)
    except KeyboardInterrupt:
        print("\nbotoware demo: interrupted", file=sys.stderr)
        return 130


# -------------------------------------------------------------------------------------------
# run
# -------------------------------------------------------------------------------------------


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from botoware.contrib import run

    command = list(args.argv)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("run: give the command to run after --, e.g. botoware run -- python app.py")
    run.check_command(command)
    env = run.child_environment(
        os.environ,
        exporter=args.exporter,
        otlp_endpoint=args.otlp_endpoint,
        metrics_port=args.metrics_port,
        plugins=args.plugins,
    )
    return run.execute(command, env)


# -------------------------------------------------------------------------------------------
# plugins
# -------------------------------------------------------------------------------------------


@final
@dataclass(frozen=True)
class PluginRow:
    """One plugin as ``botoware plugins`` reports it.

    :ivar status: ``"active"`` (install() registers it), ``"blocked"``, ``"failed"`` (loading
        raised; install() skips an entry-point plugin with a warning and raises for a
        built-in), ``"not autoloaded"`` (an entry point while autoload is off) or
        ``"opt-in"`` (a built-in loaded only when named in ``plugins=[...]``).
    """

    name: str
    source: str
    status: str
    hooks: tuple[str, ...] = ()
    scope: tuple[str, ...] | None = None
    reason: str | None = None


def _scope(plugin: object) -> tuple[str, ...] | None:
    scope = getattr(plugin, "botoware_scope", None)
    if scope is None:
        return None
    return (scope,) if isinstance(scope, str) else tuple(scope)


def _loaded(name: str, source: str, candidate: object, status: str) -> PluginRow:
    """Load a candidate the way install() does and check it; a failure becomes the row."""
    from botoware import _loading
    from botoware.host import check_plugin

    assert isinstance(candidate, _loading.Candidate)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the row reports what install() would warn about
            plugin = candidate.load()
            hooks = check_plugin(name, source, plugin)
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
        if status == "opt-in":
            return PluginRow(name, source, status, reason=f"with its defaults: {problem}")
        return PluginRow(name, source, "failed", reason=problem)
    short = tuple(hook.removeprefix("botoware_") for hook in hooks)
    note = None
    if status == "opt-in":
        note = f"loaded only when named: install(session, plugins=[{name!r}])"
    return PluginRow(name, source, status, short, _scope(plugin), note)


def list_plugins() -> list[PluginRow]:
    """What ``botoware.install(session)`` would load in this environment, in load order.

    Then entry points left out because autoload is off, then the built-ins that load only
    when named. Uses botoware's own candidate search and checks, so blocking
    (``BOTOWARE_DISABLE_PLUGINS``) and autoload (``BOTOWARE_DISABLE_PLUGIN_AUTOLOAD``) work
    exactly as in ``install()``.

    :raises ConfigurationError: a bad ``BOTOWARE_*`` variable (install() would raise it too).
    """
    from botoware import _loading
    from botoware.plugins import BUILTINS

    active, blocked = _loading.candidates((), autoload=True)
    rows = [_loaded(c.name, c.source, c, "active") for c in active]
    rows += [PluginRow(c.name, c.source, "blocked", reason=why) for c, why in blocked]
    listed = {row.name for row in rows}
    for ep in _loading.entry_points():
        if ep.name not in listed:
            listed.add(ep.name)
            rows.append(
                PluginRow(
                    ep.name,
                    _loading.entry_point_source(ep),
                    "not autoloaded",
                    reason=f"{_loading.NO_AUTOLOAD_ENV} is set",
                )
            )
    for name in sorted(set(BUILTINS) - listed):
        candidate = _loading.Candidate(name, _loading.BUILT_IN, builtin=BUILTINS[name])
        rows.append(_loaded(name, _loading.BUILT_IN, candidate, "opt-in"))
    return rows


def _plugins(args: argparse.Namespace, out: TextIO) -> int:
    rows = list_plugins()
    failed = any(row.status == "failed" for row in rows)
    if args.json:
        json.dump([asdict(row) for row in rows], out, indent=2)
        out.write("\n")
        return 1 if failed else 0
    active = sum(row.status == "active" for row in rows)
    out.write(f"botoware.install(session) would load {active} plugin{'s' * (active != 1)}.\n")
    for row in rows:
        out.write(f"\n{row.name}  [{row.status}]  {row.source}\n")
        if row.hooks:
            out.write(f"    hooks: {', '.join(row.hooks)}\n")
        if row.scope is not None:
            shown = ", ".join(row.scope[:_SCOPE_SHOWN])
            more = f", ... ({len(row.scope)} in all)" if len(row.scope) > _SCOPE_SHOWN else ""
            out.write(f"    scope: {shown}{more}\n")
        if row.reason:
            label = "error" if row.status == "failed" else "note"
            out.write(f"    {label}: {row.reason}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
