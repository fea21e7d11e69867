"""The session's credential chain: where plugins' providers join it and leave it."""

from __future__ import annotations

from typing import Any

from botoware.errors import PluginError
from botoware.hooks.bridge.sessions import is_async_session


def place_provider(session: Any, provider: Any, placement: str, plugin: str) -> None:
    """Put ``provider`` into the session's chain at ``placement`` (see the hook's docs)."""
    resolver = session.get_component("credential_provider")
    names = [p.METHOD for p in resolver.providers]
    if not getattr(provider, "METHOD", None) or provider.METHOD in names:
        raise PluginError(
            f"plugin {plugin!r} offered credential provider {provider!r} whose METHOD "
            f"{getattr(provider, 'METHOD', None)!r} is missing or already in the chain {names}."
        )
    kind, _, anchor = placement.partition(":")
    if not (placement in ("first", "last") or (kind in ("before", "after") and anchor in names)):
        raise PluginError(
            f"plugin {plugin!r} placed a credential provider at {placement!r}; use 'first', "
            f"'last', 'before:NAME' or 'after:NAME' with NAME one of {names}."
        )
    if is_async_session(session):
        from botoware.hooks.bridge import aio

        provider = aio.adapt_provider(provider)
    if placement == "first":
        resolver.providers.insert(0, provider)
    elif placement == "last":
        resolver.providers.append(provider)
    else:
        (resolver.insert_before if kind == "before" else resolver.insert_after)(anchor, provider)


def remove_providers(session: Any, methods: list[str]) -> None:
    resolver = session.get_component("credential_provider")
    for method in methods:
        resolver.remove(method)


def forget_credentials(session: Any) -> None:
    """Drop credentials resolved from the old chain; the next client resolves from the new one.

    Keys the user set on the session (``boto3.Session(aws_access_key_id=...)``, botocore's
    ``set_credentials``) outrank every chain, so they stay.
    """
    credentials = session._credentials
    if credentials is not None and getattr(credentials, "method", None) != "explicit":
        session._credentials = None
