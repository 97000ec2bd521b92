"""Errors of the command line, and the one-line message plus hint every failure becomes.

Exit codes: 0 success, 1 the operation failed (any :class:`~dataver.DataverError`, a
:class:`CliError`, an unexpected exception), 2 the command line is wrong (unknown command or
option, a missing or malformed value, options that exclude each other: :class:`CliUsageError`),
130 interrupted (Ctrl-C: :class:`CliInterruptedError`, saying what state it left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataver.errors import (
    ConfigurationError,
    ConflictError,
    DatasetNotFoundError,
    FormatError,
    HasChildrenError,
    IntegrityError,
    InvalidTransitionError,
    NotFoundError,
    PendingUploadError,
    RegistryNotFoundError,
    StorageError,
    UnsafePathError,
    ValidationError,
    VersionNotFoundError,
)

if TYPE_CHECKING:
    from dataver.errors import DataverError

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130


class CliError(Exception):
    """An operation of the command line failed (exit 1)."""

    exit_code = FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class CliUsageError(CliError):
    """The command line itself is wrong (exit 2)."""

    exit_code = USAGE


class CliInterruptedError(CliError):
    """Ctrl-C stopped the command (exit 130); the message says what state it left."""

    exit_code = INTERRUPTED


# The SDK's errors name SDK calls; on the command line the same advice has other words.
_CLI_WORDING = (
    ("; pass states=None to get it in any state", ""),
    (": call upload() first or finalize(auto_upload=True)", ""),
    ("; pass force=True", "; pass --force"),
    ("; pass overwrite=True to replace its contents", "; pass --overwrite to replace it"),
    ("; reload() it and retry", "; run the command again"),
    ("; pass symlinks='follow' to add what they lead to, or symlinks='skip' to leave them out", ""),
    ("; pass allow_empty=True to version an empty folder", ""),
)


def one_line(message: str) -> str:
    """``message`` in CLI words, on a single line."""
    for sdk, cli in _CLI_WORDING:
        message = message.replace(sdk, cli)
    return " ".join(message.split())


def hint_for(error: DataverError) -> str:
    """What to do about ``error``, as a command to run where there is one."""
    fields = error.fields
    version = str(fields.get("version_id") or "ID")
    if isinstance(error, PendingUploadError):
        return (
            f"run 'dataver upload --id {version}' first, or 'dataver close' to upload and finalize"
        )
    if isinstance(error, InvalidTransitionError):
        return _state_hint(str(fields.get("state", "")), version, str(fields.get("action", "")))
    if isinstance(error, RegistryNotFoundError):
        return (
            "check --registry (or DATAVER_REGISTRY); nothing was versioned there yet if it is "
            "right: 'dataver create' or 'dataver sync --name' makes it a registry"
        )
    if isinstance(error, VersionNotFoundError) and fields.get("name") is not None:
        where = f"--project {fields.get('project') or 'default'}"
        return (
            f"see the datasets with 'dataver ls {where}' and their versions with "
            f"'dataver search {where} --name {fields['name']}'"
        )
    if isinstance(error, VersionNotFoundError) and fields.get("state"):
        return _state_hint(str(fields["state"]), version, "get")
    if isinstance(error, VersionNotFoundError):
        return "find versions with 'dataver search' (ids are 32 hex characters, or a unique prefix)"
    if isinstance(error, DatasetNotFoundError):
        return "list datasets with 'dataver ls'"
    if isinstance(error, HasChildrenError):
        return f"delete its children first (see 'dataver lineage'), or keep version {version}"
    if isinstance(error, ConflictError):
        return _conflict_hint(fields)
    if isinstance(error, UnsafePathError):
        return "dataset paths are relative, use '/', and never contain '..' or start with '/'"
    if isinstance(error, FormatError):
        return "the registry was written by another dataver version, or is damaged"
    if isinstance(error, IntegrityError) and error.fields.get("local"):
        # NOTE: a local file changed after 'add' (the registry is sound): nothing to repair.
        return f"add it again ('dataver add --files {error.fields['local']}'), then close"
    if isinstance(error, IntegrityError):
        return (
            f"'dataver verify --id {version} --repair' re-fetches damaged cached files; "
            "content damaged in the registry itself must be rebuilt from its source"
        )
    if isinstance(error, ConfigurationError):
        return "check --registry and the DATAVER_* environment variables"
    if isinstance(error, StorageError):
        return "check that the registry is reachable and writable (--registry, credentials)"
    path = error.fields.get("path")
    if isinstance(error, ValidationError) and fields.get("empty"):
        return "pass --allow-empty to version an empty folder, or check the folder"
    if isinstance(error, ValidationError) and error.fields.get("links"):
        return (
            "pass --symlinks follow to add what they lead to, or --symlinks skip to leave them out"
        )
    missing = fields.get("missing")
    if isinstance(error, NotFoundError) and isinstance(missing, list) and len(missing) > 1:
        return f"check that these exist: {', '.join(map(str, missing))}"
    if isinstance(error, NotFoundError):
        return f"check that {path} exists" if path else "check the name or path"
    if isinstance(error, ValidationError) and path:
        return f"dataver reads regular files and folders: check {path} and its permissions"
    if isinstance(error, ValidationError):
        return "fix the value named above (see 'dataver COMMAND --help')"
    return "run again with --verbose for details"


def _conflict_hint(fields: dict[str, object]) -> str:
    reason = fields.get("reason")
    if reason == "exists" and fields.get("version") is not None:
        where = f"--project {fields.get('project') or 'default'} --name {fields.get('name')}"
        return (
            "choose another --version, or leave it out to take the next patch version "
            f"(see 'dataver search {where}')"
        )
    if reason == "exists":
        return "choose another name (see 'dataver ls')"
    if reason == "parent-gone":
        return "choose another parent (see 'dataver search')"
    return "another process changed it at the same time; run the command again"


def _state_hint(state: str, version: str, action: str = "") -> str:
    if action == "delete" and state == "published":
        return f"published versions are protected: 'dataver delete --id {version} --force'"
    if action == "delete" and state == "uploading":
        return (
            f"abort it first ('dataver abort --id {version}'), or "
            f"'dataver delete --id {version} --force'"
        )
    if action == "publish" and state == "published":
        return f"version {version} is already published: nothing to do"
    if state == "uploading":
        return f"finish it first with 'dataver close --id {version}' (or 'dataver abort')"
    if state in {"final", "published"}:
        return (
            f"version {version} is sealed: build a child with "
            f"'dataver create --name NAME --parents {version}'"
        )
    if state in {"failed", "aborted"}:
        return f"an ended version can only be deleted ('dataver delete --id {version}')"
    return f"check its state with 'dataver show --id {version}'"
