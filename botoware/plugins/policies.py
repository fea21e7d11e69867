"""Policy documents as dicts: the ``"policies"`` built-in plugin.

AWS hands policy documents around as JSON *strings*: ``lambda.get_policy()`` returns
``{"Policy": "{\\"Version\\": ...}"}``, and ``s3.put_bucket_policy()`` wants
``Policy=json.dumps(doc)``.
With this plugin installed, responses carry the documents as dicts and requests accept dicts::

    with botoware.install(session, plugins=["policies"], autoload=False):
        policy = session.client("lambda").get_policy(FunctionName="f")["Policy"]
        policy["Statement"][0]["Effect"]  # a dict, no json.loads()
        s3.put_bucket_policy(Bucket="b", Policy={"Version": "2012-10-17", "Statement": [...]})

:data:`POLICY_FIELDS` says where the documents are, one :class:`Field` per line; the same row
serves responses and requests (botocore's model of the operation says which side a path is
on). :class:`FieldTransform` is the machinery, reusable for transforms of your own.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

from botocore.model import ListShape, MapShape, StructureShape

from botoware import _redaction as _errors
from botoware.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.model import OperationModel, Shape

    from botoware.hooks.call import Call

    _Step = Callable[[Any], Any]
    _Method = Callable[["Call", "Field", Any], Any]

__all__ = ["POLICY_FIELDS", "Field", "FieldTransform", "PoliciesPlugin", "plugin"]

logger = logging.getLogger(__name__)

_ANY = "*"  # a path step: every item of a list, every value of a map


@final
@dataclass(frozen=True, slots=True)
class Field:
    """Where a value lives in the parameters or the response of one operation.

    :ivar service: botocore's hyphenized service id, as in ``botoware_scope`` and
        ``Call.service`` (``"cloudwatch-logs"``, not the client name ``"logs"``).
    :ivar operation: the operation (``"GetPolicy"``).
    :ivar path: keys from the top of the parameters or the parsed response down to the value;
        ``"*"`` steps into every item of a list or every value of a map (at the end of the
        path: each item is a value, as in IAM's ``("PolicyInputList", "*")``). Map keys are keys
        like any other: ``("Attributes", "Policy")``. A plain string is a one-key path.
    :ivar when: ``(key, value)``: only when the dict that holds the value also has
        ``key == value``, for name/value pairs such as SNS
        ``SetTopicAttributes(AttributeName="Policy", AttributeValue=...)``.
    """

    service: str
    operation: str
    path: tuple[str, ...]
    when: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.path, str):
            object.__setattr__(self, "path", (self.path,))
        problem = _problem(self)
        if problem:
            raise ConfigurationError(f"{self!r}: {problem}")

    @property
    def name(self) -> str:
        """The path as logs show it: ``Attributes.Policy``, ``items[].policy``."""
        text = ".".join(self.path).replace(f".{_ANY}", "[]")
        return text if self.when is None else f"{text} ({self.when[0]}={self.when[1]})"


def _problem(field: Field) -> str | None:
    service, operation, path = field.service, field.operation, field.path
    if not service or service != service.lower() or not service.replace("-", "").isalnum():
        return "service must be botocore's hyphenized service id, e.g. 'cloudwatch-logs'"
    if not operation.isalnum():
        return "operation must be an operation name, e.g. 'GetPolicy'"
    if not path or not all(isinstance(key, str) and key for key in path):
        return "path must be a non-empty tuple of keys, e.g. ('Attributes', 'Policy')"
    if field.when is not None and path[-1] == _ANY:
        return "when names a sibling of the value: not possible for the items of a list"
    if field.when is not None and (len(field.when) != 2 or path[-1] == field.when[0]):
        return "when must be a (key, value) pair naming a sibling of the value"
    return None


# -------------------------------------------------------------------------------------------
# The table
# -------------------------------------------------------------------------------------------

POLICY_FIELDS: tuple[Field, ...] = (
    # Lambda (AddPermission's request has no document; its response has the new statement)
    Field("lambda", "GetPolicy", ("Policy",)),
    Field("lambda", "AddPermission", ("Statement",)),
    Field("lambda", "GetResourcePolicy", ("Policy",)),
    Field("lambda", "PutResourcePolicy", ("Policy",)),
    # S3
    Field("s3", "GetBucketPolicy", ("Policy",)),
    Field("s3", "PutBucketPolicy", ("Policy",)),
    # SQS: attribute maps
    Field("sqs", "GetQueueAttributes", ("Attributes", "Policy")),
    Field("sqs", "GetQueueAttributes", ("Attributes", "RedrivePolicy")),
    Field("sqs", "GetQueueAttributes", ("Attributes", "RedriveAllowPolicy")),
    Field("sqs", "SetQueueAttributes", ("Attributes", "Policy")),
    Field("sqs", "SetQueueAttributes", ("Attributes", "RedrivePolicy")),
    Field("sqs", "SetQueueAttributes", ("Attributes", "RedriveAllowPolicy")),
    Field("sqs", "CreateQueue", ("Attributes", "Policy")),
    Field("sqs", "CreateQueue", ("Attributes", "RedrivePolicy")),
    Field("sqs", "CreateQueue", ("Attributes", "RedriveAllowPolicy")),
    # SNS topics: attribute maps, and AttributeName/AttributeValue pairs
    Field("sns", "GetTopicAttributes", ("Attributes", "Policy")),
    Field("sns", "GetTopicAttributes", ("Attributes", "DeliveryPolicy")),
    Field("sns", "GetTopicAttributes", ("Attributes", "EffectiveDeliveryPolicy")),
    Field("sns", "SetTopicAttributes", ("AttributeValue",), ("AttributeName", "Policy")),
    Field("sns", "SetTopicAttributes", ("AttributeValue",), ("AttributeName", "DeliveryPolicy")),
    Field("sns", "CreateTopic", ("Attributes", "Policy")),
    Field("sns", "CreateTopic", ("Attributes", "DeliveryPolicy")),
    # SNS subscriptions
    Field("sns", "GetSubscriptionAttributes", ("Attributes", "FilterPolicy")),
    Field("sns", "GetSubscriptionAttributes", ("Attributes", "RedrivePolicy")),
    Field("sns", "GetSubscriptionAttributes", ("Attributes", "DeliveryPolicy")),
    Field("sns", "GetSubscriptionAttributes", ("Attributes", "EffectiveDeliveryPolicy")),
    Field(
        "sns", "SetSubscriptionAttributes", ("AttributeValue",), ("AttributeName", "FilterPolicy")
    ),
    Field(
        "sns", "SetSubscriptionAttributes", ("AttributeValue",), ("AttributeName", "RedrivePolicy")
    ),
    Field(
        "sns", "SetSubscriptionAttributes", ("AttributeValue",), ("AttributeName", "DeliveryPolicy")
    ),
    Field("sns", "Subscribe", ("Attributes", "FilterPolicy")),
    Field("sns", "Subscribe", ("Attributes", "RedrivePolicy")),
    Field("sns", "Subscribe", ("Attributes", "DeliveryPolicy")),
    # KMS
    Field("kms", "GetKeyPolicy", ("Policy",)),
    Field("kms", "PutKeyPolicy", ("Policy",)),
    Field("kms", "CreateKey", ("Policy",)),
    Field("kms", "ReplicateKey", ("Policy",)),
    Field("kms", "ReplicateKey", ("ReplicaPolicy",)),
    # ECR: Set/Put/Delete also return the document
    Field("ecr", "GetRepositoryPolicy", ("policyText",)),
    Field("ecr", "SetRepositoryPolicy", ("policyText",)),
    Field("ecr", "DeleteRepositoryPolicy", ("policyText",)),
    Field("ecr", "GetLifecyclePolicy", ("lifecyclePolicyText",)),
    Field("ecr", "PutLifecyclePolicy", ("lifecyclePolicyText",)),
    Field("ecr", "DeleteLifecyclePolicy", ("lifecyclePolicyText",)),
    Field("ecr", "GetLifecyclePolicyPreview", ("lifecyclePolicyText",)),
    Field("ecr", "StartLifecyclePolicyPreview", ("lifecyclePolicyText",)),
    Field("ecr", "GetRegistryPolicy", ("policyText",)),
    Field("ecr", "PutRegistryPolicy", ("policyText",)),
    Field("ecr", "DeleteRegistryPolicy", ("policyText",)),
    Field("ecr", "CreateRepositoryCreationTemplate", ("repositoryPolicy",)),
    Field(
        "ecr",
        "CreateRepositoryCreationTemplate",
        ("repositoryCreationTemplate", "repositoryPolicy"),
    ),
    Field("ecr", "UpdateRepositoryCreationTemplate", ("repositoryPolicy",)),
    Field(
        "ecr",
        "UpdateRepositoryCreationTemplate",
        ("repositoryCreationTemplate", "repositoryPolicy"),
    ),
    Field(
        "ecr",
        "DeleteRepositoryCreationTemplate",
        ("repositoryCreationTemplate", "repositoryPolicy"),
    ),
    Field(
        "ecr",
        "DescribeRepositoryCreationTemplates",
        ("repositoryCreationTemplates", "*", "repositoryPolicy"),
    ),
    # Secrets Manager
    Field("secrets-manager", "GetResourcePolicy", ("ResourcePolicy",)),
    Field("secrets-manager", "PutResourcePolicy", ("ResourcePolicy",)),
    Field("secrets-manager", "ValidateResourcePolicy", ("ResourcePolicy",)),
    # EventBridge
    Field("eventbridge", "DescribeEventBus", ("Policy",)),
    Field("eventbridge", "PutPermission", ("Policy",)),
    # CloudWatch Logs
    Field(
        "cloudwatch-logs", "DescribeResourcePolicies", ("resourcePolicies", "*", "policyDocument")
    ),
    Field("cloudwatch-logs", "PutResourcePolicy", ("policyDocument",)),
    Field("cloudwatch-logs", "PutResourcePolicy", ("resourcePolicy", "policyDocument")),
    Field("cloudwatch-logs", "PutAccountPolicy", ("policyDocument",)),
    Field("cloudwatch-logs", "PutAccountPolicy", ("accountPolicy", "policyDocument")),
    Field("cloudwatch-logs", "DescribeAccountPolicies", ("accountPolicies", "*", "policyDocument")),
    Field("cloudwatch-logs", "PutDataProtectionPolicy", ("policyDocument",)),
    Field("cloudwatch-logs", "GetDataProtectionPolicy", ("policyDocument",)),
    Field("cloudwatch-logs", "PutIndexPolicy", ("policyDocument",)),
    Field("cloudwatch-logs", "PutIndexPolicy", ("indexPolicy", "policyDocument")),
    Field("cloudwatch-logs", "DescribeIndexPolicies", ("indexPolicies", "*", "policyDocument")),
    # IAM: requests only (botocore already returns policyDocumentType values as dicts),
    # except the delegation requests' permission policy, which botocore leaves a string
    *(
        Field("iam", operation, path)
        for operation, path in (
            ("CreatePolicy", ("PolicyDocument",)),
            ("CreatePolicyVersion", ("PolicyDocument",)),
            ("CreateRole", ("AssumeRolePolicyDocument",)),
            ("UpdateAssumeRolePolicy", ("PolicyDocument",)),
            ("PutGroupPolicy", ("PolicyDocument",)),
            ("PutRolePolicy", ("PolicyDocument",)),
            ("PutUserPolicy", ("PolicyDocument",)),
            ("GetContextKeysForCustomPolicy", ("PolicyInputList", "*")),
            ("GetContextKeysForPrincipalPolicy", ("PolicyInputList", "*")),
            ("SimulateCustomPolicy", ("PolicyInputList", "*")),
            ("SimulateCustomPolicy", ("PermissionsBoundaryPolicyInputList", "*")),
            ("SimulateCustomPolicy", ("ResourcePolicy",)),
            (
                "SimulateCustomPolicy",
                ("OrderedOrganizationPolicyInputList", "*", "ServiceControlPolicyInputList", "*"),
            ),
            ("SimulatePrincipalPolicy", ("PolicyInputList", "*")),
            ("SimulatePrincipalPolicy", ("PermissionsBoundaryPolicyInputList", "*")),
            ("SimulatePrincipalPolicy", ("ResourcePolicy",)),
            ("GetDelegationRequest", ("DelegationRequest", "PermissionPolicy")),
            ("ListDelegationRequests", ("DelegationRequests", "*", "PermissionPolicy")),
        )
    ),
    # STS session policies
    Field("sts", "AssumeRole", ("Policy",)),
    Field("sts", "AssumeRoleWithSAML", ("Policy",)),
    Field("sts", "AssumeRoleWithWebIdentity", ("Policy",)),
    Field("sts", "GetFederationToken", ("Policy",)),
    Field("sts", "GetScopedCredentials", ("Policy",)),
    # Organizations: policies (SCPs, tag, backup, ... policies) and the resource policy
    Field("organizations", "CreatePolicy", ("Content",)),
    Field("organizations", "CreatePolicy", ("Policy", "Content")),
    Field("organizations", "UpdatePolicy", ("Content",)),
    Field("organizations", "UpdatePolicy", ("Policy", "Content")),
    Field("organizations", "DescribePolicy", ("Policy", "Content")),
    Field("organizations", "DescribeEffectivePolicy", ("EffectivePolicy", "PolicyContent")),
    Field("organizations", "PutResourcePolicy", ("Content",)),
    Field("organizations", "PutResourcePolicy", ("ResourcePolicy", "Content")),
    Field("organizations", "DescribeResourcePolicy", ("ResourcePolicy", "Content")),
    # IAM Identity Center permission sets
    Field("sso-admin", "PutInlinePolicyToPermissionSet", ("InlinePolicy",)),
    Field("sso-admin", "GetInlinePolicyForPermissionSet", ("InlinePolicy",)),
    # API Gateway (AWS returns `policy` JSON-escaped; decoding undoes that)
    Field("api-gateway", "GetRestApi", ("policy",)),
    Field("api-gateway", "GetRestApis", ("items", "*", "policy")),
    Field("api-gateway", "CreateRestApi", ("policy",)),
    Field("api-gateway", "UpdateRestApi", ("policy",)),
)
"""Every place the ``"policies"`` plugin turns a JSON string into a dict and back.

A row applies to the request when its path exists in the operation's input (botocore's
model), to the response when it exists in the output, to both when both have it
(API Gateway ``CreateRestApi``). IAM rows are requests only: botocore already returns
IAM's ``policyDocumentType`` values as dicts. For IAM, STS, Organizations and IAM Identity
Center, and for every other service with a row (bar the SQS and SNS attribute maps and
API Gateway), the table holds every policy-document string of botocore's models of the
service (``tests/test_policies_table.py`` walks the models and checks it).
"""


# -------------------------------------------------------------------------------------------
# The reusable machinery
# -------------------------------------------------------------------------------------------


@final
class _Plan:
    """The fields of one operation, split by the side of the call they are on."""

    __slots__ = ("request", "response")

    def __init__(self, request: tuple[Field, ...], response: tuple[Field, ...]) -> None:
        self.request = request
        self.response = response


class FieldTransform:
    """Base class for plugins that rewrite values at fixed places of requests and responses.

    Give it a table of :class:`Field` rows and override :meth:`decode` (response values,
    in ``botoware_after_call``) and/or :meth:`encode` (request values, in
    ``botoware_before_parameter_build``, before botocore validates them). The base class
    provides the rest:

    - ``botoware_scope`` built from the table, so every other call skips the plugin;
    - which side of the call a row applies to, from botocore's model of the operation;
    - walking the path (lists, maps, ``when`` pairs) and copying containers on the way
      instead of mutating them, so the caller's own dicts stay as they were;
    - error handling: if ``decode``/``encode`` raises, that value is left as it was and a
      warning naming the operation, the field and the exception's message (never the value
      itself, so keep values out of your messages) is logged, once per plugin, operation
      and field; later ones go to DEBUG. The call goes on.

    Example, Step Functions execution input and output as Python values::

        class ExecutionJson(FieldTransform):
            botoware_name = "sfn-json"

            def __init__(self) -> None:
                super().__init__([
                    Field("sfn", "DescribeExecution", ("input",)),
                    Field("sfn", "DescribeExecution", ("output",)),
                    Field("sfn", "StartExecution", ("input",)),
                ])

            def decode(self, call, field, value):
                return json.loads(value)

            def encode(self, call, field, value):
                return value if isinstance(value, str) else json.dumps(value)
    """

    botoware_scope: tuple[str, ...]

    def __init__(self, fields: Iterable[Field]) -> None:
        self.fields: tuple[Field, ...] = tuple(fields)
        for field in self.fields:
            if not isinstance(field, Field):
                raise ConfigurationError(f"fields must be Field rows, not {field!r}")
        self.botoware_scope = tuple(sorted({f"{f.service}.{f.operation}" for f in self.fields}))
        self._by_operation: dict[tuple[str, str], list[Field]] = {}
        for field in self.fields:
            self._by_operation.setdefault((field.service, field.operation), []).append(field)
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._reported: set[tuple[str, str, str]] = set()

    # ---- what subclasses override -------------------------------------------------------

    def decode(self, call: Call, field: Field, value: Any) -> Any:
        """Return what the user gets instead of the response's ``value`` (default: ``value``).

        Return ``value`` itself to leave it; raise (e.g. ``ValueError``) to leave it with a
        warning. Runs on the final response of the call (not on error responses).
        """
        return value

    def encode(self, call: Call, field: Field, value: Any) -> Any:
        """Return what botocore gets instead of the parameter ``value`` (default: ``value``).

        Runs before validation; return ``value`` itself to leave it. Raising leaves it with a
        warning, and botocore's validation then reports a wrong type as usual.
        """
        return value

    # ---- hooks -------------------------------------------------------------------------

    def botoware_before_parameter_build(
        self, call: Call, params: dict[str, Any], model: OperationModel
    ) -> None:
        """Encode the request's fields (the user's nested dicts are copied, not changed)."""
        for field in self._plan(call, model).request:
            new = _rewrite(params, field.path, field.when, self._encoder(call, field))
            if new is not params:
                params.update(new)

    def botoware_after_call(
        self, call: Call, parsed: dict[str, Any], model: OperationModel
    ) -> None:
        """Decode the response's fields in ``parsed``, which is what the user receives."""
        if "Error" in parsed:
            return
        for field in self._plan(call, model).response:
            new = _rewrite(parsed, field.path, field.when, self._decoder(call, field))
            if new is not parsed:
                parsed.update(new)

    # ---- internals ---------------------------------------------------------------------

    def _plan(self, call: Call, model: OperationModel) -> _Plan:
        key = (call.service, call.operation)
        plan = self._plans.get(key)
        if plan is None:
            fields = self._by_operation.get(key, [])
            request = tuple(f for f in fields if _resolves(model.input_shape, f))
            response = tuple(f for f in fields if _resolves(model.output_shape, f))
            for field in fields:
                if field not in request and field not in response:
                    logger.warning(
                        "botoware: %r matches nothing in botocore's model of %s.%s; "
                        "check its path and the shapes in botocore's service model",
                        field,
                        call.service_id,
                        call.operation,
                    )
            plan = self._plans[key] = _Plan(request, response)
        return plan

    def _decoder(self, call: Call, field: Field) -> _Step:
        return lambda value: self._guarded(self.decode, call, field, value)

    def _encoder(self, call: Call, field: Field) -> _Step:
        return lambda value: self._guarded(self.encode, call, field, value)

    def _guarded(self, method: _Method, call: Call, field: Field, value: Any) -> Any:
        try:
            return method(call, field, value)
        except Exception as exc:
            key = (call.service, call.operation, field.name)
            level = logging.DEBUG if key in self._reported else logging.WARNING
            self._reported.add(key)
            logger.log(
                level,
                "botoware %s: %s.%s %s left as it was: %s",
                getattr(self, "botoware_name", type(self).__name__),
                call.service_id,
                call.operation,
                field.name,
                _errors.redacted(exc) or exc,
                # A ValueError is data botoware cannot read; anything else is a bug to see.
                exc_info=False if isinstance(exc, ValueError) else _errors.loggable(exc),
            )
            return value


