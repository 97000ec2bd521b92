"""``dataver add --writer NAME --part JSON`` and ``finalize --wait-for-writers``: many writers
from the shell (e.g. ``xargs -P``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import dataver

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .conftest import Run


def test_writers_from_the_shell(cli: Callable[..., Run], data: Path, tmp_path: Path) -> None:
    created = cli("create", "--name", "shell", "--json").json()
    parts = cli("partition", data, "--parts", "2", "--json").json()
    (tmp_path / "part1.json").write_text(json.dumps(parts[1]))
    cli(
        "add",
        "--id",
        created["id"],
        "--files",
        data,
        "--writer",
        "w0",
        "--part",
        json.dumps(parts[0]),
    )
    cli("add", "--id", created["id"], "--files", data, "--writer", "w1", "--part", "@part1.json")
    # NOTE: a retried command replaces that writer's contribution, it does not add to it
    cli("add", "--id", created["id"], "--files", data, "--writer", "w1", "--part", "@part1.json")
    ds = dataver.Registry().get(created["id"], states=None)
    assert [w.name for w in ds.writers()] == ["w0", "w1"]
    cli("finalize", "--id", created["id"], "--wait-for-writers", "5", "--on-conflict", "error")
    ds.reload()
    assert sorted(ds.list_files()) == ["README", "train/a.csv", "train/b.csv"]


def test_bad_part_and_policy_are_usage_errors(cli: Callable[..., Run], data: Path) -> None:
    created = cli("create", "--name", "bad", "--json").json()
    run = cli("add", "--id", created["id"], "--files", data, "--part", "{not json", code=2)
    assert "--part must be JSON" in run.err
    run = cli("add", "--id", created["id"], "--files", data, "--part", "[1]", code=2)
    assert "JSON object" in run.err
    run = cli("add", "--id", created["id"], "--files", data, "--part", "@missing.json", code=2)
    assert "cannot read missing.json" in run.err
    run = cli("finalize", "--id", created["id"], "--on-conflict", "newest", code=None)
    assert run.code != 0
    assert "on_conflict" in run.err or "on-conflict" in run.err
    ds = dataver.Registry().get(created["id"], states=None)
    assert ds.state is dataver.State.UPLOADING
    assert ds.writers() == []
