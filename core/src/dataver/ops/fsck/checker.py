"""One pass of ``fsck`` over the registry: records, names, claims, leftovers (manifests: see
:mod:`dataver.ops.fsck.manifests`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataver.errors import FormatError, NotFoundError, ValidationError
from dataver.layout import (
    claim_key,
    journal_prefix,
    name_key,
    record_key,
)
from dataver.ops.contribute import writers_at_work
from dataver.ops.fsck.manifests import ManifestChecks
from dataver.ops.fsck.report import ERROR, HOSTILE, LEFTOVER, FsckProblem, FsckReport
from dataver.ops.transition import is_stale
from dataver.storage.base import ObjectInfo
from dataver.versions import repo
from dataver.versions.records import DatasetRecord, Pointer, VersionRecord
from dataver.versions.state import READABLE, State
from dataver.versions.wellformed import describe, is_id, not_an_id, unsafe_fields

if TYPE_CHECKING:
    from dataver.storage.base import Store


@dataclass
class Suspect:
    """A hostile object as the check saw it: ``repair`` moves it only if it is unchanged."""

    token: str
    version_id: str | None = None
    claims: list[tuple[str, str]] = field(default_factory=list)
    """(key, token) of the version-string claims that point at this version."""


class Checker(ManifestChecks):
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
        self.suspects: dict[str, Suspect] = {}
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
        self.suspects[key] = Suspect(token, version_id)
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
            if record.deleted_at is not None:
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
            if is_stale(record) and not writers_at_work(self.store, record.id):
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
        # NOTE: what a store's listing hides (a local folder's temporary files): the store
        # knows where its own debris lies.
        for info in self.store.leftovers():
            self._leftover(info, "temp-file", "temporary file of an interrupted write")


def _info(key: str, mtime: float) -> ObjectInfo:
    return ObjectInfo(key, 0, mtime)
