"""A tour of boto3's S3 resource API, with the API calls each line makes shown by a plugin.

Resources, collections and transfers hide the API calls they make; botoware sees every one,
because each goes through a client of the session. The ``CallLog`` plugin below records
them, marking the calls that are pages of a collection's paginator.

Run it: ``python examples/s3_tour.py`` (starts moto on 127.0.0.1 by itself), or
``python examples/s3_tour.py http://127.0.0.1:5000`` against a moto you started.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

import boto3

import botoware


class CallLog:
    """Remembers each API call as ``"S3.ListObjects (page 2)"``; thread-safe, since S3
    transfers make their calls from worker threads."""

    botoware_name = "call-log"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def botoware_after_call(self, call: botoware.Call) -> None:
        name = f"{call.service_id}.{call.operation}"
        if call.run is not None and call.run.kind == "paginate":
            name += f" (page {call.run.calls})"
        elif call.run is not None:
            name += f" (waiter poll {call.run.calls})"
        with self._lock:
            self.calls.append(name)

    def take(self) -> str:
        """The calls since the last take(), repeats counted: ``"S3.PutObject x36"``."""
        with self._lock:
            taken, self.calls = self.calls, []
        runs: list[list[Any]] = []
        for name in taken:
            if runs and runs[-1][0] == name:
                runs[-1][1] += 1
            else:
                runs.append([name, 1])
        return ", ".join(name if n == 1 else f"{name} x{n}" for name, n in runs)


def tour(s3: Any, log: CallLog, prefix: str) -> dict[str, Any]:
    """The tour itself: plain boto3 resource code, printing the calls behind each line."""
    seen: dict[str, Any] = {}

    def show(line: str, result: Any = None) -> None:
        print(f"{line}\n    -> {log.take() or 'no API call'}")
        seen[line] = result

    bucket = s3.create_bucket(Bucket=f"{prefix}-photos")
    bucket.wait_until_exists()
    show("s3.create_bucket(...); bucket.wait_until_exists()")

    for month in ("01", "02", "03"):
        for number in range(12):
            body = io.BytesIO(f"photo {month}-{number}".encode())
            bucket.upload_fileobj(body, f"2024/{month}/photo-{number:02d}.jpg")
    show("bucket.upload_fileobj(...) x 36")

    names = [b.name for b in s3.buckets.all()]
    show("[b.name for b in s3.buckets.all()]", names)

    march = [o.key for o in bucket.objects.filter(Prefix="2024/03/").page_size(5)]
    show("bucket.objects.filter(Prefix='2024/03/').page_size(5)", march)

    deleted = bucket.objects.filter(Prefix="2024/01/").delete()
    show("bucket.objects.filter(Prefix='2024/01/').delete()", deleted)

    remaining = sum(1 for _ in bucket.objects.all())
    show("sum(1 for _ in bucket.objects.all())", remaining)

    bucket.objects.all().delete()
    bucket.delete()
    show("bucket.objects.all().delete(); bucket.delete()")
    return seen


def main(endpoint_url: str, prefix: str = "s3-tour") -> dict[str, Any]:
    """Run the tour against ``endpoint_url``; return each line's result."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    log = CallLog()
    with botoware.install(session, plugins=[log], autoload=False):
        s3 = session.resource("s3", endpoint_url=endpoint_url)
        return tour(s3, log, prefix)


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
