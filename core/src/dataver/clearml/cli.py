"""``clearml-data`` on dataver: the command line of ClearML Data 2.1.12, verb for verb.

A shell script written for ``clearml-data`` runs unchanged once ``clearml-data`` names this
program: the same verbs and flags (argparse, so ``--files a b c`` parses the same way), the same
lines at the same points (scripts grep ``New dataset created id=<id>``), the same exit codes
(``Error: ...`` and 1 on a failure, 2 for a wrong command line). Each verb calls the
:class:`dataver.clearml.Dataset` method the real one calls, with the same arguments; the
behaviour lives there, this module only reads arguments and prints.

The console script is ``dataver-clearml-data``, never ``clearml-data``: both packages may be
installed side by side, and users alias or symlink it
(``ln -s "$(command -v dataver-clearml-data)" ~/bin/clearml-data``).

Like the real program, the id of the last version a command used is remembered, so ``--id``
may be left out; it is kept in ``~/.dataver_clearml_data.json`` (``DATAVER_CLEARML_DATA_STATE``
names another file), never in ClearML's own ``~/.clearml_data.json``.

Differences from clearml-data 2.1.12: a Ctrl-C exits 130 (it exits 0 there, so a ``bash -e``
script went on after it); ``list`` shows a link of unknown size as 0 bytes (it fails there);
the state file holds no handler repr; Dataset errors read as dataver's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from dataver.clearml import Dataset, FileEntry, LinkEntry

PROG = "clearml-data"
TITLE = "clearml-data - Dataset Management & Versioning CLI"
STATE_ENV = "DATAVER_CLEARML_DATA_STATE"
"""Environment variable naming the session state file (default ``~/.dataver_clearml_data.json``)."""
DEFAULT_STATE = "~/.dataver_clearml_data.json"
INTERRUPTED = 130
"""Exit code after a Ctrl-C (128 + SIGINT), as shells and the ``dataver`` program use."""

Handler = Callable[[argparse.Namespace], int]
_HANDLER = "_handler"
"""Namespace attribute of the verb's handler; a leading ``_`` keeps it out of the state file."""
_NOT_PRINTED = ("command", _HANDLER, "verbose")


# ------------------------------------------------------------------------------- output


def _say(*lines: str) -> None:
    """Print lines on stdout, as the real program prints everything (its errors too)."""
    for line in lines:
        sys.stdout.write(f"{line}\n")


def _print_args(args: argparse.Namespace) -> None:
    """With ``--verbose``, echo every argument that has a value, one ``name=value`` a line."""
    if not getattr(args, "verbose", None):
        return
    for name, value in vars(args).items():
        if name not in _NOT_PRINTED and value is not None:
            _say(f"{name}={value}")


def _plural(count: int, what: str) -> str:
    return f"{count} {what}{'s' if count != 1 else ''}"


@dataclass(frozen=True)
class Column:
    """One column of a plain text table: its header, minimum width and body alignment."""

    header: str
    min_width: int
    align: str = "<"


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    """Lay rows out as clearml-data's tables: ``" | "`` between cells, a dashed rule under the
    header, each column as wide as its longest cell (header included) or its minimum width.
    Headers are always left-aligned; ``align`` applies to the body."""
    widths = [
        max(column.min_width, len(column.header), *(len(row[i]) for row in rows))
        for i, column in enumerate(columns)
    ]
    header = " | ".join(f"{c.header:<{w}}" for c, w in zip(columns, widths, strict=True))
    body = [
        " | ".join(f"{cell:{c.align}{w}}" for cell, c, w in zip(row, columns, widths, strict=True))
        for row in rows
    ]
    return "\n".join([header, "-" * len(header), *body])


# ------------------------------------------------------------------------- session state


def state_path() -> Path:
    """The session state file: ``$DATAVER_CLEARML_DATA_STATE``, else ``DEFAULT_STATE``."""
    return Path(os.environ.get(STATE_ENV) or DEFAULT_STATE).expanduser()


