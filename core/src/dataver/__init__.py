"""dataver: dataset versioning without a server; the registry lives in your storage.

Example:
    >>> import dataver, pathlib, tempfile
    >>> src = pathlib.Path(tempfile.mkdtemp())
    ... (src / "a.txt").write_text("hello")
    5
    >>> reg = dataver.Registry(tempfile.mkdtemp())
    >>> ds = reg.create("demo")
    >>> ds.add_files(src)
    1
    >>> ds.finalize(auto_upload=True)
    >>> ds.state, ds.version
    (<State.FINAL: 'final'>, '1.0.0')
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataver.api import Dataset, Registry
    from dataver.api.steps import FolderVersion
    from dataver.api.wait import Watch
    from dataver.api.writer import Writer
    from dataver.cache.local import Cache
    from dataver.cache.prune import CachedTree, CacheInfo, PrunePlan
    from dataver.diff import Diff
    from dataver.errors import (
        ConflictError,
        DataverError,
        FormatError,
        HasChildrenError,
        IntegrityError,
        InvalidTransitionError,
        NotFoundError,
        PendingUploadError,
        RegistryNotFoundError,
        UnsafePathError,
        ValidationError,
        VersionBrokenError,
        VersionNotFoundError,
        WaitTimeoutError,
        WritersActiveError,
    )
    from dataver.ops.fsck import FsckProblem, FsckReport
    from dataver.partitioning import Part, partition
    from dataver.settings import Settings
    from dataver.versions.state import State

# NOTE: the public names are imported on first use (PEP 562), not by ``import dataver``: every
# CLI call, Airflow task and Prefect worker starts a process, and the SDK behind these names
# (pydantic models, fsspec, the storage layer...) takes most of a second to import. A process
# pays only for what it touches (tests/core/test_startup.py keeps it so).
_LAZY = {
    "Dataset": "dataver.api",
    "Registry": "dataver.api",
    "FolderVersion": "dataver.api.steps",
    "Watch": "dataver.api.wait",
    "Writer": "dataver.api.writer",
    "Cache": "dataver.cache.local",
    "CachedTree": "dataver.cache.prune",
    "CacheInfo": "dataver.cache.prune",
    "PrunePlan": "dataver.cache.prune",
    "Diff": "dataver.diff",
    "ConflictError": "dataver.errors",
    "DataverError": "dataver.errors",
    "FormatError": "dataver.errors",
    "HasChildrenError": "dataver.errors",
    "IntegrityError": "dataver.errors",
    "InvalidTransitionError": "dataver.errors",
    "NotFoundError": "dataver.errors",
    "PendingUploadError": "dataver.errors",
    "RegistryNotFoundError": "dataver.errors",
    "UnsafePathError": "dataver.errors",
    "ValidationError": "dataver.errors",
    "VersionBrokenError": "dataver.errors",
    "VersionNotFoundError": "dataver.errors",
    "WaitTimeoutError": "dataver.errors",
    "WritersActiveError": "dataver.errors",
    "FsckProblem": "dataver.ops.fsck",
    "FsckReport": "dataver.ops.fsck",
    "Part": "dataver.partitioning",
    "partition": "dataver.partitioning",
    "Settings": "dataver.settings",
    "State": "dataver.versions.state",
}
"""Where each public name lives."""

__version__ = "0.1.0"

__all__ = [
    "Cache",
    "CacheInfo",
    "CachedTree",
    "ConflictError",
    "Dataset",
    "DataverError",
    "Diff",
    "FolderVersion",
    "FormatError",
    "FsckProblem",
    "FsckReport",
    "HasChildrenError",
    "IntegrityError",
    "InvalidTransitionError",
    "NotFoundError",
    "Part",
    "PendingUploadError",
    "PrunePlan",
    "Registry",
    "RegistryNotFoundError",
    "Settings",
    "State",
    "UnsafePathError",
    "ValidationError",
    "VersionBrokenError",
    "VersionNotFoundError",
    "WaitTimeoutError",
    "Watch",
    "Writer",
    "WritersActiveError",
    "__version__",
    "partition",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dataver' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # NOTE: once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
