"""ClearML's entry objects: one file or one external link of a version, with ClearML's field
names (``relative_path``, ``hash``, ``parent_dataset_id``, ...)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileEntry:
    """A file stored in the registry.

    Attributes:
        relative_path: Its path inside the dataset.
        hash: Its content hash, in the registry's algorithm (BLAKE3 unless the registry
            was made with ``DATAVER_HASH_ALGORITHM=sha256``; ClearML's is always SHA-256).
        parent_dataset_id: The version that introduced this content at this path.
        size: Its size in bytes.
        artifact_name: Where the bytes are stored in the registry (a pack, an object or a
            chunk list), or None while they are not uploaded.
        local_path: The local file while it is not uploaded, else None.
    """

    relative_path: str | None = None
    hash: str | None = None
    parent_dataset_id: str | None = None
    size: int | None = None
    artifact_name: str | None = None
    local_path: str | None = None


@dataclass(frozen=True)
class LinkEntry:
    """An external link: the bytes stay at ``link``; the version keeps their size (and hash
    where known), and checks them when it fetches them."""

    link: str | None = None
    relative_path: str | None = None
    parent_dataset_id: str | None = None
    size: int | None = None
    hash: str | None = None
