"""The dataver plugin: the web page mounted in Airflow's real API server, and its nav entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import dataver

pytest.importorskip("fastapi")

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A signing key long enough for the JWTs of Airflow's auth manager (HS512)."""
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "dataver-tests-" + "0" * 64)


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


def _token(role: str | None = "admin") -> str:
    """A JWT of Airflow's auth manager (the simple one here) for a user with ``role``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return str(get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="u", role=role)))


def _logged_in(app: object, role: str | None = "admin", **kwargs: object) -> object:
    from fastapi.testclient import TestClient

    client = TestClient(app, **kwargs)  # type: ignore[arg-type]
    client.headers["Authorization"] = f"Bearer {_token(role)}"
    return client


def test_airflow_api_server_serves_the_page(version: dataver.Dataset) -> None:
    from airflow.api_fastapi.app import create_app

    from dataver_airflow.plugin import DataverPlugin

    # NOTE: a fresh lazy app, so this test's connection (registry_url) is the one used.
    DataverPlugin.fastapi_apps[0]["app"].reset()
    client: Any = _logged_in(create_app())
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


def test_the_page_asks_airflow_who_may_read_it(version: dataver.Dataset) -> None:
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    from dataver_airflow.plugin import DataverPlugin

    DataverPlugin.fastapi_apps[0]["app"].reset()
    app = create_app()
    anonymous = TestClient(app, follow_redirects=False)
    preview = f"/dataver/api/versions/{version.id}/preview?path=labels.csv"

    for path in ("/dataver/api/datasets", preview, "/dataver/"):
        assert anonymous.get(path).status_code == 401, path  # as /api/v2/dags answers
    page = anonymous.get(f"/dataver/versions/{version.id}", headers={"accept": "text/html"})
    assert page.status_code == 307  # a browser goes to the login page, and comes back
    assert page.headers["location"].startswith("/auth/login?next=")
    assert f"%2Fdataver%2Fversions%2F{version.id}" in page.headers["location"]
    assert anonymous.get("/dataver/", headers={"Authorization": "Bearer nonsense"}).status_code in (
        401,
        403,
    )
    # the UI's session cookie is a login too
    cookie = TestClient(app, cookies={"_token": _token("viewer")})
    assert cookie.get("/dataver/api/datasets").status_code == 200
    # a user Airflow lets read assets reads the page; one it does not, does not
    viewer: Any = _logged_in(app, "viewer")
    assert viewer.get(preview).json()["rows"] == [["1", "cat"]]
    nobody: Any = _logged_in(app, None)
    assert nobody.get("/dataver/api/datasets").status_code == 403


def test_missing_connection_is_named_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.app import create_app
    from fastapi import FastAPI

    from dataver_airflow.plugin import LazyDataverApp

    create_app()  # NOTE: sets up Airflow's auth manager, which the page asks
    monkeypatch.delenv("AIRFLOW_CONN_DATAVER_DEFAULT", raising=False)
    outer = FastAPI()
    outer.mount("/dataver", LazyDataverApp("dataver_missing"))
    client: Any = _logged_in(outer)
    response = client.get("/dataver/")
    assert response.status_code == 503
    assert "dataver_missing" in response.text


def test_the_host_check_is_off_by_default_and_can_be_turned_on(
    version: dataver.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.api_fastapi.app import create_app

    from dataver_airflow.plugin import DataverPlugin

    lazy = DataverPlugin.fastapi_apps[0]["app"]
    # NOTE: Airflow's API server answers any Host; so does the page it mounts, by default.
    lazy.reset()
    client: Any = _logged_in(create_app(), base_url="http://airflow.internal.example:8080")
    assert client.get("/dataver/api/datasets").status_code == 200
    monkeypatch.setenv("AIRFLOW__DATAVER__UI_ALLOWED_HOSTS", "airflow.example.com")
    lazy.reset()
    try:
        client = _logged_in(create_app(), base_url="http://airflow.example.com")
        assert client.get("/dataver/api/datasets").status_code == 200
        refused = client.get("/dataver/api/datasets", headers={"host": "evil.example"})
        assert refused.status_code == 400
        assert refused.json()["error"] == "HostNotAllowed"
        # Airflow's own routes are not the page's: they answer as before.
        assert client.get("/api/v2/version", headers={"host": "evil.example"}).status_code != 400
    finally:
        lazy.reset()  # NOTE: the next test builds the page from its own settings again
