"""``partition_files``: split a folder's files into parts, one per mapped writer task.

Over :func:`dataver.partition`. The parts go through Prefect as plain dicts
(``Part.to_dict()``), so ``add_files.map(..., part=parts)`` or ``sync_folder.map`` gives each
mapped task run its own share of the folder; every task run is a writer of its own of the
same Uploading version, and ``finalize_version`` merges them.
"""

from __future__ import annotations

import os  # noqa: TC003 - Prefect reads task annotations at runtime
from collections.abc import Sequence  # noqa: TC003 - Prefect reads task annotations at runtime
from typing import Any, Literal

from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.tasks import task

from dataver.policies import Symlinks  # noqa: TC001 - Prefect reads task annotations at runtime
from prefect_dataver._twins import async_twin

_NAME = "partition into {num_parts}"


# NOTE: no cache: a folder's files change between two calls with the same arguments.
@task(name="dataver-partition-files", task_run_name=_NAME, cache_policy=NO_CACHE)
def partition_files(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    num_parts: int,
    by: Literal["count", "bytes"] = "count",
    wildcard: str | list[str] | None = None,
    recursive: bool = True,
    symlinks: Symlinks = "refuse",
) -> list[dict[str, Any]]:
    """Split the files of ``source`` into ``num_parts`` balanced parts (``dataver.partition``).

    Each part is a range of relative paths, so a file that appears after the parts were
    computed still falls into exactly one of them. Feed the list to a mapped task:
    ``add_files.map(unmapped(registry), unmapped(ds), unmapped(folder), part=parts)``.

    Args:
        source: A local folder, a list of local file paths, or an fsspec URL
            (``s3://bucket/prefix``).
        num_parts: How many parts (at least 1): the number of mapped task runs.
        by: ``"count"`` (file counts differ by at most one) or ``"bytes"``.
        wildcard: Glob(s) selecting files, as in ``add_files``.
        recursive: Descend into sub-folders.
        symlinks: Links that lead outside a local folder: ``"refuse"`` (default),
            ``"follow"`` or ``"skip"``, as in ``add_files``.

    Returns:
        The parts, in order, as ``dataver.Part.to_dict()`` dicts (what ``part=`` of
        ``add_files`` and ``sync_folder`` takes).

    Raises:
        dataver.NotFoundError: ``source`` does not exist.
        dataver.ValidationError: An invalid argument, or links outside the folder
            (``symlinks="refuse"``).

    Example:
        ```python
        parts = partition_files("/exports/images", 8)
        ```
    """
    from dataver.partitioning import partition

    parts = partition(
        source, num_parts, by=by, wildcard=wildcard, recursive=recursive, symlinks=symlinks
    )
    logger = get_run_logger()
    for part in parts:
        logger.info(
            "Part %d/%d: %d files, %d bytes", part.index, part.count, part.files, part.bytes
        )
    return [part.to_dict() for part in parts]


partition_files_async = async_twin(partition_files, task_run_name=_NAME, cache_policy=NO_CACHE)
