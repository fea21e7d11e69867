"""The "policies" plugin against moto: documents come back as dicts, dicts go out as JSON."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import urllib.parse
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ParamValidationError
from conftest import BOTH_KINDS

import botoware
from botoware.plugins.policies import PoliciesPlugin

ACCOUNT = "123456789012"
DOC: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "*",
            "Resource": "*",
        }
    ],
}
COMPACT = json.dumps(DOC, separators=(",", ":"))
LOGGER = "botoware.plugins.policies"


@pytest.fixture
def installed(session: boto3.Session) -> Iterator[botoware.Installation]:
    """The built-in "policies" plugin installed on ``session``."""
    with botoware.install(session, plugins=["policies"], autoload=False) as installation:
        yield installation


@pytest.fixture
def name() -> str:
    """A resource name no other test uses (moto's state lives as long as the server)."""
    return f"pol-{uuid.uuid4().hex[:12]}"


class _Raw:
    """The ``raw`` of an AWSResponse: what botocore reads the body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


class Canned:
    """Answers one operation at before_send with a wire-format body; keeps request bodies."""

    botoware_name = "canned"

    def __init__(self, scope: str, body: str, content_type: str = "application/json") -> None:
        self.botoware_scope = (scope,)
        self.body = body.encode()
        self.content_type = content_type
        self.sent: list[bytes] = []

    def botoware_before_send(self, request: AWSPreparedRequest) -> AWSResponse:
        body = request.body
        self.sent.append(body if isinstance(body, bytes) else str(body or "").encode())
        headers = {"Content-Type": self.content_type, "x-amzn-RequestId": "canned"}
        return AWSResponse(request.url, 200, headers, _Raw(self.body))


class SentBodies:
    """Records the body of every request in its scope, and lets it go to moto."""

    botoware_name = "sent-bodies"

    def __init__(self, *scope: str) -> None:
        self.botoware_scope = scope
        self.bodies: list[bytes] = []

    def botoware_before_send(self, request: AWSPreparedRequest) -> None:
        body = request.body
        self.bodies.append(body if isinstance(body, bytes) else str(body or "").encode())


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _function(client: Any, name: str) -> str:
    """A Lambda function in moto (creating one needs an IAM role and a zip, not docker)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": _zip()},
    )
    return name


# -------------------------------------------------------------------------------------------
# Lambda
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_lambda_get_policy_returns_the_policy_as_a_dict(client: Any, name: str) -> None:
    """lambda.get_policy() returns Policy as a dict with the statement add_permission made."""
    function = _function(client, name)
    client("lambda").add_permission(
        FunctionName=function,
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    policy = client("lambda").get_policy(FunctionName=function)["Policy"]
    assert isinstance(policy, dict)
    assert [s["Sid"] for s in policy["Statement"]] == ["s3-invoke"]


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_lambda_add_permission_returns_the_statement_as_a_dict(client: Any, name: str) -> None:
    """lambda.add_permission() returns the new Statement as a dict."""
    function = _function(client, name)
    statement = client("lambda").add_permission(
        FunctionName=function,
        StatementId="events-invoke",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )["Statement"]
    assert statement["Sid"] == "events-invoke"


# -------------------------------------------------------------------------------------------
# S3
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_s3_bucket_policy_put_as_a_dict_comes_back_as_a_dict(client: Any, name: str) -> None:
    """s3.put_bucket_policy(Policy=dict) stores the document; get_bucket_policy returns a dict."""
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=DOC)
    assert s3.get_bucket_policy(Bucket=name)["Policy"] == DOC


@BOTH_KINDS
def test_dict_parameters_are_sent_as_compact_json(session: boto3.Session, client: Any) -> None:
    """A dict parameter goes on the wire as json.dumps(doc, separators=(",", ":"))."""
    bodies = SentBodies("s3.PutBucketPolicy")
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with botoware.install(session, plugins=["policies", bodies], autoload=False):
        s3.put_bucket_policy(Bucket=bucket, Policy=DOC)
    assert bodies.bodies == [COMPACT.encode()]


