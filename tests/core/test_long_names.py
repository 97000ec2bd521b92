"""Names longer than a file system stores (issue 18, "Also": a 300-character component).

Most file systems store at most 255 bytes per file or folder name. A dataset path holding a
longer name could be added and uploaded but never materialised, so add refuses it, naming
the path; a version written before that still lists and opens, and ``get_local_copy``
refuses it with a ValidationError naming the path instead of a bare OSError. A name within
the limit materialises, however close to it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from dataver.errors import ValidationError
from dataver.hashing import hash_file
from dataver.manifest.entry import Entry
from dataver.paths import MAX_NAME_BYTES, check_new_paths, long_name

if TYPE_CHECKING:
    from pathlib import Path

    import dataver

LONG = "x" * 300


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a")
    return folder


def test_names_are_measured_in_utf8_bytes() -> None:
    fits = ["x" * MAX_NAME_BYTES, "é" * 127, "🙂" * 63, f"{'y' * 255}/{'z' * 255}", "a/b"]
    check_new_paths(fits)
    assert all(long_name(p) is None for p in fits)
    for path, name in [
        ("x" * 256, "x" * 256),
        (f"a/{'é' * 128}/b.txt", "é" * 128),  # NOTE: 128 characters, 256 bytes
        (f"{'🙂' * 64}.png", f"{'🙂' * 64}.png"),
    ]:
        assert long_name(path) == name
        with pytest.raises(ValidationError, match="at most 255 bytes") as info:
            check_new_paths(["ok", *fits, path, "z"])
        assert info.value.fields == {"path": path}


def test_add_refuses_a_dataset_folder_with_a_long_name(
    registry: dataver.Registry, data: Path
) -> None:
    ds = registry.create("d")
    for call in (
        lambda: ds.add_files(data, dataset_path=LONG),
        lambda: ds.add_files(data / "a.txt", dataset_path=f"ok/{LONG}"),
        lambda: ds.sync_folder(data, dataset_path=LONG),
        lambda: ds.add_external_files((data / "a.txt").as_uri(), dataset_path=LONG),
    ):
        with pytest.raises(ValidationError, match="300 bytes") as info:
            call()
        assert LONG in info.value.fields["path"]
    assert ds.list_files() == []


def test_add_of_a_local_path_with_a_long_name_names_it(
    registry: dataver.Registry, data: Path
) -> None:
    """Such a local path cannot exist: a ValidationError naming it, not a bare OSError."""
    ds = registry.create("d")
    for missing in (data / LONG, data / LONG / "f.txt"):
        with pytest.raises(ValidationError, match="longer than the file system allows") as info:
            ds.add_files(missing)
        assert info.value.fields == {"path": str(missing)}


@pytest.mark.parametrize("size", [10, 2 << 20], ids=["packed", "own-object"])
def test_a_name_just_within_the_limit_materialises(
    registry: dataver.Registry, tmp_path: Path, size: int
) -> None:
    """The cache's temporary names must not push a 250-byte name over the limit."""
    folder = tmp_path / "near"
    folder.mkdir()
    name = "y" * 250
    content = os.urandom(size)
    (folder / name).write_bytes(content)
    ds = registry.create("d")
    ds.add_files(folder)
    ds.add_external_files((folder / name).as_uri(), dataset_path="links")
    ds.finalize(auto_upload=True)
    tree = ds.get_local_copy()
    assert (tree / name).read_bytes() == content
    assert (tree / "links" / name).read_bytes() == content
    out = ds.get_mutable_local_copy(tmp_path / "copy")
    assert (out / name).read_bytes() == content


def test_a_version_written_before_the_check_reads_but_refuses_to_materialise(
    registry: dataver.Registry, data: Path
) -> None:
    """A long name in an existing version (written before add refused it): listing, open
    and subsets keep working; materialising it is a ValidationError naming the path."""
    ds = registry.create("d")
    ds.add_files(data)
    bad = f"ok/{LONG}/b.bin"
    # NOTE: staged below add's checks, as an older dataver (or another tool) wrote it.
    source = str(data / "a.txt")
    ds._apply({bad: Entry(bad, 1, _hash_of(registry, data / "a.txt"), source=source)})
    ds.finalize(auto_upload=True)

    assert ds.list_files() == ["a.txt", bad]
    with ds.open(bad) as handle:
        assert handle.read() == b"a"
    for subset in (None, ["ok"]):
        with pytest.raises(ValidationError, match="300 bytes") as info:
            ds.get_local_copy(subset)
        assert info.value.fields == {"path": bad}
    assert (ds.get_local_copy(["a.txt"]) / "a.txt").read_bytes() == b"a"
    # A child of it may keep the path (it is not new), but not add another under it.
    child = registry.create("d", parents=[ds.id])
    child.add_files(data / "a.txt")
    with pytest.raises(ValidationError, match="300 bytes"):
        child.add_files(data / "a.txt", dataset_path=f"ok/{LONG}/more")


def _hash_of(registry: dataver.Registry, path: Path) -> str:
    return hash_file(path, registry.backend.settings.hash_algorithm)
