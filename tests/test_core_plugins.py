"""Plugins: validation, isolation, scoping, blocking, describe(), decision hooks."""

from __future__ import annotations

import logging
import types
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse

import botoware
from botoware.hooks import bridge


class Ends:
    """Counts terminal hooks."""

    def __init__(self, name: str = "ends", scope: tuple[str, ...] | None = None) -> None:
        self.botoware_name = name
        if scope is not None:
            self.botoware_scope = scope
        self.operations: list[str] = []

    def botoware_after_call(self, call: botoware.Call) -> None:
        self.operations.append(call.operation)


def test_public_surface_is_what_the_docs_promise() -> None:
    """botoware.__all__ lists exactly the documented public names."""
    assert sorted(botoware.__all__) == sorted(
        [
            "NO_RETRY",
            "STEP_OUT",
            "BotowareError",
            "BotowareWarning",
            "Call",
            "ConfigurationError",
            "Installation",
            "MissingExtraError",
            "PluginError",
            "PluginInfo",
            "Run",
            "Session",
            "Stash",
            "StashKey",
            "__version__",
            "hookimpl",
            "hookspec",
            "install",
        ]
    )


def test_misspelled_hook_is_named_with_a_suggestion(session: Any) -> None:
    """A plugin with a misspelled hook fails install() naming the hook and the fix."""

    class Typo:
        botoware_name = "typo"

        def botoware_after_cal(self, call: botoware.Call) -> None:
            pass

    with pytest.raises(
        botoware.PluginError, match=r"'typo'.*botoware_after_cal.*botoware_after_call"
    ):
        botoware.install(session, plugins=[Typo()], autoload=False)


def test_wrong_argument_name_is_reported(session: Any) -> None:
    """A hook asking for an argument the hook does not have fails with the plugin's name."""

    class WrongArg:
        botoware_name = "wrong-arg"

        def botoware_after_call(self, call: botoware.Call, response: Any) -> None:
            pass

    with pytest.raises(botoware.PluginError, match=r"'wrong-arg'.*response"):
        botoware.install(session, plugins=[WrongArg()], autoload=False)


def test_non_callable_hook_is_reported(session: Any) -> None:
    """A botoware_* attribute that is not callable is named in the error."""
    plugin = types.SimpleNamespace(botoware_name="broken", botoware_after_call=42)
    with pytest.raises(botoware.PluginError, match=r"'broken'.*not callable"):
        botoware.install(session, plugins=[plugin], autoload=False)


def test_unknown_builtin_name_is_reported_with_a_suggestion(session: Any) -> None:
    """install(plugins=['tracin']) names the typo and the nearest built-in."""
    with pytest.raises(botoware.PluginError, match=r"'tracin'.*'tracing'"):
        botoware.install(session, plugins=["tracin"], autoload=False)


def test_bad_scope_is_reported(session: Any) -> None:
    """A scope that is not 'service', 'service.*' or 'service.Operation' is rejected."""
    with pytest.raises(botoware.PluginError, match="botoware_scope"):
        botoware.install(session, plugins=[Ends(scope=("S3::ListBuckets",))], autoload=False)


