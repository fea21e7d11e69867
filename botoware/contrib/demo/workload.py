"""The "drop video transcoder": the workload of ``botoware demo`` and ``examples/transcoder.py``.

Videos dropped into an input bucket announce themselves on an SNS topic; an SQS queue subscribed
to the topic feeds a worker that "transcodes" each video into an output bucket and records the
job in DynamoDB. Around it: an IAM role and a Lambda function (created, never invoked: invoking
needs Docker under moto), thousands of segment keys listed with a paginator, waiters, errors the
pipeline expects, and a cleanup that deletes everything it made.

Plain boto3 throughout: the code reads the same with or without botoware. Two places lean on
botoware's ``"policies"`` plugin (a queue policy set as a dict and Lambda's policy read back as a
dict); with ``policies=False`` they do the JSON themselves. Each step checks what AWS answered
and raises :class:`StepFailed` when it is not what the step did.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, final

import boto3
from boto3.dynamodb.conditions import Key
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer

from botoware.contrib.otel import extract

__all__ = ["PAGE_SIZE", "Step", "StepFailed", "Transcoder"]

PAGE_SIZE = 250
"""``PageSize`` of the segment listing: 2000 segments are 8 pages."""

# s3transfer runs even a one-part upload in its own thread pool, where the caller's span is not
# current; in the calling thread every transfer call is a child of the flow's span.
_IN_THIS_THREAD = TransferConfig(use_threads=False)
_WORKERS = 4
# The local server shares the machine (often its process, too) with the workload, so on a
# loaded machine one answer can take long. A timeout would make botocore send the call again,
# and a repeated CreateRole, CreateFunction or Publish fails or doubles what the steps check;
# on loopback a slow answer is never a lost one.
_READ_TIMEOUT = 600
# How long the worker polls for job messages, and how long a received one stays invisible to
# other receives: both far beyond what a loaded machine takes, neither spent when all is well
# (SNS delivers to SQS before Publish answers).
_JOB_WAIT = 120.0
_VISIBILITY_TIMEOUT = 600


class StepFailed(Exception):
    """A step's check failed: AWS answered, but not what the step expected."""


