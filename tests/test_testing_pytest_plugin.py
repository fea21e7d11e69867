"""The botoware pytest plugin, run on a sample test module with pytester (in-process)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SAMPLE = """
import os

import pytest
from botocore.exceptions import ClientError

from botoware.testing import error

NOWHERE = "http://127.0.0.1:9"
MOTO = os.environ.get("SAMPLE_MOTO_URL", NOWHERE)


def test_canned_queue(botoware_session, botoware_canned, botoware_recorder):
    canned = botoware_canned({"sqs.ListQueues": [{"QueueUrls": ["a"]}, {"QueueUrls": ["b"]}]})
    sqs = botoware_session.client("sqs", endpoint_url=NOWHERE)
    assert sqs.list_queues()["QueueUrls"] == ["a"]
    assert sqs.list_queues()["QueueUrls"] == ["b"]
    canned.assert_all_used()
    botoware_recorder.assert_calls(["sqs.ListQueues", "sqs.ListQueues"])


def test_faults(botoware_session, botoware_faults):
    faults = botoware_faults({"sqs.ListQueues": error("AccessDenied", 403)})
    with pytest.raises(ClientError):
        botoware_session.client("sqs", endpoint_url=NOWHERE).list_queues()
    assert faults.count() == 1


@pytest.mark.botoware_cassette(mode="once")
def test_cassette(botoware_session, botoware_cassette):
    sqs = botoware_session.client("sqs", endpoint_url=MOTO)
    assert sqs.create_queue(QueueName="sample")["QueueUrl"].endswith("/sample")
"""


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    """A directory holding the sample test module."""
    pytester.makepyfile(test_sample=SAMPLE)
    return pytester


def test_fixtures_are_listed(sample: pytest.Pytester) -> None:
    """pytest --fixtures shows the botoware fixtures with their docstrings."""
    result = sample.runpytest_inprocess("--fixtures")
    for name in ("botoware_session", "botoware_canned", "botoware_faults", "botoware_recorder"):
        result.stdout.fnmatch_lines([f"{name} -- *"])
    result.stdout.fnmatch_lines(["botoware_cassette -- *", "*cassette named after the test*"])


def test_marker_mode_once_replays_an_existing_cassette(sample: pytest.Pytester) -> None:
    """Without the option the marker's 'once' replays, and an unrecorded call fails."""
    path = sample.path / "cassettes" / "test_sample" / "test_cassette.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"botoware_cassette": 1, "interactions": []}))
    result = sample.runpytest_inprocess("-k", "cassette")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*UnrecordedCall*sqs.CreateQueue*"])


def test_record_then_replay_offline(
    sample: pytest.Pytester, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--botoware-record writes the test's cassette; the next run replays it with no server."""
    monkeypatch.setenv("SAMPLE_MOTO_URL", moto_url)
    sample.runpytest_inprocess("--botoware-record").assert_outcomes(passed=3)
    path = sample.path / "cassettes" / "test_sample" / "test_cassette.json"
    (record,) = json.loads(path.read_text())["interactions"]
    assert (record["service"], record["operation"]) == ("sqs", "CreateQueue")
    monkeypatch.setenv("SAMPLE_MOTO_URL", "http://127.0.0.1:9")
    sample.runpytest_inprocess().assert_outcomes(passed=3)


def test_missing_cassette_says_how_to_record(sample: pytest.Pytester) -> None:
    """Without the option or a marker mode, a missing cassette is an error naming the fix."""
    sample.makepyfile(
        test_unrecorded="def test_x(botoware_cassette):\n    pass\n",
    )
    result = sample.runpytest_inprocess("test_unrecorded.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*does not exist and mode 'none' only replays*--botoware-record*"])


def test_record_option_overrides_the_marker(
    sample: pytest.Pytester, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--botoware-record-mode=all re-records a cassette that its marker's 'once' would replay."""
    monkeypatch.setenv("SAMPLE_MOTO_URL", moto_url)
    path = sample.path / "cassettes" / "test_sample" / "test_cassette.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"botoware_cassette": 1, "interactions": []}))
    result = sample.runpytest_inprocess("--botoware-record-mode=all", "-k", "cassette")
    result.assert_outcomes(passed=1, deselected=2)
    assert len(json.loads(path.read_text())["interactions"]) == 1


def test_docs_pytest_example_records_then_replays(
    pytester: pytest.Pytester, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/testing.md's test module passes recording against moto, then replaying offline."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()
    (module,) = re.findall(r"^```python\n(# test_inventory\.py\n.*?)^```", page, re.S | re.M)
    pytester.makepyfile(test_inventory=module)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    pytester.runpytest_inprocess("--botoware-record", "test_inventory.py").assert_outcomes(passed=3)
    assert (pytester.path / "cassettes" / "test_inventory").is_dir()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    pytester.runpytest_inprocess().assert_outcomes(passed=3)
