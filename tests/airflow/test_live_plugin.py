"""The dataver page inside a live Airflow api-server: behind Airflow's login (``live.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

import dataver

if TYPE_CHECKING:
    from pathlib import Path

    from .live import LiveAirflow

# NOTE: the first test also starts the session's live Airflow (bounded by LiveAirflow.start).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_page_needs_an_airflow_login(live_airflow: Any, tmp_path: Path) -> None:
    live: LiveAirflow = live_airflow
    src = tmp_path / "src"
    src.mkdir()
    (src / "secret.csv").write_text("id,label\n1,confidential\n")
    with dataver.Registry(live.registry_url) as registry:
        made = registry.version_folder("private", src, "live")
    assert made.dataset is not None
    vid = made.dataset.id
    paths = [
        "/dataver/",
        "/dataver/api/datasets",
        f"/dataver/api/versions/{vid}/preview?path=secret.csv",
    ]

    with httpx.Client(base_url=live.url, timeout=30) as anonymous:
        assert anonymous.get("/api/v2/dags").status_code == 401  # Airflow's own answer
        for path in paths:
            answer = anonymous.get(path)
            assert answer.status_code == 401, (path, answer.text)
            assert "confidential" not in answer.text
        page = anonymous.get(f"/dataver/versions/{vid}", headers={"accept": "text/html"})
        assert page.status_code == 307  # a browser is sent to Airflow's login page
        assert page.headers["location"].startswith("/auth/login?next=")

    for user in ("admin", "viewer"):  # the same login as the rest of the UI: a JWT ...
        headers = {"Authorization": f"Bearer {live.token(user)}"}
        with httpx.Client(base_url=live.url, timeout=30, headers=headers) as client:
            for path in paths:
                assert client.get(path).status_code == 200, (user, path)
            assert client.get(paths[2]).json()["rows"] == [["1", "confidential"]]
    # ... or the session cookie the UI's login sets
    with httpx.Client(base_url=live.url, timeout=30, cookies={"_token": live.token()}) as ui:
        assert ui.get("/dataver/api/datasets").status_code == 200
