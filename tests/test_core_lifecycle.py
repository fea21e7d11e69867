"""The hook lifecycle of real calls: order, attempts, terminals, short-circuits."""

from __future__ import annotations

import contextvars
import functools
from typing import Any

import botocore.client
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from conftest import BOTH_KINDS, unwrap

import botoware
from botoware.testing import Recorder

ONE_ATTEMPT = [
    "provide_client_params",
    "before_parameter_build",
    "before_call",
    "choose_signer",
    "before_sign",
    "request_created",
    "before_send",
    "response_received",
    "needs_retry",
]


def _hooks(recorder: Recorder, operation: str) -> list[tuple[str, int]]:
    return [(hook, attempt) for hook, _, op, attempt in recorder.events if op == operation]


class _ServerErrorsFirst:
    """Answers the first ``n`` attempts of ListBuckets with a real S3 500 error body."""

    botoware_name = "server-errors"
    botoware_scope = ("s3.ListBuckets",)

    def __init__(self, n: int) -> None:
        self.left = n

    def botoware_before_send(self, call: botoware.Call, request: Any) -> AWSResponse | None:
        if self.left == 0:
            return None
        self.left -= 1
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            b"<Message>We encountered an internal error.</Message></Error>"
        )
        return AWSResponse(request.url, 500, {"Content-Type": "application/xml"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


@BOTH_KINDS
def test_one_attempt_runs_every_hook_in_order(session: Any, client: Any) -> None:
    """A successful call runs each hook once, in the documented order, then after_call."""
    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        s3.list_buckets()
    expected = [(h, 0 if i < 3 else 1) for i, h in enumerate(ONE_ATTEMPT)]
    assert _hooks(recorder, "ListBuckets") == [*expected, ("after_call", 1)]


@BOTH_KINDS
def test_retries_repeat_the_attempt_hooks(session: Any, client: Any) -> None:
    """Two 500s then success: the per-attempt hooks run three times, the call ends once."""
    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, _ServerErrorsFirst(2)], autoload=False):
        response = s3.list_buckets()
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    per_attempt = ONE_ATTEMPT[3:]
    expected = [(h, 0) for h in ONE_ATTEMPT[:3]]
    for attempt in (1, 2, 3):
        expected += [(h, attempt) for h in per_attempt]
    assert _hooks(recorder, "ListBuckets") == [*expected, ("after_call", 3)]


@BOTH_KINDS
def test_param_validation_error_ends_the_call_once(session: Any, client: Any) -> None:
    """A call botocore rejects before before-call still gets exactly one after_call_error."""
    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        with pytest.raises(botocore.exceptions.ParamValidationError):
            s3.put_object(Bucket="some-bucket")
    assert _hooks(recorder, "PutObject") == [
        ("provide_client_params", 0),
        ("before_parameter_build", 0),
        ("after_call_error", 0),
    ]


@BOTH_KINDS
def test_error_response_ends_with_after_call_only(session: Any, client: Any) -> None:
    """An AWS error (ClientError) ends with after_call, never also after_call_error."""
    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_bucket(Bucket="no-such-bucket-here")
    terminals = [h for h, _ in _hooks(recorder, "HeadBucket") if h.startswith("after_call")]
    assert terminals == ["after_call"]


@BOTH_KINDS
def test_transport_failure_ends_with_after_call_error(session: Any, client: Any) -> None:
    """A connection refused after all attempts ends with after_call_error once."""
    s3 = client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            s3.list_buckets()
    hooks = [h for h, _ in _hooks(recorder, "ListBuckets")]
    assert hooks.count("after_call_error") == 1
    assert "after_call" not in hooks


