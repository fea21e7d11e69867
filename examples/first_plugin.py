"""A first botoware plugin: log AWS calls slower than a threshold, with their attempts.

Run it: ``python examples/first_plugin.py`` (starts moto on 127.0.0.1 by itself).
"""

from __future__ import annotations

import logging
import sys
import time

import boto3

import botoware

logger = logging.getLogger("slow-calls")


class SlowCalls:
    """Logs every call that takes longer than ``threshold`` seconds."""

    botoware_name = "slow-calls"

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def botoware_after_call(self, call: botoware.Call) -> None:
        self._check(call, "ok")

    def botoware_after_call_error(self, call: botoware.Call, exception: BaseException) -> None:
        self._check(call, type(exception).__name__)

    def _check(self, call: botoware.Call, outcome: str) -> None:
        elapsed = time.monotonic() - call.started
        if elapsed >= self.threshold:
            logger.warning(
                "%s.%s took %.3fs (%d attempts, %s)",
                call.service_id,
                call.operation,
                elapsed,
                call.attempt,
                outcome,
            )


def main(endpoint_url: str) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint_url)
    with botoware.install(session, plugins=[SlowCalls(threshold=0.0)], autoload=False):
        s3.create_bucket(Bucket="first-plugin")
        s3.list_buckets()


if __name__ == "__main__":
    from moto.server import ThreadedMotoServer

    logging.basicConfig(stream=sys.stdout, format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        main(f"http://{host}:{port}")
    finally:
        server.stop()
