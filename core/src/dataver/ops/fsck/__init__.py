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

from typing import TYPE_CHECKING

from dataver.ops.fsck.checker import Checker
from dataver.ops.fsck.repair import repair_problem
from dataver.ops.fsck.report import ERROR, HOSTILE, LEFTOVER, QUARANTINE, FsckProblem, FsckReport

if TYPE_CHECKING:
    from dataver.backend import Backend

__all__ = ["ERROR", "HOSTILE", "LEFTOVER", "QUARANTINE", "FsckProblem", "FsckReport", "fsck"]


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
    checker = Checker(backend.store, grace)
    first = checker.run()
    if not repair:
        return first
    done = (repair_problem(backend, p, checker) for p in first.problems if p.repairable)
    fixed = tuple(p for p in done if p is not None)
    if not fixed:
        return first
    again = Checker(backend.store, grace).run()
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
