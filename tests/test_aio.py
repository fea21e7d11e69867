"""asyncio itself on aiobotocore clients: tasks, cancellation, async runs, aioboto3.

The lifecycle tests shared with botocore clients are parametrized over both kinds in
test_core_lifecycle.py and test_core_install.py; these are the ones only asyncio has.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiobotocore.session import AioSession
from conftest import CREDENTIALS
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import botoware
from botoware.plugins.metrics import MetricsPlugin
from botoware.plugins.retry import RetryPolicy
from botoware.plugins.tracing import TracingPlugin
from botoware.testing import Canned, Faults, Recorder, throttle

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
ATTRIBUTES = {"Attributes": {"VisibilityTimeout": "30"}}


def _aio_session() -> AioSession:
    session = AioSession()
    session.set_credentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
    session.set_config_variable("region", CREDENTIALS["region_name"])
    return session


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


class _Ends:
    """Per-call start and end, with the task each ran in."""

    botoware_name = "ends"

    def __init__(self) -> None:
        self.started: dict[botoware.Call, Any] = {}
        self.ended: dict[botoware.Call, list[BaseException | None]] = {}
        self.crossed = 0

    def botoware_before_parameter_build(self, call: botoware.Call) -> None:
        self.started[call] = (asyncio.current_task(), call.params.get("QueueUrl"))

    def botoware_after_call(self, call: botoware.Call) -> None:
        self._end(call, None)

    def botoware_after_call_error(self, call: botoware.Call, exception: BaseException) -> None:
        self._end(call, exception)

    def _end(self, call: botoware.Call, exception: BaseException | None) -> None:
        task, url = self.started.get(call, (None, None))
        if task is not asyncio.current_task() or url != call.params.get("QueueUrl"):
            self.crossed += 1
        self.ended.setdefault(call, []).append(exception)


def test_concurrent_tasks_each_keep_their_own_calls() -> None:
    """200 tasks x 10 calls on one shared client: every call starts and ends once, in its task."""
    ends = _Ends()
    canned = Canned({"sqs.GetQueueAttributes": ATTRIBUTES})

    async def main() -> None:
        session = _aio_session()
        with botoware.install(session, plugins=[ends, canned], autoload=False):
            async with session.create_client("sqs") as sqs:

                async def worker(n: int) -> None:
                    for i in range(10):
                        await sqs.get_queue_attributes(QueueUrl=f"{QUEUE}-{n}-{i}")

                await asyncio.gather(*(worker(n) for n in range(200)))

    _run(main())
    assert len(ends.started) == 2000
    assert set(ends.ended) == set(ends.started)
    assert all(outcomes == [None] for outcomes in ends.ended.values())
    assert ends.crossed == 0


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint on loopback that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_cancelled_call_ends_once_with_the_cancellation(silent_server: str) -> None:
    """A task cancelled mid-call ends the call once, with CancelledError as its error."""
    ends = _Ends()

    async def main() -> None:
        session = _aio_session()
        with botoware.install(session, plugins=[ends], autoload=False):
            async with session.create_client("sqs", endpoint_url=silent_server) as sqs:
                task = asyncio.ensure_future(sqs.get_queue_attributes(QueueUrl=QUEUE))
                while not ends.started:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

    _run(main())
    [outcomes] = ends.ended.values()
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], asyncio.CancelledError)


def test_wait_for_timeout_ends_the_call_once(silent_server: str) -> None:
    """asyncio.wait_for's timeout ends the call once; the user sees TimeoutError."""
    ends = _Ends()

    async def main() -> None:
        session = _aio_session()
        with botoware.install(session, plugins=[ends], autoload=False):
            async with session.create_client("sqs", endpoint_url=silent_server) as sqs:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(sqs.get_queue_attributes(QueueUrl=QUEUE), 0.3)

    _run(main())
    [outcomes] = ends.ended.values()
    assert [type(o) for o in outcomes] == [asyncio.CancelledError]


class _Runs:
    botoware_name = "runs"

    def __init__(self) -> None:
        self.runs: list[tuple[str, str, int, type | None]] = []
        self.calls: list[tuple[str, str | None]] = []

    def botoware_run_end(self, run: botoware.Run, exception: BaseException | None) -> None:
        self.runs.append(
            (run.kind, run.operation, run.calls, type(exception) if exception else None)
        )

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.calls.append((call.operation, call.run.kind if call.run else None))


@pytest.fixture
def bucket_of_five(moto_url: str) -> str:
    async def fill() -> None:
        async with _aio_session().create_client("s3", endpoint_url=moto_url) as s3:
            await s3.create_bucket(Bucket="aio-runs")
            for i in range(5):
                await s3.put_object(Bucket="aio-runs", Key=f"k{i}", Body=b"x")

    _run(fill())
    return "aio-runs"


