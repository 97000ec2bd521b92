"""Placing cached content in a tree: hard link, else reflink, else copy.

A hard link costs one metadata write and no bytes; it fails across file systems (EXDEV), on
file systems without links, or past a file's link limit. A reflink (``FICLONE``: btrfs, xfs,
bcachefs...) shares blocks copy-on-write; a plain copy is the last resort.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil

READ_ONLY = 0o444
NO_LINKS = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP)
_FICLONE = 0x40049409  # NOTE: _IOW(0x94, 9, int) from linux/fs.h; not in the fcntl module


def place(blob: str, target: str) -> None:
    """Make ``target`` a read-only file with the content of ``blob``.

    Raises:
        FileNotFoundError: ``blob`` vanished (evicted meanwhile); the caller fetches again.
    """
    try:
        os.link(blob, target)
    except OSError as exc:
        if exc.errno not in NO_LINKS:
            raise
        clone_or_copy(blob, target, READ_ONLY)


def clone_or_copy(source: str, target: str, mode: int) -> None:
    """Copy ``source`` to a new ``target`` (reflink where the file system can) with ``mode``."""
    if not _reflink(source, target):
        shutil.copyfile(source, target)
    os.chmod(target, mode)


def _reflink(source: str, target: str) -> bool:
    try:
        src = os.open(source, os.O_RDONLY)
    except OSError:
        return False
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.ioctl(dst, _FICLONE, src)
        except OSError:
            os.close(dst)
            os.unlink(target)
            return False
        os.close(dst)
        return True
    finally:
        os.close(src)
