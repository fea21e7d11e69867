"""Cassette: record real responses once into a readable JSON file, replay them offline.

A call is matched on ``(service, operation, parameters)`` as the user passed them, never on
the signed HTTP request, so a cassette replays under any region, endpoint or credentials.
What is written is the parsed response (the dict the client returned, without
``ResponseMetadata``) and its HTTP status, or the error code and message; replay serializes
it back into the service's wire format (:mod:`botoware.testing._wire`) and answers at
``before_send``, so serialization, signing, retries, parsing and every hook still run.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import datetime
import difflib
import functools
import hashlib
import inspect
import io
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, final, get_args

from botocore.credentials import CredentialProvider, Credentials
from botocore.response import StreamingBody

from botoware.errors import ConfigurationError
from botoware.hooks.call import StashKey
from botoware.testing._faults import canonical_table, lookup
from botoware.testing._wire import WireResponse, wire_error, wire_response

if TYPE_CHECKING:
    import boto3
    import botocore.session
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from botocore.model import OperationModel, Shape

    from botoware.hooks.call import Call

Mode = Literal["once", "none", "new_episodes", "all"]
"""When a :class:`Cassette` records (vcrpy's and pytest-recording's record modes)."""

MODES: tuple[str, ...] = get_args(Mode)

FORMAT_VERSION = 1

REDACTED = "<redacted by botoware>"
"""What a secret value is replaced with in a cassette."""

SECRET_FIELDS = frozenset(
    {
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "SecretString",
        "SecretBinary",
        "Password",
        "NewPassword",
        "OldPassword",
        "MasterUserPassword",
        "PrivateKey",
        "SSECustomerKey",
        "CopySourceSSECustomerKey",
        "accessToken",
        "refreshToken",
        "idToken",
        "clientSecret",
        "AuthorizationToken",
    }
)
"""Member names redacted wherever they occur, besides every member botocore's model marks
``sensitive``. Pagination tokens (``NextToken``, ``ContinuationToken``) are kept: replay
needs them."""

_INLINE_BYTES = 4096
"""Request blobs up to this size are written as they are; longer ones as a SHA-256."""


class UnrecordedCall(AssertionError):
    """A call a replaying :class:`Cassette` has no recorded answer for (it is never sent)."""


@final
class _Interaction:
    """One recorded call and its outcome, as in the file."""

    __slots__ = ("_wire", "key", "record")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.key = _match_key(record["service"], record["operation"], record.get("params", {}))
        self._wire: WireResponse | None = None

    @property
    def name(self) -> str:
        return f"{self.record['service']}.{self.record['operation']}"

    def respond(self, model: OperationModel, url: str) -> AWSResponse:
        wire = self._wire
        if wire is None:
            record = self.record
            status = int(record.get("status", 200))
            if record.get("unsupported"):
                raise NotImplementedError(
                    f"botoware cannot replay {self.name}: {record['unsupported']}. "
                    "Record it again (mode 'all'), or answer it with Canned."
                )
            if "error" in record:
                found = record["error"]
                wire = wire_error(model, str(found.get("Code")), str(found.get("Message")), status)
            else:
                wire = wire_response(model, _decode(record.get("response") or {}), status)
            self._wire = wire
        return wire.respond(url)


@final
class _State:
    """Per call: the model, the match key, and what replays or was recorded."""

    __slots__ = ("model", "nested", "outer", "params", "played", "snapshot")

    def __init__(self, model: OperationModel, params: dict[str, Any], outer: Call | None) -> None:
        self.model = model
        self.params = params
        self.outer = outer
        self.nested = outer is not None and not outer.ended
        self.played: _Interaction | None = None
        self.snapshot: dict[str, Any] | None = None


_STATE = StashKey[_State]()

# The call in progress in this thread (or asyncio task). A call that starts while another
# is in progress is botocore's own: credentials fetched through STS or SSO at signing time,
# endpoint discovery. Those are sent, never recorded.
_RUNNING: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "botoware_cassette_call", default=None
)


@final
class _ReplayCredentials(CredentialProvider):
    """Placeholder credentials while a cassette only replays: the requests are signed with
    them and never sent, so a test needs no AWS credentials at all."""

    METHOD = "botoware-cassette"
    CANONICAL_NAME = "BotowareCassette"

    def load(self) -> Credentials:
        key, secret = "AKIDBOTOWAREREPLAY00", "botoware-replay-placeholder"
        return Credentials(key, secret, method=self.METHOD)


@final
class Cassette:
    """A plugin that records calls into a JSON file and replays them, like vcrpy for boto3.

    ::

        cassette = Cassette("tests/cassettes/test_report.json", mode="once")
        with cassette.use(session):          # installs it, saves the file at the end
            session.client("s3").list_buckets()

    Modes (``mode=``), named as in vcrpy and pytest-recording:

    - ``"once"``: replay the file if it exists (a call it lacks is an error), else record
      every call and write the file;
    - ``"none"``: replay only; the file must exist;
    - ``"new_episodes"``: replay what matches, send and record the rest;
    - ``"all"``: send and record every call, replacing the file.

    Matching: a call matches a recorded one with the same service id, operation and
    parameters as the user passed them (after redaction, without idempotency tokens and
    the names in ``ignore``). Among several matching records, each call replays the first
    one not yet replayed, so repeated identical calls (a waiter's polls) get the recorded
    answers in their recorded order; calls with different parameters may come in any order.
    A call whose matches are all replayed is an error, unless ``allow_repeats`` replays the
    last one again. A call with no match, when nothing may be recorded, raises
    :class:`UnrecordedCall` naming it and the closest recorded call, before any request is
    built: nothing leaves the machine.

    Never written: request headers (signatures, ``X-Amz-Security-Token``), credentials,
    and any member botocore's model marks ``sensitive`` or named in :data:`SECRET_FIELDS` or
    ``secrets``, in parameters and responses alike (replaced by :data:`REDACTED`). Calls
    botocore makes while another call is in progress (credentials fetched through STS or
    SSO when a request is signed, endpoint discovery) are sent but not recorded.

    :param path: the cassette file (JSON).
    :param mode: ``"once"``, ``"none"``, ``"new_episodes"`` or ``"all"``.
    :param secrets: more member names to redact, at any depth.
    :param ignore: parameters left out of matching, by key: ``{"sqs.SendMessage":
        ["MessageDeduplicationId"], "*": ["ClientRequestToken"]}`` (most specific key wins).
    :param allow_repeats: replay the last matching record again once all are replayed.
    :param name: the plugin name.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: Mode = "once",
        secrets: Iterable[str] = (),
        ignore: Mapping[str, Iterable[str]] | None = None,
        allow_repeats: bool = False,
        name: str = "cassette",
    ) -> None:
        if mode not in MODES:
            raise ConfigurationError(
                f"Cassette mode {mode!r}: use one of {', '.join(map(repr, MODES))}."
            )
        self.path = Path(path)
        self.mode: Mode = mode
        exists = self.path.exists()
        if mode == "none" and not exists:
            raise ConfigurationError(
                f"cassette {str(self.path)!r} does not exist and mode 'none' only replays; "
                "record it once with mode='once' (pytest --botoware-record)."
            )
        self.recording = mode in ("all", "new_episodes") or (mode == "once" and not exists)
        """True when calls without a recorded answer are sent and recorded."""
        self.replaying = mode != "all" and exists
        """True when recorded answers are served."""
        if isinstance(secrets, str):
            raise ConfigurationError(f"Cassette(secrets={secrets!r}): pass a list of names.")
        self._secrets = SECRET_FIELDS | frozenset(secrets)
        self._ignore = {
            key: frozenset([names] if isinstance(names, str) else names)
            for key, names in canonical_table(ignore or {}, "Cassette ignore").items()
        }
        self._allow_repeats = allow_repeats
        self._lock = threading.Lock()
        self._interactions: list[_Interaction] = []
        self._played: list[int] = []
        self._index: dict[tuple[str, str, str], list[int]] = {}
        self._new = 0
        self.botoware_name = name
        if self.replaying:
            for record in _load(self.path):
                self._add(_Interaction(record))
            self._new = 0

    # ---- reading --------------------------------------------------------------------

    @property
    def interactions(self) -> list[dict[str, Any]]:
        """The records (loaded and new) as they are written to the file."""
        with self._lock:
            return [_public(i.record) for i in self._interactions]

    @property
    def played(self) -> int:
        """How many calls were answered from the cassette."""
        with self._lock:
            return sum(1 for count in self._played if count)

    @property
    def unplayed(self) -> list[str]:
        """``"service.Operation"`` of each loaded record no call replayed."""
        with self._lock:
            return [
                i.name
                for i, count in zip(self._interactions, self._played, strict=True)
                if not count and "new" not in i.record
            ]

    def assert_all_played(self) -> None:
        """Raise AssertionError naming the recorded calls no call replayed."""
        left = self.unplayed
        if left:
            raise AssertionError(
                f"cassette {str(self.path)!r}: {len(left)} recorded call(s) never replayed: "
                + ", ".join(left)
            )

    # ---- writing --------------------------------------------------------------------

    def save(self) -> bool:
        """Write the file if this cassette recorded anything (or records all); True if written.

        Written atomically (a temporary file renamed over the old one), keys in a stable
        order, two-space indented: readable in review.
        """
        with self._lock:
            if not self.recording or (self.mode == "new_episodes" and not self._new):
                return False
            records = [_public(i.record) for i in self._interactions]
        document = {"botoware_cassette": FORMAT_VERSION, "interactions": records}
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, self.path)
        with self._lock:
            self._new = 0
        return True

    @contextlib.contextmanager
    def use(
        self, session: boto3.Session | botocore.session.Session, *plugins: object
    ) -> Iterator[Cassette]:
        """Install this cassette (and ``plugins``) on ``session``; save the file on exit."""
        import botoware

        with botoware.install(session, plugins=[self, *plugins], autoload=False):
            try:
                yield self
            finally:
                self.save()

    # ---- hooks ----------------------------------------------------------------------

    def botoware_credential_providers(
        self, session: botocore.session.Session
    ) -> list[tuple[CredentialProvider, str]]:
        # Replay signs requests it never sends: placeholder credentials, so CI needs none
        # and no credential provider (STS, SSO, IMDS) is ever asked.
        return [] if self.recording else [(_ReplayCredentials(), "first")]

    def botoware_provide_client_params(
        self, call: Call, params: Mapping[str, Any], model: OperationModel
    ) -> None:
        if call.presigned:
            return
        state = _State(model, self._params_of(call, params, model), _RUNNING.get())
        _RUNNING.set(call)
        call.stash[_STATE] = state
        if self.replaying:
            state.played = self._take(call, state)
        if state.played is None and not self.recording:
            raise UnrecordedCall(self._miss(call, state))

    def botoware_before_send(self, call: Call, request: AWSPreparedRequest) -> AWSResponse | None:
        state = call.stash.get(_STATE, None)
        if state is None or state.played is None:
            return None
        return state.played.respond(state.model, request.url)

    def botoware_response_received(
        self, call: Call, parsed_response: dict[str, Any] | None
    ) -> None:
        state = call.stash.get(_STATE, None)
        if state is None or state.played is not None or state.nested or not self.recording:
            return
        if parsed_response is None:
            state.snapshot = None
            return
        state.snapshot = self._snapshot(call, state, parsed_response)

    def botoware_after_call(self, call: Call) -> None:
        state = call.stash.get(_STATE, None)
        if state is None:
            return
        _RUNNING.set(state.outer)
        if state.snapshot is None:
            return
        snapshot, state.snapshot = state.snapshot, None
        with self._lock:
            self._add(_Interaction(snapshot))
            self._new += 1

    def botoware_after_call_error(self, call: Call) -> None:
        state = call.stash.get(_STATE, None)
        if state is not None:
            _RUNNING.set(state.outer)

    # ---- internals ------------------------------------------------------------------

    def _add(self, interaction: _Interaction) -> None:
        self._index.setdefault(interaction.key, []).append(len(self._interactions))
        self._interactions.append(interaction)
        self._played.append(0)

    def _params_of(
        self, call: Call, params: Mapping[str, Any], model: OperationModel
    ) -> dict[str, Any]:
        ignored = lookup(self._ignore, call.service, call.operation) or frozenset()
        shape = model.input_shape
        members = shape.members if shape is not None else {}
        kept: dict[str, Any] = {}
        for name, value in params.items():
            member = members.get(name)
            if name in ignored or (member is not None and member.metadata.get("idempotencyToken")):
                continue
            kept[name] = _encode(self._redact(member, name, value), request=True)
        return kept

    def _take(self, call: Call, state: _State) -> _Interaction | None:
        key = _match_key(call.service, call.operation, state.params)
        with self._lock:
            found = self._index.get(key)
            if not found:
                return None
            for position in found:
                if not self._played[position] and "new" not in self._interactions[position].record:
                    self._played[position] += 1
                    return self._interactions[position]
            if self._allow_repeats:
                self._played[found[-1]] += 1
                return self._interactions[found[-1]]
        raise UnrecordedCall(
            f"cassette {str(self.path)!r}: {_describe(call.service, call.operation, state.params)}"
            f" was recorded {len(found)} time(s) and each was replayed already; record the "
            "extra call (mode 'new_episodes' or 'all'), or pass allow_repeats=True to replay "
            "the last answer again."
        )

    def _miss(self, call: Call, state: _State) -> str:
        wanted = _describe(call.service, call.operation, state.params)
        with self._lock:
            records = [i.record for i in self._interactions]
        wanted_name = (call.service, call.operation)
        same = [r for r in records if (r["service"], r["operation"]) == wanted_name]
        if same:
            closest = min(same, key=lambda r: len(_differing(r.get("params", {}), state.params)))
            recorded = closest.get("params", {})
            differs = _differing(recorded, state.params)
            near = (
                f"closest recorded: {_describe(call.service, call.operation, recorded)}"
                f" (differs in {', '.join(differs)})"
            )
        else:
            names = sorted({f"{r['service']}.{r['operation']}" for r in records})
            name = f"{call.service}.{call.operation}"
            found = difflib.get_close_matches(name, names, n=1, cutoff=0)
            near = f"closest recorded: {found[0]}" if found else "the cassette records no calls"
        return (
            f"cassette {str(self.path)!r} (mode {self.mode!r}) has no recorded answer for "
            f"{wanted}; {near}. Nothing was sent. Record it with mode 'new_episodes' "
            "(pytest --botoware-record-mode=new_episodes) or re-record with 'all'."
        )

    def _snapshot(self, call: Call, state: _State, parsed: dict[str, Any]) -> dict[str, Any]:
        model = state.model
        metadata = parsed.get("ResponseMetadata") or {}
        status = int(metadata.get("HTTPStatusCode") or 200)
        record: dict[str, Any] = {
            "service": call.service,
            "operation": call.operation,
            "params": state.params,
            "status": status,
            "new": True,
        }
        if "Error" in parsed and status >= 300:
            error = parsed["Error"]
            record["error"] = {"Code": error.get("Code"), "Message": error.get("Message", "")}
            return record
        if model.has_event_stream_output:
            record["unsupported"] = "event-stream responses are not recorded"
            return record
        shape = model.output_shape
        members = shape.members if shape is not None else {}
        payload = shape.serialization.get("payload") if shape is not None else None
        values = {name: value for name, value in parsed.items() if name in members}
        body = values.get(payload) if payload is not None else None
        pending = False
        if payload is not None and body is not None and hasattr(body, "read"):
            if inspect.iscoroutinefunction(body.read):
                # aiobotocore: a hook cannot await, so the body is recorded as the user
                # reads it (every async read, iteration and line method goes through read).
                _tee(body, functools.partial(self._body_read, record, members[payload], payload))
                values.pop(payload)
                pending = True
            else:
                # Read it all now (checksums are verified while reading) and hand the user
                # a fresh body over the same bytes.
                content = body.read()
                parsed[payload] = StreamingBody(io.BytesIO(content), len(content))
                values[payload] = content
        data = {
            name: _encode(self._redact(members[name], name, value))
            for name, value in values.items()
        }
        record["response"] = data
        if pending:
            record["unsupported"] = "its streaming body was not read to the end while recording"
        return record

    def _body_read(self, record: dict[str, Any], shape: Shape, name: str, content: bytes) -> None:
        with self._lock:
            record["response"][name] = _encode(self._redact(shape, name, content))
            record.pop("unsupported", None)

    def _redact(self, shape: Shape | None, name: str, value: Any) -> Any:
        if name in self._secrets or (shape is not None and shape.metadata.get("sensitive")):
            return _blank(value)
        if shape is None:
            return value
        kind = shape.type_name
        if kind == "structure" and isinstance(value, Mapping):
            members = shape.members  # type: ignore[attr-defined]
            return {k: self._redact(members.get(k), k, v) for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            member = shape.member  # type: ignore[attr-defined]
            return [self._redact(member, "", v) for v in value]
        if kind == "map" and isinstance(value, Mapping):
            inner = shape.value  # type: ignore[attr-defined]
            return {k: self._redact(inner, "", v) for k, v in value.items()}
        return value

    def __repr__(self) -> str:
        return f"<Cassette {str(self.path)!r} mode={self.mode} records={len(self._interactions)}>"


def _tee(body: Any, done: Callable[[bytes], None]) -> None:
    """Copy what the user reads from an async body; call ``done`` with it all at the end."""
    original = body.read
    chunks: list[bytes] = []
    expected = getattr(body, "_content_length", None)

    async def read(amt: int | None = None) -> bytes:
        data: bytes = await original(amt)
        if data:
            chunks.append(data)
        total = sum(map(len, chunks))
        if not data or amt is None or (expected is not None and total >= int(expected)):
            body.read = original
            done(b"".join(chunks))
        return data

    body.read = read


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "new"}


