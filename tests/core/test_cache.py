"""The local cache: never download the same bytes twice, never trust damaged bytes (issue 3)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dataver
from dataver import Cache, IntegrityError, NotFoundError, ValidationError
from dataver.storage.local import LocalStore

from .test_concurrency import race

ReadTree = Callable[[Path], dict[str, bytes]]
Finalized = Callable[..., dataver.Dataset]
Spawn = Callable[..., subprocess.Popen[str]]


class Reads:
    """Every call a LocalStore receives in this process: ``(method, key, length)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    @property
    def content(self) -> list[tuple[str, str, int]]:
        return [c for c in self.calls if c[1].startswith(("packs/", "objects/"))]

    @property
    def content_bytes(self) -> int:
        return sum(length for _, _, length in self.content)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Count the registry reads of this process (an instrumented local store)."""
    seen = Reads()
    for method in ("read", "read_with_token", "exists", "size", "list", "local_path"):
        original = getattr(LocalStore, method)

        def counted(self: LocalStore, key: str, *a: object, _m=method, _o=original) -> object:
            seen.calls.append((_m, key, 0))
            return _o(self, key, *a)

        monkeypatch.setattr(LocalStore, method, counted)
    original_range = LocalStore.read_range
    original_file = LocalStore.get_file

    def read_range(self: LocalStore, key: str, start: int, length: int) -> bytes:
        seen.calls.append(("read_range", key, length))
        return original_range(self, key, start, length)

    def get_file(self: LocalStore, key: str, local: Path) -> None:
        seen.calls.append(("get_file", key, (self.root / key).stat().st_size))
        original_file(self, key, local)

    monkeypatch.setattr(LocalStore, "read_range", read_range)
    monkeypatch.setattr(LocalStore, "get_file", get_file)
    return seen


def _blobs(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "blobs").rglob("*") if p.is_file())


# ---------------------------------------------------------------- 1. warm gets read nothing


def test_second_get_of_ten_thousand_files_reads_nothing_from_the_registry(
    registry: dataver.Registry, tmp_path: Path, reads: Reads
) -> None:
    folder = tmp_path / "many"
    for i in range(10_000):
        path = folder / f"d{i % 50:02d}" / f"f{i:05d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(4, "big"))
    ds = registry.create("many")
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    first = registry.get(ds.id).get_local_copy()
    again = registry.get(ds.id)
    reads.calls.clear()
    assert again.get_local_copy() == first
    assert reads.calls == []
    assert sum(1 for p in first.rglob("*") if p.is_file()) == 10_000


def test_every_file_of_a_cold_tree_is_a_hard_link_to_a_read_only_blob(
    finalized: Finalized, cache_dir: Path
) -> None:
    small = os.urandom(3000)
    files = {
        "packed/a": small,
        "packed/same-as-a": small,
        "packed/b": os.urandom(100),
        "single": os.urandom(2 << 20),  # NOTE: above the pack threshold: an object of its own
        "chunked": os.urandom(9 << 20),  # NOTE: above the chunk threshold: a list of chunks
    }
    tree = finalized(files).get_local_copy()
    blobs = {p.stat().st_ino: p.stat() for p in _blobs(cache_dir)}
    assert len(blobs) == 4
    for path in files:
        assert (tree / path).stat().st_ino in blobs, path
    assert {stat.S_IMODE(b.st_mode) for b in blobs.values()} == {0o444}


# ---------------------------------------------------------------- 2. children fetch only news


def test_child_of_a_cached_parent_downloads_only_its_new_content(
    finalized: Finalized, read_tree: ReadTree, reads: Reads
) -> None:
    parent_files = {f"p/{i}": os.urandom(3000) for i in range(20)} | {"big": os.urandom(3 << 20)}
    parent = finalized(parent_files)
    parent.get_local_copy()
    new = {"p/new": os.urandom(5000), "big2": os.urandom(2 << 20)}
    child = finalized(new, parents=[parent])
    reads.calls.clear()
    assert read_tree(child.get_local_copy()) == parent_files | new
    assert reads.content_bytes == sum(len(v) for v in new.values())


def test_a_blob_is_fetched_once_whichever_version_or_dataset_asks(
    finalized: Finalized, cache_dir: Path, reads: Reads
) -> None:
    same = os.urandom(4000)
    one = finalized({"a": same}, name="one")
    two = finalized({"elsewhere/b": same, "c": b"c"}, name="two")
    one.get_local_copy()
    reads.calls.clear()
    two.get_local_copy()
    assert reads.content_bytes == 1  # only "c"
    assert len(_blobs(cache_dir)) == 2


# ---------------------------------------------------------------- 3. read-only, mutable copies


def _open_for_everyone(path: Path) -> None:
    """pytest's temporary folders are 0700: let an unprivileged user reach ``path``."""
    for folder in [path, *path.parents]:
        if folder == Path("/"):
            break
        mode = folder.stat().st_mode
        if stat.S_ISDIR(mode):
            folder.chmod(mode | 0o005)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_an_unprivileged_user_cannot_write_a_cached_file(finalized: Finalized) -> None:
    ds = finalized({"data/x.bin": b"payload"})
    target = ds.get_local_copy() / "data" / "x.bin"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    _open_for_everyone(target.parent)
    nobody = 65534

    def drop() -> None:
        os.setgroups([])
        os.setgid(nobody)
        os.setuid(nobody)

    def as_nobody(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", "-c", command, "sh", str(target)],
            capture_output=True,
            text=True,
            preexec_fn=drop,
            check=False,
            timeout=60,
        )

    assert as_nobody('cat "$1"').stdout == "payload"  # readable...
    result = as_nobody('printf X >> "$1"')  # ...but not writable
    assert result.returncode != 0
    assert "Permission denied" in result.stderr
    assert target.read_bytes() == b"payload"


