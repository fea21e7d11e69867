"""`botoware demo`: the transcoder workload on its own moto server, end to end."""

from __future__ import annotations

import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from botoware.contrib import cli, demo
from botoware.errors import MissingExtraError
from botoware.testing import Faults, error

SEGMENTS = 260  # two pages of the paginator's 250, in a fraction of the default's time


class Demo:
    """One in-process demo run: exit code, stdout, stderr."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        out, err = io.StringIO(), io.StringIO()
        options = demo.DemoOptions(segments=SEGMENTS, **kwargs)  # type: ignore[arg-type]
        self.code = demo.run(options, out=out, err=err, live=False, plugins=args)
        self.out, self.err = out.getvalue(), err.getvalue()


class _Collector(BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP receiver on 127.0.0.1 keeping the bodies it gets."""
    bodies: list[bytes] = []
    handler = type("Collector", (_Collector,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def passed(collector: tuple[str, list[bytes]]) -> Demo:
    """A demo run with nothing injected, exporting its spans to ``collector`` (--otlp)."""
    return Demo(otlp=collector[0])


def test_every_step_passes(passed: Demo) -> None:
    """All twelve steps report ok and the run exits 0."""
    assert passed.code == 0, passed.err
    ok = [line for line in passed.err.splitlines() if line.startswith("[ok  ]")]
    assert len(ok) == 12
    assert "botoware demo passed" in passed.out


def test_summary_table_comes_from_the_metrics(passed: Demo) -> None:
    """The table has one row per operation with calls, errors and attempts as counted."""
    rows = {
        tuple(line.split()[:2]): line.split()[2:5]
        for line in passed.out.splitlines()
        if line.startswith(("s3 ", "lambda ", "dynamodb ", "sqs ", "sns ", "iam "))
    }
    assert rows[("lambda", "GetPolicy")] == ["1", "0", "1"]
    assert rows[("dynamodb", "PutItem")] == ["4", "0", "5"]  # the first one throttled once
    assert rows[("s3", "GetObject")][1] == "1"  # the expected NoSuchKey
    assert int(rows[("s3", "PutObject")][0]) == SEGMENTS + 4 + 4


def test_paginator_pages_by_page_size(passed: Demo) -> None:
    """The segment step lists every key in PageSize pages."""
    assert f"{SEGMENTS} segment keys listed in 2 pages of 250" in passed.err


def test_trace_tree_follows_the_video_through_sns_and_sqs(passed: Demo) -> None:
    """The tree nests the job under the SNS publish that carried its trace context."""
    assert re.search(
        r"Trace of one transcoder flow \(video-0\d\.mp4, trace id [0-9a-f]{32}\)", passed.out
    )
    tree = passed.out.split("Trace of one transcoder flow")[1].split("\n\n")[1].splitlines()
    names = [re.sub(r"^\s*\+[\d.]+ ms\s+[\d.]+ ms  ", "", line) for line in tree]
    video = names[0].removeprefix("upload ")
    assert names[1:3] == ["  S3.PutObject", "  SNS.Publish"]
    assert f"    transcode {video}" in names
    assert "      DynamoDB.PutItem  (2 attempts)" in names
    assert "      SQS.DeleteMessage" in names


def test_metrics_url_is_printed(passed: Demo) -> None:
    """The Prometheus endpoint's URL on 127.0.0.1 is on stdout."""
    assert "botoware demo: Prometheus metrics at http://127.0.0.1:" in passed.out


def test_a_failed_step_exits_1_and_still_cleans_up() -> None:
    """A step whose call fails is named with its error; cleanup still runs; exit 1."""
    denied = Faults({"lambda.GetPolicy": error("AccessDeniedException", 403)})
    denied.botoware_name = "denied"  # the demo installs a Faults plugin of its own
    run = Demo(denied)
    assert run.code == 1
    assert "[FAIL] " in run.err and "Lambda function" in run.err
    assert "botoware demo FAILED: step 'Lambda function': ClientError" in run.err
    assert "AccessDeniedException" in run.err
    cleanup = [line for line in run.err.splitlines() if "cleanup" in line]
    assert cleanup and cleanup[0].startswith("[ok  ]")
    skipped = [line for line in run.err.splitlines() if "jobs table" in line]
    assert skipped == []


def test_missing_moto_names_the_demo_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without moto, demo.run raises MissingExtraError naming botoware[demo]."""
    monkeypatch.setitem(sys.modules, "moto.server", None)
    with pytest.raises(MissingExtraError, match=r"botoware\[demo\]"):
        demo.run(demo.DemoOptions(segments=1))


def test_missing_moto_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`botoware demo` without moto prints the install command and exits 1."""
    monkeypatch.setitem(sys.modules, "moto.server", None)
    assert cli.main(["demo"]) == 1
    assert "pip install 'botoware[demo]'" in capsys.readouterr().err


def test_a_taken_port_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    """`botoware demo --port N` with N in use exits 1 naming the port, before any AWS call."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["demo", "--port", str(port), "--segments", "1"]) == 1
    assert f"botoware demo: --port {port}: cannot serve metrics" in capsys.readouterr().err


def test_otlp_exports_the_spans(passed: Demo, collector: tuple[str, list[bytes]]) -> None:
    """--otlp URL sends the demo's spans as OTLP/HTTP protobuf to the collector."""
    assert passed.code == 0, passed.err
    names = set()
    for body in collector[1]:
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                names.update(span.name for span in scope.spans)
    assert {"S3.PutObject", "SNS.Publish", "Lambda.GetPolicy", "transcode video-01.mp4"} <= names


# A subprocess run of the console script with make demo's defaults (2000 segments), kept
# serving: one run for both tests below. The deadline is for a hang, not for slowness: on a
# loaded 2-core machine the run takes many times its usual 20 s.
DEADLINE = 900.0
_SAMPLE = 'aws_client_calls_total{aws_operation="GetPolicy",aws_service="lambda",outcome="success"}'


class ConsoleRun:
    """``botoware demo --keep-serving`` as a user starts it, scraped, then interrupted."""

    def __init__(self, workdir: Path) -> None:
        script = Path(sys.executable).with_name("botoware")
        self.stderr_path = workdir / "stderr.txt"
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [str(script), "demo", "--keep-serving"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.deadline = time.monotonic() + DEADLINE
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, prefix: str) -> str:
        """The first stdout line starting with ``prefix``; fails on exit or at the deadline."""
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line in {DEADLINE:.0f} s") from None
            if line is None:
                raise AssertionError(f"exited before {prefix!r}:\n{self.output()}")
            self.stdout.append(line)
            if line.startswith(prefix):
                return line

    def output(self) -> str:
        return "".join(self.stdout) + self.stderr_path.read_text()

    def stop(self) -> int | None:
        """SIGINT, then the exit code (None if it did not exit within 60 s: then killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """One console-script run: its output up to "Serving", a scrape, its exit after SIGINT."""
    run = ConsoleRun(tmp_path_factory.mktemp("demo-console"))
    seen: dict[str, object] = {}
    try:
        url = run.until("Serving ").split()[1]
        seen["scraped"] = urllib.request.urlopen(url, timeout=60).read().decode()
    finally:
        seen["code"] = run.stop()
        seen["output"] = run.output()
    yield seen


def test_make_demo_default_run_passes(console: dict[str, object]) -> None:
    """`botoware demo` with make demo's defaults (2000 segments) passes every step."""
    output = str(console["output"])
    assert "2000 segment keys listed in 8 pages of 250" in output, output
    assert "botoware demo passed" in output


def test_console_script_keeps_serving_until_interrupted(console: dict[str, object]) -> None:
    """--keep-serving serves the metrics after the summary; Ctrl-C (SIGINT) exits 0."""
    assert f"{_SAMPLE} 1.0" in str(console["scraped"])
    assert console["code"] == 0, console["output"]
