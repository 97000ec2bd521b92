"""Airflow suite: runs in .venv/airflow; skipped wherever apache-airflow is not installed.

Airflow reads its configuration when first imported, so the temporary AIRFLOW_HOME and its
SQLite metadata database are set here, before any test module imports airflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from typing import TYPE_CHECKING

import pytest

_HOME = tempfile.mkdtemp(prefix="dataver-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# dag.test() runs only DAGs it finds (serialized) in a bundle: the suite's own DAG files.
DAGS_FOLDER = os.path.join(os.path.dirname(__file__), "dags")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = DAGS_FOLDER
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"

pytest.importorskip("airflow")

if TYPE_CHECKING:
    from pathlib import Path

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


def load_dag(file_name: str, dag_id: str) -> DAG:
    """Import a DAG file of ``tests/airflow/dags`` and return one of its DAGs."""
    spec = importlib.util.spec_from_file_location(f"test_dags_{file_name}", _dag_file(file_name))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: DAG = getattr(module, dag_id)
    return found


def _dag_file(file_name: str) -> str:
    return os.path.join(DAGS_FOLDER, f"{file_name}.py")