@BOTH_KINDS
def test_string_parameters_are_sent_untouched(session: boto3.Session, client: Any) -> None:
    """A policy passed as a string is sent exactly as given, not re-serialized."""
    bodies = SentBodies("s3.PutBucketPolicy")
    pretty = json.dumps(DOC, indent=2)
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with botoware.install(session, plugins=["policies", bodies], autoload=False):
        s3.put_bucket_policy(Bucket=bucket, Policy=pretty)
    assert bodies.bodies == [pretty.encode()]


# -------------------------------------------------------------------------------------------
# SQS
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_sqs_create_queue_takes_dicts_and_get_attributes_returns_dicts(
    client: Any, name: str
) -> None:
    """create_queue(Attributes={Policy, RedrivePolicy: dict}) round-trips through get."""
    sqs = client("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 3}
    url = sqs.create_queue(QueueName=name, Attributes={"Policy": DOC, "RedrivePolicy": redrive})[
        "QueueUrl"
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["Policy"] == DOC
    assert attributes["RedrivePolicy"] == redrive
    assert attributes["VisibilityTimeout"] == "30"


@BOTH_KINDS
def test_sqs_set_queue_attributes_sends_dicts_as_json(session: boto3.Session, client: Any) -> None:
    """set_queue_attributes(Attributes={RedriveAllowPolicy: dict}) sends the JSON string."""
    bodies = SentBodies("sqs.SetQueueAttributes")
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"pol-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    allow = {"redrivePermission": "allowAll"}
    with botoware.install(session, plugins=["policies", bodies], autoload=False):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": allow})
    sent = json.loads(bodies.bodies[0])["Attributes"]
    assert sent == {"RedriveAllowPolicy": '{"redrivePermission":"allowAll"}'}


@BOTH_KINDS
def test_sqs_redrive_allow_policy_comes_back_as_a_dict(session: boto3.Session, client: Any) -> None:
    """GetQueueAttributes' RedriveAllowPolicy is a dict (canned: moto 5.2 never returns it)."""
    canned = Canned(
        "sqs.GetQueueAttributes",
        json.dumps(
            {
                "Attributes": {
                    "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq",
                    "RedriveAllowPolicy": json.dumps(
                        {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:q"]}
                    ),
                }
            }
        ),
        "application/x-amz-json-1.0",
    )
    sqs = client("sqs")
    with botoware.install(session, plugins=["policies", canned], autoload=False):
        attributes = sqs.get_queue_attributes(QueueUrl="http://q/1/dlq", AttributeNames=["All"])
    allow = attributes["Attributes"]["RedriveAllowPolicy"]
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:q"]}


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_the_callers_dicts_are_not_changed(client: Any, name: str) -> None:
    """Serializing copies the Attributes map: the caller's dicts keep their dict values."""
    document = copy.deepcopy(DOC)
    attributes = {"Policy": document}
    client("sqs").create_queue(QueueName=name, Attributes=attributes)
    assert attributes == {"Policy": DOC}
    assert attributes["Policy"] is document


# -------------------------------------------------------------------------------------------
# SNS
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_sns_topic_attributes_are_dicts(client: Any, name: str) -> None:
    """create_topic/set_topic_attributes take dicts; get_topic_attributes returns dicts."""
    sns = client("sns")
    delivery = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}}
    topic = sns.create_topic(Name=name, Attributes={"Policy": DOC})["TopicArn"]
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue=delivery
    )
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["Policy"] == DOC
    assert attributes["DeliveryPolicy"] == delivery
    assert isinstance(attributes["EffectiveDeliveryPolicy"], dict)
    assert attributes["TopicArn"] == topic


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_sns_attribute_pairs_other_than_policies_are_untouched(client: Any, name: str) -> None:
    """set_topic_attributes with a non-policy AttributeName passes its value through."""
    sns = client("sns")
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="{x}")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "{x}"


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_sns_subscription_attributes_are_dicts(client: Any, name: str) -> None:
    """subscribe/set_subscription_attributes take dicts; get_subscription_attributes too."""
    sns, sqs = client("sns"), client("sqs")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    endpoint = queue_arn["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=name)["TopicArn"]
    filter_policy = {"store": ["example_corp"], "price_usd": [{"numeric": [">=", 100]}]}
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=endpoint,
        Attributes={"FilterPolicy": filter_policy},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    redrive = {"deadLetterTargetArn": endpoint}
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="RedrivePolicy", AttributeValue=redrive
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["FilterPolicy"] == filter_policy
    assert attributes["RedrivePolicy"] == redrive


# -------------------------------------------------------------------------------------------
# KMS
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_kms_create_key_takes_a_dict_and_get_key_policy_returns_it(client: Any) -> None:
    """kms.create_key(Policy=dict) round-trips through get_key_policy."""
    kms = client("kms")
    key = kms.create_key(Policy=DOC)["KeyMetadata"]["KeyId"]
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == DOC


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_kms_put_key_policy_takes_a_dict(client: Any) -> None:
    """kms.put_key_policy(Policy=dict) replaces the policy get_key_policy returns."""
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=DOC)
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == DOC


