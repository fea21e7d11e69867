"""Cassette on aiobotocore clients: the same hooks record and replay awaited calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import botoware
from botoware.testing import Cassette
from tests.conftest import CREDENTIALS

aiobotocore_session = pytest.importorskip(
    "aiobotocore.session", reason="aiobotocore is not installed (the aio extra)"
)

BUCKET = "aio-cassette"
PAYLOAD = bytes(range(256)) * 20


def _session() -> Any:
    session = aiobotocore_session.AioSession()
    session.set_credentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
    session.set_config_variable("region", CREDENTIALS["region_name"])
    return session


async def _scenario(session: Any, endpoint: str) -> dict[str, Any]:
    async with session.create_client("s3", endpoint_url=endpoint) as s3:
        await s3.create_bucket(Bucket=BUCKET)
        for key in ("a", "b", "c"):
            await s3.put_object(Bucket=BUCKET, Key=key, Body=PAYLOAD)
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, PaginationConfig={"PageSize": 2}
        )
        keys = [o["Key"] async for page in pages for o in page["Contents"]]
        response = await s3.get_object(Bucket=BUCKET, Key="a")
        chunks = [chunk async for chunk in response["Body"]]
        whole = await (await s3.get_object(Bucket=BUCKET, Key="b"))["Body"].read()
    return {"keys": keys, "chunked": b"".join(chunks), "whole": whole}


def test_aio_records_then_replays_offline(moto_url: str, tmp_path: Path) -> None:
    """Awaited calls, async pages and async body reads record, then replay with no server."""
    path = tmp_path / "aio.json"
    recording = Cassette(path, mode="once")
    session = _session()
    with botoware.install(session, plugins=[recording], autoload=False):
        seen = asyncio.run(_scenario(session, moto_url))
    recording.save()
    assert seen == {"keys": ["a", "b", "c"], "chunked": PAYLOAD, "whole": PAYLOAD}
    replaying = Cassette(path, mode="none")
    session = _session()
    with botoware.install(session, plugins=[replaying], autoload=False):
        replayed = asyncio.run(_scenario(session, "http://127.0.0.1:9"))
    assert replayed == seen
    assert replaying.unplayed == []
