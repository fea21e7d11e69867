"""A dependency goes down and comes back: retries, the circuit breaker, and its probe.

Run it: ``python examples/retry_circuit_breaker.py`` starts moto on 127.0.0.1 by itself;
``python examples/retry_circuit_breaker.py http://127.0.0.1:5000`` uses a moto server you started.

During the outage ``botoware.testing.Faults`` answers every S3 attempt with a real 500
error response (installed for the outage only, beside the retry plugin). The retry policy
makes two attempts per call and opens the circuit after four failed attempts; while it is
open calls fail at once; after the cool-down one probe call finds S3 healthy and closes it.
"""

from __future__ import annotations

import sys
import time

import boto3
from botocore.exceptions import ClientError

import botoware
from botoware.plugins.retry import (
    RETRY_DELAY,
    CircuitBreaker,
    CircuitOpenError,
    RetryPlugin,
    RetryPolicy,
)
from botoware.testing import Faults, server_error

COOLDOWN = 1.0


class Attempts:
    """Prints each attempt with the delay the policy chose before it."""

    botoware_name = "attempts"

    def botoware_request_created(self, call: botoware.Call) -> None:
        delay = call.stash.get(RETRY_DELAY, None)
        waited = "" if delay is None else f" (after {delay * 1000:.0f} ms)"
        print(f"  attempt {call.attempt}{waited}")


def main(endpoint_url: str) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint_url)
    policy = RetryPolicy(
        max_attempts=2,
        base=0.02,
        cap=0.2,
        breaker=CircuitBreaker(failure_threshold=4, cooldown=COOLDOWN),
    )
    retry = RetryPlugin(policy)

    def call(label: str) -> None:
        print(f"{label}:")
        try:
            s3.list_buckets()
            result = "ok"
        except CircuitOpenError as error:
            result = f"failed fast: {error}"
        except ClientError as error:
            result = f"failed: {error.response['Error']['Code']}"
        print(f"  {result}; circuit {retry.circuit_state('s3', 'us-east-1')}")

    with botoware.install(session, plugins=[Attempts(), retry], autoload=False):
        outage = Faults({"s3.*": server_error()}, name="outage")
        with botoware.install(session, plugins=[outage], autoload=False):
            call("call 1 (S3 is down)")
            call("call 2 (S3 is down)")
            call("call 3")
        time.sleep(COOLDOWN + 0.1)
        call("call 4 (S3 is back, after the cool-down)")
        call("call 5")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            main(f"http://{host}:{port}")
        finally:
            server.stop()
