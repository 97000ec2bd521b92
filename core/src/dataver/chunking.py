"""Cutting a large file into content-defined chunks (FastCDC 2020, by ``pyfastcdc``).

A cut point depends only on the bytes just before it, so an insertion, deletion or
overwrite moves the cut points around it and nowhere else: every other chunk of the file is
the same as in the previous version and is not stored again. ``pyfastcdc`` runs the loop in
Cython at ~2 GB/s here (docs/decisions.md, "Content-defined chunks").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from dataver.settings import Settings

_READ = 4 << 20


class Params(NamedTuple):
    """How a file is cut: FastCDC's minimum, average and maximum chunk sizes (bytes)."""

    min_size: int
    avg_size: int
    max_size: int

    def describe(self) -> dict[str, Any]:
        """The parameters as a recipe records them (for people; readers do not need them)."""
        return {"name": "fastcdc2020", **self._asdict()}


def params(settings: Settings) -> Params:
    """The chunk sizes in force: ``chunk_size`` as FastCDC's average, a quarter of it as
    the minimum and four times it as the maximum."""
    return Params(settings.chunk_size // 4, settings.chunk_size, settings.chunk_size * 4)


def is_chunked(size: int, settings: Settings) -> bool:
    """Whether a file of ``size`` bytes is stored as chunks."""
    return 0 < settings.chunk_threshold <= size


def cut(path: Path, sizes: Params) -> Iterator[memoryview]:
    """The chunks of the file at ``path``, in order.

    Each view is valid only until the next one is produced (the file is read in 4 MiB
    blocks, never whole): hash it or copy it before asking for the next.
    """
    from pyfastcdc import FastCDC

    chunker = FastCDC(sizes.avg_size, min_size=sizes.min_size, max_size=sizes.max_size)
    with open(path, "rb", buffering=0) as stream:
        for chunk in chunker.cut_stream(_Blocks(stream)):
            yield chunk.data


class _Blocks:
    """A reader that fills the chunker's buffer in large reads (fewer system calls)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readinto(self, buffer: memoryview) -> int:
        done = 0
        view = memoryview(buffer)
        while done < len(view):
            got = self._stream.readinto(view[done : done + _READ])
            if not got:
                break
            done += got
        return done
