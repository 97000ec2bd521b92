"""``dataver get --part K --num-parts N``: N workers each fetch a disjoint share of a version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Run


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_parts_of_a_version_are_disjoint_and_cover_it(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(10):
        (data / f"f{i}.txt").write_text(str(i))
    cli("sync", "--name", "many", "--folder", data)

    parts = [
        _names(Path(cli("get", "--name", "many", "--part", k, "--num-parts", "3").out.strip()))
        for k in ("0", "1", "2")
    ]

    assert [len(p) for p in parts] == [4, 3, 3]
    assert [n for p in parts for n in p] == sorted(f"f{i}.txt" for i in range(10))
    copied = cli("get", "--name", "many", "--part", "2", "--num-parts", "3", "--copy", "w")
    assert _names(Path(copied.out.strip())) == parts[2]


def test_a_part_without_its_count_or_out_of_range_is_refused(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    cli("sync", "--name", "one", "--folder", data)

    alone = cli("get", "--name", "one", "--part", "1", code=1)
    beyond = cli("get", "--name", "one", "--part", "3", "--num-parts", "3", "--copy", "w", code=1)

    assert "part and num_parts go together" in alone.error()
    assert "between 0 and num_parts - 1 = 2, got 3" in beyond.error()
    assert not (tmp_path / "w").exists()  # NOTE: refused before anything was made
