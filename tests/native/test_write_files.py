"""The native span writer (``dataver_native.write_files``) against the Python writes.

A cold get writes each pack span's small files into a private tree and hard-links each into
the cache's ``blobs/``; ``write_files`` makes those system calls in C with the GIL released.
Both ways must leave the same files (bytes, mode, links), report the same failed links to
the cache, and raise the same errors, naming the file.

Skipped with ``DATAVER_NATIVE=0`` (``make test-core-pure``), where the Python writes run
everywhere instead; a missing extension fails it (see test_scan.py).
"""

from __future__ import annotations

import errno
import importlib
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

import pytest

from dataver import native as native_module
from dataver.objects import fetch as fetch_module

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="not built on Windows"),
    pytest.mark.skipif(native_module.disabled(), reason="DATAVER_NATIVE=0: the extension is off"),
]

DATA = b"".join(bytes([i]) * (i * 37 % 500) for i in range(64))


def _native() -> Any:
    return importlib.import_module("dataver_native")


def _layout(count: int) -> tuple[list[int], list[int]]:
    starts, sizes, at = [], [], 0
    for i in range(count):
        size = i * 37 % 500
        starts.append(at)
        sizes.append(size)
        at += size
    return starts, sizes


def _tree(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    return {
        p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode), p.stat().st_nlink)
        for p in sorted(folder.iterdir())
    }


def test_the_span_writer_is_used() -> None:
    assert native_module.function("write_files") is _native().write_files


def test_files_and_links_are_those_python_writes(tmp_path: Path) -> None:
    starts, sizes = _layout(64)
    done: dict[str, dict[str, tuple[bytes, int, int]]] = {}
    for way in ("c", "python"):
        tree, blobs = tmp_path / way / "tree", tmp_path / way / "blobs"
        tree.mkdir(parents=True)
        blobs.mkdir()
        targets = [str(tree / f"f{i:02d}") for i in range(64)]
        names = [str(blobs / f"b{i:02d}") for i in range(64)]
        if way == "c":
            errors = _native().write_files(memoryview(DATA), starts, sizes, targets, 0o444, names)
        else:
            errors = []
            for start, size, target, name in zip(starts, sizes, targets, names, strict=True):
                fetch_module._write_new(target, DATA[start : start + size], 0o444)
                errors.append(fetch_module.hard_link(target, name))
        assert errors == [0] * 64
        done[way] = {**_tree(tree), **_tree(blobs)}
    assert done["c"] == done["python"]
    assert done["c"]["f05"] == (DATA[starts[5] : starts[5] + sizes[5]], 0o444, 2)


def test_without_links_nothing_is_linked(tmp_path: Path) -> None:
    assert (
        _native().write_files(DATA, [0, 3], [3, 0], [str(tmp_path / "a"), tmp_path / "b"], 0o600)
        is None
    )
    assert (tmp_path / "a").read_bytes() == DATA[:3]
    assert (tmp_path / "b").read_bytes() == b""
    assert (tmp_path / "a").stat().st_nlink == 1


def test_a_failed_link_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"x")
    names = [str(tmp_path / "taken"), str(tmp_path / "nowhere" / "b"), str(tmp_path / "c")]
    targets = [str(tmp_path / f"t{i}") for i in range(3)]
    errors = _native().write_files(DATA, [0, 0, 0], [1, 2, 3], targets, 0o444, names)
    assert errors == [errno.EEXIST, errno.ENOENT, 0]
    assert [os.path.getsize(t) for t in targets] == [1, 2, 3]


def test_the_first_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(b"there already")
    targets = [str(tmp_path / n) for n in ("a", "b", "c")]
    with pytest.raises(FileExistsError) as caught:
        _native().write_files(DATA, [0, 0, 0], [1, 1, 1], targets, 0o444)
    assert caught.value.filename == targets[1]
    assert (tmp_path / "a").exists()
    assert not (tmp_path / "c").exists()
    with pytest.raises(FileNotFoundError) as missing:
        _native().write_files(DATA, [0], [1], [str(tmp_path / "no" / "x")], 0o444)
    assert missing.value.filename == str(tmp_path / "no" / "x")


@pytest.mark.parametrize(
    ("starts", "sizes", "targets", "problem"),
    [
        ([len(DATA)], [1], ["x"], "outside the buffer"),
        ([-1], [1], ["x"], "outside the buffer"),
        ([0], [len(DATA) + 1], ["x"], "outside the buffer"),
        ([0, 1], [1], ["x", "y"], "differ in length"),
    ],
)
def test_bad_ranges_are_refused_before_anything_is_written(
    tmp_path: Path, starts: list[int], sizes: list[int], targets: list[str], problem: str
) -> None:
    paths = [str(tmp_path / t) for t in targets]
    with pytest.raises(ValueError, match=problem):
        _native().write_files(DATA, starts, sizes, paths, 0o444)
    assert list(tmp_path.iterdir()) == []


def test_a_cold_get_writes_its_small_files_through_the_c_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file of a packed version goes through write_files, its blob linked by C."""
    import dataver

    source = tmp_path / "src"
    source.mkdir()
    for i in range(20):
        (source / f"f{i}.bin").write_bytes(bytes([i]) * (100 + i))
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    version = dataver.Registry(str(tmp_path / "registry")).create("d")
    version.add_files(str(source))
    version.finalize(auto_upload=True)
    written: list[str] = []
    real = _native().write_files

    def spy(data: Any, starts: Any, sizes: Any, targets: Any, *rest: Any) -> Any:
        written.extend(os.path.basename(t) for t in targets)
        return real(data, starts, sizes, targets, *rest)

    lookup = native_module.function
    monkeypatch.setattr(
        native_module, "function", lambda name: spy if name == "write_files" else lookup(name)
    )
    tree = version.get_local_copy()
    assert sorted(written) == sorted(f"f{i}.bin" for i in range(20))
    assert all((tree / f"f{i}.bin").stat().st_nlink == 2 for i in range(20))
