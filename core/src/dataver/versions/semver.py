"""Version strings are semantic versions; the next patch version is taken atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING

import semver as _semver

from dataver.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

FIRST = "1.0.0"


def parse(version: str) -> _semver.Version:
    """Parse and normalise a version string ("2" and "1.5" are accepted as 2.0.0, 1.5.0).

    Raises:
        ValidationError: Not a semantic version.
    """
    try:
        return _semver.Version.parse(str(version).strip(), optional_minor_and_patch=True)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"invalid version {version!r}: use a semantic version such as 1.2.3", version=version
        ) from exc


def normalize(version: str) -> str:
    """Return the canonical text of a version string."""
    return str(parse(version))


def highest(versions: Iterable[str]) -> str | None:
    """Return the highest valid semantic version, or None."""
    parsed = []
    for text in versions:
        try:
            parsed.append(parse(text))
        except ValidationError:
            continue
    return str(max(parsed)) if parsed else None


def next_patch(existing: Iterable[str]) -> str:
    """Return the patch version after the highest existing one (1.0.0 when none)."""
    top = highest(existing)
    if top is None:
        return FIRST
    return (
        str(parse(top).finalize_version().bump_patch())
        if not parse(top).prerelease
        else str(parse(top).finalize_version())
    )
