"""External links (behaviour 13): stored as links with size and hash, nothing uploaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dataver
from dataver import IntegrityError, NotFoundError
from dataver.hashing import hash_bytes

ReadTree = Callable[[Path], dict[str, bytes]]
ContentFiles = Callable[[Path], set[str]]

EXTERNAL = {"e1.bin": b"\x00\x01external one", "sub/e2.txt": b"external two", "x.csv": b"1,2"}


@pytest.fixture
def ext(tmp_path: Path, write_tree: Callable[..., Path]) -> Path:
    return write_tree(tmp_path / "external", EXTERNAL)


def test_external_links_are_stored_as_links_and_materialised(
    registry: dataver.Registry,
    registry_path: Path,
    ext: Path,
    read_tree: ReadTree,
    content_files: ContentFiles,
) -> None:
    ds = registry.create("ds")
    assert ds.add_external_files(ext.as_uri(), dataset_path="links") == 3
    assert ds.add_external_files(ext.as_uri(), dataset_path="links") == 0  # unchanged
    entries = {e.path: e for e in ds.entries()}
    assert sorted(entries) == ["links/e1.bin", "links/sub/e2.txt", "links/x.csv"]
    for rel, data in EXTERNAL.items():
        entry = entries[f"links/{rel}"]
        assert entry.url == (ext / rel).as_uri()
        assert entry.size == len(data)
        assert entry.hash == hash_bytes(data, "blake3")
        assert entry.pack is None
        assert entry.source is None
    assert ds.upload() == 0
    ds.finalize()
    assert content_files(registry_path) == set()  # nothing uploaded
    assert ds.stats.links == 3
    assert ds.stats.stored_bytes == 0
    assert ds.stats.logical_bytes == sum(map(len, EXTERNAL.values()))
    assert read_tree(ds.get_local_copy()) == {f"links/{k}": v for k, v in EXTERNAL.items()}
    assert ds.verify() == []


def test_external_single_file_wildcard_and_non_recursive(
    registry: dataver.Registry, ext: Path
) -> None:
    ds = registry.create("ds")
    assert ds.add_external_files((ext / "x.csv").as_uri(), dataset_path="one") == 1
    assert ds.add_external_files(ext.as_uri(), dataset_path="txt", wildcard="*.txt") == 1
    assert ds.add_external_files(ext.as_uri(), dataset_path="flat", recursive=False) == 2
    assert ds.list_files() == ["flat/e1.bin", "flat/x.csv", "one/x.csv", "txt/sub/e2.txt"]


def test_external_links_mixed_with_local_files(
    registry: dataver.Registry,
    registry_path: Path,
    ext: Path,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: ReadTree,
    content_files: ContentFiles,
) -> None:
    local = write_tree(tmp_path / "local", {"l.txt": b"local bytes"})
    ds = registry.create("ds")
    ds.add_files(local)
    ds.add_external_files(ext.as_uri(), dataset_path="ext")
    assert ds.upload() == len(b"local bytes")
    ds.finalize()
    assert len(content_files(registry_path)) == 1
    assert read_tree(ds.get_local_copy()) == {
        "l.txt": b"local bytes",
        **{f"ext/{k}": v for k, v in EXTERNAL.items()},
    }
    # sync_folder of the local folder keeps the links: they are not local files.
    child = registry.create("ds", parents=[ds])
    assert child.sync_folder(local) == (0, 0, 0)
    assert len(child.list_files("ext")) == 3


def test_changed_external_file_is_detected(
    registry: dataver.Registry,
    ext: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = registry.create("ds")
    ds.add_external_files(ext.as_uri())
    ds.finalize()
    (ext / "x.csv").write_bytes(b"9,9")  # same size, other bytes
    assert ds.verify() == ["x.csv"]
    with pytest.raises(IntegrityError, match=r"x\.csv") as info:
        ds.get_local_copy()
    assert info.value.path == "x.csv"
    (ext / "e1.bin").unlink()
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "other-cache"))
    with pytest.raises(NotFoundError, match="no longer exists"):
        dataver.Registry(registry.url).get(ds.id).get_local_copy()


def test_external_link_to_a_missing_location(registry: dataver.Registry, tmp_path: Path) -> None:
    ds = registry.create("ds")
    with pytest.raises(NotFoundError, match="external location not found"):
        ds.add_external_files((tmp_path / "missing").as_uri())
    assert ds.list_files() == []
