"""Credentials from a JSON file another process keeps fresh: the ``"credentials"`` built-in.

A secrets agent or sidecar writes short-lived keys to a file; every client of the session
signs with them and re-reads the file before they expire::

    creds = JsonFileCredentials("/run/secrets/aws.json")
    with botoware.install(session, plugins=[creds], autoload=False):
        s3 = session.client("s3")  # signs with the file's keys, refreshed before Expiration

The file holds ``{"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}``, the
output of an AWS ``credential_process`` (``"Version": 1``) or the container-credentials
format (``"Token"`` for the session token). The provider joins the session's botocore
credential chain; botocore's ``RefreshableCredentials`` does the thread-safe refreshing.

Each load and refresh is a span (``botoware.credentials load`` / ``... refresh``) and
counts in ``aws_credentials_refreshes_total{provider,outcome}``; neither ever carries key
material, nor do the errors and logs, which name the file and what is wrong with it.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import stat
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from botocore.credentials import CredentialProvider, Credentials, RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import REGISTRY, CollectorRegistry, Counter

from botoware.errors import BotowareError, ConfigurationError

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession
    from opentelemetry.trace import TracerProvider

__all__ = [
    "DEFAULT_METHOD",
    "ENV_VAR",
    "CredentialsFileError",
    "JsonFileCredentials",
    "JsonFileProvider",
    "plugin",
]

logger = logging.getLogger(__name__)

DEFAULT_METHOD = "botoware-json-file"
"""The provider's name in the credential chain (``Credentials.method``) and metric label."""

ENV_VAR = "BOTOWARE_CREDENTIALS_FILE"
"""Where the ``"credentials"`` built-in finds the path of its file."""

METRIC = "aws_credentials_refreshes"
SPAN_PREFIX = "botoware.credentials"
ATTR_PROVIDER = "botoware.credentials.provider"
ATTR_OUTCOME = "botoware.credentials.outcome"
SUCCESS, ERROR, ABSENT = "success", "error", "absent"

_PLACEMENT_KINDS = ("first", "last")


class CredentialsFileError(BotowareError, CredentialRetrievalError):
    """The credentials file is missing, unreadable or malformed.

    Also a botocore ``CredentialRetrievalError``, so code that handles botocore's
    credential errors handles this one. The message names the file and the problem, never
    the file's content.

    :ivar path: the file.
    :ivar problem: what is wrong with it.
    """

    fmt = "{error_msg}"

    def __init__(self, path: Path | str, problem: str, provider: str = DEFAULT_METHOD) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(provider=provider, error_msg=f"credentials file {path} {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.problem, self.kwargs["provider"])


class _Missing(Exception):
    """The file does not exist (a separate case: ``required=False`` passes on it)."""


class _Problem(Exception):
    """What is wrong with the file, in words for :class:`CredentialsFileError`."""


# -------------------------------------------------------------------------------------------
# Reading the file
# -------------------------------------------------------------------------------------------


_EXAMPLE_EXPIRATION = "2030-01-01T00:00:00Z"
_MAX_BYTES = 64 * 1024  # a credentials file holds a few hundred bytes
_KEY_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Token")


def _kind(value: object) -> str:
    """What a JSON value is, in JSON's words (never the value itself: it may be a key)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _a(field: str) -> str:
    return f"an {field}" if field[0] in "AEIOU" else f"a {field}"


def _read_text(path: Path) -> str:
    """The file's text; raises _Missing, or _Problem naming what is wrong."""
    problem: str | None = None
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise _Missing from None
    except OSError as exc:
        problem = f"cannot be read: {exc.strerror or type(exc).__name__}"
    else:
        if stat.S_ISDIR(mode):
            problem = "is a directory; expected a JSON file"
        elif not stat.S_ISREG(mode):
            problem = "is not a regular file (a FIFO, socket or device); expected a JSON file"
    if problem is None:
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_BYTES + 1)
        except FileNotFoundError:  # replaced between stat() and open()
            raise _Missing from None
        except OSError as exc:
            problem = f"cannot be read: {exc.strerror or type(exc).__name__}"
        else:
            if len(raw) > _MAX_BYTES:
                problem = f"is larger than {_MAX_BYTES} bytes; expected a small JSON document"
            else:
                try:
                    return raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    problem = "is not UTF-8 text"
    raise _Problem(problem)


