"""The "drop video transcoder" pipeline, traced and measured by botoware.

Input and output S3 buckets, an SNS topic feeding an SQS queue, an IAM role, a Lambda
function's policy, a DynamoDB jobs table, thousands of segment keys listed with a paginator,
waiters, and a cleanup. The pipeline's code is :mod:`botoware.contrib.demo.workload`, the
same one ``botoware demo`` runs; this script shows the part that is yours to write: set up
tracing and metrics, install botoware on a session, run the pipeline, read what the plugins
recorded.

Run it: ``python examples/transcoder.py`` (starts moto on 127.0.0.1 by itself), or
``python examples/transcoder.py http://127.0.0.1:5000`` against a moto you started.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import botoware
from botoware.contrib.demo.report import operation_stats, summary_table, trace_tree
from botoware.contrib.demo.workload import Transcoder
from botoware.plugins.metrics import MetricsPlugin
from botoware.plugins.tracing import TracingPlugin


def main(endpoint_url: str, *, segments: int = 500, prefix: str = "transcoder-example") -> Any:
    """Run every step against ``endpoint_url``; return the pipeline, spans and registry."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    registry = CollectorRegistry()
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    plugins = [TracingPlugin(provider), MetricsPlugin(registry), "policies"]
    with (
        botoware.install(session, plugins=plugins, autoload=False),
        tempfile.TemporaryDirectory() as workdir,
    ):
        pipeline = Transcoder(
            session,
            endpoint_url,
            Path(workdir),
            prefix=prefix,
            segments=segments,
            tracer=provider.get_tracer("transcoder-example"),
        )
        for step in pipeline.steps():
            print(f"{step.name}: {step.run()}")

    print()
    print(summary_table(operation_stats(registry)))
    first = pipeline.videos[0]
    print(f"\nTrace of {first}:\n")
    print(trace_tree(spans.get_finished_spans(), pipeline.flow_trace_ids[first]))
    return pipeline, spans, registry


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            main(f"http://{host}:{port}")
        finally:
            server.stop()
