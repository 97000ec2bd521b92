"""Write-side partitioning: split a source's files into ``n`` balanced parts for ``n`` workers.

Many workers build one version together (Airflow mapped tasks, Prefect ``.map``, Dask): each
adds its share of the files, and ``finalize`` merges what they staged. :func:`partition`
computes the shares once, where the work is planned, and hands each worker a :class:`Part`:
a range ``[start, stop)`` of relative paths in Python string order (the order manifests
use), not a list of files. So a part is a few strings whatever the source's size (it fits
through Airflow's XCom and Prefect's results), every worker decides alone which files are
its own, and a file that appears after the plan was made still falls into exactly one part:
part 0 starts at None, the last part stops at None, and each part stops where the next one
starts.

Parts are balanced when they are computed, by file count (contiguous runs of the sorted
paths whose sizes differ by at most one, the first ``total % n`` one file longer, as
``get_local_copy(part=k, num_parts=n)`` deals a version out) or by bytes (part ``k`` starts at
the file boundary nearest to ``k/n`` of the total bytes, so no part holds more than
``total / n`` plus its largest file).

Not to be confused with :class:`dataver.manifest.parts.Part` (the read side: worker ``k`` of
``n`` readers of a Final version, counted by position, which a Final manifest never changes).
"""

from __future__ import annotations

import os
import re
import stat as stat_module
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, pairwise
from typing import Any, Literal, NoReturn, get_args

from dataver.errors import NotFoundError, ValidationError
from dataver.paths import PathMatcher, any_match, validate_paths
from dataver.policies import Symlinks, check_symlinks
from dataver.scan import local_root, scan, scan_folder
from dataver.storage import redact_url

By = Literal["count", "bytes"]
"""What :func:`partition` balances: the number of files or their bytes."""

BY_VALUES: tuple[By, ...] = get_args(By)

_FIELDS = ("index", "count", "start", "stop", "files", "bytes", "source", "by")
_REQUIRED = frozenset(("index", "count", "start", "stop"))
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")
"""A URL with a scheme (two characters at least: ``C://`` is a Windows drive)."""


@dataclass(frozen=True, slots=True)
class Part:
    """Part ``index`` of ``count``: the files whose relative path is in ``[start, stop)``.

    Paths compare in Python string order (by code point), as manifests sort them; None is
    unbounded. The ``count`` parts of one :func:`partition` are disjoint and cover every
    string, so any path, including one added after the parts were computed, is in exactly
    one of them.

    Attributes:
        index: Which part, from 0.
        count: How many parts there are (``n``).
        start: The first path of the part (None for part 0: from the beginning).
        stop: The first path of the next part (None for the last part: to the end).
        files: Files the part held when it was computed.
        bytes: Their bytes (0 when not read: a file list split by count).
        source: The folder or URL the parts were computed from (credentials removed), or
            None for a file list.
        by: What the parts were balanced by: ``"count"`` or ``"bytes"``.

    Raises:
        ValidationError: A field is invalid (named in the message and the ``field`` field):
            ``index`` outside ``0 .. count - 1``, a start on part 0 or a missing one on
            another part, a stop on the last part or a missing one on another, ``start >=
            stop``, a negative ``files`` or ``bytes``, or an unknown ``by``.

    Example:
        >>> part = Part(1, 2, "m", None, files=3, bytes=42, source="data", by="count")
        >>> part.contains("photos/1.jpg"), part.contains("labels.csv")
        (True, False)
        >>> part.select(["a.csv", "x/y.jpg", "n.txt"])
        ['x/y.jpg', 'n.txt']
    """

    index: int
    count: int
    start: str | None
    stop: str | None
    files: int = 0
    bytes: int = 0
    source: str | None = None
    by: By = "count"

    def __post_init__(self) -> None:
        _check_types(self)
        if self.count < 1:
            _bad("count", self.count, "must be at least 1")
        if not 0 <= self.index < self.count:
            _bad("index", self.index, f"must be between 0 and count - 1 = {self.count - 1}")
        first, last = self.index == 0, self.index == self.count - 1
        if (self.start is None) != first:
            _bad("start", self.start, "must be None on part 0 and only there")
        if (self.stop is None) != last:
            _bad("stop", self.stop, "must be None on the last part and only there")
        if self.start is not None and self.stop is not None and not self.start < self.stop:
            _bad("stop", self.stop, f"must come after start {self.start!r}")

    def contains(self, path: str) -> bool:
        """Whether ``path`` (relative, as the parts were computed) is in this part."""
        return (self.start is None or self.start <= path) and (
            self.stop is None or path < self.stop
        )

    def select(self, paths: Iterable[str]) -> list[str]:
        """The paths of ``paths`` that are in this part, in their order."""
        return [p for p in paths if self.contains(p)]

    def to_dict(self) -> dict[str, Any]:
        """The part as a JSON-friendly dict (what goes through XCom or a Prefect result);
        :meth:`from_dict` turns it back."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Part:
        """The part that :meth:`to_dict` gave ``data`` for, checked.

        ``index``, ``count``, ``start`` and ``stop`` are required; ``files``, ``bytes``,
        ``source`` and ``by`` default to 0, 0, None and ``"count"``.

        Raises:
            ValidationError: ``data`` is not a mapping, lacks a required key, has a key
                that is not a field, or a field is invalid (see :class:`Part`).
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"a part must be a mapping, got {type(data).__name__}", field=None, value=repr(data)
            )
        unknown = sorted(map(str, set(data) - set(_FIELDS)))
        if unknown:
            raise ValidationError(
                f"unknown part field {unknown[0]!r} (a part has {', '.join(_FIELDS)})",
                field=unknown[0],
                unknown=unknown,
            )
        missing = [name for name in _FIELDS if name in _REQUIRED and name not in data]
        if missing:
            raise ValidationError(f"part field {missing[0]!r} is missing", field=missing[0])
        return cls(**data)


