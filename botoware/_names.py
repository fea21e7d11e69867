"""Service and operation names as botocore's models spell them, with did-you-mean.

Every key that names a service or operation (``Canned``, ``Faults``, ``Recorder`` and
``Cassette`` keys, ``botoware_scope``, ``RetryPolicy(overrides=...)``) goes through
:func:`canonical_key`, so a key that could match nothing fails at construction.

The canonical service name is botocore's hyphenized service id, the one in event names and
``call.service`` (``"secrets-manager"``). The boto3 client name (``"secretsmanager"``) is
accepted too and mapped to it. Nothing is loaded at import time: the list of service names
on first use, then one model per named service, each once per process.
"""

from __future__ import annotations

import difflib
import functools
import gzip
import os
import re
import threading
from collections.abc import Iterable

import botocore.loaders
from botocore import xform_name

from botoware.errors import ConfigurationError

# Hyphenized service ids that are neither a client name nor one with the hyphens removed,
# mapped to their client name. Only a hint: each is checked against the model it names, and
# an id missing here is still found by a scan of every model (slow, once per process).
_ID_HINTS = {
    "cloudwatch-logs": "logs",
    "cost-explorer": "ce",
    "cognito-identity-provider": "cognito-idp",
    "config-service": "config",
    "cost-and-usage-report-service": "cur",
    "application-discovery-service": "discovery",
    "database-migration-service": "dms",
    "directory-service": "ds",
    "directory-service-data": "ds-data",
    "elastic-load-balancing": "elb",
    "elastic-load-balancing-v2": "elbv2",
    "elasticsearch-service": "es",
    "eventbridge": "events",
    "iot-data-plane": "iot-data",
    "iot-jobs-data-plane": "iot-jobs-data",
    "lex-model-building-service": "lex-models",
    "lex-runtime-service": "lex-runtime",
    "lex-models-v2": "lexv2-models",
    "lex-runtime-v2": "lexv2-runtime",
    "marketplace-entitlement-service": "marketplace-entitlement",
    "marketplace-metering": "meteringmarketplace",
    "migration-hub": "mgh",
    "simpledb": "sdb",
    "serverlessapplicationrepository": "serverlessrepo",
    "pinpoint-sms-voice": "sms-voice",
    "sfn": "stepfunctions",
}

_lock = threading.Lock()


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))


@functools.cache
def client_names() -> frozenset[str]:
    """The boto3 client names of every service botocore has a model for."""
    return frozenset(_loader().list_available_services("service-2"))


@functools.cache
def _model(client_name: str) -> tuple[str, str, frozenset[str]]:
    """``(hyphenized id, service id, operation names)`` of one client name's model."""
    with _lock:
        model = _loader().load_service_model(client_name, "service-2")
    service_id = str(model["metadata"].get("serviceId") or client_name)
    return _hyphenize(service_id), service_id, frozenset(model["operations"])


def _hyphenize(service_id: str) -> str:
    # botocore.model.ServiceId.hyphenize, without building a ServiceModel.
    return service_id.replace(" ", "-").lower()


_SERVICE_ID = re.compile(rb'"serviceId"\s*:\s*"([^"]*)"')


@functools.cache
def _every_id() -> dict[str, str]:
    """Hyphenized id -> client name for every model, for names the hints miss.

    Reads only the head of each model file, where the metadata is (about 50 ms for all).
    """
    found: dict[str, str] = {}
    loader = _loader()
    for name in sorted(client_names()):
        found[_hyphenize(_peek_service_id(loader, name) or _model(name)[1])] = name
    return found


def _peek_service_id(loader: botocore.loaders.Loader, name: str) -> str | None:
    try:
        version = loader.determine_latest_version(name, "service-2")
    except Exception:
        return None
    for root in loader.search_paths:
        base = os.path.join(root, name, version, "service-2.json")
        for path, opener in ((base + ".gz", gzip.open), (base, open)):
            if os.path.exists(path):
                with opener(path, "rb") as handle:
                    match = _SERVICE_ID.search(handle.read(8192))
                return match.group(1).decode() if match else None
    return None