# -------------------------------------------------------------------------------------------
# ECR
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_ecr_repository_policy_is_a_dict_both_ways(client: Any, name: str) -> None:
    """set_repository_policy takes a dict; it and get_repository_policy return dicts."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=name)
    assert ecr.set_repository_policy(repositoryName=name, policyText=DOC)["policyText"] == DOC
    assert ecr.get_repository_policy(repositoryName=name)["policyText"] == DOC


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_ecr_lifecycle_policy_is_a_dict_both_ways(client: Any, name: str) -> None:
    """put_lifecycle_policy takes a dict; get/delete_lifecycle_policy return dicts."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=name)
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 14,
        },
        "action": {"type": "expire"},
    }
    lifecycle = {"rules": [rule]}
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=lifecycle)
    assert ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"] == lifecycle
    assert ecr.delete_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"] == lifecycle


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_ecr_registry_policy_is_a_dict_both_ways(client: Any) -> None:
    """put_registry_policy takes a dict; get_registry_policy returns it."""
    ecr = client("ecr")
    registry = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Replicate",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*",
            }
        ],
    }
    ecr.put_registry_policy(policyText=registry)
    try:
        assert ecr.get_registry_policy()["policyText"] == registry
    finally:
        ecr.delete_registry_policy()


# -------------------------------------------------------------------------------------------
# Secrets Manager
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_secretsmanager_resource_policy_is_a_dict_both_ways(client: Any, name: str) -> None:
    """put_resource_policy takes a dict; get_resource_policy returns it."""
    secrets = client("secretsmanager")
    secrets.create_secret(Name=name, SecretString="not-a-policy")
    secrets.put_resource_policy(SecretId=name, ResourcePolicy=DOC)
    assert secrets.get_resource_policy(SecretId=name)["ResourcePolicy"] == DOC


@BOTH_KINDS
def test_secretsmanager_validate_resource_policy_takes_a_dict(
    session: boto3.Session, client: Any
) -> None:
    """validate_resource_policy(ResourcePolicy=dict) sends compact JSON (canned: moto lacks it)."""
    canned = Canned(
        "secrets-manager.ValidateResourcePolicy",
        '{"PolicyValidationPassed":true,"ValidationErrors":[]}',
        "application/x-amz-json-1.1",
    )
    secrets = client("secretsmanager")
    with botoware.install(session, plugins=["policies", canned], autoload=False):
        assert secrets.validate_resource_policy(ResourcePolicy=DOC)["PolicyValidationPassed"]
    assert json.loads(canned.sent[0]) == {"ResourcePolicy": COMPACT}


# -------------------------------------------------------------------------------------------
# EventBridge, CloudWatch Logs
# -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_eventbridge_put_permission_takes_a_dict_and_describe_returns_it(
    client: Any, name: str
) -> None:
    """events.put_permission(Policy=dict) round-trips through describe_event_bus."""
    events = client("events")
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OtherAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "events:PutEvents",
                "Resource": bus,
            }
        ],
    }
    events.put_permission(EventBusName=name, Policy=policy)
    assert events.describe_event_bus(Name=name)["Policy"] == policy


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_logs_resource_policies_are_dicts(client: Any, name: str) -> None:
    """logs.put_resource_policy takes a dict; it and describe_resource_policies return dicts."""
    logs = client("logs")
    put = logs.put_resource_policy(policyName=name, policyDocument=DOC)
    assert put["resourcePolicy"]["policyDocument"] == DOC
    listed = logs.describe_resource_policies()["resourcePolicies"]
    assert [p["policyDocument"] for p in listed if p["policyName"] == name] == [DOC]


