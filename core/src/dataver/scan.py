"""Scanning local files and comparing them with a manifest: walk, stat, hash what changed.

This is the hot path of ``add_files`` and ``sync_folder``: a no-change sync of 100,000 files
must take well under a second. So a walk hands back columns (a :class:`Listing`: one list
per field), paths are validated in one batch, and a file whose (size, mtime, inode) the stat
cache vouches for is compared by hash without ever being opened or turned into an object of
its own. The walk runs in C on several threads without the GIL when the optional extension
is installed (:mod:`dataver.native`), in Python otherwise; both give the same columns.

Symbolic links follow one policy (docs/concepts.md, "Symbolic links"; decision 27): a link
to a file inside the folder is that file's content; a link that leads outside the folder is
refused (the default), followed or skipped, as the caller says; dangling links, loops and
links to folders inside are left out. The walk reports which entries are links, so only
those few are resolved (``os.path.realpath``) and checked.
"""

from __future__ import annotations

import errno
import hashlib
import operator
import os
import re
import stat as stat_module
import time
from itertools import islice, repeat, starmap
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dataver import native, progress
from dataver.errors import NotFoundError, ValidationError
from dataver.hashing import hash_file
from dataver.manifest.entry import Entry
from dataver.paths import PathMatcher, any_match, join, validate_paths
from dataver.policies import Symlinks, check_symlinks
from dataver.statcache import FileStat, is_racy
from dataver.workers import stopping_pool

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from dataver.statcache import StatCache


class LocalFile(NamedTuple):
    """A local file found by a scan, with its dataset path."""

    path: str
    local: str
    size: int
    mtime_ns: int
    inode: int

    @property
    def stat(self) -> FileStat:
        return FileStat(self.size, self.mtime_ns, self.inode)


class Link(NamedTuple):
    """A symbolic link found by a walk: to a file (also listed as that file) or a folder."""

    path: str
    local: str
    is_folder: bool


class Compared(NamedTuple):
    """New or changed entries (pending upload) found by :func:`compare`."""

    added: list[Entry]
    modified: list[Entry]


class Listing:
    """Files found by a walk, as columns: one list per field, in the same file order.

    ``folders[i] + names[i]`` is a file's local path: ``folders[i]`` is its folder with a
    trailing separator, one string object for a run of files in one folder (so the stat
    cache's rows of a folder are looked up once per run). :func:`compare` pairs these
    columns with a manifest without making an object per file: a file the stat cache
    vouches for costs a dict look-up and three comparisons (10,000 files: ~1 ms less than
    pairing :class:`LocalFile` rows, besides the rows not made).
    """

    __slots__ = ("folders", "inodes", "mtimes", "names", "paths", "sizes")

    def __init__(
        self,
        paths: list[str],
        folders: list[str],
        names: list[str],
        sizes: list[int],
        mtimes: list[int],
        inodes: list[int],
    ) -> None:
        self.paths = paths
        self.folders = folders
        self.names = names
        self.sizes = sizes
        self.mtimes = mtimes
        self.inodes = inodes

    @classmethod
    def of_rows(cls, rows: list[LocalFile]) -> Listing:
        """The columns of ``rows`` (in their order)."""
        folders: list[str] = []
        names: list[str] = []
        last = ""
        for row in rows:
            head, sep, name = row.local.rpartition(os.sep)
            folder = head + sep
            if folder != last:  # NOTE: a run of one folder shares one string (see above)
                last = folder
            folders.append(last)
            names.append(name)
        columns = list(map(list, zip(*rows, strict=True))) if rows else [[], [], [], [], []]
        paths, _, sizes, mtimes, inodes = columns
        return cls(paths, folders, names, sizes, mtimes, inodes)

    def __len__(self) -> int:
        return len(self.paths)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Listing) and self.columns() == other.columns()

    def __repr__(self) -> str:
        return f"<Listing of {len(self):,} files>"

    def rows(self) -> list[LocalFile]:
        """The files as :class:`LocalFile` rows (made in C: ``map`` and ``zip``)."""
        local = map(operator.add, self.folders, self.names)
        columns = zip(self.paths, local, self.sizes, self.mtimes, self.inodes, strict=True)
        return list(map(tuple.__new__, repeat(LocalFile), columns))

    def in_order(self) -> Listing:
        """The same files sorted by dataset path (``self`` if they already are)."""
        paths = self.paths
        if all(map(operator.lt, paths, islice(paths, 1, None))):
            return self
        order = sorted(range(len(paths)), key=paths.__getitem__)
        return Listing(*(list(map(column.__getitem__, order)) for column in self.columns()))

    def columns(self) -> tuple[list[Any], ...]:
        """(paths, folders, names, sizes, mtimes, inodes)."""
        return (self.paths, self.folders, self.names, self.sizes, self.mtimes, self.inodes)

    def where(self, keep: Callable[[str], bool]) -> Listing:
        """The files whose dataset path ``keep`` accepts (``self`` if it accepts them all)."""
        index = [i for i, path in enumerate(self.paths) if keep(path)]
        if len(index) == len(self.paths):
            return self
        return Listing(*(list(map(column.__getitem__, index)) for column in self.columns()))