def test_mutable_copy_changes_nothing_else(
    finalized: Finalized, tmp_path: Path, read_tree: ReadTree
) -> None:
    files = {"a.txt": b"original", "s/b.txt": b"other"}
    ds = finalized(files)
    cached = ds.get_local_copy()
    one = ds.get_mutable_local_copy(tmp_path / "one")
    two = ds.get_mutable_local_copy(tmp_path / "two")
    (one / "a.txt").write_bytes(b"changed")
    (one / "s" / "b.txt").unlink()
    assert read_tree(cached) == files
    assert read_tree(two) == files
    assert os.stat(one / "a.txt").st_mode & 0o200
    assert (one / "a.txt").stat().st_ino != (cached / "a.txt").stat().st_ino


def test_mutable_copy_refuses_a_non_empty_target_unless_asked(
    finalized: Finalized, tmp_path: Path, read_tree: ReadTree
) -> None:
    ds = finalized({"a": b"1"})
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep").write_bytes(b"mine")
    with pytest.raises(ValidationError, match="not empty"):
        ds.get_mutable_local_copy(target)
    assert read_tree(target) == {"keep": b"mine"}
    assert read_tree(ds.get_mutable_local_copy(target, overwrite=True)) == {"a": b"1"}
    with pytest.raises(ValidationError, match="is a file"):
        ds.get_mutable_local_copy(target / "a")


# ---------------------------------------------------------------- subsets and open()


def test_subset_get_materialises_only_the_matching_files(
    finalized: Finalized, read_tree: ReadTree, cache_dir: Path, reads: Reads
) -> None:
    files = {
        "train/a.jpg": b"A" * 100,
        "train/deep/b.jpg": b"B" * 100,
        "train/c.txt": b"C",
        "test/d.jpg": b"D" * 100,
    }
    ds = finalized(files)
    anchored = ds.get_local_copy(paths=["train/*.jpg"])
    assert read_tree(anchored) == {"train/a.jpg": files["train/a.jpg"]}
    anywhere = ds.get_local_copy(paths=["*.jpg"])
    assert set(read_tree(anywhere)) == {"train/a.jpg", "train/deep/b.jpg", "test/d.jpg"}
    folder = ds.get_local_copy(paths=["train"])
    assert set(read_tree(folder)) == {"train/a.jpg", "train/deep/b.jpg", "train/c.txt"}
    assert len({anchored, anywhere, folder, ds.get_local_copy()}) == 4
    reads.calls.clear()
    assert ds.get_local_copy(paths=["train/*.jpg", "train/*.jpg/"]) == anchored
    assert reads.calls == []
    assert len(_blobs(cache_dir)) == 4
    with pytest.raises(ValidationError):
        ds.get_local_copy(paths=[""])


def test_open_reads_one_file_without_materialising_the_version(
    finalized: Finalized, cache_dir: Path, reads: Reads
) -> None:
    ds = finalized({"a.csv": b"x,y\n1,2\n", "big": os.urandom(2 << 20), "c": b"c" * 50})
    reads.calls.clear()
    with ds.open("a.csv", "r") as handle:
        assert handle.read() == "x,y\n1,2\n"
    with ds.open("a.csv") as handle:
        assert handle.read() == b"x,y\n1,2\n"
    assert reads.content_bytes == len(b"x,y\n1,2\n")
    assert not (cache_dir / "versions" / ds.id).exists()
    with pytest.raises(NotFoundError):
        ds.open("missing.csv")
    with pytest.raises(ValidationError, match="reads only"):
        ds.open("a.csv", "w")


