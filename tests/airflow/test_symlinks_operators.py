"""The operators pass the symlink policy through (``symlinks=``): same answers as the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.utils.state import DagRunState, TaskInstanceState

import dataver

from .conftest import load_dag

if TYPE_CHECKING:
    from pathlib import Path


def _folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    (outside / "dir" / "x.txt").write_text("x")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_text("a")
    (folder / "inside.csv").symlink_to("a.csv")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "dir").symlink_to(outside / "dir", target_is_directory=True)
    return folder


def _files(ds: dataver.Dataset) -> dict[str, bytes]:
    local = ds.get_local_copy()
    return {
        p.relative_to(local).as_posix(): p.read_bytes() for p in local.rglob("*") if p.is_file()
    }


def test_links_outside_fail_the_task_by_default(tmp_path: Path, registry_url: str) -> None:
    run = load_dag("dataver_symlinks", "refused").test(
        run_conf={"name": "refused", "folder": str(_folder(tmp_path))}
    )
    assert run.state == DagRunState.FAILED
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["add"].state == TaskInstanceState.FAILED
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="refused")
    assert ds.list_files() == []  # nothing of the folder was added


def test_step_operators_skip_and_follow(tmp_path: Path, registry_url: str) -> None:
    run = load_dag("dataver_symlinks", "policies").test(
        run_conf={"name": "policies", "folder": str(_folder(tmp_path))}
    )
    assert run.state == DagRunState.SUCCESS
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="policies")
    assert _files(ds) == {
        "follow/a.csv": b"a",
        "follow/dir/x.txt": b"x",
        "follow/inside.csv": b"a",
        "follow/secret.txt": b"secret",
        "skip/a.csv": b"a",
        "skip/inside.csv": b"a",
    }


def test_version_operator_follows(tmp_path: Path, registry_url: str) -> None:
    run = load_dag("dataver_symlinks", "version").test(
        run_conf={"name": "version", "folder": str(_folder(tmp_path))}
    )
    assert run.state == DagRunState.SUCCESS
    (ds,) = dataver.Registry(registry_url).list(project="tests", name="version")
    assert ds.state is dataver.State.FINAL
    assert set(_files(ds)) == {"a.csv", "dir/x.txt", "inside.csv", "secret.txt"}
