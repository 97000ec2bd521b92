"""Airflow discovers the provider and its ``dataver`` connection type; the hook's connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import dataver
import dataver_airflow
from dataver_airflow.hooks import DataverHook

if TYPE_CHECKING:
    import pytest

AIRFLOW = Path(sys.executable).with_name("airflow")


def test_provider_info_names_the_distribution_hook_operators_sensors_and_triggers() -> None:
    info = dataver_airflow.get_provider_info()
    assert info["package-name"] == "airflow-provider-dataver"
    assert info["versions"] == [dataver_airflow.__version__]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "dataver"
    assert conn_type["hook-class-name"] == "dataver_airflow.hooks.dataver.DataverHook"
    assert set(conn_type["conn-fields"]) == {
        "registry",
        "endpoint_url",
        "region",
        "create",
        "ui_url",
    }
    assert info["extra-links"] == ["dataver_airflow.links.DataverVersionLink"]
    (uris,) = info["asset-uris"]
    assert uris["schemes"] == ["dataver"]
    for group in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[group]:
            for module in entry["python-modules"]:
                __import__(module)
    # NOTE: the operators' first module path stays importable for DAGs written against it
    from dataver_airflow import operators
    from dataver_airflow.operators import dataver as first_path

    assert set(operators.__all__) <= set(first_path.__all__)
    assert all(getattr(first_path, n) is getattr(operators, n) for n in operators.__all__)


def _airflow(*args: str) -> str:
    result = subprocess.run(
        [str(AIRFLOW), *args, "--output", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_airflow_cli_lists_the_provider_and_all_it_brings() -> None:
    (provider,) = json.loads(_airflow("providers", "get", "airflow-provider-dataver", "--full"))

    assert provider["package-name"] == "airflow-provider-dataver"
    assert provider["versions"] == [dataver_airflow.__version__]
    assert provider["hooks"][0]["python-modules"] == ["dataver_airflow.hooks.dataver"]
    assert provider["operators"][0]["python-modules"] == [
        f"dataver_airflow.operators.{family}" for family in ("build", "seal", "get", "version")
    ]
    assert provider["sensors"][0]["python-modules"] == ["dataver_airflow.sensors.dataver"]
    assert provider["triggers"][0]["python-modules"] == ["dataver_airflow.triggers.dataver"]
    assert provider["connection-types"][0]["connection-type"] == "dataver"
    assert provider["extra-links"] == ["dataver_airflow.links.DataverVersionLink"]
    links = json.loads(_airflow("providers", "links"))
    assert {"extra_link_class_name": "dataver_airflow.links.DataverVersionLink"} in links


def test_providers_manager_knows_the_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["dataver"]
    assert hook is not None
    assert hook.hook_class_name == "dataver_airflow.hooks.dataver.DataverHook"
    manager = ProvidersManager()
    assert "airflow-provider-dataver" in manager.providers
    assert "extra__dataver__registry" in manager.connection_form_widgets
    assert "host" in manager.field_behaviours["dataver"]["hidden_fields"]
    assert "dataver_airflow.links.DataverVersionLink" in manager.extra_links_class_names
    assert "dataver" in ProvidersManagerTaskRuntime().asset_uri_handlers


def _conn(monkeypatch: pytest.MonkeyPatch, **conn: object) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps({"conn_type": "dataver", **conn}))


def test_hook_reads_the_registry_from_an_env_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(tmp_path / "registry")
    _conn(monkeypatch, extra={"registry": url})
    dataver.Registry(url).create("seen").finalize()

    ok, message = DataverHook().test_connection()

    assert ok, message
    assert "(1 version)" in message
    assert [v.name for v in DataverHook().get_registry().list()] == ["seen"]


def test_hook_reports_a_connection_without_a_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, extra={})

    ok, message = DataverHook().test_connection()

    assert not ok
    assert "no registry URL" in message


def test_hook_passes_s3_credentials_as_storage_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_S3_REGISTRY",
        json.dumps(
            {
                "conn_type": "dataver",
                "login": "AKID",
                "password": "SECRET",
                "extra": {
                    "registry": "s3://bucket/datasets",
                    "endpoint_url": "http://localhost:9000",
                    "region": "",
                },
            }
        ),
    )

    url, options = DataverHook("s3_registry").registry_settings()

    assert url == "s3://bucket/datasets"
    assert options == {"key": "AKID", "secret": "SECRET", "endpoint_url": "http://localhost:9000"}