def scan(
    source: str | os.PathLike[str],
    prefix: str,
    *,
    wildcards: list[str] | None,
    recursive: bool,
    symlinks: Symlinks = "refuse",
) -> list[LocalFile]:
    """List the files to add from a file or folder, sorted by dataset path.

    A folder contributes its contents relative to itself, under ``prefix``; a single file
    contributes itself by name. ``source`` itself may be a link: the path named is the
    caller's choice, and "inside" means inside the folder it resolves to. Inside a folder,
    symbolic links follow the ``symlinks`` policy (see :data:`Symlinks`); only links that
    would be added count (a link to a file that ``wildcards`` leave out is never read).

    Raises:
        NotFoundError: ``source`` does not exist.
        ValidationError: ``source`` is neither a file nor a folder; ``symlinks`` is unknown;
            with ``symlinks="refuse"``, links lead outside the folder (all named in the
            error's ``links`` field; checked before any file is read).
        UnsafePathError: A file name would make an unsafe dataset path.
    """
    policy = check_symlinks(symlinks)
    root = local_root(source)
    matchers = [PathMatcher(w, recursive=True) for w in wildcards or []]
    if root.is_file():
        if not any_match(matchers, root.name):
            return []
        stat = root.stat()
        return [_file(join(prefix, root.name), str(root), stat)]
    _check_folder(root, prefix)
    skip = len(prefix) + 1 if prefix else 0

    def selected(path: str) -> bool:
        return any_match(matchers, path[skip:])

    links: list[Link] = []
    files = _list(root, f"{prefix}/" if prefix else "", recursive, links).rows()
    if outside := _outside(root, links):
        files = _apply_policy(root, files, outside, policy, selected if matchers else None)
    if matchers:
        files = [f for f in files if selected(f.path)]
    return _checked(files, prefix)


def scan_folder(
    source: str | os.PathLike[str], prefix: str, *, recursive: bool, symlinks: Symlinks = "refuse"
) -> Listing:
    """Like :func:`scan` without wildcards, as a :class:`Listing` (columns, no row per file):
    what :func:`compare` pairs fastest.

    Raises:
        NotFoundError, ValidationError, UnsafePathError: As :func:`scan`.
    """
    policy = check_symlinks(symlinks)
    root = local_root(source)
    if root.is_file():
        rows = scan(source, prefix, wildcards=None, recursive=recursive, symlinks=policy)
        return Listing.of_rows(rows)
    _check_folder(root, prefix)
    links: list[Link] = []
    listing = _list(root, f"{prefix}/" if prefix else "", recursive, links)
    if outside := _outside(root, links):
        rows = listing.rows()
        kept = _apply_policy(root, rows, outside, policy, None)
        if kept is not rows:  # NOTE: rare: links outside, skipped or followed
            return Listing.of_rows(_checked(kept, prefix))
    skip = len(prefix) + 1 if prefix else 0
    validate_paths([p[skip:] for p in listing.paths] if skip else listing.paths)
    return listing.in_order()


