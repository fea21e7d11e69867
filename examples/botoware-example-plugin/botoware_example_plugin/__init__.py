"""An example botoware plugin distribution: one log line per AWS call.

Installed, it is found through its entry point (group ``botoware``, name ``call-log``)::

    [project.entry-points.botoware]
    call-log = "botoware_example_plugin:CallLog"

botoware instantiates the class with no arguments and registers it as ``"call-log"``; the
``botoware_name`` below only matters when the class is passed to ``install()`` by hand.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import botoware

__all__ = ["CallLog"]

logger = logging.getLogger("botoware_example_plugin")


class CallLog:
    """Logs every AWS call at INFO: operation, outcome, attempts, duration, request id.

    Never parameters or responses: they may hold secrets and payloads.
    """

    botoware_name = "call-log"

    def botoware_after_call(self, call: botoware.Call, parsed: dict[str, Any]) -> None:
        metadata = parsed.get("ResponseMetadata", {})
        error = parsed.get("Error", {}).get("Code")
        self._log(call, error or "ok", metadata.get("RequestId", "-"))

    def botoware_after_call_error(self, call: botoware.Call, exception: BaseException) -> None:
        self._log(call, type(exception).__name__, "-")

    def _log(self, call: botoware.Call, outcome: str, request_id: str) -> None:
        logger.info(
            "%s.%s %s attempts=%d %.1fms request_id=%s",
            call.service_id,
            call.operation,
            outcome,
            call.attempt,
            (time.monotonic() - call.started) * 1000,
            request_id,
        )
