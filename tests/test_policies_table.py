"""The policies table and FieldTransform: rows checked against botocore's models, scope,
field validation, and the base class's error handling."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import botocore
import botocore.session
import pytest

import botoware
from botoware.errors import ConfigurationError
from botoware.plugins import policies
from botoware.plugins.policies import POLICY_FIELDS, Field, FieldTransform, PoliciesPlugin

# botoware's service ids (as in event names) -> botocore's client names.
CLIENT_NAMES = {
    "lambda": "lambda",
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "kms": "kms",
    "ecr": "ecr",
    "secrets-manager": "secretsmanager",
    "eventbridge": "events",
    "cloudwatch-logs": "logs",
    "api-gateway": "apigateway",
    "iam": "iam",
    "sts": "sts",
    "organizations": "organizations",
    "sso-admin": "sso-admin",
}

# The string shapes that hold policy documents in these services' models: the table must
# cover every member of these shapes (botocore already decodes IAM's in responses).
DOCUMENT_SHAPES = {
    "iam": {"policyDocumentType", "permissionType"},
    "sts": {"sessionPolicyDocumentType", "unrestrictedSessionPolicyDocumentType"},
    "organizations": {"PolicyContent", "ResourcePolicyContent"},
    "sso-admin": {"PermissionSetPolicyDocument"},
    "lambda": {"ResourcePolicy"},
    "s3": {"Policy"},
    "kms": {"PolicyType"},
    "ecr": {"RepositoryPolicyText", "RegistryPolicyText", "LifecyclePolicyText"},
    "secrets-manager": {"NonEmptyResourcePolicyType"},
    "cloudwatch-logs": {"PolicyDocument", "AccountPolicyDocument", "DataProtectionPolicyDocument"},
}
DECODED_BY_BOTOCORE = {("iam", "policyDocumentType")}

# What issue 4 asks for, at least: (service, operation, field name).
REQUIRED = [
    ("lambda", "GetPolicy", "Policy"),
    ("s3", "GetBucketPolicy", "Policy"),
    ("s3", "PutBucketPolicy", "Policy"),
    *[
        ("sqs", op, f"Attributes.{attr}")
        for op in ("GetQueueAttributes", "SetQueueAttributes", "CreateQueue")
        for attr in ("Policy", "RedrivePolicy", "RedriveAllowPolicy")
    ],
    *[
        ("sns", "GetTopicAttributes", f"Attributes.{attr}")
        for attr in ("Policy", "DeliveryPolicy", "EffectiveDeliveryPolicy")
    ],
    ("sns", "SetTopicAttributes", "AttributeValue (AttributeName=Policy)"),
    ("sns", "CreateTopic", "Attributes.Policy"),
    ("sns", "GetSubscriptionAttributes", "Attributes.FilterPolicy"),
    ("sns", "GetSubscriptionAttributes", "Attributes.RedrivePolicy"),
    ("sns", "SetSubscriptionAttributes", "AttributeValue (AttributeName=FilterPolicy)"),
    ("sns", "Subscribe", "Attributes.FilterPolicy"),
    ("kms", "GetKeyPolicy", "Policy"),
    ("kms", "PutKeyPolicy", "Policy"),
    ("kms", "CreateKey", "Policy"),
    ("ecr", "GetRepositoryPolicy", "policyText"),
    ("ecr", "SetRepositoryPolicy", "policyText"),
    ("ecr", "GetLifecyclePolicy", "lifecyclePolicyText"),
    ("ecr", "PutLifecyclePolicy", "lifecyclePolicyText"),
    ("secrets-manager", "GetResourcePolicy", "ResourcePolicy"),
    ("secrets-manager", "PutResourcePolicy", "ResourcePolicy"),
    ("eventbridge", "DescribeEventBus", "Policy"),
    ("eventbridge", "PutPermission", "Policy"),
    ("cloudwatch-logs", "DescribeResourcePolicies", "resourcePolicies[].policyDocument"),
    ("cloudwatch-logs", "PutResourcePolicy", "policyDocument"),
    ("api-gateway", "GetRestApi", "policy"),
    ("api-gateway", "CreateRestApi", "policy"),
    # issue 14
    ("iam", "CreateRole", "AssumeRolePolicyDocument"),
    ("iam", "PutRolePolicy", "PolicyDocument"),
    ("iam", "CreatePolicy", "PolicyDocument"),
    ("iam", "CreatePolicyVersion", "PolicyDocument"),
    ("iam", "UpdateAssumeRolePolicy", "PolicyDocument"),
    ("organizations", "CreatePolicy", "Content"),
    ("sso-admin", "PutInlinePolicyToPermissionSet", "InlinePolicy"),
]


@pytest.fixture(scope="module")
def models() -> botocore.session.Session:
    """A botocore session to load service models from."""
    return botocore.session.get_session()


@pytest.mark.parametrize("field", POLICY_FIELDS, ids=lambda f: f"{f.operation}:{f.name}")
def test_every_row_names_a_string_in_botocores_model(
    field: Field, models: botocore.session.Session
) -> None:
    """Each row's service id, operation and path lead to a string in the request or response."""
    service = models.get_service_model(CLIENT_NAMES[field.service])
    assert service.service_id.hyphenize() == field.service
    if field.operation not in service.operation_names:
        pytest.skip(f"{field.operation} is newer than botocore {botocore.__version__}")
    operation = service.operation_model(field.operation)
    sides = [
        policies._resolves(operation.input_shape, field),
        policies._resolves(operation.output_shape, field),
    ]
    assert any(sides)


