"""The manifest part of ``fsck``: roots, shards, staged changes and the byte ranges they name.

A shard shared by many versions is decoded and checked once; every version using a damaged
one is named in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataver.errors import FormatError, NotFoundError
from dataver.layout import (
    manifest_key,
    object_key,
    pack_key,
    record_key,
)
from dataver.manifest import recipe
from dataver.manifest.codec import (
    ManifestRoot,
    ShardRef,
    decode_changes,
    decode_root,
    decode_shard,
)
from dataver.manifest.reader import read_object
from dataver.ops.fsck.report import ERROR, FsckProblem
from dataver.versions.state import READABLE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dataver.manifest.entry import Entry
    from dataver.storage.base import Store
    from dataver.versions.records import VersionRecord


class ManifestChecks:
    """Checks of manifest objects and the content they name (a part of the checker)."""

    store: Store
    manifests: dict[str, list[FsckProblem]]
    entries: int
    content: set[str]
    sizes: dict[str, int | None]

    def _add(self, kind: str, key: str, message: str, version_id: str | None = None) -> None:
        raise NotImplementedError

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
        out: list[FsckProblem] = []
        for entry in entries:
            if entry.url is not None or entry.source is not None:
                continue
            if entry.chunks is not None:
                out.extend(self._chunked(entry, ref, missing, short))
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
        out += [
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

    def _chunked(
        self,
        entry: Entry,
        ref: str,
        missing: dict[str, list[str]],
        short: dict[str, list[str]],
    ) -> list[FsckProblem]:
        """Check a chunked file: its chunk list (and parts) parse and belong to it, and
        every chunk's pack holds its byte range."""
        try:
            found = recipe.read(self.store, entry)
            placed = list(recipe.chunks(self.store, found))
        except NotFoundError:
            missing.setdefault(manifest_key(entry.chunks or ""), []).append(entry.path)
            return []
        except FormatError as exc:
            key = manifest_key(entry.chunks or "")
            return [FsckProblem("corrupt-manifest", ERROR, key, f"{entry.path!r} in {ref}: {exc}")]
        self.content.update(found.keys())
        for _, chunk in placed:
            key = pack_key(chunk.pack)
            have = self._size(key)
            if have is None:
                missing.setdefault(key, []).append(entry.path)
            elif have < chunk.offset + chunk.size:
                short.setdefault(key, []).append(entry.path)
            else:
                self.content.add(key)
        return []

    def _size(self, key: str) -> int | None:
        if key not in self.sizes:
            # NOTE: content is listed before records are read: a writer may have stored this
            # since. Look again before calling it missing.
            try:
                self.sizes[key] = self.store.size(key)
            except NotFoundError:
                self.sizes[key] = None
        return self.sizes[key]
