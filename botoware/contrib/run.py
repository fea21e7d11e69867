"""``botoware run``: a program's boto3 calls traced and measured without touching its code.

``botoware run -- python app.py`` runs the command with a directory prepended to
``PYTHONPATH`` whose ``sitecustomize`` module (run by Python's ``site`` at start-up, before
``app.py``) first runs any ``sitecustomize`` the environment already had, then calls
:func:`bootstrap`. That reads the settings from environment variables, which is how the
command line hands them over and how a deployment can set them without the command line:

=================================  ===============================================================
``BOTOWARE_PLUGINS``               built-in plugins to install, comma separated
                                   (default ``tracing,metrics``); entry-point plugins load too
                                   unless ``BOTOWARE_DISABLE_PLUGIN_AUTOLOAD=1``
``BOTOWARE_METRICS_PORT``          serve Prometheus metrics on this port (0: a free one); unset:
                                   no endpoint
``BOTOWARE_METRICS_ADDR``          the endpoint's address (default ``127.0.0.1``)
``OTEL_TRACES_EXPORTER``           ``otlp`` (default), ``console`` or ``none`` (botoware sets up
                                   no tracer provider; the program's own, if any, gets the spans)
``OTEL_METRICS_EXPORTER``          ``none`` (default), ``otlp`` or ``console``: also push the
                                   metrics plugin's measurements through an SDK meter provider
``OTEL_EXPORTER_OTLP_ENDPOINT``,   read by :func:`botoware.contrib.otel.configure`
``OTEL_SERVICE_NAME``, ...
=================================  ===============================================================

Everything checkable is checked by :func:`child_environment` and :func:`check_command`, before
the command starts. What only the child can find (a metrics port already taken, say) stops
the child before the program's code runs: a message on stderr and exit code 1.

With a metrics port and no ``PROMETHEUS_MULTIPROC_DIR``, the child sets that variable to a new
temporary directory before any metric exists, so the workers a pre-fork server forks (or
spawns) write their metrics there and the endpoint shows the sum of all processes.

Python started with ``-S``, ``-I`` or ``-E`` skips ``sitecustomize`` or ``PYTHONPATH``, and
then runs without botoware.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, final

from botoware.errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from botoware.contrib.prometheus import MetricsServer
    from botoware.host import Installation

__all__ = [
    "BOOTSTRAP_DIR",
    "DEFAULT_PLUGINS",
    "METRICS_ADDR_ENV",
    "METRICS_PORT_ENV",
    "PLUGINS_ENV",
    "RunSettings",
    "bootstrap",
    "check_command",
    "child_environment",
    "execute",
]

PLUGINS_ENV = "BOTOWARE_PLUGINS"
METRICS_PORT_ENV = "BOTOWARE_METRICS_PORT"
METRICS_ADDR_ENV = "BOTOWARE_METRICS_ADDR"
DEFAULT_PLUGINS = ("tracing", "metrics", "genai")
BOOTSTRAP_DIR = str(Path(__file__).resolve().parent / "_bootstrap")
"""The directory whose ``sitecustomize.py`` installs botoware in the child."""

_EXPORTERS = ("otlp", "console", "none")


@final
@dataclass(frozen=True)
class RunSettings:
    """What the child installs, read from its environment by :meth:`from_env`."""

    plugins: tuple[str, ...] = DEFAULT_PLUGINS
    exporters: tuple[str, ...] = ("otlp",)
    metrics_port: int | None = None
    metrics_addr: str = "127.0.0.1"
    metric_exporters: tuple[str, ...] = ("none",)

    @property
    def configures_tracing(self) -> bool:
        """Whether the child sets up an SDK tracer provider (tracing on, an exporter chosen)."""
        return "tracing" in self.plugins and self.exporters != ("none",)

    @property
    def pushes_metrics(self) -> bool:
        """Whether the child sets up an SDK meter provider for the metrics plugin."""
        return "metrics" in self.plugins and self.metric_exporters != ("none",)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunSettings:
        """Read and check the settings.

        :raises ConfigurationError: naming the variable, for an unknown plugin or exporter or
            a port that is no port.
        """
        from botoware.plugins import BUILTINS

        raw = env.get(PLUGINS_ENV)
        plugins = DEFAULT_PLUGINS if raw is None else _names(raw)
        for name in plugins:
            if name not in BUILTINS:
                raise ConfigurationError(
                    f"{PLUGINS_ENV} names {name!r}, which is no built-in plugin; use some of "
                    f"{', '.join(sorted(BUILTINS))}. Plugins of installed distributions load "
                    "by themselves (entry points)."
                )
        exporters = _names(env.get("OTEL_TRACES_EXPORTER", "")) or ("otlp",)
        for name in exporters:
            if name not in _EXPORTERS:
                raise ConfigurationError(
                    f"OTEL_TRACES_EXPORTER={name!r} is no exporter botoware run can set up; "
                    f"use one of {', '.join(_EXPORTERS)}."
                )
        if "none" in exporters and len(exporters) > 1:
            raise ConfigurationError(
                f"OTEL_TRACES_EXPORTER={','.join(exporters)!r} mixes 'none' with exporters."
            )
        port_text = env.get(METRICS_PORT_ENV, "").strip()
        port: int | None = None
        if port_text:
            if not port_text.isdigit() or int(port_text) > 65535:
                raise ConfigurationError(
                    f"{METRICS_PORT_ENV}={port_text!r} is no port; use 0 to 65535 (0: a free one)."
                )
            port = int(port_text)
        addr = env.get(METRICS_ADDR_ENV, "").strip() or "127.0.0.1"
        from botoware.contrib.otel import _metric_exporter_names

        return cls(plugins, exporters, port, addr, _metric_exporter_names(env))


def _names(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))


def child_environment(
    environ: Mapping[str, str],
    *,
    exporter: str | None = None,
    otlp_endpoint: str | None = None,
    metrics_port: int | None = None,
    plugins: str | None = None,
) -> dict[str, str]:
    """The environment of ``botoware run``'s command: ``environ`` with the options set.

    Options left None keep whatever ``environ`` says. The bootstrap directory goes first on
    ``PYTHONPATH``. The settings are checked here, so a mistake fails before the command
    starts.

    :raises ConfigurationError: for bad settings, naming the variable.
    """
    env = dict(environ)
    if exporter is not None:
        env["OTEL_TRACES_EXPORTER"] = exporter
    if otlp_endpoint is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    if metrics_port is not None:
        env[METRICS_PORT_ENV] = str(metrics_port)
    if plugins is not None:
        env[PLUGINS_ENV] = plugins
    settings = RunSettings.from_env(env)
    if settings.configures_tracing or settings.pushes_metrics:
        _require_sdk()
    _check_child(env, settings)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *(p for p in paths if p != BOOTSTRAP_DIR)])
    return env


def _check_child(env: Mapping[str, str], settings: RunSettings) -> None:
    """What the child's bootstrap and install() would refuse, refused now."""
    from botoware import _loading
    from botoware.contrib import otel
    from botoware.plugins import BUILTINS

    otel.check_environment(env, traces=settings.configures_tracing)
    _loading._flag(_loading.NO_AUTOLOAD_ENV, env)
    # The plugins this Python sees; the command's is the same one unless it names another.
    known = set(BUILTINS) | {ep.name for ep in _loading.entry_points()}
    _loading.blocked_names(known, env)


