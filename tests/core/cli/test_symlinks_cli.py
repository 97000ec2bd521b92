"""``dataver add`` and ``dataver sync`` apply the symlink policy of the SDK (``--symlinks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from .conftest import Run


def _folder(tmp_path: Path, write_tree: Callable[[Path, Mapping[str, bytes]], Path]) -> Path:
    outside = write_tree(tmp_path / "outside", {"secret.txt": b"secret", "dir/x": b"x"})
    src = write_tree(tmp_path / "src", {"a.txt": b"a"})
    (src / "inside.txt").symlink_to("a.txt")
    (src / "secret.txt").symlink_to(outside / "secret.txt")
    (src / "dir").symlink_to(outside / "dir", target_is_directory=True)
    (src / "dangling").symlink_to(tmp_path / "missing")
    return src


def test_add_refuses_links_outside_and_takes_symlinks(
    dv: Callable[..., Run],
    cli: Callable[..., Run],
    tmp_path: Path,
    write_tree: Callable[[Path, Mapping[str, bytes]], Path],
) -> None:
    src = _folder(tmp_path, write_tree)
    version = cli("create", "--name", "ds").out.strip()
    refused = dv("add", "--id", version, "--files", src, code=1)
    error = refused.error()
    assert error.startswith("error: 2 symbolic links lead outside")
    assert f"{src / 'secret.txt'} -> {tmp_path / 'outside' / 'secret.txt'}" in error
    assert str(src / "dir") in error
    assert "symlinks=" not in error  # the SDK's advice, in CLI words in the hint
    assert refused.hint() == (
        "hint: pass --symlinks follow to add what they lead to, or --symlinks skip to leave "
        "them out"
    )
    assert dataver.Registry().get(version, states=None).list_files() == []

    skipped = cli("add", "--id", version, "--files", src, "--symlinks", "skip", "--json").json()
    assert skipped["files"] == 2
    followed = cli("add", "--id", version, "--files", src, "--symlinks", "follow", "--json")
    assert followed.json()["files"] == 2
    assert dataver.Registry().get(version, states=None).list_files() == [
        "a.txt",
        "dir/x",
        "inside.txt",
        "secret.txt",
    ]
    bad = cli("add", "--id", version, "--files", src, "--symlinks", "always", code=2)
    assert "always" in bad.err


def test_sync_takes_symlinks(
    cli: Callable[..., Run],
    tmp_path: Path,
    write_tree: Callable[[Path, Mapping[str, bytes]], Path],
) -> None:
    src = _folder(tmp_path, write_tree)
    refused = cli("sync", "--folder", src, "--name", "ds", code=1)
    assert "symbolic links lead outside" in refused.err
    assert dataver.Registry().list(name="ds") == []  # NOTE: refused before it was created
    synced = cli("sync", "--folder", src, "--name", "ds", "--symlinks", "skip", "--json").json()
    assert (synced["added"], synced["removed"]) == (2, 0)
    child = cli("sync", "--folder", src, "--name", "ds", "--symlinks", "follow", "--json").json()
    assert (child["added"], child["removed"]) == (2, 0)
    assert dataver.Registry().get(child["id"]).list_files() == [
        "a.txt",
        "dir/x",
        "inside.txt",
        "secret.txt",
    ]
