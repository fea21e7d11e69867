"""Exception text without the user values it quotes: what spans and logs may hold of an error.

botocore's ``ParamValidationError`` quotes the offending parameter value, boto3's DynamoDB
serializer quotes a value it cannot serialize, ``http.client`` quotes a header value it
refuses (an S3 ``Metadata`` value, say), and services quote parameter values in validation
errors. Any of these can be a secret or a payload, and any can span lines. Here each such
message is rewritten to what it says without the value: the parameter path and the reason,
with the exception type recorded beside it as usual. Text botoware knows no rule for is left
as it is, so errors that quote nothing (connection failures, throttling, missing keys) keep
their whole message.

Only error paths come here: nothing on the per-call hot path.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botoware._lazy import Pattern

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["RedactedError", "loggable", "record", "record_client_error", "redacted"]

_LEFT_OUT = " (details left out: they may quote a parameter value)"
# How traceback.format_exception links the exceptions of a chain.
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
# Each Pattern is compiled when an error first needs it: compiling them all took a
# millisecond and a half of every ``import botoware`` (and so of every cold start).

# ---- botocore's ParamValidationError --------------------------------------------------------
# One report line per failed check (botocore/validate.py ``ValidationErrors._format_error``);
# a value may span lines, so entries are split where the next known template starts.
_VALIDATOR_STARTS = (
    "Missing required parameter in ",
    "Unknown parameter in ",
    "Invalid type for parameter ",
    "Invalid type for document parameter ",
    "Invalid value for parameter ",
    "Invalid length for parameter ",
    "Invalid parameter ",
    "Invalid number of parameters set for tagged union",
    "Must set one of the following keys for tagged union",
)
_ENTRY_SPLIT = Pattern("\n(?=" + "|".join(re.escape(s) for s in _VALIDATOR_STARTS) + ")")

_Rule = tuple[Pattern, Callable[["re.Match[str]"], str]]


def _keep(match: re.Match[str]) -> str:
    return match.group(0)


_REPORT_RULES: tuple[_Rule, ...] = (
    # Names only: kept whole.
    (Pattern(r'Missing required parameter in [^\n]*: "[^"\n]*"'), _keep),
    (Pattern(r'Unknown parameter in [^\n]*?: "[^"\n]*", must be one of: [^\n]*'), _keep),
    (Pattern(r"Invalid number of parameters set for tagged union structure [^\n]*"), _keep),
    (Pattern(r"Must set one of the following keys for tagged union ?structure [^\n]*"), _keep),
    (Pattern(r"Missing required parameter: [^\n]*"), _keep),
    (Pattern(r"Invalid value for parameter\(s\): [^\n]*\. Must contain only [^\n]*"), _keep),
    (Pattern(r"Hostnames must contain only [^\n]*"), _keep),
    (Pattern(r"AccountId is required but not set"), _keep),
    # The length of a string or list, not its content.
    (
        Pattern(r"Invalid length for parameter [^\n]*?, value: \d+, valid min length: \S+"),
        _keep,
    ),
    (
        Pattern(
            r"Invalid parameter (?P<name>[^\n]*?) must be json serializable: "
            r"(?P<why>Object of type [\w.]+ is not JSON serializable)"
        ),
        _keep,
    ),
    # Values dropped, the path and the reason kept.
    (
        Pattern(
            r"Invalid type for (?P<what>parameter|document parameter) (?P<name>[^\n]*?), "
            r"value: .*, type: (?P<type><class '[^'\n]*'>), valid types: (?P<valid>[^\n]*)",
            re.DOTALL,
        ),
        lambda m: (
            f"Invalid type for {m['what']} {m['name']}, type: {m['type']}, "
            f"valid types: {m['valid']}"
        ),
    ),
    (
        Pattern(
            r"Invalid value for parameter (?P<name>[^\n]*?), value: .*, "
            r"valid min value: (?P<min>[^\n,]*)",
            re.DOTALL,
        ),
        lambda m: f"Invalid value for parameter {m['name']}, valid min value: {m['min']}",
    ),
    (
        Pattern(r'Invalid bucket name ".*": (?P<why>Bucket name must match .*)', re.DOTALL),
        lambda m: f"Invalid bucket name: {m['why']}",
    ),
    (
        Pattern(
            r'Non ascii characters found in S3 metadata for key "(?P<key>[^"\n]*)", '
            r'value: ".*"\.\s*\nS3 metadata can only contain ASCII characters\.\s*',
            re.DOTALL,
        ),
        lambda m: (
            f'Non ascii characters found in S3 metadata for key "{m["key"]}". '
            "S3 metadata can only contain ASCII characters."
        ),
    ),
)

# ---- any exception: messages of the standard library, boto3 and botocore that quote input --
_TEXT_RULES: tuple[_Rule, ...] = (
    # http.client.putheader, wrapped by botocore's HTTPClientError.
    (
        Pattern(
            r"(?P<head>(?:An HTTP Client raised an unhandled exception: )?"
            r"Invalid header (?:value|name)) .*",
            re.DOTALL,
        ),
        lambda m: f"{m['head']} (left out: it may be a parameter value)",
    ),
    # boto3.dynamodb.types.TypeSerializer
    (
        Pattern(r'Unsupported type "(?P<type><class \'[^\'\n]*\'>)" for value ".*"', re.DOTALL),
        lambda m: f'Unsupported type "{m["type"]}" for a value (the value is left out)',
    ),
    # botocore.exceptions.ValidationError
    (
        Pattern(r"Invalid value \(.*\) for param (?P<param>.*?) of type (?P<type>\S+) ?", re.S),
        lambda m: f"Invalid value for param {m['param']} of type {m['type']}",
    ),
    # botocore.utils.parse_timestamp, int(), float(), datetime.fromisoformat()
    (
        Pattern(
            r"(?P<head>Invalid timestamp|invalid literal for \w+\(\) with base \d+|"
            r"could not convert string to float|Invalid isoformat string)\b.*",
            re.DOTALL,
        ),
        lambda m: f"{m['head']} (the value is left out)",
    ),
)

# ---- services' own validation errors --------------------------------------------------------
# "1 validation error detected: Value 'x' at 'item.name' failed to satisfy constraint: ..."
_AWS_CONSTRAINT = Pattern(
    r"at '(?P<path>[^'\n]*)' failed to satisfy constraint: (?P<why>.*?)(?=; Value |$)",
    re.DOTALL,
)
_AWS_DETECTED = Pattern(r"\d+ validation errors? detected: ")
_CUT = Pattern(r"""["']|: |, value|=""")


