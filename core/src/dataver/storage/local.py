"""A registry on a local (or mounted) folder: the embedded default.

Atomicity: every write goes to a unique temporary sibling and is renamed into place.
``create`` publishes the temporary file with ``os.link``, which fails if the key exists, so
two processes can never both create one key and no reader ever sees a partial file.
``replace`` compares and swaps under a per-key file lock (``filelock``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from dataver import progress
from dataver.errors import ConflictError, ObjectNotFoundError, StorageError, UnsafePathError
from dataver.storage.base import ObjectInfo, Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_TMP_SUFFIX = ".tmp"
_LOCKS = ".locks"


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore(Store):
    """Store on a local folder.

    Args:
        root: The registry folder; created on first write.
        fsync: Flush data and directory entries to disk on every write (durability).
    """

    def __init__(self, root: str | Path, *, fsync: bool = True) -> None:
        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()
        self.fsync = fsync

    def _path(self, key: str) -> Path:
        # NOTE: keys are built from record fields; a tampered record must never make a key
        # that reads, writes or deletes outside the registry folder.
        parts = key.rstrip("/").split("/")
        if key.startswith("/") or "\\" in key or "\x00" in key or {"..", "."} & set(parts):
            raise UnsafePathError(f"refusing storage key {key!r}: it leaves {self.url}", key=key)
        return self.root / key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def read(self, key: str) -> bytes:
        with self._translate(key):
            return self._path(key).read_bytes()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self._translate(key), open(self._path(key), "rb") as handle:
            # NOTE: never ask read() for more than the file holds: a hostile manifest's huge
            # size would make it allocate that much (MemoryError) before anything checks it.
            # A short answer is what S3 gives for a range past the end; callers check sizes.
            available = max(os.fstat(handle.fileno()).st_size - start, 0)
            handle.seek(start)
            return handle.read(min(length, available))

    def write(self, key: str, data: bytes | bytearray) -> None:
        tmp = self._write_tmp(key, data)
        with self._translate(key):
            os.replace(tmp, self._path(key))
        self._sync_dir(key)

    def create(self, key: str, data: bytes) -> str:
        tmp = self._write_tmp(key, data)
        try:
            os.link(tmp, self._path(key))
        except FileExistsError as exc:
            raise ConflictError(f"{key} already exists", key=key) from exc
        except OSError as exc:
            raise StorageError(f"cannot create {key}: {exc}", key=key) from exc
        finally:
            tmp.unlink(missing_ok=True)
        self._sync_dir(key)
        return _token(data)

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        data = self.read(key)
        return data, _token(data)

    def replace(self, key: str, data: bytes, token: str) -> str:
        with self._lock(key):
            try:
                current = self._path(key).read_bytes()
            except FileNotFoundError as exc:
                raise ConflictError(f"{key} was deleted concurrently", key=key) from exc
            if _token(current) != token:
                raise ConflictError(f"{key} was changed concurrently", key=key)
            self.write(key, data)
        return _token(data)

    def put_file(self, local: Path, key: str) -> None:
        target = self._path(key)
        tmp = self._tmp_name(target)
        with self._translate(key):
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(local, tmp)
            if self.fsync:
                _fsync_file(tmp)
            os.replace(tmp, target)
        self._sync_dir(key)

    def get_file(self, key: str, local: Path) -> None:
        with self._translate(key):
            _copy(self._path(key), local)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        with self._translate(key):
            return self._path(key).stat().st_size

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(prefix) if prefix.endswith("/") else self._path(prefix).parent
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != _LOCKS)
            for name in sorted(filenames):
                if name.endswith(_TMP_SUFFIX):
                    continue
                full = os.path.join(dirpath, name)
                key = os.path.relpath(full, self.root).replace(os.sep, "/")
                if key.startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):
                        stat = os.stat(full)
                        yield ObjectInfo(key, stat.st_size, stat.st_mtime)

    def delete(self, key: str) -> None:
        with self._translate(key, missing_ok=True):
            self._path(key).unlink(missing_ok=True)

    def delete_if(self, key: str, token: str) -> None:
        # NOTE: under the lock replace() takes: a swap that read the old bytes can no longer
        # write them back after the unlink (a deleted record would come back).
        with self._lock(key):
            try:
                current = self._path(key).read_bytes()
            except FileNotFoundError:
                return
            if _token(current) != token:
                raise ConflictError(f"{key} was changed concurrently", key=key)
            with self._translate(key, missing_ok=True):
                self._path(key).unlink()
            self._sync_dir(key)

    def leftovers(self) -> Iterator[ObjectInfo]:
        """The ``.*.tmp`` files of writes killed before their rename."""
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d != _LOCKS]
            for name in filenames:
                if not (name.startswith(".") and name.endswith(_TMP_SUFFIX)):
                    continue
                path = os.path.join(dirpath, name)
                with contextlib.suppress(FileNotFoundError):
                    stat = os.stat(path)
                    key = os.path.relpath(path, self.root).replace(os.sep, "/")
                    yield ObjectInfo(key, stat.st_size, stat.st_mtime)

    def remove_leftover(self, key: str) -> None:
        name = key.rsplit("/", 1)[-1]
        if not (name.startswith(".") and name.endswith(_TMP_SUFFIX)):
            raise StorageError(f"{key} is not a temporary file of this store", key=key)
        self._path(key).unlink(missing_ok=True)

    def _tmp_name(self, target: Path) -> Path:
        return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")

    def _write_tmp(self, key: str, data: bytes | bytearray) -> Path:
        target = self._path(key)
        tmp = self._tmp_name(target)
        with self._translate(key):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
        return tmp

    def _sync_dir(self, key: str) -> None:
        if not self.fsync:
            return
        fd = os.open(self._path(key).parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _lock(self, key: str) -> FileLock:
        lock_path = self.root / _LOCKS / (hashlib.sha256(key.encode()).hexdigest() + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(lock_path, timeout=60)

    @contextlib.contextmanager
    def _translate(self, key: str, *, missing_ok: bool = False) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, NotADirectoryError) as exc:
            # NOTE: a key below a file (a registry URL naming a file) cannot exist either.
            if not missing_ok:
                raise ObjectNotFoundError(f"{key} not found in {self.url}", key=key) from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StorageError(f"no space left writing {key}", key=key) from exc
            raise StorageError(f"{key}: {exc}", key=key) from exc


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_COPY_CHUNK = 8 << 20
"""Bytes per kernel copy call when progress is reported: a bar moves every 8 MiB."""
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def _copy(source: Path, target: Path) -> None:
    """Copy a file by the kernel, reporting each chunk to :func:`progress.transfer_callback`.

    NOTE: without a listener, one ``shutil.copyfile`` (sendfile: no byte passes through
    Python). With one, ``copy_file_range`` in chunks of :data:`_COPY_CHUNK` (still the
    kernel's copy, a reflink where the file system shares extents), else ``sendfile``, else
    reads and writes.
    """
    report = progress.transfer_callback()
    if report is None:
        shutil.copyfile(source, target)
        return
    with open(source, "rb") as src, open(target, "wb") as dst:
        _copy_chunks(src.fileno(), dst.fileno(), report)


def _copy_chunks(src: int, dst: int, report: Callable[[int], None]) -> None:
    copied = 0
    for kernel_copy in (_copy_file_range, _sendfile):
        try:
            while count := kernel_copy(src, dst, copied):
                copied += count
                report(count)
            return
        except OSError as exc:
            if copied or exc.errno not in _NO_KERNEL_COPY:
                raise  # NOTE: part of the file is copied: no other way starts over
    while chunk := os.read(src, _COPY_CHUNK):
        _write_all(dst, chunk)
        report(len(chunk))


def _copy_file_range(src: int, dst: int, offset: int) -> int:
    if not hasattr(os, "copy_file_range"):  # pragma: no cover - not Linux
        raise OSError(errno.ENOSYS, "copy_file_range is not available")
    return os.copy_file_range(src, dst, _COPY_CHUNK, offset, offset)


def _sendfile(src: int, dst: int, offset: int) -> int:
    return os.sendfile(dst, src, offset, _COPY_CHUNK)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
