"""Tags, metadata, publish, abort, squash, delete, rename, move, gc and the local cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def test_tags_metadata_publish_abort(
    cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    version = cli("create", "--name", "t", "--tags", "a").out.strip()
    tags = cli("tag", "add", "b", "c", "--json").json()
    shape("tag add", tags)
    assert tags == {"id": version, "tags": ["a", "b", "c"]}
    removed = cli("tag", "remove", "a", "zzz", "--json").json()
    shape("tag remove", removed)
    assert removed["tags"] == ["b", "c"]
    assert "t 1.0.0" in cli("tag", "add", "d").out

    cli("metadata", "set", "owner", "alice")
    cli("metadata", "set", "rows", "1200")
    cli("metadata", "set", "zip", "01234", "--string")
    changed = cli("metadata", "set", "split", '{"train": 0.8}', "--json").json()
    shape("metadata set", changed)
    assert changed["metadata"] == {
        "owner": "alice",
        "rows": 1200,
        "zip": "01234",
        "split": {"train": 0.8},
    }
    assert cli("metadata", "get", "owner").out == "alice\n"
    assert cli("metadata", "get", "split").out == '{"train": 0.8}\n'
    one = cli("metadata", "get", "rows", "--json").json()
    shape("metadata get", one)
    assert one == {"id": version, "key": "rows", "value": 1200}
    shape("metadata get", cli("metadata", "get", "--json").json())
    unset = cli("metadata", "unset", "zip", "--json").json()
    shape("metadata unset", unset)
    assert "zip" not in unset["metadata"]
    assert "owner: alice" in cli("metadata", "get").out

    cli("add", "--files", data)
    cli("close")
    published = cli("publish", "--json").json()
    shape("publish", published)
    assert published["state"] == "published"
    read_only = cli("metadata", "set", "owner", "bob", code=1)
    assert "it is published" in read_only.error()
    refused = cli("tag", "add", "x", code=1)
    assert "must be final or uploading" in refused.error()

    open_one = cli("create", "--name", "t").out.strip()
    aborted = cli("abort", "--reason", "bad labels", "--json").json()
    shape("abort", aborted)
    assert (aborted["id"], aborted["state"]) == (open_one, "aborted")
    assert cli("show", "--json").json()["error"] == "bad labels"


def test_squash_delete_rename_move_gc(
    cli: Callable[..., Run],
    data: Path,
    tmp_path: Path,
    shape: Callable[[str, Any], None],
    write_tree: Callable[..., Path],
) -> None:
    first = cli("sync", "--folder", data, "--name", "t", "--project", "p").out.strip()
    other = write_tree(tmp_path / "other", {"big.bin": b"\1" * 5000})
    second = cli("sync", "--folder", other, "--name", "t", "--project", "p").out.strip()

    squashed = cli("squash", "--ids", first, second[:8], "--name", "all", "--json").json()
    shape("squash", squashed)
    assert (squashed["project"], squashed["state"], squashed["parents"]) == ("p", "final", [])
    assert squashed["stats"]["files"] == 1  # the later version wins: it holds big.bin only
    assert cli("show", "--json").json()["id"] == squashed["id"]

    refused = cli("delete", "--id", first, code=1)
    assert "is a parent of" in refused.error()
    deleted = cli("delete", "--id", squashed["id"], "--json").json()
    shape("delete", deleted)
    assert deleted == {"deleted": squashed["id"]}
    nothing = cli("show", code=2)  # the deleted version is no longer the current one
    assert "no current version" in nothing.error()
    cli("delete", "--id", second)

    renamed = cli("rename", "--project", "p", "--name", "t", "--new-name", "u", "--json")
    shape("rename", renamed.json())
    moved = cli("move", "--project", "p", "--name", "u", "--new-project", "q", "--json")
    shape("move", moved.json())
    assert [(d["project"], d["name"]) for d in cli("ls", "--json").json()] == [
        ("p", "all"),
        ("q", "u"),
    ]
    unknown = cli("rename", "--project", "p", "--name", "nope", "--new-name", "x", code=1)
    assert unknown.error() == "error: no dataset p/nope"

    dry = cli("gc", "--grace-seconds", "0", "--json").json()
    shape("gc", dry)
    assert dry["dry_run"] is True
    assert dry["freed_bytes"] >= 5000
    done = cli("gc", "--execute", "--grace-seconds", "0", "--json").json()
    assert (done["dry_run"], done["objects"]) == (False, dry["objects"])
    assert cli("gc", "--grace-seconds", "0", "--json").json()["objects"] == 0
    assert "dry run: pass --execute" in cli("gc").out
    assert dataver.Registry().get(first).verify() == []


def test_cache_info_and_prune(
    dv: Callable[..., Run], cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    version = cli("sync", "--folder", data, "--name", "t").out.strip()
    # NOTE: gets in subprocesses: a process holds its trees in use until it exits
    dv("get")
    dv("get", "--files", "train")
    info = cli("cache", "info", "--json").json()
    shape("cache info", info)
    assert sorted(t["patterns"] for t in info["trees"]) == [[], ["train"]]
    assert {t["version_id"] for t in info["trees"]} == {version}
    table = cli("cache", "info").out
    assert "t 1.0.0" not in table  # dataset and version are columns of their own
    assert version[:12] in table

    planned = cli("cache", "prune", "--max-size", "0", "--dry-run", "--json").json()
    shape("cache prune", planned)
    assert planned["dry_run"] is True
    assert len(planned["trees"]) == 2
    assert len(cli("cache", "info", "--json").json()["trees"]) == 2
    pruned = cli("cache", "prune", "--max-size", "0B", "--json").json()
    assert pruned["freed_bytes"] > 0
    assert cli("cache", "info", "--json").json()["trees"] == []
    assert "freed 0 B" in cli("cache", "prune").out
