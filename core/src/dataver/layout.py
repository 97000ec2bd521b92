"""Where each kind of object lives inside a registry (see docs/storage-format.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

if TYPE_CHECKING:
    from dataver.manifest.entry import Entry

FORMAT: Literal[1] = 1
CHUNKED_FORMAT: Literal[2] = 2
"""Objects that name content-defined chunks (a shard or change set holding a chunked file,
a chunk list): a dataver that does not know chunks refuses them by their format."""
READABLE_FORMATS = (FORMAT, CHUNKED_FORMAT)
MARKER = "dataver.json"


def _fan(digest: str) -> str:
    return f"{digest[:2]}/{digest}"


def record_key(version_id: str) -> str:
    """The version record."""
    return f"versions/{version_id}.json"


def dataset_key(dataset_id: str) -> str:
    """The dataset record (project and name; renamed in place)."""
    return f"datasets/{dataset_id}/dataset.json"


def claims_prefix(dataset_id: str) -> str:
    """Folder of version-string claims of one dataset."""
    return f"datasets/{dataset_id}/versions/"


def claim_key(dataset_id: str, version: str) -> str:
    """The claim that makes a version string unique within its dataset."""
    return f"{claims_prefix(dataset_id)}{version}.json"


def name_key(project: str, name: str) -> str:
    """The pointer from (project, name) to the dataset id."""
    return f"names/{quote(project, safe='')}/{quote(name, safe='')}.json"


def manifest_key(digest: str) -> str:
    """A manifest root or shard (zstd JSON, named by the SHA-256 of its bytes)."""
    return f"manifests/{_fan(digest)}.json.zst"


def object_key(digest: str) -> str:
    """A file stored on its own (large files)."""
    return f"objects/{_fan(digest)}"


def pack_key(digest: str) -> str:
    """A pack: small files concatenated (named by the SHA-256 of its bytes)."""
    return f"packs/{_fan(digest)}"


def content_key(entry: Entry) -> str:
    """The object a stored entry's bytes start from: its pack, its chunk list (which names
    the packs of its chunks) or its own object. Not for links or pending entries."""
    if entry.pack:
        return pack_key(entry.pack)
    if entry.chunks:
        return manifest_key(entry.chunks)
    return object_key(entry.hash or "")


def journal_prefix(version_id: str) -> str:
    """Upload journal of an Uploading version: what is already stored, for resume."""
    return f"staging/{version_id}/"


def writers_prefix(version_id: str) -> str:
    """Folder of the writer records of an Uploading version built by many workers."""
    return f"writers/{version_id}/"


def writer_key(version_id: str, slot: str) -> str:
    """One writer's record: its lease and its committed contribution (``slot``: the hash
    of the writer's name, so any name makes a safe key)."""
    return f"{writers_prefix(version_id)}{slot}.json"


def writer_journal(version_id: str, slot: str) -> str:
    """The upload-journal id of one writer: inside its version's journal folder, so the
    version's gc marks, stored-bytes total and cleanup cover every writer's uploads."""
    return f"{version_id}/{slot}"
