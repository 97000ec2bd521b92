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
