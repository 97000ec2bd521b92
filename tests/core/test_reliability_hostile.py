"""Hostile input beyond test_hostile.py: fuzzed parsers, forged manifests, the CLI and the web.

Whoever can write to the bucket can forge any record or manifest. Every forgery must be
refused with a dataver error that says what is wrong — never a crash, a MemoryError, a
duplicated file or a byte written outside the place the user asked for.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dataver
from dataver import FormatError, IntegrityError
from dataver.cli import main
from dataver.layout import manifest_key
from dataver.manifest import reader
from dataver.manifest.codec import (
    MAX_SIZE,
    ManifestRoot,
    ShardRef,
    compress,
    decode_root,
    decode_shard,
    decompress,
    digest,
    encode_root,
    encode_shard,
)
from dataver.manifest.writer import write_manifest
from dataver.paths import validate_paths
from dataver.versions.records import DatasetRecord, Pointer, VersionRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from dataver.manifest.entry import Entry

    Finalized = Callable[..., dataver.Dataset]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # NOTE: a fixed seed: the same examples on every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HEX = "0123456789abcdef"

# ----------------------------------------------------------------------- parser fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
hostile_paths = st.sampled_from(
    ["a", "b/c", "..", "../x", "/abs", "a/../b", "a\x00b", "a\\b", "./a", "a//b", "", "z\n"]
) | st.text(max_size=12)
hashes = st.sampled_from(["ab" * 32, "AB" * 32, "ab" * 31, "zz" * 32, None]) | st.text(
    alphabet=HEX, min_size=64, max_size=64
)


@st.composite
def shard_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A shard that looks right, with any column drawn hostile."""
    count = draw(st.integers(0, 4))
    doc: dict[str, Any] = {
        "format": draw(st.sampled_from([1, 1, 1, 2, "1", None])),
        "kind": draw(st.sampled_from(["dataver.shard", "dataver.shard", "dataver.manifest"])),
        "count": draw(st.sampled_from([count, count, -1, count + 1, "3"])),
        "path": draw(st.lists(hostile_paths, min_size=count, max_size=count)),
        "size": draw(st.lists(st.integers(-2, 2**64), min_size=count, max_size=count)),
        "hash": draw(st.lists(hashes, min_size=count, max_size=count)),
    }
    if draw(st.booleans()):
        doc["packs"] = draw(st.lists(hashes, max_size=2))
        doc["pack"] = draw(st.lists(st.integers(-2, 3), min_size=count, max_size=count))
        doc["offset"] = draw(st.lists(st.integers(-2, 2**63), min_size=count, max_size=count))
    if draw(st.booleans()):
        doc[draw(st.sampled_from(["url", "source", "extra"]))] = draw(json_values)
    return doc


def _assert_safe(entries: list[Entry]) -> None:
    """What a decoded shard promises every reader."""
    paths = [e.path for e in entries]
    validate_paths(paths)
    assert paths == sorted(set(paths))
    for entry in entries:
        assert 0 <= entry.size < MAX_SIZE
        assert 0 <= entry.offset < MAX_SIZE
        for digest_ in (entry.hash, entry.pack):
            assert digest_ is None or (len(digest_) == 64 and set(digest_) <= set(HEX))


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_any_bytes_as_shard_root_or_record(data: bytes) -> None:
    for parse in (
        lambda: decode_shard(data, "fuzz"),
        lambda: decode_root(data, "fuzz"),
        lambda: decode_shard(compress(data), "fuzz"),
        lambda: VersionRecord.from_bytes(data),
        lambda: DatasetRecord.from_bytes(data),
        lambda: Pointer.from_bytes(data),
    ):
        with contextlib.suppress(FormatError):
            parse()


@FUZZ
@given(doc=shard_documents())
def test_fuzz_shard_decoder_refuses_or_returns_only_safe_entries(doc: dict[str, Any]) -> None:
    try:
        entries = decode_shard(compress(json.dumps(doc).encode()), "fuzz")
    except FormatError:
        return
    _assert_safe(entries)


@FUZZ
@given(
    shards=st.lists(
        st.fixed_dictionaries(
            {
                "hash": hashes,
                "first": hostile_paths,
                "last": hostile_paths,
                "count": st.integers(-1, 3),
                "bytes": st.integers(-1, 10),
            }
        ),
        max_size=3,
    ),
    files=st.integers(-1, 6),
    extra=st.dictionaries(st.sampled_from(["format", "kind", "pending", "x"]), json_values),
)
def test_fuzz_root_decoder_refuses_or_returns_ordered_shards(
    shards: list[dict[str, Any]], files: int, extra: dict[str, Any]
) -> None:
    doc = {"format": 1, "kind": "dataver.manifest", "hash_algorithm": "blake3", "files": files}
    doc.update(bytes=0, shards=shards, **extra)
    try:
        root = decode_root(compress(json.dumps(doc).encode()), "fuzz")
    except FormatError:
        return
    assert root.files == sum(s.count for s in root.shards)
    lasts = [s.last for s in root.shards]
    firsts = [s.first for s in root.shards]
    assert all(f <= lst for f, lst in zip(firsts, lasts, strict=True))
    assert all(prev < nxt for prev, nxt in zip(lasts, firsts[1:], strict=False))