def scan_pieces(
    source: str | os.PathLike[str],
    prefix: str,
    *,
    wildcards: list[str] | None,
    recursive: bool,
    symlinks: Symlinks = "refuse",
    files: int,
) -> Iterator[Listing]:
    """What :func:`scan` lists, as listings of about ``files`` files each, in path order,
    walked while they are taken: memory follows the piece, not the folder.

    The walk holds the names of the folders it is in (one list per level; a folder of a
    million files is a million names) and the files of one piece. Links follow the
    ``symlinks`` policy piece by piece: a refused link is reported when the walk reaches
    it, not before any file is read (a writer, whose work counts only once it commits,
    is the caller). A piece holds more than ``files`` files only for a followed link to a
    folder: all its files are in the piece of the link.

    Raises:
        NotFoundError, ValidationError, UnsafePathError: As :func:`scan`.
    """
    policy = check_symlinks(symlinks)
    root = local_root(source)
    matchers = [PathMatcher(w, recursive=True) for w in wildcards or []]
    if root.is_file():
        rows = scan(source, prefix, wildcards=wildcards, recursive=recursive, symlinks=policy)
        if rows:
            yield Listing.of_rows(rows)
        return
    _check_folder(root, prefix)
    skip = len(prefix) + 1 if prefix else 0

    def selected(path: str) -> bool:
        return any_match(matchers, path[skip:])

    lead = f"{prefix}/" if prefix else ""
    for listing, links in _walk_pieces(root, lead, recursive, max(files, 1)):
        piece = listing
        if outside := _outside(root, links):
            rows = _apply_policy(
                root, piece.rows(), outside, policy, selected if matchers else None
            )
            if matchers:
                rows = [f for f in rows if selected(f.path)]
            piece = Listing.of_rows(_checked(rows, prefix))
        else:
            if matchers:
                piece = piece.where(selected)
            validate_paths([p[skip:] for p in piece.paths] if skip else piece.paths)
        if len(piece):
            yield piece


def _walk_pieces(
    root: Path, lead: str, recursive: bool, size: int
) -> Iterator[tuple[Listing, list[Link]]]:
    """:func:`_walk` in pieces of ``size`` files (each with the links it met), in path order
    as the walk goes.

    A folder's entries are sorted by the order of the paths they lead to: a file by its
    name, a sub-folder (or a link to a folder) by its name and ``/``, so ``a-b`` (a file)
    comes before the files of ``a/``. Sub-folders are walked where they sort.
    """
    listing, links = _empty_listing(), []
    top = str(root)
    frames = [(os.path.join(top, ""), lead, *_ordered_names(top, recursive))]
    while frames:
        here, rel, names, folder_links = frames[-1]
        for key in names:
            if key[-1] == "/":
                name = key[:-1]
                if key in folder_links:
                    links.append(Link(rel + name, here + name, True))
                    continue
                folder = here + name
                frames.append((folder + os.sep, rel + key, *_ordered_names(folder, True)))
                break
            local = here + key
            st = os.lstat(local)
            if not stat_module.S_ISREG(st.st_mode):
                if not stat_module.S_ISLNK(st.st_mode):
                    continue
                try:
                    st = os.stat(local)
                except OSError:
                    continue  # NOTE: dangling, or a loop (ELOOP): nothing to add
                if not stat_module.S_ISREG(st.st_mode):
                    continue  # NOTE: a link to a folder, not recursive (or changed since)
                links.append(Link(rel + key, local, False))
            listing.paths.append(rel + key)
            listing.folders.append(here)
            listing.names.append(key)
            listing.sizes.append(st.st_size)
            listing.mtimes.append(st.st_mtime_ns)
            listing.inodes.append(st.st_ino)
            if len(listing.paths) >= size:
                yield listing.in_order(), links
                listing, links = _empty_listing(), []
        else:
            frames.pop()
    if listing.paths:
        yield listing.in_order(), links