@pytest.mark.parametrize("how", ["async for", "build_full_result", "search"])
def test_async_paginator_is_one_run(moto_url: str, bucket_of_five: str, how: str) -> None:
    """Every way of consuming an async paginator is one run whose pages are its calls."""
    runs = _Runs()

    async def main() -> list[str]:
        session = _aio_session()
        with botoware.install(session, plugins=[runs], autoload=False):
            async with session.create_client("s3", endpoint_url=moto_url) as s3:
                pages = s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket_of_five, PaginationConfig={"PageSize": 2}
                )
                if how == "async for":
                    return [o["Key"] async for page in pages for o in page.get("Contents", [])]
                if how == "build_full_result":
                    return [o["Key"] for o in (await pages.build_full_result())["Contents"]]
                return [key async for key in pages.search("Contents[].Key")]

    keys = _run(main())
    assert keys == [f"k{i}" for i in range(5)]
    assert runs.runs == [("paginate", "ListObjectsV2", 3, None)]
    assert runs.calls == [("ListObjectsV2", "paginate")] * 3


def test_async_waiter_is_one_run(moto_url: str, bucket_of_five: str) -> None:
    """``await waiter.wait()`` is one run; its polls are calls of that run."""
    runs = _Runs()

    async def main() -> None:
        session = _aio_session()
        with botoware.install(session, plugins=[runs], autoload=False):
            async with session.create_client("s3", endpoint_url=moto_url) as s3:
                await s3.get_waiter("bucket_exists").wait(Bucket=bucket_of_five)

    _run(main())
    assert runs.runs == [("wait", "HeadBucket", 1, None)]
    assert runs.calls == [("HeadBucket", "wait")]


def test_tracing_parents_gathered_calls_and_restores_the_context() -> None:
    """Calls gathered under a span are its children; inside the call its span is current."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    seen: list[str] = []

    class Inside:
        botoware_name = "inside"

        def botoware_before_sign(self, call: botoware.Call) -> None:
            from opentelemetry import trace

            seen.append(trace.get_current_span().name)  # type: ignore[attr-defined]

    async def main() -> str:
        session = _aio_session()
        plugins = [
            TracingPlugin(provider),
            Inside(),
            Canned({"sqs.GetQueueAttributes": ATTRIBUTES}),
        ]
        with botoware.install(session, plugins=plugins, autoload=False):
            async with session.create_client("sqs") as sqs:
                with tracer.start_as_current_span("handler") as parent:
                    await asyncio.gather(
                        *(sqs.get_queue_attributes(QueueUrl=f"{QUEUE}{i}") for i in range(3))
                    )
                    from opentelemetry import trace

                    assert trace.get_current_span() is parent
                    return format(parent.get_span_context().span_id, "016x")

    parent_id = _run(main())
    spans = [s for s in exporter.get_finished_spans() if s.name == "SQS.GetQueueAttributes"]
    assert len(spans) == 3
    assert {format(s.parent.span_id, "016x") for s in spans if s.parent} == {parent_id}
    assert seen == ["SQS.GetQueueAttributes"] * 3


def _total(registry: CollectorRegistry, name: str) -> float:
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == name
    )


def test_metrics_totals_and_in_flight_under_200_tasks(moto_url: str) -> None:
    """200 concurrent calls: 200 counted, in flight rises with them and falls back to 0."""
    registry = CollectorRegistry()
    peak: list[float] = []

    class Peek:
        botoware_name = "peek"

        def botoware_after_call(self) -> None:
            peak.append(_total(registry, "aws_client_calls_in_flight"))

    async def main() -> None:
        session = _aio_session()
        async with session.create_client("sqs", endpoint_url=moto_url) as sqs:
            url = (await sqs.create_queue(QueueName="aio-in-flight"))["QueueUrl"]
            with botoware.install(
                session, plugins=[MetricsPlugin(registry), Peek()], autoload=False
            ):
                await asyncio.gather(*(sqs.get_queue_attributes(QueueUrl=url) for i in range(200)))

    _run(main())
    assert _total(registry, "aws_client_calls_total") == 200
    assert max(peak) > 1  # tasks really overlapped inside the call
    assert _total(registry, "aws_client_calls_in_flight") == 0


def test_retry_policy_backs_off_with_asyncio_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A RetryPolicy retries throttled calls; no attempt ever blocks the loop in time.sleep."""

    def blocked(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) on an async client")

    monkeypatch.setattr(time, "sleep", blocked)
    faults = Faults({"sqs.GetQueueAttributes": [throttle(), throttle(), None]})
    canned = Canned({"sqs.GetQueueAttributes": ATTRIBUTES})
    recorder = Recorder()

    async def main() -> Any:
        session = _aio_session()
        policy = RetryPolicy(max_attempts=4, base=0.01, cap=0.02)
        with botoware.install(session, plugins=[policy, faults, canned, recorder], autoload=False):
            async with session.create_client("sqs") as sqs:
                return await sqs.get_queue_attributes(QueueUrl=QUEUE)

    response = _run(main())
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert [e.attempt for e in recorder.events if e.hook == "before_send"] == [1, 2, 3]


