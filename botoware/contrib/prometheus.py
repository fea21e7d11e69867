"""Expose botoware's metrics to Prometheus: a scrape endpoint, or an app to mount in yours.

::

    from botoware.contrib.prometheus import serve

    server = serve(port=9100)  # http://127.0.0.1:9100/metrics, in a daemon thread
    ...
    server.close()

Every exposition negotiates the format the way prometheus_client does: a scraper that accepts
``application/openmetrics-text`` (Prometheus does) gets OpenMetrics, exemplars included.

Under a pre-fork server (gunicorn, uWSGI) set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the workers start: each process then writes its metrics to files there, and
the exposition of :func:`serve`, :func:`wsgi_app` and :func:`asgi_app` (without an explicit
``registry``) sums the files of all processes with prometheus_client's
``MultiProcessCollector``. Use :func:`child_exit` as gunicorn's ``child_exit`` hook so that a
dead worker's in-flight calls stop counting.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any, final

from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app, make_wsgi_app
from prometheus_client import start_http_server as _start_http_server

from botoware.errors import ConfigurationError

__all__ = [
    "MULTIPROC_ENV",
    "MetricsServer",
    "asgi_app",
    "child_exit",
    "exposition_registry",
    "serve",
    "wsgi_app",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess-mode variable: a directory shared by the processes."""

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]
"""An ASGI 3 application."""
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""A WSGI application."""


def _multiproc_dir() -> str | None:
    # prometheus_client still honours the old lower-case spelling (with a warning).
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def exposition_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry an endpoint should expose.

    ``registry`` if given; else, in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set), a
    new registry whose ``MultiProcessCollector`` reads every process's files at each scrape;
    else prometheus_client's global ``REGISTRY``.

    :raises ConfigurationError: ``PROMETHEUS_MULTIPROC_DIR`` is set but not a directory.
    """
    if registry is not None:
        return registry
    path = _multiproc_dir()
    if path is None:
        return REGISTRY
    if not os.path.isdir(path):
        raise ConfigurationError(
            f"{MULTIPROC_ENV}={path!r} is not a directory; create it (empty) before the "
            "worker processes start, or unset it outside multiprocess mode."
        )
    from prometheus_client.multiprocess import MultiProcessCollector

    collecting = CollectorRegistry()
    MultiProcessCollector(collecting, path=path)  # type: ignore[no-untyped-call]
    return collecting


def wsgi_app(registry: CollectorRegistry | None = None) -> WSGIApp:
    """A WSGI app answering every GET with the metrics (mount it at ``/metrics``).

    :param registry: what to expose; default :func:`exposition_registry`.
    """
    app: WSGIApp = make_wsgi_app(exposition_registry(registry))
    return app


def asgi_app(registry: CollectorRegistry | None = None) -> ASGIApp:
    """An ASGI app answering every HTTP GET with the metrics (mount it at ``/metrics``).

    It also completes the ``lifespan`` protocol, so it runs on its own under an ASGI server
    (``uvicorn module:app``) as well as mounted in Starlette or FastAPI.

    :param registry: what to expose; default :func:`exposition_registry`.
    """
    exposition: ASGIApp = make_asgi_app(exposition_registry(registry))

    async def metrics_app(scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "lifespan":
            await exposition(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return metrics_app


@final
class MetricsServer:
    """A running scrape endpoint started by :func:`serve`; a context manager.

    :ivar address: the address it listens on.
    :ivar port: the port it listens on (the one the OS chose for ``port=0``).
    :ivar url: ``http://{address}:{port}/metrics``.
    """

    __slots__ = ("_closed", "_server", "_thread", "address", "port", "url")

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._closed = False
        host, port = server.server_address[:2]
        self.address: str = host
        self.port: int = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "serving"
        return f"<MetricsServer {self.url} {state}>"


def serve(
    port: int = 0, addr: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> MetricsServer:
    """Serve the metrics over HTTP from a daemon thread (prometheus_client's server).

    :param port: the port; 0 lets the OS choose a free one (see :attr:`MetricsServer.port`).
    :param addr: the address to listen on. The default keeps the endpoint on loopback; use
        ``"0.0.0.0"`` (or ``"::"``) for a scraper on another machine.
    :param registry: what to expose; default :func:`exposition_registry`.
    :raises OSError: the address cannot be bound (port taken, address not local); the message
        names the address and port, ``errno`` is the operating system's.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"serve(port={port!r}): give a port from 0 to 65535.")
    exposed = exposition_registry(registry)
    try:
        server, thread = _start_http_server(port, addr=addr, registry=exposed)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(
            exc.errno,
            f"cannot serve metrics on {addr} port {port}: {reason}. Pick another port, or "
            "port=0 for a free one.",
        ) from exc
    return MetricsServer(server, thread)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` server hook for multiprocess mode.

    Removes the dead worker's in-flight gauge file, so ``aws_client_calls_in_flight`` sums
    live processes only (its counters and histograms stay counted). In ``gunicorn.conf.py``::

        from botoware.contrib.prometheus import child_exit
    """
    from prometheus_client.multiprocess import mark_process_dead

    path = _multiproc_dir()
    if path is not None:
        mark_process_dead(worker.pid, path)  # type: ignore[no-untyped-call]
