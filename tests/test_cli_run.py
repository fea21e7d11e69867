"""`botoware run -- COMMAND`: the child gets botoware before its code runs; real processes, moto."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botoware.contrib import run
from botoware.errors import ConfigurationError

# The child's AWS call, and what it prints about it from inside the process.
APP = textwrap.dedent(
    """
    import os, sys
    import boto3
    from prometheus_client import REGISTRY

    boto3.client("s3", endpoint_url=sys.argv[1]).list_buckets()
    labels = {"aws_service": "s3", "aws_operation": "ListBuckets", "outcome": "success"}
    print("calls", REGISTRY.get_sample_value("aws_client_calls_total", labels))
    print("user sitecustomize", os.environ.get("USER_SITECUSTOMIZE"))
    sys.exit(int(os.environ.get("APP_EXIT", "0")))
    """
)


def _botoware_run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botoware.contrib.cli", "run", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory with the child program as app.py (script) and appmod.py (module)."""
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "appmod.py").write_text(APP)
    return tmp_path


def test_script_is_traced_with_the_console_exporter(app_dir: Path, moto_url: str) -> None:
    """`python app.py`: the child's S3 call is a span the console exporter prints at exit."""
    done = _botoware_run(
        "--exporter", "console", "--", sys.executable, "app.py", moto_url, cwd=app_dir
    )
    assert done.returncode == 0, done.stderr
    assert '"name": "S3.ListBuckets"' in done.stdout
    assert '"rpc.system": "aws-api"' in done.stdout


def test_module_is_measured_by_the_metrics_plugin(app_dir: Path, moto_url: str) -> None:
    """`python -m appmod`: the child's call is counted in its prometheus registry."""
    done = _botoware_run(
        "--exporter", "none", "--", sys.executable, "-m", "appmod", moto_url, cwd=app_dir
    )
    assert done.returncode == 0, done.stderr
    assert "calls 1.0" in done.stdout.splitlines()


def test_exit_code_is_the_commands(app_dir: Path, moto_url: str) -> None:
    """The child's exit status comes back unchanged."""
    done = _botoware_run(
        "--exporter", "none", "--", sys.executable, "app.py", moto_url,
        cwd=app_dir, env={"APP_EXIT": "3"},
    )  # fmt: skip
    assert done.returncode == 3, done.stderr


