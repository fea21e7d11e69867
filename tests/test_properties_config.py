"""Property-based tests of configuration: any input is accepted or fails with a named error.

Whatever values a user passes to ``RetryPolicy``/``RetryBudget``/``CircuitBreaker``, to
``install(plugins=...)`` or in the ``BOTOWARE_*`` environment variables, botoware either
accepts them or raises its own error (``ConfigurationError``/``PluginError``) — never a bare
``TypeError`` or ``OverflowError`` from deep inside — and an accepted policy only ever picks
finite delays within its cap.
"""

from __future__ import annotations

import os
import random
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import botoware
from botoware.plugins.retry import CircuitBreaker, RetryBudget, RetryPolicy

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# install() costs milliseconds (it reads every distribution's entry points): fewer examples.
INSTALL_SETTINGS = settings(SETTINGS, max_examples=100)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.text(max_size=6),
)
anything = st.one_of(
    scalars,
    st.lists(st.one_of(scalars, st.lists(st.integers(), max_size=2)), max_size=3),
    st.frozensets(st.one_of(st.integers(390, 610), st.text(max_size=6)), max_size=3),
    st.dictionaries(st.text(max_size=12), scalars, max_size=2),
)


def _maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values, sometimes anything at all."""
    return st.one_of(valid, valid, anything)


budgets = st.builds(
    dict,
    capacity=_maybe(st.integers(0, 1000)),
    retry_cost=_maybe(st.integers(0, 20)),
    timeout_cost=_maybe(st.integers(0, 20)),
    success_refill=_maybe(st.integers(0, 5)),
)
breakers = st.builds(
    dict,
    failure_threshold=_maybe(st.integers(0, 10)),
    cooldown=_maybe(st.floats(0, 100)),
)
policies = st.builds(
    dict,
    max_attempts=_maybe(st.integers(0, 10)),
    backoff=_maybe(st.sampled_from(["full", "decorrelated"])),
    base=_maybe(st.floats(0, 5)),
    cap=_maybe(st.floats(0, 50)),
    retry_codes=_maybe(st.frozensets(st.sampled_from(["SlowDown", "Busy", "X"]))),
    no_retry_codes=_maybe(st.frozensets(st.sampled_from(["Throttling", "X"]))),
    retry_statuses=_maybe(st.frozensets(st.integers(400, 599), max_size=3)),
    connection_errors=_maybe(st.booleans()),
    read_timeouts=_maybe(st.booleans()),
    overrides=_maybe(
        st.dictionaries(
            st.sampled_from(["s3", "dynamodb", "s3.GetObject", "S3", "s3.get"]),
            st.just(RetryPolicy(max_attempts=2)),
            max_size=2,
        )
    ),
)


def _build(factory: Any, kwargs: dict[str, Any]) -> Any:
    try:
        return factory(**kwargs)
    except botoware.ConfigurationError as exc:
        assert str(exc)  # a message, naming the setting
        return None


@SETTINGS
@given(budgets)
def test_retry_budget_accepts_or_names_the_setting(kwargs: dict[str, Any]) -> None:
    """RetryBudget(...) with any values builds or raises ConfigurationError."""
    _build(RetryBudget, kwargs)


@SETTINGS
@given(breakers)
def test_circuit_breaker_accepts_or_names_the_setting(kwargs: dict[str, Any]) -> None:
    """CircuitBreaker(...) with any values builds or raises ConfigurationError."""
    _build(CircuitBreaker, kwargs)


@pytest.mark.parametrize("build", [CircuitBreaker, RetryPolicy], ids=["breaker", "policy"])
def test_huge_integer_seconds_are_a_configuration_error(build: Any) -> None:
    """Seconds too large for a float are refused with ConfigurationError, not OverflowError."""
    field = "cooldown" if build is CircuitBreaker else "cap"
    with pytest.raises(botoware.ConfigurationError):
        build(**{field: 10**400})


@SETTINGS
@given(policies, st.integers(0, 2**32))
def test_retry_policy_accepts_or_names_the_setting(kwargs: dict[str, Any], seed: int) -> None:
    """RetryPolicy(...) builds or raises ConfigurationError; a built one picks sane delays."""
    policy = _build(RetryPolicy, kwargs)
    if policy is None:
        return
    rng = random.Random(seed)
    previous: float | None = None
    for attempt in range(1, policy.max_attempts + 3):
        delay = policy.delay(attempt, rng, previous)
        assert 0.0 <= delay <= policy.cap, (attempt, delay)
        previous = delay


# -------------------------------------------------------------------------------------------
# install() and the environment
# -------------------------------------------------------------------------------------------


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def offline_session() -> boto3.Session:
    """One session for every example; nothing is installed on it for long."""
    return boto3.Session(
        aws_access_key_id="AKIDCONFIGPROPERTY01",
        aws_secret_access_key="config-property-secret-not-real-000000",
        region_name="us-east-1",
    )


env_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
names = st.one_of(
    st.sampled_from(["tracing", "metrics", "policies", "retry", "credentials", "fuzzed"]),
    env_text,
)


@INSTALL_SETTINGS
@given(
    disable=st.one_of(st.none(), st.lists(names, max_size=3).map(",".join), env_text),
    no_autoload=st.one_of(st.none(), st.sampled_from(["1", "0", "true", "off", "maybe", " "])),
)
def test_environment_is_accepted_or_named(
    offline_session: boto3.Session, disable: str | None, no_autoload: str | None
) -> None:
    """Any BOTOWARE_DISABLE_PLUGINS/..._AUTOLOAD value installs or fails naming the variable."""
    plugin = types.SimpleNamespace(botoware_name="fuzzed", botoware_after_call=lambda: None)
    env = {"BOTOWARE_DISABLE_PLUGINS": disable, "BOTOWARE_DISABLE_PLUGIN_AUTOLOAD": no_autoload}
    with _environment(env):
        try:
            botoware.install(offline_session, plugins=[plugin], autoload=False).uninstall()
        except botoware.ConfigurationError as exc:
            assert "BOTOWARE_DISABLE_PLUGIN" in str(exc)


hook_values = st.one_of(
    st.just(lambda: None),
    st.just(lambda call: None),
    st.just(lambda call, nonsense: None),
    anything,
)


@INSTALL_SETTINGS
@given(
    name=st.one_of(st.none(), anything),
    scope=st.one_of(st.none(), anything, st.lists(st.text(max_size=10), max_size=2)),
    hook_name=st.sampled_from(["botoware_after_call", "botoware_after_cal", "botoware_x"]),
    hook=hook_values,
)
def test_any_plugin_object_installs_or_fails_with_plugin_error(
    offline_session: boto3.Session, name: Any, scope: Any, hook_name: str, hook: Any
) -> None:
    """A plugin object with arbitrary name, scope and hook installs or raises PluginError."""
    attrs: dict[str, Any] = {hook_name: hook}
    if name is not None:
        attrs["botoware_name"] = name
    if scope is not None:
        attrs["botoware_scope"] = scope
    plugin = types.SimpleNamespace(**attrs)
    try:
        botoware.install(offline_session, plugins=[plugin], autoload=False).uninstall()
    except botoware.PluginError as exc:
        assert str(exc)
