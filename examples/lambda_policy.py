"""Lambda's function policy without and with the "policies" plugin.

Run it: ``python examples/lambda_policy.py`` starts moto on 127.0.0.1 by itself;
``python examples/lambda_policy.py http://127.0.0.1:5000`` uses a moto server you started.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import boto3

import botoware

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def main(endpoint_url: str) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    iam = session.client("iam", endpoint_url=endpoint_url)
    lam = session.client("lambda", endpoint_url=endpoint_url)
    role = iam.create_role(RoleName="policy-example", AssumeRolePolicyDocument=json.dumps(TRUST))
    lam.create_function(
        FunctionName="policy-example",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": _code()},
    )
    lam.add_permission(
        FunctionName="policy-example",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )

    # Without the plugin: a JSON string, to be json.loads()-ed by every caller.
    policy = lam.get_policy(FunctionName="policy-example")["Policy"]
    print(f"without plugin: {type(policy).__name__}: {policy}")

    # With it: a dict. The client existed before install(); it is covered all the same.
    with botoware.install(session, plugins=["policies"], autoload=False):
        policy = lam.get_policy(FunctionName="policy-example")["Policy"]
        print(f"with plugin: {type(policy).__name__}")
        for statement in policy["Statement"]:
            print(f"  {statement['Sid']}: {statement['Effect']} {statement['Action']}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            main(f"http://{host}:{port}")
        finally:
            server.stop()