# ---------------------------------------------------------------- 4. concurrent gets


def test_eight_processes_get_one_version_with_one_download_of_each_blob(
    finalized: Finalized, spawn_worker: Spawn, registry_path: Path
) -> None:
    files = {f"small/{i:03d}": os.urandom(2000 + i) for i in range(200)}
    files |= {f"large/{i}": os.urandom((1 << 20) + 7 * i) for i in range(4)}
    ds = finalized(files)
    procs = [spawn_worker("get", str(registry_path), ds.id) for _ in range(8)]
    results = race(procs)
    expected = {path: data.hex() for path, data in files.items()}
    assert all(r["files"] == expected for r in results)
    assert len({r["root"] for r in results}) == 1
    fetched = sum(length for r in results for _, _, length in r["reads"])
    assert fetched == sum(len(v) for v in files.values())


# ---------------------------------------------------------------- 5. killed mid-get


def test_a_get_killed_mid_download_leaves_nothing_trusted(
    write_tree: Callable[[Path, dict[str, bytes]], Path],
    tmp_path: Path,
    spawn_worker: Spawn,
    registry_path: Path,
    cache_dir: Path,
    read_tree: ReadTree,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "0")  # one object per file: many reads
    monkeypatch.setenv("DATAVER_MAX_WORKERS", "1")
    files = {f"f{i}": os.urandom(1000 + i) for i in range(10)}
    ds = dataver.Registry(registry_path).create("slow")
    ds.add_files(write_tree(tmp_path / "slow", files))
    ds.finalize(auto_upload=True)
    proc = spawn_worker("slow_get", str(registry_path), ds.id)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "fetching\n"
    assert proc.stdout.readline() == "fetching\n"
    proc.kill()
    proc.wait(timeout=30)
    assert not (cache_dir / "versions" / f"{ds.id}.complete").exists()
    assert Cache(cache_dir).info().leftovers  # the killed process's half tree
    monkeypatch.delenv("DATAVER_MAX_WORKERS")
    assert read_tree(dataver.Registry(registry_path).get(ds.id).get_local_copy()) == files
    info = Cache(cache_dir).info()
    assert info.leftovers == ()
    assert [t.version_id for t in info.trees] == [ds.id]


# ---------------------------------------------------------------- 6. damage and repair


def test_a_truncated_blob_is_repaired_by_the_next_get_that_uses_it(
    finalized: Finalized, cache_dir: Path, read_tree: ReadTree
) -> None:
    files = {"a": b"a" * 500, "b": b"b" * 700}
    one = finalized(files, name="one")
    tree = one.get_local_copy()
    os.chmod(tree / "a", 0o644)
    with open(tree / "a", "r+b") as handle:  # the blob: a tree file is a link to it
        handle.truncate(10)
    two = finalized({"a": b"a" * 500}, name="two")  # same content, another dataset
    assert read_tree(two.get_local_copy()) == {"a": b"a" * 500}
    # The damaged inode is no longer the blob; the first tree still shows it until repaired.
    assert one.verify() == ["a"]
    assert one.verify(repair=True) == ["a"]
    assert read_tree(one.get_local_copy()) == files
    assert one.verify() == []