# -------------------------------------------------------------------------------------------
# API Gateway
# -------------------------------------------------------------------------------------------

# GetRestApi as AWS sends it: the policy is escaped like the inside of a JSON string, slashes
# included, so the parsed value is {\"Version\":...} (moto sends plain JSON instead).
ESCAPED_REST_API = (
    '{"id":"a1b2c3d4e5","name":"escaped","apiKeySource":"HEADER","policy":"'
    r"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\","
    r"\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"execute-api:Invoke\\\","
    r"\\\"Resource\\\":\\\"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5\\/*\\\","
    r"\\\"Condition\\\":{\\\"IpAddress\\\":{\\\"aws:SourceIp\\\":\\\"10.0.0.0\\/8\\\"}}}]}"
    '"}'
)


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_apigateway_rest_api_policy_is_a_dict_both_ways(client: Any, name: str) -> None:
    """create_rest_api(policy=dict) returns a dict; get_rest_api and get_rest_apis too."""
    apigateway = client("apigateway")
    created = apigateway.create_rest_api(name=name, policy=DOC)
    assert created["policy"] == DOC
    assert apigateway.get_rest_api(restApiId=created["id"])["policy"] == DOC
    listed = apigateway.get_rest_apis(limit=500)["items"]
    assert [api["policy"] for api in listed if api["id"] == created["id"]] == [DOC]


@BOTH_KINDS
def test_apigateway_escaped_policy_is_unescaped(session: boto3.Session, client: Any) -> None:
    """GetRestApi's JSON-escaped policy, as real AWS sends it, becomes the plain dict."""
    canned = Canned("api-gateway.GetRestApi", ESCAPED_REST_API)
    apigateway = client("apigateway")
    with botoware.install(session, plugins=["policies", canned], autoload=False):
        policy = apigateway.get_rest_api(restApiId="a1b2c3d4e5")["policy"]
    statement = policy["Statement"][0]
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*"
    assert statement["Condition"] == {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}


# -------------------------------------------------------------------------------------------
# IAM, STS, Organizations, IAM Identity Center
# -------------------------------------------------------------------------------------------

TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ_ONLY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


@pytest.mark.usefixtures("installed")
def test_iam_create_role_takes_a_trust_policy_dict(client: Any, name: str) -> None:
    """create_role(AssumeRolePolicyDocument=dict) works; get_role returns the same dict."""
    iam = client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == TRUST


@pytest.mark.usefixtures("installed")
def test_iam_update_assume_role_policy_takes_a_dict(client: Any, name: str) -> None:
    """update_assume_role_policy(PolicyDocument=dict) replaces the trust policy."""
    iam = client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    ec2_trust = copy.deepcopy(TRUST)
    ec2_trust["Statement"][0]["Principal"] = {"Service": "ec2.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=ec2_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == ec2_trust


@pytest.mark.usefixtures("installed")
def test_iam_inline_policies_take_dicts(client: Any, name: str) -> None:
    """put_role_policy / put_user_policy / put_group_policy accept dicts."""
    iam = client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=READ_ONLY)
    assert iam.get_role_policy(RoleName=name, PolicyName="read")["PolicyDocument"] == READ_ONLY
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=READ_ONLY)
    assert iam.get_user_policy(UserName=name, PolicyName="read")["PolicyDocument"] == READ_ONLY
    iam.create_group(GroupName=name)
    iam.put_group_policy(GroupName=name, PolicyName="read", PolicyDocument=READ_ONLY)
    assert iam.get_group_policy(GroupName=name, PolicyName="read")["PolicyDocument"] == READ_ONLY


@pytest.mark.usefixtures("installed")
def test_iam_managed_policies_and_versions_take_dicts(client: Any, name: str) -> None:
    """create_policy and create_policy_version accept dicts; versions read back as dicts."""
    iam = client("iam")
    arn = iam.create_policy(PolicyName=name, PolicyDocument=READ_ONLY)["Policy"]["Arn"]
    wider = copy.deepcopy(READ_ONLY)
    wider["Statement"][0]["Action"] = ["s3:GetObject", "s3:ListBucket"]
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=wider, SetAsDefault=True)
    got = iam.get_policy_version(PolicyArn=arn, VersionId=version["PolicyVersion"]["VersionId"])
    assert got["PolicyVersion"]["Document"] == wider


