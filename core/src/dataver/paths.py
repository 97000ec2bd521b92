"""Dataset paths: validation and glob matching.

A dataset path is relative, uses ``/``, and can never leave the dataset: no ``..``, no
absolute path, no empty or ``.`` component, no backslash, no control character. Every path
is checked when it enters a manifest (add) and when it leaves one (read, materialise).
"""

from __future__ import annotations

import re
from functools import lru_cache

from dataver.errors import UnsafePathError, ValidationError

MAX_PATH_LENGTH = 4096
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
        while self._stack and not path.startswith(self._stack[-1]):
            self._stack.pop()
        found = next((f for f in self._stack if path.startswith(f + "/")), None)
        self._stack.append(path)
        return found


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            # "**/" is zero or more folders: "**/*.csv" also matches "a.csv" at the root.
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValidationError(f"bad pattern {pattern!r}: unclosed '['", pattern=pattern)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ValidationError(f"bad pattern {pattern!r}: {exc}", pattern=pattern) from exc


class PathMatcher:
    """Glob matching of dataset paths, with ClearML-compatible folder semantics.

    * ``*`` and ``?`` stay inside one path component; ``**`` crosses components, and
      ``**/`` also matches no folder at all (``**/*.csv`` selects ``a.csv``).
    * A pattern that names a folder (``sub`` or ``sub/``) matches the files inside it.
    * ``recursive=True``: the pattern may match at any depth (``*.csv`` matches
      ``a/b/c.csv``). ``recursive=False``: it is anchored at the dataset root, and a folder
      pattern matches only the files directly inside that folder.

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
        self._regex = _compile(self.pattern)

    def matches(self, path: str) -> bool:
        """Return whether ``path`` (a dataset path) is selected by the pattern."""
        parts = path.split("/")
        starts = range(len(parts)) if self.recursive else range(1)
        for start in starts:
            for end in range(len(parts), start, -1):
                is_folder = end < len(parts)
                if is_folder and not self.recursive and end != len(parts) - 1:
                    continue
                if self._regex.fullmatch("/".join(parts[start:end])):
                    return True
        return False


def any_match(matchers: list[PathMatcher], path: str) -> bool:
    """Return whether any matcher selects ``path``; an empty list selects everything."""
    return not matchers or any(m.matches(path) for m in matchers)
