"""botoware.contrib.emf: CloudWatch Embedded Metric Format documents of real calls against moto,
parsed and checked against the rules of the EMF specification."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

import botoware
from botoware.contrib.emf import MAX_DIMENSIONS, MAX_METRICS, MAX_VALUES, UNITS, EmfMetrics

# -------------------------------------------------------------------------------------------
# The specification's rules, as a checker
# -------------------------------------------------------------------------------------------

_AWS_MEMBERS = {"Timestamp", "CloudWatchMetrics", "LogGroupName"}
_DIRECTIVE_MEMBERS = {"Namespace", "Dimensions", "Metrics"}
_DEFINITION_MEMBERS = {"Name", "Unit", "StorageResolution"}


def check_emf(document: Any) -> None:
    """Raise AssertionError where ``document`` breaks the EMF specification."""
    assert isinstance(document, dict)
    metadata = document["_aws"]
    assert isinstance(metadata, dict) and set(metadata) <= _AWS_MEMBERS
    stamp = metadata["Timestamp"]  # milliseconds since the epoch
    assert isinstance(stamp, int) and abs(stamp - time.time() * 1000) < 60_000
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    for directive in directives:
        assert set(directive) == _DIRECTIVE_MEMBERS
        assert isinstance(directive["Namespace"], str) and 1 <= len(directive["Namespace"]) <= 1024
        dimension_names: set[str] = set()
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and 1 <= len(dimension_set) <= MAX_DIMENSIONS
            for name in dimension_set:  # a reference to a root member holding a string
                value = document[name]
                assert isinstance(value, str) and value.isascii() and 1 <= len(value) <= 1024
                dimension_names.add(name)
        metrics = directive["Metrics"]
        assert isinstance(metrics, list) and 1 <= len(metrics) <= MAX_METRICS
        for definition in metrics:
            assert set(definition) <= _DEFINITION_MEMBERS and "Name" in definition
            assert definition.get("Unit", "None") in UNITS
            assert definition["Name"] not in dimension_names
            value = document[definition["Name"]]  # a number, or up to 100 numbers
            numbers = value if isinstance(value, list) else [value]
            assert 1 <= len(numbers) <= MAX_VALUES
            assert all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    for document in documents:
        check_emf(document)
    return documents


# -------------------------------------------------------------------------------------------
# Fixtures
# -------------------------------------------------------------------------------------------


@pytest.fixture
def out() -> io.StringIO:
    """Where the plugin writes (stdout on Lambda)."""
    return io.StringIO()


@pytest.fixture
def emf(session: Any, out: io.StringIO) -> Iterator[EmfMetrics]:
    """EmfMetrics installed on ``session``."""
    plugin = EmfMetrics(namespace="checkout", dimensions={"Stage": "test"}, out=out)
    with botoware.install(session, plugins=[plugin], autoload=False):
        yield plugin


# -------------------------------------------------------------------------------------------
# Documents
# -------------------------------------------------------------------------------------------


def test_flush_writes_one_valid_document_per_operation(
    emf: EmfMetrics, client: Any, out: io.StringIO
) -> None:
    """Two operations called: two EMF lines with their counts, durations and dimensions."""
    s3 = client("s3")
    s3.list_buckets()
    s3.list_buckets()
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_bucket(Bucket="emf-missing")
    assert emf.flush() == 2
    head, listed = lines(out)
    assert (head["Service"], head["Operation"], head["Stage"]) == ("s3", "HeadBucket", "test")
    assert (head["Calls"], head["Errors"], head["Attempts"]) == (1, 1, 1)
    assert (listed["Operation"], listed["Calls"], listed["Errors"]) == ("ListBuckets", 2, 0)
    assert len(listed["Duration"]) == 2 and all(ms > 0 for ms in listed["Duration"])
    [directive] = listed["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "checkout"
    assert directive["Dimensions"] == [["Service", "Operation", "Stage"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Calls": "Count",
        "Errors": "Count",
        "Attempts": "Count",
        "Duration": "Milliseconds",
    }


def test_more_than_a_hundred_durations_go_to_further_documents(
    emf: EmfMetrics, client: Any, out: io.StringIO
) -> None:
    """250 calls: three documents of at most 100 durations, the counts in the first only."""
    sts = client("sts")
    for _ in range(250):
        sts.get_caller_identity()
    assert emf.flush() == 3
    documents = lines(out)
    assert [len(d["Duration"]) for d in documents] == [100, 100, 50]
    assert documents[0]["Calls"] == 250
    assert ["Calls" in d for d in documents] == [True, False, False]


def test_a_flush_forgets_what_it_wrote(emf: EmfMetrics, client: Any, out: io.StringIO) -> None:
    """A second flush without calls writes nothing: each invocation reports its own calls."""
    client("sts").get_caller_identity()
    assert emf.flush() == 1
    assert emf.flush() == 0
    assert len(lines(out)) == 1


def test_flush_after_flushes_at_the_end_of_each_invocation(
    emf: EmfMetrics, client: Any, out: io.StringIO
) -> None:
    """The decorated handler returns its result, and its calls are written when it ends."""
    sts = client("sts")

    @emf.flush_after
    def handler(event: dict[str, Any], context: object) -> str:
        sts.get_caller_identity()
        assert out.getvalue() == ""
        return "done"

    assert handler({}, None) == "done"
    assert [d["Calls"] for d in lines(out)] == [1]


def test_flush_after_flushes_when_the_handler_raises(
    emf: EmfMetrics, client: Any, out: io.StringIO
) -> None:
    """A failing invocation's calls are written too, and its exception goes on."""
    sts = client("sts")

    @emf.flush_after
    def handler(event: dict[str, Any], context: object) -> None:
        sts.get_caller_identity()
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        handler({}, None)
    assert [d["Operation"] for d in lines(out)] == ["GetCallerIdentity"]


def test_stdout_is_the_default(
    session: Any, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without out=, documents go to sys.stdout as it is at flush time (Lambda's log)."""
    plugin = EmfMetrics()
    with botoware.install(session, plugins=[plugin], autoload=False):
        client("sts").get_caller_identity()
    plugin.flush()
    [line] = capsys.readouterr().out.splitlines()
    check_emf(json.loads(line))
    assert json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "botoware"


def test_a_failed_write_is_logged_not_raised(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A closed stream makes flush() log an error and return 0; the handler is unaffected."""
    closed = io.StringIO()
    closed.close()
    plugin = EmfMetrics(out=closed)
    with botoware.install(session, plugins=[plugin], autoload=False):
        client("sts").get_caller_identity()
    assert plugin.flush() == 0
    assert "could not write 1 documents" in caplog.text


# -------------------------------------------------------------------------------------------
# Settings CloudWatch would reject
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"namespace": ""}, "namespace"),
        ({"namespace": "x" * 1025}, "namespace"),
        ({"namespace": "prüfung"}, "ASCII"),
        ({"dimensions": {f"D{i}": "v" for i in range(29)}}, "at most 28"),
        ({"dimensions": {"Calls": "v"}}, "'Calls' is taken"),
        ({"dimensions": {"Service": "v"}}, "'Service' is taken"),
        ({"dimensions": {":Stage": "v"}}, "starts with ':'"),
        ({"dimensions": {"Stage": ""}}, "Stage"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], named: str) -> None:
    """A namespace or dimension CloudWatch would reject raises ConfigurationError at once."""
    with pytest.raises(botoware.ConfigurationError, match=named):
        EmfMetrics(**kwargs)
