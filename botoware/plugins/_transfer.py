"""S3 managed transfers: the caller's trace context into s3transfer's worker threads.

``upload_file``, ``download_file``, ``upload_fileobj``, ``download_fileobj`` and ``copy``
make their API calls (``CreateMultipartUpload``, ``UploadPart``, ranged ``GetObject``, ...)
in s3transfer's thread pools, where no OpenTelemetry context is current: each part would
be a root span of its own trace. s3transfer hands botocore's own per-call context
(``botocore.context``, a context variable it copies into every task it submits) to those
threads; the transfer methods of a traced S3 client put the caller's OpenTelemetry context
into it, and the tracing plugin reads it back in the worker.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, final

from opentelemetry import context as otel_context

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from opentelemetry.context import Context

__all__ = ["carry_context_into_transfers", "transfer_context"]

logger = logging.getLogger(__name__)

_METHODS = ("upload_file", "download_file", "upload_fileobj", "download_fileobj", "copy")
_ATTRIBUTE = "botoware_trace_context"  # on botocore's ClientContext
_WRAPPED = "__botoware_carries_context__"

try:
    from botocore.context import get_context, start_as_current_context
except ImportError:  # botocore before 1.36 has no per-call context: transfers stay orphans
    get_context = None  # type: ignore[assignment]
    start_as_current_context = None  # type: ignore[assignment]


@final
class _Carried:
    """The caller's context; the same object in every copy s3transfer makes for a thread."""

    __slots__ = ("context",)

    def __init__(self, context: Context) -> None:
        self.context = context

    def __copy__(self) -> _Carried:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Carried:
        return self  # never copy the context (and its spans) itself


def carry_context_into_transfers(client: BaseClient) -> None:
    """Wrap ``client``'s managed-transfer methods so their worker threads see the context."""
    if start_as_current_context is None:
        return
    for name in _METHODS:
        method = getattr(client, name, None)
        if method is None or getattr(method, _WRAPPED, False):
            continue
        setattr(client, name, _carrying(method))


def _carrying(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def transfer(*args: Any, **kwargs: Any) -> Any:
        with start_as_current_context():
            carrier = get_context()
            if carrier is not None:
                setattr(carrier, _ATTRIBUTE, _Carried(otel_context.get_current()))
            return method(*args, **kwargs)

    setattr(transfer, _WRAPPED, True)
    return transfer


def transfer_context() -> Context | None:
    """The context current where the managed transfer running this call was started."""
    if get_context is None:
        return None
    carried = getattr(get_context(), _ATTRIBUTE, None)
    return carried.context if isinstance(carried, _Carried) else None