def coerce(value: Part | Mapping[str, Any]) -> Part:
    """``value`` as a :class:`Part`: itself, or a dict from :meth:`Part.to_dict` checked.

    For APIs that take a part either way (a task receives the dict its upstream returned).

    Raises:
        ValidationError: ``value`` is neither, or an invalid part (see :meth:`Part.from_dict`).
    """
    if isinstance(value, Part):
        return value
    return Part.from_dict(value)


def _check_types(part: Part) -> None:
    for name in ("index", "count", "files", "bytes"):
        value = getattr(part, name)
        if not isinstance(value, int) or isinstance(value, bool):
            _bad(name, value, "must be an integer")
    for name in ("start", "stop", "source"):
        value = getattr(part, name)
        if value is not None and not isinstance(value, str):
            _bad(name, value, "must be a string or None")
    for name in ("files", "bytes"):
        if getattr(part, name) < 0:
            _bad(name, getattr(part, name), "must not be negative")
    if part.by not in BY_VALUES:
        _bad("by", part.by, "must be 'count' or 'bytes'")


def _bad(name: str, value: object, problem: str) -> NoReturn:
    raise ValidationError(f"part field {name!r} {problem}, got {value!r}", field=name, value=value)


# ----------------------------------------------------------------------------- partition


def partition(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    n: int,
    *,
    by: By = "count",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
    symlinks: Symlinks = "refuse",
) -> list[Part]:
    """Split the files of ``source`` into ``n`` balanced parts, stable as files are added.

    Each part is a range of relative paths (see :class:`Part`), chosen now so the parts are
    balanced by file count or by bytes; a file added later falls into exactly one part.
    The same files always give the same parts.

    Args:
        source: What to split:

            * a local folder: its files relative to it, exactly the dataset paths
              ``add_files(folder)`` gives them (a single file: its name);
            * a URL with a scheme (``s3://bucket/prefix``, ``memory://``, ``file://``, any
              fsspec URL): the files below it, relative to it, as ``add_external_files``
              lists them;
            * a list or tuple of local file paths: partitioned as the strings given
              (relative or absolute; a repeated one counts once), read from disk only for
              ``by="bytes"``.
        n: How many parts (at least 1).
        by: ``"count"``: the parts' file counts differ by at most one. ``"bytes"``: part
            ``k`` starts at the file boundary nearest to ``k/n`` of the total bytes, so no
            part holds more than ``total / n`` plus its largest file (by count when every
            file is empty).
        wildcard: Glob(s) selecting files, matched at any depth as in ``add_files``
            (folders and URLs).
        recursive: Descend into sub-folders (folders and URLs).
        symlinks: Links in a local folder that lead outside it, as in ``add_files``:
            ``"refuse"`` (raise), ``"follow"`` or ``"skip"``.

    Returns:
        The ``n`` parts, in order. When there are fewer files than parts (or one file holds
        the bytes of several parts), parts are left without a file: each starts just after
        the last file before it (``path + "\\0"``, then ``path + "\\0\\0"``, ...), so the
        boundaries stay strictly increasing. No dataset path holds a NUL character, so of a
        run of such parts only the last can ever get a file: one added later between that
        file and the next (after the last file, for parts at the end).

    Raises:
        ValidationError: ``n`` is not an integer of at least 1, ``by``, ``symlinks`` or a
            wildcard is invalid, a wildcard is given with a file list, a listed path is
            empty or holds a NUL character, or the local scan refuses the folder (links
            outside it, as ``add_files``).
        NotFoundError: ``source`` does not exist (for ``by="bytes"``: a listed file).
        UnsafePathError: A file's relative path would not be a safe dataset path.

    Example:
        >>> first, second = partition(["c.csv", "a.csv", "b.csv", "d.csv"], 2)
        >>> first.start, first.stop, second.start, second.stop
        (None, 'c.csv', 'c.csv', None)
        >>> first.files, second.files
        (2, 2)
    """
    _check_arguments(n, by, symlinks)
    matchers = [PathMatcher(w, recursive=True) for w in _wildcards(wildcard)]
    paths, sizes, where = _listing(source, by, matchers, wildcard, recursive, symlinks)
    if by == "bytes" and sizes is not None:
        cuts = _cuts_by_bytes(sizes, n)
    else:
        cuts = _cuts_by_count(len(paths), n)
    starts = _starts(paths, cuts)
    stops = [*starts[1:], None]
    sums = _sums(sizes, cuts) if sizes is not None else [0] * n
    return [
        Part(k, n, starts[k], stops[k], cuts[k + 1] - cuts[k], sums[k], where, by) for k in range(n)
    ]