def test_raising_observer_is_logged_once_and_skipped(
    session: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An observer hook that raises never reaches the call; others still run; logged once."""

    class Broken:
        botoware_name = "broken-observer"

        def botoware_after_call(self, call: botoware.Call) -> None:
            raise RuntimeError("observer bug")

    ends = Ends()
    s3 = client("s3")
    with caplog.at_level(logging.DEBUG, logger="botoware"):
        with botoware.install(session, plugins=[ends, Broken()], autoload=False):
            s3.list_buckets()
            s3.list_buckets()
    assert ends.operations == ["ListBuckets", "ListBuckets"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "broken-observer" in errors[0].getMessage()
    assert "botoware_after_call" in errors[0].getMessage()
    assert errors[0].exc_info is not None


def test_scoped_plugin_sees_only_its_operations(session: Any, client: Any) -> None:
    """A plugin scoped to s3.ListBuckets never sees other operations."""
    scoped = Ends("scoped", scope=("s3.ListBuckets",))
    s3, sqs = client("s3"), client("sqs")
    with botoware.install(session, plugins=[scoped], autoload=False):
        s3.list_buckets()
        sqs.list_queues()
    assert scoped.operations == ["ListBuckets"]


def test_scoped_plugin_registers_only_the_handlers_of_its_hooks(session: Any, client: Any) -> None:
    """A scoped plugin's hooks get handlers on the unscoped events, as an unscoped one's do."""
    s3 = client("s3")
    with botoware.install(
        session, plugins=[Ends("scoped", scope=("lambda.GetPolicy",))], autoload=False
    ):
        events = {
            uid.split("-", 2)[2]
            for uid in bridge.registered_unique_ids(s3.meta.events)
            if uid.startswith("botoware-") and uid != bridge.tracked_unique_id()
        }
    assert events == {"botoware_after_call", "botoware_after_call_error"}


def test_service_wide_scope(session: Any, client: Any) -> None:
    """'sqs.*' covers every SQS operation and nothing else."""
    scoped = Ends("sqs-only", scope=("sqs.*",))
    with botoware.install(session, plugins=[scoped], autoload=False):
        client("sqs").list_queues()
        client("s3").list_buckets()
    assert scoped.operations == ["ListQueues"]


def test_empty_installation_registers_nothing(session: Any, client: Any) -> None:
    """install() with no plugins adds no handler and no wrapper to any client."""
    s3 = client("s3")
    with botoware.install(session, autoload=False):
        later = client("s3")
        for c in (s3, later):
            ids = bridge.registered_unique_ids(c.meta.events)
            assert [uid for uid in ids if uid.startswith("botoware")] == [
                bridge.tracked_unique_id()
            ]
            assert "_make_api_call" not in c.__dict__


def test_env_var_blocks_a_plugin_by_name(
    session: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BOTOWARE_DISABLE_PLUGINS=name blocks that plugin; describe() says why."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "blocked-one")
    blocked, kept = Ends("blocked-one"), Ends("kept")
    with botoware.install(session, plugins=[blocked, kept], autoload=False) as installation:
        client("s3").list_buckets()
        infos = {i.name: i for i in installation.describe()}
    assert blocked.operations == [] and kept.operations == ["ListBuckets"]
    assert infos["blocked-one"].status == "blocked"
    assert "BOTOWARE_DISABLE_PLUGINS" in (infos["blocked-one"].reason or "")


def test_env_var_with_unknown_name_fails_clearly(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown name in BOTOWARE_DISABLE_PLUGINS is a configuration error with a hint."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGINS", "metrix")
    with pytest.raises(botoware.ConfigurationError, match=r"'metrix'.*'metrics'"):
        botoware.install(session, autoload=False)


def test_bad_autoload_flag_fails_clearly(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """BOTOWARE_DISABLE_PLUGIN_AUTOLOAD must be a boolean."""
    monkeypatch.setenv("BOTOWARE_DISABLE_PLUGIN_AUTOLOAD", "maybe")
    with pytest.raises(botoware.ConfigurationError, match="BOTOWARE_DISABLE_PLUGIN_AUTOLOAD"):
        botoware.install(session)


def test_describe_lists_hooks_in_lifecycle_order(session: Any) -> None:
    """describe() gives name, source and hooks in lifecycle order, call order first."""

    class Both:
        botoware_name = "both"

        def botoware_after_call(self) -> None: ...

        def botoware_before_send(self) -> None: ...

    with botoware.install(session, plugins=[Ends("first"), Both()], autoload=False) as inst:
        infos = inst.describe()
    assert [(i.name, i.source, i.hooks) for i in infos] == [
        ("both", "passed in", ("botoware_before_send", "botoware_after_call")),
        ("first", "passed in", ("botoware_after_call",)),
    ]


def test_unmarked_and_marked_implementations_both_work(session: Any, client: Any) -> None:
    """Plain botoware_* functions and @hookimpl-marked ones are both implementations."""
    order: list[str] = []

    class Late:
        botoware_name = "late"

        @botoware.hookimpl(trylast=True)
        def botoware_after_call(self) -> None:
            order.append("late")

    class Early:
        botoware_name = "early"

        def botoware_after_call(self) -> None:
            order.append("early")

    with botoware.install(session, plugins=[Early(), Late()], autoload=False):
        client("s3").list_buckets()
    assert order == ["early", "late"]


def test_module_plugin(session: Any, client: Any) -> None:
    """A module with botoware_* functions is a plugin named after the module."""
    module = types.ModuleType("my_botoware_plugin")
    seen: list[str] = []

    def botoware_after_call(call: botoware.Call) -> None:
        seen.append(call.operation)

    module.botoware_after_call = botoware_after_call  # type: ignore[attr-defined]
    with botoware.install(session, plugins=[module], autoload=False) as inst:
        client("s3").list_buckets()
    assert seen == ["ListBuckets"] and inst.plugins == ["my_botoware_plugin"]


def test_wrapper_sees_the_result_of_the_others(session: Any) -> None:
    """A wrapper=True needs_retry implementation sees the decision of the other plugins."""
    decisions: list[Any] = []

    class Decide:
        botoware_name = "decide"

        def botoware_needs_retry(self, attempts: int) -> Any:
            return 0 if attempts < 2 else botoware.NO_RETRY

    class Watch:
        botoware_name = "watch"

        @botoware.hookimpl(wrapper=True)
        def botoware_needs_retry(self) -> Any:
            result = yield
            decisions.append(result)
            return result

    class Always500:
        botoware_name = "always-500"

        def botoware_before_send(self, request: Any) -> AWSResponse:
            return AWSResponse(
                request.url, 500, {}, _Raw(b"<Error><Code>InternalError</Code></Error>")
            )

    s3 = session.client("s3", endpoint_url="http://127.0.0.1:9")
    with botoware.install(session, plugins=[Always500(), Decide(), Watch()], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            s3.list_buckets()
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert decisions == [0, botoware.NO_RETRY]


def test_needs_retry_takes_botocore_retries_aside_and_gives_them_back(session: Any) -> None:
    """With a needs_retry plugin botocore's retry handler is off; after uninstall it is back."""

    class Never:
        botoware_name = "never"

        def botoware_needs_retry(self) -> Any:
            return botoware.NO_RETRY

    class Always500:
        botoware_name = "always-500"

        def botoware_before_send(self, request: Any) -> AWSResponse:
            return AWSResponse(
                request.url, 500, {}, _Raw(b"<Error><Code>InternalError</Code></Error>")
            )

    s3 = session.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=botocore.config.Config(retries={"mode": "legacy", "max_attempts": 2}),
    )
    errors = botoware.install(session, plugins=[Always500()], autoload=False)
    with botoware.install(session, plugins=[Never()], autoload=False):
        with pytest.raises(botocore.exceptions.ClientError) as without_retries:
            s3.list_buckets()
    with pytest.raises(botocore.exceptions.ClientError) as with_botocore:
        s3.list_buckets()
    errors.uninstall()
    assert without_retries.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert with_botocore.value.response["ResponseMetadata"]["RetryAttempts"] == 2