def _is_validation_code(code: str) -> bool:
    return (
        "Validation" in code
        or code.startswith(("Invalid", "Malformed"))
        or code in ("SerializationException", "BadRequestException", "BadRequest")
    )


def _cut(text: str) -> str:
    """The first line of ``text`` up to the first quote, ``": "`` or ``=``: the reason."""
    line = text.split("\n", 1)[0]
    found = _CUT.search(line)
    if found is None and line == text:
        return text
    head = (line[: found.start()] if found else line).rstrip(" ,.:;")
    return head + _LEFT_OUT


def _apply(rules: tuple[_Rule, ...], text: str) -> str | None:
    for pattern, rewrite in rules:
        match = pattern.fullmatch(text)
        if match is not None:
            return rewrite(match)
    return None


def _validation_report(report: str) -> str:
    starts = report.startswith(_VALIDATOR_STARTS)
    entries = _ENTRY_SPLIT.split(report) if starts else [report]
    return "\n".join(_apply(_REPORT_RULES, entry) or _cut(entry) for entry in entries)


def _service_message(message: str) -> str:
    detected = _AWS_DETECTED.match(message)
    if detected is not None:
        found = [
            f"Value at '{m['path']}' failed to satisfy constraint: {m['why']}"
            for m in _AWS_CONSTRAINT.finditer(message, detected.end())
        ]
        if found:
            return message[: detected.end()] + "; ".join(found)
    return _cut(message)