def _rewrite(node: Any, path: tuple[str, ...], when: tuple[str, str] | None, step: _Step) -> Any:
    """``node`` with ``step`` applied at ``path``: a copy along the path if anything changed,
    ``node`` itself otherwise."""
    key, rest = path[0], path[1:]
    if key == _ANY:

        def each(item: Any) -> Any:
            return _rewrite(item, rest, when, step) if rest else step(item)

        if isinstance(node, list):
            items = [each(item) for item in node]
            return items if any(n is not o for n, o in zip(items, node, strict=True)) else node
        if isinstance(node, Mapping):
            values = {k: each(v) for k, v in node.items()}
            return values if any(values[k] is not node[k] for k in node) else node
        return node
    if not isinstance(node, Mapping) or key not in node:
        return node
    if rest:
        new = _rewrite(node[key], rest, when, step)
    elif when is None or node.get(when[0]) == when[1]:
        new = step(node[key])
    else:
        return node
    if new is node[key]:
        return node
    copy = dict(node)
    copy[key] = new
    return copy


def _resolves(shape: Shape | None, field: Field) -> bool:
    """True when ``field.path`` leads to a string in the botocore shape."""
    parent: Shape | None = None
    for key in field.path:
        parent = shape
        if isinstance(shape, StructureShape):
            shape = None if key == _ANY else shape.members.get(key)
        elif isinstance(shape, MapShape):
            shape = shape.value
        elif isinstance(shape, ListShape) and key == _ANY:
            shape = shape.member
        else:
            return False
    if (
        field.when is not None
        and isinstance(parent, StructureShape)
        and field.when[0] not in parent.members
    ):
        return False
    return shape is not None and shape.type_name == "string"


