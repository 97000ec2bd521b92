"""Is a stored record in the form dataver writes? The fields that become storage keys, checked.

Whoever can write to the bucket can forge a record. Its ``dataset_id`` and ``version`` name
its claim (``datasets/<dataset_id>/versions/<version>.json``), its ``manifest``,
``base_manifest`` and ``staged`` name manifest objects, its ``parents`` name other records:
a value such as ``../../x`` would make a key outside the place it belongs (a local store
refuses it with ``UnsafePathError``; a bucket would just read another key). dataver only ever
writes random 32-hex ids, SHA-256 addresses and canonical semantic versions, so anything
else was not written by dataver and is not followed: ``fsck`` reports such a record as
``hostile-record`` (and quarantines it with ``--repair``), ``gc`` refuses to run past it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dataver.errors import ValidationError
from dataver.versions import semver

if TYPE_CHECKING:
    from dataver.versions.records import VersionRecord

_ID = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
DIGEST_FIELDS = ("manifest", "base_manifest", "staged")
"""Record fields holding the address of a manifest object (or None)."""


def is_id(value: object) -> bool:
    """Whether ``value`` is a version or dataset id as dataver makes them (32 lowercase hex)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def is_digest(value: object) -> bool:
    """Whether ``value`` is a manifest address (SHA-256, 64 lowercase hex)."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def unsafe_fields(record: VersionRecord) -> dict[str, str]:
    """The fields of ``record`` that dataver would never have written, each with why.

    Empty for every record dataver writes. ``id`` is included although :func:`repo.load`
    already refuses a record whose id differs from its key: gc and listings parse records
    without going through it.
    """
    out: dict[str, str] = {}
    for name in ("id", "dataset_id"):
        value = getattr(record, name)
        if not is_id(value):
            out[name] = not_an_id(value)
    problem = _version_problem(record.version)
    if problem is not None:
        out["version"] = problem
    bad_parents = [p for p in record.parents if not is_id(p)]
    if bad_parents:
        out["parents"] = f"{_show(bad_parents[0])} is not a version id"
    for name in DIGEST_FIELDS:
        value = getattr(record, name)
        if value is not None and not is_digest(value):
            out[name] = f"{_show(value)} is not a manifest address (64 lowercase hex characters)"
    return out


def not_an_id(value: object) -> str:
    """Why ``value`` is refused as an id (for a message)."""
    return f"{_show(value)} is not an id (32 lowercase hex characters)"


def describe(fields: dict[str, str]) -> str:
    """``unsafe_fields`` as one clause: ``dataset_id '../x' is not an id; version ...``."""
    return "; ".join(f"{name} {why}" for name, why in fields.items())


def _version_problem(version: str) -> str | None:
    try:
        canonical = semver.normalize(version)
    except ValidationError:
        return f"{_show(version)} is not a semantic version"
    if canonical != version:
        # NOTE: create stores the canonical text, and the claim is named by it: any other
        # spelling (spaces, "1.0", ...) was written by something else.
        return f"{_show(version)} is not the canonical form of a semantic version"
    return None


def _show(value: object) -> str:
    """``repr`` cut to a readable length: a forged field may be megabytes long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
