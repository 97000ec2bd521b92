"""Many task runs build one version: mapped ``add_files`` on a Dask cluster of worker processes.

``examples/dags/prefect_many_writers.py`` runs for real on a ``DaskTaskRunner`` (a
``LocalCluster`` of 2 spawned worker processes): 400 files in 4 parts, one writer per mapped
task run, merged by ``finalize_version``. A mapped task run that fails once after its writer
committed is retried and replaces its own contribution (no duplicate writer).

Dask's workers unpickle the flows by module name, so the example and the flaky flow are
imported by name from folders put on ``sys.path`` (spawned workers inherit it).
"""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver
from prefect import flow, unmapped
from prefect_dataver import (
    add_files,
    create_version,
    finalize_version,
    partition_files,
    sync_folder,
)

if TYPE_CHECKING:
    from types import ModuleType

# NOTE: the prefect venv installs it (Makefile PREFECT_TEST_TOOLS): missing, the suite fails
import prefect_dask  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
SCRIPTS = Path(__file__).resolve().with_name("scripts")
FILES = 400
PARTS = 4


def make_source(root: Path, count: int = FILES) -> dict[str, bytes]:
    """``count`` files in nested folders, of different sizes and content; returns them."""
    files: dict[str, bytes] = {}
    for i in range(count):
        rel = f"shard-{i % 7}/{'deep/' if i % 3 == 0 else ''}file-{i:04d}.bin"
        data = f"file {i}\n".encode() * (1 + i % 41)
        files[rel] = data
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def read_tree(root: str | Path) -> dict[str, bytes]:
    base = Path(root)
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def import_by_name(monkeypatch: pytest.MonkeyPatch, folder: Path, module: str) -> ModuleType:
    """``folder/module.py`` imported as ``module``, with ``folder`` on ``sys.path``."""
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module(module)


def dask_runner(cluster: dict[str, Any]) -> Any:
    """The example's cluster, its dashboard on any free port (8787 may be taken)."""
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(cluster_kwargs={**cluster, "dashboard_address": ":0"})


@pytest.mark.timeout(240)
def test_example_flow_many_writers_on_dask_processes(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = import_by_name(monkeypatch, EXAMPLES, "prefect_many_writers")
    source = tmp_path / "source"
    files = make_source(source)
    name = f"shards-{uuid.uuid4().hex[:8]}"
    run = example.many_writers.with_options(task_runner=dask_runner(example.CLUSTER))

    done = run(registry_url, str(source), name=name, num_parts=PARTS)

    version = done["version"]
    assert (version.state, version.stats["files"]) == ("published", FILES)
    # NOTE: one writer per mapped task run, each with its part's files.
    assert len(done["writers"]) == PARTS
    assert sorted(done["writers"].values()) == [FILES // PARTS] * PARTS
    assert all(w.startswith("dataver-add-files-") for w in done["writers"])
    reg = dataver.Registry(registry_url)
    final = reg.get(version.id)
    assert final.state is dataver.State.PUBLISHED
    assert read_tree(final.get_local_copy()) == files
    assert final.writers() == []  # NOTE: a Final version keeps no writer records


@pytest.mark.timeout(240)
def test_a_retried_mapped_task_replaces_its_own_contribution(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = import_by_name(monkeypatch, SCRIPTS, "flaky_writers")
    source = tmp_path / "source"
    files = make_source(source)
    flag = tmp_path / "failed-once"

    done = flaky.flaky_many_writers(
        registry_url, str(source), f"retry-{uuid.uuid4().hex[:8]}", str(flag)
    )

    # The first try of part 1 committed, then failed; its retry committed again.
    failed_writer, failed_attempt = flag.read_text().split()
    writers = done["writers"]
    assert done["records"] == PARTS  # NOTE: not PARTS + 1: the retry is the same writer
    assert failed_writer in writers
    assert writers[failed_writer]["attempt"] != failed_attempt
    assert [w["files"] for w in writers.values()] == [FILES // PARTS] * PARTS
    version = done["version"]
    assert (version.state, version.stats["files"]) == ("final", FILES)
    assert read_tree(dataver.Registry(registry_url).get(version.id).get_local_copy()) == files


def test_partition_files_and_writer_defaults_in_one_process(
    registry_url: str, tmp_path: Path
) -> None:
    """Without Dask: the parts are dicts; ``part=`` without ``writer=`` gives each task run
    a writer of its own; an explicit ``writer=`` is used as given."""
    source = tmp_path / "source"
    files = make_source(source, 40)

    @flow
    def build() -> tuple[list[dict[str, Any]], list[str], str]:
        ds = create_version(registry_url, f"local-{uuid.uuid4().hex[:8]}")
        parts = partition_files(str(source), 3, by="bytes")
        added = add_files.map(
            unmapped(registry_url), unmapped(ds), unmapped(str(source)), part=parts
        )
        added.result()
        # NOTE: the same part again, as a named writer of its own: same content, no conflict.
        add_files(registry_url, ds, str(source), part=parts[0], writer="again")
        with dataver.Registry(registry_url) as reg:
            names = [w.name for w in reg.get(ds.id, states=None).writers()]
        return parts, names, finalize_version(registry_url, ds).id

    parts, names, version_id = build()

    assert [p["index"] for p in parts] == [0, 1, 2]
    assert all(p["by"] == "bytes" and p["count"] == 3 for p in parts)
    assert sum(p["files"] for p in parts) == 40
    assert len(names) == 4
    assert "again" in names
    assert len([n for n in names if n.startswith("dataver-add-files-")]) == 3
    assert read_tree(dataver.Registry(registry_url).get(version_id).get_local_copy()) == files


def test_mapped_sync_folder_over_parts_mirrors_the_folder(
    registry_url: str, tmp_path: Path
) -> None:
    """Each task run syncs one part: together they remove, add and replace like one sync."""
    source = tmp_path / "source"
    make_source(source, 60)
    name = f"sync-{uuid.uuid4().hex[:8]}"

    @flow
    def build(parents: str | None) -> str:
        ds = create_version(registry_url, name, parents=parents)
        parts = partition_files(str(source), 3)
        synced = sync_folder.map(
            unmapped(registry_url), unmapped(ds), unmapped(str(source)), part=parts
        )
        return finalize_version(registry_url, ds, wait_for=synced).id

    first = build(None)
    (source / "shard-0" / "file-0007.bin").unlink()
    (source / "shard-1" / "file-0001.bin").write_bytes(b"changed\n")
    (source / "shard-9").mkdir()
    (source / "shard-9" / "new.bin").write_bytes(b"new\n")
    second = build("latest")

    reg = dataver.Registry(registry_url)
    child = reg.get(second)
    assert child.parents == (first,)
    assert (child.stats.removed, child.stats.added, child.stats.modified) == (1, 1, 1)
    assert read_tree(child.get_local_copy()) == read_tree(source)