def _expiry(value: object) -> datetime.datetime:
    """The Expiration as an aware UTC datetime; raises _Problem saying what is wrong."""
    expected = f'expected an ISO 8601 timestamp such as "{_EXAMPLE_EXPIRATION}"'
    if not isinstance(value, str):
        raise _Problem(f"has an Expiration that is a JSON {_kind(value)}; {expected}")
    if not value.strip():
        raise _Problem(f"has an empty Expiration; {expected}")
    text = value.strip()
    if text[-1:] in ("Z", "z"):  # datetime.fromisoformat reads "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    problem: str | None = None
    try:
        parsed = datetime.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.astimezone(datetime.timezone.utc)
    except ValueError:
        problem = "has an Expiration botoware cannot read as ISO 8601"
    except OverflowError:
        problem = "has an Expiration that is out of range in UTC (years 1 to 9999)"
    raise _Problem(f"{problem}; {expected} (UTC when it has no offset)")


def _key(data: dict[str, Any], field: str, *, required: bool) -> str | None:
    """A key field's value: a non-empty string of printable ASCII, as AWS issues them."""
    value = data.get(field)
    expected = "expected a non-empty string"
    if value is None:
        if required:
            raise _Problem(f"has no {field}; {expected}")
        return None
    if not isinstance(value, str):
        raise _Problem(f"has {_a(field)} that is a JSON {_kind(value)}; {expected}")
    if not value:
        raise _Problem(f"has an empty {field}; {expected}")
    if not (value.isascii() and value.isprintable()) or any(c.isspace() for c in value):
        # It would go into HTTP headers, where the request would fail quoting it.
        raise _Problem(
            f"has {_a(field)} holding a space, line break, control or non-ASCII character; "
            "expected the key exactly as AWS issued it"
        )
    return value


def _fields(data: Any) -> dict[str, Any]:
    """Check the document's fields; raises _Problem saying which is wrong and what fits."""
    if not isinstance(data, dict):
        raise _Problem(
            f"holds a JSON {_kind(data)}; expected an object with AccessKeyId and SecretAccessKey"
        )
    if "Version" in data:
        version = data["Version"]
        if _kind(version) == "number" and version == 1:
            pass
        elif _kind(version) == "number":
            raise _Problem(
                f"has Version {version}; expected 1, the only credential_process format "
                "botoware knows"
            )
        else:
            raise _Problem(f"has a Version that is a JSON {_kind(version)}; expected 1")
    # "Token" is the container-credentials spelling of "SessionToken".
    token_field = "SessionToken" if data.get("SessionToken") is not None else "Token"
    keys: dict[str, Any] = {
        "access_key": _key(data, "AccessKeyId", required=True),
        "secret_key": _key(data, "SecretAccessKey", required=True),
        "token": _key(data, token_field, required=False),
    }
    account = data.get("AccountId")
    if account is not None and not (
        isinstance(account, str) and len(account) == 12 and account.isdigit()
    ):
        described = f"a JSON {_kind(account)}" if not isinstance(account, str) else "not 12 digits"
        raise _Problem(
            f"has an AccountId that is {described}; expected the 12 digits of an AWS account "
            'id as a string, such as "123456789012"'
        )
    keys["account_id"] = account
    return keys


def _read_file(path: Path, now: datetime.datetime, method: str) -> dict[str, Any]:
    """Parse one credentials file into botocore's refresh metadata.

    :return: ``{"access_key", "secret_key", "token", "expiry_time", "account_id"}``;
        ``expiry_time`` is an ISO 8601 string, or None when the file has no ``Expiration``.
    :raises CredentialsFileError: unreadable, not JSON, a missing or mistyped field,
        an unknown ``Version``, or credentials that have expired already. The message names
        the file, the field and what it should hold, never a value of the file.
    """
    try:
        return _parse(path, now)
    except _Problem as exc:
        raise CredentialsFileError(path, str(exc), method) from None


def _parse(path: Path, now: datetime.datetime) -> dict[str, Any]:
    text = _read_text(path)
    # Problems are raised outside the ``except`` blocks so that no exception holding the
    # file's text (JSONDecodeError keeps the whole document) rides along as __context__.
    problem: str | None = None
    data: Any = None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        problem = "is not valid JSON botoware can read: it nests arrays or objects too deeply"
    except ValueError:  # an integer past sys.get_int_max_str_digits()
        problem = "is not valid JSON botoware can read: it holds a number with too many digits"
    del text
    if problem is not None:
        raise _Problem(problem)
    keys = _fields(data)
    keys["expiry_time"] = None
    if data.get("Expiration") is not None:
        expiry = _expiry(data["Expiration"])
        if expiry <= now:
            raise _Problem(
                f"holds credentials that expired at {expiry.isoformat()}; whatever writes the "
                "file has not refreshed it"
            )
        keys["expiry_time"] = expiry.isoformat()
    return keys


# -------------------------------------------------------------------------------------------
# Telemetry without key material
# -------------------------------------------------------------------------------------------

