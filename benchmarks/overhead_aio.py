"""Per-call CPU cost of botoware on aiobotocore clients against bare aiobotocore, in one run.

The same five operations as ``overhead.py`` (SQS GetQueueAttributes, S3 ListObjectsV2,
DynamoDB GetItem, Lambda GetPolicy, STS GetCallerIdentity), answered at before-send with
the same wire-format bodies, awaited one after another on one event loop. Variants are
interleaved in shuffled rounds and each gets the median of its per-round paired ratios to
bare aiobotocore, as ``overhead.py`` does for botocore (run both for the side-by-side).

    python benchmarks/overhead_aio.py [--rounds 600] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiobotocore.session import AioSession
from botocore.awsrequest import AWSResponse
from overhead import CREDENTIALS, ENDPOINT, OPERATIONS, _metrics, _tracer_provider, _tracing

import botoware
from botoware.hooks.bridge.aio import adapt_response
from botoware.testing import response_for


def _answer_for(client: Any, operation: str, parsed: dict[str, Any]) -> Callable[..., Any]:
    model = client.meta.service_model.operation_model(operation)
    template = response_for(model, parsed)
    status, headers, body = template.status_code, dict(template.headers), template.content

    class Raw:
        def stream(self, **kwargs: Any) -> Any:
            yield body

    def answer(request: Any, **kwargs: Any) -> Any:
        return adapt_response(AWSResponse(request.url, status, headers, Raw()))

    return answer


class AioVariant:
    def __init__(self, name: str, plugins: Callable[[], list[object] | None]) -> None:
        self.name = name
        self._plugins = plugins
        self.calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        self.times: list[int] = []
        self._contexts: list[Any] = []
        self.provider: Any = None

    async def open(self) -> None:
        session = AioSession()
        session.set_credentials(
            CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"]
        )
        plugins = self._plugins()
        if plugins is not None:
            botoware.install(session, plugins=plugins, autoload=False)
        for service, method, params, operation, parsed in OPERATIONS:
            context = session.create_client(
                service, endpoint_url=ENDPOINT, region_name=CREDENTIALS["region_name"]
            )
            client = await context.__aenter__()
            self._contexts.append(context)
            client.meta.events.register(
                f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                _answer_for(client, operation, parsed),
            )
            self.calls.append((getattr(client, method), params))

    async def close(self) -> None:
        for context in self._contexts:
            await context.__aexit__(None, None, None)

    async def round(self, calls: int) -> int:
        workload = self.calls
        start = time.perf_counter_ns()
        for i in range(calls):
            method, params = workload[i % len(workload)]
            await method(**params)
        elapsed = time.perf_counter_ns() - start
        self.times.append(elapsed)
        return elapsed


TARGETS = {"installed, no plugins": 1.01, "metrics": 1.04}


async def _measure(rounds: int, calls: int) -> list[dict[str, Any]]:
    providers = {name: _tracer_provider() for name in ("tracing", "tracing+metrics")}
    variants = [
        AioVariant("bare aiobotocore", lambda: None),
        AioVariant("installed, no plugins", lambda: []),
        AioVariant("metrics", lambda: [_metrics()]),
        AioVariant("tracing", lambda: [_tracing(providers["tracing"])]),
        AioVariant("tracing+metrics", lambda: [_tracing(providers["tracing+metrics"]), _metrics()]),
    ]
    variants[3].provider = providers["tracing"]
    variants[4].provider = providers["tracing+metrics"]
    for variant in variants:
        await variant.open()
        await variant.round(100)  # warm-up
        variant.times = []
    ratios: dict[str, list[float]] = {v.name: [] for v in variants}
    order = list(variants)
    for i in range(rounds):
        random.shuffle(order)
        this_round = {v.name: await v.round(calls) for v in order}
        for name, elapsed in this_round.items():
            ratios[name].append(elapsed / this_round["bare aiobotocore"])
        if i % 20 == 19:
            for variant in variants:
                if variant.provider is not None:
                    variant.provider._botoware_bench_exporter.clear()
    for variant in variants:
        await variant.close()
    return [
        {
            "variant": v.name,
            "us_per_call": statistics.median(v.times) / calls / 1e3,
            "ratio": statistics.median(ratios[v.name]),
            "target": TARGETS.get(v.name),
        }
        for v in variants
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--calls", type=int, default=len(OPERATIONS), help="calls per round")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/overhead_aio.json"))
    args = parser.parse_args(argv)
    rows = asyncio.run(_measure(args.rounds, args.calls))
    print(f"\n{args.rounds} rounds of {args.calls} awaited calls, median of per-round ratios\n")
    print("| variant (aiobotocore) | µs/call | ratio to bare aiobotocore | target |")
    print("|---|---:|---:|---:|")
    for row in rows:
        target = f"<= {row['target']:.2f}x" if row["target"] else ""
        print(f"| {row['variant']} | {row['us_per_call']:.1f} | {row['ratio']:.3f}x | {target} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rounds": args.rounds, "variants": rows}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
