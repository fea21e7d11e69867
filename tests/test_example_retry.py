"""examples/retry_circuit_breaker.py runs as a script: retries, open circuit, probe, closed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "retry_circuit_breaker.py"
ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def test_retry_example_trips_and_closes_the_breaker() -> None:
    """Run standalone, the example shows two retried calls, a fail-fast call and a probe."""
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
    lines = [line.split(" (after ")[0] for line in result.stdout.splitlines()]
    assert lines[:7] == [
        "call 1 (S3 is down):",
        "  attempt 1",
        "  attempt 2",
        "  failed: InternalError; circuit closed",
        "call 2 (S3 is down):",
        "  attempt 1",
        "  attempt 2",
    ]
    assert lines[7:9] == ["  failed: InternalError; circuit open", "call 3:"]
    assert lines[9].startswith("  failed fast: botoware circuit breaker for s3 in us-east-1")
    assert lines[10:] == [
        "call 4 (S3 is back, after the cool-down):",
        "  attempt 1",
        "  ok; circuit closed",
        "call 5:",
        "  attempt 1",
        "  ok; circuit closed",
    ]
