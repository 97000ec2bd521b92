"""Chunked files for read tests: small chunk settings, three generations of a dataset, and
a counter of the registry's ranged reads."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataver.manifest import recipe
from dataver.objects.fetch import Piece, pieces

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest

    import dataver

CHUNK_SIZE = 64 << 10
"""FastCDC's average (its minimum, so chunks are 16 KiB to 256 KiB)."""
MAX_CHUNK = 4 * CHUNK_SIZE
THRESHOLD = 256 << 10
"""Files of at least this many bytes are chunked."""
PACK_SIZE = 64 << 10
"""Packs of about one chunk: a file's chunks spread over many packs."""


def chunk_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk files of 256 KiB and more into ~64 KiB chunks, in small packs (read at call
    time: set before the registry is opened)."""
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", str(THRESHOLD))
    monkeypatch.setenv("DATAVER_CHUNK_SIZE", str(CHUNK_SIZE))
    monkeypatch.setenv("DATAVER_PACK_SIZE", str(PACK_SIZE))


def generations() -> list[dict[str, bytes]]:
    """A dataset in three generations: ``big.bin`` edited in the middle (child), then grown
    at its start (grandchild); a chunked text file; a chunked file that never changes; one
    that holds the same chunk many times; and small packed files."""
    rnd = random.Random(22)
    big1 = rnd.randbytes(3 << 20)
    lines = (f"line {i:06d} {'é' if i % 7 == 0 else 'x'} {rnd.random()}\n" for i in range(30_000))
    text = "".join(lines).encode()
    first = {
        "big.bin": big1,
        "text/log.txt": text,
        "same.bin": rnd.randbytes(400 << 10),
        "zeros.bin": bytes(2 << 20) + rnd.randbytes(100_000),  # NOTE: one chunk, many times
        "small/a.txt": b"a",
        "small/b.csv": b"x,y\n1,2\n",
    }
    big2 = big1[: 1 << 20] + rnd.randbytes(100_000) + big1[(1 << 20) + 100_000 :]
    second = {**first, "big.bin": big2}
    third = {**second, "big.bin": rnd.randbytes(5_000) + big2, "text/log.txt": text + b"tail\n"}
    return [first, second, third]


@dataclass
class Built:
    """The versions built, oldest first, and each one's files."""

    versions: list[dataver.Dataset]
    files: list[dict[str, bytes]]


def build(registry: dataver.Registry, root: Path, name: str = "chunked") -> Built:
    """Parent, child, grandchild of :func:`generations` in ``registry``."""
    built = Built([], [])
    for at, files in enumerate(generations()):
        folder = root / f"gen-{at}"
        for rel, data in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        parents: list[str | dataver.Dataset] | None = (
            [built.versions[-1]] if built.versions else None
        )
        ds = registry.create(name, parents=parents)
        ds.add_files(folder)
        ds.finalize(auto_upload=True)
        built.versions.append(ds)
        built.files.append(files)
    return built


def chunks_of(registry: dataver.Registry, ds: dataver.Dataset, path: str) -> list[Piece]:
    """The chunks of one chunked file of a version, in file order."""
    entry = ds.content().get(path)
    assert entry is not None
    assert entry.is_chunked, entry
    return list(pieces(recipe.chunks(registry.store, recipe.read(registry.store, entry))))


@dataclass
class Reads:
    """Every ranged read of a store: ``(key, start, length)``."""

    calls: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def content_bytes(self) -> int:
        """Bytes read from packs and objects."""
        return sum(n for key, _, n in self.calls if key.startswith(("packs/", "objects/")))

    def clear(self) -> None:
        self.calls.clear()


def count_reads(registry: dataver.Registry, monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Record the ranged reads of the registry's (real) store from now on."""
    store = registry.store
    reads = Reads()
    inner: Callable[[str, int, int], bytes] = store.read_range

    def read_range(key: str, start: int, length: int) -> bytes:
        reads.calls.append((key, start, length))
        return inner(key, start, length)

    monkeypatch.setattr(store, "read_range", read_range)
    return reads
