"""examples/lambda_policy.py runs as a script and prints the policy before and after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lambda_policy.py"


def test_lambda_policy_example_prints_a_string_then_a_dict() -> None:
    """Run standalone, the example starts its own moto and shows str without, dict with."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert result.returncode == 0, result.stderr
    assert 'HTTP/1.1" 200' not in result.stderr  # moto's access log stays quiet
    lines = result.stdout.splitlines()
    assert lines[0].startswith('without plugin: str: {"Version": "2012-10-17"')
    assert lines[1:] == [
        "with plugin: dict",
        "  s3-invoke: Allow lambda:InvokeFunction",
    ]