def test_iam_documents_are_sent_as_compact_json(session: boto3.Session, client: Any) -> None:
    """The dict goes out as compact JSON in the form-encoded IAM request."""
    bodies = SentBodies("iam.CreateRole")
    iam = client("iam")
    with botoware.install(session, plugins=["policies", bodies], autoload=False):
        iam.create_role(RoleName=f"pol-{uuid.uuid4().hex[:12]}", AssumeRolePolicyDocument=TRUST)
    sent = urllib.parse.parse_qs(bodies.bodies[0].decode())
    assert sent["AssumeRolePolicyDocument"] == [json.dumps(TRUST, separators=(",", ":"))]


def test_iam_simulate_custom_policy_takes_a_list_of_dicts(
    session: boto3.Session, client: Any
) -> None:
    """simulate_custom_policy(PolicyInputList=[dict, str]) encodes each dict of the list
    (canned: moto does not simulate policies)."""
    body = (
        '<SimulateCustomPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulateCustomPolicyResult><EvaluationResults/><IsTruncated>false</IsTruncated>"
        "</SimulateCustomPolicyResult>"
        "<ResponseMetadata><RequestId>canned</RequestId></ResponseMetadata>"
        "</SimulateCustomPolicyResponse>"
    )
    canned = Canned("iam.SimulateCustomPolicy", body, "text/xml")
    iam = client("iam")
    with botoware.install(session, plugins=["policies", canned], autoload=False):
        iam.simulate_custom_policy(
            PolicyInputList=[READ_ONLY, COMPACT], ActionNames=["s3:GetObject"]
        )
    sent = urllib.parse.parse_qs(canned.sent[0].decode())
    assert sent["PolicyInputList.member.1"] == [json.dumps(READ_ONLY, separators=(",", ":"))]
    assert sent["PolicyInputList.member.2"] == [COMPACT]


@pytest.mark.usefixtures("installed")
def test_sts_assume_role_takes_a_session_policy_dict(client: Any, name: str) -> None:
    """assume_role(Policy=dict) narrows the session with a dict."""
    role = client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    credentials = client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="session", Policy=READ_ONLY
    )["Credentials"]
    assert credentials["AccessKeyId"]


@pytest.mark.usefixtures("installed")
def test_organizations_policy_content_is_a_dict_both_ways(client: Any) -> None:
    """create_policy(Content=dict) and describe_policy returning Content as a dict."""
    organizations = client("organizations")
    with contextlib.suppress(organizations.exceptions.AlreadyInOrganizationException):
        organizations.create_organization(FeatureSet="ALL")
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}],
    }
    created = organizations.create_policy(
        Name=f"pol-{uuid.uuid4().hex[:12]}",
        Description="no bucket deletes",
        Type="SERVICE_CONTROL_POLICY",
        Content=deny,
    )["Policy"]
    assert created["Content"] == deny
    policy_id = created["PolicySummary"]["Id"]
    assert organizations.describe_policy(PolicyId=policy_id)["Policy"]["Content"] == deny
    deny["Statement"][0]["Action"] = "s3:*"
    updated = organizations.update_policy(PolicyId=policy_id, Content=deny)["Policy"]
    assert updated["Content"] == deny


@pytest.mark.usefixtures("installed")
def test_sso_admin_inline_policy_is_a_dict_both_ways(client: Any) -> None:
    """put_inline_policy_to_permission_set(InlinePolicy=dict); the get returns a dict."""
    sso = client("sso-admin")
    instance = "arn:aws:sso:::instance/ssoins-1111111111111111"
    permission_set = sso.create_permission_set(
        Name=f"pol-{uuid.uuid4().hex[:8]}", InstanceArn=instance
    )["PermissionSet"]["PermissionSetArn"]
    sso.put_inline_policy_to_permission_set(
        InstanceArn=instance, PermissionSetArn=permission_set, InlinePolicy=READ_ONLY
    )
    got = sso.get_inline_policy_for_permission_set(
        InstanceArn=instance, PermissionSetArn=permission_set
    )
    assert got["InlinePolicy"] == READ_ONLY