VALID_RECORD = {
    "format": 1,
    "kind": "dataver.version",
    "id": "a" * 32,
    "dataset_id": "b" * 32,
    "version": "1.0.0",
    "state": "final",
    "created_at": "2026-11-21T12:00:00Z",
    "updated_at": "2026-11-21T12:00:00Z",
    "manifest": "c" * 64,
}


@FUZZ
@given(field=st.sampled_from([*VALID_RECORD, "lease", "stats", "parents", "x"]), value=json_values)
def test_fuzz_record_parser_refuses_or_returns_a_valid_record(field: str, value: Any) -> None:
    doc = {**VALID_RECORD, field: value}
    try:
        record = VersionRecord.from_bytes(json.dumps(doc).encode())
    except FormatError as exc:
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert "VersionRecord" in refused  # says what it refused
        return
    assert record.format == 1
    assert record.state.value in {"uploading", "final", "published", "failed", "aborted"}


# ---------------------------------------------------------------------- forged manifests


def _forge(registry: dataver.Registry, ds: dataver.Dataset, ref: str) -> dataver.Dataset:
    """Point ``ds``'s record at the manifest ``ref``, as a hostile writer of the bucket could."""
    record = ds.record.model_copy(update={"manifest": ref})
    registry.store.write(f"versions/{ds.id}.json", record.to_bytes())
    # NOTE: the forger is another process: forget the shards this one just wrote (the writer
    # keeps them decoded), so the reads below decode and validate what is in the registry.
    reader._shards.clear()
    reader._load_root_cached.cache_clear()
    return dataver.Registry(registry.url).get(ds.id)


def _put(registry: dataver.Registry, data: bytes) -> str:
    ref = digest(data)
    registry.store.write(manifest_key(ref), data)
    return ref


def _duplicate_across_shards(registry: dataver.Registry, good: Entry) -> str:
    shard = encode_shard([good])
    ref = ShardRef(hash=_put(registry, shard), first=good.path, last=good.path, count=1, bytes=1)
    return _put(
        registry,
        encode_root(ManifestRoot(hash_algorithm="blake3", files=2, bytes=2, shards=(ref, ref))),
    )


def _shard_outside_its_range(registry: dataver.Registry, good: Entry) -> str:
    shard = encode_shard([good, good._replace(path="zzz")])
    ref = ShardRef(hash=_put(registry, shard), first=good.path, last=good.path, count=2, bytes=2)
    return _put(
        registry,
        encode_root(ManifestRoot(hash_algorithm="blake3", files=2, bytes=2, shards=(ref,))),
    )


def _format(registry: dataver.Registry, good: Entry, kind: str) -> str:
    shard = encode_shard([good])
    if kind == "shard":
        raw = decompress(shard, "shard")
        shard = compress(orjson.dumps({**raw, "format": 3}))
    ref = ShardRef(hash=_put(registry, shard), first=good.path, last=good.path, count=1, bytes=1)
    root = decompress(
        encode_root(ManifestRoot(hash_algorithm="blake3", files=1, bytes=1, shards=(ref,))),
        "root",
    )
    if kind == "root":
        root["format"] = 2
    return _put(registry, compress(orjson.dumps(root)))


FORGERIES: dict[str, tuple[Callable[[dataver.Registry, Entry], str], type[Exception], str]] = {
    "escaping path": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(path="../../escape.txt")]),
        FormatError,
        "unsafe dataset path",
    ),
    "absolute path": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(path="/dataver-escape.txt")]),
        FormatError,
        "unsafe dataset path",
    ),
    "NUL in path": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(path="a\x00.txt")]),
        FormatError,
        "unsafe dataset path",
    ),
    "huge size": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(size=1 << 61)]),
        IntegrityError,
        "instead of 2305843009213693952",
    ),
    "size past the limit": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(size=1 << 62)]),
        FormatError,
        "invalid size",
    ),
    "wrong hash": (
        lambda r, g: write_manifest(r.store, "blake3", [g._replace(hash="0" * 64)]),
        IntegrityError,
        "corrupt",
    ),
    "duplicate path across shards": (_duplicate_across_shards, FormatError, "overlap"),
    "shard outside its range": (_shard_outside_its_range, FormatError, "does not match its root"),
    "unknown root format": (lambda r, g: _format(r, g, "root"), FormatError, "format 2"),
    "unknown shard format": (lambda r, g: _format(r, g, "shard"), FormatError, "format 3"),
}


