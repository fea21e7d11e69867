"""``botoware demo``: botoware on a real workload against a local AWS, in one process.

Starts moto's server on 127.0.0.1 (the ``demo`` extra), installs the ``"tracing"``,
``"metrics"`` and ``"policies"`` plugins on a session of its own (plus a
:class:`~botoware.testing.Faults` plugin throttling the first attempt of the first DynamoDB
``PutItem``, so that a retry shows), runs the "drop video
transcoder" (:mod:`botoware.contrib.demo.workload`) step by step, and prints what the plugins
saw: a per-operation table from the metrics registry and the trace tree of one video's flow.
The metrics are served on localhost while it runs; ``--otlp URL`` also exports the spans.

From Python::

    from botoware.contrib.demo import DemoOptions, run

    exit_code = run(DemoOptions(segments=200))
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, final

import boto3
import botocore.session

import botoware
from botoware.contrib.demo.report import operation_stats, summary_table, trace_tree
from botoware.contrib.demo.status import StatusLine
from botoware.contrib.demo.workload import Step, StepFailed, Transcoder
from botoware.errors import ConfigurationError, MissingExtraError
from botoware.testing import Fault, Faults, throttle

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from botocore.model import OperationModel
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import CollectorRegistry

__all__ = ["DEMO_BUCKETS", "DemoOptions", "run"]

DEMO_BUCKETS: tuple[float, ...] = (
    0.001,
    0.002,
    0.003,
    0.004,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Duration buckets of the demo's registry: moto on loopback answers in milliseconds, finer
than the default buckets (made for AWS) resolve."""

_FEATURE = "botoware demo"
_CREDENTIALS = {
    "aws_access_key_id": "AKIDBOTOWAREDEMO0001",
    "aws_secret_access_key": "botoware-demo-not-a-secret",
    "region_name": "us-east-1",
}


@final
@dataclass(frozen=True)
class DemoOptions:
    """What ``botoware demo`` was asked to do.

    :ivar keep_serving: after the summary, keep the metrics endpoint up until interrupted.
    :ivar otlp: also export the spans over OTLP/HTTP to this collector URL.
    :ivar port: the metrics endpoint's port on 127.0.0.1; 0 picks a free one.
    :ivar segments: how many segment keys the paginator step writes and lists.
    :ivar videos: how many videos flow through the pipeline.
    """

    keep_serving: bool = False
    otlp: str | None = None
    port: int = 0
    segments: int = 2000
    videos: int = 4


class _Once(Fault):
    """Injects ``fault`` into the first attempt it is asked about, then lets all through."""

    def __init__(self, fault: Fault) -> None:
        self.name = fault.name
        self._fault: Fault | None = fault
        self._lock = threading.Lock()

    def inject(
        self,
        call: botoware.Call,
        request: AWSPreparedRequest,
        model: OperationModel,
        sleep: Callable[[float], object],
    ) -> AWSResponse | None:
        with self._lock:
            fault, self._fault = self._fault, None
        return None if fault is None else fault.inject(call, request, model, sleep)


def _require_extras() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise MissingExtraError(_FEATURE, "demo", "moto[server]") from None
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise MissingExtraError(_FEATURE, "otel", "opentelemetry-sdk") from None
    return ThreadedMotoServer


def _isolated_session() -> boto3.Session:
    """A session that neither reads nor needs the user's AWS profile or config files."""
    core = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    return boto3.Session(botocore_session=core, **_CREDENTIALS)


def _tracing(otlp: str | None) -> tuple[TracerProvider, InMemorySpanExporter]:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from botoware.contrib import otel

    provider = otel.configure(
        exporter="otlp" if otlp else "none",
        endpoint=otlp,
        service_name="botoware-demo",
        set_global=False,
    )
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _calls_counter(registry: CollectorRegistry) -> Any:
    from botoware.plugins.metrics import CALLS

    def calls() -> int:
        return int(
            sum(
                sample.value
                for metric in registry.collect()
                for sample in metric.samples
                if sample.name == CALLS
            )
        )

    return calls


