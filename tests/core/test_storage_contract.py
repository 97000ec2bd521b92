"""The storage contract, written once, run on every store: local folder, memory, S3 (moto)."""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from dataver.errors import ConflictError, ObjectNotFoundError
from dataver.settings import Settings
from dataver.storage import Store, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    settings = Settings()
    if request.param == "local":
        url = str(tmp_path / "store")
    elif request.param == "memory":
        url = f"memory://contract-{uuid.uuid4().hex}"
    else:
        url = request.getfixturevalue("s3_url")
    opened = open_store(url, settings=settings)
    yield opened
    opened.close()


def test_missing_keys_raise_not_found(store: Store) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.read("nope/missing.json")
    with pytest.raises(ObjectNotFoundError):
        store.read_range("nope/missing.json", 0, 1)
    with pytest.raises(ObjectNotFoundError):
        store.size("nope/missing.json")
    with pytest.raises(ObjectNotFoundError):
        store.read_with_token("nope/missing.json")
    assert not store.exists("nope/missing.json")
    store.delete("nope/missing.json")  # deleting a missing key is not an error


def test_write_read_and_ranges(store: Store) -> None:
    data = bytes(range(256)) * 40
    store.write("a/b/data.bin", data)
    assert store.read("a/b/data.bin") == data
    assert store.read_range("a/b/data.bin", 100, 50) == data[100:150]
    assert store.read_range("a/b/data.bin", len(data) - 5, 5) == data[-5:]
    assert store.size("a/b/data.bin") == len(data)
    assert store.exists("a/b/data.bin")
    store.write("a/b/data.bin", b"replaced")
    assert store.read("a/b/data.bin") == b"replaced"


def test_create_only_if_absent(store: Store) -> None:
    token = store.create("claims/1.0.0.json", b"first")
    assert isinstance(token, str)
    with pytest.raises(ConflictError):
        store.create("claims/1.0.0.json", b"second")
    assert store.read("claims/1.0.0.json") == b"first"


def test_replace_is_compare_and_swap(store: Store) -> None:
    store.create("records/v.json", b"one")
    data, token = store.read_with_token("records/v.json")
    assert data == b"one"
    new_token = store.replace("records/v.json", b"two", token)
    assert store.read("records/v.json") == b"two"
    with pytest.raises(ConflictError):
        store.replace("records/v.json", b"stale", token)
    assert store.replace("records/v.json", b"three", new_token)
    store.delete("records/v.json")
    with pytest.raises(ConflictError):
        store.replace("records/v.json", b"gone", new_token)


def test_delete_if_is_compare_and_delete(store: Store) -> None:
    token = store.create("records/d.json", b"one")
    new_token = store.replace("records/d.json", b"two", token)
    with pytest.raises(ConflictError):
        store.delete_if("records/d.json", token)  # read before the swap: refused
    assert store.read("records/d.json") == b"two"
    store.delete_if("records/d.json", new_token)
    assert not store.exists("records/d.json")
    store.delete_if("records/d.json", new_token)  # already gone: not an error
    with pytest.raises(ConflictError):
        store.replace("records/d.json", b"back", new_token)  # a deleted key never comes back
    assert not store.exists("records/d.json")


def test_racing_swap_and_delete_one_wins(store: Store) -> None:
    """A swap and a conditional delete read with the same token: exactly one takes effect."""
    for round_ in range(10):
        key = f"records/race-{round_}.json"
        token = store.create(key, b"v0")
        barrier = threading.Barrier(2)
        outcome: dict[str, bool] = {}

        def swap(
            key: str = key,
            token: str = token,
            barrier: threading.Barrier = barrier,
            outcome: dict[str, bool] = outcome,
        ) -> None:
            barrier.wait()
            try:
                store.replace(key, b"v1", token)
            except ConflictError:
                outcome["swap"] = False
            else:
                outcome["swap"] = True

        def delete(
            key: str = key,
            token: str = token,
            barrier: threading.Barrier = barrier,
            outcome: dict[str, bool] = outcome,
        ) -> None:
            barrier.wait()
            try:
                store.delete_if(key, token)
            except ConflictError:
                outcome["delete"] = False
            else:
                outcome["delete"] = True

        threads = [threading.Thread(target=swap), threading.Thread(target=delete)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcome["swap"] != outcome["delete"], outcome
        assert store.exists(key) == outcome["swap"]


def test_racing_creators_one_wins(store: Store) -> None:
    winners: list[int] = []
    losers: list[int] = []
    barrier = threading.Barrier(8)

    def claim(index: int) -> None:
        barrier.wait()
        try:
            store.create("claims/race.json", str(index).encode())
        except ConflictError:
            losers.append(index)
        else:
            winners.append(index)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(losers) == 7
    assert store.read("claims/race.json") == str(winners[0]).encode()


def test_files_up_and_down(store: Store, tmp_path: Path) -> None:
    local = tmp_path / "up.bin"
    local.write_bytes(b"\x00\x01" * (1 << 19))
    store.put_file(local, "objects/ab/abcdef")
    out = tmp_path / "down.bin"
    store.get_file("objects/ab/abcdef", out)
    assert out.read_bytes() == local.read_bytes()
    with pytest.raises(ObjectNotFoundError):
        store.get_file("objects/ab/missing", tmp_path / "never.bin")


def test_listing_by_prefix(store: Store) -> None:
    for key in ("versions/a.json", "versions/b.json", "versionsX/c.json", "packs/p1", "v.json"):
        store.write(key, key.encode())
    assert sorted(i.key for i in store.list("versions/")) == ["versions/a.json", "versions/b.json"]
    assert sorted(i.key for i in store.list("versions")) == [
        "versions/a.json",
        "versions/b.json",
        "versionsX/c.json",
    ]
    sizes = {i.key: i.size for i in store.list("packs/")}
    assert sizes == {"packs/p1": len(b"packs/p1")}
    assert list(store.list("nothing-here/")) == []


def test_unusual_key_characters(store: Store) -> None:
    key = "datasets/with space/ünïcode+plus=eq.json"
    store.write(key, b"ok")
    assert store.read(key) == b"ok"
    assert [i.key for i in store.list("datasets/with space/")] == [key]
