"""Shards whose decoding passed the codec's checks are remembered by address (issue 19).

The reader verifies every shard's SHA-256 against its address, so bytes that passed the
checks once pass again: a later decode of the same address skips the column checks (the
size bounds and the structure are always checked). Addresses are kept in memory and in
``<DATAVER_CACHE_DIR>/manifest-trusted-v1``, so later processes skip the checks too. Only
shards that passed are remembered: never one that failed, never one a writer only kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dataver.errors import FormatError
from dataver.layout import manifest_key
from dataver.manifest import codec, reader
from dataver.manifest.codec import ShardRef, digest, encode_shard
from dataver.manifest.entry import Entry
from dataver.manifest.reader import Manifest, TrustedShards
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from pathlib import Path

    import dataver

H = "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "registry")


@pytest.fixture(autouse=True)
def fresh_process() -> None:
    """As a new process: nothing decoded, nothing known to be checked in memory."""
    reader._shards.clear()
    reader.TRUSTED._known.clear()


def _put(store: LocalStore, entries: list[Entry]) -> ShardRef:
    """A shard put in the registry by someone else (not this machine's writer)."""
    data = encode_shard(entries)
    ref = digest(data)
    store.write(manifest_key(ref), data)
    return ShardRef(
        hash=ref, first=entries[0].path, last=entries[-1].path, count=len(entries), bytes=1
    )


def _load(store: LocalStore, shard: ShardRef) -> list[Entry]:
    reader._shards.clear()  # NOTE: decode again, as another process would
    return Manifest(store, None).load_shard(shard)


def _no_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the column checks record their calls instead of checking."""
    calls: list[str] = []
    monkeypatch.setattr(codec, "_check_columns", lambda *args: calls.append(args[-1]))
    return calls


def test_a_checked_shard_is_not_checked_again(
    store: LocalStore, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [Entry(f"d/{i:04d}", i, H) for i in range(50)]
    shard = _put(store, entries)
    assert _load(store, shard) == entries
    assert shard.hash in reader.TRUSTED
    assert (cache_dir / "manifest-trusted-v1").read_text().split() == [shard.hash]
    calls = _no_checks(monkeypatch)
    assert _load(store, shard) == entries
    assert calls == []
    reader.TRUSTED._known.clear()  # NOTE: a later process: only the file remembers
    reader.TRUSTED._for = "\0"
    assert _load(store, shard) == entries
    assert calls == []
    other = _put(store, [Entry("x", 1, H)])
    _load(store, other)
    assert calls == [other.hash]  # a shard never checked is checked


def test_a_shard_that_fails_is_never_remembered(store: LocalStore, cache_dir: Path) -> None:
    bad = _put(store, [Entry("a/../b", 1, H)])
    for _ in range(2):
        with pytest.raises(FormatError, match="unsafe dataset path"):
            _load(store, bad)
    assert bad.hash not in reader.TRUSTED
    assert not (cache_dir / "manifest-trusted-v1").exists()


def test_bounds_and_structure_are_checked_even_for_a_known_shard(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [Entry(f"{i:03d}", 1, H) for i in range(10)]
    shard = _put(store, entries)
    _load(store, shard)
    calls = _no_checks(monkeypatch)
    with pytest.raises(FormatError, match="does not match its root"):
        _load(store, shard.model_copy(update={"count": 9}))
    monkeypatch.setattr(codec, "MAX_DECODED", 64)  # NOTE: as a bomb's bound would
    with pytest.raises(FormatError, match="refused"):
        _load(store, shard)
    assert calls == []


def test_tampered_bytes_never_reach_the_decoder(store: LocalStore) -> None:
    shard = _put(store, [Entry("a", 1, H)])
    _load(store, shard)
    path = store.root / manifest_key(shard.hash)
    path.write_bytes(encode_shard([Entry("../escape", 1, H)]))
    with pytest.raises(FormatError, match="do not match its hash"):
        _load(store, shard)


def test_shards_a_writer_keeps_are_checked_once_when_read(
    registry: dataver.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(b"a")
    ds = registry.create("d")
    ds.add_files(tmp_path / "src")
    ds.upload()
    ds.finalize()
    shards = Manifest(registry.store, ds.record.manifest).shards
    assert shards
    assert not any(s.hash in reader.TRUSTED for s in shards)  # kept, never checked
    reader._shards.clear()  # NOTE: a later process on this machine
    assert registry.get(ds.id).list_files() == ["a.txt"]
    assert all(s.hash in reader.TRUSTED for s in shards)  # decoded and checked now
    calls = _no_checks(monkeypatch)
    reader._shards.clear()
    assert registry.get(ds.id).list_files() == ["a.txt"]
    assert calls == []


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (Entry("../escape", 1, H), "unsafe dataset path"),
        (Entry("a", 1 << 62, H), "invalid size"),
        (Entry("a", 1, "AB" * 32), "not lowercase hex"),
    ],
)
def test_what_a_writer_was_handed_is_checked_when_read(
    store: LocalStore, entry: Entry, error: str
) -> None:
    """A caller can hand the writer anything (a test forging a hostile bucket does)."""
    from dataver.manifest.writer import write_manifest

    shard = Manifest(store, write_manifest(store, "blake3", [entry])).shards[0]
    for _ in range(2):
        with pytest.raises(FormatError, match=error):
            _load(store, shard)
    assert shard.hash not in reader.TRUSTED


def test_the_file_keeps_the_newest_addresses_and_ignores_garbage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "TRUSTED_ON_DISK", 4)
    monkeypatch.setattr(reader, "TRUSTED_IN_MEMORY", 6)
    path = tmp_path / "cache" / "manifest-trusted-v1"
    path.parent.mkdir(parents=True, exist_ok=True)
    refs = [f"{i:064x}" for i in range(10)]
    path.write_text("\n".join(["garbage", "../x", *refs[:5], "z" * 65, *refs[5:]]) + "\n")
    checked = TrustedShards()
    assert [ref in checked for ref in refs] == [False] * 6 + [True] * 4
    assert path.read_text().split() == refs[-4:]  # cut to the newest
    for ref in refs[:3]:
        checked.add(ref)
    assert path.read_text().split() == [*refs[-4:], *refs[:3]]
    assert refs[6] not in checked  # the oldest left memory
    checked.forget()
    assert not path.exists()
    assert refs[0] not in checked


def test_a_cache_that_cannot_be_written_only_costs_checks(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(blocker))
    shard = _put(store, [Entry("a", 1, H)])
    assert _load(store, shard) == [Entry("a", 1, H)]
    assert shard.hash in reader.TRUSTED  # in memory still
