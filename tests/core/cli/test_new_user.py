"""What a new user ran into at a real terminal (issue 20, items 15-18): a typo'd registry,
wrong hints, a busy port, an empty folder, an uploading version's counts, units."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import RegistryNotFoundError, ValidationError

from .conftest import SCRIPT

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Run

ROOT = Path(__file__).resolve().parents[3]


# --------------------------------------------------------------- 15. a typo'd registry path


def test_reading_a_location_without_a_registry_fails_naming_it(
    dv: Callable[..., Run], data: Path, tmp_path: Path
) -> None:
    dv("--registry", "registry", "sync", "--folder", data, "--name", "pets")
    typo = tmp_path / "regsitry"
    for args in (["ls"], ["search"], ["list"], ["show"], ["get", "--name", "pets"], ["gc"]):
        run = dv("--registry", "regsitry", *args, code=1)
        assert (
            run.error()
            == f"error: no dataver registry at {typo.as_uri()}: the folder does not exist"
        )
        assert "--registry" in run.hint()
    assert not typo.exists()  # reading created nothing
    (tmp_path / "empty").mkdir()
    empty = dv("ls", "--registry", "empty", code=1)
    assert empty.error().endswith("empty: the folder is empty")
    assert dv("--registry", "registry", "ls", "--json").json()[0]["name"] == "pets"


def test_only_creating_commands_create_a_registry_and_say_so_once(
    dv: Callable[..., Run], data: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new"
    first = dv("--registry", new, "create", "--name", "pets")
    assert f"created a new registry at {new.as_uri()}" in first.err
    second = dv("--registry", new, "create", "--name", "pets")
    assert "new registry" not in second.err
    synced = dv("--registry", tmp_path / "other", "sync", "--folder", data, "--name", "pets")
    assert synced.err.count("created a new registry at") == 1
    again = dv("--registry", tmp_path / "other", "sync", "--folder", data, "--name", "pets")
    assert "new registry" not in again.err


def test_ui_refuses_a_location_without_a_registry(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(SCRIPT), "ui", "--registry", str(tmp_path / "no-such"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.startswith(f"error: no dataver registry at {(tmp_path / 'no-such').as_uri()}")
    assert "serving" not in run.stderr


def test_sdk_registries_stay_lazy_unless_they_must_exist(tmp_path: Path) -> None:
    lazy = dataver.Registry(tmp_path / "later")
    assert (lazy.list(), lazy.exists()) == ([], False)  # a consumer may start first
    with pytest.raises(RegistryNotFoundError, match=r"no dataver registry at .*does not exist"):
        dataver.Registry(tmp_path / "later", must_exist=True)
    assert not (tmp_path / "later").exists()
    lazy.create("pets")
    assert lazy.exists()
    assert dataver.Registry(tmp_path / "later", must_exist=True).exists()
    with pytest.raises(LookupError) as raised:
        dataver.Registry(tmp_path / "x", must_exist=True)
    error = raised.value
    assert isinstance(error, dataver.NotFoundError)
    assert error.fields == {"url": (tmp_path / "x").as_uri()}


# --------------------------------------------------------------------------- 16. the hints


def test_hints_name_the_fix_at_hand(cli: Callable[..., Run], data: Path) -> None:
    dv = cli
    version = dv("sync", "--folder", data, "--name", "pets").out.strip()
    dv("publish", "--id", version)
    protected = dv("delete", "--id", version, code=1)
    assert protected.error().endswith(
        "it is published (read-only); pass --force to delete it anyway"
    )
    assert protected.hint() == (
        f"hint: published versions are protected: 'dataver delete --id {version} --force'"
    )
    assert "create" not in protected.hint()  # before: "build a child with dataver create"

    taken = dv("create", "--name", "pets", "--version", "1.0.0", code=1)
    assert taken.error() == "error: version 1.0.0 of default/pets already exists"
    assert taken.hint() == (
        "hint: choose another --version, or leave it out to take the next patch version "
        "(see 'dataver search --project default --name pets')"
    )  # before: "another process changed it at the same time; run the command again"

    unknown = dv("get", "--name", "badd", code=1)
    assert unknown.error() == "error: no version of default/badd in states final/published"
    assert "hex" not in unknown.hint()  # before: "ids are 32 hex characters"
    assert unknown.hint() == (
        "hint: see the datasets with 'dataver ls --project default' and their versions with "
        "'dataver search --project default --name badd'"
    )

    again = dv("publish", "--id", version, code=1)
    assert again.hint() == f"hint: version {version} is already published: nothing to do"
    dv("create", "--name", "other")
    dv("rename", "--name", "other", "--new-name", "taken")
    dv("create", "--name", "taken2")
    clash = dv("rename", "--name", "taken2", "--new-name", "taken", code=1)
    assert clash.hint() == "hint: choose another name (see 'dataver ls')"
    uploading = dv("search", "--name", "^taken$", "--json").json()[0]["id"]
    early = dv("get", "--id", uploading, code=1)
    assert early.hint() == (
        f"hint: finish it first with 'dataver close --id {uploading}' (or 'dataver abort')"
    )


# ------------------------------------------------------------------------ 17. a busy port


def test_ui_on_a_busy_port_is_one_error_line(data: Path, dv: Callable[..., Run]) -> None:
    dv("sync", "--folder", data, "--name", "pets")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(
            [str(SCRIPT), "ui", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 1  # before: 3, uvicorn's own
    assert run.stderr.splitlines() == [
        f"error: cannot serve on 127.0.0.1:{port}: the port is in use",
        "hint: pass another --port (or --port 0 for any free one), or stop what uses it",
    ]  # before: the URL first, as if it were served, then uvicorn's log lines


# ----------------------------------------------------------------------------- 18. smaller


def test_an_empty_folder_is_refused_unless_allowed(
    cli: Callable[..., Run], tmp_path: Path, registry: dataver.Registry
) -> None:
    dv = cli
    empty = tmp_path / "empty"
    (empty / "only-folders").mkdir(parents=True)
    refused = dv("sync", "--folder", empty, "--name", "pets", code=1)
    assert refused.error() == (
        f"error: {empty} holds no files: no version of default/pets was created"
    )
    assert refused.hint() == (
        "hint: pass --allow-empty to version an empty folder, or check the folder"
    )
    assert dv("search", "--json", code=None).code == 1  # no registry: nothing was created
    allowed = dv("sync", "--folder", empty, "--name", "pets", "--allow-empty", "--json").json()
    assert allowed["version"]["stats"]["files"] == 0
    assert dv("sync", "--folder", empty, "--id", allowed["id"], code=1).error() == (
        f"error: {empty} holds no files: nothing was synced"
    )
    dv("create", "--name", "blank")
    closed = dv("close")
    assert "warning: default/blank 1.0.0" in closed.err
    assert "holds no files" in closed.err
    # the SDK's pipeline step: refused before anything is created
    with pytest.raises(ValidationError, match="holds no files: no version of default/x"):
        registry.version_folder("x", empty)
    assert registry.list() == []
    done = registry.version_folder("x", empty, allow_empty=True)
    assert done.dataset is not None
    assert done.dataset.stats.files == 0


def test_search_counts_the_files_of_an_uploading_version(
    cli: Callable[..., Run], data: Path
) -> None:
    dv = cli
    base = dv("sync", "--folder", data, "--name", "pets").out.strip()
    created = dv("create", "--name", "pets", "--parents", base).out.strip()
    (data / "extra.bin").write_bytes(b"\0" * 2048)
    dv("add", "--files", data / "extra.bin")
    found = {v["id"]: v for v in dv("search", "--json").json()}
    assert found[created]["state"] == "uploading"
    assert found[created]["stats"]["files"] == 4  # before: 0 until finalized
    assert found[created]["stats"]["logical_bytes"] == 2048 + 6 + 8 + 8
    row = next(line for line in dv("search").out.splitlines() if line.startswith(created[:12]))
    assert row.split()[5:8] == ["4", "2.0", "KiB"]
    fresh = dv("create", "--name", "pets", "--parents", base).out.strip()
    assert dv("show", "--id", fresh, "--json").json()["stats"]["files"] == 3  # its parent's


def test_sizes_are_binary_units_on_the_command_line_and_the_page(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    dv = cli
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "big.bin").write_bytes(b"\0" * (3 << 20))
    (tmp_path / "d" / "small.bin").write_bytes(b"\0" * 1536)
    dv("sync", "--folder", tmp_path / "d", "--name", "units")
    listed = dv("list").out
    assert re.search(r"^\s*3\.0 MiB\s", listed, re.MULTILINE)
    assert re.search(r"^\s*1\.5 KiB\s", listed, re.MULTILINE)
    assert "3.0 MiB" in dv("ls").out
    script = (ROOT / "core/src/dataver/ui/static/app.js").read_text()
    assert '["KiB", "MiB", "GiB", "TiB", "PiB"]' in script  # the page's units, the same


def test_docs_speak_of_the_ui_and_in_binary_units() -> None:
    cli_md = (ROOT / "docs/cli.md").read_text()
    assert "does not exist yet" not in cli_md
    for page in ("docs/cli.md", "docs/quickstart.md", "README.md"):
        text = (ROOT / page).read_text()
        blocks = re.findall(r"^```(?:console|text)\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
        for block in blocks:
            assert not re.search(r"\d (kB|MB|GB|TB)\b", block), f"{page}: {block}"