def test_iam_url_encoded_documents_are_decoded(session: boto3.Session, client: Any) -> None:
    """A delegation request's permission policy, URL-encoded as IAM sends it, becomes a dict."""
    encoded = urllib.parse.quote(json.dumps(READ_ONLY))
    body = (
        '<GetDelegationRequestResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<GetDelegationRequestResult><DelegationRequest>"
        f"<PermissionPolicy>{encoded}</PermissionPolicy>"
        "</DelegationRequest></GetDelegationRequestResult>"
        "<ResponseMetadata><RequestId>canned</RequestId></ResponseMetadata>"
        "</GetDelegationRequestResponse>"
    )
    canned = Canned("iam.GetDelegationRequest", body, "text/xml")
    iam = client("iam")
    with botoware.install(session, plugins=["policies", canned], autoload=False):
        got = iam.get_delegation_request(DelegationRequestId="d-1234567890abcdef")
    assert got["DelegationRequest"]["PermissionPolicy"] == READ_ONLY


# -------------------------------------------------------------------------------------------
# Documents that are not JSON, scope, uninstall
# -------------------------------------------------------------------------------------------


@BOTH_KINDS
def test_invalid_json_stays_a_string_with_one_warning(
    session: boto3.Session, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored policy that is not JSON comes back as the string, warned about once."""
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy="this is { not json")
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        with botoware.install(session, plugins=["policies"], autoload=False):
            first = s3.get_bucket_policy(Bucket=bucket)["Policy"]
            second = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert first == second == "this is { not json"
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [r.levelno for r in records] == [logging.WARNING, logging.DEBUG]
    message = records[0].getMessage()
    assert "S3.GetBucketPolicy Policy" in message
    assert "not json" not in message.replace("not valid JSON", "")


@BOTH_KINDS
def test_unserializable_dict_fails_validation_not_the_plugin(
    session: boto3.Session, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A dict json cannot write is left to botocore's validation, with a warning."""
    s3 = client("s3")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        with botoware.install(session, plugins=["policies"], autoload=False):
            with pytest.raises(ParamValidationError):
                s3.put_bucket_policy(Bucket="pol-unused", Policy={"Statement": {1, 2}})
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 1
    assert "S3.PutBucketPolicy Policy" in messages[0]


@BOTH_KINDS
def test_uninstall_restores_plain_strings(session: boto3.Session, client: Any) -> None:
    """After uninstall() the same call returns the JSON string again."""
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=COMPACT)
    installation = botoware.install(session, plugins=["policies"], autoload=False)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == DOC
    installation.uninstall()
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == COMPACT


@pytest.mark.usefixtures("installed")
@BOTH_KINDS
def test_other_operations_keep_their_json_strings(client: Any, name: str) -> None:
    """A JSON string outside the table (a SecretString) stays a string."""
    secrets = client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=COMPACT)
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == COMPACT


class _Counting(PoliciesPlugin):
    """PoliciesPlugin that records which operations reach its hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def botoware_after_call(self, call: botoware.Call, parsed: dict[str, Any], model: Any) -> None:
        self.seen.append(call.operation)
        super().botoware_after_call(call, parsed, model)


@BOTH_KINDS
def test_out_of_scope_calls_never_reach_the_plugin(session: boto3.Session, client: Any) -> None:
    """Only the table's operations reach the plugin's hooks."""
    counting = _Counting()
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    with botoware.install(session, plugins=[counting], autoload=False):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=DOC)
        s3.list_buckets()
        s3.get_bucket_policy(Bucket=bucket)
    assert counting.seen == ["PutBucketPolicy", "GetBucketPolicy"]


@BOTH_KINDS
def test_error_responses_are_left_alone(session: boto3.Session, client: Any) -> None:
    """An AWS error (no bucket policy) still raises botocore's ClientError."""
    s3 = client("s3")
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with botoware.install(session, plugins=["policies"], autoload=False):
        with pytest.raises(s3.exceptions.ClientError) as raised:
            s3.get_bucket_policy(Bucket=bucket)
    assert raised.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