def _check_arguments(n: int, by: str, symlinks: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool):
        raise ValidationError(f"n must be an integer, got {n!r}", n=n)
    if n < 1:
        raise ValidationError(f"n must be at least 1, got {n}", n=n)
    if by not in BY_VALUES:
        raise ValidationError(f"by must be 'count' or 'bytes', got {by!r}", by=by)
    check_symlinks(symlinks)


def _wildcards(wildcard: str | list[str] | None) -> list[str]:
    return [wildcard] if isinstance(wildcard, str) else list(wildcard or [])


_Listed = tuple[list[str], list[int] | None, str | None]
"""Sorted paths, their sizes (None when not read), and the source to record in the parts."""


def _listing(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    by: By,
    matchers: list[PathMatcher],
    wildcard: str | list[str] | None,
    recursive: bool,
    symlinks: Symlinks,
) -> _Listed:
    """The sorted paths of ``source`` (and sizes, when known) as columns."""
    if isinstance(source, (list, tuple)):
        if matchers:
            # NOTE: refused, not ignored: a list given with wildcards was meant to be filtered.
            raise ValidationError(
                "wildcard selects the files of a folder or URL; filter a file list before "
                "partitioning it",
                wildcard=wildcard,
            )
        return _file_list(source, by)
    if isinstance(source, str) and _URL.match(source):
        return _url(source, matchers, recursive)
    if isinstance(source, (str, os.PathLike)):
        return _folder(source, wildcard, recursive, symlinks)
    raise ValidationError(
        "source must be a folder, a URL, or a list or tuple of file paths, "
        f"got {type(source).__name__}",
        source=repr(source),
    )


def _folder(
    source: str | os.PathLike[str],
    wildcard: str | list[str] | None,
    recursive: bool,
    symlinks: Symlinks,
) -> _Listed:
    """A local folder (or file) listed by the scanner ``add_files`` uses, so the relative
    paths are the dataset paths it would give."""
    named = os.fspath(source)
    if not local_root(source).exists():
        raise NotFoundError(f"no such file or folder: {named}", path=named)
    if wildcard:
        # NOTE: with wildcards, the scan that add_files makes (rows): a link outside the
        # folder is refused only if a wildcard selects it.
        rows = scan(
            source, "", wildcards=_wildcards(wildcard), recursive=recursive, symlinks=symlinks
        )
        return [f.path for f in rows], [f.size for f in rows], named
    # NOTE: only two columns of the listing are kept: 10 million paths stay strings and ints.
    listing = scan_folder(source, "", recursive=recursive, symlinks=symlinks)
    return listing.paths, listing.sizes, named


