"""install(): which clients are covered, idempotence, uninstall, global install."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import boto3
import botocore.session
import pytest
from conftest import BOTH_KINDS, bare_base, unwrap

import botoware
from botoware.hooks import bridge
from botoware.testing import Recorder


class Counter:
    """Counts terminal hooks per operation; thread-safe."""

    botoware_name = "counter"

    def __init__(self) -> None:
        self.ends: dict[str, int] = {}
        self.created: list[Any] = []
        self._lock = threading.Lock()

    def botoware_client_created(self, client: Any) -> None:
        self.created.append(client)

    def botoware_after_call(self, call: botoware.Call) -> None:
        with self._lock:
            self.ends[call.operation] = self.ends.get(call.operation, 0) + 1

    def botoware_after_call_error(self, call: botoware.Call) -> None:
        self.botoware_after_call(call)


def _botoware_ids(emitter: Any) -> set[str]:
    """What install() registered (the client tracking every session has is not install's)."""
    ids = bridge.registered_unique_ids(emitter)
    return {uid for uid in ids if uid.startswith("botoware")} - {bridge.tracked_unique_id()}


@BOTH_KINDS
def test_clients_created_before_install_are_covered(session: Any, client: Any) -> None:
    """A client that existed before install() reaches the plugins and is announced once."""
    s3 = client("s3")
    counter = Counter()
    with botoware.install(session, plugins=[counter], autoload=False):
        s3.list_buckets()
    assert counter.ends == {"ListBuckets": 1}
    assert counter.created == [s3]


@BOTH_KINDS
def test_clients_created_after_install_are_covered(session: Any, client: Any) -> None:
    """A client created after install() is covered and announced once."""
    counter = Counter()
    with botoware.install(session, plugins=[counter], autoload=False):
        s3 = client("s3")
        s3.list_buckets()
    assert counter.ends == {"ListBuckets": 1}
    assert counter.created == [s3]


@BOTH_KINDS
def test_other_sessions_are_untouched(session: Any, moto_url: str) -> None:
    """Installing on one session leaves clients of another session alone."""
    counter = Counter()
    other = boto3.Session(region_name="us-east-1").client("s3", endpoint_url=moto_url)
    with botoware.install(session, plugins=[counter], autoload=False):
        other.list_buckets()
    assert counter.ends == {}


@BOTH_KINDS
def test_installing_the_same_plugin_twice_never_doubles_calls(session: Any, client: Any) -> None:
    """A second install of the same plugin object (or name) on a session adds nothing."""
    counter = Counter()
    first = botoware.install(session, plugins=[counter], autoload=False)
    second = botoware.install(session, plugins=[counter], autoload=False)
    client("s3").list_buckets()
    assert counter.ends == {"ListBuckets": 1}
    assert second.describe()[0].name == "counter"
    second.uninstall()
    first.uninstall()


@BOTH_KINDS
def test_uninstall_leaves_no_handler_behind(session: Any, client: Any) -> None:
    """After uninstall no botoware handler or wrapper remains on the session or any client."""
    before = client("s3")
    installation = botoware.install(session, plugins=[Recorder()], autoload=False)
    during = client("sqs")
    assert _botoware_ids(before.meta.events) and _botoware_ids(during.meta.events)
    installation.uninstall()
    emitter = bridge.botocore_session(session).get_component("event_emitter")
    assert _botoware_ids(emitter) == set()
    for c in (before, during):
        assert _botoware_ids(c.meta.events) == set()
        assert not set(unwrap(c).__dict__) & {"_make_api_call", "get_paginator", "get_waiter"}


@BOTH_KINDS
def test_uninstall_gives_back_a_bare_call(session: Any, client: Any, kind: str) -> None:
    """After uninstall the plugin sees nothing and clients created later are bare."""
    recorder = Recorder()
    s3 = client("s3")
    botoware.install(session, plugins=[recorder], autoload=False).uninstall()
    recorder.clear()  # it saw the existing client announced during install
    later = client("s3")
    s3.list_buckets()
    later.list_buckets()
    assert recorder.events == []
    assert type(unwrap(later)).__mro__[1] is bare_base(kind)


@BOTH_KINDS
def test_uninstall_removes_only_its_own_plugins(session: Any, client: Any) -> None:
    """Two installations on a session: uninstalling one keeps the other working."""
    first, second = Counter(), Recorder()
    keep = botoware.install(session, plugins=[first], autoload=False)
    drop = botoware.install(session, plugins=[second], autoload=False)
    drop.uninstall()
    client("s3").list_buckets()
    assert first.ends == {"ListBuckets": 1}
    assert second.events == []
    keep.uninstall()


def test_botocore_session_can_be_installed_into(moto_url: str) -> None:
    """install() accepts a plain botocore session."""
    raw = botocore.session.get_session()
    counter = Counter()
    with botoware.install(raw, plugins=[counter], autoload=False):
        raw.create_client("s3", region_name="us-east-1", endpoint_url=moto_url).list_buckets()
    assert counter.ends == {"ListBuckets": 1}


def test_install_rejects_what_is_not_a_session() -> None:
    """A wrong session argument fails with a message naming what is accepted."""
    with pytest.raises(TypeError, match=r"boto3\.Session"):
        botoware.install("us-east-1", autoload=False)  # type: ignore[arg-type]


def test_global_install_reaches_sessions_created_later(moto_url: str) -> None:
    """install() without a session covers boto3's default session and every later session."""
    counter = Counter()
    saved = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None
    try:
        with botoware.install(plugins=[counter], autoload=False):
            boto3.client("s3", endpoint_url=moto_url).list_buckets()
            boto3.Session().client("sqs", endpoint_url=moto_url).list_queues()
        boto3.Session().client("s3", endpoint_url=moto_url).list_buckets()
    finally:
        boto3.DEFAULT_SESSION = saved
    assert counter.ends == {"ListBuckets": 1, "ListQueues": 1}


def test_botoware_session_installs_on_itself(moto_url: str) -> None:
    """botoware.Session().install(plugin) covers that session's clients."""
    counter = Counter()
    session = botoware.Session(region_name="us-east-1")
    with session.install(counter, autoload=False):
        session.client("s3", endpoint_url=moto_url).list_buckets()
    assert counter.ends == {"ListBuckets": 1}


@BOTH_KINDS
def test_clients_are_released_when_dropped(session: Any, client: Any) -> None:
    """The host does not keep a client alive after the user drops it."""
    with botoware.install(session, plugins=[Recorder()], autoload=False):
        s3 = client("s3")
        s3.list_buckets()
        ref = weakref.ref(s3)
        del s3
        gc.collect()
        assert ref() is None


def test_resources_paginators_and_waiters_are_covered(session: Any, client: Any) -> None:
    """Resource actions and collections, paginator pages and waiter polls all reach hooks."""
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        s3r = session.resource("s3", endpoint_url=client("s3").meta.endpoint_url)
        bucket = s3r.create_bucket(Bucket="covered-resources")
        for i in range(5):
            bucket.Object(f"k{i}").put(Body=b"x")
        assert len(list(bucket.objects.page_size(2))) == 5
        s3 = client("s3")
        pages = list(
            s3.get_paginator("list_objects_v2").paginate(
                Bucket="covered-resources", PaginationConfig={"PageSize": 2}
            )
        )
        s3.get_waiter("bucket_exists").wait(Bucket="covered-resources")
    ends = [(op, hook) for hook, _, op, _ in recorder.events if hook == "after_call"]
    assert ends.count(("PutObject", "after_call")) == 5
    assert ends.count(("ListObjectsV2", "after_call")) == len(pages) == 3
    assert ends.count(("ListObjects", "after_call")) == 3  # the collection's pages
    runs = [(h, op) for h, _, op, _ in recorder.events if h.startswith("run_")]
    assert ("run_start", "ListObjectsV2") in runs and ("run_end", "HeadBucket") in runs


@BOTH_KINDS
def test_paginator_pages_share_one_run(session: Any, client: Any) -> None:
    """Each page of one paginate() iteration carries the same Run; it ends once."""
    runs: list[botoware.Run] = []
    ended: list[botoware.Run] = []

    class Pages:
        botoware_name = "pages"

        def botoware_after_call(self, call: botoware.Call) -> None:
            if call.run is not None:
                runs.append(call.run)

        def botoware_run_end(self, run: botoware.Run) -> None:
            ended.append(run)

    s3 = client("s3")
    s3.create_bucket(Bucket="paged-bucket")
    for i in range(5):
        s3.put_object(Bucket="paged-bucket", Key=f"k{i}", Body=b"x")
    with botoware.install(session, plugins=[Pages()], autoload=False):
        paginator = s3.get_paginator("list_objects_v2")
        pages = list(paginator.paginate(Bucket="paged-bucket", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3 and len(runs) == 3
    assert all(r is runs[0] for r in runs) and ended == [runs[0]]
    assert runs[0].kind == "paginate" and runs[0].calls == 3


@BOTH_KINDS
def test_waiter_polls_share_one_run_that_ends_with_the_outcome(session: Any, client: Any) -> None:
    """A failing wait() ends its run with the WaiterError."""
    outcomes: list[tuple[str | None, str | None]] = []

    class Waits:
        botoware_name = "waits"

        def botoware_run_end(self, run: botoware.Run, exception: BaseException | None) -> None:
            outcomes.append((run.waiter_name, type(exception).__name__ if exception else None))

    s3 = client("s3")
    with botoware.install(session, plugins=[Waits()], autoload=False):
        with pytest.raises(botocore.exceptions.WaiterError):
            s3.get_waiter("bucket_exists").wait(
                Bucket="never-created-bucket", WaiterConfig={"Delay": 0, "MaxAttempts": 2}
            )
    assert outcomes == [("BucketExists", "WaiterError")]


def test_s3_transfers_are_covered(session: Any, client: Any, tmp_path: Any) -> None:
    """upload_file and download_file (threads inside s3transfer) reach the hooks."""
    counter = Counter()
    source = tmp_path / "in.bin"
    source.write_bytes(b"payload" * 1000)
    with botoware.install(session, plugins=[counter], autoload=False):
        s3 = client("s3")
        s3.create_bucket(Bucket="transfers")
        s3.upload_file(str(source), "transfers", "in.bin")
        s3.download_file("transfers", "in.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()
    assert counter.ends.get("PutObject") == 1
    assert counter.ends.get("GetObject", 0) + counter.ends.get("HeadObject", 0) >= 2


def test_threads_see_only_their_own_calls(session: Any, client: Any) -> None:
    """8 threads x 200 calls on shared clients: every call ends exactly once, with its own Call."""
    # ListQueues with a prefix per call: parameters of its own for each call, and an answer
    # that costs moto the same every time (SendMessage slows down as the queue grows: 1600
    # of them took two minutes).
    sqs = client("sqs")
    mismatches: list[str] = []
    counter = Counter()

    class Mine:
        botoware_name = "mine"

        def botoware_provide_client_params(self, call: botoware.Call, params: Any) -> None:
            call.stash[_TAG] = params.get("QueueNamePrefix", "")

        def botoware_after_call(self, call: botoware.Call, parsed: Any) -> None:
            if call.stash[_TAG] != call.params["QueueNamePrefix"]:
                mismatches.append(call.stash[_TAG])

    def work(n: int) -> None:
        for i in range(200):
            sqs.list_queues(QueueNamePrefix=f"threads-{n}-{i}")

    with botoware.install(session, plugins=[counter, Mine()], autoload=False):
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert counter.ends == {"ListQueues": 1600}
    assert mismatches == []


_TAG = botoware.StashKey[str]()
