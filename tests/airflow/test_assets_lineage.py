"""Asset events, the ``dataver`` asset URIs, OpenLineage facets and the version extra link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from airflow.sdk import Asset
from airflow.utils.state import DagRunState

import dataver
from dataver_airflow.assets import (
    announced_version,
    asset_uri,
    convert_asset_to_openlineage,
    sanitize_uri,
)

from .conftest import OPENLINEAGE_EVENTS, load_dag

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _asset_events(uri: str) -> list[tuple[dict[str, Any], str, str]]:
    """``(extra, source_dag_id, source_task_id)`` of the asset's events, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra, AssetEvent.source_dag_id, AssetEvent.source_task_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        ).all()
    return [(dict(extra), dag_id, task_id) for extra, dag_id, task_id in rows]


def _succeeded(run: DagRun) -> dict[str, Any]:
    assert run.state == DagRunState.SUCCESS
    return {ti.task_id: ti for ti in run.get_task_instances()}


def test_version_operator_emits_an_event_on_its_declared_asset(
    tmp_path: Path, registry_url: str
) -> None:
    dag = load_dag("dataver_assets", "static_dag")
    (outlet,) = dag.task_dict["version"].outlets
    # NOTE: a reference, not a definition: the asset's watchers stay the watcher DAG's.
    assert outlet == Asset.ref(uri="dataver://tests/announced")

    _succeeded(dag.test(run_conf={"folder": str(_folder(tmp_path / "d", {"a.txt": "1"}))}))

    (version,) = dataver.Registry(registry_url).list(project="tests", name="announced")
    ((extra, dag_id, task_id),) = _asset_events("dataver://tests/announced")
    assert (dag_id, task_id) == ("dataver_asset_static", "version")
    assert version.record.published_at is not None
    assert extra == {  # the shape of a watcher's events: the version under "payload"
        "payload": {
            "id": version.id,
            "project": "tests",
            "name": "announced",
            "version": version.version,
            "state": "published",
            "uri": version.uri,
            "stats": json.loads(json.dumps(version.stats.model_dump(mode="json"))),
            "published_at": version.record.published_at.isoformat(),
        }
    }
    assert announced_version(extra) == extra["payload"]
    assert extra["payload"]["stats"]["files"] == 1


def test_a_producer_refers_to_the_asset_a_watcher_defines() -> None:
    """The producer's automatic outlet does not define the asset (so the dag-processor does
    not replace the watcher's definition each time it parses the producer's file)."""
    from airflow.dag_processing.collection import AssetModelOperation
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    producer = load_dag("dataver_assets", "static_dag")
    watched = load_dag("dataver_assets", "watched_dag")

    defined = AssetModelOperation.collect(
        {
            dag.dag_id: LazyDeserializedDAG.from_dag(dag)
            for dag in (producer, watched, load_dag("dataver_operators", "steps_dag"))
        }
    ).assets
    assert [uri for _, uri in defined] == ["dataver://tests/watched"]  # the watcher's only


def test_a_reused_version_emits_no_asset_event(tmp_path: Path, registry_url: str) -> None:
    folder = _folder(tmp_path / "d", {"a.txt": "1"})
    dag = load_dag("dataver_assets", "static_dag")
    before = len(_asset_events("dataver://tests/announced"))

    first = _succeeded(dag.test(run_conf={"folder": str(folder)}))["version"]
    built = len(_asset_events("dataver://tests/announced"))
    again = _succeeded(dag.test(run_conf={"folder": str(folder)}))["version"]  # unchanged

    assert again.xcom_pull(task_ids="version", key="outcome") == "reused"
    assert again.xcom_pull(task_ids="version") == first.xcom_pull(task_ids="version")
    assert (built - before, len(_asset_events("dataver://tests/announced")) - built) == (1, 0)


