"""The dataver connection's password never leaks (issue 11, Secrets).

The connection holds the S3 secret key; after DAG runs that succeed and fail, the secret must
appear nowhere: not in task output or logs, XComs, error messages, anything the registry
stored (records, manifests, content), the plugin's web page, nor the hook's own messages.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from airflow.utils.state import DagRunState

from .conftest import load_example

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

SECRET = "s3cr3t-" + uuid.uuid4().hex  # NOTE: unique, so any hit is a real leak
KEY_ID = "AKIA" + uuid.uuid4().hex[:16].upper()


@pytest.fixture
def secret_registry(
    moto_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """``dataver_default`` on a fresh moto bucket, the credentials only in the connection.

    The tests' own boto3 reads use other credentials (moto accepts any), so the secret lives
    nowhere but in the connection. Returns (registry url, bucket).
    """
    endpoint: str = moto_server.url  # type: ignore[attr-defined]
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "reader"),
        ("AWS_SECRET_ACCESS_KEY", "reader-secret"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    bucket = f"secrets-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/registry"
    conn = {
        "conn_type": "dataver",
        "login": KEY_ID,
        "password": SECRET,
        "extra": {"registry": url, "endpoint_url": endpoint, "region": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    return url, bucket


def _stored(endpoint: str, bucket: str) -> bytes:
    """Every byte of every object in the bucket."""
    client = boto3.client("s3", endpoint_url=endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert keys, "the DAG stored nothing: the test would prove nothing"
    return b"".join(client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys)


def _xcoms(run: DagRun) -> str:
    return json.dumps(
        [ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()], default=str
    )


def test_a_successful_run_leaks_no_secret(
    secret_registry: tuple[str, str],
    moto_server: object,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    dag = load_example("airflow_ingest_train", "ingest_train_dag")
    run = dag.test(run_conf={"workdir": str(tmp_path / "work")})
    assert run.state == DagRunState.SUCCESS
    out, err = capfd.readouterr()
    assert SECRET not in out + err + caplog.text
    assert SECRET not in _xcoms(run)
    endpoint: str = moto_server.url  # type: ignore[attr-defined]
    assert SECRET.encode() not in _stored(endpoint, secret_registry[1])
    assert KEY_ID.encode() not in _stored(endpoint, secret_registry[1])
    logs = "".join(p.read_text(errors="replace") for p in Path(tmp_path).rglob("*.log"))
    assert SECRET not in logs


def test_failing_runs_leak_no_secret(
    secret_registry: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_DATAVER_DEFAULT"])
    conn["extra"]["registry"] = "s3://no-such-bucket-" + uuid.uuid4().hex[:8] + "/registry"
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    dag = load_example("airflow_ingest_train", "ingest_train_dag")
    run = dag.test(run_conf={"workdir": str(tmp_path / "work")})
    assert run.state == DagRunState.FAILED
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert "no-such-bucket" in text  # the failure is reported ...
    assert SECRET not in text  # ... without the secret
    assert KEY_ID not in text


def test_hook_messages_and_the_web_page_leak_no_secret(secret_registry: tuple[str, str]) -> None:
    from fastapi.testclient import TestClient

    from dataver.ui import create_app
    from dataver_airflow.hooks.dataver import DataverHook

    hook = DataverHook()
    _, options = hook.registry_settings()
    assert SECRET in options.values()  # NOTE: the secret is really in play
    missing, refused = hook.test_connection()  # NOTE: a fresh bucket holds no registry yet
    assert not missing, refused
    hook.get_registry().create("seen").finalize()
    ok, message = hook.test_connection()
    assert ok, message
    registry = hook.get_registry()
    assert SECRET not in f"{refused} {message} {registry!r} {registry.url}"
    client = TestClient(create_app(registry), base_url="http://localhost")
    for path in ("/api/datasets", "/api/openapi.json", "/"):
        assert SECRET not in client.get(path).text
