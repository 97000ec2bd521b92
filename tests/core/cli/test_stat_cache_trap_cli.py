"""``dataver add`` + ``dataver close`` over a file the stat cache remembers wrongly (issue 18,
item 8): close refuses once, saying to add the file again, and adding it again works."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def test_add_again_after_close_found_the_file_changed(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = data / "a.bin"
    target.write_bytes(b"A" * 100)
    past = target.stat().st_mtime_ns - 10_000_000_000
    os.utime(target, ns=(past, past))
    cli("create", "--name", "first")
    cli("add", "--files", data)
    cli("close")
    # Same inode, same size, the old mtime put back: the stat cache cannot tell.
    with target.open("r+b") as handle:
        handle.write(b"B" * 100)
    os.utime(target, ns=(past, past))

    cli("create", "--name", "fresh")
    cli("add", "--files", data)
    failed = cli("close", code=1)
    assert "changed since it was added; add it again" in failed.error()
    assert "add" in failed.hint()
    assert "verify" not in failed.hint()  # NOTE: nothing in the registry is damaged
    cli("add", "--files", data)
    assert cli("close", "--json").json()["state"] == "final"
    got = cli("get").out.strip()
    assert (tmp_path / got / "a.bin").read_bytes() == b"B" * 100