def _ordered_names(folder: str, recursive: bool) -> tuple[Iterator[str], frozenset[str]]:
    """The entries of ``folder`` as sort keys in path order (a file's name; a sub-folder's
    name and ``/``, only when ``recursive``), and the keys of those that are links to folders.

    A link to a folder sorts as a folder: the files of a followed one go there. Other links
    sort as files.
    """
    keys: list[str] = []
    folder_links: set[str] = set()
    with os.scandir(folder) as entries:
        for item in entries:
            if item.is_dir(follow_symlinks=False):
                if recursive:
                    keys.append(item.name + "/")
            elif recursive and item.is_symlink() and _is_folder(item.path):
                keys.append(item.name + "/")
                folder_links.add(item.name + "/")
            else:
                keys.append(item.name)
    keys.sort()
    return iter(keys), frozenset(folder_links)


def _is_folder(path: str) -> bool:
    try:
        return stat_module.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _empty_listing() -> Listing:
    return Listing([], [], [], [], [], [])


def local_root(source: str | os.PathLike[str]) -> Path:
    """``source`` as an absolute path, refused (naming it) if it cannot exist here.

    NOTE: a name longer than the file system allows makes ``stat`` fail with
    ``ENAMETOOLONG``, which ``Path.is_file`` and ``Path.exists`` pass on (Python 3.11) as a
    bare OSError; not found and the like are left to the caller (a NotFoundError).
    """
    root = Path(source).expanduser().absolute()
    try:
        root.stat()
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise ValidationError(
                f"cannot read {root}: a name in it is longer than the file system allows",
                path=str(root),
            ) from exc
    return root


def _check_folder(root: Path, prefix: str) -> None:
    if not root.exists():
        raise NotFoundError(f"no such file or folder: {root}", path=str(root))
    if not root.is_dir():
        raise ValidationError(f"not a regular file or folder: {root}", path=str(root))
    if prefix:
        validate_paths([prefix])


def _checked(files: list[LocalFile], prefix: str) -> list[LocalFile]:
    skip = len(prefix) + 1 if prefix else 0
    validate_paths([f.path[skip:] for f in files])
    files.sort()
    return files


