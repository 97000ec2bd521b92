"""Against a real ``prefect server start`` launched here (loopback, its own PREFECT_HOME).

- A served deployment of the example flow (``examples/dags/prefect_ingest_train.py``, whose
  ``dataver_flow_hooks()`` are given no registry) is cancelled while its version is
  Uploading: the runner kills the flow run's process and runs ``on_cancellation`` in its own
  process, which finds the registry on the flow run's labels and aborts the version.
- Prefect's CLI lists what the server holds (``prefect artifact/block/deployment/automation
  ls``: HTTP 422 with Prefect 3.8 and fastapi 0.154).

Every process started here is bounded (``timeout``) and killed at teardown.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver

from .conftest import s3server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SCRIPTS = Path(__file__).with_name("scripts")
ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
LIMIT = "900"  # NOTE: seconds any process started here may live, whatever happens to pytest


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """End a process started in its own session, and its children."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


class LiveServer:
    """``prefect server start`` on 127.0.0.1 with its own home, and its clients' environment."""

    def __init__(self, home: Path) -> None:
        self.port = s3server.free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        self.env.update(
            PREFECT_HOME=str(home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home}/prefect.db",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
            PREFECT_RUNNER_POLL_FREQUENCY="1",
        )
        self.log = (home / "server.log").open("wb")
        command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            ["timeout", LIMIT, *command],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.healthy, 180, "prefect server start")

    def healthy(self) -> bool:
        assert self.proc.poll() is None, "prefect server start exited"
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """A bounded process of this server's clients (own session: stopped with its children)."""
        return subprocess.Popen(
            ["timeout", LIMIT, *args],
            env={**self.env, **(env or {})},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``prefect <args>`` against this server (wide: rich tables cut no names short)."""
        return subprocess.run(
            [PREFECT, *args],
            env={**self.env, "COLUMNS": "400"},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if shutil.which("timeout") is None:
        pytest.skip("needs coreutils' timeout to bound the processes it starts")
    server = LiveServer(tmp_path_factory.mktemp("prefect-home"))
    yield server
    server.stop()


@pytest.fixture
def live_client(live: LiveServer) -> Iterator[None]:
    """This process's Prefect client talks to the live server for the test."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    drain_workers()
    with temporary_settings({PREFECT_API_URL: live.api_url}):
        yield
        drain_workers()


def drain_workers() -> None:
    """Send what Prefect's event and log workers hold, and end them.

    They are process-wide and keep the server they first connected to: left running, the
    session's other tests would send to the live server after it stopped (and the session
    would wait for them at exit).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        worker.drain_all(timeout=60, at_exit=False)


@pytest.fixture
def stalled_bucket(s3_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh moto bucket behind the proxy, where every content upload stalls (no answer).

    Yields the environment that reaches it (AWS_*); the stalls end at teardown.
    """
    import boto3

    env = {
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_proxy.url,
        # NOTE: a stalled upload waits, not fails: the version stays Uploading till cancelled.
        "DATAVER_READ_TIMEOUT": "600",
        "DATAVER_OPERATION_TIMEOUT": "600",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = f"live-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_proxy.url).create_bucket(Bucket=bucket)
    s3_proxy.reset(
        s3server.Faults(
            rate=1.0, kinds=("stall",), methods=("PUT",), paths=("/packs/", "/objects/")
        )
    )
    yield {**env, "DATAVER_REGISTRY": f"s3://{bucket}/registry"}
    s3_proxy.reset()


def test_cancelling_a_deployment_run_of_the_example_aborts_its_version(
    live: LiveServer,
    live_client: None,
    stalled_bucket: dict[str, str],
    s3_proxy: Any,
    tmp_path: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Cancelling

    url = stalled_bucket["DATAVER_REGISTRY"]
    deployment = f"live-{uuid.uuid4().hex[:6]}"
    runner = live.start(
        sys.executable,
        str(SCRIPTS / "serve_example.py"),
        deployment,
        env={**stalled_bucket, "DATAVER_CACHE_DIR": str(tmp_path / "runner-cache")},
    )
    try:

        def served() -> bool:
            assert runner.poll() is None, "the runner exited"
            with get_client(sync_client=True) as client:
                try:
                    client.read_deployment_by_name(f"dataver-ingest-train/{deployment}")
                except Exception:  # noqa: BLE001 - not registered yet
                    return False
                return True

        wait_until(served, 120, "the served deployment")
        flow_run = run_deployment(
            f"dataver-ingest-train/{deployment}",
            parameters={"registry": url, "workdir": str(tmp_path / "work"), "day": "2026-05-01"},
            timeout=0,
        )
        registry = dataver.Registry(url)

        def uploading() -> Any:
            found = registry.list(project="examples", name="points", states=["uploading"])
            return found[0] if found and s3_proxy.injected else None

        ds = wait_until(uploading, 180, "an Uploading version whose upload is under way")
        assert ds.provenance["flow_run_id"] == str(flow_run.id)

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run.id, Cancelling(), force=True)

        def ended() -> Any:
            current = registry.get(ds.id, states=None)
            return current if current.state is not dataver.State.UPLOADING else None

        ds = wait_until(ended, 180, "the version to end")
        assert ds.state is dataver.State.ABORTED
        assert "cancel" in (ds.error or "")

        def cancelled() -> bool:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run.id).state
                return state is not None and state.is_cancelled()

        wait_until(cancelled, 120, "the flow run to be Cancelled")
        with get_client(sync_client=True) as client:
            labels = client.read_flow_run(flow_run.id).labels
        assert registry.url in labels.values()  # NOTE: what the runner's hook read
    finally:
        stop(runner, signal.SIGINT)


def test_the_cli_lists_what_the_live_server_holds(
    live: LiveServer, live_client: None, tmp_path: Path, source: Path
) -> None:
    from prefect import flow
    from prefect_dataver import DataverRegistry, artifact_keys, version_folder

    suffix = uuid.uuid4().hex[:6]
    block = DataverRegistry(url=str(tmp_path / "registry"))
    block.save(f"live-{suffix}")

    @flow
    def build() -> None:
        version_folder(block, f"live-{suffix}", "live", str(source))

    build()
    spec = importlib.util.spec_from_file_location(
        f"prefect_consumer_{suffix}", ROOT / "examples" / "dags" / "prefect_consumer.py"
    )
    assert spec is not None
    assert spec.loader is not None
    consumer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = consumer  # NOTE: a deployment's entrypoint names the module's file
    spec.loader.exec_module(consumer)
    consumer.profile_new_points.to_deployment(
        name=f"on-new-points-{suffix}", triggers=[consumer.NEW_POINTS]
    ).apply()

    for command, expected in (
        ("artifact", artifact_keys("live", f"live-{suffix}").card),
        ("block", f"live-{suffix}"),
        ("deployment", f"on-new-points-{suffix}"),
        ("automation", "new examples/points version"),
    ):
        answer = live.cli(command, "ls")
        assert answer.returncode == 0, f"prefect {command} ls: {answer.stdout}{answer.stderr}"
        # NOTE: match the HTTP status phrase, not the digits: "422" turns up in random ids.
        assert "Unprocessable" not in answer.stdout + answer.stderr
        assert expected in answer.stdout.replace("\n", ""), answer.stdout
