"""The one exception hierarchy of dataver.

Every error dataver raises derives from :class:`DataverError`. Subclasses also derive from the
builtin that best describes them, so callers may catch either (``except LookupError`` finds a
missing version). Errors carry structured fields and survive a pickle round trip: Airflow
triggers and Prefect workers move them between processes.
"""

from __future__ import annotations

from typing import Any, cast


class DataverError(Exception):
    """Root of every dataver error.

    Subclasses declare their structured fields as keyword arguments; ``__reduce__`` rebuilds
    them from those fields so the exception pickles whatever its signature.
    """

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.fields))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[DataverError], message: str, fields: dict[str, Any]) -> DataverError:
    # NOTE: ``cls.__new__`` would find a mix-in's ``__new__`` first (LookupError's for
    # ObjectNotFoundError), which Python refuses for a class laid out as an OSError. Use the
    # ``__new__`` of the builtin the class is laid out as: the first builtin on its __base__ chain.
    layout: type[BaseException] = cls
    while layout.__module__ != "builtins":
        layout = cast("type[BaseException]", layout.__base__)
    error = layout.__new__(cls)
    DataverError.__init__(error, message, **fields)
    return error


class ConfigurationError(DataverError, ValueError):
    """A setting, URL or option is invalid."""


class ValidationError(DataverError, ValueError):
    """User input (a path, a name, a version string, metadata) is invalid."""


class UnsafePathError(ValidationError):
    """A dataset path tries to leave the dataset (``..``, absolute, NUL, ...)."""


class NotFoundError(DataverError, LookupError):
    """Something looked up by name or id does not exist."""


class VersionNotFoundError(NotFoundError):
    """No version matches the id or the (project, name, version) query."""


class DatasetNotFoundError(NotFoundError):
    """No dataset of that project and name exists."""


class DatasetLookupError(VersionNotFoundError, ValueError):
    """No version matches a ClearML-style query (:mod:`dataver.clearml`).

    ClearML raises ``ValueError`` there; this is one too, and a
    :class:`VersionNotFoundError` (so ``LookupError``) like every other miss of dataver's.
    """


class RegistryNotFoundError(NotFoundError):
    """No registry at a location: it holds no registry marker (``dataver.json``).

    A typo in the registry URL, or a location nothing was versioned in yet (the first
    version created there writes the marker). Raised where a registry must exist
    (``Registry(url, must_exist=True)``, the command line's reading commands).
    """


class ObjectNotFoundError(NotFoundError, FileNotFoundError):
    """A stored object (record, manifest shard, content) is missing from the registry."""


class InvalidTransitionError(DataverError, ValueError):
    """The version's state does not allow the requested operation."""


class ConflictError(DataverError):
    """A concurrent writer changed what this operation was about to change."""


class HasChildrenError(ConflictError):
    """A version cannot be deleted while live versions use it as a parent."""


class WritersActiveError(ConflictError):
    """Finalize found writers of the version still at work (their leases unexpired)."""


class IntegrityError(DataverError):
    """Bytes do not match the size or hash the manifest promises."""


class StorageError(DataverError, OSError):
    """The storage backend failed (permanently, after retries)."""


class TransientStorageError(StorageError):
    """A storage failure worth retrying: throttling, 5xx, timeouts, dropped connections."""


class FormatError(IntegrityError, ValueError):
    """Stored data is malformed, of an unknown format version, or fails validation."""


class PendingUploadError(InvalidTransitionError):
    """The version still has content that is not uploaded."""


class VersionBrokenError(DataverError, RuntimeError):
    """A version that was waited for can never reach the wanted state: it Failed, was
    Aborted, or was deleted."""


class WaitTimeoutError(DataverError, TimeoutError):
    """A version did not reach the wanted state in time."""