@pytest.fixture
def victim(finalized: Finalized) -> tuple[dataver.Dataset, Entry]:
    ds = finalized({"ok.txt": b"fine bytes"})
    return ds, next(ds.entries())


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_manifest_is_refused_everywhere(
    registry: dataver.Registry,
    victim: tuple[dataver.Dataset, Entry],
    cache_dir: Path,
    tmp_path: Path,
    forgery: str,
) -> None:
    build, error, message = FORGERIES[forgery]
    ds, good = victim
    forged = _forge(registry, ds, build(registry, good))
    before = sorted(p for p in tmp_path.rglob("*") if cache_dir not in p.parents)
    reads: list[Callable[[], object]] = [
        forged.get_local_copy,
        lambda: forged.get_mutable_local_copy(tmp_path / "copy"),
    ]
    if "path" not in forgery:  # NOTE: with its path forged, there is no good.path to open
        reads.append(lambda: forged.open(good.path).read())
    for read in reads:
        with pytest.raises(error, match=message):
            read()
    if error is FormatError:
        with pytest.raises(FormatError, match=message):
            forged.list_files()
    else:
        assert forged.verify() == [good.path]  # found damaged, not crashed
    report = registry.fsck()
    if forgery == "wrong hash":
        assert report.ok  # NOTE: fsck checks structure and sizes; hashing bytes is verify()
    else:
        assert {p.version_id for p in report.errors} == {ds.id}
    assert not (cache_dir / "versions" / ds.id).exists()  # no tree marked complete
    after = sorted(p for p in tmp_path.rglob("*") if cache_dir not in p.parents)
    assert [p for p in after if p not in before] in ([], [tmp_path / "copy"])
    assert not (tmp_path / "copy").exists() or not any((tmp_path / "copy").iterdir())


def test_a_symlink_in_a_mutable_copy_target_is_replaced_not_followed(
    finalized: Finalized, tmp_path: Path, read_tree: Callable[[Path], dict[str, bytes]]
) -> None:
    ds = finalized({"d/f.txt": b"new", "g.txt": b"g"})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_bytes(b"precious")
    target = tmp_path / "target"
    target.mkdir()
    (target / "d").symlink_to(outside, target_is_directory=True)
    ds.get_mutable_local_copy(target, overwrite=True)
    assert read_tree(target) == {"d/f.txt": b"new", "g.txt": b"g"}
    assert not (target / "d").is_symlink()
    assert read_tree(outside) == {"f.txt": b"precious"}  # nothing written through the link


# -------------------------------------------------------------------------- the CLI and web


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("forgery", ["escaping path", "huge size", "duplicate path across shards"])
def test_the_cli_refuses_forged_manifests_with_one_clear_line(
    registry: dataver.Registry,
    victim: tuple[dataver.Dataset, Entry],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    forgery: str,
) -> None:
    build, _, message = FORGERIES[forgery]
    ds, good = victim
    _forge(registry, ds, build(registry, good))
    monkeypatch.chdir(tmp_path)
    reg = ("--registry", registry.url)
    for args in (
        ("get", "--id", ds.id),
        ("get", "--id", ds.id, "--copy", str(tmp_path / "out")),
        ("fsck",),
    ):
        code, out, err = _cli(capsys, *reg, *args)
        assert code == 1, (args, out, err)
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, err
        if args[0] == "get":
            assert message.split()[0] in errors[0], errors
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_web_api_refuses_forged_manifests_and_hostile_paths(
    registry: dataver.Registry, victim: tuple[dataver.Dataset, Entry]
) -> None:
    testclient = pytest.importorskip("fastapi.testclient")
    from dataver.ui import create_app

    ds, good = victim
    client = testclient.TestClient(create_app(registry.url), base_url="http://localhost")
    for hostile in ("../../etc/passwd", "/etc/passwd", "a\x00b", "ok.txt/../../x"):
        for route in ("raw", "preview"):
            answer = client.get(f"/api/versions/{ds.id}/{route}", params={"path": hostile})
            assert answer.status_code in (400, 404), (route, hostile, answer.text)
            assert "root:" not in answer.text
    assert client.get("/api/versions/..%2F..%2Fetc%2Fpasswd").status_code == 404
    for forgery in ("escaping path", "duplicate path across shards", "unknown shard format"):
        build, _, _ = FORGERIES[forgery]
        _forge(registry, ds, build(registry, good))
        client = testclient.TestClient(create_app(registry.url), base_url="http://localhost")
        for route in ("files", "tree"):
            answer = client.get(f"/api/versions/{ds.id}/{route}", params={"path": ""})
            assert answer.status_code == 502, (forgery, route, answer.text)
            assert answer.json()["error"] == "FormatError"
            assert "Traceback" not in answer.text
    build, _, _ = FORGERIES["huge size"]
    _forge(registry, ds, build(registry, good))
    client = testclient.TestClient(create_app(registry.url), base_url="http://localhost")
    listed = client.get(f"/api/versions/{ds.id}/files", params={"path": ""})
    assert listed.status_code == 200  # listing is fine; reading the bytes is refused
    answer = client.get(f"/api/versions/{ds.id}/raw", params={"path": good.path})
    # Refused as too large for the page: never a 500 or a MemoryError.
    assert (answer.status_code, answer.json()["error"]) == (400, "ValidationError")
    # NOTE: a text preview reads only the head of a file, so it cannot check the hash of a
    # large one; it shows the head, marked truncated, and never allocates the forged size.
    preview = client.get(f"/api/versions/{ds.id}/preview", params={"path": good.path})
    assert preview.status_code == 200
    assert preview.json()["truncated"] is True
