"""Retries resume, kills abort, failures fail; bad input fails at once and leaves nothing Uploading.

Real task runs (``dag.test()``), real retries, a real execution timeout; the kill test slows a
real moto S3 server down (through the core suite's proxy) so the timeout lands mid-upload.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from airflow.utils.state import DagRunState, TaskInstanceState

import dataver

from .conftest import _s3server, load_dag

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from airflow.models.dagrun import DagRun


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "a.csv").write_text("x\n1\n")
    (root / "b.csv").write_text("y\n2\n")
    return root


def _only_ti(run: DagRun) -> Any:
    (ti,) = run.get_task_instances()
    return ti


def _versions(url: str, name: str) -> list[dataver.Dataset]:
    return dataver.Registry(url).list(project="tests", name=name, states=None)


@pytest.fixture
def flaky_url(
    s3_registry_url: str, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The S3 registry behind two connections: ``dataver_steady`` (straight to moto) and
    ``dataver_flaky`` (through a proxy that answers 503 to every upload of content)."""
    s3server = _s3server()
    proxy = s3server.FaultProxy(moto_server.url)
    proxy.reset(
        s3server.Faults(rate=1.0, kinds=("503",), methods=("PUT",), paths=("/packs/", "/objects/"))
    )
    steady = json.loads(os.environ["AIRFLOW_CONN_DATAVER_DEFAULT"])
    flaky = {**steady, "extra": {**steady["extra"], "endpoint_url": proxy.url}}
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_STEADY", json.dumps(steady))
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_FLAKY", json.dumps(flaky))
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "1")  # NOTE: the first 503 fails the try
    try:
        yield s3_registry_url
    finally:
        proxy.stop()


def test_a_retry_resumes_the_version_of_the_failed_try(tmp_path: Path, flaky_url: str) -> None:
    dag = load_dag("dataver_failures", "retry_dag")

    run = dag.test(run_conf={"name": "retried", "folder": str(_folder(tmp_path / "data"))})

    assert run.state == DagRunState.SUCCESS
    ti = _only_ti(run)
    assert ti.state == TaskInstanceState.SUCCESS
    assert ti.try_number == 2
    (version,) = _versions(flaky_url, "retried")  # one version, not one per try
    assert version.state is dataver.State.FINAL
    assert version.provenance["try_number"] == 1  # created by try 1, finished by try 2
    assert version.list_files() == ["data/a.csv", "data/b.csv"]
    assert ti.xcom_pull(task_ids="version")["id"] == version.id
    assert version.provenance["task_instance_url"].endswith(
        f"/dags/dataver_retry/runs/{quote(run.run_id)}/tasks/version?try_number=1"
    )


def test_each_mapped_task_resumes_its_own_version(tmp_path: Path, flaky_url: str) -> None:
    root = tmp_path / "data"
    root.mkdir()
    _folder(root / "one")
    (_folder(root / "two") / "c.csv").write_text("z\n3\n")
    dag = load_dag("dataver_failures", "mapped_dag")

    run = dag.test(run_conf={"name": "mapped", "folder": str(root)})

    assert run.state == DagRunState.SUCCESS
    tis = sorted(run.get_task_instances(), key=lambda ti: ti.map_index)
    assert [(ti.map_index, ti.try_number) for ti in tis] == [(0, 2), (1, 2)]
    versions = sorted(_versions(flaky_url, "mapped"), key=lambda v: v.provenance["map_index"])
    assert [v.state for v in versions] == [dataver.State.FINAL, dataver.State.FINAL]
    assert [v.provenance["map_index"] for v in versions] == [0, 1]
    assert [v.stats.files for v in versions] == [2, 3]


