"""Dataset paths: validation and glob matching.

A dataset path is relative, uses ``/``, and can never leave the dataset: no ``..``, no
absolute path, no empty or ``.`` component, no backslash, no control character. Every path
is checked when it enters a manifest (add) and when it leaves one (read, materialise).

A new path must also be writable to disk: no name in it (a component) longer than
:data:`MAX_NAME_BYTES` in UTF-8 (:func:`check_new_paths`, at add time). That check is not
made on read, so versions written before it stay listable and readable file by file; only
materialising such a path fails, and the cache names it (:func:`long_name`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from dataver.errors import UnsafePathError, ValidationError

if TYPE_CHECKING:
    from wcmatch import glob

MAX_PATH_LENGTH = 4096
MAX_NAME_BYTES = 255
"""Longest file or folder name, in UTF-8 bytes, that a dataset path may hold.

ext4, xfs, btrfs and ZFS refuse longer names (``ENAMETOOLONG``); APFS and NTFS count
characters or UTF-16 units instead, of which 255 UTF-8 bytes never hold more than 255. So a
name within it can be materialised on every common file system (the cache's temporary names
stay within it too: see dataver.objects.fetch)."""
_SHORT = MAX_NAME_BYTES // 4
"""A name of at most this many characters is never over MAX_NAME_BYTES (a character is at
most 4 bytes in UTF-8): only longer ones need encoding."""
_NAME_BYTES = bytes(0x0A if byte in b"/\n" else 0x78 for byte in range(256))
"""A ``bytes.translate`` table: separators to ``\n``, every other byte to ``x``."""
_TOO_LONG = b"x" * (MAX_NAME_BYTES + 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\\]")


def validate_path(path: str) -> str:
    """Return ``path`` if it is a safe dataset path.

    Args:
        path: A dataset path such as ``"train/images/0001.jpg"``.

    Returns:
        The same path.

    Raises:
        UnsafePathError: The path is absolute, empty, has ``..``/``.``/empty components, a
            backslash, a control character (NUL included) or is too long.

    Example:
        >>> validate_path("a/b.txt")
        'a/b.txt'
    """
    if not isinstance(path, str) or not path:
        raise UnsafePathError(f"empty dataset path: {path!r}", path=path)
    reason = _unsafe_reason(path)
    if reason:
        raise UnsafePathError(f"unsafe dataset path {path!r}: {reason}", path=path)
    return path


def _unsafe_reason(path: str) -> str | None:
    if len(path) > MAX_PATH_LENGTH:
        return f"longer than {MAX_PATH_LENGTH} characters"
    if _CONTROL.search(path):
        return "contains a control character (NUL included)"
    if "\\" in path:
        return "contains a backslash; dataset paths use '/'"
    if path.startswith("/"):
        return "is absolute"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "has an empty, '.' or '..' component"
    return None


def validate_paths(paths: list[str]) -> None:
    """Validate many paths at once: one C-speed scan, path by path only if it finds a problem.

    Raises:
        UnsafePathError: Naming the first unsafe path.
    """
    joined = "\n".join(paths)
    # NOTE: with every "/" turned into "\n", an empty, "." or ".." component anywhere (and an
    # absolute path) shows up as one of three substrings.
    parts = "\n" + joined.replace("/", "\n") + "\n"
    suspicious = (
        _CONTROL_OR_BACKSLASH.search(joined)
        or joined.count("\n") != max(len(paths) - 1, 0)
        or "\n\n" in parts
        or "\n.\n" in parts
        or "\n..\n" in parts
        or (paths and max(map(len, paths)) > MAX_PATH_LENGTH)
    )
    if suspicious:
        for path in paths:
            validate_path(path)


def long_name(path: str) -> str | None:
    """Return the first name (component) of ``path`` over :data:`MAX_NAME_BYTES`, or None.

    Example:
        >>> long_name("a/" + "é" * 128) == "é" * 128  # 256 bytes in UTF-8
        True
        >>> long_name("a/" + "é" * 127) is None
        True
    """
    if len(path) <= _SHORT:
        return None  # NOTE: the common case, nothing split or encoded
    return next(
        (n for n in path.split("/") if len(n) > _SHORT and _utf8_size(n) > MAX_NAME_BYTES), None
    )


def check_new_paths(paths: list[str]) -> None:
    """Refuse new dataset paths holding a name no common file system can store.

    Such a path could be added and uploaded, but never materialised (``get_local_copy``
    fails on it), so it is refused when it enters a version.

    NOTE: a full version of 100,000 files passes every path here. A regex or a split per
    path cost 60-500 ms (measured, 100,000 paths of 60 characters); instead the paths of
    over 63 characters (only those can hold such a name) are joined, encoded once, mapped
    byte by byte to ``x`` or a separator (``bytes.translate``) and searched for 256 ``x``
    in a row: 26 ms, a third of what ``validate_paths`` takes for the same paths.

    Raises:
        ValidationError: Naming the first such path and how long its name is.
    """
    long = [p for p in paths if len(p) > _SHORT]
    if not long:
        return
    joined = "\n".join(long)
    try:
        data = joined.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = joined.encode("utf-8", "surrogatepass")
    at = data.translate(_NAME_BYTES).find(_TOO_LONG)
    if at >= 0:
        path = long[data.count(b"\n", 0, at)]
        raise too_long(path, long_name(path) or path, "shorten it")


def too_long(path: str, name: str, advice: str) -> ValidationError:
    """The error for a dataset path holding a name over :data:`MAX_NAME_BYTES`."""
    return ValidationError(
        f"dataset path {path!r} holds a name of {_utf8_size(name)} bytes "
        f"({name[:24]}...); file systems store at most {MAX_NAME_BYTES} bytes (UTF-8) per "
        f"file or folder name: {advice}",
        path=path,
    )


def _utf8_size(name: str) -> int:
    """Bytes of ``name`` on disk: a lone surrogate from an undecodable local name
    (``surrogateescape``) is the one byte it stands for."""
    try:
        return len(name.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(name.encode("utf-8", "surrogatepass"))


def normalize_prefix(prefix: str | None) -> str:
    """Turn a user's ``dataset_path`` ("", "a/b/", "/a") into "" or a safe "a/b".

    Raises:
        UnsafePathError: The prefix would leave the dataset.
    """
    cleaned = (prefix or "").replace("\\", "/").strip("/")
    return validate_path(cleaned) if cleaned else ""


def join(prefix: str, relative: str) -> str:
    """Join a normalized prefix and a relative path, and validate the result."""
    return validate_path(f"{prefix}/{relative}" if prefix else relative)


class LayoutChecker:
    """Find a path that is both a file and a folder (``a`` and ``a/b``) in sorted paths.

    Feed every path of a manifest in order to :meth:`file_above`; memory stays bounded by
    the nesting depth, not the number of paths.
    """

    def __init__(self) -> None:
        self._stack: list[str] = []

    def file_above(self, path: str) -> str | None:
        """Return an earlier file path that ``path`` lies inside, or None."""
        # NOTE: paths sharing a prefix are contiguous in sorted order, so a prefix that does
        # not start this path starts no later one either.
        stack = self._stack
        while stack and not path.startswith(stack[-1]):
            stack.pop()
        # NOTE: usually empty by now (siblings are not prefixes of each other): no scan.
        found = next((f for f in stack if path.startswith(f + "/")), None) if stack else None
        stack.append(path)
        return found


@lru_cache(maxsize=256)
def _compile(pattern: str, recursive: bool) -> glob.WcMatcher[str]:
    # NOTE: wcmatch is imported by the first glob, not with this module: it takes a tenth of
    # a second, which commands and tasks that match nothing would pay at start-up.
    from wcmatch import glob

    # NOTE: a pattern matching a folder selects the files inside: at any depth ("**/p",
    # "**/p/**") when recursive, else from the root and only its direct files ("p", "p/*").
    globs = [f"**/{pattern}", f"**/{pattern}/**"] if recursive else [pattern, f"{pattern}/*"]
    # ``**`` crosses folders, ``*`` matches names starting with a dot too, ``/`` separates.
    return glob.compile(globs, flags=glob.GLOBSTAR | glob.DOTGLOB | glob.FORCEUNIX)


class PathMatcher:
    """Glob matching of dataset paths, with ClearML-compatible folder semantics.

    Matching is done by ``wcmatch`` (bash-style globs):

    * ``*`` and ``?`` stay inside one path component; ``**`` crosses components, and
      ``**/`` also matches no folder at all (``**/*.csv`` selects ``a.csv``); names
      starting with a dot are matched like any other.
    * A pattern that names a folder (``sub`` or ``sub/``) matches the files inside it.
    * ``recursive=True``: the pattern may match at any depth (``*.csv`` matches
      ``a/b/c.csv``). ``recursive=False``: it is anchored at the dataset root, and a folder
      pattern matches only the files directly inside that folder.

    Raises:
        ValidationError: The pattern is empty, or has a ``[`` that is never closed.

    Example:
        >>> PathMatcher("*.csv", recursive=True).matches("a/b.csv")
        True
        >>> PathMatcher("*.csv", recursive=False).matches("a/b.csv")
        False
    """

    def __init__(self, pattern: str, *, recursive: bool = True) -> None:
        if not isinstance(pattern, str) or not pattern.strip("/"):
            raise ValidationError(f"empty pattern: {pattern!r}", pattern=pattern)
        self.pattern = pattern.strip("/")
        self.recursive = recursive
        _check_classes(pattern)
        self._matcher = _compile(self.pattern, recursive)

    def matches(self, path: str) -> bool:
        """Return whether ``path`` (a dataset path) is selected by the pattern."""
        return bool(self._matcher.match(path))


def _check_classes(pattern: str) -> None:
    """Refuse ``[`` classes a glob library would read as literal text or match nothing with:
    unclosed, empty, or with a range running backwards. Almost always a typo."""
    start = pattern.find("[")
    while start >= 0:
        end = pattern.find("]", start + 1)
        body = pattern[start + 1 : end].removeprefix("!")
        if end < 0:
            problem = "unclosed '['"
        elif not body:
            problem = "empty '[]'"
        elif any(body[i - 1] > body[i + 1] for i in range(1, len(body) - 1) if body[i] == "-"):
            problem = f"range out of order in '[{body}]'"
        else:
            start = pattern.find("[", end + 1)
            continue
        raise ValidationError(f"bad pattern {pattern!r}: {problem}", pattern=pattern)


def any_match(matchers: list[PathMatcher], path: str) -> bool:
    """Return whether any matcher selects ``path``; an empty list selects everything."""
    return not matchers or any(m.matches(path) for m in matchers)
