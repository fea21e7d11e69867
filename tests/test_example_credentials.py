"""examples/custom_credentials.py runs as a script: file keys, refresh for all clients, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_credentials.py"
ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def test_credentials_example_refreshes_for_every_client() -> None:
    """Run standalone, the example signs with keys #1, then both clients with keys #2."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert 'HTTP/1.1" 200' not in result.stderr  # moto's access log stays quiet
    assert result.stdout.splitlines() == [
        "keys #1 are fresh:",
        "  S3.ListBuckets signed with keys #1",
        "  SQS.ListQueues signed with keys #1",
        "the sidecar wrote keys #2; #1 still have more than the margin left:",
        "  S3.ListBuckets signed with keys #1",
        "keys #1 are within the margin: the file is re-read once, for all clients:",
        "  S3.ListBuckets signed with keys #2",
        "  SQS.ListQueues signed with keys #2",
        "telemetry (no key material):",
        "  span botoware.credentials load: success",
        "  span botoware.credentials refresh: success",
        "  aws_credentials_refreshes_total{outcome='success'} 2.0",
        "a missing file: does not exist",
    ]
    for material in ("sidecar-secret", "sidecar-token", "AKIDSIDECAR"):
        assert material not in result.stdout + result.stderr
