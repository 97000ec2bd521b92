"""Previews of one file of a version: the first rows of a table, the start of a text, an image.

Previews read by range from where the bytes are stored (a pack, an object, or the chunks of
a chunked file: :class:`~dataver.objects.ranged.RangeFile`), never the whole file, and
never outside the registry: a path is only a key into the version's manifest, and external
links (which could point anywhere, e.g. ``file:///etc/passwd``) are not read at all.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
from typing import TYPE_CHECKING, Any

from dataver.errors import NotFoundError
from dataver.objects.ranged import RangeFile
from dataver.paths import validate_path
from dataver.ui.models import Preview

if TYPE_CHECKING:
    from dataver.manifest.entry import Entry
    from dataver.manifest.reader import Manifest
    from dataver.storage.base import Store

HEAD_BYTES = 64 * 1024
"""How much of a text, CSV or JSON file a preview reads."""
MAX_ROWS = 50
MAX_IMAGE_BYTES = 16 * 1024 * 1024
"""Images larger than this are not served to the page."""
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Served as images. Not SVG: an SVG can carry script."""
_TABLES = {".csv": ",", ".tsv": "\t"}


def find_entry(manifest: Manifest, path: str) -> Entry:
    """The entry at ``path`` in a manifest.

    Raises:
        UnsafePathError: ``path`` is not a safe dataset path (``..``, absolute, ...).
        NotFoundError: The version has no such file.
    """
    clean = validate_path(path.strip("/")) if path.strip("/") else ""
    entry = manifest.get(clean) if clean else None
    if entry is None:
        raise NotFoundError(f"no file {path!r} in this version", path=path)
    return entry


def preview(store: Store, entry: Entry, raw_url: str, algorithm: str) -> Preview:
    """Preview one file: a table, JSON, text, an image (by URL), or just its size.

    Args:
        store: The registry store.
        entry: The file's manifest entry.
        raw_url: Where the page can fetch the bytes of an image.
        algorithm: The version's hash algorithm (a chunked file's chunks are checked).
    """
    suffix = _suffix(entry.path)
    kind = suffix.lstrip(".") or "file"
    base: dict[str, Any] = {"path": entry.path, "size": entry.size, "format": kind}
    if entry.url is not None:
        message = f"external link to {entry.url}: not read by the web page"
        return Preview(kind="link", message=message, **base)
    if image_type(entry.path) is not None:
        if entry.size > MAX_IMAGE_BYTES:
            return Preview(kind="binary", message="image too large to show", **base)
        return Preview(kind="image", raw=raw_url, **base)
    source = RangeFile(store, entry, algorithm)
    if suffix == ".parquet":
        return _parquet(source, base)
    head = source.read_at(0, HEAD_BYTES)
    truncated = entry.size > len(head)
    if b"\0" in head:
        return Preview(kind="binary", message="binary file", **base)
    text = head.decode("utf-8", errors="replace")
    if truncated:
        text = _whole_lines(text)
    if suffix in _TABLES:
        return _table(text, _TABLES[suffix], truncated, base)
    if suffix in (".json", ".geojson") and not truncated:
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            return Preview(kind="json", text=pretty, **base)
        except ValueError:
            pass
    return Preview(kind="text", text=text, truncated=truncated, **base)


def image_type(path: str) -> str | None:
    """The media type to serve ``path`` as, if it is an image the page may show."""
    kind, _ = mimetypes.guess_type(path)
    return kind if kind in IMAGE_TYPES else None


def _table(text: str, delimiter: str, truncated: bool, base: dict[str, Any]) -> Preview:
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return Preview(kind="table", **base)
    header, body = rows[0], rows[1 : MAX_ROWS + 1]
    more = truncated or len(rows) - 1 > MAX_ROWS
    return Preview(
        kind="table",
        columns=tuple(header),
        rows=tuple(tuple(r) for r in body),
        truncated=more,
        **base,
    )


def _parquet(source: RangeFile, base: dict[str, Any]) -> Preview:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        message = "install pyarrow to preview Parquet files"
        return Preview(kind="binary", message=message, **base)
    try:
        reader = pq.ParquetFile(io.BufferedReader(source, buffer_size=1 << 20))
        # NOTE: only the first row group: reading every group read the whole file
        first = reader.iter_batches(batch_size=MAX_ROWS, row_groups=[0])
        batch = next(first, None) if reader.num_row_groups else None
    except Exception as exc:  # noqa: BLE001 - any malformed file: say so, show nothing
        return Preview(kind="binary", message=f"not a readable Parquet file: {exc}", **base)
    if batch is None:
        return Preview(kind="table", columns=tuple(reader.schema_arrow.names), **base)
    rows = tuple(tuple(_cell(v) for v in row.values()) for row in batch.to_pylist())
    total = reader.metadata.num_rows
    return Preview(
        kind="table",
        columns=tuple(batch.schema.names),
        rows=rows,
        truncated=total > len(rows),
        **base,
    )


def _cell(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _whole_lines(text: str) -> str:
    cut = text.rfind("\n")
    return text[: cut + 1] if cut > 0 else text


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