def _read_state() -> dict[str, Any]:
    # NOTE: a missing, unreadable or damaged file is an empty state, as in the real program:
    # the state only saves typing --id.
    try:
        state = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(state: dict[str, Any]) -> None:
    # NOTE: failing to remember the id must not fail the command (read-only home, ...).
    with contextlib.suppress(OSError):
        state_path().write_text(json.dumps(state, sort_keys=True))


def restore_state(args: argparse.Namespace) -> argparse.Namespace:
    """Default ``args.id`` to the remembered id, then remember this command's arguments."""
    args.id = getattr(args, "id", None) or _read_state().get("id")
    _write_state(
        {
            name: None if value is None else str(value)
            for name, value in vars(args).items()
            if not name.startswith("_")
        }
    )
    return args


def clear_state(state: dict[str, Any] | None = None) -> None:
    """Forget the remembered arguments (keep ``state`` instead, e.g. a new version's id)."""
    _write_state(state or {})


def _check_id(args: argparse.Namespace) -> None:
    if not getattr(args, "id", None):
        raise ValueError("Dataset ID not specified, add --id <dataset_id>")


# --------------------------------------------------------------------------- the verbs


def _new_dataset(args: argparse.Namespace) -> str:
    """Create a version from ``create``'s (or ``sync``'s) arguments; remember its id."""
    _say("Creating a new dataset:")
    _print_args(args)
    if args.output_uri:
        _say("Warning: '--output-uri' is deprecated, use '--storage' instead")
    ds = Dataset.create(
        dataset_project=args.project,
        dataset_name=args.name,
        parent_datasets=args.parents,
        dataset_version=args.version,
        output_uri=args.storage or args.output_uri,
    )
    if args.tags:
        ds.tags = [*ds.tags, *args.tags]
    _say(f"New dataset created id={ds.id}")
    clear_state({"id": ds.id})
    return str(ds.id)