def test_existing_sitecustomize_still_runs(app_dir: Path, tmp_path: Path, moto_url: str) -> None:
    """A sitecustomize already on PYTHONPATH runs before botoware's bootstrap."""
    user_site = tmp_path / "user-site"
    user_site.mkdir()
    (user_site / "sitecustomize.py").write_text(
        "import os\nos.environ['USER_SITECUSTOMIZE'] = 'ran'\n"
    )
    done = _botoware_run(
        "--exporter", "none", "--", sys.executable, "app.py", moto_url,
        cwd=app_dir, env={"PYTHONPATH": str(user_site)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "user sitecustomize ran" in done.stdout.splitlines()
    assert "calls 1.0" in done.stdout.splitlines()


def test_metrics_port_serves_the_childs_metrics(tmp_path: Path, moto_url: str) -> None:
    """--metrics-port 0 serves the child's registry on 127.0.0.1; a scrape shows the call."""
    script = textwrap.dedent(
        """
        import sys, urllib.request
        import boto3
        from botoware.contrib.run import STATE

        boto3.client("sqs", endpoint_url=sys.argv[1]).list_queues()
        print(urllib.request.urlopen(STATE.metrics.url, timeout=10).read().decode())
        """
    )
    (tmp_path / "scrape.py").write_text(script)
    done = _botoware_run(
        "--exporter", "none", "--metrics-port", "0", "--",
        sys.executable, "scrape.py", moto_url, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "botoware run: Prometheus metrics at http://127.0.0.1:" in done.stderr
    samples = {
        (s.name, s.labels.get("aws_operation"), s.labels.get("outcome")): s.value
        for family in text_string_to_metric_families(done.stdout)
        for s in family.samples
    }
    assert samples[("aws_client_calls_total", "ListQueues", "success")] == 1.0


def test_plugins_option_limits_what_is_installed(app_dir: Path, moto_url: str) -> None:
    """--plugins tracing leaves the metrics plugin out of the child."""
    done = _botoware_run(
        "--plugins", "tracing", "--exporter", "console", "--",
        sys.executable, "app.py", moto_url, cwd=app_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "calls None" in done.stdout.splitlines()
    assert '"name": "S3.ListBuckets"' in done.stdout


def test_disable_plugins_applies_in_the_child(app_dir: Path, moto_url: str) -> None:
    """BOTOWARE_DISABLE_PLUGINS blocks a plugin that --plugins asked for."""
    done = _botoware_run(
        "--exporter", "none", "--", sys.executable, "app.py", moto_url,
        cwd=app_dir, env={"BOTOWARE_DISABLE_PLUGINS": "metrics"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "calls None" in done.stdout.splitlines()


def test_a_setting_only_the_child_finds_wrong_stops_it(tmp_path: Path) -> None:
    """A metrics port already taken stops the child before its code runs: exit 1, the reason."""
    marker = tmp_path / "ran"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = _botoware_run(
            "--exporter", "none", "--metrics-port", port, "--", sys.executable, "-c",
            f"open({str(marker)!r}, 'w')", cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1
    assert "botoware run: cannot install botoware in this process" in done.stderr
    assert f"port {port}" in done.stderr
    assert not marker.exists()


def test_an_endpoint_without_a_scheme_fails_before_the_command_starts(tmp_path: Path) -> None:
    """--otlp-endpoint 127.0.0.1:4318 exits 1 with the URL to write; the command never runs."""
    marker = tmp_path / "ran"
    done = _botoware_run(
        "--otlp-endpoint", "127.0.0.1:4318", "--", sys.executable, "-c",
        f"open({str(marker)!r}, 'w')", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "OTEL_EXPORTER_OTLP_ENDPOINT='127.0.0.1:4318' has no scheme" in done.stderr
    assert "'http://127.0.0.1:4318'" in done.stderr
    assert not marker.exists()


def test_unknown_plugin_fails_before_the_command_starts(tmp_path: Path) -> None:
    """A bad --plugins value exits 1 naming the variable; the command never runs."""
    marker = tmp_path / "ran"
    done = _botoware_run(
        "--plugins", "tracing,metrix", "--", sys.executable, "-c",
        f"open({str(marker)!r}, 'w')", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "BOTOWARE_PLUGINS names 'metrix'" in done.stderr
    assert not marker.exists()


def test_missing_command_is_a_usage_error(tmp_path: Path) -> None:
    """`botoware run --` with nothing after it exits 2 with an example."""
    done = _botoware_run("--", cwd=tmp_path)
    assert done.returncode == 2
    assert "botoware run -- python app.py" in done.stderr


def test_command_not_found_exits_127(tmp_path: Path) -> None:
    """A command that does not exist exits 127, like a shell."""
    done = _botoware_run("--exporter", "none", "--", "no-such-command-botoware", cwd=tmp_path)
    assert done.returncode == 127
    assert "command not found: no-such-command-botoware" in done.stderr


def test_child_environment_puts_the_bootstrap_first() -> None:
    """PYTHONPATH starts with the bootstrap directory and keeps the user's entries."""
    env = run.child_environment({"PYTHONPATH": "/a:/b"}, exporter="none")
    assert env["PYTHONPATH"].split(os.pathsep) == [run.BOOTSTRAP_DIR, "/a", "/b"]
    assert Path(run.BOOTSTRAP_DIR, "sitecustomize.py").is_file()


def test_child_environment_turns_options_into_variables() -> None:
    """Each option becomes the variable the child reads; unset options keep the user's."""
    env = run.child_environment(
        {"OTEL_SERVICE_NAME": "checkout"},
        exporter="console",
        otlp_endpoint="http://127.0.0.1:4318",
        metrics_port=9464,
        plugins="tracing",
    )
    assert {k: env[k] for k in env if k != "PYTHONPATH"} == {
        "OTEL_SERVICE_NAME": "checkout",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "BOTOWARE_METRICS_PORT": "9464",
        "BOTOWARE_PLUGINS": "tracing",
    }


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"BOTOWARE_METRICS_PORT": "http"}, "BOTOWARE_METRICS_PORT"),
        ({"BOTOWARE_METRICS_PORT": "65536"}, "BOTOWARE_METRICS_PORT"),
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "none,console"}, "OTEL_TRACES_EXPORTER"),
        ({"BOTOWARE_PLUGINS": "tracing,faults"}, "BOTOWARE_PLUGINS"),
    ],
)
def test_settings_errors_name_their_variable(variables: dict[str, str], named: str) -> None:
    """RunSettings.from_env raises ConfigurationError naming the bad variable."""
    with pytest.raises(ConfigurationError, match=named):
        run.RunSettings.from_env(variables)


def test_settings_defaults() -> None:
    """Without variables: tracing, metrics and genai, OTLP export, no metrics endpoint."""
    assert run.RunSettings.from_env({}) == run.RunSettings(
        plugins=("tracing", "metrics", "genai"), exporters=("otlp",), metrics_port=None
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL='grpc'"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "has no scheme"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://c/v1/traces"}, "TRACES_ENDPOINT"),
        ({"BOTOWARE_DISABLE_PLUGINS": "tracng"}, "Did you mean 'tracing'"),
        ({"BOTOWARE_DISABLE_PLUGIN_AUTOLOAD": "maybe"}, "BOTOWARE_DISABLE_PLUGIN_AUTOLOAD"),
        ({"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER='prometheus'"),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        ),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "c:4318"},
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ),
    ],
)
def test_child_settings_are_checked_before_the_start(variables: dict[str, str], named: str) -> None:
    """What the child's bootstrap would refuse, child_environment refuses before the start."""
    with pytest.raises(ConfigurationError, match=re.escape(named)):
        run.child_environment(variables)


