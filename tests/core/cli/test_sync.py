"""``dataver sync``: create, sync, upload and finalize in one step; no empty child left behind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def test_sync_builds_children_and_leaves_no_empty_one(
    dv: Callable[..., Run], cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    first = cli("sync", "--folder", data, "--name", "tables", "--project", "demo", "--json").json()
    shape("sync", first)
    assert first["created"] is True
    assert first["changed"] is True
    assert (first["added"], first["removed"], first["modified"]) == (3, 0, 0)
    assert first["uploaded_bytes"] > 0
    assert first["version"]["state"] == "final"
    assert first["version"]["parents"] == []

    # nothing changed: the new child is deleted again and the parent is the answer
    same = dv("sync", "--folder", data, "--name", "tables", "--project", "demo")
    assert same.out.strip() == first["id"]
    assert "no changes against demo/tables 1.0.0: no version created" in same.err
    again = cli("sync", "--folder", data, "--name", "tables", "--project", "demo", "--json")
    shape("sync", again.json())
    assert again.json()["id"] == first["id"]
    assert (again.json()["created"], again.json()["changed"]) == (False, False)
    assert [v.id for v in dataver.Registry().list()] == [first["id"]]
    assert cli("show", "--json").json()["id"] == first["id"]

    # a change: a child of the latest version, storing only the change
    (data / "train" / "a.csv").write_bytes(b"x,y\n5,6\n")
    (data / "README").unlink()
    child = cli("sync", "--folder", data, "--name", "tables", "--project", "demo", "--json")
    child_doc = child.json()
    assert child_doc["version"]["version"] == "1.0.1"
    assert child_doc["version"]["parents"] == [first["id"]]
    assert (child_doc["added"], child_doc["removed"], child_doc["modified"]) == (0, 1, 1)
    assert child_doc["uploaded_bytes"] == len(b"x,y\n5,6\n")
    assert cli("show", "--json").json()["id"] == child_doc["id"]


def test_sync_skip_close_id_and_dataset_folder(cli: Callable[..., Run], data: Path) -> None:
    # --skip-close keeps the new version open, even without changes
    opened = cli("sync", "--folder", data, "--name", "t", "--skip-close", "--json").json()
    assert opened["version"]["state"] == "uploading"
    assert opened["uploaded_bytes"] == 0
    closed = cli("close", "--json").json()
    assert (closed["id"], closed["state"]) == (opened["id"], "final")
    kept = cli("sync", "--folder", data, "--name", "t", "--skip-close", "--json").json()
    assert (kept["changed"], kept["created"], kept["version"]["state"]) == (
        False,
        True,
        "uploading",
    )
    cli("abort", "--reason", "not needed")

    # --id syncs an uploading version made by create; --dataset-folder puts it in a folder
    made = cli("create", "--name", "u", "--parents", opened["id"]).out.strip()
    synced = cli(
        "sync", "--folder", data / "train", "--id", made, "--dataset-folder", "train", "--json"
    ).json()
    assert synced["id"] == made
    assert synced["created"] is False
    assert (synced["added"], synced["removed"]) == (0, 0)
    assert synced["version"]["state"] == "final"
    files = [f["path"] for f in cli("list", "--id", made, "--json").json()["files"]]
    assert files == ["README", "train/a.csv", "train/b.csv"]

    # --parents picks the parents of the new version
    explicit = cli(
        "sync", "--folder", data / "train", "--name", "t", "--parents", opened["id"], "--json"
    ).json()
    assert explicit["version"]["parents"] == [opened["id"]]
    assert (explicit["removed"], explicit["added"]) == (3, 2)  # train/ moved to the root


def test_add_wildcards_folders_and_links(cli: Callable[..., Run], data: Path) -> None:
    cli("create", "--name", "w")
    added = cli(
        "add", "--files", data, "--wildcard", "*.csv", "--dataset-folder", "tables", "--json"
    ).json()
    assert added["files"] == 2
    shallow = cli("add", "--files", data, "--non-recursive", "--dataset-folder", "top", "--json")
    assert shallow.json()["files"] == 1  # README only
    linked = cli("add", "--links", data.as_uri(), "--dataset-folder", "raw", "--json").json()
    assert (linked["files"], linked["links"]) == (0, 3)
    listed = cli("list", "--json").json()["files"]
    assert [f["path"] for f in listed] == [
        "raw/README",
        "raw/train/a.csv",
        "raw/train/b.csv",
        "tables/train/a.csv",
        "tables/train/b.csv",
        "top/README",
    ]
    assert listed[0]["link"] == (data / "README").as_uri()
    assert listed[-1]["link"] is None
    gone = cli("remove", "--files", "top", "nothing-*", "--json")
    assert gone.json()["removed"] == 1
    assert gone.json()["unmatched"] == ["nothing-*"]
    assert "warning: 'nothing-*' matched no file" in gone.err
    closed = cli("close", "--json").json()
    assert (closed["stats"]["files"], closed["stats"]["links"]) == (5, 3)
