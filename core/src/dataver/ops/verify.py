"""Verify a version: every byte in the registry, and its cached tree if there is one.

A chunked file's registry copy is read chunk by chunk (:func:`~dataver.objects.fetch.fetch`
checks each chunk's hash, then the whole file's); a bad chunk makes its file's path a
finding, and the chunk is named in the log.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from dataver.errors import IntegrityError, NotFoundError
from dataver.objects.fetch import fetch, read_span, spans, verify_bytes, verify_file

if TYPE_CHECKING:
    from dataver.backend import Backend
    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest

log = logging.getLogger("dataver.verify")


class Verified(NamedTuple):
    """Paths whose bytes do not match the manifest, where they were found wrong."""

    registry: list[str]
    cache: list[str]

    @property
    def paths(self) -> list[str]:
        return sorted({*self.registry, *self.cache})


def verify_version(backend: Backend, version_id: str, manifest: Manifest) -> Verified:
    """Check every byte of a version in the registry, and its cached trees if any."""
    algorithm = manifest.root.hash_algorithm
    bad: set[str] = set()
    by_pack: dict[str, list[Entry]] = {}
    singles: list[Entry] = []
    for entry in manifest:
        if entry.pack is not None:
            by_pack.setdefault(entry.pack, []).append(entry)
        else:
            singles.append(entry)
    jobs = [
        (p, s)
        for p, members in by_pack.items()
        for s in spans(sorted(members, key=lambda e: e.offset))
    ]
    with ThreadPoolExecutor(max_workers=backend.settings.max_workers) as pool:
        for result in pool.map(lambda job: _check_span(backend, job[0], job[1], algorithm), jobs):
            bad.update(result)
        for result in pool.map(lambda e: _check_single(backend, e, algorithm), singles):
            bad.update(result)
    return Verified(sorted(bad), _check_cache(backend, version_id, manifest))


def _check_span(backend: Backend, pack: str, members: list[Entry], algorithm: str) -> list[str]:
    try:
        start, data = read_span(backend.store, pack, members)
    except NotFoundError:
        return [e.path for e in members]
    bad = []
    for entry in members:
        try:
            verify_bytes(
                entry, data[entry.offset - start : entry.offset - start + entry.size], algorithm
            )
        except IntegrityError:
            bad.append(entry.path)
    return bad


def _check_single(backend: Backend, entry: Entry, algorithm: str) -> list[str]:
    if entry.source is not None:
        # NOTE: pending content is not in the registry yet: check the writer's local file.
        try:
            verify_file(entry, Path(entry.source), algorithm)
        except (IntegrityError, FileNotFoundError):
            return [entry.path]
        return []
    cache = backend.cache
    cache.tmp.mkdir(parents=True, exist_ok=True)
    tmp = cache.tmp / f"verify-{uuid.uuid4().hex}"
    try:
        # NOTE: streamed through a temporary file: a large object never sits in memory.
        fetch(backend.store, backend.settings, [entry], algorithm, lambda _: tmp)
    except (IntegrityError, NotFoundError, FileNotFoundError) as exc:
        log.warning("%s: %s", entry.path, exc)
        return [entry.path]
    finally:
        tmp.unlink(missing_ok=True)
    return []


def _check_cache(backend: Backend, version_id: str, manifest: Manifest) -> list[str]:
    """Hash every file of the version's cached trees (the full one, subsets and parts)."""
    cache = backend.cache
    bad: set[str] = set()
    for key, matchers, part in cache.trees_of(version_id):
        bad.update(cache.check_tree(key, manifest, matchers, "hash", part))
    return sorted(bad)
