"""Per-call CPU cost of the genai plugin on Bedrock Converse and ConverseStream.

Real ``bedrock-runtime`` clients whose HTTP send is answered at before-send with wire-format
bodies (a Converse response, a ConverseStream event stream of 8 events, read to its end by
every call), so serialization, signing, parsing, event-stream decoding and every hook run
with no network. The same method as ``benchmarks/overhead.py``: variants interleaved in
short rounds in shuffled order, each round giving every variant a paired ratio to bare
botocore; the table reports the median of those ratios. Beside botoware's variants runs
opentelemetry-instrumentation-botocore (its Bedrock extension) with the same OpenTelemetry
SDK, tracer and meter providers.

    python benchmarks/genai.py [--rounds 400] [--calls 4] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

import botoware
from botoware.testing import wire_response

CREDENTIALS = {
    "aws_access_key_id": "AKIDBENCHMARK0000001",
    "aws_secret_access_key": "benchmark-secret-key-not-real-000000000",
    "region_name": "us-east-1",
}
ENDPOINT = "http://127.0.0.1:9"  # never contacted: every send is answered at before-send
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Summarise the plot of Hamlet in a line."}]}]
CONFIG = {"maxTokens": 256, "temperature": 0.3}
TEXT = "A prince avenges his father and everyone dies."
CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": TEXT}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 18, "outputTokens": 12, "totalTokens": 30},
    "metrics": {"latencyMs": 420},
}
STREAM = [
    {"messageStart": {"role": "assistant"}},
    *(
        {"contentBlockDelta": {"delta": {"text": word + " "}, "contentBlockIndex": 0}}
        for word in TEXT.split()[:4]
    ),
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {
        "metadata": {
            "usage": {"inputTokens": 18, "outputTokens": 12, "totalTokens": 30},
            "metrics": {"latencyMs": 420},
        }
    },
]


class Workload:
    """One session and one bedrock-runtime client, answered at before-send."""

    def __init__(self, plugins: list[object] | None) -> None:
        self.session = boto3.Session(**CREDENTIALS)
        if plugins is not None:
            botoware.install(self.session, plugins=plugins, autoload=False)
        self.client = self.session.client("bedrock-runtime", endpoint_url=ENDPOINT)
        model = self.client.meta.service_model
        converse = wire_response(model.operation_model("Converse"), CONVERSE)
        stream = wire_response(model.operation_model("ConverseStream"), {"stream": STREAM})
        events = self.client.meta.events
        events.register(
            "before-send.bedrock-runtime.Converse",
            lambda request, **kwargs: converse.respond(request.url),
        )
        events.register(
            "before-send.bedrock-runtime.ConverseStream",
            lambda request, **kwargs: stream.respond(request.url),
        )

    def converse(self) -> None:
        self.client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig=CONFIG)

    def converse_stream(self) -> None:
        response = self.client.converse_stream(
            modelId=MODEL, messages=MESSAGES, inferenceConfig=CONFIG
        )
        for _ in response["stream"]:
            pass


def _providers() -> tuple[Any, Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return tracer_provider, meter_provider, exporter


class Variant:
    def __init__(
        self,
        name: str,
        plugins: Callable[[], list[object] | None],
        around: tuple[Callable[[], None], Callable[[], None]] | None = None,
        exporter: Any = None,
    ) -> None:
        self.name = name
        self.workload = Workload(plugins())
        self.around = around
        self.exporter = exporter
        self.times: dict[str, list[int]] = {"Converse": [], "ConverseStream": []}

    def round(self, operation: str, calls: int) -> int:
        method = (
            self.workload.converse if operation == "Converse" else self.workload.converse_stream
        )
        if self.around:
            self.around[0]()
        try:
            start = time.perf_counter_ns()
            for _ in range(calls):
                method()
            elapsed = time.perf_counter_ns() - start
        finally:
            if self.around:
                self.around[1]()
        self.times[operation].append(elapsed)
        return elapsed

    def tidy(self) -> None:
        if self.exporter is not None:
            self.exporter.clear()


def _variants() -> list[Variant]:
    from prometheus_client import CollectorRegistry

    from botoware.plugins.genai import GenAIPlugin
    from botoware.plugins.metrics import MetricsPlugin
    from botoware.plugins.tracing import TracingPlugin

    ours = _providers()
    everything = _providers()
    alone = _providers()
    variants = [
        Variant("bare botocore", lambda: None),
        Variant("genai, metrics only", lambda: [GenAIPlugin(CollectorRegistry())]),
        Variant("tracing alone (no genai)", lambda: [TracingPlugin(alone[0])], exporter=alone[2]),
        Variant(
            "tracing + genai (Prometheus and OpenTelemetry metrics)",
            lambda: [
                TracingPlugin(ours[0]),
                GenAIPlugin(CollectorRegistry(), meter_provider=ours[1]),
            ],
            exporter=ours[2],
        ),
        Variant(
            "tracing + metrics + genai (the defaults: Prometheus only)",
            lambda: [
                TracingPlugin(everything[0]),
                MetricsPlugin(CollectorRegistry()),
                GenAIPlugin(CollectorRegistry()),
            ],
            exporter=everything[2],
        ),
    ]
    try:
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    except ImportError:
        sys.stderr.write("opentelemetry-instrumentation-botocore missing: pip install '.[bench]'\n")
        return variants
    instrumentor = BotocoreInstrumentor()
    tracer_provider, meter_provider, exporter = _providers()

    def on() -> None:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

    def off() -> None:
        instrumentor.uninstrument()

    variants.append(
        Variant(
            "opentelemetry-instrumentation-botocore (bedrock extension)",
            lambda: None,
            (on, off),
            exporter,
        )
    )
    return variants


TARGETS = {"genai, metrics only": {"Converse": 1.05}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--calls", type=int, default=4, help="calls per round and operation")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/genai.json"))
    parser.add_argument("--only", action="append", help="measure only these variants")
    args = parser.parse_args(argv)

    variants = [
        v for v in _variants() if not args.only or v.name in args.only or v.name == "bare botocore"
    ]
    bare = variants[0]
    operations = ("Converse", "ConverseStream")
    for variant in variants:  # warm-up: imports, model loading, caches
        for operation in operations:
            variant.round(operation, 50)
            variant.times[operation] = []
        variant.tidy()
    ratios = {(v.name, op): [] for v in variants for op in operations}  # type: ignore[var-annotated]
    order = list(variants)
    for i in range(args.rounds):
        for operation in operations:
            random.shuffle(order)
            this_round = {v.name: v.round(operation, args.calls) for v in order}
            for name, elapsed in this_round.items():
                ratios[(name, operation)].append(elapsed / this_round[bare.name])
        if i % 20 == 19:
            for variant in variants:
                variant.tidy()

    rows = []
    for variant in variants:
        for operation in operations:
            rows.append(
                {
                    "variant": variant.name,
                    "operation": operation,
                    "us_per_call": statistics.median(variant.times[operation]) / args.calls / 1e3,
                    "ratio": statistics.median(ratios[(variant.name, operation)]),
                    "target": TARGETS.get(variant.name, {}).get(operation),
                }
            )
    print(
        f"\n{args.rounds} rounds of {args.calls} calls per variant and operation, "
        "median of per-round ratios to bare\n"
    )
    print("| variant | operation | µs/call | ratio to bare | target |")
    print("|---|---|---:|---:|---:|")
    for row in rows:
        target = f"<= {row['target']:.2f}x" if row["target"] else ""
        print(
            f"| {row['variant']} | {row['operation']} | {row['us_per_call']:.1f} "
            f"| {row['ratio']:.3f}x | {target} |"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"rounds": args.rounds, "calls_per_round": args.calls, "rows": rows}, indent=2)
    )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