def test_async_hooks_are_refused_at_install() -> None:
    """An ``async def`` hook is a PluginError naming the plugin, the hook and the fix."""

    class Eager:
        botoware_name = "eager"

        async def botoware_after_call(self, call: botoware.Call) -> None: ...

    with pytest.raises(botoware.PluginError, match=r"'eager'.*botoware_after_call.*plain 'def'"):
        botoware.install(_aio_session(), plugins=[Eager()], autoload=False)


def test_process_wide_install_covers_aio_sessions_created_later(moto_url: str) -> None:
    """install(None) reaches an AioSession made afterwards and its clients."""
    recorder = Recorder()

    async def main() -> None:
        session = _aio_session()
        async with session.create_client("s3", endpoint_url=moto_url) as s3:
            await s3.list_buckets()

    with botoware.install(None, plugins=[recorder], autoload=False):
        _run(main())
    assert ("after_call", "s3", "ListBuckets") in {e[:3] for e in recorder.events}


def test_credential_provider_loads_off_the_event_loop(moto_url: str) -> None:
    """A plugin's botocore provider runs on the async resolver, in a worker thread."""
    from botocore.credentials import CredentialProvider, Credentials

    loaded_in: list[str] = []

    class FileKeys(CredentialProvider):  # type: ignore[misc]
        METHOD = "test-file-keys"
        CANONICAL_NAME = "test-file-keys"

        def load(self) -> Credentials:
            loaded_in.append(threading.current_thread().name)
            return Credentials(
                "AKIDFROMTHEPROVIDER01", "secret-from-the-provider", None, self.METHOD
            )

    class Provides:
        botoware_name = "provides"

        def botoware_credential_providers(self) -> list[tuple[Any, str]]:
            return [(FileKeys(), "first")]

    signed: list[str] = []

    class Sees:
        botoware_name = "sees"

        def botoware_before_send(self, request: Any) -> None:
            value = request.headers["Authorization"]
            signed.append(value.decode() if isinstance(value, bytes) else value)

    async def main() -> None:
        session = AioSession()  # no explicit keys: the chain decides
        session.set_config_variable("region", "us-east-1")
        with botoware.install(session, plugins=[Provides(), Sees()], autoload=False):
            async with session.create_client("s3", endpoint_url=moto_url) as s3:
                await s3.list_buckets()

    _run(main())
    assert loaded_in and loaded_in[0] != threading.main_thread().name
    assert "Credential=AKIDFROMTHEPROVIDER01/" in signed[0]


def test_aioboto3_resources_and_collections_reach_the_hooks(moto_url: str) -> None:
    """aioboto3: resource actions and collections are calls of the installed session."""
    aioboto3 = pytest.importorskip("aioboto3", reason="aioboto3 is not installed")
    runs = _Runs()

    async def main() -> list[str]:
        session = aioboto3.Session(**CREDENTIALS)
        with botoware.install(session, plugins=[runs], autoload=False):
            async with session.resource("s3", endpoint_url=moto_url) as s3:
                bucket = await s3.create_bucket(Bucket="aioboto3-resources")
                for i in range(3):
                    await (await bucket.Object(f"o{i}")).put(Body=b"y")
                return [o.key async for o in bucket.objects.page_size(2)]

    assert _run(main()) == ["o0", "o1", "o2"]
    operations = [op for op, _ in runs.calls]
    assert operations.count("PutObject") == 3
    assert ("ListObjects", "paginate") in runs.calls


ASYNC_APP = """
import asyncio, sys
from aiobotocore.session import get_session


async def main():
    async with get_session().create_client("s3", endpoint_url=sys.argv[1]) as s3:
        await s3.list_buckets()


asyncio.run(main())
"""


def test_botoware_run_covers_an_asyncio_program(tmp_path: Any, moto_url: str) -> None:
    """`botoware run -- python app.py`: an aiobotocore program's call is a span."""
    import os
    import subprocess
    import sys

    (tmp_path / "app.py").write_text(ASYNC_APP)
    RUN = [sys.executable, "-m", "botoware.contrib.cli", "run"]
    done = subprocess.run(
        [*RUN, "--exporter", "console", "--", sys.executable, "app.py", moto_url],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"name": "S3.ListBuckets"' in done.stdout


def test_leaving_an_async_paginator_early_ends_its_run(moto_url: str, bucket_of_five: str) -> None:
    """A break inside ``contextlib.aclosing(aiter(pages))`` ends the run at once, no error."""
    import contextlib

    runs = _Runs()

    async def main() -> list[Any]:
        session = _aio_session()
        with botoware.install(session, plugins=[runs], autoload=False):
            async with session.create_client("s3", endpoint_url=moto_url) as s3:
                pages = s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket_of_five, PaginationConfig={"PageSize": 2}
                )
                async with contextlib.aclosing(aiter(pages)) as it:
                    async for _ in it:
                        break
                return list(runs.runs)

    assert _run(main()) == [("paginate", "ListObjectsV2", 1, None)]
