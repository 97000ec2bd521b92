"""What the state sensor and trigger share: which version is watched and whether it is done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dataver
from dataver.versions import semver

if TYPE_CHECKING:
    from collections.abc import Iterable

_ID_CHARS = frozenset("0123456789abcdef")
_BROKEN = frozenset({dataver.State.FAILED, dataver.State.ABORTED})


def check_target_states(states: Iterable[str | dataver.State]) -> tuple[str, ...]:
    """The state names, validated; ValueError naming the valid states otherwise."""
    if isinstance(states, str):
        states = (states,)
    valid = [s.value for s in dataver.State]
    out = []
    for state in states:
        value = state.value if isinstance(state, dataver.State) else str(state).lower()
        if value not in valid:
            raise ValueError(f"unknown dataver state {state!r}; valid states: {', '.join(valid)}")
        out.append(value)
    if not out:
        raise ValueError(f"target_states is empty; valid states: {', '.join(valid)}")
    return tuple(out)


class VersionBrokenError(Exception):
    """The watched version is Failed or Aborted (and that is not a target state)."""


@dataclass(frozen=True)
class Watch:
    """A version to wait for: ``version_id``, or ``project/name`` at ``version``, or else the
    newest version of ``project/name`` newer than ``newer_than`` (a version id or string)."""

    name: str | None
    project: str = "default"
    version: str | None = None
    version_id: str | None = None
    target_states: tuple[str, ...] = ("final", "published")
    newer_than: str | None = None

    def describe(self) -> str:
        if self.version_id:
            return f"version {self.version_id}"
        what = f"{self.project}/{self.name}"
        if self.version:
            return f"{what}@{self.version}"
        return f"newest version of {what}" + (
            f" newer than {self.newer_than}" if self.newer_than else ""
        )

    def watched(self, registry: dataver.Registry) -> dataver.Dataset | None:
        """The watched version as it is now, or None while there is none."""
        try:
            if self.version_id:
                return registry.get(self.version_id, states=None)
            if self.version:
                return registry.get(
                    name=self.name, project=self.project, version=self.version, states=None
                )
        except dataver.VersionNotFoundError:
            return None
        versions = registry.list(project=self.project, name=self.name, states=None)
        if self.newer_than:
            versions = [v for v in versions if self._is_newer(registry, v)]
        return versions[0] if versions else None

    def _is_newer(self, registry: dataver.Registry, ds: dataver.Dataset) -> bool:
        ref = str(self.newer_than)
        if len(ref) == 32 and not set(ref) - _ID_CHARS:
            try:
                base = registry.get(ref, states=None)
            except dataver.VersionNotFoundError:
                return True
            return (ds.created_at, ds.id) > (base.created_at, base.id)
        try:
            return semver.parse(ds.version) > semver.parse(ref)
        except dataver.ValidationError:
            return False

    def check(self, registry: dataver.Registry) -> dataver.Dataset | None:
        """The watched version if it is in a target state, None while it is not (yet).

        Raises:
            VersionBrokenError: It is Failed or Aborted, so it will never get there.
        """
        ds = self.watched(registry)
        if ds is None:
            return None
        if ds.state.value in self.target_states:
            return ds
        if ds.state in _BROKEN:
            raise VersionBrokenError(
                f"{self.describe()}: {ds.id} ({ds.name}@{ds.version}) is {ds.state.value}"
                + (f": {ds.error}" if ds.error else "")
            )
        return None
