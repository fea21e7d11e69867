"""While the retry plugin is installed botocore's retry handler is off; afterwards it is back."""

from __future__ import annotations

import types
from typing import Any

import botocore.config
import botocore.endpoint
import botocore.exceptions
import pytest

import botoware
from botoware.plugins.retry import RETRY_DELAY, RetryPlugin, RetryPolicy
from botoware.testing import Faults, Recorder, server_error


class _Delays:
    """Records the RETRY_DELAY each retried attempt starts with."""

    botoware_name = "delays"

    def __init__(self) -> None:
        self.seen: list[float] = []

    def botoware_request_created(self, call: botoware.Call) -> None:
        if RETRY_DELAY in call.stash:
            self.seen.append(call.stash[RETRY_DELAY])


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays botocore's endpoint sleeps between attempts, recorded instead of slept."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


def _attempts(session: Any, s3: Any) -> int:
    """Attempts botocore (or whichever retry handler is on) makes for a call that keeps failing."""
    recorder = Recorder()
    faults = Faults({"s3.ListBuckets": server_error()})
    with botoware.install(session, plugins=[recorder, faults], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            s3.list_buckets()
    return len(recorder.attempts("ListBuckets"))


def _standard_quota(s3: Any) -> Any:
    entry = s3.meta.events._emitter._unique_id_handlers["retry-config-s3"]
    return entry["handler"].__self__._retry_quota._quota


def _client(session: Any, moto_url: str, mode: str, max_attempts: int) -> Any:
    config = botocore.config.Config(retries={"mode": mode, "max_attempts": max_attempts})
    return session.client("s3", endpoint_url=moto_url, config=config)


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_botocore_retries_come_back_after_uninstall(
    session: Any, moto_url: str, slept: list[float], mode: str
) -> None:
    """Same client: botocore's attempts, the policy's while installed, botocore's again after."""
    s3 = _client(session, moto_url, mode, max_attempts=4)
    before = _attempts(session, s3)
    with botoware.install(
        session, plugins=[RetryPlugin(RetryPolicy(max_attempts=2))], autoload=False
    ):
        during = _attempts(session, s3)
    after = _attempts(session, s3)
    assert (before, during, after) == (before, 2, before)
    assert before > 2


def test_no_double_retries_when_botocore_allows_more(
    session: Any, moto_url: str, slept: list[float]
) -> None:
    """botocore configured for 10 attempts, the policy for 3: exactly 3 attempts."""
    s3 = _client(session, moto_url, "standard", max_attempts=10)
    with botoware.install(
        session, plugins=[RetryPlugin(RetryPolicy(max_attempts=3))], autoload=False
    ):
        assert _attempts(session, s3) == 3


def test_botocore_quota_is_untouched_while_installed(
    session: Any, moto_url: str, slept: list[float]
) -> None:
    """Standard mode's retry quota is not spent while the plugin decides; it is after."""
    s3 = _client(session, moto_url, "standard", max_attempts=3)
    quota = _standard_quota(s3)
    full = quota.available_capacity
    with botoware.install(
        session, plugins=[RetryPlugin(RetryPolicy(max_attempts=3))], autoload=False
    ):
        _attempts(session, s3)
    during = quota.available_capacity
    _attempts(session, s3)
    assert during == full
    assert quota.available_capacity < full


def test_botocore_sleeps_the_delay_the_policy_returns(
    session: Any, moto_url: str, slept: list[float]
) -> None:
    """Without an injected sleep the plugin returns the delay and botocore sleeps exactly it."""
    s3 = _client(session, moto_url, "standard", max_attempts=3)
    delays = _Delays()
    faults = Faults({"s3.ListBuckets": server_error()})
    plugins = [delays, faults, RetryPlugin(RetryPolicy(max_attempts=3))]
    with botoware.install(session, plugins=plugins, autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            s3.list_buckets()
    assert len(slept) == 2 and slept == delays.seen
