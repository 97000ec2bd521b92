"""Check a whole registry: every record, name, claim, manifest and referenced byte range.

``fsck`` reads; it never changes anything unless asked to repair, and then it makes only
fixes that cannot lose data: it aborts Uploading versions whose writer stopped renewing its
lease, and removes leftovers that nothing can use (a claim or dataset record a killed
``create`` never finished, a name pointer that no longer matches its dataset, the upload
journal of a version that left Uploading, a local temporary file). Damage — a record that
does not parse, a manifest or content object that is missing or of the wrong size — is
reported and left for a human: deleting it would hide the loss.

A record or pointer with a value dataver never writes (``../`` in a dataset id, a manifest
address that is no SHA-256, ...; see :mod:`dataver.versions.wellformed`) is a
``hostile-record``: fsck follows none of its values, so it can neither stop the check nor
steer it outside the registry, and goes on with everything else. ``repair`` moves such an
object (with the claims that point at it) to ``quarantine/``, out of reach of list, get and
gc, and deletes nothing: the copy and a note of why are kept for a human.

Leftovers younger than the grace period are not problems: they may belong to a writer that
is still working (a ``create`` between its claim and its record), so they are listed as
``in_progress`` and left alone.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataver.errors import ConflictError, FormatError, NotFoundError, ValidationError
from dataver.layout import (
    claim_key,
    journal_prefix,
    manifest_key,
    name_key,
    object_key,
    pack_key,
    record_key,
)
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    decode_changes,
    decode_root,
    decode_shard,
)
from dataver.manifest.reader import read_object
from dataver.objects.upload import clear_journal
from dataver.ops.transition import end_record, is_stale
from dataver.storage.base import ObjectInfo
from dataver.storage.local import LocalStore
from dataver.versions import repo
from dataver.versions.records import DatasetRecord, Pointer, VersionRecord, utcnow
from dataver.versions.state import READABLE, State
from dataver.versions.wellformed import describe, is_id, not_an_id, unsafe_fields

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store

ERROR = "error"
"""Damage: something a version needs is missing or wrong. Never repaired automatically."""
LEFTOVER = "leftover"
"""Harmless debris of an interrupted writer; ``repair`` removes it safely."""
HOSTILE = "hostile-record"
"""An ``error`` that ``repair`` fixes: the object is moved to :data:`QUARANTINE`, not deleted."""
QUARANTINE = "quarantine/"
"""Where ``repair`` moves hostile objects: ``quarantine/<stamp>-<random>/<original key>``,
beside a ``why.json`` note (see docs/storage-format.md)."""

_REPAIR_NOTE = "aborted by fsck --repair: its writer stopped renewing its lease"


@dataclass(frozen=True)
class FsckProblem:
    """One thing ``fsck`` found wrong.

    Attributes:
        kind: What is wrong, e.g. ``stale-version``, ``orphan-claim``, ``missing-content``.
        severity: ``error`` (damage) or ``leftover`` (safe to repair).
        key: The storage key concerned (a folder ends with ``/``).
        message: One sentence a person can act on.
        version_id: The version concerned, if any.
    """

    kind: str
    severity: str
    key: str
    message: str
    version_id: str | None = None

    @property
    def repairable(self) -> bool:
        """Whether ``fsck --repair`` fixes it: leftovers, and hostile records (quarantined)."""
        return self.severity == LEFTOVER or self.kind == HOSTILE

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the ``--json`` shape of a problem)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "key": self.key,
            "message": self.message,
            "version_id": self.version_id,
            "repairable": self.repairable,
        }


@dataclass(frozen=True)
class FsckReport:
    """What ``fsck`` checked and found.

    Attributes:
        url: The registry checked.
        datasets: Dataset records read.
        versions: Version records read.
        manifests: Manifest objects (roots and shards) decoded and validated.
        entries: Manifest entries checked.
        content: Packs and objects referenced and found.
        problems: What is still wrong (after repair, if repair ran).
        repaired: What repair fixed (empty without repair).
        in_progress: Uploading versions with a live lease, and leftovers younger than the
            grace period: not problems, they may belong to a writer still at work.
    """

    url: str
    datasets: int
    versions: int
    manifests: int
    entries: int
    content: int
    problems: tuple[FsckProblem, ...]
    repaired: tuple[FsckProblem, ...] = ()
    in_progress: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No problem remains."""
        return not self.problems

    @property
    def errors(self) -> tuple[FsckProblem, ...]:
        """The problems that are damage (severity ``error``; only hostile records repairable)."""
        return tuple(p for p in self.problems if p.severity == ERROR)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the ``dataver fsck --json`` document)."""
        return {
            "url": self.url,
            "ok": self.ok,
            "datasets": self.datasets,
            "versions": self.versions,
            "manifests": self.manifests,
            "entries": self.entries,
            "content": self.content,
            "problems": [p.as_dict() for p in self.problems],
            "repaired": [p.as_dict() for p in self.repaired],
            "in_progress": list(self.in_progress),
        }


def fsck(
    backend: Backend, *, repair: bool = False, grace_seconds: float | None = None
) -> FsckReport:
    """Check the registry; with ``repair``, apply the safe fixes and check again.

    Args:
        backend: The registry's backend.
        repair: Abort stale Uploading versions, remove leftovers and quarantine hostile
            records (nothing else).
        grace_seconds: Leftovers younger than this are left alone as possibly in progress
            (default ``DATAVER_GC_GRACE_SECONDS``).

    Returns:
        The :class:`FsckReport`; after a repair, ``problems`` is what a fresh check found.
    """
    grace = backend.settings.gc_grace_seconds if grace_seconds is None else grace_seconds
    checker = _Checker(backend.store, grace)
    first = checker.run()
    if not repair:
        return first
    done = (_repair(backend, p, checker) for p in first.problems if p.repairable)
    fixed = tuple(p for p in done if p is not None)
    if not fixed:
        return first
    again = _Checker(backend.store, grace).run()
    return FsckReport(
        url=again.url,
        datasets=again.datasets,
        versions=again.versions,
        manifests=again.manifests,
        entries=again.entries,
        content=again.content,
        problems=again.problems,
        repaired=fixed,
        in_progress=again.in_progress,
    )


# ------------------------------------------------------------------------------ checking


@dataclass
class _Suspect:
    """A hostile object as the check saw it: ``repair`` moves it only if it is unchanged."""

    token: str
    version_id: str | None = None
    claims: list[tuple[str, str]] = field(default_factory=list)
    """(key, token) of the version-string claims that point at this version."""


class _Checker:
    """One pass over the registry, collecting problems."""

    def __init__(self, store: Store, grace: float) -> None:
        self.store = store
        self.cutoff = time.time() - grace
        self.problems: list[FsckProblem] = []
        self.in_progress: list[str] = []
        self.sizes: dict[str, int | None] = {}
        self.manifests: dict[str, list[FsckProblem]] = {}
        self.entries = 0
        self.content: set[str] = set()
        self.unreadable: set[str] = set()
        """Ids whose record exists but does not parse: their claims are not orphans."""
        self.suspects: dict[str, _Suspect] = {}
        """Hostile objects by key, for ``repair``."""
        self.hostile: dict[str, str] = {}
        """Version id -> key of its hostile record: its claims go to quarantine with it."""
        self.tokens: dict[str, str] = {}
        self.tombstones: set[str] = set()
        """Ids of deleted versions whose record is still there: their claims are theirs."""

    def run(self) -> FsckReport:
        self.sizes = {i.key: i.size for p in ("packs/", "objects/") for i in self.store.list(p)}
        datasets = self._datasets()
        records = self._records()
        self._names(datasets)
        self._claims(records)
        for record in list(records.values()):
            try:
                self._version(record, datasets, records)
            except ValidationError as exc:
                # NOTE: the fields were checked, so this cannot happen today; if a value
                # reached through the record is ever refused, report it and go on rather
                # than stop the whole check at one bad record.
                key = record_key(record.id)
                self._hostile(key, self.tokens[record.id], f"checking it led to: {exc}", record.id)
        self._journals(records)
        self._temp_files()
        return FsckReport(
            url=self.store.url,
            datasets=len(datasets),
            versions=len(records),
            manifests=len(self.manifests),
            entries=self.entries,
            content=len(self.content),
            problems=tuple(self.problems),
            in_progress=tuple(self.in_progress),
        )

    def _add(self, kind: str, key: str, message: str, version_id: str | None = None) -> None:
        self.problems.append(FsckProblem(kind, ERROR, key, message, version_id))

    def _hostile(self, key: str, token: str, message: str, version_id: str | None = None) -> None:
        """Report an object whose values dataver never writes; follow none of them."""
        self.suspects[key] = _Suspect(token, version_id)
        if version_id is not None:
            self.hostile[version_id] = key
        self.problems.append(FsckProblem(HOSTILE, ERROR, key, message, version_id))

    def _leftover(self, info: ObjectInfo, kind: str, message: str, vid: str | None = None) -> None:
        if info.mtime > self.cutoff:
            # NOTE: a writer may be between two steps right now (claim taken, record not yet
            # written): only an old leftover is certainly abandoned.
            self.in_progress.append(info.key)
            return
        self.problems.append(FsckProblem(kind, LEFTOVER, info.key, message, vid))

    # -------------------------------------------------------------- datasets and names
    def _datasets(self) -> dict[str, tuple[DatasetRecord, ObjectInfo]]:
        out: dict[str, tuple[DatasetRecord, ObjectInfo]] = {}
        for info in self.store.list("datasets/"):
            if not info.key.endswith("/dataset.json"):
                continue
            folder = info.key[len("datasets/") : -len("/dataset.json")]
            try:
                record = DatasetRecord.from_bytes(self.store.read(info.key))
            except NotFoundError:
                continue
            except FormatError as exc:
                self._add("unreadable-dataset", info.key, f"dataset record does not parse: {exc}")
                continue
            if record.id != folder:
                self._add(
                    "unreadable-dataset",
                    info.key,
                    f"dataset record in folder {folder!r} claims to be dataset {record.id!r}",
                )
                continue
            out[record.id] = (record, info)
        return out

    def _names(self, datasets: dict[str, tuple[DatasetRecord, ObjectInfo]]) -> None:
        named: set[str] = set()
        for info in self.store.list("names/"):
            try:
                data, token = self.store.read_with_token(info.key)
                pointer = Pointer.from_bytes(data)
            except NotFoundError:
                continue
            except FormatError as exc:
                self._add("unreadable-name", info.key, f"name pointer does not parse: {exc}")
                continue
            if not is_id(pointer.target):
                # NOTE: get(name=...) reads datasets/<target>/dataset.json: a target such as
                # ../x must not be followed, and a pointer dataver never wrote is kept as
                # evidence (quarantined), not deleted as a stale leftover.
                why = not_an_id(pointer.target)
                message = f"name pointer holds a value dataver never writes: target {why}"
                self._hostile(info.key, token, message)
                continue
            found = datasets.get(pointer.target)
            if found is None or name_key(found[0].project, found[0].name) != info.key:
                # NOTE: an interrupted rename or a lost create-race leaves this; the dataset
                # record is the truth, so the pointer is dead weight.
                self._leftover(
                    info,
                    "stale-name",
                    f"name pointer to dataset {pointer.target} does not match that dataset",
                )
                continue
            named.add(pointer.target)
        for dataset_id, (record, info) in datasets.items():
            if dataset_id not in named:
                self._unnamed(record, info)

    def _unnamed(self, record: DatasetRecord, info: ObjectInfo) -> None:
        if any(True for _ in self.store.list(f"datasets/{record.id}/versions/")):
            self._add(
                "unnamed-dataset",
                info.key,
                f"dataset {record.project}/{record.name} has versions but no name pointer",
            )
            return
        self._leftover(
            info,
            "orphan-dataset",
            f"dataset record {record.project}/{record.name} without a name or versions "
            "(an interrupted create)",
        )

    # ----------------------------------------------------------------- version records
    def _records(self) -> dict[str, VersionRecord]:
        out: dict[str, VersionRecord] = {}
        for info in self.store.list("versions/"):
            stem = info.key[len("versions/") :].removesuffix(".json")
            try:
                record, token = repo.load(self.store, stem, deleted=True)
            except NotFoundError as exc:
                if self.store.exists(info.key):
                    self._add("unreadable-record", info.key, f"not a version record key: {exc}")
                continue
            except FormatError as exc:
                self._add("unreadable-record", info.key, f"version record is damaged: {exc}", stem)
                self.unreadable.add(stem)
                continue
            unsafe = unsafe_fields(record)
            if unsafe:
                # NOTE: its claim key, manifest keys and parent keys are built from these
                # fields: none of them is used, so the rest of the check cannot be stopped
                # (UnsafePathError) or steered elsewhere in the bucket by them.
                message = f"version record holds values dataver never writes: {describe(unsafe)}"
                self._hostile(info.key, token, message, record.id)
                continue
            if record.state is State.DELETED:
                # NOTE: a delete removes its tombstone right after writing it: an old one
                # is a delete that died in between (its claim goes with it on repair).
                self.tombstones.add(record.id)
                message = "a deleted version's record was not removed (its delete was interrupted)"
                self._leftover(info, "tombstone", message, record.id)
                continue
            self.tokens[record.id] = token
            out[record.id] = record
        return out

    def _claims(self, records: dict[str, VersionRecord]) -> None:
        for info in self.store.list("datasets/"):
            if "/versions/" not in info.key:
                continue
            try:
                data, token = self.store.read_with_token(info.key)
                pointer = Pointer.from_bytes(data)
            except NotFoundError:
                continue
            except FormatError as exc:
                self._add("unreadable-claim", info.key, f"version claim does not parse: {exc}")
                continue
            if pointer.target in self.tombstones:
                continue  # NOTE: released with its tombstone (see "tombstone")
            if pointer.target in self.hostile:
                # NOTE: the claim is the record's own (its version string stays taken):
                # it goes to quarantine with the record, never alone.
                self.suspects[self.hostile[pointer.target]].claims.append((info.key, token))
                continue
            if not is_id(pointer.target):
                why = not_an_id(pointer.target)
                message = f"version claim holds a value dataver never writes: target {why}"
                self._hostile(info.key, token, message)
                continue
            record = records.get(pointer.target)
            if pointer.target in self.unreadable:
                continue  # NOTE: the record is damaged, not gone: deleting its claim would hide it
            if record is None:
                # NOTE: create takes the claim before it writes the record; delete removes
                # the record before the claim. A kill between the two leaves this.
                self._leftover(info, "orphan-claim", f"claim for missing version {pointer.target}")
            elif claim_key(record.dataset_id, record.version) != info.key:
                self._add(
                    "wrong-claim",
                    info.key,
                    f"claim points at version {record.id}, which is "
                    f"{record.version} of dataset {record.dataset_id}",
                    record.id,
                )

    def _version(
        self,
        record: VersionRecord,
        datasets: dict[str, tuple[DatasetRecord, ObjectInfo]],
        records: dict[str, VersionRecord],
    ) -> None:
        key, vid = record_key(record.id), record.id
        if record.dataset_id not in datasets:
            self._add("missing-dataset", key, f"dataset {record.dataset_id} is missing", vid)
        self._claim_of(record)
        if record.state in (State.UPLOADING, *READABLE):
            for parent in record.parents:
                found = records.get(parent)
                if found is None or found.state not in READABLE:
                    what = found.state.value if found is not None else self._absent(parent)
                    self._add("bad-parent", key, f"parent {parent} is {what}", vid)
        if record.state is State.UPLOADING:
            if is_stale(record):
                self.problems.append(
                    FsckProblem(
                        "stale-version",
                        LEFTOVER,
                        key,
                        f"uploading, but its writer stopped renewing its lease "
                        f"(expired {record.lease.expires_at.isoformat() if record.lease else '?'})",
                        vid,
                    )
                )
            else:
                self.in_progress.append(key)
        for ref in dict.fromkeys([record.manifest, record.base_manifest]):
            if ref is not None:
                self._manifest(ref, record)
        if record.staged is not None:
            self._staged(record.staged, record)

    def _absent(self, version_id: str) -> str:
        if version_id in self.hostile:
            return "a hostile record (see hostile-record)"
        return "unreadable" if version_id in self.unreadable else "missing"

    def _claim_of(self, record: VersionRecord) -> None:
        key = claim_key(record.dataset_id, record.version)
        try:
            target = Pointer.from_bytes(self.store.read(key)).target
        except NotFoundError:
            target = None
        except FormatError:
            return  # NOTE: reported by _claims
        if target != record.id:
            self._add(
                "missing-claim",
                record_key(record.id),
                f"version string {record.version} is not claimed by this version "
                f"(claim: {target or 'none'})",
                record.id,
            )

    # ---------------------------------------------------------------------- manifests
    def _manifest(self, ref: str, record: VersionRecord) -> None:
        root = self._root(ref, record)
        if root is None:
            return
        if record.state in READABLE and root.pending:
            self._add(
                "pending-in-final",
                manifest_key(ref),
                f"{record.state.value} version has {root.pending} files never uploaded",
                record.id,
            )
        for shard in root.shards:
            self._shard(shard, record)

    def _root(self, ref: str, record: VersionRecord) -> ManifestRoot | None:
        try:
            root = decode_root(read_object(self.store, ref), ref)
        except NotFoundError:
            self._once(ref, "missing-manifest", f"manifest root {ref} is missing", record.id)
            return None
        except FormatError as exc:
            self._once(ref, "corrupt-manifest", str(exc), record.id)
            return None
        self.manifests.setdefault(ref, [])
        if root.hash_algorithm != record.hash_algorithm:
            self._add(
                "corrupt-manifest",
                manifest_key(ref),
                f"manifest uses {root.hash_algorithm}, the record says {record.hash_algorithm}",
                record.id,
            )
        return root

    def _staged(self, ref: str, record: VersionRecord) -> None:
        """Staged changes: never in a Final or Published version, and they must decode.

        NOTE: an Aborted or Failed version keeps the changes it had staged (a record of what
        it was building); only finalizing applies them.
        """
        if record.state in READABLE:
            self._add(
                "staged-in-final",
                record_key(record.id),
                f"{record.state.value} version still names staged changes {ref}",
                record.id,
            )
        try:
            entries, _ = decode_changes(read_object(self.store, ref), ref)
        except NotFoundError:
            self._once(ref, "missing-manifest", f"staged changes {ref} are missing", record.id)
            return
        except FormatError as exc:
            self._once(ref, "corrupt-manifest", str(exc), record.id)
            return
        self.manifests.setdefault(ref, [])
        self.entries += len(entries)

    def _once(self, ref: str, kind: str, message: str, version_id: str) -> None:
        # NOTE: a shared shard is checked once; every version using a damaged one is named.
        if ref not in self.manifests:
            self.manifests[ref] = [FsckProblem(kind, ERROR, manifest_key(ref), message)]
        for problem in self.manifests[ref]:
            self._add(problem.kind, problem.key, problem.message, version_id)

    def _shard(self, shard: ShardRef, record: VersionRecord) -> None:
        ref = shard.hash
        if ref in self.manifests:
            for problem in self.manifests[ref]:
                self._add(problem.kind, problem.key, problem.message, record.id)
            return
        found: list[FsckProblem] = []
        try:
            entries = decode_shard(read_object(self.store, ref), ref, shard.count)
        except NotFoundError:
            found.append(FsckProblem("missing-manifest", ERROR, manifest_key(ref), "shard missing"))
            entries = []
        except FormatError as exc:
            found.append(FsckProblem("corrupt-manifest", ERROR, manifest_key(ref), str(exc)))
            entries = []
        else:
            pending = sum(e.is_pending for e in entries)
            outside = bool(entries) and (
                entries[0].path < shard.first or entries[-1].path > shard.last
            )
            if outside or len(entries) != shard.count or pending != shard.pending:
                found.append(
                    FsckProblem(
                        "corrupt-manifest",
                        ERROR,
                        manifest_key(ref),
                        f"shard holds {len(entries)} entries ({pending} pending) from "
                        f"{entries[0].path if entries else ''!r}, the root says {shard.count} "
                        f"({shard.pending} pending) from {shard.first!r} to {shard.last!r}",
                    )
                )
            found.extend(self._content(entries, ref))
        self.entries += len(entries)
        self.manifests[ref] = found
        for problem in found:
            self._add(problem.kind, problem.key, problem.message, record.id)

    def _content(self, entries: Iterable[Entry], ref: str) -> list[FsckProblem]:
        missing: dict[str, list[str]] = {}
        short: dict[str, list[str]] = {}
        for entry in entries:
            if entry.url is not None or entry.source is not None:
                continue
            key = pack_key(entry.pack) if entry.pack else object_key(entry.hash or "")
            need = entry.offset + entry.size if entry.pack else entry.size
            have = self._size(key)
            if have is None:
                missing.setdefault(key, []).append(entry.path)
            elif (have < need) if entry.pack else (have != need):
                short.setdefault(key, []).append(entry.path)
            else:
                self.content.add(key)
        out = [
            FsckProblem(
                "missing-content",
                ERROR,
                key,
                f"{len(paths)} files of manifest shard {ref} live here, but it is missing "
                f"(first: {paths[0]})",
            )
            for key, paths in missing.items()
        ]
        out += [
            FsckProblem(
                "wrong-size",
                ERROR,
                key,
                f"too short or too long for {len(paths)} files of manifest shard {ref} "
                f"(first: {paths[0]})",
            )
            for key, paths in short.items()
        ]
        return out

    def _size(self, key: str) -> int | None:
        if key not in self.sizes:
            # NOTE: content is listed before records are read: a writer may have stored this
            # since. Look again before calling it missing.
            try:
                self.sizes[key] = self.store.size(key)
            except NotFoundError:
                self.sizes[key] = None
        return self.sizes[key]

    # ------------------------------------------------------------------ leftovers
    def _journals(self, records: dict[str, VersionRecord]) -> None:
        seen: dict[str, ObjectInfo] = {}
        for info in self.store.list("staging/"):
            version_id = info.key[len("staging/") :].split("/", 1)[0]
            if version_id not in seen or info.mtime > seen[version_id].mtime:
                seen[version_id] = info
        for version_id, newest in seen.items():
            record = records.get(version_id)
            if record is not None and record.state is State.UPLOADING:
                continue
            if version_id in self.hostile or version_id in self.unreadable:
                continue  # NOTE: its record exists but cannot be trusted: not provably done
            what = "deleted" if record is None else record.state.value
            folder = journal_prefix(version_id)
            self._leftover(
                newest._replace(key=folder),
                "leftover-journal",
                f"upload journal of a {what} version",
                version_id,
            )

    def _temp_files(self) -> None:
        if not isinstance(self.store, LocalStore) or not self.store.root.is_dir():
            return
        root = self.store.root
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".locks"]
            for name in filenames:
                if not (name.startswith(".") and name.endswith(".tmp")):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    mtime = os.stat(path).st_mtime
                except FileNotFoundError:
                    continue
                key = os.path.relpath(path, root).replace(os.sep, "/")
                info = _info(key, mtime)
                self._leftover(info, "temp-file", "temporary file of an interrupted write")


def _info(key: str, mtime: float) -> ObjectInfo:
    return ObjectInfo(key, 0, mtime)


# ------------------------------------------------------------------------------- repair


def _repair(backend: Backend, problem: FsckProblem, checker: _Checker) -> FsckProblem | None:
    """Apply the safe fix for one problem; return it as fixed, or None if nothing was done."""
    store = backend.store
    if problem.kind == HOSTILE:
        suspect = checker.suspects.get(problem.key)
        folder = None if suspect is None else _quarantine(store, problem, suspect)
        if folder is None:
            return None
        note = f"{problem.message}; moved to {folder}"
        return FsckProblem(problem.kind, problem.severity, problem.key, note, problem.version_id)
    if problem.kind == "stale-version" and problem.version_id is not None:
        return problem if _abort_stale(backend, problem.version_id) else None
    if problem.kind == "tombstone" and problem.version_id is not None:
        return problem if _purge_tombstone(backend, problem.version_id) else None
    if problem.kind == "leftover-journal" and problem.version_id is not None:
        clear_journal(store, problem.version_id)
        return problem
    if problem.kind == "temp-file" and isinstance(store, LocalStore):
        (store.root / problem.key).unlink(missing_ok=True)
        return problem
    if problem.kind in ("orphan-claim", "orphan-dataset", "stale-name"):
        store.delete(problem.key)
        return problem
    return None


def _quarantine(store: Store, problem: FsckProblem, suspect: _Suspect) -> str | None:
    """Move a hostile object (and the claims naming it) to a new ``quarantine/`` folder.

    Copies first, then removes each original only if it still holds the bytes the check
    judged (compare-and-swap): a record fixed or replaced since is left for the next check.
    Nothing is deleted for good; the folder's ``why.json`` says what was moved, why and when.

    Returns:
        The folder the object now lives in, or None if it changed or vanished meanwhile.
    """
    moving = _unchanged(store, [(problem.key, suspect.token)])
    if not moving:
        return None
    # NOTE: a claim that changed since the check is no longer this record's: left alone.
    moving += _unchanged(store, suspect.claims)
    now = utcnow()
    # NOTE: a folder per quarantine, never an overwrite: a key quarantined twice (restored,
    # then forged again) keeps both copies as evidence.
    folder = f"{QUARANTINE}{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}/"
    note = {
        "format": 1,
        "kind": "dataver.quarantine",
        "quarantined_at": now.isoformat(),
        "by": "dataver fsck --repair",
        "problem": problem.kind,
        "reason": problem.message,
        "version_id": problem.version_id,
        "keys": [key for key, _, _ in moving],
    }
    for key, data, _ in moving:
        store.write(folder + key, data)
    store.write(folder + "why.json", json.dumps(note, indent=1).encode())
    try:
        store.delete_if(problem.key, suspect.token)
    except ConflictError:
        # NOTE: rewritten between our read and the delete: the copy is not what is there
        # any more, so drop it (the folder is ours alone) and let the next check judge.
        for key in [*(k for k, _, _ in moving), "why.json"]:
            store.delete(folder + key)
        return None
    for key, _, token in moving[1:]:
        try:
            store.delete_if(key, token)
        except ConflictError:
            continue  # NOTE: the copy stays as evidence; the next check judges the claim
    return folder


def _unchanged(store: Store, keys: list[tuple[str, str]]) -> list[tuple[str, bytes, str]]:
    """(key, bytes, token) of each key that still holds what its token was read with."""
    out: list[tuple[str, bytes, str]] = []
    for key, token in keys:
        try:
            data, now = store.read_with_token(key)
        except NotFoundError:
            continue
        if now == token:
            out.append((key, data, token))
    return out


def _purge_tombstone(backend: Backend, version_id: str) -> bool:
    try:
        record, token = repo.load(backend.store, version_id, deleted=True)
    except NotFoundError:
        return False
    if record.state is not State.DELETED:
        return False
    try:
        repo.purge(backend.store, record, token)
    except ConflictError:
        return False
    clear_journal(backend.store, version_id)
    return True


def _abort_stale(backend: Backend, version_id: str) -> bool:
    try:
        record, token = repo.load(backend.store, version_id)
    except NotFoundError:
        return False
    if not is_stale(record):
        return False  # NOTE: its writer came back since the check
    expired = record.lease.expires_at.isoformat() if record.lease else "?"
    ended = end_record(record, State.ABORTED, f"{_REPAIR_NOTE} (expired {expired})")
    try:
        repo.save(backend.store, ended, token)
    except ConflictError:
        return False  # NOTE: the writer renewed or ended it meanwhile: it is not stale
    clear_journal(backend.store, version_id)
    return True
