"""Version strings, get/list queries, rename/move and the ClearML-style entry (behaviour 8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import ConflictError, State, ValidationError, VersionNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def final(registry: dataver.Registry, name: str = "ds", **kwargs: object) -> dataver.Dataset:
    ds = registry.create(name, **kwargs)  # type: ignore[arg-type]
    ds.finalize()
    return ds


def test_versions_first_then_next_patch(registry: dataver.Registry) -> None:
    assert final(registry).version == "1.0.0"
    assert final(registry).version == "1.0.1"
    assert registry.get(name="ds").version == "1.0.1"


def test_versions_highest_semver_wins_and_uploading_is_hidden(registry: dataver.Registry) -> None:
    v2 = final(registry, version="2.0.0")
    v15 = final(registry, version="1.5.0")
    assert registry.get(name="ds").id == v2.id
    assert registry.get(name="ds", project="default").version == "2.0.0"
    assert registry.get(name="ds", version="1.5.0").id == v15.id

    uploading = registry.create("ds", version="3.0.0")
    assert uploading.state is State.UPLOADING
    assert registry.get(name="ds").version == "2.0.0"  # not returned by default
    with pytest.raises(VersionNotFoundError, match=r"no version of default/ds version 3\.0\.0"):
        registry.get(name="ds", version="3.0.0")
    assert registry.get(name="ds", states=None).id == uploading.id
    assert registry.get(name="ds", states=["uploading"]).id == uploading.id
    assert registry.get(name="ds", states="final").id == v2.id
    # Auto-versioning continues after the highest version taken, whatever its state.
    assert registry.create("ds").version == "3.0.1"


def test_get_by_id_honours_states(registry: dataver.Registry) -> None:
    ds = registry.create("ds")
    with pytest.raises(VersionNotFoundError, match="pass states=None") as info:
        registry.get(ds.id)
    assert info.value.state == "uploading"
    assert registry.get(ds.id, states=None).id == ds.id
    assert registry.get(ds.id, states=[State.UPLOADING]).id == ds.id


def test_explicit_versions_are_normalised_and_unique(registry: dataver.Registry) -> None:
    assert registry.create("ds", version="1.5").version == "1.5.0"
    assert registry.create("ds", version="2").version == "2.0.0"
    with pytest.raises(ConflictError, match=r"version 1\.5\.0 of default/ds already exists"):
        registry.create("ds", version="1.5.0")
    for bad in ("one", "1.2.3.4", "", "v-1"):
        with pytest.raises(ValidationError, match="invalid version"):
            registry.create("ds", version=bad)
    assert sorted(d.version for d in registry.list()) == ["1.5.0", "2.0.0"]


def test_prerelease_then_release(registry: dataver.Registry) -> None:
    final(registry, version="2.0.0-rc.1")
    assert registry.create("ds").version == "2.0.0"
    assert registry.create("ds").version == "2.0.1"


def test_versions_are_per_dataset(registry: dataver.Registry) -> None:
    assert final(registry, "a").version == "1.0.0"
    assert final(registry, "b").version == "1.0.0"
    assert final(registry, "a", project="other").version == "1.0.0"
    assert final(registry, "a").version == "1.0.1"
    assert [(d.project, d.name) for d in registry.datasets()] == [
        ("default", "a"),
        ("default", "b"),
        ("other", "a"),
    ]


def test_list_filters_and_order(registry: dataver.Registry) -> None:
    a1 = final(registry, "a", tags=["gold"])
    b1 = final(registry, "b", project="p2")
    a2 = registry.create("a", tags=["gold", "new"])
    assert [d.id for d in registry.list()] == [a2.id, b1.id, a1.id]  # newest first
    assert [d.id for d in registry.list(project="default")] == [a2.id, a1.id]
    assert [d.id for d in registry.list(name="b")] == [b1.id]
    assert [d.id for d in registry.list(project="default", name="a")] == [a2.id, a1.id]
    assert [d.id for d in registry.list(tags=["gold"])] == [a2.id, a1.id]
    assert [d.id for d in registry.list(tags=["gold", "new"])] == [a2.id]
    assert [d.id for d in registry.list(states=["final"])] == [b1.id, a1.id]
    assert [d.id for d in registry.list(states=["uploading"])] == [a2.id]
    assert registry.list(project="nope") == []
    assert registry.get(name="a", tags=["gold"]).id == a1.id
    with pytest.raises(VersionNotFoundError, match="with tags"):
        registry.get(name="a", tags=["new"])


def test_get_errors(registry: dataver.Registry) -> None:
    with pytest.raises(ValidationError, match="needs an id"):
        registry.get()
    for bad in ("f" * 32, "not-an-id", "../../etc/passwd", "F" * 32):
        with pytest.raises(VersionNotFoundError):
            registry.get(bad, states=None)
    with pytest.raises(VersionNotFoundError, match="no version of default/missing"):
        registry.get(name="missing")


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "a/b", "a\\b", "nul\x00", "x" * 201, ".", ".."]
)
def test_invalid_dataset_names(registry: dataver.Registry, name: str) -> None:
    with pytest.raises(ValidationError, match="invalid name"):
        registry.create(name)


def test_project_may_contain_slashes(registry: dataver.Registry) -> None:
    ds = final(registry, "ds", project="team/vision")
    assert registry.get(name="ds", project="team/vision").id == ds.id
    with pytest.raises(ValidationError, match="invalid project"):
        registry.create("ds", project="bad\\project")
    for bad in ("..", "team/..", "../x", "a//b", "/a", "a/", "."):
        with pytest.raises(ValidationError, match="invalid project"):
            registry.create("ds", project=bad)


def test_rename_and_move(registry: dataver.Registry) -> None:
    v1 = final(registry, "old")
    v2 = final(registry, "old")
    registry.rename("default", "old", "new")
    assert registry.get(name="new").id == v2.id
    assert registry.get(name="new", version="1.0.0").id == v1.id
    with pytest.raises(VersionNotFoundError):
        registry.get(name="old")
    assert registry.get(v1.id).name == "new"

    registry.move("default", "new", "archive")
    moved = registry.get(name="new", project="archive")
    assert (moved.id, moved.project, moved.name) == (v2.id, "archive", "new")
    assert registry.list(project="default") == []
    assert registry.create("new", project="archive").version == "1.0.2"

    final(registry, "taken", project="archive")
    with pytest.raises(ConflictError, match="already exists"):
        registry.rename("archive", "new", "taken")
    with pytest.raises(dataver.NotFoundError, match="no dataset default/ghost"):
        registry.rename("default", "ghost", "x")
    with pytest.raises(ValidationError):
        registry.rename("archive", "new", "bad/name")


def test_clearml_style_entry_uses_the_configured_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_tree: Callable[[Path], dict]
) -> None:
    configured = tmp_path / "configured"
    monkeypatch.setenv("DATAVER_REGISTRY", str(configured))
    (tmp_path / "f.txt").write_bytes(b"clearml")
    ds = dataver.Dataset.create("cm", project="p", tags=["t"])
    ds.add_files(tmp_path / "f.txt")
    ds.finalize(auto_upload=True)
    assert (configured / "dataver.json").is_file()
    got = dataver.Dataset.get(name="cm", project="p")
    assert got.id == ds.id
    assert dataver.Dataset.get(ds.id).tags == ("t",)
    assert read_tree(got.get_local_copy()) == {"f.txt": b"clearml"}
    assert dataver.Registry().url == configured.as_uri()


def test_registry_accepts_file_urls(tmp_path: Path) -> None:
    target = tmp_path / "by url"
    reg = dataver.Registry(target.as_uri())
    final(reg, "x")
    assert reg.url == target.as_uri()
    assert dataver.Registry(target).get(name="x").version == "1.0.0"


def test_registry_is_created_on_first_write(tmp_path: Path) -> None:
    target = tmp_path / "lazy"
    reg = dataver.Registry(target)
    assert reg.list() == []
    assert not target.exists()
    reg.create("x")
    assert (target / "dataver.json").is_file()


def test_unsupported_registry_url() -> None:
    with pytest.raises(dataver.errors.ConfigurationError, match="unsupported registry URL"):
        dataver.Registry("nosuchscheme://example.com/reg")
    # A known fsspec scheme whose implementation is not installed says what to install.
    with pytest.raises(dataver.errors.ConfigurationError, match="gcsfs"):
        dataver.Registry("gs://bucket/reg")


def test_parents_latest_is_the_highest_usable_version(registry: dataver.Registry) -> None:
    first = registry.create("ds", parents="latest")
    assert first.parents == ()  # NOTE: the first version has nothing to build on
    first.finalize()
    high = final(registry, version="2.0.0")
    final(registry, version="1.5.0")
    registry.create("ds", version="3.0.0")  # Uploading: never a parent
    registry.create("ds", version="4.0.0").abort()
    child = registry.create("ds", parents="latest")
    assert child.parents == (high.id,)
    assert registry.create("other", parents="latest").parents == ()


def test_one_parent_id_as_a_string_is_one_parent(registry: dataver.Registry) -> None:
    parent = final(registry)
    assert registry.create("ds", parents=parent.id).parents == (parent.id,)
