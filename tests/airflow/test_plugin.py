"""The dataver plugin: the web page mounted in Airflow's real API server, and its nav entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver

pytest.importorskip("fastapi")

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def version(registry_url: str, tmp_path: Path) -> dataver.Dataset:
    src = tmp_path / "src"
    src.mkdir()
    (src / "labels.csv").write_text("id,label\n1,cat\n")
    ds = dataver.Registry(registry_url).create("plugged")
    ds.add_files(src)
    ds.finalize(auto_upload=True)
    return ds


def test_plugin_is_discovered_with_its_app_and_nav_entry() -> None:
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    ours = [a for a in apps if a["url_prefix"] == "/dataver"]
    assert [a["name"] for a in ours] == ["Dataset Versions"]
    views = plugins_manager.get_plugin_info(["external_views"])
    entries = [v for p in views for v in p.get("external_views", []) if p["name"] == "dataver"]
    assert entries == [
        {
            "name": "Dataset Versions",
            "href": "dataver/",
            "destination": "nav",
            "category": "browse",
            "url_route": "dataver",
        }
    ]


def test_airflow_api_server_serves_the_page(version: dataver.Dataset) -> None:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    from dataver_airflow.plugin import DataverPlugin

    # NOTE: a fresh lazy app, so this test's connection (registry_url) is the one used.
    DataverPlugin.fastapi_apps[0]["app"].reset()
    client = TestClient(create_app())
    datasets = client.get("/dataver/api/datasets")
    assert datasets.status_code == 200, datasets.text
    assert [d["name"] for d in datasets.json()] == ["plugged"]
    page = client.get(f"/dataver/versions/{version.id}")
    assert page.status_code == 200
    assert '<base href="/dataver/">' in page.text
    preview = client.get(
        f"/dataver/api/versions/{version.id}/preview", params={"path": "labels.csv"}
    )
    assert preview.json()["rows"] == [["1", "cat"]]


def test_missing_connection_is_named_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from dataver_airflow.plugin import LazyDataverApp

    monkeypatch.delenv("AIRFLOW_CONN_DATAVER_DEFAULT", raising=False)
    outer = FastAPI()
    outer.mount("/dataver", LazyDataverApp("dataver_missing"))
    response = TestClient(outer).get("/dataver/")
    assert response.status_code == 503
    assert "dataver_missing" in response.text


def test_the_host_check_is_off_by_default_and_can_be_turned_on(
    version: dataver.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    from dataver_airflow.plugin import DataverPlugin

    lazy = DataverPlugin.fastapi_apps[0]["app"]
    # NOTE: Airflow's API server answers any Host; so does the page it mounts, by default.
    lazy.reset()
    client = TestClient(create_app(), base_url="http://airflow.internal.example:8080")
    assert client.get("/dataver/api/datasets").status_code == 200
    monkeypatch.setenv("AIRFLOW__DATAVER__UI_ALLOWED_HOSTS", "airflow.example.com")
    lazy.reset()
    try:
        client = TestClient(create_app(), base_url="http://airflow.example.com")
        assert client.get("/dataver/api/datasets").status_code == 200
        refused = client.get("/dataver/api/datasets", headers={"host": "evil.example"})
        assert refused.status_code == 400
        assert refused.json()["error"] == "HostNotAllowed"
        # Airflow's own routes are not the page's: they answer as before.
        assert client.get("/api/v2/version", headers={"host": "evil.example"}).status_code != 400
    finally:
        lazy.reset()  # NOTE: the next test builds the page from its own settings again
