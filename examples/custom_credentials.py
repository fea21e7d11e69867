"""Credentials from a file a sidecar rewrites, refreshed before they expire.

Run it: ``python examples/custom_credentials.py`` starts moto on 127.0.0.1 by itself;
``python examples/custom_credentials.py http://127.0.0.1:5000`` uses a moto server you started.

A "sidecar" writes short-lived keys to a JSON file (the ``credential_process`` format). With
the ``JsonFileCredentials`` plugin every client of the session signs with them; when the
keys come within ``refresh_margin`` of their ``Expiration`` the file is read again, and all
clients sign with the new keys. Loads and refreshes are spans and a Prometheus counter,
without any key material. A missing file is an error that names it.
"""

from __future__ import annotations

import datetime
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import botoware
from botoware.plugins.credentials import CredentialsFileError, JsonFileCredentials

LIFETIME = 14.0  # seconds the sidecar's keys live
MARGIN = 10.0  # re-read the file when fewer seconds than this are left


def sidecar_writes(path: Path, generation: int, lifetime: float) -> None:
    """What a secrets agent does: write fresh keys atomically (write, then rename)."""
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
    document = {
        "Version": 1,
        "AccessKeyId": f"AKIDSIDECAR{generation:09d}",
        "SecretAccessKey": f"sidecar-secret-{generation}",
        "SessionToken": f"sidecar-token-{generation}",
        "Expiration": expiry.isoformat(),
    }
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(document))
    staging.replace(path)


class SignedWith:
    """Prints which generation of the sidecar's keys signed each request (not the keys)."""

    botoware_name = "signed-with"

    def botoware_before_send(self, call: botoware.Call, request: Any) -> None:
        key_id = request.headers["Authorization"].decode().split("Credential=")[1].split("/")[0]
        generation = int(key_id.removeprefix("AKIDSIDECAR")) if "SIDECAR" in key_id else None
        print(f"  {call.service_id}.{call.operation} signed with keys #{generation}")


def main(endpoint_url: str) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = CollectorRegistry()

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "aws-credentials.json"
        sidecar_writes(path, 1, LIFETIME)
        started = time.monotonic()
        credentials = JsonFileCredentials(
            path, refresh_margin=MARGIN, tracer_provider=tracer_provider, registry=registry
        )
        session = boto3.Session(region_name="us-east-1")
        with botoware.install(session, plugins=[SignedWith(), credentials], autoload=False):
            s3 = session.client("s3", endpoint_url=endpoint_url)
            sqs = session.client("sqs", endpoint_url=endpoint_url)
            print("keys #1 are fresh:")
            s3.list_buckets()
            sqs.list_queues()

            sidecar_writes(path, 2, 3600)
            print("the sidecar wrote keys #2; #1 still have more than the margin left:")
            s3.list_buckets()

            time.sleep(max(0.0, started + (LIFETIME - MARGIN) + 0.5 - time.monotonic()))
            print("keys #1 are within the margin: the file is re-read once, for all clients:")
            s3.list_buckets()
            sqs.list_queues()

        print("telemetry (no key material):")
        for span in exporter.get_finished_spans():
            attributes = dict(span.attributes or {})
            print(f"  span {span.name}: {attributes['botoware.credentials.outcome']}")
        labels = {"provider": "botoware-json-file", "outcome": "success"}
        count = registry.get_sample_value("aws_credentials_refreshes_total", labels)
        print(f"  aws_credentials_refreshes_total{{outcome='success'}} {count}")

        missing = JsonFileCredentials(Path(directory) / "gone.json", registry=registry)
        other = boto3.Session(region_name="us-east-1")
        with botoware.install(other, plugins=[missing], autoload=False):
            try:
                other.client("s3", endpoint_url=endpoint_url)
            except CredentialsFileError as error:
                print(f"a missing file: {error.problem.split(' (')[0]}")


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
