"""Sessions: what ``install()`` accepts, and how it reaches sessions created later."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import boto3
import botocore
import botocore.session


def botocore_session(session: object) -> botocore.session.Session:
    """The botocore (or aiobotocore) session behind a boto3/aioboto3/botocore session."""
    # aioboto3.Session subclasses boto3.Session; aiobotocore's AioSession subclasses botocore's.
    if isinstance(session, boto3.Session):
        return session._session
    if isinstance(session, botocore.session.Session):
        return session
    raise TypeError(
        "botoware.install() takes a boto3.Session, a botocore.session.Session, an aioboto3 "
        "Session, an aiobotocore AioSession or None, "
        f"not {type(session).__name__}."
    )


def is_async_session(session: object) -> bool:
    module = sys.modules.get("aiobotocore.session")
    return module is not None and isinstance(session, module.AioSession)


def on_new_sessions(callback: Callable[[botocore.session.Session], None]) -> None:
    """Run ``callback`` for every botocore session created from now on (AioSessions too)."""
    botocore.register_initializer(callback)


def off_new_sessions(callback: Callable[[botocore.session.Session], None]) -> None:
    botocore.unregister_initializer(callback)


def default_session() -> botocore.session.Session | None:
    """boto3's default session's botocore session, created if needed by ``setup``."""
    default: Any = boto3.DEFAULT_SESSION
    return None if default is None else default._session


def create_default_session() -> None:
    boto3.setup_default_session()
