"""``DataverHook.test_connection()`` succeeds only where a registry is there and readable.

A location with no registry marker (``dataver.json``) is no registry: a typo in the path, an
empty folder or bucket. It fails, saying what is wrong, unless the connection asks for
``"create": true``: then the test creates an empty registry there.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import dataver
from dataver_airflow.hooks import DataverHook


def _conn(monkeypatch: pytest.MonkeyPatch, registry: str, **extra: Any) -> None:
    conn = {"conn_type": "dataver", "extra": {"registry": registry, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))


def test_a_folder_that_does_not_exist_is_no_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "regsitry"
    _conn(monkeypatch, str(typo))

    ok, message = DataverHook().test_connection()

    assert not ok
    assert f"no dataver registry at {typo.as_uri()}" in message
    assert f"no dataver registry at {typo.as_uri()}: the folder does not exist" in message
    assert '"create": true' in message
    assert not typo.exists()  # NOTE: testing created nothing


def test_an_empty_folder_is_no_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _conn(monkeypatch, str(empty))

    ok, message = DataverHook().test_connection()

    assert not ok
    assert "the folder is empty" in message
    assert list(empty.iterdir()) == []


def test_a_folder_of_other_files_is_no_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a registry")
    _conn(monkeypatch, str(other))

    ok, message = DataverHook().test_connection()

    assert not ok
    assert "the folder holds no dataver.json" in message


@pytest.mark.parametrize("create", [True, "true"])
def test_create_true_makes_an_empty_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, create: Any
) -> None:
    new = tmp_path / "new" / "registry"
    _conn(monkeypatch, str(new), create=create)

    ok, message = DataverHook().test_connection()

    assert ok, message
    assert message == f"Created an empty dataver registry at {new.as_uri()}"
    assert json.loads((new / "dataver.json").read_text())["format"] == 1
    assert dataver.Registry(str(new)).list(states=None) == []
    ok, message = DataverHook().test_connection()
    assert (ok, message) == (True, f"Connected to {new.as_uri()} (0 versions)")


def test_create_false_still_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, str(tmp_path / "absent"), create=False)

    ok, _ = DataverHook().test_connection()

    assert not ok
    assert not (tmp_path / "absent").exists()


def test_a_registry_counts_its_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(tmp_path / "registry")
    registry = dataver.Registry(url)
    registry.create("one").finalize()
    registry.create("two")  # NOTE: Uploading versions count too
    _conn(monkeypatch, url)

    assert DataverHook().test_connection() == (
        True,
        f"Connected to {Path(url).as_uri()} (2 versions)",
    )


def test_an_unreadable_marker_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataver.json").write_text("{not json")
    _conn(monkeypatch, str(broken))

    ok, message = DataverHook().test_connection()

    assert not ok
    assert "corrupt registry marker dataver.json" in message


def test_an_empty_bucket_is_no_registry_until_created(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    endpoint = moto_server.url
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing-key-id"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret-key"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"check-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/registry"
    _conn(monkeypatch, url, endpoint_url=endpoint)

    ok, message = DataverHook().test_connection()
    assert not ok
    assert f"no dataver registry at {url}: it holds no dataver.json" in message

    _conn(monkeypatch, url, endpoint_url=endpoint, create=True)
    assert DataverHook().test_connection() == (True, f"Created an empty dataver registry at {url}")
    _conn(monkeypatch, url, endpoint_url=endpoint)
    assert DataverHook().test_connection() == (True, f"Connected to {url} (0 versions)")
