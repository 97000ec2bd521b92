"""The small JSON records of a registry, as frozen pydantic models."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic import ValidationError as PydanticValidationError

from dataver.errors import FormatError, ValidationError
from dataver.layout import FORMAT
from dataver.versions.state import State

_NAME = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")
_PROJECT = re.compile(r"^[^\x00-\x1f\x7f\\]{1,200}$")
MAX_METADATA_BYTES = 256 * 1024
RESERVED_PREFIXES = ("dataver.", "_")
_M = TypeVar("_M", bound=BaseModel)


def utcnow() -> datetime:
    """Timezone-aware now, the only clock records use."""
    return datetime.now(timezone.utc)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stats(_Frozen):
    """What a version holds and what it cost to store."""

    files: int = 0
    logical_bytes: int = 0
    stored_bytes: int = 0
    added: int = 0
    modified: int = 0
    removed: int = 0
    renamed: int = 0
    links: int = 0


class Lease(_Frozen):
    """The writer of an Uploading version and when its claim runs out."""

    owner: str
    renewed_at: datetime
    expires_at: datetime


class VersionRecord(_Frozen):
    """The record of one dataset version (``versions/<id>.json``)."""

    format: Literal[1] = FORMAT
    kind: Literal["dataver.version"] = "dataver.version"
    id: str
    dataset_id: str
    version: str
    parents: tuple[str, ...] = ()
    state: State = State.UPLOADING
    created_at: datetime
    updated_at: datetime
    finalized_at: datetime | None = None
    published_at: datetime | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    provenance: dict[str, JsonValue] = Field(default_factory=dict)
    stats: Stats = Stats()
    error: str | None = None
    lease: Lease | None = None
    hash_algorithm: str = "blake3"
    manifest: str | None = None
    base_manifest: str | None = None
    staged: str | None = None
    """Uploading only: changes not yet applied to ``manifest`` (see dataver.manifest.staged)."""
    deleting: Lease | None = None
    """Set while a delete checks for children: no child may be created from this version
    until it expires (see dataver.ops.delete)."""
    closing: Lease | None = None
    """Set while finalize gathers the writers' contributions: no writer may start until it
    expires (see dataver.ops.gather)."""
    deleted_at: datetime | None = None
    """Set on a tombstone: the version is deleted and its record about to be removed; readers
    treat it as absent (see dataver.ops.delete)."""

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> VersionRecord:
        return _parse(cls, data)


class Contribution(_Frozen):
    """What one attempt of a writer committed to an Uploading version (see
    dataver.ops.contribute): its changes, as change sets in path order."""

    attempt: str
    changes: tuple[str, ...] = ()
    """Addresses of ``dataver.changes`` objects holding disjoint, ascending path ranges."""
    files: int = 0
    """Paths added or changed."""
    removed: int = 0
    bytes: int = 0
    """Bytes of the files added or changed."""
    stored_bytes: int = 0
    committed_at: datetime


class WriterRecord(_Frozen):
    """One writer of an Uploading version (``writers/<version-id>/<slot>.json``).

    Only that writer changes it (one compare-and-swap per start, renewal and commit), except
    finalize, which sets an attempt aside once its lease expired (``fenced_at``).
    """

    format: Literal[1] = FORMAT
    kind: Literal["dataver.writer"] = "dataver.writer"
    version_id: str
    name: str
    attempt: str | None = None
    """The attempt at work now (None: none is)."""
    lease: Lease | None = None
    committed: Contribution | None = None
    fenced_at: datetime | None = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> WriterRecord:
        return _parse(cls, data)


class DatasetRecord(_Frozen):
    """A dataset: a stable id with a project and a name (``datasets/<id>/dataset.json``)."""

    format: Literal[1] = FORMAT
    kind: Literal["dataver.dataset"] = "dataver.dataset"
    id: str
    project: str
    name: str
    created_at: datetime

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetRecord:
        return _parse(cls, data)


class Pointer(_Frozen):
    """A small pointer object: a name to a dataset, a version string to a version."""

    format: Literal[1] = FORMAT
    target: str

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Pointer:
        return _parse(cls, data)


def _parse(cls: type[_M], data: bytes) -> _M:
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"corrupt {cls.__name__}: not JSON ({exc})") from exc
    if isinstance(raw, dict) and raw.get("format", FORMAT) != FORMAT:
        raise FormatError(
            f"{cls.__name__} has format {raw.get('format')!r}; this dataver reads format {FORMAT}"
            " (upgrade dataver)",
            format=raw.get("format"),
        )
    try:
        return cls.model_validate(raw)
    except PydanticValidationError as exc:
        raise FormatError(f"invalid {cls.__name__}: {exc.errors()[0]['msg']}") from exc


def check_name(name: str, what: str = "name") -> str:
    """Validate a dataset name (no ``/``) or, with ``what='project'``, a project.

    Returns:
        The name in Unicode NFC, the form new datasets are stored under: ``é`` typed as one
        code point (U+00E9) or as ``e`` + U+0301 (as macOS file names and some keyboards
        give it) names one dataset, not two. Look names up with :func:`name_spellings`.
    """
    if isinstance(name, str):
        name = nfc(name)
    pattern = _PROJECT if what == "project" else _NAME
    # NOTE: a project may hold "/" ("team/vision"), but no "", "." or ".." part: keys and
    # URLs built from it would resolve outside its folder (names/../..., /datasets/../...).
    parts = name.split("/") if isinstance(name, str) else []
    if (
        not isinstance(name, str)
        or not pattern.match(name)
        or name.strip() != name
        or {"", ".", ".."} & set(parts)
    ):
        raise ValidationError(
            f"invalid {what} {name!r}: 1-200 characters, no control characters, no backslash, "
            "no leading/trailing spaces, not '.' or '..'"
            + (", no empty, '.' or '..' part between '/'" if what == "project" else ", no '/'"),
            value=name,
        )
    return name


def name_spellings(project: str, name: str) -> list[tuple[str, str]]:
    """The ``(project, name)`` spellings a stored dataset may have, to try in order.

    As given first (one read when it is stored that way), then NFC (how datasets are
    stored since names are normalized), then NFD and the mixed forms: registries written
    before that hold names as they were typed, and a name taken from a macOS file name is
    NFD. Each spelling appears once: a plain ASCII name is one spelling, one read.
    """
    out = [(project, name)]
    for project_form in ("NFC", "NFD"):
        for name_form in ("NFC", "NFD"):
            spelling = (
                unicodedata.normalize(project_form, project),
                unicodedata.normalize(name_form, name),
            )
            if spelling not in out:
                out.append(spelling)
    return out


def nfc(text: str) -> str:
    """``text`` in Unicode NFC, the form names are stored in (see :func:`check_name`)."""
    return unicodedata.normalize("NFC", text)


def same_name(stored: str, wanted: str) -> bool:
    """Whether a stored project or name is ``wanted`` (compared in NFC)."""
    return stored == wanted or nfc(stored) == nfc(wanted)


def check_tags(tags: Any) -> tuple[str, ...]:
    """Validate tags: non-empty strings of at most 128 characters; order kept, no duplicates."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > 128 or re.search(r"[\x00-\x1f]", tag):
            raise ValidationError(f"invalid tag {tag!r}: 1-128 printable characters", tag=tag)
        if tag not in out:
            out.append(tag)
    return tuple(out)


def check_metadata(metadata: Any) -> dict[str, JsonValue]:
    """Validate user metadata: a JSON object, string keys, not reserved, at most 256 KiB.

    Keys starting with ``dataver.`` or ``_`` are reserved for dataver itself.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    for key in metadata:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"metadata keys must be non-empty strings, got {key!r}")
        if key.startswith(RESERVED_PREFIXES):
            raise ValidationError(
                f"metadata key {key!r} is reserved (keys starting with "
                f"{' or '.join(RESERVED_PREFIXES)} belong to dataver)",
                key=key,
            )
    try:
        encoded = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from exc
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {len(encoded)} bytes; the limit is 256 KiB")
    parsed: dict[str, JsonValue] = json.loads(encoded)
    return parsed