def cmd_create(args: argparse.Namespace) -> int:
    """``create``: a new version (Uploading), its id printed and remembered."""
    _new_dataset(args)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """``add``: ``add_files`` for each of ``--files``, ``add_external_files`` for each link."""
    _say(f"Adding files/folder/links to dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    recursive, folder = not args.non_recursive, args.dataset_folder or None
    count = 0
    for path in args.files or []:
        count += ds.add_files(
            path=path,
            recursive=recursive,
            verbose=args.verbose,
            dataset_path=folder,
            wildcard=args.wildcard,
            max_workers=args.max_workers,
        )
    for link in args.links or []:
        count += ds.add_external_files(
            link,
            dataset_path=folder,
            recursive=recursive,
            verbose=args.verbose,
            wildcard=args.wildcard,
            max_workers=args.max_workers,
        )
    _say(f"{_plural(count, 'file')} added")
    return 0


def cmd_set_description(args: argparse.Namespace) -> int:
    """``set-description``: replace the version's description."""
    _check_id(args)
    _say(f"Setting description '{args.description}' to dataset {args.id}")
    _print_args(args)
    Dataset.get(dataset_id=args.id).set_description(args.description)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """``sync``: make the version match a folder; create it first when ``--parents`` or
    ``--project`` and ``--name`` are given; then upload and finalize unless ``--skip-close``.
    A version it created that the folder did not change is deleted again."""
    created = bool(args.parents or (args.project and args.name))
    if created:
        args.id = _new_dataset(args)
    _say(f"Syncing dataset id {args.id} to local folder {args.folder}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    removed, added, modified = ds.sync_folder(
        local_path=args.folder, dataset_path=args.dataset_folder or None, verbose=args.verbose
    )
    _say(f"Sync completed: {removed} files removed, {added} added, {modified} modified")
    if args.skip_close:
        return 0
    if created and not (removed or added or modified):
        _say("Zero modifications on local copy, reverting dataset creation.")
        Dataset.delete(ds.id, force=True)
        return 0
    _say("Finalizing dataset")
    if ds.is_dirty():
        _say(f"Pending uploads, starting dataset upload to {_storage(args, ds)}")
        # NOTE: the real sync passes no max_workers (it has no such flag).
        ds.upload(
            show_progress=True,
            verbose=args.verbose,
            output_url=args.storage or None,
            chunk_size=args.chunk_size or -1,
        )
    ds.finalize()
    _say("Dataset closed and finalized")
    clear_state()
    return 0


def _storage(args: argparse.Namespace, ds: Dataset) -> str | None:
    return str(args.storage) if args.storage else ds.get_default_storage()


def cmd_remove(args: argparse.Namespace) -> int:
    """``remove``: ``remove_files`` for each dataset path or wildcard of ``--files``."""
    _say(f"Removing files/folder from dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    count = 0
    for pattern in args.files or []:
        count += ds.remove_files(
            dataset_path=pattern, recursive=not args.non_recursive, verbose=args.verbose
        )
    _say(f"{_plural(count, 'file')} removed")
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    """``upload``: store the pending files (``--storage`` is ``upload(output_url=...)``)."""
    _say(f"uploading local files to dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    Dataset.get(dataset_id=args.id).upload(
        verbose=args.verbose,
        output_url=args.storage or None,
        chunk_size=args.chunk_size or -1,
        max_workers=args.max_workers,
    )
    _say("Dataset upload completed")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    """``close``: upload pending files (refused with ``--disable-upload``), then finalize."""
    _say(f"Finalizing dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    if ds.is_dirty():
        if args.disable_upload:
            raise ValueError("Pending uploads, cannot finalize dataset. run `clearml-data upload`")
        _say(f"Pending uploads, starting dataset upload to {_storage(args, ds)}")
        ds.upload(
            show_progress=True,
            verbose=args.verbose,
            output_url=args.storage or None,
            chunk_size=args.chunk_size or -1,
            max_workers=args.max_workers,
        )
    ds.finalize()
    _say("Dataset closed and finalized")
    clear_state()
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """``publish``: publish a finalized version."""
    _say(f"Publishing dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    if not ds.is_final():
        raise ValueError(
            "Cannot publish dataset. Please finalize it first, run `clearml-data close`"
        )
    ds.publish()
    _say("Dataset published")
    clear_state()
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """``delete``: ``Dataset.delete`` by id, or by project/name/version."""
    if args.id:
        _say(f"Deleting dataset id {args.id}")
    else:
        _say(
            f"Deleting dataset with project={args.project}, name={args.name}, "
            f"version={args.version}"
        )
    _print_args(args)
    Dataset.delete(
        dataset_id=args.id,
        dataset_project=args.project,
        dataset_name=args.name,
        dataset_version=args.version,
        entire_dataset=args.entire_dataset,
        force=args.force,
    )
    _say("Dataset(s) deleted")
    clear_state()
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    """``rename``: give every version of a dataset a new name."""
    _say(f"Renaming dataset with project={args.project}, name={args.name} to {args.new_name}")
    _print_args(args)
    Dataset.rename(args.new_name, dataset_project=args.project, dataset_name=args.name)
    _say("Dataset(s) renamed")
    clear_state()
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    """``move``: move every version of a dataset to another project."""
    _say(f"Moving dataset with project={args.project}, name={args.name} to {args.new_project}")
    _print_args(args)
    Dataset.move_to_project(args.new_project, dataset_project=args.project, dataset_name=args.name)
    _say("Dataset(s) moved")
    clear_state()
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``compare``: what ``--target`` removed, modified and added against ``--source``."""
    _say(f"Comparing target dataset id {args.target} with source dataset id {args.source}")
    _print_args(args)
    ds = Dataset.get(dataset_id=args.target)
    removed = ds.list_removed_files(dataset_id=args.source)
    modified = ds.list_modified_files(dataset_id=args.source)
    added = ds.list_added_files(dataset_id=args.source)
    if args.verbose:
        _say("Removed files:", "\n".join(removed))
        _say("\nModified files:", "\n".join(modified))
        _say("\nAdded files:", "\n".join(added), "")
    _say(
        f"Comparison summary: {len(removed)} files removed, "
        f"{len(modified)} files modified, {len(added)} files added"
    )
    return 0


def cmd_squash(args: argparse.Namespace) -> int:
    """``squash``: merge versions into one new version (``--storage`` is ``output_url``)."""
    _say(f"Squashing datasets ids={args.ids} into target dataset named '{args.name}'")
    _print_args(args)
    ds = Dataset.squash(
        dataset_name=args.name, dataset_ids=args.ids, output_url=args.storage or None
    )
    _say(f"Squashing completed, new dataset created id={ds.id}")
    return 0


SEARCH_COLUMNS = (
    Column("project", 16),
    Column("name", 32),
    Column("version", 16),
    Column("tags", 19),
    Column("created", 19),
    Column("id", 32),
)


def cmd_search(args: argparse.Namespace) -> int:
    """``search``: a table of the versions ``Dataset.list_datasets`` finds."""
    _say("Search datasets")
    _print_args(args)
    datasets = Dataset.list_datasets(
        dataset_project=args.project or None,
        partial_name=args.name or None,
        tags=args.tags or None,
        ids=args.ids or None,
        only_completed=not args.not_only_completed,
        recursive_project_search=not args.non_recursive_project_search,
    )
    rows = [
        [
            str(found["project"]),
            str(found["name"]),
            str(found["version"] or ""),
            # NOTE: the tags cell is a Python list's repr without its brackets: 'a', 'b'
            str(list(found["tags"] or []))[1:-1],
            str(found["created"]).split(".")[0],
            str(found["id"]),
        ]
        for found in datasets
    ]
    _say(render_table(SEARCH_COLUMNS, rows))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``verify``: check a local copy (default: the cached one) against the manifest."""
    _say(f"Verify dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    errors = Dataset.get(dataset_id=args.id).verify_dataset_hash(
        local_copy_path=args.folder or None, skip_hash=args.filesize, verbose=args.verbose
    )
    if errors:
        _say(f"Dataset verification completed, {len(errors)} errors found!")
    else:
        _say("Dataset verification completed successfully, no errors found.")
    return 0


LIST_COLUMNS = (Column("file name", 64), Column("size", 10, ">"), Column("hash", 64))


def cmd_list(args: argparse.Namespace) -> int:
    """``list``: a table of the version's files (``--modified``: only those it added or
    changed), filtered by ``--filter`` folders or wildcards, and the totals."""
    _say(f"List dataset content: {args.id or (args.project, args.name)}")
    _print_args(args)
    ds = Dataset.get(
        dataset_id=args.id or None,
        dataset_project=args.project or None,
        dataset_name=args.name or None,
        dataset_version=args.version,
    )
    files, links = ds.file_entries_dict, ds.link_entries_dict
    owner = ds.id if args.modified else None
    entries: list[FileEntry | LinkEntry] = [
        files.get(path) or links[path]
        for mask in args.filter or [None]
        for path in ds.list_files(dataset_path=mask, dataset_id=owner)
    ]
    _say("Listing dataset content")
    rows = [[str(e.relative_path), f"{e.size or 0:,}", f"{e.hash}"] for e in entries]
    _say(render_table(LIST_COLUMNS, rows))
    _say(f"Total {len(entries)} files, {sum(e.size or 0 for e in entries)} bytes")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    """``get``: the cached read-only copy (``--link``: a symlink to it), or a writable copy
    in ``--copy``."""
    _say(f"Download dataset id {args.id}")
    _check_id(args)
    _print_args(args)
    ds = Dataset.get(dataset_id=args.id)
    if args.overwrite:
        _clear_target(args.copy, args.link)
    if args.copy:
        ds.get_mutable_local_copy(
            target_folder=args.copy,
            part=args.part,
            num_parts=args.num_parts,
            max_workers=args.max_workers,
        )
        folder = str(args.copy)
    else:
        if args.link:
            _free_link_path(Path(args.link))
        folder = ds.get_local_copy(
            part=args.part, num_parts=args.num_parts, max_workers=args.max_workers
        )
        if args.link:
            os.symlink(folder, args.link)
            folder = str(args.link)
    _say(f"Dataset local copy available for files at: {folder}")
    return 0


def _clear_target(copy: str | None, link: str | None) -> None:
    """``get --overwrite``: empty the ``--copy`` folder, or remove a folder at ``--link``."""
    # NOTE: as in the real program, what cannot be removed is left for the steps after to
    # refuse (an old symlink at --link is replaced by _free_link_path).
    if copy:
        shutil.rmtree(copy, ignore_errors=True)
        Path(copy).mkdir(parents=True, exist_ok=True)
    elif link:
        shutil.rmtree(link, ignore_errors=True)


def _free_link_path(link: Path) -> None:
    """Make ``--link``'s parent folders and take away an empty folder or a symlink there."""
    link.mkdir(parents=True, exist_ok=True)
    try:
        link.rmdir()
    except OSError:
        try:
            link.unlink()
        except OSError:
            raise ValueError(f"Target directory {link} is not empty. Use --overwrite.") from None


# ------------------------------------------------------------------------------ parser


def _id(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--id",
        type=str,
        required=False,
        help=help or "Dataset version id (default: the one the last command created or used)",
    )


def _storage_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        type=str,
        default=None,
        help="Where the dataset's files are stored (default: the registry). "
        "Examples: 's3://bucket/data', '/mnt/shared/data'",
    )


def _chunk_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-size",
        default=512,
        type=int,
        help="Upload chunk size in MB (default 512, -1 for a single chunk)",
    )


def _verbose(parser: argparse.ArgumentParser, help: str = "Verbose reporting") -> None:
    parser.add_argument("--verbose", action="store_true", default=False, help=help)


def _max_workers(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help=f"Number of threads to {what} the files with (default: chosen by dataver)",
    )


def _flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    parser.add_argument(name, action="store_true", default=False, help=help)


def _parents(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parents", type=str, nargs="*", help="Parent version ids, merged in order (optional)"
    )


def _output_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-uri",
        type=str,
        required=False,
        default=None,
        help="Deprecated alias of --storage",
    )


def _add_create(sub: Any) -> None:
    p = sub.add_parser("create", help="Create a new dataset version")
    _parents(p)
    p.add_argument("--project", type=str, required=False, default=None, help="Project name")
    p.add_argument("--name", type=str, required=True, default=None, help="Dataset name")
    p.add_argument("--version", type=str, required=False, default=None, help="Version string")
    _output_uri(p)
    _storage_arg(p)
    p.add_argument("--tags", type=str, nargs="*", help="Tags of the version")
    p.set_defaults(**{_HANDLER: cmd_create})


def _add_add(sub: Any) -> None:
    p = sub.add_parser("add", help="Add files or links to the dataset")
    _id(p)
    p.add_argument(
        "--dataset-folder", type=str, default=None, help="Folder of the dataset to add them to"
    )
    p.add_argument("--files", type=str, nargs="*", help="Files or folders to add")
    p.add_argument("--wildcard", type=str, nargs="*", help="Only files matching these wildcards")
    p.add_argument("--links", type=str, nargs="*", help="Links (s3://, gs://, ...) to add")
    _flag(p, "--non-recursive", "Do not look into sub-folders")
    _verbose(p)
    _max_workers(p, "add")
    p.set_defaults(**{_HANDLER: cmd_add})


def _add_set_description(sub: Any) -> None:
    p = sub.add_parser("set-description", help="Set the dataset's description")
    p.add_argument("--description", type=str, required=True, help="The description")
    _id(p)
    p.set_defaults(**{_HANDLER: cmd_set_description})


def _add_sync(sub: Any) -> None:
    p = sub.add_parser("sync", help="Make the dataset match a local folder")
    _id(p)
    p.add_argument(
        "--dataset-folder", type=str, default=None, help="Folder of the dataset to sync into"
    )
    p.add_argument("--folder", type=str, required=True, help="Local folder to sync")
    _parents(p)
    p.add_argument("--project", type=str, required=False, default=None, help="Project name")
    p.add_argument("--name", type=str, required=False, default=None, help="Dataset name")
    p.add_argument("--version", type=str, required=False, default=None, help="Version string")
    _output_uri(p)
    p.add_argument("--tags", type=str, nargs="*", help="Tags of a version sync creates")
    _storage_arg(p)
    _flag(p, "--skip-close", "Do not upload and finalize after syncing")
    _chunk_size(p)
    _verbose(p)
    p.set_defaults(**{_HANDLER: cmd_sync})


def _add_remove(sub: Any) -> None:
    p = sub.add_parser("remove", help="Remove files or links from the dataset")
    _id(p)
    p.add_argument(
        "--files",
        type=str,
        required=False,
        nargs="*",
        help="Dataset paths, folders or wildcards to remove (e.g. data/*.jpg data/jsons/)",
    )
    _flag(p, "--non-recursive", "Do not look into sub-folders")
    _verbose(p)
    p.set_defaults(**{_HANDLER: cmd_remove})


def _add_upload(sub: Any) -> None:
    p = sub.add_parser("upload", help="Upload the dataset's pending files")
    _id(p)
    _storage_arg(p)
    _chunk_size(p)
    _verbose(p)
    _max_workers(p, "upload")
    p.set_defaults(**{_HANDLER: cmd_upload})


def _add_close(sub: Any) -> None:
    p = sub.add_parser("close", help="Finalize the dataset (uploads pending files first)")
    _id(p)
    _storage_arg(p)
    _flag(p, "--disable-upload", "Refuse to close while files are pending upload")
    _chunk_size(p)
    _verbose(p)
    _max_workers(p, "upload")
    p.set_defaults(**{_HANDLER: cmd_close})


def _add_publish(sub: Any) -> None:
    p = sub.add_parser("publish", help="Publish the dataset")
    p.add_argument("--id", type=str, required=True, help="Dataset version id to publish")
    p.set_defaults(**{_HANDLER: cmd_publish})


def _add_delete(sub: Any) -> None:
    p = sub.add_parser("delete", help="Delete a dataset")
    _id(p)
    p.add_argument("--project", type=str, required=False, help="Project of the dataset(s)")
    p.add_argument("--name", type=str, required=False, help="Name of the dataset(s)")
    p.add_argument("--version", type=str, required=False, help="Version of the dataset(s)")
    _flag(p, "--force", "Delete even if other versions depend on it (needed with --entire-dataset)")
    _flag(p, "--entire-dataset", "Delete every version found")
    p.set_defaults(**{_HANDLER: cmd_delete})


def _add_rename(sub: Any) -> None:
    p = sub.add_parser("rename", help="Rename a dataset")
    p.add_argument("--new-name", type=str, required=True, help="New name of the dataset")
    p.add_argument("--project", type=str, required=True, help="Project of the dataset")
    p.add_argument("--name", type=str, required=True, help="Name of the dataset")
    p.set_defaults(**{_HANDLER: cmd_rename})


def _add_move(sub: Any) -> None:
    p = sub.add_parser("move", help="Move a dataset to another project")
    p.add_argument("--new-project", type=str, required=True, help="Project to move it to")
    p.add_argument("--project", type=str, required=True, help="Project of the dataset")
    p.add_argument("--name", type=str, required=True, help="Name of the dataset")
    p.set_defaults(**{_HANDLER: cmd_move})


def _add_compare(sub: Any) -> None:
    p = sub.add_parser("compare", help="Compare two versions (target against source)")
    p.add_argument("--source", type=str, required=True, help="Baseline version id")
    p.add_argument("--target", type=str, required=True, help="Version id compared to it")
    _verbose(p, "List every changed file (not only the summary)")
    p.set_defaults(**{_HANDLER: cmd_compare})


def _add_squash(sub: Any) -> None:
    p = sub.add_parser("squash", help="Merge several versions into one new version")
    p.add_argument("--name", type=str, required=True, help="Name of the new dataset")
    p.add_argument("--ids", type=str, required=True, nargs="*", help="Version ids to merge")
    p.add_argument("--storage", type=str, default=None, help="See `upload --storage`")
    _verbose(p, "List every changed file (not only the summary)")
    p.set_defaults(**{_HANDLER: cmd_squash})


def _add_search(sub: Any) -> None:
    p = sub.add_parser("search", help="Search datasets (sorted by creation time)")
    p.add_argument("--ids", type=str, nargs="*", help="Version ids")
    p.add_argument("--project", type=str, help="Project name")
    p.add_argument("--name", type=str, help="Part of the dataset name")
    p.add_argument("--tags", type=str, nargs="*", help="Tags")
    _flag(p, "--not-only-completed", "Include versions still being built")
    _flag(p, "--non-recursive-project-search", "Do not search sub-projects")
    p.set_defaults(**{_HANDLER: cmd_search})


def _add_verify(sub: Any) -> None:
    p = sub.add_parser("verify", help="Verify a local copy of the dataset")
    _id(p)
    p.add_argument("--folder", type=str, help="Local copy to verify (default: the cached one)")
    _flag(p, "--filesize", "Check file sizes only, not hashes")
    _verbose(p)
    p.set_defaults(**{_HANDLER: cmd_verify})


def _add_list(sub: Any) -> None:
    p = sub.add_parser("list", help="List the dataset's files")
    _id(p, "Dataset version id, or use --project/--name (default: the last one used)")
    p.add_argument("--project", type=str, help="Project name")
    p.add_argument("--name", type=str, help="Dataset name")
    p.add_argument("--version", type=str, help="Version string", default=None)
    p.add_argument(
        "--filter", type=str, nargs="*", help="Only these folders or wildcards (several allowed)"
    )
    _flag(p, "--modified", "Only the files this version added or changed")
    p.set_defaults(**{_HANDLER: cmd_list})


def _add_get(sub: Any) -> None:
    p = sub.add_parser("get", help="Get a local copy of the dataset (default: read-only cache)")
    _id(p)
    p.add_argument("--copy", type=str, default=None, help="Write a writable copy to this folder")
    p.add_argument(
        "--link", type=str, default=None, help="Make this path a symlink to the cached copy"
    )
    p.add_argument("--part", type=int, default=None, help="Part to get (0 to --num-parts - 1)")
    p.add_argument("--num-parts", type=int, default=None, help="Number of parts")
    _flag(p, "--overwrite", "Replace what is in the target folder")
    _verbose(p)
    _max_workers(p, "get")
    p.set_defaults(**{_HANDLER: cmd_get})


SUBCOMMANDS = (
    _add_create,
    _add_add,
    _add_set_description,
    _add_sync,
    _add_remove,
    _add_upload,
    _add_close,
    _add_publish,
    _add_delete,
    _add_rename,
    _add_move,
    _add_compare,
    _add_squash,
    _add_search,
    _add_verify,
    _add_list,
    _add_get,
)
"""Each adds one verb, in the order of the real program's ``--help``."""


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every verb, with clearml-data's names, nargs and defaults."""
    parser = argparse.ArgumentParser(
        description=TITLE,
        prog=PROG,
        formatter_class=partial(argparse.HelpFormatter, indent_increment=0, max_help_position=10),
    )
    sub = parser.add_subparsers(help="Dataset actions", dest="command")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


# -------------------------------------------------------------------------------- main


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # NOTE: argparse exits 2 on a wrong command line, 0 on --help
        return stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    args = restore_state(args)
    if not args.command:
        parser.print_help()
        return 0
    handler: Handler = getattr(args, _HANDLER)
    return handler(args)


def main(argv: list[str] | None = None) -> int:
    """Run ``clearml-data`` with ``argv`` (default: the process's arguments); its exit code:
    0 done, 1 failed (``Error: ...`` printed), 2 wrong command line, 130 interrupted."""
    _say(TITLE)
    try:
        return _run(argv)
    except KeyboardInterrupt:
        _say("\nUser aborted")
        return INTERRUPTED
    # NOTE: every failure, dataver's or Python's, is one "Error:" line and exit code 1, as
    # in the real program: scripts test the exit code, people read the line.
    except Exception as exc:  # noqa: BLE001
        _say(f"\nError: {exc}")
        return 1
    finally:
        sys.stdout.flush()
