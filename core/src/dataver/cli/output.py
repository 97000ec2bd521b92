"""How the command line prints: JSON for programs, tables and short lines for people.

* stdout carries results only: a command's JSON document (``--json``), its table, or the one
  value a script captures (``create`` prints the id, ``get`` the path).
* stderr carries everything else: status lines, progress, warnings, errors.
* ``--quiet`` drops status lines and progress; results and errors are always printed.
"""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dataver.versions.state import State

# NOTE: rich.console and rich.table are imported where used: they cost a tenth of a second at
# start-up, which every command would pay, tables or not.
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pydantic import BaseModel
    from rich.console import Console, RenderableType
    from rich.table import Table

    from dataver import Dataset
    from dataver.cli.base import Options

# Width when stdout is not a terminal and COLUMNS is unset: never wrap a table in a pipe.
_PIPE_WIDTH = 4096
SHORT_ID = 12


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console(stream: TextIO | None = None) -> Console:
    """A rich console on ``stream`` (default stdout) that never wraps tables in a pipe."""
    from rich.console import Console

    stream = stream or sys.stdout
    width = None if is_terminal(stream) or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=True)


def emit(document: BaseModel | Sequence[BaseModel]) -> None:
    """Print a command's ``--json`` document: a model of :mod:`dataver.cli.schema`, or a list.

    The model decides the keys (documented in docs/cli.md), by their JSON names.
    """
    from pydantic import BaseModel

    if isinstance(document, BaseModel):
        emit_json(document.model_dump(mode="json", by_alias=True))
    else:
        emit_json([item.model_dump(mode="json", by_alias=True) for item in document])


def emit_streamed(document: BaseModel, key: str, items: Iterable[Any], item_type: Any) -> None:
    """Print ``document`` with its array ``key`` (empty in the model) filled from ``items``.

    Each item is validated as ``item_type`` and printed as it comes: a listing of a million
    files never holds a million objects. The text is what :func:`emit` prints for the whole.
    """
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(item_type)
    whole = _dumps(document.model_dump(mode="json", by_alias=True))
    # NOTE: JSON escapes the quotes of every string value, so the first `"key": []` is the key.
    head, tail = whole.split(f'"{key}": []', 1)
    out = sys.stdout
    out.write(f'{head}"{key}": [')
    separator = "\n    "
    for item in items:
        row = adapter.dump_python(adapter.validate_python(item), mode="json", by_alias=True)
        out.write(separator + _dumps(row).replace("\n", "\n    "))
        separator = ",\n    "
    out.write(("]" if separator == "\n    " else "\n  ]") + tail + "\n")
    out.flush()


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_plain)


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout."""
    sys.stdout.write(_dumps(data) + "\n")
    sys.stdout.flush()


def result(text: str) -> None:
    """Print a result line on stdout (plain text, never reformatted)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def new_current(opts: Options, ds: Dataset, text: str) -> None:
    """Print a version that just became the current one: its id (or JSON), then ``text``."""
    if opts.json:
        from dataver.cli.schema import VersionObject

        emit(VersionObject.of(ds))
    else:
        result(ds.id)
    status(opts, text)


def status(opts: Options, text: str) -> None:
    """Print a status line on stderr, unless ``--quiet``."""
    if not opts.quiet:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def warn(text: str) -> None:
    """Print a warning on stderr (even with ``--quiet``)."""
    sys.stderr.write(f"warning: {text}\n")
    sys.stderr.flush()


def show(renderable: RenderableType) -> None:
    """Render a rich object (table, tree) on stdout; in a pipe, as plain lines."""
    if is_terminal(sys.stdout):
        console().print(renderable)
        return
    buffer = io.StringIO()
    console(buffer).print(renderable)
    result("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()))


def count(n: int, noun: str) -> str:
    """``1 version``, ``2 versions``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, right: Sequence[str] = ()
) -> Table:
    """A plain table: a header line, no borders; columns named in ``right`` align right."""
    from rich import box
    from rich.table import Table

    out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in columns:
        out.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        out.add_row(*row)
    return out


_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def size(n: int | float | None) -> str:
    """``1234567`` -> ``1.2 MiB``: binary (IEC) units, as the web page shows them.

    Below 1024 the exact count (``512 B``); above, one decimal under 10 and none from 10
    on (``3.0 MiB``, ``671 MiB``): the page's ``bytes()`` (``dataver/ui/static/app.js``).
    """
    if n is None:
        return "-"
    if n < 1024:
        return f"{int(n)} B"
    value = float(n)
    unit = -1
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.{1 if value < 10 else 0}f} {_UNITS[unit]}"


def when(moment: datetime | None) -> str:
    """A timestamp in local time, to the minute."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def short(version_id: str) -> str:
    """The first characters of an id (every command accepts a unique prefix)."""
    return version_id[:SHORT_ID]


def label(ds: Dataset) -> str:
    """``project/name 1.0.2`` for messages."""
    return f"{ds.project}/{ds.name} {ds.version}"


def state_of(ds: Dataset) -> str:
    """A version's state for people: ``uploading (stale)`` once its writer stopped."""
    return "uploading (stale)" if ds.state is State.UPLOADING and ds.is_stale else ds.state.value


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
