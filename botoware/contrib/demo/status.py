"""The demo's live status line: one rewritten line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO, final

__all__ = ["StatusLine"]

_CLEAR = "\r\x1b[K"


@final
class StatusLine:
    """Shows the running step, its progress and a live call count.

    On a terminal one line is rewritten in place (carriage return and erase-line, no curses),
    refreshed by a daemon thread every ``interval`` seconds. Elsewhere (a pipe, a CI log) each
    step prints one line when it ends and long steps print a few progress lines, so a log
    never fills with redraws.

    :param stream: where to write, usually ``sys.stderr``.
    :param calls: returns the number of AWS calls so far (for the live count).
    :param live: rewrite one line; default: whether ``stream`` is a terminal.
    """

    def __init__(
        self,
        stream: TextIO,
        calls: Callable[[], int],
        *,
        live: bool | None = None,
        interval: float = 0.2,
    ) -> None:
        self._stream = stream
        self._calls = calls
        self._live = _isatty(stream) if live is None else live
        self._interval = interval
        self._lock = threading.Lock()
        self._step = ""
        self._detail = ""
        self._printed = ""
        self._started = time.monotonic()
        self._step_started = self._started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StatusLine:
        if self._live:
            self._thread = threading.Thread(
                target=self._tick, name="botoware-demo-status", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._live:
                self._write(_CLEAR)

    def start(self, step: str) -> None:
        """A step begins."""
        with self._lock:
            self._step, self._detail = step, ""
            self._step_started = time.monotonic()
            if self._live:
                self._redraw()

    def progress(self, detail: str) -> None:
        """The running step has news (``"1200/2000 segments written"``)."""
        with self._lock:
            self._detail = detail
            if self._live:
                self._redraw()
                return
            # Off a terminal, "N/M ..." details print at each quarter of the step's work only.
            mark = _quarter(detail)
            if mark != self._printed:
                self._printed = mark
                self._write(f"       {self._step}: {detail}\n")

    def finish(self, ok: bool, result: str) -> None:
        """The running step ended; its line stays on screen."""
        with self._lock:
            seconds = time.monotonic() - self._step_started
            mark = "ok  " if ok else "FAIL"
            line = f"[{mark}] {self._step} ({seconds:.1f}s): {result}\n"
            self._write(_CLEAR + line if self._live else line)
            self._step, self._detail, self._printed = "", "", ""
            if self._live:
                self._redraw()

    # ---- internals --------------------------------------------------------------------

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                self._redraw()

    def _redraw(self) -> None:
        if not self._step:
            return
        elapsed = time.monotonic() - self._started
        try:
            calls = self._calls()
        except Exception:  # a count is decoration; never let it end the demo
            calls = 0
        detail = f" · {self._detail}" if self._detail else ""
        self._write(f"{_CLEAR}  ▸ {self._step}{detail} · {calls} AWS calls · {elapsed:.1f}s")

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken stream
            pass
        except UnicodeEncodeError:
            self._stream.write(text.encode("ascii", "replace").decode())


def _quarter(detail: str) -> str:
    head = detail.split(" ", 1)[0]
    done, _, total = head.partition("/")
    if done.isdigit() and total.isdigit() and int(total):
        return f"{4 * int(done) // int(total)}/4"
    return detail


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
