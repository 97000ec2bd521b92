"""Arguments shared by the single-writer operations and a writer's: paths, URLs, parts."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dataver.errors import NotFoundError, ValidationError
from dataver.scan import local_root

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dataver.ops.change import Within
    from dataver.partitioning import Part


def inputs(value: Any, what: str) -> list[Any]:
    """One path (or URL), or a list of them, as a non-empty list."""
    if isinstance(value, (str, os.PathLike)):
        return [value]
    items = list(value)
    if not items:
        raise ValidationError(f"no {what} given: pass at least one")
    return items


def local_inputs(path: Any) -> list[Any]:
    """One local path or a list of them, every one checked to exist before a file is read.

    Raises:
        NotFoundError: Naming every missing path (``missing``).
        ValidationError: No path given, or a name in one is too long to exist.
    """
    paths = inputs(path, "path")
    # NOTE: local_root refuses a path with a name too long to exist (naming it) first.
    missing = [os.fspath(p) for p in paths if not local_root(p).exists()]
    if missing:
        raise NotFoundError(
            f"no such file or folder: {', '.join(missing)}"
            + ("; nothing was added" if len(paths) > 1 else ""),
            path=missing[0],
            missing=missing,
        )
    return paths


def within(part: Part | Mapping[str, Any] | None) -> Within | None:
    """The path test of a part (None: every path)."""
    if part is None:
        return None
    from dataver.partitioning import coerce

    return coerce(part).contains
