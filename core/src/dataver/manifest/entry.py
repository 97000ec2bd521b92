"""One manifest entry: a path, its size and hash, and where its bytes live."""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """A file of a version (immutable).

    At most one location is set: ``pack`` (+ ``offset``), ``url`` (an external link),
    ``source`` (a local file not uploaded yet), or ``chunks`` (the address of the file's
    chunk list: content-defined chunks stored in packs). None of them means a single object
    at ``objects/<hash>``.
    """

    path: str
    size: int
    hash: str | None
    pack: str | None = None
    offset: int = 0
    url: str | None = None
    source: str | None = None
    chunks: str | None = None

    @property
    def is_pending(self) -> bool:
        """Content still only on the writer's disk."""
        return self.source is not None

    @property
    def is_chunked(self) -> bool:
        """Stored as content-defined chunks (see :mod:`dataver.manifest.recipe`)."""
        return self.chunks is not None

    @property
    def is_link(self) -> bool:
        """An external link: bytes stay where they are."""
        return self.url is not None

    def same_content(self, other: Entry) -> bool:
        """Whether two entries hold the same bytes (locations aside)."""
        if self.is_link or other.is_link:
            return (self.url, self.size, self.hash) == (other.url, other.size, other.hash)
        return self.hash == other.hash and self.size == other.size

    def content_key(self) -> tuple[str | None, int, str | None]:
        """A key equal for entries with the same content, for rename detection."""
        return (self.hash, self.size, self.url)