@BOTH_KINDS
def test_raising_decision_hook_ends_the_call_once(session: Any, client: Any) -> None:
    """A decision hook's exception reaches the user and the call still ends exactly once."""

    class Deny:
        botoware_name = "deny"

        def botoware_before_call(self, call: botoware.Call) -> None:
            raise PermissionError("denied by policy")

    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, Deny()], autoload=False):
        with pytest.raises(PermissionError):
            s3.list_buckets()
    hooks = [h for h, _ in _hooks(recorder, "ListBuckets")]
    assert hooks[-1] == "after_call_error"
    assert hooks.count("after_call_error") == 1


@BOTH_KINDS
def test_before_call_short_circuit_skips_every_attempt_hook(session: Any, client: Any) -> None:
    """A before_call answer is the result; no attempt hook runs, after_call does."""

    class Cache:
        botoware_name = "cache"

        def botoware_before_call(self, call: botoware.Call) -> tuple[AWSResponse, dict[str, Any]]:
            http = AWSResponse("https://cache.invalid/", 200, {}, _Raw(b""))
            return http, {"Buckets": [{"Name": "from-cache"}], "ResponseMetadata": {}}

    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, Cache()], autoload=False):
        response = s3.list_buckets()
    assert response["Buckets"] == [{"Name": "from-cache"}]
    assert [h for h, _ in _hooks(recorder, "ListBuckets")] == [
        "provide_client_params",
        "before_parameter_build",
        "before_call",
        "after_call",
    ]


@BOTH_KINDS
def test_before_send_answer_is_parsed_like_a_real_response(session: Any, client: Any) -> None:
    """A before_send AWSResponse goes through botocore's parser and every later hook."""

    class Answer:
        botoware_name = "answer"

        def botoware_before_send(self, request: Any) -> AWSResponse:
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult>'
                b"<Buckets><Bucket><Name>offline</Name>"
                b"<CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket></Buckets>"
                b"</ListAllMyBucketsResult>"
            )
            return AWSResponse(request.url, 200, {}, _Raw(body))

    s3 = client("s3", endpoint_url="http://127.0.0.1:9")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder, Answer()], autoload=False):
        response = s3.list_buckets()
    assert [b["Name"] for b in response["Buckets"]] == ["offline"]
    assert [h for h, _ in _hooks(recorder, "ListBuckets")][-3:] == [
        "response_received",
        "needs_retry",
        "after_call",
    ]


@BOTH_KINDS
def test_provide_client_params_replaces_the_parameters(session: Any, client: Any) -> None:
    """The first non-None provide_client_params result is what botocore serializes."""

    class DefaultBucket:
        botoware_name = "default-bucket"
        botoware_scope = ("s3.HeadBucket",)

        def botoware_provide_client_params(self, params: dict[str, Any]) -> dict[str, Any]:
            return {**params, "Bucket": "replaced-bucket"}

    s3 = client("s3")
    s3.create_bucket(Bucket="replaced-bucket")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_bucket(Bucket="not-there-at-all")
    with botoware.install(session, plugins=[DefaultBucket()], autoload=False):
        response = s3.head_bucket(Bucket="not-there-at-all")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


@BOTH_KINDS
def test_choose_signer_can_unsign_a_call(session: Any, client: Any) -> None:
    """A choose_signer answer replaces botocore's choice (here: no signature at all)."""
    seen: list[str | None] = []

    class Unsigned:
        botoware_name = "unsigned"

        def botoware_choose_signer(self) -> Any:
            return botocore.UNSIGNED

        def botoware_before_send(self, request: Any) -> None:
            seen.append(request.headers.get("Authorization"))

    s3 = client("s3")
    with botoware.install(session, plugins=[Unsigned()], autoload=False):
        s3.list_buckets()
    assert seen == [None]


