"""The policies SDK calls take as strings (symbolic links, unchanged folders): a module of
their own, light to import, so the command line's options can name them without loading the
scanner or the pipeline steps."""

from __future__ import annotations

from typing import Literal

from dataver.errors import ValidationError

Symlinks = Literal["refuse", "follow", "skip"]
"""What ``add_files`` and ``sync_folder`` do with a symbolic link that leads outside the
folder being added: refuse the whole call (naming the links), follow it (store what it
leads to; a folder is descended), or skip it (leave it out)."""

SYMLINK_POLICIES: tuple[Symlinks, ...] = ("refuse", "follow", "skip")


def check_symlinks(symlinks: str) -> Symlinks:
    """``symlinks`` as a :data:`Symlinks` policy.

    Raises:
        ValidationError: It is not one of :data:`SYMLINK_POLICIES`.
    """
    if symlinks not in SYMLINK_POLICIES:
        raise ValidationError(
            f"symlinks must be 'refuse', 'follow' or 'skip', got {symlinks!r}",
            symlinks=symlinks,
        )
    return symlinks


Unchanged = Literal["reuse", "new", "skip"]
"""What :meth:`~dataver.Registry.version_folder` makes of a folder that holds exactly what its
parent version holds: ``"reuse"`` returns the parent (no new version; the default everywhere),
``"new"`` builds a version anyway, ``"skip"`` builds nothing and returns no version."""
UNCHANGED_POLICIES: tuple[Unchanged, ...] = ("reuse", "new", "skip")
