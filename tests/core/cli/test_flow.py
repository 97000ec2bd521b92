"""The ClearML-style flow through the real console script (create, add, close, get, diff,
lineage), then the read commands around it, with ``--json`` parsed at every step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataver.cli import state

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Run


def test_create_add_close_get_diff_lineage(
    dv: Callable[..., Run], data: Path, tmp_path: Path, shape: Callable[[str, Any], None]
) -> None:
    # create remembers the new version: add and close need no --id
    first = dv("create", "--name", "tables", "--project", "demo", "--json").json()
    shape("create", first)
    assert (first["state"], first["version"], first["parents"]) == ("uploading", "1.0.0", [])
    added = dv("add", "--files", data / "train", data / "README", "--json").json()
    shape("add", added)
    assert added == {"id": first["id"], "files": 3, "links": 0}

    closed = dv("close", "--json").json()
    shape("close", closed)
    assert closed["id"] == first["id"]
    assert closed["state"] == "final"
    assert closed["stats"]["files"] == 3

    # get prints the path of the read-only cached tree
    got = dv("get")
    cached = Path(got.out.strip())
    assert got.out.count("\n") == 1
    assert sorted(p.name for p in cached.iterdir()) == ["README", "a.csv", "b.csv"]
    assert (cached / "a.csv").read_bytes() == b"x,y\n1,2\n"
    by_name = dv("get", "--name", "tables", "--project", "demo", "--json").json()
    shape("get", by_name)
    assert by_name["path"] == str(cached)
    assert by_name["version"]["id"] == first["id"]

    # a child: a modified file, a removed file, a new one
    (data / "train" / "a.csv").write_bytes(b"x,y\n9,9\n")
    (data / "new.txt").write_bytes(b"new\n")
    child = dv(
        "create", "--name", "tables", "--project", "demo", "--parents", first["id"][:8]
    ).out.strip()
    assert len(child) == 32
    assert child != first["id"]
    dv("add", "--files", data / "train", data / "new.txt")
    removed = dv("remove", "--files", "README", "--json").json()
    shape("remove", removed)
    assert removed == {"id": child, "removed": 1, "unmatched": []}
    dv("close")

    changes = dv("diff", "--source", first["id"], "--target", child, "--json").json()
    shape("diff", changes)
    assert changes == {
        "source": first["id"],
        "target": child,
        "added": ["new.txt"],
        "removed": ["README"],
        "modified": ["a.csv"],
        "renamed": [],
    }
    text = dv("diff", "--source", first["id"][:10])  # target: the current version
    assert text.out.splitlines() == ["+ new.txt", "- README", "M a.csv"]

    lineage = dv("lineage", "--json").json()
    shape("lineage", lineage)
    assert lineage["parents"] == {child: [first["id"]], first["id"]: []}
    assert lineage["versions"][first["id"]]["version"] == "1.0.0"
    tree = dv("lineage").out.splitlines()
    assert tree[0].startswith("demo/tables 1.0.1  final  " + child[:12])
    assert tree[1].startswith("└── demo/tables 1.0.0  final  " + first["id"][:12])

    # --copy makes a writable copy, --link a symbolic link to the cache
    copy = Path(dv("get", "--copy", tmp_path / "work", "--files", "*.csv").out.strip())
    assert sorted(p.name for p in copy.iterdir()) == ["a.csv", "b.csv"]
    (copy / "a.csv").write_bytes(b"scratch")
    link = Path(dv("get", "--link", tmp_path / "current").out.strip())
    assert link.is_symlink()
    assert (link / "a.csv").read_bytes() == b"x,y\n9,9\n"
    assert os.readlink(link) != str(cached)
    relinked = dv("get", "--id", first["id"], "--link", link)
    assert Path(relinked.out.strip()) == link
    assert (link / "README").exists()


def test_read_commands(
    cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    dv = cli
    first = dv("sync", "--folder", data, "--name", "tables", "--project", "demo").out.strip()
    (data / "extra.bin").write_bytes(b"\0" * 1000)
    second = dv("sync", "--folder", data, "--name", "tables", "--project", "demo").out.strip()
    other = dv("create", "--name", "raw", "--project", "ops", "--tags", "nightly", "big").out
    other = other.strip()

    files = dv("list", "--id", second, "--json").json()
    shape("list", files)
    assert [f["path"] for f in files["files"]] == [
        "README",
        "extra.bin",
        "train/a.csv",
        "train/b.csv",
    ]
    assert files["total_files"] == 4
    assert files["total_bytes"] == 1000 + 6 + 8 + 8
    assert all(len(f["hash"]) == 64 and f["link"] is None for f in files["files"])
    filtered = dv("list", "--id", second, "--filter", "train", "*.bin", "--json").json()
    assert [f["path"] for f in filtered["files"]] == ["extra.bin", "train/a.csv", "train/b.csv"]
    changed = dv("list", "--id", second, "--modified", "--json").json()
    assert [(f["path"], f["change"]) for f in changed["files"]] == [("extra.bin", "added")]
    table = dv("list", "--id", second).out.splitlines()
    assert table[0].split() == ["SIZE", "HASH", "PATH"]
    assert table[2].split() == ["1000", "B", files["files"][1]["hash"][:16], "extra.bin"]
    changes = dv("list", "--id", second, "--modified").out.splitlines()
    assert changes[0].split() == ["SIZE", "HASH", "CHANGE", "PATH"]
    assert changes[1].split()[-2:] == ["added", "extra.bin"]

    # search: newest first, filters; ls: datasets with their latest final version
    found = dv("search", "--json").json()
    shape("search", found)
    assert [v["id"] for v in found] == [other, second, first]
    assert [v["id"] for v in dv("search", "--name", "^tab", "--json").json()] == [second, first]
    assert [v["id"] for v in dv("search", "--states", "uploading", "--json").json()] == [other]
    assert [v["id"] for v in dv("search", "--tags", "nightly", "--json").json()] == [other]
    assert dv("search", "--project", "demo", "--limit", "1", "--json").json()[0]["id"] == second
    rows = dv("search").out.splitlines()
    assert rows[0].split() == [
        "ID",
        "PROJECT",
        "NAME",
        "VERSION",
        "STATE",
        "FILES",
        "SIZE",
        "CREATED",
        "TAGS",
    ]
    assert rows[2].split()[:5] == [other[:12], "ops", "raw", "1.0.0", "uploading"]
    assert all(line == line.rstrip() for line in rows)

    datasets = dv("ls", "--json").json()
    shape("ls", datasets)
    by_name = {d["name"]: d for d in datasets}
    assert by_name["tables"]["versions"] == 2
    assert by_name["tables"]["latest"]["id"] == second
    assert by_name["raw"]["latest"] is None
    assert "tables" in dv("ls", "--project", "demo").out

    shown = dv("show", "--id", second, "--json").json()
    shape("show", shown)
    assert shown["parents"] == [first]
    assert shown["stats"]["added"] == 1
    assert shown["stale"] is False
    human = dv("show", "--id", second).out
    assert f"{first} (demo/tables 1.0.0)" in human
    assert "1 added, 0 modified, 0 removed, 0 renamed" in human

    verified = dv("verify", "--id", second, "--json").json()
    shape("verify", verified)
    assert verified == {"id": second, "ok": True, "damaged": [], "repaired": False}
    assert "all files intact" in dv("verify", "--id", second).out


def test_current_version_is_per_registry(
    cli: Callable[..., Run], data: Path, tmp_path: Path
) -> None:
    dv = cli
    here = dv("create", "--name", "a").out.strip()
    there = tmp_path / "other-registry"
    # global options work after the command too
    elsewhere = dv("create", "--name", "b", "--registry", there).out.strip()
    assert dv("show", "--json").json()["id"] == here
    assert dv("--registry", there, "show", "--json").json()["id"] == elsewhere
    assert dv("--json", "show", "--registry", there).json()["id"] == elsewhere
    dv("add", "--files", data, "--id", here[:6])
    assert dv("list", "--json").json()["total_files"] == 3
    assert dv("list", "--registry", there, "--json").json()["total_files"] == 0
    saved = state.path()
    assert saved.is_file()
    assert here in saved.read_text()
    assert elsewhere in saved.read_text()


def test_quiet_and_version(dv: Callable[..., Run], cli: Callable[..., Run], data: Path) -> None:
    version = dv("--version")
    assert version.out.startswith("dataver ")
    dv = cli
    loud = dv("sync", "--folder", data, "--name", "q")
    assert "dataver: hashing done" in loud.err
    assert "is final" in loud.err
    (data / "c").write_bytes(b"c")
    quiet = dv("sync", "--folder", data, "--name", "q", "-q")
    assert quiet.err == ""
    assert len(quiet.out.strip()) == 32


def test_verify_finds_and_repairs_damaged_cached_files(
    cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    cli("sync", "--folder", data, "--name", "v")
    cached = Path(cli("get").out.strip()) / "train" / "a.csv"
    cached.chmod(0o644)
    cached.write_bytes(b"x,y\n0,0\n")  # same size, other bytes: a hard link to the blob
    damaged = cli("verify", "--json", code=1)
    shape("verify", damaged.json())
    assert damaged.json()["damaged"] == ["train/a.csv"]
    assert damaged.error().startswith("error: 1 damaged file in default/v 1.0.0")
    assert "--repair" in damaged.hint()
    assert cli("verify", code=1).out.splitlines() == ["train/a.csv"]
    repaired = cli("verify", "--repair", "--json").json()
    assert (repaired["ok"], repaired["repaired"], repaired["damaged"]) == (
        True,
        True,
        ["train/a.csv"],
    )
    assert cached.read_bytes() == b"x,y\n1,2\n"
    assert "all files intact" in cli("verify").out