@BOTH_KINDS
def test_call_object_is_shared_by_every_hook(session: Any, client: Any) -> None:
    """Every hook of one call receives the same Call, with the call's facts."""
    calls: list[botoware.Call] = []

    class Collect:
        botoware_name = "collect"

        def botoware_before_call(self, call: botoware.Call) -> None:
            calls.append(call)

        def botoware_before_send(self, call: botoware.Call) -> None:
            calls.append(call)

        def botoware_after_call(self, call: botoware.Call) -> None:
            calls.append(call)

    s3 = client("s3")
    with botoware.install(session, plugins=[Collect()], autoload=False):
        s3.list_buckets()
    first = calls[0]
    assert all(c is first for c in calls) and len(calls) == 3
    assert (first.service, first.service_id, first.operation) == ("s3", "S3", "ListBuckets")
    assert first.region == "us-east-1" and first.attempt == 1 and first.ended
    assert first.run is None and not first.paginated and first.waiter is None


@BOTH_KINDS
def test_presigned_url_runs_only_request_shaping_hooks(session: Any, client: Any) -> None:
    """A presigned URL has call.presigned, no send and no terminal hook."""
    s3 = client("s3")
    recorder = Recorder()
    flags: list[bool] = []

    class Flag:
        botoware_name = "flag"

        def botoware_provide_client_params(self, call: botoware.Call) -> None:
            flags.append(call.presigned)

    with botoware.install(session, plugins=[recorder, Flag()], autoload=False):
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "b-1", "Key": "k"})
    hooks = [h for h, _ in _hooks(recorder, "GetObject")]
    assert "Signature=" in url  # botocore presigns S3 on a custom endpoint with SigV2
    assert flags == [True]
    assert not {"before_send", "after_call", "after_call_error"} & set(hooks)


@BOTH_KINDS
def test_every_hook_receives_every_documented_argument(session: Any, client: Any) -> None:
    """Implementations asking for all of a hook's documented arguments get them all."""
    import inspect

    from botoware.hooks import specs

    received: dict[str, set[str]] = {}
    namespace: dict[str, Any] = {"received": received}
    source = ["class AllArguments:", "    botoware_name = 'all-arguments'"]
    for name in dir(specs):
        if not name.startswith("botoware_") or name == "botoware_credential_providers":
            continue
        arguments = list(inspect.signature(getattr(specs, name)).parameters)
        pairs = ", ".join(f"({a!r}, {a})" for a in arguments)
        source += [
            f"    def {name}(self, {', '.join(arguments)}):",
            f"        received[{name!r}] = {{a for a, v in [{pairs}] if v is not None}}",
        ]
    exec("\n".join(source), namespace)
    s3 = client("s3")
    with botoware.install(session, plugins=[namespace["AllArguments"]()], autoload=False):
        s3.create_bucket(Bucket="all-arguments")
        list(s3.get_paginator("list_objects_v2").paginate(Bucket="all-arguments"))
        with pytest.raises(botocore.exceptions.ParamValidationError):
            s3.put_object(Bucket="all-arguments")
    optional = {"exception", "caught_exception", "response_dict", "context"}
    for name, arguments in received.items():
        expected = set(inspect.signature(getattr(specs, name)).parameters) - optional
        assert expected <= arguments, (name, expected - arguments)
    assert len(received) == 15  # every hook but credential_providers (install-time)


@BOTH_KINDS
def test_call_start_comes_before_botocore_emits_anything(session: Any, client: Any) -> None:
    """A plain client's call_start runs before botocore's first event, so it sees no event."""
    s3 = client("s3")
    order: list[str] = []
    unwrap(s3).meta.events.register(
        "provide-client-params.s3.ListBuckets", lambda **kw: order.append("botocore event")
    )

    class Start:
        botoware_name = "start"

        def botoware_call_start(self, call: botoware.Call) -> None:
            order.append("call_start")

    with botoware.install(session, plugins=[Start()], autoload=False):
        s3.list_buckets()
    assert order == ["call_start", "botocore event"]