def test_grpc_names_the_http_port() -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc is refused with the way out: OTLP/HTTP on 4318."""
    with pytest.raises(ConfigurationError, match=r"gRPC is not supported.*4318"):
        run.child_environment({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_trace_settings_are_not_checked_without_tracing() -> None:
    """With --exporter none, OTLP trace settings the child will not read are no error."""
    env = run.child_environment({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, exporter="none")
    assert env["OTEL_TRACES_EXPORTER"] == "none"


@pytest.mark.parametrize(
    "command",
    [
        ["opentelemetry-instrument", "python", "app.py"],
        ["/venv/bin/opentelemetry-instrument", "--traces_exporter", "console", "python"],
        ["python", "-m", "opentelemetry.instrumentation.auto_instrumentation", "python"],
    ],
)
def test_opentelemetry_instrument_is_refused(command: list[str]) -> None:
    """A command starting opentelemetry-instrument, whose sitecustomize shadows ours, is refused."""
    with pytest.raises(ConfigurationError, match="sitecustomize; Python runs only one"):
        run.check_command(command)


def test_other_commands_pass_the_command_check() -> None:
    """python app.py, a console script and python -m pkg are fine."""
    for command in (["python", "app.py"], ["gunicorn", "app:app"], ["python", "-m", "pkg"]):
        run.check_command(command)


def test_forked_workers_are_counted_at_the_endpoint(tmp_path: Path, moto_url: str) -> None:
    """Without PROMETHEUS_MULTIPROC_DIR, a forked worker's calls show at the parent's endpoint;
    the directory botoware made for them is gone after the run."""
    script = textwrap.dedent(
        """
        import os, sys, urllib.request
        import boto3
        from botoware.contrib.run import STATE

        pid = os.fork()
        if pid == 0:  # a pre-fork server's worker
            boto3.client("sqs", endpoint_url=sys.argv[1]).list_queues()
            os._exit(0)
        os.waitpid(pid, 0)
        boto3.client("s3", endpoint_url=sys.argv[1]).list_buckets()
        print("dir", os.environ["PROMETHEUS_MULTIPROC_DIR"], file=sys.stderr)
        print(urllib.request.urlopen(STATE.metrics.url, timeout=10).read().decode())
        """
    )
    (tmp_path / "prefork.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if k.upper() != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "botoware.contrib.cli", "run", "--exporter", "none",
         "--metrics-port", "0", "--", sys.executable, "prefork.py", moto_url],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    samples = {
        (s.labels.get("aws_operation"), s.labels.get("outcome")): s.value
        for family in text_string_to_metric_families(done.stdout)
        for s in family.samples
        if s.name == "aws_client_calls_total"
    }
    assert samples[("ListQueues", "success")] == 1.0  # the worker's
    assert samples[("ListBuckets", "success")] == 1.0  # the parent's
    [directory] = [line.split(" ", 1)[1] for line in done.stderr.splitlines() if line[:4] == "dir "]
    assert not Path(directory).exists()


def test_a_python_without_botoware_warns_and_runs(tmp_path: Path) -> None:
    """Another Python the program starts, which cannot import botoware, says so and runs."""
    fake = tmp_path / "fake" / "botoware"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('no botoware in this Python')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([run.BOOTSTRAP_DIR, str(fake.parent)])}
    done = subprocess.run(
        [sys.executable, "-c", "print('tool ran')"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "tool ran\n"
    assert "cannot import botoware (no botoware in this Python); this process runs without it" in (
        done.stderr
    )