def test_with_size_checks_a_warm_get_repairs_a_truncated_file(
    finalized: Finalized,
    registry_path: Path,
    read_tree: ReadTree,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By default a warm get checks the marker only (DESIGN section 5); ``size`` checks more."""
    files = {"a": b"a" * 500, "s/b": b"b" * 700}
    ds = finalized(files)
    tree = ds.get_local_copy()
    os.chmod(tree / "s" / "b", 0o644)
    (tree / "s" / "b").write_bytes(b"short")
    assert read_tree(ds.get_local_copy())["s/b"] == b"short"
    monkeypatch.setenv("DATAVER_CACHE_VERIFY", "size")  # read when a Registry is opened
    assert read_tree(dataver.Registry(registry_path).get(ds.id).get_local_copy()) == files


def test_a_flipped_byte_is_named_by_verify_and_repaired(
    finalized: Finalized,
    registry_path: Path,
    read_tree: ReadTree,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {"x/data.bin": bytes(range(256)) * 4, "y": b"fine"}
    ds = finalized(files)
    tree = ds.get_local_copy()
    target = tree / "x" / "data.bin"
    os.chmod(target, 0o644)
    with open(target, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff")
    assert target.stat().st_size == len(files["x/data.bin"])
    assert ds.get_local_copy() == tree  # marker only: a same-size change is not seen here
    assert ds.verify() == ["x/data.bin"]
    assert ds.verify(repair=True) == ["x/data.bin"]
    assert read_tree(ds.get_local_copy()) == files
    # DATAVER_CACHE_VERIFY=1 hashes every file on every get and repairs on its own.
    tree = ds.get_local_copy()
    os.chmod(tree / "y", 0o644)
    (tree / "y").write_bytes(b"FINE")
    monkeypatch.setenv("DATAVER_CACHE_VERIFY", "1")
    assert read_tree(dataver.Registry(registry_path).get(ds.id).get_local_copy()) == files


def test_repair_refuses_when_the_registry_copy_is_corrupt(
    finalized: Finalized, registry_path: Path
) -> None:
    ds = finalized({"a": b"a" * 100})
    tree = ds.get_local_copy()
    os.chmod(tree / "a", 0o644)
    (tree / "a").write_bytes(b"b" * 100)
    for pack in (registry_path / "packs").rglob("*"):
        if pack.is_file():
            pack.chmod(0o644)
            pack.write_bytes(b"z" * pack.stat().st_size)
    with pytest.raises(IntegrityError, match="corrupt in the registry"):
        ds.verify(repair=True)


# ---------------------------------------------------------------- 7. eviction


def _age(path: Path, seconds: float) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_prune_evicts_least_recently_used_first(
    finalized: Finalized, cache_dir: Path, read_tree: ReadTree
) -> None:
    old_bytes = os.urandom(10_000)
    old = finalized({"o": old_bytes}, name="old")
    mid = finalized({"m": os.urandom(10_000)}, name="mid")
    new = finalized({"n": os.urandom(10_000)}, name="new")
    for ds, age in ((old, 300), (mid, 200), (new, 100)):
        ds.get_local_copy()
        _age(cache_dir / "versions" / f"{ds.id}.complete", age)
    cache = Cache(cache_dir)
    # This process got all three: its own leases would keep them; a fresh process would not.
    for ds in (old, mid, new):
        dataver.cache.leases.release(cache.lease_path(ds.id))
    assert cache.info().total_bytes == 30_000
    plan = cache.plan_prune("25KB")
    assert [t.key for t in plan.trees] == [old.id]
    assert plan.freed_bytes == 10_000
    assert cache.info().total_bytes == 30_000  # planning removes nothing
    done = cache.prune(plan)
    assert [t.key for t in done.trees] == [old.id]
    info = cache.info()
    assert info.total_bytes == 20_000
    assert {t.dataset for t in info.trees} == {"mid", "new"}
    assert read_tree(old.get_local_copy()) == {"o": old_bytes}  # fetched again


def test_prune_never_breaks_a_tree_another_process_holds(
    finalized: Finalized, spawn_worker: Spawn, registry_path: Path, cache_dir: Path
) -> None:
    held = finalized({"h": b"h" * 5000}, name="held")
    free = finalized({"f": b"f" * 5000}, name="free")
    free.get_local_copy()
    cache = Cache(cache_dir)
    dataver.cache.leases.release(cache.lease_path(free.id))
    proc = spawn_worker("hold_get", str(registry_path), held.id)
    assert proc.stdout is not None
    root = Path(json.loads(proc.stdout.readline())["root"])
    _age(cache_dir / "versions" / f"{held.id}.complete", 1000)  # the oldest: first to go
    done = cache.prune(cache.plan_prune(0))
    assert held.id in done.kept_in_use
    assert [t.key for t in done.trees] == [free.id]
    assert (root / "h").read_bytes() == b"h" * 5000
    assert {t.key: t.in_use for t in cache.info().trees} == {held.id: True}
    proc.kill()
    proc.wait(timeout=30)
    assert [t.key for t in cache.prune(cache.plan_prune(0)).trees] == [held.id]
    assert cache.info().total_bytes == 0


def test_max_size_setting_prunes_after_each_get(
    finalized: Finalized,
    cache_dir: Path,
    registry_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    read_tree: ReadTree,
) -> None:
    second_bytes = os.urandom(8000)
    first = finalized({"a": os.urandom(8000)}, name="first")
    second = finalized({"b": second_bytes}, name="second")
    first.get_local_copy()
    dataver.cache.leases.release(Cache(cache_dir).lease_path(first.id))
    _age(cache_dir / "versions" / f"{first.id}.complete", 100)
    monkeypatch.setenv("DATAVER_CACHE_MAX_SIZE", "10KB")
    second_tree = dataver.Registry(registry_path).get(second.id).get_local_copy()
    assert read_tree(second_tree) == {"b": second_bytes}
    assert [t.dataset for t in Cache(cache_dir).info().trees] == ["second"]


def test_bad_sizes_are_refused(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="not a size"):
        Cache(cache_dir).plan_prune("lots")
    monkeypatch.setenv("DATAVER_CACHE_MAX_SIZE", "lots")
    with pytest.raises(dataver.DataverError, match="DATAVER_CACHE_MAX_SIZE"):
        dataver.Registry(cache_dir.parent / "r")


def test_info_on_an_empty_or_missing_cache(tmp_path: Path) -> None:
    info = Cache(tmp_path / "nothing").info()
    assert (info.total_bytes, info.trees, info.leftovers) == (0, (), ())
    assert Cache(tmp_path / "nothing").prune().is_empty


def test_removed_blobs_are_fetched_again(
    finalized: Finalized, cache_dir: Path, read_tree: ReadTree
) -> None:
    files = {"a": b"a" * 300}
    ds = finalized(files)
    ds.get_local_copy()
    shutil.rmtree(cache_dir)
    assert read_tree(ds.get_local_copy()) == files


# ---------------------------------------------------------------- no hard links possible


@pytest.fixture
def split_cache(cache_dir: Path, tmp_path: Path) -> Iterator[Path]:
    """A cache whose trees live on another file system than its blobs (tmpfs vs. disk).

    Hard links between them fail with EXDEV for real, so trees are made of copies.
    """
    shm = Path("/dev/shm")  # noqa: S108 - a real second file system is the point
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system other than the test folder's")
    other = Path(tempfile.mkdtemp(dir=shm, prefix="dataver-test-"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in ("versions", "tmp"):
        (other / name).mkdir()
        (cache_dir / name).symlink_to(other / name)
    yield cache_dir
    shutil.rmtree(other, ignore_errors=True)


def test_trees_fall_back_to_read_only_copies_across_file_systems(
    finalized: Finalized, split_cache: Path, read_tree: ReadTree
) -> None:
    files = {"a": b"a" * 1000, "s/b": b"b" * 3000}
    ds = finalized(files)
    tree = ds.get_local_copy()
    assert read_tree(tree) == files
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in tree.rglob("*") if p.is_file())
    blobs = _blobs(split_cache)
    assert len(blobs) == 2
    assert {b.stat().st_dev for b in blobs} != {(tree / "a").stat().st_dev}
    info = Cache(split_cache).info()
    assert info.blob_bytes == 4000
    assert info.total_bytes == 8000  # the copies cost their own bytes
    assert info.trees[0].own_bytes == 4000  # its copies; the blobs stay for later gets
    assert info.unlinked_blob_bytes == 4000
    other = finalized({"c": b"a" * 1000}, name="other")  # same content: from the blob
    assert read_tree(other.get_local_copy()) == {"c": b"a" * 1000}
    assert len(_blobs(split_cache)) == 2


def test_a_cold_get_fetches_in_batches_and_each_content_once(
    registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold get holds at most a batch of new contents at a time (memory stays flat at any
    size of version); a content met again in a later batch is linked, not fetched again."""
    import dataver.cache.blobs
    import dataver.cache.local

    folder = tmp_path / "data"
    for i in range(40):
        (folder / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{i % 4}" / f"f{i:02}.txt").write_text(f"content {i % 13}")
    ds = registry.create("batches")
    ds.add_files(folder)
    ds.finalize(auto_upload=True)

    batches: list[list[str | None]] = []
    fetch = dataver.cache.blobs.fetch

    def counting(store: Any, settings: Any, entries: list[Any], *args: Any, **kw: Any) -> Any:
        batches.append([e.hash for e in entries])
        return fetch(store, settings, entries, *args, **kw)

    monkeypatch.setattr(dataver.cache.blobs, "fetch", counting)
    monkeypatch.setattr(dataver.cache.local, "FETCH_BATCH", 5)
    got = Path(ds.get_local_copy())

    fetched = [h for batch in batches for h in batch]
    assert len(batches) >= 3
    assert max(map(len, batches)) <= 5
    assert sorted(fetched) == sorted(set(fetched))  # NOTE: no content fetched twice
    assert len(fetched) == 13
    for i in range(40):
        assert (got / f"d{i % 4}" / f"f{i:02}.txt").read_text() == f"content {i % 13}"