def test_the_table_covers_what_the_issue_asks_for() -> None:
    """Every operation and field named in issue 4 has a row."""
    rows = {(f.service, f.operation, f.name) for f in POLICY_FIELDS}
    assert [r for r in REQUIRED if r not in rows] == []


def _document_members(shape: Any, names: set[str], path: tuple[str, ...] = ()) -> Any:
    """Paths (with "*" for list items and map values) to strings of the ``names`` shapes."""
    if shape is None or len(path) > 8:
        return
    if shape.type_name == "structure":
        for key, member in shape.members.items():
            yield from _document_members(member, names, (*path, key))
    elif shape.type_name == "list":
        yield from _document_members(shape.member, names, (*path, "*"))
    elif shape.type_name == "map":
        yield from _document_members(shape.value, names, (*path, "*"))
    elif shape.type_name == "string" and shape.name in names:
        yield path, shape.name


@pytest.mark.parametrize("service", sorted(DOCUMENT_SHAPES))
def test_every_policy_document_of_the_service_has_a_row(
    service: str, models: botocore.session.Session
) -> None:
    """Every request and response member holding a policy document in botocore's model of
    the service (IAM, STS, Organizations, IAM Identity Center, and the others whose documents
    have shapes of their own) is in the table."""
    model = models.get_service_model(CLIENT_NAMES[service])
    rows = {(f.operation, f.path) for f in POLICY_FIELDS if f.service == service}
    missing = []
    for operation in model.operation_names:
        operation_model = model.operation_model(operation)
        for side, shape in (
            ("request", operation_model.input_shape),
            ("response", operation_model.output_shape),
        ):
            for path, shape_name in _document_members(shape, DOCUMENT_SHAPES[service]):
                if side == "response" and (service, shape_name) in DECODED_BY_BOTOCORE:
                    continue
                if (operation, path) not in rows:
                    missing.append((operation, side, ".".join(path)))
    assert missing == []


def test_rows_are_unique() -> None:
    """No row appears twice."""
    assert len(set(POLICY_FIELDS)) == len(POLICY_FIELDS)


def _installed_rows() -> tuple[Field, ...]:
    """The table's rows for operations this botocore has (newer ones are left out)."""
    models = botocore.session.get_session()
    names = {f.service: CLIENT_NAMES[f.service] for f in POLICY_FIELDS}
    known = {s: set(models.get_service_model(c).operation_names) for s, c in names.items()}
    return tuple(f for f in POLICY_FIELDS if f.operation in known[f.service])


def test_scope_is_the_tables_operations() -> None:
    """botoware_scope lists exactly the table's service.Operation pairs botocore has, sorted."""
    expected = sorted({f"{f.service}.{f.operation}" for f in _installed_rows()})
    assert list(PoliciesPlugin().botoware_scope) == expected


