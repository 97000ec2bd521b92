"""Airflow suite: runs in .venv/airflow; skipped wherever apache-airflow is not installed.

Airflow reads its configuration when first imported, so the temporary AIRFLOW_HOME and its
SQLite metadata database are set here, before any test module imports airflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

_HOME = tempfile.mkdtemp(prefix="dataver-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# dag.test() runs only DAGs it finds (serialized) in a bundle: the suite's own DAG files and,
# as a second bundle, the examples of examples/dags.
DAGS_FOLDER = os.path.join(os.path.dirname(__file__), "dags")
EXAMPLES_FOLDER = str(Path(__file__).resolve().parents[2] / "examples" / "dags")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = DAGS_FOLDER
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "dataver-examples",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": EXAMPLES_FOLDER},
        },
    ]
)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
# OpenLineage events of every task go to this file (JSON lines), so tests read real events.
OPENLINEAGE_EVENTS = os.path.join(_HOME, "openlineage.jsonl")
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
    {"type": "file", "log_file_path": OPENLINEAGE_EVENTS, "append": True}
)

pytest.importorskip("airflow")

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from airflow.sdk import DAG


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> str:
    """A fresh SQLite metadata database for the whole session; returns AIRFLOW_HOME."""
    from airflow.utils import db

    db.resetdb()
    return _HOME


@pytest.fixture
def registry_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A local registry behind the ``dataver_default`` connection; the cache under tmp_path."""
    url = str(tmp_path / "registry")
    conn = {"conn_type": "dataver", "extra": {"registry": url}}
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    return url


@pytest.fixture(scope="session")
def moto_server() -> Iterator[object]:
    """One real moto S3 server (``python -m moto.server``, real HTTP) for the session."""
    server = _s3server().MotoServer()
    yield server
    server.stop()


@pytest.fixture
def s3_registry_url(moto_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<fresh bucket>/registry`` on the moto server behind ``dataver_default``.

    The connection carries the credentials (login, password) and the endpoint (extra), as a
    user's would; the AWS_* variables serve the tests' own boto3 and dataver calls.
    """
    import boto3

    endpoint: str = moto_server.url  # type: ignore[attr-defined]
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing-key-id"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret-key"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"airflow-{uuid.uuid4().hex[:20]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/registry"
    conn = {
        "conn_type": "dataver",
        "login": "testing-key-id",
        "password": "testing-secret-key",
        "extra": {"registry": url, "endpoint_url": endpoint, "region": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    return url


@pytest.fixture(params=["local", "s3"])
def any_registry_url(request: pytest.FixtureRequest) -> str:
    """A registry behind ``dataver_default``: a local folder, then (second run) moto S3."""
    fixture = "registry_url" if request.param == "local" else "s3_registry_url"
    url: str = request.getfixturevalue(fixture)
    return url


def _s3server() -> ModuleType:
    """tests/core/s3server.py (the core suite's moto helper), imported by path."""
    name = "dataver_tests_s3server"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "core" / "s3server.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def load_dag(file_name: str, dag_id: str, folder: str = DAGS_FOLDER) -> DAG:
    """Import a DAG file (of ``tests/airflow/dags`` by default) and return one of its DAGs."""
    path = os.path.join(folder, f"{file_name}.py")
    spec = importlib.util.spec_from_file_location(f"test_dags_{file_name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: DAG = getattr(module, dag_id)
    return found


def load_example(file_name: str, dag_id: str) -> DAG:
    """Import an example DAG file of ``examples/dags`` and return one of its DAGs."""
    return load_dag(file_name, dag_id, EXAMPLES_FOLDER)


LIVE_DAGS_FOLDER = Path(__file__).resolve().parent / "live_dags"


@pytest.fixture(scope="session")
def live_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A live Airflow (``tests/airflow/live.py``): api-server, scheduler, dag-processor and
    triggerer as processes, for the whole session; its DAGs are ``live_dags/`` and the
    examples, its ``dataver_default`` registry a fresh local folder."""
    from .live import LiveAirflow

    root = tmp_path_factory.mktemp("live-airflow")
    registry = str(root / "registry")
    conn = {"conn_type": "dataver", "extra": {"registry": registry}}
    live = LiveAirflow(
        home=root / "home",
        bundles={"live-dags": LIVE_DAGS_FOLDER, "dataver-examples": Path(EXAMPLES_FOLDER)},
        env={
            "AIRFLOW_CONN_DATAVER_DEFAULT": json.dumps(conn),
            "DATAVER_CACHE_DIR": str(root / "cache"),
        },
        registry_url=registry,
    )
    try:
        live.start()
        yield live
    finally:
        live.stop()
