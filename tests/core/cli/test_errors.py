"""Exit codes scripts can trust: 0 success, 1 the operation failed, 2 the command line is wrong;
every failure is one ``error:`` line and one ``hint:`` line, without a traceback.

The first tests run the real console script; the last ones check more usage errors in
process.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import TYPE_CHECKING

import pytest

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run

UNKNOWN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def versions(data: Path) -> dict[str, str]:
    """A final version and an uploading child with a pending file, built with the SDK."""
    registry = dataver.Registry()
    final = registry.create("tables")
    final.add_files(data)
    final.finalize(auto_upload=True)
    child = registry.create("tables", parents=[final])
    (data / "more.txt").write_bytes(b"more")
    child.add_files(data / "more.txt")
    return {"final": final.id, "uploading": child.id}


def test_unknown_id_and_wrong_state(dv: Callable[..., Run], versions: dict[str, str]) -> None:
    unknown = dv("show", "--id", UNKNOWN, code=1)
    assert unknown.error() == f"error: no version with id {UNKNOWN}"
    assert "dataver search" in unknown.hint()
    assert unknown.out == ""

    sealed = dv("add", "--id", versions["final"], "--files", ".", code=1)
    assert "it is final, must be uploading" in sealed.error()
    assert f"--parents {versions['final']}" in sealed.hint()

    unfinished = dv("get", "--id", versions["uploading"][:8], code=1)
    assert "it is uploading" in unfinished.error()
    assert "dataver close" in unfinished.hint()

    pending = dv("finalize", "--id", versions["uploading"], code=1)
    assert "has 1 file not uploaded" in pending.error()  # not "1 files"
    assert "upload()" not in pending.error()  # the SDK's advice, reworded for the CLI
    assert "dataver upload" in pending.hint()

    verbose = dv("show", "--id", UNKNOWN, "--verbose", code=1)
    assert "Traceback (most recent call last)" in verbose.err
    assert verbose.err.rstrip().splitlines()[-2] == f"error: no version with id {UNKNOWN}"


def test_bad_pattern_and_missing_folder(
    dv: Callable[..., Run], versions: dict[str, str], tmp_path: Path
) -> None:
    bad = dv("remove", "--id", versions["uploading"], "--files", "more.txt", "a[", code=2)
    assert "bad pattern 'a['" in bad.error()
    assert "dataver remove --help" in bad.hint()
    # checked before any work: the valid pattern removed nothing either
    assert "more.txt" in dataver.Registry().get(versions["uploading"], states=None).list_files()

    missing = tmp_path / "missing"
    add = dv("add", "--id", versions["uploading"], "--files", missing, code=1)
    assert add.error() == f"error: no such file or folder: {missing}"
    sync = dv("sync", "--folder", missing, "--name", "fresh", code=1)
    assert sync.error() == f"error: no such folder: {missing}"
    assert [d.name for d in dataver.Registry().list()] == ["tables", "tables"]


def _drop_read_override() -> None:
    """In the child, before exec: lose the capabilities that let root read any file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


@pytest.mark.skipif(sys.platform != "linux", reason="permissions and FIFOs as on Linux")
def test_unreadable_files(dv: Callable[..., Run], versions: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    secret = folder / "secret.csv"
    secret.write_bytes(b"secret")
    secret.chmod(0)
    as_root = os.geteuid() == 0
    unprivileged = {"preexec_fn": _drop_read_override} if as_root else {}
    try:
        denied = dv(
            "add", "--id", versions["uploading"], "--files", folder, code=None, **unprivileged
        )
        if as_root and "prctl" in denied.err:
            pytest.skip("cannot drop CAP_DAC_OVERRIDE here, so root reads a mode-000 file")
        synced = dv("sync", "--folder", folder, "--name", "locked", code=None, **unprivileged)
    finally:
        secret.chmod(0o644)
    assert denied.code == 1, denied
    assert denied.error() == f"error: cannot read {secret}: Permission denied"
    assert str(secret) in denied.hint()
    # sync compares the folder before it creates a version: nothing is left behind
    assert synced.code == 1, synced
    assert synced.error() == f"error: cannot read {secret}: Permission denied"
    assert dataver.Registry().list(name="locked", project="default") == []

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    special = dv("add", "--id", versions["uploading"], "--files", fifo, code=1)
    assert special.error() == f"error: not a regular file or folder: {fifo}"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    broken = dv("add", "--id", versions["uploading"], "--files", dangling, code=1)
    assert broken.error() == f"error: no such file or folder: {dangling}"


def test_usage_errors(dv: Callable[..., Run], tmp_path: Path) -> None:
    unknown = dv("frobnicate", code=2)
    assert unknown.error() == "error: No such command 'frobnicate'."
    assert unknown.hint() == "hint: see 'dataver --help'"
    option = dv("search", "--bogus", code=2)
    assert option.error().startswith("error: No such option: --bogus")
    assert option.hint() == "hint: see 'dataver search --help'"
    missing = dv("create", code=2)
    assert "Missing option '--name'" in missing.error()
    no_registry = dv("close", code=1)  # nothing was ever created in the default registry
    assert no_registry.error().startswith("error: no dataver registry at file://")
    dataver.Registry(os.environ["DATAVER_REGISTRY"]).create("other")
    nothing = dv("close", code=2)
    assert "no current version" in nothing.error()
    assert "--id" in nothing.hint()
    both = dv("get", "--copy", tmp_path / "a", "--link", tmp_path / "b", code=2)
    assert both.error() == "error: --copy and --link exclude each other"
    bare = dv(code=2)
    assert "Usage: dataver" in bare.out


def test_unexpected_error_is_one_line(
    dv: Callable[..., Run], versions: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    failed = dv("get", "--id", versions["final"], "--link", blocker / "data", code=1)
    assert failed.error().startswith(f"error: FileExistsError: [Errno 17] File exists: '{blocker}'")
    assert "--verbose" in failed.hint()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--name", "("], "bad regular expression '('"),
        (["search", "--states", "done"], "'done' is not one of"),
        (["list", "--filter", "[x"], "bad pattern '[x'"),
        (["cache", "prune", "--max-size", "lots"], "not a size: 'lots'"),
        (["sync", "--folder", ".", "--id", "abcd", "--name", "x"], "--id and --name exclude"),
        (["sync", "--folder", ".", "--parents", "abcd"], "--parents and --project need --name"),
        (["get", "--overwrite"], "--overwrite needs --copy"),
        (["get", "--version", "1.0.0"], "--project and --version need --name"),
        (["add", "--id", "abcd"], "nothing to add"),
        (["upload", "--max-workers", "0"], "Invalid value for '--max-workers'"),
    ],
)
def test_more_usage_errors(cli: Callable[..., Run], args: list[str], message: str) -> None:
    result = cli(*args, code=2)
    assert message in result.error()


def test_operation_errors_in_process(
    cli: Callable[..., Run], versions: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing_key = cli("metadata", "get", "owner", "--id", versions["final"], code=1)
    assert "has no metadata key 'owner'" in missing_key.error()
    parent = cli("delete", "--id", versions["final"], code=1)
    assert "is a parent of 1 live version (" in parent.error()
    assert "lineage" in parent.hint()
    refused = cli("delete", "--id", versions["uploading"], code=1)
    assert "pass --force" in refused.error()
    monkeypatch.setenv("DATAVER_PROGRESS_INTERVAL", "soon")
    interval = cli("upload", "--id", versions["uploading"], code=1)
    assert "invalid DATAVER_PROGRESS_INTERVAL='soon'" in interval.error()