def test_a_failure_with_no_retry_left_marks_the_version_failed(
    tmp_path: Path, flaky_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    dag = load_dag("dataver_failures", "fail_dag")

    run = dag.test(run_conf={"name": "failed", "folder": str(_folder(tmp_path / "data"))})

    assert run.state == DagRunState.FAILED
    (version,) = _versions(flaky_url, "failed")
    assert version.state is dataver.State.FAILED
    assert version.error
    assert "S3 write of" in version.error  # the 503 (SlowDown), named
    assert "Marked dataver://tests/failed@" in _output(capfd)


def test_the_timeout_kills_the_task_and_on_kill_aborts_its_version(
    tmp_path: Path, s3_registry_url: str, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = _s3server().FaultProxy(moto_server.url)
    try:
        conn = {
            "conn_type": "dataver",
            "login": "testing-key-id",
            "password": "testing-secret-key",
            "extra": {"registry": s3_registry_url, "endpoint_url": proxy.url},
        }
        monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
        folder = tmp_path / "data"
        folder.mkdir()
        for i in range(8):
            (folder / f"part-{i}.bin").write_bytes(bytes([i]) * 1000)
        # NOTE: once the task's version exists, every request through the proxy takes 2s:
        # the sync and upload then outlast the task's 3s execution timeout.
        slow_down = threading.Thread(
            target=_slow_down_when_uploading, args=(s3_registry_url, "killed", proxy), daemon=True
        )
        slow_down.start()
        dag = load_dag("dataver_failures", "timeout_dag")

        run = dag.test(run_conf={"name": "killed", "folder": str(folder)})

        slow_down.join(timeout=60)
    finally:
        proxy.stop()
    assert run.state == DagRunState.FAILED
    (version,) = _versions(s3_registry_url, "killed")
    assert version.state is dataver.State.ABORTED
    assert version.error == "interrupted (AirflowTaskTimeout)"  # the timeout, named


def test_on_kill_aborts_the_uploading_version_of_the_task(
    tmp_path: Path, registry_url: str
) -> None:
    from dataver_airflow.operators import DataverVersionOperator

    folder = _folder(tmp_path / "data")
    key = "airflow:dag/run/version/-1"
    # NOTE: what a step that was stopped mid-upload leaves: its version, Uploading, with its key
    dataver.Registry(registry_url).create(
        "stopped", project="tests", provenance={"resume_key": key}
    )
    operator = DataverVersionOperator(
        task_id="version", name="stopped", project="tests", folder=str(folder)
    )
    operator._resume_key = key  # NOTE: what execute sets before it builds

    operator.on_kill()  # e.g. the task was marked failed by hand: Airflow sends SIGTERM

    (version,) = _versions(registry_url, "stopped")
    assert version.state is dataver.State.ABORTED
    assert version.error == "task killed"


def _slow_down_when_uploading(url: str, name: str, proxy: Any) -> None:
    registry = dataver.Registry(url)  # NOTE: straight to moto, not through the slow proxy
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if registry.list(project="tests", name=name, states=["uploading"]):
            proxy.faults.delay = 2.0
            return
        time.sleep(0.02)


# ------------------------------------------------------------------------------ bad input


def _output(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    return out + err


@pytest.mark.parametrize(
    ("case", "conf", "message", "tries"),
    [
        ("missing folder", {"folder": "MISSING"}, "does not exist: no version of tests/bad", 3),
        ("invalid name", {"name": "a/b"}, "invalid name 'a/b'", 1),
        ("unknown parent", {"parents": "f" * 32}, "cannot create a version of tests/", 1),
        ("non-final parent", {"parents": "UPLOADING"}, "is uploading", 1),
        ("empty folder", {"folder": "EMPTY"}, "holds no files", 1),
    ],
)
def test_bad_input_fails_the_task_clearly_and_leaves_no_uploading_version(
    case: str,
    conf: dict[str, str],
    message: str,
    tries: int,
    tmp_path: Path,
    registry_url: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    registry = dataver.Registry(registry_url)
    uploading = registry.create("other", project="tests")  # not Final: no parent
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    empty = str(tmp_path / "empty")
    run_conf = {"name": "bad", "folder": str(_folder(tmp_path / "data")), **conf}
    run_conf = {
        k: {"MISSING": str(tmp_path / "missing"), "UPLOADING": uploading.id, "EMPTY": empty}.get(
            v, v
        )
        for k, v in run_conf.items()
    }
    dag = load_dag("dataver_failures", "bad_dag")
    capfd.readouterr()

    run = dag.test(run_conf=run_conf)

    assert run.state == DagRunState.FAILED, case
    ti = _only_ti(run)
    assert ti.state == TaskInstanceState.FAILED
    assert ti.try_number == tries  # input no retry can fix fails without retrying
    assert message in _output(capfd)
    built = [v for v in registry.list(states=None) if v.provenance.get("dag_id")]
    assert built == []  # the bad input stopped the task before any version existed
    assert [v.id for v in registry.list(states=["uploading"])] == [uploading.id]


def test_an_unknown_connection_fails_the_task_naming_it(
    tmp_path: Path, registry_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    dag = load_dag("dataver_failures", "conn_dag")
    capfd.readouterr()

    run = dag.test(run_conf={"name": "noconn", "folder": str(_folder(tmp_path / "data"))})

    assert run.state == DagRunState.FAILED
    assert "no_such_connection" in _output(capfd)
    assert dataver.Registry(registry_url).list(states=None) == []


def test_an_unknown_sensor_state_fails_the_dag_file_naming_the_valid_states(
    tmp_path: Path,
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "bad_state.py").write_text(
        textwrap.dedent(
            """
            import datetime as dt
            from airflow.sdk import DAG
            from dataver_airflow.sensors import DataverStateSensor

            with DAG("bad_state", schedule=None, start_date=dt.datetime(2026, 1, 1)):
                DataverStateSensor(task_id="wait", name="x", target_states=["finalized"])
            """
        )
    )

    bag = DagBag(dag_folder=str(tmp_path))

    (error,) = bag.import_errors.values()
    assert "unknown state 'finalized'" in error
    assert "states are: uploading, failed, aborted, final, published" in error