_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def _refresh_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry, however many plugins are built on it."""
    with _COUNTERS_LOCK:
        counter = _COUNTERS.get(registry)
        if counter is None:
            try:
                counter = Counter(
                    METRIC,
                    "Credential loads and refreshes by botoware credential providers.",
                    ("provider", "outcome"),
                    registry=registry,
                )
            except ValueError:
                raise ConfigurationError(
                    f"the registry already has a metric named {METRIC}_total that botoware "
                    "did not create; pass JsonFileCredentials(registry=...) another registry."
                ) from None
            _COUNTERS[registry] = counter
        return counter


@final
class _Outcome:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = SUCCESS


@final
class _Telemetry:
    """A span and a count per load or refresh; attributes: provider name and outcome only."""

    __slots__ = ("_counter", "_method", "_tracer")

    def __init__(
        self, method: str, tracer_provider: TracerProvider | None, registry: CollectorRegistry
    ) -> None:
        from botoware import __version__

        self._method = method
        self._tracer = trace.get_tracer("botoware", __version__, tracer_provider=tracer_provider)
        self._counter = _refresh_counter(registry)
        for outcome in (SUCCESS, ERROR):
            self._counter.labels(method, outcome)

    @contextmanager
    def observe(self, kind: str) -> Iterator[_Outcome]:
        outcome = _Outcome()
        with self._tracer.start_as_current_span(
            f"{SPAN_PREFIX} {kind}",
            kind=SpanKind.INTERNAL,
            attributes={ATTR_PROVIDER: self._method},
            # An exception event would carry a message and a stack; the outcome is enough.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield outcome
            except BaseException:
                outcome.value = ERROR
                raise
            finally:
                span.set_attribute(ATTR_OUTCOME, outcome.value)
                if outcome.value == ERROR:
                    span.set_status(Status(StatusCode.ERROR))
                self._counter.labels(self._method, outcome.value).inc()


# -------------------------------------------------------------------------------------------
# The provider and the plugin
# -------------------------------------------------------------------------------------------


def _local_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class JsonFileProvider(CredentialProvider):
    """A botocore credential provider reading a JSON credentials file.

    Built by :class:`JsonFileCredentials`; use it directly only to place it in a
    resolver yourself. ``load()`` returns botocore ``RefreshableCredentials`` that re-read
    the file before ``Expiration`` (plain ``Credentials`` for a file without one), or None
    when the file does not exist and ``required`` is false.
    """

    CANONICAL_NAME = "CustomBotowareJsonFile"

    def __init__(
        self,
        path: Path,
        *,
        method: str = DEFAULT_METHOD,
        required: bool = True,
        refresh_margin: float = 300.0,
        telemetry: _Telemetry | None = None,
        now: Callable[[], datetime.datetime] = _local_now,
    ) -> None:
        super().__init__()
        self.METHOD = self._method = method
        self.path = path
        self.required = required
        self.refresh_margin = refresh_margin
        self._telemetry = telemetry
        self._now = now

    def __repr__(self) -> str:
        return f"<JsonFileProvider {self.METHOD} {self.path}>"

    def load(self) -> Credentials | None:
        with self._observe("load") as outcome:
            try:
                keys = self._read()
            except _Missing:
                if self.required:
                    raise CredentialsFileError(
                        self.path,
                        "does not exist (the plugin is required=True, so botoware does not "
                        "fall back to other credentials)",
                        self._method,
                    ) from None
                outcome.value = ABSENT
                logger.debug("credentials file %s does not exist; passing", self.path)
                return None
            except CredentialsFileError as exc:
                if self.required:
                    raise
                outcome.value = ERROR
                logger.warning("%s; falling back to the rest of the chain (required=False)", exc)
                return None
        if keys["expiry_time"] is None:
            return Credentials(
                keys["access_key"],
                keys["secret_key"],
                keys["token"],
                method=self._method,
                account_id=keys.get("account_id"),
            )
        # botocore compares seconds; its annotations say int, fractions work as well.
        timeouts: dict[str, Any] = {
            "advisory_timeout": self.refresh_margin,
            "mandatory_timeout": self.refresh_margin / 2,
        }
        return RefreshableCredentials(
            keys["access_key"],
            keys["secret_key"],
            keys["token"],
            datetime.datetime.fromisoformat(keys["expiry_time"]),
            refresh_using=self._refresh,
            method=self._method,
            time_fetcher=self._now,
            account_id=keys.get("account_id"),
            **timeouts,
        )

    def _refresh(self) -> dict[str, Any]:
        with self._observe("refresh"):
            try:
                keys = self._read()
            except _Missing:
                raise CredentialsFileError(self.path, "does not exist", self._method) from None
            if keys["expiry_time"] is None:
                raise CredentialsFileError(
                    self.path,
                    "has no Expiration; it had one before, and refreshable credentials need one",
                    self._method,
                )
            return keys

    def _read(self) -> dict[str, Any]:
        return _read_file(self.path, self._now(), self._method)

    @contextmanager
    def _observe(self, kind: str) -> Iterator[_Outcome]:
        if self._telemetry is None:
            yield _Outcome()
        else:
            with self._telemetry.observe(kind) as outcome:
                yield outcome


def _is_seconds(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:  # an int beyond float range
        return False


def _check_placement(placement: object) -> str:
    if isinstance(placement, str):
        kind, colon, anchor = placement.partition(":")
        if placement in _PLACEMENT_KINDS or (kind in ("before", "after") and colon and anchor):
            return placement
    raise ConfigurationError(
        f"JsonFileCredentials(placement={placement!r}): use 'first', 'last', 'before:NAME' or "
        "'after:NAME' with NAME a botocore provider such as 'env' or 'shared-credentials-file'."
    )


@final
class JsonFileCredentials:
    """Plugin: put a :class:`JsonFileProvider` in the credential chain of each session.

    :param path: the JSON file (``~`` is expanded; relative paths are taken from the
        working directory at construction).
    :param placement: where in botocore's chain: ``"first"`` (default: the file wins over
        environment variables and profiles), ``"last"``, ``"before:NAME"``, ``"after:NAME"``.
    :param required: True: a missing, unreadable or malformed file is an error naming the
        file, never a fallback to other credentials. False: a missing file passes quietly and
        a broken one with a warning, and the rest of the chain is asked.
    :param refresh_margin: seconds before ``Expiration`` from which the file is re-read. For
        the first half of the margin a failed re-read is logged and the current keys stay in
        use; in the last half it fails the calls that need credentials.
    :param method: the provider's name in the chain and in telemetry; change it to put two
        files in one chain.
    :param tracer_provider: for the load/refresh spans; the global one if None.
    :param registry: for ``aws_credentials_refreshes_total``; prometheus_client's
        ``REGISTRY`` if None.
    :param now: the current time as an aware datetime (tests move it to expire credentials).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        placement: str = "first",
        required: bool = True,
        refresh_margin: float = 300.0,
        method: str = DEFAULT_METHOD,
        tracer_provider: TracerProvider | None = None,
        registry: CollectorRegistry | None = None,
        now: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        try:
            self.path = Path(os.fspath(path)).expanduser().absolute()
        except TypeError:
            raise ConfigurationError(
                f"JsonFileCredentials({path!r}): use the path of a JSON file."
            ) from None
        self.placement = _check_placement(placement)
        if not isinstance(required, bool):
            raise ConfigurationError(f"JsonFileCredentials(required={required!r}): use True/False.")
        if not _is_seconds(refresh_margin):
            raise ConfigurationError(
                f"JsonFileCredentials(refresh_margin={refresh_margin!r}): use seconds > 0."
            )
        if not isinstance(method, str) or not method or method != method.strip():
            raise ConfigurationError(
                f"JsonFileCredentials(method={method!r}): use a short name such as "
                f"{DEFAULT_METHOD!r}."
            )
        self.required = required
        self.refresh_margin = float(refresh_margin)
        self.method = method
        self.botoware_name = "credentials" if method == DEFAULT_METHOD else f"credentials-{method}"
        self._now = now or _local_now
        self._telemetry = _Telemetry(method, tracer_provider, registry or REGISTRY)

    def __repr__(self) -> str:
        return f"<JsonFileCredentials {self.path} placement={self.placement!r}>"

    def provider(self) -> JsonFileProvider:
        """A new provider reading this plugin's file with its settings."""
        return JsonFileProvider(
            self.path,
            method=self.method,
            required=self.required,
            refresh_margin=self.refresh_margin,
            telemetry=self._telemetry,
            now=self._now,
        )

    def botoware_credential_providers(
        self, session: BotocoreSession
    ) -> list[tuple[CredentialProvider, str]]:
        return [(self.provider(), self.placement)]


def plugin() -> JsonFileCredentials:
    """The ``"credentials"`` built-in: the file named by ``BOTOWARE_CREDENTIALS_FILE``."""
    path = os.environ.get(ENV_VAR, "").strip()
    if not path:
        raise ConfigurationError(
            f"the 'credentials' plugin reads the path of its JSON credentials file from {ENV_VAR}, "
            "which is not set. Set it, or pass JsonFileCredentials(path) to install()."
        )
    return JsonFileCredentials(path)