def redacted(exception: BaseException) -> str | None:
    """``str(exception)`` without the user values it quotes; None when it quotes none known.

    Only the exception itself: :func:`record` and :func:`loggable` also cover its chain.
    """
    from botocore.exceptions import ClientError, ParamValidationError

    if isinstance(exception, ParamValidationError):
        report = exception.kwargs.get("report")
        if not isinstance(report, str):
            return "Parameter validation failed" + _LEFT_OUT
        return "Parameter validation failed:\n" + _validation_report(report)
    if isinstance(exception, ClientError):
        error = exception.response.get("Error")
        code = error.get("Code") if isinstance(error, Mapping) else None
        message = error.get("Message") if isinstance(error, Mapping) else None
        if not (isinstance(code, str) and isinstance(message, str) and message):
            return None
        if not _is_validation_code(code):
            return None
        safe = _service_message(message)
        return None if safe == message else str(exception).replace(message, safe)
    return _apply(_TEXT_RULES, str(exception))


def _chain(exception: BaseException) -> Iterator[tuple[BaseException, str | None]]:
    """The exception, then its cause or context, and so on: each with how it links on."""
    seen: set[int] = set()
    current: BaseException | None = exception
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__cause__ is not None:
            yield current, _CAUSE
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            yield current, _CONTEXT
            current = current.__context__
        else:
            yield current, None
            current = None


def _type_name(cls: type[BaseException]) -> str:
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _messages(exception: BaseException) -> list[tuple[BaseException, str | None, str]] | None:
    """Each exception of the chain with its link and its safe message; None if all are safe."""
    rows: list[tuple[BaseException, str | None, str]] = []
    changed = False
    for item, link in _chain(exception):
        safe = redacted(item)
        changed = changed or safe is not None
        rows.append((item, link, str(item) if safe is None else safe))
    return rows if changed else None


def _stacktrace(rows: list[tuple[BaseException, str | None, str]]) -> str:
    """What ``traceback.format_exception`` prints, with the safe messages."""
    parts: list[str] = []
    for item, link, message in reversed(rows):
        if link is not None:
            parts.append(link)
        if item.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(item.__traceback__))
        name = _type_name(type(item))
        parts.append(f"{name}: {message}\n" if message else f"{name}\n")
        notes = getattr(item, "__notes__", None)
        if isinstance(notes, list):  # add_note() text is the adder's, quoted as Python does
            parts.extend(f"{note}\n" for note in notes if isinstance(note, str))
    return "".join(parts)


def record(span: Span, exception: BaseException) -> None:
    """``span.record_exception(exception)``, with the values its chain quotes left out."""
    rows = _messages(exception)
    if rows is None:
        span.record_exception(exception)
        return
    attributes = {"exception.message": rows[0][2], "exception.stacktrace": _stacktrace(rows)}
    span.record_exception(exception, attributes)


def record_client_error(span: Span, parsed: dict[str, Any], operation: str) -> None:
    """Record the ``ClientError`` botocore raises for an error response ``parsed``."""
    from botocore.exceptions import ClientError

    record(span, ClientError(parsed, operation))  # type: ignore[arg-type]


class RedactedError(Exception):
    """Stands in for an exception in botoware's logs when its text quotes user values.

    Its message is the original's type and safe message; its traceback is the original's.
    """


def loggable(exception: BaseException | None) -> BaseException | bool:
    """What to pass as ``exc_info`` to log ``exception`` without the values it quotes.

    The exception itself when nothing in its chain quotes a value, else a chain of
    :class:`RedactedError` with the same tracebacks. None (no exception) gives True, so
    logging looks up the one being handled.
    """
    if exception is None:
        return True
    rows = _messages(exception)
    if rows is None:
        return exception
    stand_ins = [
        RedactedError(f"{_type_name(type(item))}: {message}").with_traceback(item.__traceback__)
        for item, _, message in rows
    ]
    for (_, link, _), outer, inner in zip(rows, stand_ins, stand_ins[1:], strict=False):
        if link is _CAUSE:
            outer.__cause__ = inner
        else:
            outer.__context__ = inner
    for stand_in in stand_ins:
        stand_in.__suppress_context__ = stand_in.__cause__ is not None
    return stand_ins[0]