def _blank(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, (str, bytes, bytearray)) or hasattr(value, "read"):
        return REDACTED
    return None


def _encode(value: Any, request: bool = False) -> Any:
    """JSON-ready: timestamps as ISO 8601, bytes as text (or base64), streams described."""
    if isinstance(value, Mapping):
        return {str(k): _encode(v, request) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, request) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if request and len(data) > _INLINE_BYTES:
            return {"$sha256": hashlib.sha256(data).hexdigest(), "$length": len(data)}
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return {"$base64": base64.b64encode(data).decode("ascii")}
    if request and hasattr(value, "read"):
        # An upload stream is matched by being there: reading it would take it from botocore.
        return {"$stream": True}
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$base64" in value:
            return base64.b64decode(value["$base64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _match_key(service: str, operation: str, params: Mapping[str, Any]) -> tuple[str, str, str]:
    return service, operation, json.dumps(params, sort_keys=True, separators=(",", ":"))


def _describe(service: str, operation: str, params: Mapping[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, ensure_ascii=False)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{service}.{operation} {text}"


def _differing(recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k))


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cassette {str(path)!r} cannot be read: {exc}") from exc
    version = document.get("botoware_cassette") if isinstance(document, dict) else None
    if version != FORMAT_VERSION or not isinstance(document.get("interactions"), list):
        raise ConfigurationError(
            f"cassette {str(path)!r} is no botoware cassette (version {FORMAT_VERSION}); "
            "delete it and record it again."
        )
    records: list[dict[str, Any]] = document["interactions"]
    for record in records:
        if not isinstance(record, dict) or not {"service", "operation"} <= set(record):
            raise ConfigurationError(
                f"cassette {str(path)!r} has a record without service and operation: {record!r}"
            )
    return records
