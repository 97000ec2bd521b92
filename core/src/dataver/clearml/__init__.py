"""A drop-in for ClearML Data: ``from dataver.clearml import Dataset``.

Scripts written for ``clearml.Dataset`` run unchanged on a dataver registry, with no ClearML
server: the registry is ``DATAVER_REGISTRY`` or the one given to :func:`configure`. The
command line ``dataver-clearml-data`` accepts every ``clearml-data`` verb and flag. See
``docs/clearml.md`` for the migration and every difference.

Example:
    >>> from dataver.clearml import Dataset
    >>> ds = Dataset.create(dataset_name="images", dataset_project="vision")  # doctest: +SKIP
"""

from dataver.clearml.config import configure
from dataver.clearml.dataset import Dataset
from dataver.clearml.entries import FileEntry, LinkEntry

__all__ = ["Dataset", "FileEntry", "LinkEntry", "configure"]