def test_describe_reports_the_builtin_by_name_with_its_scope(session: boto3.Session) -> None:
    """install(plugins=["policies"]) registers it as "policies", scoped to the table."""
    with botoware.install(session, plugins=["policies"], autoload=False) as installation:
        (info,) = installation.describe()
    assert (info.name, info.source, info.status) == ("policies", "built-in", "active")
    assert info.hooks == ("botoware_before_parameter_build", "botoware_after_call")
    assert info.scope == PoliciesPlugin().botoware_scope


def test_plugin_factory_returns_the_default_plugin() -> None:
    """plugin() returns a PoliciesPlugin named "policies" with the default table."""
    made = policies.plugin()
    assert isinstance(made, PoliciesPlugin)
    assert made.botoware_name == "policies"
    assert made.fields == _installed_rows()


def test_fields_argument_replaces_the_table() -> None:
    """PoliciesPlugin(fields=...) uses exactly the rows given."""
    row = Field("iot", "GetPolicy", ("policyDocument",))
    assert PoliciesPlugin(fields=[row]).botoware_scope == ("iot.GetPolicy",)


def test_a_string_path_is_one_key() -> None:
    """Field(..., "Policy") is the same row as Field(..., ("Policy",))."""
    assert Field("s3", "GetBucketPolicy", "Policy") == Field("s3", "GetBucketPolicy", ("Policy",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("cloudwatch-logs", "GetLogEvents", ("events", "*", "message")), None),
        (("Logs", "GetPolicy", ("p",)), "hyphenized service id"),
        (("lambda", "Get-Policy", ("p",)), "operation"),
        (("lambda", "GetPolicy", ()), "non-empty"),
        (("s3", "ListThings", ("items", "*"), ("Name", "x")), "items of a list"),
    ],
)
def test_bad_rows_are_refused_with_a_reason(args: tuple[Any, ...], problem: str | None) -> None:
    """A row with a client-style service name, bad operation or bad path raises at once."""
    if problem is None:
        Field(*args)
        return
    with pytest.raises(ConfigurationError, match=problem):
        Field(*args)


def test_a_row_matching_nothing_in_the_model_is_reported_once(
    session: boto3.Session, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A path that is in neither the input nor the output shape logs one warning."""
    plugin = PoliciesPlugin(fields=[Field("s3", "ListBuckets", ("Polciy",))])
    s3 = client("s3")
    with caplog.at_level(logging.WARNING, logger="botoware.plugins.policies"):
        with botoware.install(session, plugins=[plugin], autoload=False):
            s3.list_buckets()
            s3.list_buckets()
    messages = [r.getMessage() for r in caplog.records if r.name == "botoware.plugins.policies"]
    assert len(messages) == 1
    assert "matches nothing in botocore's model of S3.ListBuckets" in messages[0]


class _Broken(FieldTransform):
    botoware_name = "broken"

    def decode(self, call: botoware.Call, field: Field, value: Any) -> Any:
        raise RuntimeError("a bug in the transform")


def test_a_transform_that_raises_leaves_the_value_and_logs_the_traceback(
    session: boto3.Session, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """decode raising anything but ValueError: value kept, warning with traceback, call goes on."""
    transform = _Broken([Field("s3", "ListBuckets", ("Owner", "ID"))])
    s3 = client("s3")
    with caplog.at_level(logging.WARNING, logger="botoware.plugins.policies"):
        with botoware.install(session, plugins=[transform], autoload=False):
            owner = s3.list_buckets()["Owner"]["ID"]
    assert isinstance(owner, str)
    (record,) = [r for r in caplog.records if r.name == "botoware.plugins.policies"]
    assert "broken: S3.ListBuckets Owner.ID left as it was" in record.getMessage()
    assert record.exc_info is not None


class _Upper(FieldTransform):
    botoware_name = "upper"

    def decode(self, call: botoware.Call, field: Field, value: Any) -> Any:
        return value.upper()


def test_field_transform_walks_lists_with_star(session: boto3.Session, client: Any) -> None:
    """A "*" step applies the transform to every item of a list."""
    s3 = client("s3")
    for name in ("star-one-bucket", "star-two-bucket"):
        s3.create_bucket(Bucket=name)
    transform = _Upper([Field("s3", "ListBuckets", ("Buckets", "*", "Name"))])
    with botoware.install(session, plugins=[transform], autoload=False):
        names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"STAR-ONE-BUCKET", "STAR-TWO-BUCKET"} <= names
