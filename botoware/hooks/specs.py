"""The botoware hook contract.

Every hook below maps to one botocore event (named in its docstring) or to a point botocore
has no event for. Each hook receives ``call`` (the :class:`botoware.Call` shared by all hooks of
one API call) plus the event's own arguments under botocore's names; an implementation asks
only for the arguments it uses, pluggy-style.

Observer hooks (no return value) are isolated: an exception is logged with the plugin's name
and never reaches the user's call. Decision hooks (``firstresult``) let exceptions through,
since deciding is their purpose.

Ordering: pluggy calls implementations last-registered first; ``tryfirst``/``trylast`` move an
implementation to the front/back, and ``wrapper=True`` implementations wrap all the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botoware.hooks.markers import hookspec

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
    from botocore.client import BaseClient
    from botocore.credentials import CredentialProvider
    from botocore.model import OperationModel
    from botocore.session import Session as BotocoreSession

    from botoware.hooks.call import Call, Run


class NoRetry:
    """The type of :data:`NO_RETRY`."""

    _instance: NoRetry | None = None

    def __new__(cls) -> NoRetry:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "botoware.NO_RETRY"

    def __bool__(self) -> bool:
        return False


NO_RETRY = NoRetry()
"""Returned from :func:`botoware_needs_retry` to end the call without another attempt."""


class StepOut:
    """Returned from any call hook to step out of the rest of that one call.

    The plugin's later hooks for that call, its ending included, are then not called at
    all, so a call the plugin does not record costs it nothing more: a tracer whose sampler
    dropped the call, a metrics plugin whose filter excludes it. Other plugins and later
    calls are unaffected. Returned from a decision hook it also counts as no answer (the
    next plugin decides). Plain implementations only: a ``wrapper=True`` implementation
    cannot step out::

        class OnlyS3Writes:
            def botoware_call_start(self, call):
                if not call.operation.startswith("Put"):
                    return botoware.STEP_OUT  # no more hooks of this plugin for this call

            def botoware_after_call(self, call, http_response):
                ...  # runs for Put* calls only
    """

    _instance: StepOut | None = None

    def __new__(cls) -> StepOut:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "botoware.STEP_OUT"


STEP_OUT = StepOut()
"""Returned from a call hook: this plugin sees no more of this call (see :class:`StepOut`)."""


# -------------------------------------------------------------------------------------------
# Session and client set-up
# -------------------------------------------------------------------------------------------


@hookspec
def botoware_client_created(client: BaseClient) -> None:
    """A client of an installed session exists.

    Called once per covered client: when it is created after ``install()``, and during
    ``install()`` for clients that already existed. Observer hook.

    :param client: the botocore client (also ``resource.meta.client`` for resources).
        The hook may register its own handlers on ``client.meta.events``.
    """


@hookspec
def botoware_credential_providers(
    session: BotocoreSession,
) -> Iterable[tuple[CredentialProvider, str]] | None:
    """Offer credential providers for the session's credential chain.

    Called once per session at ``install()``, before any credentials are resolved from the
    new chain. Decision hook: exceptions propagate to ``install()``.

    :param session: the botocore session being installed into.
    :return: pairs ``(provider, placement)``. ``provider`` is a
        :class:`botocore.credentials.CredentialProvider` (it needs a unique ``METHOD``);
        ``placement`` is ``"first"``, ``"last"``, ``"before:NAME"`` or ``"after:NAME"``
        where ``NAME`` is one of botocore's providers (``env``, ``assume-role``,
        ``shared-credentials-file``, ``iam-role``, ...). All results are used.
    """


# -------------------------------------------------------------------------------------------
# Once per call: the start
# -------------------------------------------------------------------------------------------


@hookspec
def botoware_call_start(call: Call) -> None:
    """A call begins: every plugin in scope sees it, whatever any decision hook answers.

    Called once per call (also for presigned URLs, see :attr:`Call.presigned`), before
    ``botoware_provide_client_params``: as the covered client's ``_make_api_call`` begins,
    before botocore emits any event, or on botocore's ``provide-client-params`` event when
    something else wraps ``BaseClient._make_api_call`` (opentelemetry-instrumentation-botocore,
    a monkeypatch), so that its wrapper has begun first, and for presigned URLs. The first
    hook of every call: a call that reaches it always ends with exactly one
    ``botoware_after_call`` or ``botoware_after_call_error`` (presigned URLs excepted, they
    send nothing). Start per-call state here (a span, a timer); unlike a decision hook, no
    other plugin's answer can skip it. Observer hook.

    :param call: the call (``call.params`` are the parameters as passed by the user).
    :return: :data:`botoware.STEP_OUT` to see nothing more of this call, else None.
    """


# -------------------------------------------------------------------------------------------
# Once per call: shaping the request
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def botoware_provide_client_params(
    call: Call, params: dict[str, Any], model: OperationModel, context: dict[str, Any]
) -> Mapping[str, Any] | None:
    """The user called an operation; replace its parameters if you like.

    botocore event ``provide-client-params``; once per call (also for presigned URLs, see
    :attr:`Call.presigned`), before validation, after ``botoware_call_start``. The first
    plugin to answer stops this hook for the others, so start per-call state in
    ``botoware_call_start`` instead: every plugin sees that one.

    :param call: the call.
    :param params: the parameters as passed by the user.
    :param model: botocore's ``OperationModel``.
    :param context: botocore's per-call context dict (botocore's own keys; do not remove).
    :return: a new parameter mapping to use instead. Stops at first non-None result.
    """


@hookspec
def botoware_before_parameter_build(
    call: Call, params: dict[str, Any], model: OperationModel, context: dict[str, Any]
) -> None:
    """Parameters are about to be validated and serialized.

    botocore event ``before-parameter-build``; once per call (also presigned URLs).
    Observer hook, but it **may mutate** ``params`` in place (e.g. turn a dict into the
    JSON string the API wants).
    """


@hookspec(firstresult=True)
def botoware_before_call(
    call: Call,
    model: OperationModel,
    params: dict[str, Any],
    request_signer: Any,
    context: dict[str, Any],
) -> tuple[AWSResponse, dict[str, Any]] | None:
    """The request dict is serialized; the call is about to go out.

    botocore event ``before-call``; once per call.

    :param params: the serialized request dict (``url_path``, ``headers``, ``body``, ...).
        May be mutated.
    :return: ``(http_response, parsed)`` to answer the call without any attempt: no
        per-attempt hook runs, ``botoware_after_call`` still does. Stops at first non-None
        result.
    """


# -------------------------------------------------------------------------------------------
# Once per attempt: the HTTP exchange
# -------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def botoware_choose_signer(
    call: Call,
    signing_name: str,
    region_name: str,
    signature_version: str,
    context: dict[str, Any],
) -> str | None:
    """botocore picks the signature version for this attempt (or presigned URL).

    botocore event ``choose-signer``; once per attempt.

    :return: a signature version (``"v4"``, ``"s3v4"``, ``botocore.UNSIGNED``) to use
        instead. Stops at first non-None result.
    """


@hookspec
def botoware_before_sign(
    call: Call,
    request: AWSRequest,
    signing_name: str,
    region_name: str,
    signature_version: str,
    request_signer: Any,
    operation_name: str,
) -> None:
    """The request is about to be signed.

    botocore event ``before-sign``; once per attempt (also presigned URLs). Observer
    hook; it may mutate ``request``, and headers added here **are** signed (and for a
    presigned URL they would end up in the URL: check ``call.presigned``).
    """


@hookspec
def botoware_request_created(call: Call, request: AWSRequest, operation_name: str) -> None:
    """The HTTP request of attempt ``call.attempt`` is built and signed.

    botocore event ``request-created``; once per attempt, after ``botoware_before_sign``
    (botocore signs inside this event, before botoware's handler runs). Observer hook;
    headers added here are sent but **not** signed.
    """


@hookspec(firstresult=True)
def botoware_before_send(call: Call, request: AWSPreparedRequest) -> AWSResponse | None:
    """The signed request is about to be sent.

    botocore event ``before-send``; once per attempt.

    :return: a ``botocore.awsrequest.AWSResponse`` to use instead of sending; it is parsed,
        retried and observed exactly like a real response (``botoware.testing`` builds
        wire-format ones). Stops at first non-None result.
    """


@hookspec
def botoware_response_received(
    call: Call,
    response_dict: dict[str, Any] | None,
    parsed_response: dict[str, Any] | None,
    context: dict[str, Any],
    exception: Exception | None,
) -> None:
    """An attempt ended: a response was parsed, or the transport failed.

    botocore event ``response-received``; once per attempt. Observer hook.

    :param response_dict: status code, headers and body of the HTTP response, or None.
    :param parsed_response: the parsed response, or None on a transport failure.
    :param exception: the transport exception (connection error, read timeout), or None.
    """


@hookspec(firstresult=True)
def botoware_needs_retry(
    call: Call,
    response: tuple[AWSResponse, dict[str, Any]] | None,
    endpoint: Any,
    operation: OperationModel,
    attempts: int,
    caught_exception: Exception | None,
    request_dict: dict[str, Any],
) -> float | None:
    """Decide whether attempt ``attempts`` is retried.

    botocore event ``needs-retry``; once per attempt. While any plugin implements this hook,
    botocore's own retry handler of each covered client runs *after* the plugins and only
    when all of them returned None.

    :param response: ``(http_response, parsed)`` or None on a transport failure.
    :param caught_exception: the transport exception, or None.
    :return: seconds to sleep before the next attempt, or :data:`botoware.NO_RETRY` to
        stop retrying. Stops at first non-None result.
    """


# -------------------------------------------------------------------------------------------
# Once per call: the end
# -------------------------------------------------------------------------------------------


@hookspec
def botoware_after_call(
    call: Call,
    http_response: AWSResponse,
    parsed: dict[str, Any],
    model: OperationModel,
    context: dict[str, Any],
) -> None:
    """The call has its final response (also an AWS error, status >= 300).

    botocore event ``after-call``; once per call, before botocore raises ``ClientError``
    for an error response. Observer hook; it **may mutate** ``parsed`` (that is how
    response transforms work: the user receives the mutated dict).
    """


@hookspec
def botoware_after_call_error(
    call: Call, exception: BaseException, context: dict[str, Any] | None
) -> None:
    """The call failed without a final response.

    botocore event ``after-call-error`` (transport failure after the last attempt), and,
    where botocore has no event, any exception raised before ``before-call``
    (``ParamValidationError``, endpoint resolution, a decision hook raising) or while the
    response was handled. Once per call, instead of ``botoware_after_call``. Observer hook.

    :param context: botocore's context dict, or None if the call failed before it existed.
    """


# -------------------------------------------------------------------------------------------
# Paginators and waiters
# -------------------------------------------------------------------------------------------


@hookspec
def botoware_run_start(run: Run) -> None:
    """Iteration of a ``paginate()`` result, or a waiter's ``wait()``, begins.

    Once per run, before its first API call; each call of the run has ``call.run is run``.
    Observer hook.
    """


@hookspec
def botoware_run_end(run: Run, exception: BaseException | None) -> None:
    """A paginate or wait run ended.

    Once per run: pages exhausted, iteration abandoned (``exception`` None), the waiter
    succeeded, or it failed (``exception`` is the ``WaiterError`` or call error). Observer hook.
    """
