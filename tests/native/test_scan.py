"""The native scanner (``native/``, module ``dataver_native``) against the pure-Python walk.

Both must list the same files with the same columns (dataset path, folder, name, size,
mtime, inode), on trees built to hit every branch: nested and empty folders, links to files
(followed) and to folders (not descended), broken links, link loops, FIFOs, names that are
not UTF-8, and enough files and folders to grow every buffer. Both must report the same
symbolic links, so that the symlink policy (dataver.scan) sees the same links whichever
walk ran.

With ``DATAVER_NATIVE=0`` (``make test-core-pure``) the extension is off on purpose and this
module is skipped; otherwise a missing extension fails it (``make`` builds it into every
environment, and without it these tests would compare the Python walk with itself).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

import pytest

from dataver import native as native_module
from dataver import scan as scan_module
from dataver.errors import ValidationError
from dataver.scan import Link, Listing, LocalFile, scan, scan_folder

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="not built on Windows"),
    pytest.mark.skipif(native_module.disabled(), reason="DATAVER_NATIVE=0: the extension is off"),
]


def _native() -> Any:
    # NOTE: imported, never skipped when missing: see the module's docstring.
    return importlib.import_module("dataver_native")


def test_the_native_scanner_is_built_and_used() -> None:
    assert _native().API_VERSION == native_module.API_VERSION
    assert native_module.MODULE is _native()
    assert scan_module._NATIVE_SCAN is _native().scan
    assert scan_module.SCAN_RELEASES_GIL


def test_a_build_of_another_interface_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """An older dataver-native left installed (rows, no link reports) is ignored."""
    monkeypatch.setattr(_native(), "API_VERSION", 1)
    assert native_module._load() is None
    monkeypatch.delattr(_native(), "API_VERSION")
    assert native_module._load() is None


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_the_environment_can_turn_it_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATAVER_NATIVE", value)
    assert native_module.disabled()
    assert native_module._load() is None
    monkeypatch.setenv("DATAVER_NATIVE", "1")
    assert native_module._load() is _native()


def python_walk(root: Path, lead: str = "", recursive: bool = True) -> Listing:
    return scan_module._walk(root, lead, recursive, [])


def native_walk(root: Path, lead: str = "", recursive: bool = True, threads: int = 2) -> Listing:
    return Listing(*_native().scan(str(root), lead, recursive, threads)).in_order()


def python_links(root: Path, lead: str = "", recursive: bool = True) -> list[Link]:
    links: list[Link] = []
    scan_module._walk(root, lead, recursive, links)
    return sorted(links)


def native_links(
    root: Path, lead: str = "", recursive: bool = True, threads: int = 2
) -> list[Link]:
    found: list[tuple[str, str, bool]] = []
    _native().scan(str(root), lead, recursive, threads, found)
    return sorted(map(Link._make, found))


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "top.txt").write_bytes(b"top")
    (root / ".hidden").write_bytes(b"h")
    (root / "a" / "one.bin").write_bytes(b"1" * 10)
    (root / "a" / "b" / "c" / "deep.csv").write_bytes(b"x,y\n")
    (root / "ünïcödé 名前.txt").write_bytes(b"u")
    os.close(os.open(bytes(root) + b"/latin1-\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    os.mkdir(bytes(root) + b"/dir-\xff")
    os.close(os.open(bytes(root) + b"/dir-\xff/in.txt", os.O_CREAT | os.O_WRONLY, 0o644))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not to be listed")
    (outside / "target.txt").write_bytes(b"linked")
    (root / "link-to-file.txt").symlink_to(outside / "target.txt")
    (root / "link-to-folder").symlink_to(outside, target_is_directory=True)
    (root / "broken-link").symlink_to(tmp_path / "missing")
    (root / "a" / "loop-1").symlink_to("loop-2")
    (root / "a" / "loop-2").symlink_to("loop-1")
    (root / "a" / "inner.bin").symlink_to("one.bin")
    (root / "a" / "b" / "up").symlink_to("..", target_is_directory=True)
    (root / "fifo-link").symlink_to(root / "a" / "pipe")
    os.mkfifo(root / "a" / "pipe")
    return root


def test_same_files_as_the_python_walk(tricky: Path) -> None:
    found = native_walk(tricky)
    assert found == python_walk(tricky)
    paths = found.paths
    assert "link-to-file.txt" in paths  # a link to a file is that file
    assert not any(p.startswith("link-to-folder") for p in paths)  # not descended
    assert "broken-link" not in paths
    assert not any("loop" in p for p in paths)  # a loop is a dangling link, not an error
    assert "a/pipe" not in paths
    assert "fifo-link" not in paths
    assert "latin1-\udce9.txt" in paths  # undecodable bytes as os.scandir gives them
    assert "dir-\udcff/in.txt" in paths
    at = paths.index("link-to-file.txt")
    assert found.sizes[at] == len(b"linked")  # the stat of the target, not of the link
    rows = found.rows()
    assert all(type(f) is LocalFile for f in rows)
    for row in rows:  # the local path and the stat are the file's own
        assert os.path.exists(row.local)
        st = os.stat(row.local)
        assert (row.size, row.mtime_ns, row.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)
        assert row.local == os.path.join(tricky, row.path)


def test_columns_share_one_folder_string_per_run(tricky: Path) -> None:
    """folders[i] + names[i] is the local path; a run of one folder is one object."""
    for found in (native_walk(tricky), python_walk(tricky)):
        for folder, name, path in zip(found.folders, found.names, found.paths, strict=True):
            assert folder.endswith("/")
            assert folder + name == os.path.join(tricky, path)
            assert name == path.rpartition("/")[2]
        runs = [(a, b) for a, b in zip(found.folders, found.folders[1:], strict=False) if a == b]
        assert runs
        assert all(a is b for a, b in runs)


def test_same_links_as_the_python_walk(tricky: Path) -> None:
    """Each kept link once, with its kind; broken links, loops and links to FIFOs are not."""
    want = [
        Link("a/b/up", str(tricky / "a/b/up"), True),
        Link("a/inner.bin", str(tricky / "a/inner.bin"), False),
        Link("link-to-file.txt", str(tricky / "link-to-file.txt"), False),
        Link("link-to-folder", str(tricky / "link-to-folder"), True),
    ]
    assert python_links(tricky) == want
    for threads in (1, 2, 8):
        assert native_links(tricky, threads=threads) == want
    lead = [link._replace(path=f"in/{link.path}") for link in want]
    assert native_links(tricky, "in/") == python_links(tricky, "in/") == lead
    # NOTE: not recursive: folders, real or linked, are not descended, so not reported
    flat = [Link("link-to-file.txt", str(tricky / "link-to-file.txt"), False)]
    assert native_links(tricky, recursive=False) == python_links(tricky, recursive=False) == flat


def test_no_links_reported_for_a_tree_without_any(many: Path) -> None:
    assert native_links(many, threads=4) == python_links(many) == []


def test_lead_and_non_recursive(tricky: Path) -> None:
    assert native_walk(tricky, "in/ds/") == python_walk(tricky, "in/ds/")
    assert native_walk(tricky, recursive=False) == python_walk(tricky, recursive=False)
    assert all(p.startswith("in/ds/") for p in native_walk(tricky, "in/ds/").paths)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("many")
    for folder in range(300):  # more folders than the queue's first allocation
        sub = root / f"{folder // 30:02d}" / f"{folder:03d}"
        sub.mkdir(parents=True)
        for i in range(4):
            (sub / f"f{i}").write_bytes(b"")
    for i in range(1100):  # more files in one folder than one worker's first allocation
        (root / f"flat-{i:04d}").write_bytes(b"")
    return root


@pytest.mark.parametrize("threads", [1, 2, 64])
def test_many_files_and_folders_on_any_number_of_threads(many: Path, threads: int) -> None:
    found = native_walk(many, threads=threads)
    assert len(found) == 300 * 4 + 1100
    assert found == python_walk(many)


@pytest.mark.parametrize("threads", [1, 2, 8])
def test_files_come_sorted_by_path(many: Path, threads: int) -> None:
    """Sorted in C (UTF-8 byte order is str order), so the caller has nothing to sort."""
    paths = _native().scan(str(many), "lead/", True, threads)[0]
    assert paths == sorted(paths)


def test_errors_name_what_failed(tmp_path: Path) -> None:
    native = _native()
    with pytest.raises(FileNotFoundError) as missing:
        native.scan(str(tmp_path / "nope"), "", True, 2)
    assert missing.value.filename == str(tmp_path / "nope")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        native.scan(str(tmp_path / "file"), "", True, 2)
    with pytest.raises(TypeError, match="links"):
        native.scan(str(tmp_path), "", True, 2, ())
    with pytest.raises(TypeError):
        native.scan(str(tmp_path), b"lead", True, 2)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_folder_fails_the_walk(tmp_path: Path) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "x").write_bytes(b"")
    os.chmod(tmp_path / "locked", 0)
    try:
        with pytest.raises(PermissionError) as native_error:
            _native().scan(str(tmp_path), "", True, 2)
        with pytest.raises(PermissionError) as python_error:
            python_walk(tmp_path)
        assert native_error.value.filename == python_error.value.filename
    finally:
        os.chmod(tmp_path / "locked", 0o700)


def test_the_root_folder_of_a_file_system(tmp_path: Path) -> None:
    """A root given with a trailing separator gets no second one."""
    (tmp_path / "x").write_bytes(b"x")
    found = Listing(*_native().scan(f"{tmp_path}/", "", False, 1))
    assert found.folders == [f"{tmp_path}/"]
    assert found.rows()[0].local == f"{tmp_path}/x"


@pytest.mark.parametrize("policy", ["follow", "skip"])
def test_scan_gives_the_same_result_with_and_without_it(
    tricky: Path, monkeypatch: pytest.MonkeyPatch, policy: scan_module.Symlinks
) -> None:
    with_native = scan(tricky, "data", wildcards=["*.txt"], recursive=True, symlinks=policy)
    walked = scan_folder(tricky, "data", recursive=True, symlinks=policy)
    assert walked.rows() == scan(tricky, "data", wildcards=None, recursive=True, symlinks=policy)
    with pytest.raises(ValidationError) as native_refused:
        scan(tricky, "data", wildcards=["*.txt"], recursive=True)
    monkeypatch.setattr(scan_module, "_NATIVE_SCAN", None)
    assert scan(tricky, "data", wildcards=["*.txt"], recursive=True, symlinks=policy) == with_native
    assert scan_folder(tricky, "data", recursive=True, symlinks=policy) == walked
    assert [f.path for f in with_native] == sorted(f.path for f in with_native)
    followed = {f.path for f in with_native} >= {
        "data/link-to-file.txt",
        "data/link-to-folder/secret.txt",
    }
    assert followed is (policy == "follow")
    with pytest.raises(ValidationError) as python_refused:
        scan(tricky, "data", wildcards=["*.txt"], recursive=True)
    assert python_refused.value.fields == native_refused.value.fields
    assert python_refused.value.fields["links"] == [  # NOTE: a/b/up leads to a/: inside
        str(tricky / "link-to-file.txt"),
        str(tricky / "link-to-folder"),
    ]


def test_scan_folder_is_in_str_order_when_bytes_order_differs(tmp_path: Path) -> None:
    """Names that are not UTF-8 decode to surrogates, which sort after most of the BMP in
    str order but before it in byte order: scan_folder gives str order either way."""
    for name in (b"a-\xff.txt", "a-\uffee.txt".encode(), b"b.txt"):
        os.close(os.open(bytes(tmp_path) + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644))
    raw = _native().scan(str(tmp_path), "", True, 2)[0]
    assert raw != sorted(raw)  # byte order
    listed = scan_folder(tmp_path, "", recursive=True)
    assert listed.paths == sorted(raw)
    assert listed == scan_module._walk(tmp_path, "", True, [])
