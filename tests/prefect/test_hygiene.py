"""Failure hygiene: failed tasks fail their version, retries resume it, crashed or cancelled
flows abort it. Crash and cancellation run in real processes, stopped for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver
from prefect import flow
from prefect_dataver import add_files, create_version, version_folder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SLOW_INGEST = Path(__file__).with_name("scripts") / "slow_ingest.py"
BAD_NAME = "bad\\name.csv"  # a backslash: dataver refuses the path only when it syncs


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(check: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broken_uploads(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[str]]:
    """``broken_uploads(n)``: the next ``n`` uploads fail (a storage outage); returns the ids
    of the versions whose upload failed."""
    upload = dataver.Dataset.upload
    failed: list[str] = []

    def arrange(count: int) -> list[str]:
        def flaky(self: dataver.Dataset, *args: Any, **kwargs: Any) -> int:
            if len(failed) < count:
                failed.append(self.id)
                raise OSError("storage is down")
            return upload(self, *args, **kwargs)

        monkeypatch.setattr(dataver.Dataset, "upload", flaky)
        return failed

    return arrange


def test_a_failing_version_folder_marks_its_version_failed(
    registry_url: str, source: Path, broken_uploads: Callable[[int], list[str]]
) -> None:
    name = unique("fails")
    broken_uploads(99)

    @flow
    def build() -> None:
        version_folder(registry_url, name, "vision", str(source))

    with pytest.raises(OSError, match="storage is down"):
        build()

    (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
    assert ds.state is dataver.State.FAILED
    assert "storage is down" in (ds.error or "")


def test_a_folder_the_sdk_refuses_fails_before_any_version_exists(
    registry_url: str, source: Path
) -> None:
    name = unique("refused")
    (source / BAD_NAME).write_text("x")

    @flow
    def build() -> None:
        version_folder(registry_url, name, "vision", str(source))

    with pytest.raises(dataver.UnsafePathError, match="backslash"):
        build()

    assert dataver.Registry(registry_url).list(name=name, states=None) == []


def test_a_retry_resumes_the_same_version(
    registry_url: str, source: Path, broken_uploads: Callable[[int], list[str]]
) -> None:
    name = unique("retry")
    failed = broken_uploads(1)
    attempts: list[str] = []

    def note_then_retry(task: Any, task_run: Any, state: Any) -> bool:
        del task, state
        attempts.append(str(task_run.id))
        return True

    @flow
    def build() -> Any:
        return version_folder.with_options(retries=1, retry_condition_fn=note_then_retry)(
            registry_url, name, "vision", str(source)
        )

    info = build()

    (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
    assert len(attempts) == 1
    assert failed == [ds.id] == [info.id]
    assert ds.state is dataver.State.FINAL
    assert ds.provenance["task_run_id"] == attempts[0]
    assert sorted(ds.list_files()) == ["b.csv", "train/a.csv"]


def test_a_version_is_only_failed_once_retries_are_exhausted(
    registry_url: str, source: Path, broken_uploads: Callable[[int], list[str]]
) -> None:
    name = unique("exhausted")
    failed = broken_uploads(99)
    seen: list[dataver.State] = []

    def look_then_retry(task: Any, task_run: Any, state: Any) -> bool:
        del task, task_run, state
        (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
        seen.append(ds.state)
        return True

    @flow
    def build() -> None:
        version_folder.with_options(retries=2, retry_condition_fn=look_then_retry)(
            registry_url, name, "vision", str(source)
        )

    with pytest.raises(OSError, match="storage is down"):
        build()

    versions = dataver.Registry(registry_url).list(name=name, states=None)
    assert seen == [dataver.State.UPLOADING, dataver.State.UPLOADING]
    assert [v.state for v in versions] == [dataver.State.FAILED]
    assert len(set(failed)) == 1  # NOTE: every try worked on the one version


def test_a_failing_step_task_fails_the_version_it_was_given(
    registry_url: str, tmp_path: Path
) -> None:
    name = unique("step-fails")

    @flow
    def build() -> None:
        ds = create_version(registry_url, name)
        add_files(registry_url, ds, str(tmp_path / "missing"))

    with pytest.raises(dataver.NotFoundError):
        build()

    (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
    assert ds.state is dataver.State.FAILED
    assert "missing" in (ds.error or "")


def test_a_step_task_leaves_its_version_to_its_retry_and_the_last_try_fails_it(
    registry_url: str, tmp_path: Path
) -> None:
    name = unique("step-retry")
    seen: list[dataver.State] = []

    def look_then_retry(task: Any, task_run: Any, state: Any) -> bool:
        del task, task_run, state
        (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
        seen.append(ds.state)
        return True

    @flow
    def build() -> None:
        ds = create_version(registry_url, name)
        add_files.with_options(retries=1, retry_condition_fn=look_then_retry)(
            registry_url, ds, str(tmp_path / "missing")
        )

    with pytest.raises(dataver.NotFoundError):
        build()

    (ds,) = dataver.Registry(registry_url).list(name=name, states=None)
    assert seen == [dataver.State.UPLOADING]
    assert ds.state is dataver.State.FAILED


@pytest.fixture
def slow_env(registry_url: str, tmp_path: Path, prefect_backend: str) -> dict[str, str]:
    """Environment of a slow_ingest.py process: this test's registry, gate and Prefect API."""
    env = dict(os.environ)
    env.update(
        DATAVER_REGISTRY=registry_url,
        SLOW_INGEST_GATE=str(tmp_path / "gate"),
        PREFECT_API_URL=prefect_backend,
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def start_slow(slow_env: dict[str, str]) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(mode: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, str(SLOW_INGEST), mode], env=slow_env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def uploading(registry_url: str) -> Any:
    found = dataver.Registry(registry_url).list(name="slow", states=["uploading"])
    return found[0] if found else None


def test_a_crashed_flow_aborts_its_uploading_version(
    registry_url: str, start_slow: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    bystander = dataver.Registry(registry_url).create("bystander", project="hygiene")
    proc = start_slow("run")
    ds = wait_until(lambda: uploading(registry_url), what="an Uploading version")

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)

    ds = dataver.Registry(registry_url).get(ds.id, states=None)
    assert ds.state is dataver.State.ABORTED
    assert "crashed" in (ds.error or "")
    # NOTE: only the crashed run's versions: another writer's Uploading version is left alone.
    assert bystander.reload().state is dataver.State.UPLOADING


def test_a_cancelled_flow_run_aborts_its_uploading_version(
    registry_url: str, start_slow: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Cancelling

    runner = start_slow("serve")

    def deployment_exists() -> bool:
        with get_client(sync_client=True) as client:
            try:
                client.read_deployment_by_name("slow-ingest/slow")
            except Exception:  # noqa: BLE001 - not registered yet
                return False
            return True

    wait_until(deployment_exists, what="the served deployment")
    flow_run = run_deployment("slow-ingest/slow", timeout=0)
    ds = wait_until(lambda: uploading(registry_url), what="an Uploading version")
    assert ds.provenance["flow_run_id"] == str(flow_run.id)

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run.id, Cancelling(), force=True)

    def ended() -> Any:
        current = dataver.Registry(registry_url).get(ds.id, states=None)
        return current if current.state is not dataver.State.UPLOADING else None

    ds = wait_until(ended, what="the version to end")
    assert ds.state is dataver.State.ABORTED
    assert "cancel" in (ds.error or "")

    def cancelled() -> bool:
        # NOTE: the runner marks the run Cancelled after its hook ended the version: wait.
        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run.id).state.is_cancelled()  # type: ignore[union-attr]

    wait_until(cancelled, what="the flow run to be Cancelled")
    runner.send_signal(signal.SIGINT)


def test_a_missing_folder_fails_before_any_version_is_created(
    registry_url: str, tmp_path: Path
) -> None:
    name = unique("no-folder")

    @flow
    def build() -> None:
        version_folder(registry_url, name, "vision", str(tmp_path / "not-there"))

    with pytest.raises(dataver.NotFoundError, match="not-there does not exist"):
        build()

    assert dataver.Registry(registry_url).list(name=name, states=None) == []