def run(
    options: DemoOptions | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    plugins: Sequence[object] = (),
    live: bool | None = None,
) -> int:
    """Run the demo; return the exit code (0: every step did what it should).

    :param out: where the endpoint URL, summary table and trace tree go (default stdout).
    :param err: where the status line and failures go (default stderr).
    :param plugins: more plugins to install next to the demo's (tests inject faults so).
    :param live: force the status line's mode; default: live when ``err`` is a terminal.
    :raises MissingExtraError: moto or the OpenTelemetry SDK is not installed.
    """
    options = options or DemoOptions()
    out = out or sys.stdout
    err = err or sys.stderr
    server_class = _require_extras()
    from prometheus_client import CollectorRegistry

    from botoware.contrib.prometheus import serve
    from botoware.plugins.metrics import MetricsPlugin
    from botoware.plugins.tracing import TracingPlugin

    # moto logs every request through werkzeug; the status line says more with less.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    provider, memory = _tracing(options.otlp)
    registry = CollectorRegistry()
    metrics = MetricsPlugin(registry, buckets=DEMO_BUCKETS)
    started = time.monotonic()
    try:
        metrics_server = serve(port=options.port, registry=registry)
    except OSError as error:
        provider.shutdown()
        raise ConfigurationError(f"--port {options.port}: {error.strerror or error}") from None
    server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        with metrics_server as endpoint:
            host, port = server.get_host_and_port()
            print(f"botoware demo: local AWS (moto) at http://{host}:{port}", file=out)
            print(f"botoware demo: Prometheus metrics at {endpoint.url}", file=out)
            if options.otlp:
                print(f"botoware demo: exporting spans over OTLP/HTTP to {options.otlp}", file=out)
            out.flush()
            session = _isolated_session()
            # The first attempt of the first DynamoDB PutItem is throttled, so the table and the
            # trace show what a retry looks like; botocore's own retry handler retries it.
            throttled = Faults({"dynamodb.PutItem": [_Once(throttle()), None]})
            chosen = [TracingPlugin(provider), metrics, "policies", throttled, *plugins]
            with (
                tempfile.TemporaryDirectory(prefix="botoware-demo-") as workdir,
                StatusLine(err, _calls_counter(registry), live=live) as status,
            ):
                transcoder = Transcoder(
                    session,
                    f"http://{host}:{port}",
                    Path(workdir),
                    videos=options.videos,
                    segments=options.segments,
                    tracer=provider.get_tracer("botoware.demo"),
                    progress=status.progress,
                )
                with botoware.install(session, plugins=chosen, autoload=False):
                    failure = _run_steps(transcoder, status)
            provider.force_flush()
            if failure is None:
                failure = _check_flow(transcoder, memory)
            elapsed = time.monotonic() - started
            _print_report(out, registry, memory, transcoder)
            if failure is not None:
                print(f"\nbotoware demo FAILED: {failure}", file=err)
                return 1
            print(
                f"\nbotoware demo passed: every step checked its result ({elapsed:.1f}s).", file=out
            )
            if options.keep_serving:
                _keep_serving(endpoint.url, out)
            return 0
    finally:
        server.stop()
        provider.shutdown()


def _run_steps(transcoder: Transcoder, status: StatusLine) -> str | None:
    """Run the steps in order; after a failure, skip to cleanup. The first failure, or None."""
    failure: str | None = None
    steps = transcoder.steps()
    cleanup = steps[-1]
    for number, step in enumerate(steps, start=1):
        if failure is not None and step is not cleanup:
            continue
        label = f"{number:>2}/{len(steps)} {step.name}"
        problem = _run_step(step, label, status)
        if problem is not None and failure is None:
            failure = f"step {step.name!r}: {problem}"
    return failure


def _run_step(step: Step, label: str, status: StatusLine) -> str | None:
    status.start(label)
    try:
        result = step.run()
    except StepFailed as failed:
        status.finish(False, str(failed))
        return str(failed)
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
        status.finish(False, problem)
        return problem
    status.finish(True, result)
    return None


def _shown_video(transcoder: Transcoder) -> str:
    """The video whose flow the report shows: the first one transcoded (its PutItem retried)."""
    return (transcoder.processed or transcoder.videos)[0]


def _check_flow(transcoder: Transcoder, memory: InMemorySpanExporter) -> str | None:
    """The shown video's trace must hold its upload and, through SNS and SQS, its job."""
    video = _shown_video(transcoder)
    trace_id = transcoder.flow_trace_ids.get(video)
    names = {
        span.name
        for span in memory.get_finished_spans()
        if span.context is not None and span.context.trace_id == trace_id
    }
    wanted = {
        f"upload {video}",
        "S3.PutObject",
        "SNS.Publish",
        f"transcode {video}",
        "S3.GetObject",
        "DynamoDB.PutItem",
        "SQS.DeleteMessage",
    }
    missing = sorted(wanted - names)
    if missing:
        return f"the trace of {video}'s flow lacks spans {', '.join(missing)}"
    return None


def _print_report(
    out: TextIO,
    registry: CollectorRegistry,
    memory: InMemorySpanExporter,
    transcoder: Transcoder,
) -> None:
    print(
        "\nAWS calls seen by the metrics plugin (latency estimated from histogram buckets):\n",
        file=out,
    )
    print(summary_table(operation_stats(registry)), file=out)
    print(
        "\nThe first DynamoDB PutItem was throttled on purpose (botoware.testing.Faults):\n"
        "attempts > calls is its retry, and its span in the trace below shows it.",
        file=out,
    )
    video = _shown_video(transcoder)
    trace_id = transcoder.flow_trace_ids.get(video)
    if trace_id is not None:
        print(f"\nTrace of one transcoder flow ({video}, trace id {trace_id:032x}):\n", file=out)
        print(trace_tree(memory.get_finished_spans(), trace_id), file=out)
    out.flush()


def _keep_serving(url: str, out: TextIO) -> None:
    """Serve until Ctrl-C or SIGTERM, whatever the parent did with those signals.

    A process started in the background by a non-interactive shell inherits SIGINT ignored,
    and Python then never raises KeyboardInterrupt; the endpoint would serve forever.
    """

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"Serving {url} until interrupted (Ctrl-C).", file=out)
    out.flush()
    forever = threading.Event()
    try:
        # Timed waits: a signal delivered to another thread still reaches the main thread
        # within a second (an untimed lock wait would not wake up for it).
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        print("", file=out)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