@functools.cache
def _client_for_id(service: str) -> str | None:
    for guess in (service, service.replace("-", ""), _ID_HINTS.get(service)):
        if guess is not None and guess in client_names() and _model(guess)[0] == service:
            return guess
    return _every_id().get(service)


def service_id(name: str) -> str | None:
    """The hyphenized service id ``name`` denotes (an id or a client name), else None."""
    if name in client_names():
        return _model(name)[0]
    if _looks_like_service(name) and _client_for_id(name) is not None:
        return name
    return None


def operations(service: str) -> frozenset[str]:
    """The operation names of the service with hyphenized id ``service``."""
    client = _client_for_id(service)
    return _model(client)[2] if client is not None else frozenset()


def _looks_like_service(name: str) -> bool:
    return bool(name) and name == name.lower() and name.replace("-", "").isalnum()


def _closest(word: str, pool: list[str]) -> list[str]:
    """Up to three close names, only those about as close as the closest one."""
    found = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
    ratios = [difflib.SequenceMatcher(None, word, f).ratio() for f in found]
    return [f for f, r in zip(found, ratios, strict=True) if r >= ratios[0] - 0.05]


def _suggest(word: str, choices: Iterable[str]) -> str:
    pool = sorted(set(choices))
    folded = {c.lower().replace("-", "").replace("_", ""): c for c in pool}
    exact = folded.get(word.lower().replace("-", "").replace("_", ""))
    found = [exact] if exact else _closest(word, pool)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found) + "?"


def _service_suggestion(word: str) -> str:
    names = set(client_names()) | set(_ID_HINTS)
    found = _closest(word.lower(), sorted(names))
    if not found:
        return ""
    spelled = []
    for candidate in found:
        ident = service_id(candidate)
        if ident is not None and ident != candidate:
            spelled.append(f"{candidate!r} (botocore's id {ident!r})")
        else:
            spelled.append(repr(candidate))
    return "; did you mean " + " or ".join(spelled) + "?"


def canonical_key(
    key: object,
    owner: str,
    *,
    error: type[Exception] = ConfigurationError,
    star: bool = True,
    bare_service: bool = True,
) -> str:
    """``key`` with botocore's hyphenized service id; raise ``error`` if it names nothing.

    Accepts ``"service.Operation"``, ``"service.*"``, ``"service"`` (if ``bare_service``) and
    ``"*"`` (if ``star``), where ``service`` is the hyphenized id (``"secrets-manager"``) or
    the boto3 client name (``"secretsmanager"``).

    :param owner: how the message names the key's owner (``"Canned key"``).
    """
    forms = "'service.Operation' or 'service.*'"
    if bare_service:
        forms += ", 'service'"
    if star:
        forms += " or '*'"
    if not isinstance(key, str) or not key:
        raise error(f"{owner} {key!r}: use {forms}, e.g. 'sqs.GetQueueAttributes'.")
    if key == "*":
        if star:
            return key
        raise error(f"{owner} '*': name a service or an operation ({forms}).")
    service, dot, operation = key.partition(".")
    if not dot and not bare_service:
        raise error(f"{owner} {key!r}: use {forms}, e.g. '{key}.*'.")
    canonical = service_id(service) if _looks_like_service(service) else None
    if canonical is None:
        raise error(
            f"{owner} {key!r}: botocore has no service {service!r}"
            f"{_service_suggestion(service)} Use botocore's hyphenized service id "
            "(call.service, e.g. 'secrets-manager') or the boto3 client name ('secretsmanager')."
        )
    if not dot or operation == "*":
        return canonical + (".*" if dot else "")
    known = operations(canonical)
    if operation not in known:
        by_method = {xform_name(name): name for name in known}
        hint = (
            f"; did you mean {by_method[operation]!r}?"
            if operation in by_method
            else _suggest(operation, known) or "."
        )
        raise error(
            f"{owner} {key!r}: {_model(_client_for_id(canonical) or service)[1]} has no "
            f"operation {operation!r}{hint} Operations are spelled as in botocore's model "
            "(e.g. 'GetSecretValue', not 'get_secret_value')."
        )
    return f"{canonical}.{operation}"