# Tools that install themselves through a sitecustomize of their own, as botoware run does:
# Python imports only the first one, so one of the two would silently be missing.
_SITECUSTOMIZE_TOOLS = {
    "opentelemetry-instrument": "opentelemetry.instrumentation.auto_instrumentation",
}


def check_command(command: Sequence[str]) -> None:
    """Refuse a command that would undo botoware run: one starting ``opentelemetry-instrument``.

    Both install through ``sitecustomize``, Python imports only the first, so the program
    would run with opentelemetry-instrument's alone, and no span or metric from botoware.

    :raises ConfigurationError: naming the tool and what to run instead.
    """
    words = list(command[:3])
    for tool, module in _SITECUSTOMIZE_TOOLS.items():
        direct = bool(words) and os.path.basename(words[0]) == tool
        as_module = "-m" in words and words.index("-m") + 1 < len(words)
        if direct or (as_module and words[words.index("-m") + 1] == module):
            raise ConfigurationError(
                f"the command starts {tool}, which, like botoware run, installs itself through "
                "sitecustomize; Python runs only one, so botoware would not be installed and "
                "its spans and metrics would be missing. botoware run sets up the OpenTelemetry "
                "SDK from the same OTEL_* variables: run `botoware run -- python app.py` "
                f"without {tool}, or keep {tool} and call botoware.install() in the program."
            )


def _require_sdk() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        from botoware.errors import MissingExtraError

        raise MissingExtraError(
            "botoware run with the 'tracing' plugin", "otel", "opentelemetry-sdk"
        ) from None


def execute(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Replace this process with ``command`` (so signals and the exit code are the command's).

    Returns only when the command cannot be started: 127 if it is not found, 126 if it is
    not executable, with the reason on stderr.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], list(command), dict(env))
    except FileNotFoundError:
        print(f"botoware run: command not found: {command[0]}", file=sys.stderr)
        return 127
    except PermissionError as error:
        print(f"botoware run: cannot execute {command[0]}: {error.strerror}", file=sys.stderr)
        return 126
    except OSError as error:
        print(f"botoware run: cannot execute {command[0]}: {error}", file=sys.stderr)
        return 126
    raise AssertionError("unreachable: exec returned")  # pragma: no cover


