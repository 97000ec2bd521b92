"""What ``fsck`` reports: problems, their severities, the report."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "error"
"""Damage: something a version needs is missing or wrong. Never repaired automatically."""
LEFTOVER = "leftover"
"""Harmless debris of an interrupted writer; ``repair`` removes it safely."""
HOSTILE = "hostile-record"
"""An ``error`` that ``repair`` fixes: the object is moved to :data:`QUARANTINE`, not deleted."""
QUARANTINE = "quarantine/"
"""Where ``repair`` moves hostile objects: ``quarantine/<stamp>-<random>/<original key>``,
beside a ``why.json`` note (see docs/storage-format.md)."""


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