def test_mapped_version_operators_each_announce_their_version(
    tmp_path: Path, registry_url: str
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    _folder(root / "one", {"a.txt": "1"})
    _folder(root / "two", {"a.txt": "1", "b.txt": "2"})
    dag = load_dag("dataver_assets", "mapped_dag")

    _succeeded(dag.test(run_conf={"folder": str(root)}))

    versions = dataver.Registry(registry_url).list(project="tests", name="mapped-static")
    events = _asset_events("dataver://tests/mapped-static")
    assert sorted(e["payload"]["id"] for e, _, _ in events) == sorted(v.id for v in versions)
    assert sorted(e["payload"]["stats"]["files"] for e, _, _ in events) == [1, 2]


def test_step_operators_announce_a_version_once_when_it_is_published(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data", {"a.csv": "1\n"})
    docs = _folder(tmp_path / "docs", {"README": "hi"})
    dag = load_dag("dataver_operators", "steps_dag")

    tis = _succeeded(
        dag.test(run_conf={"name": "aliased", "folder": str(folder), "docs": str(docs)})
    )

    version_id = tis["create"].xcom_pull(task_ids="create")["id"]
    events = _asset_events("dataver://tests/aliased")
    # NOTE: finalize leaves the event to the publish step downstream: one version, one event
    assert [(e["payload"]["id"], e["payload"]["state"], task) for e, _, task in events] == [
        (version_id, "published", "publish"),
    ]
    assert events[0][0]["payload"]["stats"]["files"] == 2


def test_finalize_announces_when_the_dag_does_not_publish(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data", {"a.csv": "1\n"})

    tis = _succeeded(
        load_dag("dataver_operators", "finalize_only_dag").test(
            run_conf={"name": "final-only", "folder": str(folder)}
        )
    )
    version_id = tis["create"].xcom_pull(task_ids="create")["id"]
    events = _asset_events("dataver://tests/final-only")
    assert [(e["payload"]["id"], e["payload"]["state"], t) for e, _, t in events] == [
        (version_id, "final", "finalize"),
    ]

    # a template naming the version: the same template downstream publishes the same version
    seal = load_dag("dataver_operators", "seal_dag")
    _succeeded(seal.test(run_conf={"version_id": version_id}))
    events = _asset_events("dataver://tests/final-only")
    assert [(e["payload"]["state"], t) for e, _, t in events][1:] == [("published", "publish")]


def test_announce_true_makes_finalize_announce_too(tmp_path: Path, registry_url: str) -> None:
    folder = _folder(tmp_path / "data", {"a.csv": "1\n"})

    _succeeded(
        load_dag("dataver_operators", "finalize_announces_dag").test(
            run_conf={"name": "told", "folder": str(folder)}
        )
    )
    events = _asset_events("dataver://tests/told")
    assert [(e["payload"]["state"], t) for e, _, t in events] == [
        ("final", "finalize"),
        ("published", "publish"),
    ]


def test_asset_uris_are_normalized_and_checked() -> None:
    assert asset_uri("vision", "my data@v2") == "dataver://vision/my%20data%40v2"
    assert Asset("dataver://vision/my%20data").uri == "dataver://vision/my%20data"
    assert Asset("dataver://vision/labels/?x=1#frag").uri == "dataver://vision/labels"
    with pytest.raises(ValueError, match="names a version"):
        sanitize_uri(urlsplit("dataver://vision/labels@1.0.0"))
    with pytest.raises(ValueError, match="more than one path segment"):
        Asset("dataver://vision/a/b")
    with pytest.raises(ValueError, match=r"dataver://<project>/<name>"):
        Asset("dataver://vision")


def test_a_dataver_asset_converts_to_its_openlineage_dataset() -> None:
    dataset = convert_asset_to_openlineage(Asset("dataver://vision/labels"), None)
    assert (dataset.namespace, dataset.name) == ("dataver://vision", "labels")


def _lineage_events(job: str) -> list[dict[str, Any]]:
    lines = (
        Path(OPENLINEAGE_EVENTS).read_text().splitlines()
        if Path(OPENLINEAGE_EVENTS).exists()
        else []
    )
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if e.get("job", {}).get("name") == job]


def test_openlineage_reports_parents_as_inputs_and_the_version_as_output(
    tmp_path: Path, registry_url: str
) -> None:
    folder_a = _folder(tmp_path / "a", {"a.csv": "x\n1\n"})
    folder_b = _folder(tmp_path / "b", {"b.csv": "y\n2\n"})
    dag = load_dag("dataver_operators", "chain_dag")

    _succeeded(
        dag.test(run_conf={"name": "lineage", "folder_a": str(folder_a), "folder_b": str(folder_b)})
    )

    registry = dataver.Registry(registry_url)
    parent, child = sorted(
        registry.list(project="tests", name="lineage"), key=lambda v: v.created_at
    )
    (complete,) = [
        e
        for e in _lineage_events("dataver_version_chain.child")
        if e["eventType"] == "COMPLETE"
        and e["outputs"]
        and e["outputs"][0]["facets"]["version"]["datasetVersion"] == child.version
    ]
    (output,) = complete["outputs"]
    assert (output["namespace"], output["name"]) == ("dataver://tests", "lineage")
    assert output["outputFacets"]["outputStatistics"]["fileCount"] == 2
    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("dataver://tests", "lineage")
    assert source["facets"]["version"]["datasetVersion"] == parent.version


def test_the_extra_link_points_at_the_version_page(
    tmp_path: Path, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {
        "conn_type": "dataver",
        "extra": {"registry": registry_url, "ui_url": "https://ui.example/"},
    }
    folder = _folder(tmp_path / "d", {"a.txt": "1"})
    dag = load_dag("dataver_assets", "static_dag")

    first = _succeeded(dag.test(run_conf={"folder": str(folder)}))["version"]
    monkeypatch.setenv("AIRFLOW_CONN_DATAVER_DEFAULT", json.dumps(conn))
    second = _succeeded(dag.test(run_conf={"folder": str(folder)}))["version"]

    key = "_link_DataverVersionLink"
    first_id = first.xcom_pull(task_ids="version")["id"]
    second_id = second.xcom_pull(task_ids="version")["id"]
    # without ui_url: the dataver plugin's mount inside Airflow ([api] base_url + /dataver)
    assert first.xcom_pull(task_ids="version", key=key) == (
        f"http://localhost:8080/dataver/versions/{first_id}"
    )
    assert second.xcom_pull(task_ids="version", key=key) == (
        f"https://ui.example/versions/{second_id}"
    )


def test_openlineage_stays_optional(registry_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from dataver_airflow.operators import DataverFinalizeOperator

    probe = (
        "import sys, dataver_airflow.operators, dataver_airflow.triggers;"
        "print(sorted(m for m in sys.modules if m.startswith('openlineage')"
        " or m.startswith('airflow.providers.openlineage.extractors')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert imported.stdout.strip() == "[]"  # nothing OpenLineage is imported up front

    ds = dataver.Registry(registry_url).create("optional", project="tests")
    ds.finalize()
    op = DataverFinalizeOperator(task_id="finalize", version_id=ds.id)
    op._remember_lineage(ds)
    assert op.get_openlineage_facets_on_complete(None) is not None
    # NOTE: a None entry in sys.modules makes the import fail, as without the provider.
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert op.get_openlineage_facets_on_complete(None) is None
