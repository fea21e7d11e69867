"""Test helpers for code that uses botoware, and for botoware itself.

- :class:`Recorder` records every hook call for assertions.
- :class:`Canned` answers chosen operations at ``before_send`` with real wire-format
  responses (:func:`response_for`, :func:`error_response`), so real clients serialize,
  sign, retry, parse and run every hook with no network.
- :class:`Faults` injects throttling, 5xx, connection errors, read timeouts and latency
  per attempt, by sequence or seeded probability.

Imports neither moto nor the OpenTelemetry SDK.
"""

from botoware.testing._canned import Answer, Canned, Reply, UnansweredCall, UnexpectedParams, reply
from botoware.testing._cassette import (
    MODES,
    REDACTED,
    SECRET_FIELDS,
    Cassette,
    Mode,
    UnrecordedCall,
)
from botoware.testing._faults import (
    AWSError,
    Fault,
    Faults,
    Injection,
    Rule,
    connection_error,
    error,
    latency,
    read_timeout,
    server_error,
    throttle,
    throttling_error_for,
)
from botoware.testing._recorder import Event, Recorder
from botoware.testing._wire import (
    WireResponse,
    error_response,
    response_for,
    wire_error,
    wire_response,
)

__all__ = [
    "MODES",
    "REDACTED",
    "SECRET_FIELDS",
    "AWSError",
    "Answer",
    "Canned",
    "Cassette",
    "Event",
    "Fault",
    "Faults",
    "Injection",
    "Mode",
    "Recorder",
    "Reply",
    "Rule",
    "UnansweredCall",
    "UnexpectedParams",
    "UnrecordedCall",
    "WireResponse",
    "connection_error",
    "error",
    "error_response",
    "latency",
    "read_timeout",
    "reply",
    "response_for",
    "server_error",
    "throttle",
    "throttling_error_for",
    "wire_error",
    "wire_response",
]
