"""``DataverGetOperator`` reports the version it fetched as its OpenLineage input dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow.utils.state import DagRunState

import dataver
from dataver_airflow.operators import DataverGetOperator

from .conftest import OPENLINEAGE_EVENTS, load_dag


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _complete_events(job: str) -> list[dict[str, Any]]:
    path = Path(OPENLINEAGE_EVENTS)
    lines = path.read_text().splitlines() if path.exists() else []
    events = [json.loads(line) for line in lines if line.strip()]
    return [
        e for e in events if e.get("job", {}).get("name") == job and e["eventType"] == "COMPLETE"
    ]


def test_the_fetched_version_is_the_openlineage_input(tmp_path: Path, registry_url: str) -> None:
    folder_a = _folder(tmp_path / "a", {"a.csv": "x\n1\n"})
    folder_b = _folder(tmp_path / "b", {"b.csv": "y\n2\n"})
    dag = load_dag("dataver_operators", "chain_dag")

    run = dag.test(run_conf={"name": "read", "folder_a": str(folder_a), "folder_b": str(folder_b)})

    assert run.state == DagRunState.SUCCESS
    (child,) = dataver.Registry(registry_url).list(
        project="tests", name="read", states=["published"]
    )
    (complete,) = [
        e
        for e in _complete_events("dataver_version_chain.fetch")
        if any(i["facets"]["version"]["datasetVersion"] == child.version for i in e["inputs"])
        and any(i["name"] == "read" for i in e["inputs"])
    ]
    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("dataver://tests", "read")
    assert source["facets"]["version"]["datasetVersion"] == child.version
    assert complete["outputs"] == []


def test_no_input_before_a_version_is_fetched_nor_without_openlineage(
    registry_url: str, monkeypatch: Any
) -> None:
    import sys

    ds = dataver.Registry(registry_url).create("fetched", project="tests")
    ds.finalize()
    op = DataverGetOperator(task_id="fetch", version_id=ds.id)
    assert op.get_openlineage_facets_on_complete(None) is None  # nothing fetched yet

    op.execute({})  # type: ignore[arg-type]

    lineage = op.get_openlineage_facets_on_complete(None)
    (dataset,) = lineage.inputs
    assert (dataset.namespace, dataset.name) == ("dataver://tests", "fetched")
    assert dataset.facets["version"].datasetVersion == ds.version
    assert lineage.outputs == []
    # NOTE: a None entry in sys.modules makes the import fail, as without the provider.
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert op.get_openlineage_facets_on_complete(None) is None