# -------------------------------------------------------------------------------------------
# In the child
# -------------------------------------------------------------------------------------------


@final
class _Bootstrapped:
    """What :func:`bootstrap` set up, kept so it lives as long as the process."""

    installation: Installation | None = None
    metrics: MetricsServer | None = None


STATE = _Bootstrapped()


def _multiprocess(env: MutableMapping[str, str]) -> None:
    """Put prometheus_client in multiprocess mode, in a new directory, unless it already is.

    A pre-fork server's workers are copies of this process: without shared files, their calls
    would be counted in their own memory, which the endpoint (served from this process) never
    sees. Must run before any metric is created (prometheus_client picks its value class when
    it is imported).
    """
    from botoware.contrib.prometheus import MULTIPROC_ENV

    if env.get(MULTIPROC_ENV) or env.get(MULTIPROC_ENV.lower()):
        return
    path = tempfile.mkdtemp(prefix="botoware-metrics-")
    env[MULTIPROC_ENV] = os.environ[MULTIPROC_ENV] = path
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported by the environment's sitecustomize: choose again
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:  # forked workers inherit the handler; only the owner removes
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)


def _install_exactly(plugins: tuple[object, ...]) -> Installation:
    """install() process-wide with these built-ins and the entry-point plugins.

    ``install(autoload=True)`` adds the default built-ins as well; the ones not asked for are
    kept out by naming them in ``BOTOWARE_DISABLE_PLUGINS`` for the duration of the call
    (plugins are chosen once, inside it), on top of whatever the user blocks there.
    """
    import botoware
    from botoware._loading import DISABLE_ENV
    from botoware.plugins import DEFAULT_BUILTINS

    named = {p if isinstance(p, str) else getattr(p, "botoware_name", None) for p in plugins}
    unwanted = [name for name in DEFAULT_BUILTINS if name not in named]
    saved = os.environ.get(DISABLE_ENV)
    if unwanted:
        os.environ[DISABLE_ENV] = ",".join([*unwanted, *(saved or "").split(",")])
    try:
        return botoware.install(None, plugins=plugins, autoload=True)
    finally:
        if saved is None:
            os.environ.pop(DISABLE_ENV, None)
        else:
            os.environ[DISABLE_ENV] = saved


def bootstrap(environ: MutableMapping[str, str] | None = None) -> Installation:
    """Install botoware process-wide as the settings in ``environ`` say (default os.environ).

    Sets up the tracer provider (through :func:`botoware.contrib.otel.configure`, unless the
    exporter is ``none`` or tracing is not among the plugins), installs the plugins into every
    session (``botoware.install(None, ...)``) and starts the metrics endpoint when a port is
    set (in prometheus_client's multiprocess mode, so that forked workers count too). The port
    variable is then removed from the environment, so the program's own Python subprocesses,
    also bootstrapped, do not fight over the port. Exactly the built-ins named
    in ``BOTOWARE_PLUGINS`` are installed, whatever ``install()``'s defaults are, plus the
    entry-point plugins unless ``BOTOWARE_DISABLE_PLUGIN_AUTOLOAD`` is set.
    """
    env = os.environ if environ is None else environ
    settings = RunSettings.from_env(env)
    if settings.metrics_port is not None and "metrics" in settings.plugins:
        _multiprocess(env)
    meter_provider: MeterProvider | None = None
    if settings.configures_tracing or settings.pushes_metrics:
        from botoware.contrib import otel

        # Exporter, endpoint and service name from the OTEL_* variables; configure() also
        # sets up the global meter provider when OTEL_METRICS_EXPORTER asks for one.
        if settings.configures_tracing:
            otel.configure()
        elif settings.pushes_metrics:
            otel.configure_metrics()
        if settings.pushes_metrics:
            from opentelemetry import metrics

            meter_provider = metrics.get_meter_provider()
    plugins: tuple[object, ...] = settings.plugins
    if meter_provider is not None:
        from botoware.plugins.metrics import MetricsPlugin

        measured = MetricsPlugin(meter_provider=meter_provider)
        plugins = tuple(measured if name == "metrics" else name for name in settings.plugins)
    installation = _install_exactly(plugins)
    STATE.installation = installation
    if settings.metrics_port is not None:
        from botoware.contrib.prometheus import serve

        STATE.metrics = serve(port=settings.metrics_port, addr=settings.metrics_addr)
        env.pop(METRICS_PORT_ENV, None)
        print(f"botoware run: Prometheus metrics at {STATE.metrics.url}", file=sys.stderr)
    return installation
