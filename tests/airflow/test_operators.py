"""The dataver operators inside real task runs (``dag.test()``, SQLite, a local registry)."""

from __future__ import annotations

from pathlib import Path

from airflow.utils.state import DagRunState, TaskInstanceState

import dataver

from .conftest import load_dag


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_version_operator_builds_a_parent_and_a_child_that_get_reads(
    tmp_path: Path, registry_url: str
) -> None:
    folder_a = _folder(tmp_path / "a", {"a.csv": "x\n1\n"})
    folder_b = _folder(tmp_path / "b", {"b.csv": "y\n2\n"})
    dag = load_dag("dataver_operators", "chain_dag")

    run = dag.test(run_conf={"name": "chain", "folder_a": str(folder_a), "folder_b": str(folder_b)})

    assert run.state == DagRunState.SUCCESS
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert {k: ti.state for k, ti in tis.items()} == dict.fromkeys(
        ("parent", "child", "fetch"), TaskInstanceState.SUCCESS
    )
    registry = dataver.Registry(registry_url)
    parent, child = sorted(
        registry.list(project="tests", name="chain", states=None), key=lambda v: v.created_at
    )
    assert parent.state is dataver.State.FINAL
    assert child.state is dataver.State.PUBLISHED
    assert child.parents == (parent.id,)
    assert parent.tags == ("raw",)
    assert parent.metadata == {"source": str(folder_a)}
    assert parent.provenance["dag_id"] == "dataver_version_chain"
    assert parent.provenance["task_id"] == "parent"
    assert parent.provenance["run_id"] == run.run_id
    assert parent.provenance["try_number"] == 1

    summary = tis["child"].xcom_pull(task_ids="child")
    assert set(summary) == {"id", "name", "project", "version", "state", "uri", "stats"}
    assert summary["id"] == child.id
    assert summary["state"] == "published"
    assert summary["version"] == child.version != parent.version
    assert summary["uri"] == f"dataver://tests/chain@{child.version}"
    assert summary["stats"]["files"] == 2

    local = Path(tis["fetch"].xcom_pull(task_ids="fetch"))
    assert local.is_relative_to(tmp_path / "cache")
    assert (local / "a.csv").read_text() == "x\n1\n"
    assert (local / "more" / "b.csv").read_text() == "y\n2\n"


def test_step_operators_build_and_publish_a_version(tmp_path: Path, registry_url: str) -> None:
    folder = _folder(tmp_path / "data", {"a.csv": "1\n", "scratch.tmp": "x"})
    docs = _folder(tmp_path / "docs", {"README": "hi"})
    dag = load_dag("dataver_operators", "steps_dag")

    run = dag.test(run_conf={"name": "steps", "folder": str(folder), "docs": str(docs)})

    assert run.state == DagRunState.SUCCESS
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    created = tis["create"].xcom_pull(task_ids="create")
    assert created["state"] == "uploading"
    assert tis["finalize"].xcom_pull(task_ids="finalize")["state"] == "final"
    published = tis["publish"].xcom_pull(task_ids="publish")
    assert published["state"] == "published"
    assert published["id"] == created["id"]
    ds = dataver.Registry(registry_url).get(created["id"])
    assert ds.state is dataver.State.PUBLISHED
    assert ds.description == "step by step"
    assert ds.provenance["task_id"] == "create"
    local = ds.get_local_copy()
    files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    assert files == ["data/a.csv", "docs/README"]


def test_finalize_and_publish_are_idempotent(tmp_path: Path, registry_url: str) -> None:
    ds = dataver.Registry(registry_url).create("sealed", project="tests")
    ds.add_files(_folder(tmp_path / "data", {"a.csv": "1\n"}))
    dag = load_dag("dataver_operators", "seal_dag")

    first = dag.test(run_conf={"version_id": ds.id})
    again = dag.test(run_conf={"version_id": ds.id})  # e.g. the run cleared and re-run

    for run in (first, again):
        assert run.state == DagRunState.SUCCESS
        tis = {ti.task_id: ti for ti in run.get_task_instances()}
        assert tis["publish"].xcom_pull(task_ids="publish")["state"] == "published"
    assert ds.reload().state is dataver.State.PUBLISHED
    assert ds.stats.files == 1