def _file(path: str, local: str, stat: os.stat_result) -> LocalFile:
    return LocalFile(path, local, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def _list(root: Path, lead: str, recursive: bool, links: list[Link]) -> Listing:
    """Every file under ``root``, sorted by path bytes (str order but for names that are not
    UTF-8): by the native scanner when it is usable, else in Python.

    Appends every symbolic link kept to ``links`` (see :func:`_walk`).
    """
    if _NATIVE_SCAN is not None:
        found: list[tuple[str, str, bool]] = []
        listing = Listing(*_NATIVE_SCAN(str(root), lead, recursive, SCAN_THREADS, found))
        links.extend(map(Link._make, found))
        return listing
    return _walk(root, lead, recursive, links)


def _outside(root: Path, links: list[Link]) -> list[tuple[Link, str]]:
    """The links that lead outside ``root``'s real path, each with its real target, in path
    order. Only links are resolved: a walk meets few of them."""
    if not links:
        return []
    top = os.path.realpath(root)
    found = [(link, os.path.realpath(link.local)) for link in links]
    return sorted(((link, target) for link, target in found if not _within(target, top)))


def _apply_policy(
    root: Path,
    files: list[LocalFile],
    outside: list[tuple[Link, str]],
    policy: Symlinks,
    selected: Callable[[str], bool] | None,
) -> list[LocalFile]:
    """``files`` as the symlink policy wants them (``files`` itself if nothing changes).

    Args:
        root: The folder scanned (absolute; it may itself be a link).
        files: What the walk listed: links to files are among them, as their targets.
        outside: The links that lead outside the folder (:func:`_outside`).
        policy: What to do with them.
        selected: Whether a dataset path is wanted (wildcards), or None for all.

    Raises:
        ValidationError: Under "refuse", naming every link outside that would be added
            (a link to a folder always counts: its files could match).
    """
    if policy == "refuse":
        refused = [
            (link, target)
            for link, target in outside
            if link.is_folder or selected is None or selected(link.path)
        ]
        if refused:
            raise _refused(root, refused)
        return files
    if policy == "skip":
        gone = {link.local for link, _ in outside if not link.is_folder}
        return [f for f in files if f.local not in gone] if gone else files
    folders = [(link, target) for link, target in outside if link.is_folder]
    return files + _follow(os.path.realpath(root), folders) if folders else files


def _follow(top: str, folders: list[tuple[Link, str]]) -> list[LocalFile]:
    """The files of folders that links lead to, under each link's path (like ``cp -rL``).

    A link met on the way is followed too, unless its folder is inside ``top`` (those
    files are listed at their real paths already) or holds ``top`` or a folder followed on
    the way to it (a loop). Two links to overlapping folders list the shared files under
    both, as two links to one file do.
    """
    rows: list[LocalFile] = []
    pending: list[tuple[Link, str, tuple[str, ...]]] = [(f, t, (top,)) for f, t in folders]
    while pending:
        link, target, chain = pending.pop()
        if any(_within(seen, target) for seen in chain):
            continue  # NOTE: a loop: the folder holds one the walk came through
        found: list[Link] = []
        rows += _list(Path(link.local), f"{link.path}/", True, found).rows()
        inner = [(sub, os.path.realpath(sub.local)) for sub in found if sub.is_folder]
        pending += [(sub, real, (*chain, target)) for sub, real in inner if not _within(real, top)]
    return rows


def _within(path: str, folder: str) -> bool:
    """Whether the real path ``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


_NAMED_LINKS = 5
"""How many refused links an error message names (its ``links`` field holds them all)."""


def _refused(root: Path, refused: list[tuple[Link, str]]) -> ValidationError:
    named = ", ".join(
        f"{link.local} -> {target}{' (a folder)' if link.is_folder else ''}"
        for link, target in refused[:_NAMED_LINKS]
    )
    more = len(refused) - _NAMED_LINKS
    what = "a symbolic link leads" if len(refused) == 1 else f"{len(refused)} symbolic links lead"
    return ValidationError(
        f"{what} outside {root}: {named}{f' and {more} more' if more > 0 else ''}; "
        "pass symlinks='follow' to add what they lead to, or symlinks='skip' to leave them out",
        path=str(root),
        links=[link.local for link, _ in refused],
    )


SCAN_THREADS = min(4, os.cpu_count() or 1)
_NATIVE_SCAN: Callable[..., tuple[list[Any], ...]] | None = native.function("scan")
"""``dataver_native.scan``: the walk of :func:`_walk` with the stat calls on several threads
without the GIL (10,000 files in about a third of the time), or None (see dataver.native)."""
SCAN_RELEASES_GIL = _NATIVE_SCAN is not None
"""Whether :func:`scan` runs without the GIL (the native scanner), so other Python work can
overlap it."""


def _walk(root: Path, lead: str, recursive: bool, links: list[Link]) -> Listing:
    """Every file under ``root``, sorted by path; the twin of ``dataver_native.scan``
    (tests/native).

    Real folders are descended (when recursive). A symbolic link to a file is listed with
    its file's stat and appended to ``links``; a link to a folder is only appended (when
    recursive); dangling links and loops are left out.
    """
    listing = Listing([], [], [], [], [], [])
    add_path, add_folder, add_name = (
        listing.paths.append,
        listing.folders.append,
        listing.names.append,
    )
    add_size, add_mtime, add_inode = (
        listing.sizes.append,
        listing.mtimes.append,
        listing.inodes.append,
    )
    stack = [(str(root), lead)]
    while stack:
        folder, rel = stack.pop()
        here = os.path.join(folder, "")  # NOTE: one string for every file of the folder
        with os.scandir(folder) as entries:
            for item in entries:
                name = item.name
                if item.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append((item.path, f"{rel}{name}/"))
                    continue
                if item.is_file(follow_symlinks=False):
                    st = item.stat(follow_symlinks=False)
                    if st.st_mode & _S_IFMT == _S_IFREG:
                        add_path(rel + name)
                        add_folder(here)
                        add_name(name)
                        add_size(st.st_size)
                        add_mtime(st.st_mtime_ns)
                        add_inode(st.st_ino)
                        continue
                    if not stat_module.S_ISLNK(st.st_mode):
                        continue
                    # NOTE: made a link since it was listed: the policy must see it.
                elif not item.is_symlink():
                    continue
                try:
                    st = os.stat(item.path)
                except OSError:
                    continue  # NOTE: dangling, or a loop (ELOOP): nothing to add
                if stat_module.S_ISREG(st.st_mode):
                    links.append(Link(rel + name, item.path, False))
                    add_path(rel + name)
                    add_folder(here)
                    add_name(name)
                    add_size(st.st_size)
                    add_mtime(st.st_mtime_ns)
                    add_inode(st.st_ino)
                elif recursive and stat_module.S_ISDIR(st.st_mode):
                    links.append(Link(rel + name, item.path, True))
    return listing.in_order()


_S_IFMT, _S_IFREG = 0o170000, stat_module.S_IFREG


def folder_fingerprint(
    folder: str | os.PathLike[str], *, symlinks: Symlinks = "refuse"
) -> str | None:
    """A digest of what a sync of ``folder`` would see, reading no file's content.

    Every file's path, size, mtime and inode (as :func:`scan` lists them, with the same
    symlink policy): equal fingerprints mean an unchanged folder, as far as ``stat`` can
    tell (the stat cache's rule). Integrations use it as a cheap cache key (Prefect).
    The folder is walked a piece at a time: memory does not grow with its files.

    Returns:
        The hex digest, or None when a file changed too recently to vouch for (the stat
        cache's racy window): then nothing may be concluded from it.

    Raises:
        NotFoundError: ``folder`` does not exist. ValidationError: as :func:`scan`.
    """
    return fingerprint_scan(folder, "", symlinks=symlinks, keep=0)[0]


FINGERPRINT_PIECE = 8192
"""Files a fingerprint's walk holds at once (a piece of :func:`scan_pieces`)."""


def fingerprint_scan(
    source: str | os.PathLike[str], prefix: str, *, symlinks: Symlinks, keep: int
) -> tuple[str | None, list[LocalFile] | None]:
    """One walk of a folder: its :func:`listing_digest`, and its files if at most ``keep``.

    Returns:
        ``(digest, files)``: ``files`` as :func:`scan` lists them (sorted by path), or None
        when the folder holds more than ``keep`` files: only the digest was kept, so memory
        follows a piece of the walk, not the folder.

    Raises:
        NotFoundError, ValidationError, UnsafePathError: As :func:`scan`.
    """
    kept: list[LocalFile] | None = []

    def pieces() -> Iterator[list[LocalFile]]:
        nonlocal kept
        for listing in scan_pieces(
            source,
            prefix,
            wildcards=None,
            recursive=True,
            symlinks=symlinks,
            files=FINGERPRINT_PIECE,
        ):
            rows = listing.rows()
            if kept is not None:
                kept.extend(rows)
                if len(kept) > keep:
                    kept = None  # NOTE: too many to hold: the caller walks again if it must
            yield rows

    return listing_digest(pieces()), kept


_RECORD = "{}\0{}\0{}\0{}\0{}\n".format


def listing_digest(pieces: Iterable[list[LocalFile]]) -> str | None:
    """A digest of what a scan saw (paths, local paths, sizes, mtimes, inodes), given as
    pieces of files in path order: the same files give the same digest however cut.

    None when a file changed within the stat cache's racy window: its stat could not prove
    later that it is unchanged (every piece is consumed all the same).
    """
    now = time.time_ns()
    racy = False
    digest = hashlib.sha256()
    for rows in pieces:
        racy = racy or any(is_racy(f.mtime_ns, now) for f in rows)
        # NOTE: one record per file, each ended by a newline: the cuts between pieces do
        # not change the bytes hashed. Formatted in C (starmap), one piece at a time.
        text = "".join(starmap(_RECORD, rows))
        digest.update(text.encode("utf-8", "surrogateescape"))
    return None if racy else digest.hexdigest()


def compare(
    files: list[LocalFile] | Listing,
    existing: Iterator[Entry] | Callable[[str], Entry | None],
    cache: StatCache,
    *,
    algorithm: str,
    known: dict[str, dict[str, list[Any]]] | None,
    workers: int,
    on_missing: Callable[[Entry], None] | None = None,
) -> Compared:
    """Compare scanned files with a manifest's entries; hash only what the cache cannot vouch for.

    Args:
        files: Scanned files, sorted by path: rows (:func:`scan`) or columns
            (:func:`scan_folder`, faster).
        existing: The manifest's entries under the scanned prefix in path order, or a
            look-up function (for a single file).
        cache: The stat cache.
        algorithm: Content hash algorithm.
        known: The stat cache's rows for the scanned folder (``StatCache.lookup_folder``),
            or None to look files up one by one (a single file).
        workers: Hashing threads (hashing releases the GIL).
        on_missing: Called with each existing entry that no scanned file matches.
    """
    result = Compared([], [])
    todo = _to_hash(files, existing, cache, algorithm, known, result, on_missing)
    if todo:
        hashed_from = time.time_ns()
        digests = _hash_all(
            [f.local for f, _ in todo], [f.size for f, _ in todo], algorithm, workers
        )
        cache.store(
            ((f.local, f.stat, d) for (f, _), d in zip(todo, digests, strict=True)),
            algorithm,
            hashed_from_ns=hashed_from,
        )
        for (file, old), digest in zip(todo, digests, strict=True):
            new = Entry(file.path, file.size, digest, source=file.local)
            if old is None or not old.same_content(new):
                _classify(result, new, old)
    result.added.sort(key=_by_path)
    result.modified.sort(key=_by_path)
    return result


def _to_hash(
    files: list[LocalFile] | Listing,
    existing: Iterator[Entry] | Callable[[str], Entry | None],
    cache: StatCache,
    algorithm: str,
    known: dict[str, dict[str, list[Any]]] | None,
    result: Compared,
    on_missing: Callable[[Entry], None] | None,
) -> list[tuple[LocalFile, Entry | None]]:
    """Classify into ``result`` the files the stat cache vouches for; return the others (to
    hash), each with its entry."""
    if known is None:
        rows = files.rows() if isinstance(files, Listing) else files
        return _vouch_each(_pair(rows, existing, on_missing), cache, algorithm, result)
    listing = files if isinstance(files, Listing) else Listing.of_rows(files)
    entries = (
        (e for e in map(existing, listing.paths) if e is not None)
        if callable(existing)
        else existing
    )
    return _vouch_in_step(listing, entries, known, result, on_missing)


def _vouch_in_step(
    files: Listing,
    existing: Iterator[Entry],
    known: dict[str, dict[str, list[Any]]],
    result: Compared,
    on_missing: Callable[[Entry], None] | None,
) -> list[tuple[LocalFile, Entry | None]]:
    """Pair files with entries and classify those the stat cache vouches for; return the
    others (to hash), each with its entry.

    ``known`` is the stat cache's rows of the scanned folder (``StatCache.lookup_folder``):
    ``{folder: {name: [size, mtime_ns, inode, hash]}}``. A row vouches for a file when it is
    a list whose first three items equal the file's stat (as numbers: ``3.0 == 3``) and
    whose hash is a digest (:func:`_is_digest`; checked only when the hash enters an
    entry); any other row is ignored and the file hashed.

    NOTE: the hot loop of a 1%-changed child (10,000 files: ~3 ms): the columns are zipped
    (one reused tuple, no object per file), the pairing of :func:`_pair` is done inline, a
    folder's rows are looked up once per run of its files, and nothing is called per file
    but the dict look-up.
    """
    todo: list[tuple[LocalFile, Entry | None]] = []
    rows_of, folder_of = known.get, os.path.dirname
    folder: str | None = None
    rows: dict[str, list[Any]] = _EMPTY
    old = next(existing, None)
    for path, here, name, size, mtime_ns, inode in zip(*files.columns(), strict=True):
        while old is not None and old[0] < path:
            if on_missing is not None:
                on_missing(old)
            old = next(existing, None)
        match = old if old is not None and old[0] == path else None
        if match is not None:
            old = next(existing, None)
        if here is not folder:
            folder, rows = here, rows_of(folder_of(here), _EMPTY)
        value = rows.get(name)
        if (
            value.__class__ is not list  # NOTE: absent, or a malformed row: never vouches
            or len(value) < 4
            or value[0] != size
            or value[1] != mtime_ns
            or value[2] != inode
        ):
            todo.append((LocalFile(path, here + name, size, mtime_ns, inode), match))
        elif match is None or match[2] != value[3] or match[1] != size or match[5] is not None:
            if not _is_digest(value[3]):
                todo.append((LocalFile(path, here + name, size, mtime_ns, inode), match))
                continue
            new = tuple.__new__(Entry, (path, size, value[3], None, 0, None, here + name, None))
            _classify(result, new, match)
    while old is not None:
        if on_missing is not None:
            on_missing(old)
        old = next(existing, None)
    return todo


def _vouch_each(
    pairs: Iterator[tuple[LocalFile, Entry | None]],
    cache: StatCache,
    algorithm: str,
    result: Compared,
) -> list[tuple[LocalFile, Entry | None]]:
    """Like :func:`_vouch_in_step`, looking each file up in the stat cache (a single file)."""
    todo: list[tuple[LocalFile, Entry | None]] = []
    for file, old in pairs:
        row = cache.lookup_row(file.local, algorithm)
        if row is None or row[:3] != file[2:5] or not _is_digest(row[3]):
            todo.append((file, old))
            continue
        new = Entry(file.path, file.size, row[3], source=file.local)
        if old is None or not old.same_content(new):
            _classify(result, new, old)
    return todo


def _is_digest(value: Any) -> bool:
    """Whether a stat-cache row's hash is a lowercase hex digest, as entries hold them.

    NOTE: the manifest reader checks every hash it decodes, but a shard this machine wrote
    may skip that check (``dataver.manifest.reader``): a hash from a corrupt stat-cache row
    must never reach an entry.
    """
    return value.__class__ is str and _HEX_DIGEST(value) is not None


_HEX_DIGEST = re.compile(r"[0-9a-f]{64}").fullmatch
_EMPTY: dict[str, list[Any]] = {}


def _hash_all(paths: list[str], sizes: list[int], algorithm: str, workers: int) -> list[str]:
    """Hash files: small ones inline, large ones on threads.

    NOTE: handing a 4 KiB file to a thread costs more than hashing it (measured: 10,000 files
    in 0.16 s inline against 0.40 s through the pool); large files hash on several threads.
    """
    with progress.task("hash", sum(sizes)) as advance:
        digests: list[str | None] = []
        for path, size in zip(paths, sizes, strict=True):
            if size >= _THREAD_THRESHOLD:
                digests.append(None)
                continue
            digests.append(_hash(path, algorithm))
            advance(size)
        large = [i for i, d in enumerate(digests) if d is None]
        if large:

            def hash_one(i: int) -> str:
                return _hash(paths[i], algorithm, advance)  # NOTE: per buffer: bars move

            # NOTE: on Ctrl-C or an unreadable file, the files not started are not hashed.
            with stopping_pool(workers, "dataver-hash") as pool:
                for i, digest in zip(large, pool.map(hash_one, large), strict=True):
                    digests[i] = digest
    return [d or "" for d in digests]


_THREAD_THRESHOLD = 1 << 20


def _classify(result: Compared, new: Entry, old: Entry | None) -> None:
    (result.added if old is None else result.modified).append(new)


_by_path = operator.attrgetter("path")


def _pair(
    files: list[LocalFile],
    existing: Iterator[Entry] | Callable[[str], Entry | None],
    on_missing: Callable[[Entry], None] | None,
) -> Iterator[tuple[LocalFile, Entry | None]]:
    """Pair each file with the entry at its path (a merge of two sorted streams)."""
    if callable(existing):
        for file in files:
            yield file, existing(file.path)
        return
    current = next(existing, None)
    for file in files:
        while current is not None and current.path < file.path:
            if on_missing is not None:
                on_missing(current)
            current = next(existing, None)
        if current is not None and current.path == file.path:
            yield file, current
            current = next(existing, None)
        else:
            yield file, None
    while current is not None:
        if on_missing is not None:
            on_missing(current)
        current = next(existing, None)


def _hash(local: str, algorithm: str, on_bytes: Callable[[int], None] | None = None) -> str:
    try:
        return hash_file(local, algorithm, on_bytes)
    except FileNotFoundError as exc:
        raise NotFoundError(f"file vanished while adding: {local}", path=local) from exc
    except OSError as exc:
        raise ValidationError(f"cannot read {local}: {exc.strerror or exc}", path=local) from exc
