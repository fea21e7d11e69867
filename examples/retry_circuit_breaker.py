"""A dependency goes down and comes back: retries, the circuit breaker, and its probe.

Run it: ``python examples/retry_circuit_breaker.py`` starts moto on 127.0.0.1 by itself;
``python examples/retry_circuit_breaker.py http://127.0.0.1:5000`` uses a moto server you started.

An ``Outage`` plugin answers every S3 attempt with a real 500 error while it is on. The
retry policy makes two attempts per call and opens the circuit after four failed attempts;
while it is open calls fail at once; after the cool-down one probe call finds S3 healthy and
closes the circuit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

import botoware
from botoware.plugins.retry import (
    RETRY_DELAY,
    CircuitBreaker,
    CircuitOpenError,
    RetryPlugin,
    RetryPolicy,
)

COOLDOWN = 1.0


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


class Outage:
    """While ``on``, every attempt gets S3's 500 InternalError instead of reaching S3."""

    botoware_name = "outage"
    botoware_scope = ("s3",)

    def __init__(self) -> None:
        self.on = False

    def botoware_before_send(self, request: Any) -> AWSResponse | None:
        if not self.on:
            return None
        body = b"<Error><Code>InternalError</Code><Message>We are down</Message></Error>"
        return AWSResponse(request.url, 500, {}, _Body(body))


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
    outage = Outage()

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

    with botoware.install(session, plugins=[outage, Attempts(), retry], autoload=False):
        outage.on = True
        call("call 1 (S3 is down)")
        call("call 2 (S3 is down)")
        call("call 3")
        outage.on = False
        time.sleep(COOLDOWN + 0.1)
        call("call 4 (S3 is back, after the cool-down)")
        call("call 5")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            main(f"http://{host}:{port}")
        finally:
            server.stop()