@final
@dataclass(frozen=True)
class Step:
    """One named step of the workload; ``run()`` returns a one-line account of what it did."""

    name: str
    run: Callable[[], str]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def _transcode(video: bytes) -> bytes:
    """The "transcoder": deterministic, cheap, and checkable after the round trip."""
    return b"HLS\n" + hashlib.sha256(video).hexdigest().encode() + b"\n" + video[::-1]


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("thumbnailer.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@dataclass
class _Created:
    """What exists on the AWS side, so cleanup deletes exactly that (also after a failure)."""

    buckets: list[str] = field(default_factory=list)
    topic_arn: str | None = None
    subscription_arn: str | None = None
    queue_url: str | None = None
    role: str | None = None
    role_policy: str | None = None
    function: str | None = None
    table: str | None = None


@final
class Transcoder:
    """The pipeline, as a list of :class:`Step` objects run in order, cleanup last.

    :param session: the boto3 session whose clients the steps use (install botoware on it).
    :param endpoint_url: the AWS endpoint, e.g. a moto server on 127.0.0.1.
    :param workdir: an existing directory for the files uploaded and downloaded.
    :param prefix: the start of every resource name, so runs against one server never clash.
    :param videos: how many videos flow through the pipeline.
    :param segments: how many segment keys the paginator lists.
    :param tracer: for the pipeline's own spans (one per video upload and one per job, the
        latter parented by the trace context that travelled through SNS and SQS); default the
        global tracer provider's.
    :param policies: True when botoware's ``"policies"`` plugin is installed on ``session``.
    :param progress: called with a short status text while a long step runs.
    """

    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str,
        workdir: Path,
        *,
        prefix: str = "botoware-demo",
        videos: int = 4,
        segments: int = 2000,
        tracer: Tracer | None = None,
        policies: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if videos < 1 or segments < 1:
            raise ValueError("Transcoder needs at least one video and one segment.")
        self.workdir = workdir
        self.videos = [f"video-{n:02d}.mp4" for n in range(1, videos + 1)]
        self.segments = segments
        self.policies = policies
        self.tracer = tracer or trace.get_tracer("botoware.demo")
        self._progress = progress or (lambda text: None)
        self.inbox = f"{prefix}-videos-in"
        self.outbox = f"{prefix}-videos-out"
        self.topic_name = f"{prefix}-transcode-jobs"
        self.queue_name = f"{prefix}-transcode-queue"
        self.role_name = f"{prefix}-transcoder"
        self.function_name = f"{prefix}-thumbnailer"
        self.table_name = f"{prefix}-jobs"
        self.flow_trace_ids: dict[str, int] = {}
        """Per video: the trace id of its flow (upload, SNS, SQS, transcode)."""
        self.processed: list[str] = []
        """Videos in the order their jobs were transcoded."""
        self.created = _Created()

        # Clients are typed Any: with the policies plugin they accept dicts where botocore's
        # models (and their stubs) say str.
        boto: Any = session

        def client(service: str) -> Any:
            # More connections than workers: the segment writers share this S3 client.
            config = Config(max_pool_connections=_WORKERS * 2, read_timeout=_READ_TIMEOUT)
            return boto.client(service, endpoint_url=endpoint_url, config=config)

        self.s3 = client("s3")
        self.sns = client("sns")
        self.sqs = client("sqs")
        self.iam = client("iam")
        self.lambda_ = client("lambda")
        self.s3r: Any = boto.resource("s3", endpoint_url=endpoint_url)
        self.dynamodb: Any = boto.resource("dynamodb", endpoint_url=endpoint_url)
        self._payloads: dict[str, bytes] = {}

    def steps(self) -> list[Step]:
        """Every step in order; the last one, cleanup, is also :meth:`cleanup`."""
        return [
            Step("buckets", self.create_buckets),
            Step("topic and queue", self.create_topic_and_queue),
            Step("IAM role", self.create_role),
            Step("Lambda function", self.create_function),
            Step("jobs table", self.create_table),
            Step("upload and announce", self.upload_and_announce),
            Step("transcode jobs", self.process_jobs),
            Step("downloads", self.download_outputs),
            Step("job records", self.query_jobs),
            Step("segments", self.list_segments),
            Step("expected errors", self.expected_errors),
            Step("cleanup", self.cleanup),
        ]

    # ---- set-up -------------------------------------------------------------------------

    def create_buckets(self) -> str:
        for bucket in (self.inbox, self.outbox):
            self.s3.create_bucket(Bucket=bucket)
            self.created.buckets.append(bucket)
        waiter = self.s3.get_waiter("bucket_exists")
        for bucket in (self.inbox, self.outbox):
            waiter.wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        return f"{self.inbox} and {self.outbox} exist (waiter bucket_exists)"

    def create_topic_and_queue(self) -> str:
        topic_arn = self.sns.create_topic(Name=self.topic_name)["TopicArn"]
        self.created.topic_arn = topic_arn
        queue_url = self.sqs.create_queue(QueueName=self.queue_name)["QueueUrl"]
        self.created.queue_url = queue_url
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "topic-to-queue",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        document: Any = policy if self.policies else json.dumps(policy)
        self.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": document})
        subscription = self.sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )
        self.created.subscription_arn = subscription["SubscriptionArn"]
        answer = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
        stored = answer["Attributes"]["Policy"]
        if not self.policies:
            stored = json.loads(stored)
        _check(
            isinstance(stored, dict)
            and stored["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == topic_arn,
            f"the queue policy came back as {type(stored).__name__}, not the document we set",
        )
        return "topic -> queue subscription; queue policy read back as a dict"

    def create_role(self) -> str:
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
        self.iam.create_role(RoleName=self.role_name, AssumeRolePolicyDocument=json.dumps(trust))
        self.created.role = self.role_name
        resources = [f"arn:aws:s3:::{b}/*" for b in (self.inbox, self.outbox)]
        access = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": resources,
                }
            ],
        }
        policy_name = f"{self.role_name}-s3"
        self.iam.put_role_policy(
            RoleName=self.role_name, PolicyName=policy_name, PolicyDocument=json.dumps(access)
        )
        self.created.role_policy = policy_name
        # botocore itself decodes IAM's URL-encoded policy documents into dicts.
        stored = self.iam.get_role_policy(RoleName=self.role_name, PolicyName=policy_name)
        _check(
            stored["PolicyDocument"]["Statement"][0]["Resource"] == resources,
            "the role policy read back differs from the one put",
        )
        return f"role {self.role_name} with inline policy {policy_name}"

    def create_function(self) -> str:
        role_arn = self.iam.get_role(RoleName=self.role_name)["Role"]["Arn"]
        self.lambda_.create_function(
            FunctionName=self.function_name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="thumbnailer.handler",
            Code={"ZipFile": _lambda_zip()},
        )
        self.created.function = self.function_name
        self.lambda_.add_permission(
            FunctionName=self.function_name,
            StatementId="s3-invoke",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn=f"arn:aws:s3:::{self.inbox}",
        )
        policy = self.lambda_.get_policy(FunctionName=self.function_name)["Policy"]
        if not self.policies:
            policy = json.loads(policy)
        _check(
            isinstance(policy, dict)
            and [s.get("Sid") for s in policy.get("Statement", [])] == ["s3-invoke"],
            f"get_policy answered {type(policy).__name__}, not a policy dict with our statement",
        )
        return "get_policy()['Policy'] is a dict with statement 's3-invoke'"

    def create_table(self) -> str:
        self.dynamodb.create_table(
            TableName=self.table_name,
            KeySchema=[
                {"AttributeName": "video", "KeyType": "HASH"},
                {"AttributeName": "job", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "video", "AttributeType": "S"},
                {"AttributeName": "job", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.created.table = self.table_name
        waiter = self.dynamodb.meta.client.get_waiter("table_exists")
        waiter.wait(TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        return f"table {self.table_name} is active (waiter table_exists)"

    # ---- the flow ----------------------------------------------------------------------

    def upload_and_announce(self) -> str:
        inbox = self.s3r.Bucket(self.inbox)
        for number, video in enumerate(self.videos):
            payload = hashlib.sha256(video.encode()).digest() * 2048  # 64 KiB of "video"
            self._payloads[video] = payload
            with self.tracer.start_as_current_span(f"upload {video}") as span:
                self.flow_trace_ids[video] = span.get_span_context().trace_id
                if number % 2 == 0:
                    path = self.workdir / video
                    path.write_bytes(payload)
                    self.s3.upload_file(str(path), self.inbox, video, Config=_IN_THIS_THREAD)
                else:
                    inbox.Object(video).put(Body=payload, ContentType="video/mp4")
                job = {"bucket": self.inbox, "key": video}
                self.sns.publish(
                    TopicArn=self.created.topic_arn, Subject="transcode", Message=json.dumps(job)
                )
        sizes = [inbox.Object(video).content_length for video in self.videos]
        _check(sizes == [len(self._payloads[v]) for v in self.videos], "uploaded sizes differ")
        return f"{len(self.videos)} videos uploaded (upload_file, Object.put), jobs published"

    def process_jobs(self) -> str:
        pending = set(self.videos)
        outbox = self.s3r.Bucket(self.outbox)
        table = self.dynamodb.Table(self.table_name)
        linked = 0
        deadline = time.monotonic() + _JOB_WAIT
        while pending and time.monotonic() < deadline:
            received = self.sqs.receive_message(
                QueueUrl=self.created.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                VisibilityTimeout=_VISIBILITY_TIMEOUT,
                MessageAttributeNames=["All"],
            )
            for message in received.get("Messages", []):
                job = json.loads(json.loads(message["Body"])["Message"])
                video = job["key"]
                if video not in pending:  # delivered twice: SQS promises at least once
                    self.sqs.delete_message(
                        QueueUrl=self.created.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    continue
                parent = extract(message)  # the producer's span, carried through SNS and SQS
                if trace.get_current_span(parent).get_span_context().is_valid:
                    linked += 1
                with self.tracer.start_as_current_span(
                    f"transcode {video}", context=parent, kind=SpanKind.CONSUMER
                ):
                    source = io.BytesIO()
                    self.s3.download_fileobj(job["bucket"], video, source, Config=_IN_THIS_THREAD)
                    output = _transcode(source.getvalue())
                    outbox.Object(f"hls/{video}.m3u8").put(Body=output)
                    table.put_item(
                        Item={
                            "video": video,
                            "job": message["MessageId"],
                            "status": "done",
                            "bytes": len(output),
                        }
                    )
                    self.sqs.delete_message(
                        QueueUrl=self.created.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                pending.discard(video)
                self.processed.append(video)
        _check(not pending, f"no job message arrived for {', '.join(sorted(pending))}")
        return f"{len(self.videos)} jobs transcoded and deleted, {linked} with trace context"

    def download_outputs(self) -> str:
        target = self.workdir / "out"
        target.mkdir(exist_ok=True)
        for video in self.videos:
            path = target / f"{video}.m3u8"
            self.s3.download_file(
                self.outbox, f"hls/{video}.m3u8", str(path), Config=_IN_THIS_THREAD
            )
            _check(
                path.read_bytes() == _transcode(self._payloads[video]),
                f"the transcoded {video} differs from what the worker wrote",
            )
        return f"{len(self.videos)} outputs downloaded and verified"

    def query_jobs(self) -> str:
        table = self.dynamodb.Table(self.table_name)
        for video in self.videos:
            items = table.query(KeyConditionExpression=Key("video").eq(video))["Items"]
            _check(
                [item["status"] for item in items] == ["done"],
                f"the jobs table holds {len(items)} records for {video}, expected one 'done'",
            )
        return f"Key('video').eq(...) finds one 'done' record per video in {self.table_name}"

    # ---- scale, errors, cleanup ---------------------------------------------------------

    def list_segments(self) -> str:
        keys = [
            f"segments/{self.videos[n % len(self.videos)]}/{n:05d}.ts" for n in range(self.segments)
        ]
        with self.tracer.start_as_current_span(f"write {len(keys)} segments"):
            self._put_all(self.outbox, keys)
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = listed = 0
        for page in paginator.paginate(
            Bucket=self.outbox, Prefix="segments/", PaginationConfig={"PageSize": PAGE_SIZE}
        ):
            pages += 1
            listed += page["KeyCount"]
        expected_pages = math.ceil(len(keys) / PAGE_SIZE)
        _check(
            (listed, pages) == (len(keys), expected_pages),
            f"the paginator listed {listed} keys in {pages} pages, "
            f"expected {len(keys)} in {expected_pages}",
        )
        return f"{listed} segment keys listed in {pages} pages of {PAGE_SIZE}"

    def _put_all(self, bucket: str, keys: list[str]) -> None:
        # Several writers keep the loopback server busy while one waits on its socket; each
        # worker attaches the caller's context so the puts are children of the caller's span.
        parent = otel_context.get_current()
        step = max(1, len(keys) // 20)

        def put(key: str) -> None:
            token = otel_context.attach(parent)
            try:
                self.s3.put_object(Bucket=bucket, Key=key, Body=b"")
            finally:
                otel_context.detach(token)

        with ThreadPoolExecutor(_WORKERS, thread_name_prefix="botoware-demo") as pool:
            for done, _ in enumerate(pool.map(put, keys), start=1):
                if done % step == 0 or done == len(keys):
                    self._progress(f"{done}/{len(keys)} segments written")

    def expected_errors(self) -> str:
        codes: list[str] = []
        attempts: tuple[Callable[[], object], ...] = (
            lambda: self.s3.get_object(Bucket=self.inbox, Key="never-uploaded.mp4"),
            lambda: self.sqs.get_queue_url(QueueName=f"{self.queue_name}-missing"),
        )
        for attempt in attempts:
            try:
                attempt()
            except ClientError as error:
                codes.append(error.response["Error"]["Code"])
            else:
                raise StepFailed("a call that must fail succeeded")
        _check(codes[0] == "NoSuchKey", f"get_object of a missing key failed with {codes[0]}")
        return f"failed as they should: {', '.join(codes)}"

    def cleanup(self) -> str:
        """Delete whatever the steps created; every deletion is tried, failures are collected."""
        created, failures = self.created, []

        @contextlib.contextmanager
        def attempt(what: str) -> Iterator[None]:
            try:
                yield
            except Exception as error:
                failures.append(f"{what}: {type(error).__name__}: {error}")

        for bucket in list(created.buckets):
            with attempt(f"bucket {bucket}"):
                # A collection's batch action: one DeleteObjects per page of 1000 keys.
                self.s3r.Bucket(bucket).objects.all().delete()
                self.s3.delete_bucket(Bucket=bucket)
                self.s3.get_waiter("bucket_not_exists").wait(
                    Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 5}
                )
                created.buckets.remove(bucket)
        if created.subscription_arn is not None:
            with attempt("subscription"):
                self.sns.unsubscribe(SubscriptionArn=created.subscription_arn)
                created.subscription_arn = None
        if created.topic_arn is not None:
            with attempt("topic"):
                self.sns.delete_topic(TopicArn=created.topic_arn)
                created.topic_arn = None
        if created.queue_url is not None:
            with attempt("queue"):
                self.sqs.delete_queue(QueueUrl=created.queue_url)
                created.queue_url = None
        if created.function is not None:
            with attempt("function"):
                self.lambda_.delete_function(FunctionName=created.function)
                created.function = None
        if created.role_policy is not None and created.role is not None:
            with attempt("role policy"):
                self.iam.delete_role_policy(RoleName=created.role, PolicyName=created.role_policy)
                created.role_policy = None
        if created.role is not None:
            with attempt("role"):
                self.iam.delete_role(RoleName=created.role)
                created.role = None
        if created.table is not None:
            with attempt("table"):
                self.dynamodb.Table(created.table).delete()
                waiter = self.dynamodb.meta.client.get_waiter("table_not_exists")
                waiter.wait(TableName=created.table, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
                created.table = None
        if failures:
            raise StepFailed("cleanup left resources behind: " + "; ".join(failures))
        left = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        _check(
            not {self.inbox, self.outbox} & set(left), f"buckets still listed: {', '.join(left)}"
        )
        return "buckets, topic, queue, function, role and table deleted"
