"""How a new version's parents may be named (see :meth:`dataver.Registry.resolve_parents`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Literal, TypeAlias

    from dataver.api.handle import VersionHandle

    ParentRef: TypeAlias = str | VersionHandle | Mapping[str, Any]
    """A version id, a Dataset, or a mapping with an ``"id"`` (an Airflow XCom summary)."""
    Parents: TypeAlias = Sequence[ParentRef] | str | Literal["latest"] | None
    """``"latest"``, one version id, or parents in merge order; None for none."""