def test_call_start_waits_for_a_wrapper_around_make_api_call(
    session: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BaseClient._make_api_call monkeypatched, call_start runs inside the wrapper."""
    inside = contextvars.ContextVar("inside", default=False)
    original = botocore.client.BaseClient._make_api_call

    @functools.wraps(original)
    def wrapper(self: Any, operation_name: str, api_params: Any) -> Any:
        token = inside.set(True)
        try:
            return original(self, operation_name, api_params)
        finally:
            inside.reset(token)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", wrapper)
    seen: list[bool] = []

    class Start:
        botoware_name = "start"

        def botoware_call_start(self, call: botoware.Call) -> None:
            seen.append(inside.get())

        def botoware_after_call(self, call: botoware.Call) -> None:
            seen.append(inside.get())

    s3 = client("s3")
    with botoware.install(session, plugins=[Start()], autoload=False):
        s3.list_buckets()
    assert seen == [True, True]


def test_a_call_made_from_call_start_is_a_whole_call_of_its_own(session: Any, client: Any) -> None:
    """A call made inside call_start (before botocore's first event) and the call that made
    it each run every hook once, whoever stepped out of which (sync: hooks cannot await)."""
    s3, sts = client("s3"), client("sts")
    recorder = Recorder()

    class Nested:
        botoware_name = "nested"

        def botoware_call_start(self, call: botoware.Call) -> Any:
            if call.operation == "ListBuckets":
                sts.get_caller_identity()
                return None
            return botoware.STEP_OUT

    with botoware.install(session, plugins=[Nested(), recorder], autoload=False):
        s3.list_buckets()
    expected = [h for h, _ in [*[(h, 0) for h in ONE_ATTEMPT], ("after_call", 1)]]
    assert [h for h, _ in _hooks(recorder, "ListBuckets")] == expected
    assert [h for h, _ in _hooks(recorder, "GetCallerIdentity")] == expected


@BOTH_KINDS
def test_presigned_url_starts_without_any_event_handler(session: Any, client: Any) -> None:
    """A plugin with call_start only sees each presigned URL start, once, as presigned."""
    s3 = client("s3")
    seen: list[tuple[str, bool]] = []

    class Start:
        botoware_name = "start"

        def botoware_call_start(self, call: botoware.Call) -> None:
            seen.append((call.operation, call.presigned))

    with botoware.install(session, plugins=[Start()], autoload=False):
        s3.generate_presigned_url("get_object", Params={"Bucket": "b-1", "Key": "k"})
        s3.list_buckets()
    assert seen == [("GetObject", True), ("ListBuckets", False)]


def test_presigned_post_is_a_presigned_call(session: Any, client: Any) -> None:
    """generate_presigned_post is one presigned call (botocore signs it as CreateBucket)."""
    s3 = client("s3")
    recorder = Recorder()
    with botoware.install(session, plugins=[recorder], autoload=False):
        post = s3.generate_presigned_post("b-1", "k")
    hooks = [h for h, _ in _hooks(recorder, "CreateBucket")]
    assert post["fields"]["key"] == "k"
    assert hooks[0] == "provide_client_params"
    assert not {"before_send", "after_call", "after_call_error"} & set(hooks)


def test_only_wrapped_clients_get_a_start_handler(
    session: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain client's calls start with no handler of botoware's on provide-client-params;
    a client whose _make_api_call is wrapped gets one, so its calls start inside the wrapper."""
    from botoware.hooks import bridge

    class Start:
        botoware_name = "start"

        def botoware_call_start(self, call: botoware.Call) -> None:
            pass

    def starts(c: Any) -> bool:
        return any(i.endswith("-start-late") for i in bridge.registered_unique_ids(c.meta.events))

    original = botocore.client.BaseClient._make_api_call

    @functools.wraps(original)
    def wrapper(self: Any, operation_name: str, api_params: Any) -> Any:
        return original(self, operation_name, api_params)

    with botoware.install(session, plugins=[Start()], autoload=False):
        plain = client("s3")
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", wrapper)
        wrapped = client("s3")
        assert (starts(plain), starts(wrapped)) == (False, True)