def _url(url: str, matchers: list[PathMatcher], recursive: bool) -> _Listed:
    """The files below a URL, relative to it, as ``add_external_files`` lists them (a URL
    naming one file: that file, by name)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.exists(root):
        shown = redact_url(url)
        raise NotFoundError(f"no such file or folder: {shown}", path=shown)
    top = root.rstrip("/")
    if fs.isfile(root):
        found: dict[str, Any] = {top: {"type": "file", "size": fs.size(root)}}
        lead = len(top) - len(top.rsplit("/", 1)[-1])
    else:
        found = fs.find(root, maxdepth=None if recursive else 1, detail=True)
        lead = len(top) + 1
    paths: list[str] = []
    sizes: list[int] = []
    for full in sorted(found):  # NOTE: one prefix: the order of the relative paths
        info = found[full]
        if info.get("type") == "file" and any_match(matchers, full[lead:]):
            paths.append(full[lead:])
            sizes.append(int(info.get("size") or 0))
    validate_paths(paths)
    return paths, sizes, redact_url(url)


def _file_list(files: Sequence[str | os.PathLike[str]], by: By) -> _Listed:
    """File paths as given (sorted, repeats once); sizes from ``os.stat`` for ``by="bytes"``."""
    named: set[str] = set()
    for item in files:
        if not isinstance(item, (str, os.PathLike)):
            raise ValidationError(
                f"a file list holds paths, got {type(item).__name__}: {item!r}", path=repr(item)
            )
        named.add(os.fspath(item))
    paths = sorted(named)
    del named
    for path in paths:
        # NOTE: empty parts use "\0" suffixes as boundaries: a NUL in a path could fall there.
        if not path or "\0" in path:
            raise ValidationError(f"not a file path: {path!r}", path=path)
    return paths, _stat_sizes(paths) if by == "bytes" else None, None


def _stat_sizes(paths: list[str]) -> list[int]:
    sizes: list[int] = []
    missing: list[str] = []
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            missing.append(path)
            continue
        except OSError as exc:
            raise ValidationError(f"cannot read {path}: {exc.strerror or exc}", path=path) from exc
        if not stat_module.S_ISREG(info.st_mode):
            raise ValidationError(f"not a regular file: {path}", path=path)
        sizes.append(info.st_size)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise NotFoundError(
            f"no such file: {', '.join(missing[:5])}{more}", path=missing[0], missing=missing
        )
    return sizes


# ----------------------------------------------------------------------------- the cuts


def _cuts_by_count(total: int, n: int) -> list[int]:
    """Where each of ``n`` parts starts among ``total`` sorted files, and ``total``: runs
    whose sizes differ by at most one, the first ``total % n`` one longer."""
    size, extra = divmod(total, n)
    return [k * size + min(k, extra) for k in range(n + 1)]


def _cuts_by_bytes(sizes: list[int], n: int) -> list[int]:
    """Where each of ``n`` parts starts among the files of ``sizes``, and their count.

    Part ``k`` starts at the file boundary nearest to ``k/n`` of the total bytes (the
    earlier one on a tie): each cut is at most half a file away from its target, so no
    part holds more than ``total / n`` plus its largest file. Compared as integers
    (``bytes * n`` against ``total * k``: no rounding); one pass, no object per file.
    """
    total = sum(sizes)
    if total == 0:
        return _cuts_by_count(len(sizes), n)
    cuts = [0]
    before = 0
    for i, size in enumerate(sizes):
        after = before + size
        # NOTE: the targets within this file: cut before it or after it, whichever is nearer.
        while len(cuts) < n and after * n > total * len(cuts):
            target = total * len(cuts)
            cuts.append(i if target - before * n <= after * n - target else i + 1)
        before = after
    cuts += [len(sizes)] * (n + 1 - len(cuts))
    return cuts


def _starts(paths: list[str], cuts: list[int]) -> list[str | None]:
    """The first path of each part: None for part 0, the path at its cut for a part with
    files, and for an empty part the last path before it followed by one more NUL than
    the empty part before it (strictly increasing, and never a dataset path)."""
    starts: list[str | None] = [None]
    empty_run = 0
    for k in range(1, len(cuts) - 1):
        at = cuts[k]
        if at < cuts[k + 1]:
            starts.append(paths[at])
            empty_run = 0
        else:
            empty_run += 1
            starts.append((paths[at - 1] if at else "") + "\0" * empty_run)
    return starts


def _sums(sizes: list[int], cuts: list[int]) -> list[int]:
    """The bytes of each part: one pass over ``sizes`` (``islice`` of one iterator)."""
    remaining = iter(sizes)
    return [sum(islice(remaining, stop - start)) for start, stop in pairwise(cuts)]
