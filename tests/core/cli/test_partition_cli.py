"""``dataver partition SOURCE --parts N``: the parts of a folder or URL, as a table or JSON."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import fsspec

import dataver
from dataver import Part

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def test_partition_prints_a_table_of_the_parts(cli: Callable[..., Run], data: Path) -> None:
    run = cli("partition", data, "--parts", "2")

    lines = run.out.splitlines()
    assert lines[0].split() == ["PART", "FILES", "SIZE", "START", "STOP"]
    assert lines[2].split() == ["0", "2", "14", "B", "(first)", "train/b.csv"]
    assert lines[3].split() == ["1", "1", "8", "B", "train/b.csv", "(last)"]
    assert "2 parts of 3 files (22 B), balanced by count" in run.err


def test_partition_json_is_the_parts_to_dict(
    cli: Callable[..., Run], data: Path, shape: Callable[[str, Any], None]
) -> None:
    document = cli("partition", data, "--parts", "3", "--by", "bytes", "--json").json()

    shape("partition", document)
    parts = [Part.from_dict(d) for d in document]
    assert parts == dataver.partition(data, 3, by="bytes")
    assert [p.source for p in parts] == [str(data)] * 3


def test_partition_takes_wildcards_and_non_recursive(cli: Callable[..., Run], data: Path) -> None:
    only_csv = cli("partition", data, "--parts", "2", "--wildcard", "*.csv", "--json").json()
    top = cli("partition", data, "--parts", "1", "--non-recursive", "--json").json()

    assert [d["files"] for d in only_csv] == [1, 1]
    assert [d["files"] for d in top] == [1]


def test_partition_lists_an_fsspec_url(cli: Callable[..., Run]) -> None:
    url = f"memory://cli-partition-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    for name in ("a.txt", "b/c.txt", "d.txt"):
        fs.pipe(f"/{url.removeprefix('memory://')}/{name}", b"12345")

    document = cli("partition", url, "--parts", "3", "--json").json()

    assert [(d["start"], d["files"], d["bytes"]) for d in document] == [
        (None, 1, 5),
        ("b/c.txt", 1, 5),
        ("d.txt", 1, 5),
    ]


def test_partition_needs_no_registry(cli: Callable[..., Run], data: Path, tmp_path: Path) -> None:
    cli("partition", data, "--parts", "2", "--registry", tmp_path / "no-registry-here")
    assert not (tmp_path / "no-registry-here").exists()


def test_an_empty_part_boundary_is_printed_escaped(cli: Callable[..., Run], data: Path) -> None:
    run = cli("partition", data, "--parts", "5")
    assert "train/b.csv\\x00" in run.out
    assert "\0" not in run.out


def test_partition_errors_are_one_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    missing = cli("partition", tmp_path / "nope", "--parts", "2", code=1)
    zero = cli("partition", tmp_path, "--parts", "0", code=2)
    by = cli("partition", tmp_path, "--parts", "2", "--by", "size", code=2)
    no_parts = cli("partition", tmp_path, code=2)

    assert "no such file or folder" in missing.error()
    assert "exists" in missing.hint()
    assert "--parts" in zero.error()
    assert "--by" in by.error()
    assert "--parts" in no_parts.error()