def test_credential_providers_join_the_chain(moto_url: str) -> None:
    """A provider offered by a plugin is placed in the chain and removed on uninstall."""
    # Keys passed to the Session outrank any chain, so this one resolves through it.
    session = boto3.Session(region_name="us-east-1")
    signed_with: list[str] = []

    class Static(botocore.credentials.CredentialProvider):  # type: ignore[misc]
        METHOD = "test-static"
        CANONICAL_NAME = "TestStatic"

        def load(self) -> botocore.credentials.Credentials:
            return botocore.credentials.Credentials("AKIDFROMPLUGIN000001", "secret-from-plugin")

    class Creds:
        botoware_name = "creds"

        def botoware_credential_providers(self, session: Any) -> list[tuple[Any, str]]:
            return [(Static(), "before:env")]

        def botoware_before_send(self, request: Any) -> None:
            signed_with.append(
                request.headers["Authorization"].decode().split("Credential=")[1][:20]
            )

    with botoware.install(session, plugins=[Creds()], autoload=False):
        resolver = session._session.get_component("credential_provider")
        assert [p.METHOD for p in resolver.providers][:2] == ["test-static", "env"]
        session.client("s3", endpoint_url=moto_url).list_buckets()
    assert signed_with == ["AKIDFROMPLUGIN000001"]
    assert "test-static" not in [p.METHOD for p in resolver.providers]


def test_bad_credential_placement_is_reported(session: Any) -> None:
    """A placement naming no provider fails install() with the known names."""

    class Bad:
        botoware_name = "bad-placement"

        def botoware_credential_providers(self) -> list[tuple[Any, str]]:
            provider = botocore.credentials.CredentialProvider()
            provider.METHOD = "bad"
            return [(provider, "before:nope")]

    with pytest.raises(botoware.PluginError, match=r"'bad-placement'.*before:nope.*env"):
        botoware.install(session, plugins=[Bad()], autoload=False)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self.body


def test_scoped_retry_plugin_leaves_other_operations_to_botocore(session: Any) -> None:
    """A needs_retry plugin scoped to one operation: the others keep botocore's retries."""

    class NeverListBuckets:
        botoware_name = "never-list-buckets"
        botoware_scope = ("s3.ListBuckets",)

        def botoware_needs_retry(self) -> Any:
            return botoware.NO_RETRY

    class Always500:
        botoware_name = "always-500"

        def botoware_before_send(self, request: Any) -> AWSResponse:
            body = b"<Error><Code>InternalError</Code></Error>"
            return AWSResponse(request.url, 500, {}, _Raw(body))

    s3 = session.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=botocore.config.Config(retries={"mode": "legacy", "max_attempts": 2}),
    )
    plugins = [Always500(), NeverListBuckets()]
    with botoware.install(session, plugins=plugins, autoload=False):
        with pytest.raises(botocore.exceptions.ClientError) as scoped:
            s3.list_buckets()
        with pytest.raises(botocore.exceptions.ClientError) as other:
            s3.list_objects_v2(Bucket="some-bucket")
    assert scoped.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert other.value.response["ResponseMetadata"]["RetryAttempts"] == 2