# -------------------------------------------------------------------------------------------
# Policies
# -------------------------------------------------------------------------------------------


class PoliciesPlugin(FieldTransform):
    """JSON policy documents as dicts in responses, and dicts accepted in requests.

    - Response: a JSON string at a field of the table becomes a dict. A document that is
      not a JSON object stays the string it was, with one warning per operation and field
      (logger ``botoware.plugins.policies``; the document itself is never logged). An empty
      string means "no document" and stays as it is, silently.
    - Request: a dict (any mapping) at a field of the table is sent as compact JSON
      (``separators=(",", ":")``); strings go through untouched.

    :param fields: the table to use; default :data:`POLICY_FIELDS`. Extend it with
        ``PoliciesPlugin(fields=(*POLICY_FIELDS, Field("iot", "GetPolicy", ("policyDocument",))))``.
        Rows of :data:`POLICY_FIELDS` for operations the installed botocore does not have
        yet (the table follows the newest models) are left out; a row of your own that names
        an unknown service or operation is a ``PluginError`` at ``install()``.
    """

    botoware_name = "policies"

    def __init__(self, fields: Iterable[Field] | None = None) -> None:
        super().__init__(_installed(POLICY_FIELDS if fields is None else fields))

    def decode(self, call: Call, field: Field, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return value
        return _parse_document(value)

    def encode(self, call: Call, field: Field, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_plain)

    def __repr__(self) -> str:
        return f"<PoliciesPlugin fields={len(self.fields)}>"


_BUILT_IN_ROWS = frozenset(POLICY_FIELDS)


def _installed(fields: Iterable[Field]) -> list[Field]:
    """``fields`` less the built-in rows this botocore's models do not know."""
    from botoware._names import operations

    return [f for f in fields if f not in _BUILT_IN_ROWS or f.operation in operations(f.service)]


def _parse_document(text: str) -> dict[str, Any]:
    if text.startswith("%7B"):  # IAM sends documents URL-encoded
        text = urllib.parse.unquote(text)
    try:
        document = json.loads(text)
    except ValueError as error:
        if '\\"' not in text:
            raise ValueError(f"not valid JSON ({error})") from None
        # API Gateway sends `policy` escaped as the inside of a JSON string literal:
        # {\"Version\":\"2012-10-17\", ... \"10.0.0.0\/8\"}
        try:
            document = json.loads(json.loads(f'"{text}"'))
        except ValueError:
            raise ValueError(f"not valid JSON ({error})") from None
    if isinstance(document, str):  # a document encoded twice
        document = json.loads(document)
    if not isinstance(document, dict):
        raise ValueError(f"JSON, but a {type(document).__name__}, not an object")
    return document


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a {type(value).__name__} in the document cannot be written as JSON")


def plugin() -> PoliciesPlugin:
    """The built-in ``"policies"`` plugin with the default table."""
    return PoliciesPlugin()
