"""What Prefect sees of a version: artifacts (read back from the server), events, assets."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

import dataver
from prefect import flow
from prefect_dataver import (
    FINALIZED,
    PUBLISHED,
    DataverRegistry,
    VersionInfo,
    artifact_keys,
    create_version,
    dataset_asset_key,
    finalize_version,
    publish_version,
    version_folder,
)
from prefect_dataver.artifacts import diff_rows, file_rows

if TYPE_CHECKING:
    from pathlib import Path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_artifact_keys_are_lowercase_letters_digits_and_dashes() -> None:
    keys = artifact_keys("Vision/Team A", "Train_Images.v2")

    assert keys.card == "dataver-vision-team-a-train-images-v2"
    for key in (keys.card, keys.files, keys.diff, keys.link):
        assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_each_version_adds_a_card_files_diff_and_link_to_its_dataset_history(
    tmp_path: Path, source: Path, read_artifacts: Any
) -> None:
    registry = DataverRegistry(url=str(tmp_path / "registry"), ui_url="http://ui.test:8000/")
    name = unique("Artifacts")

    @flow
    def build() -> tuple[VersionInfo, VersionInfo, str]:
        first = version_folder(registry, name, "vision", str(source))
        (source / "b.csv").write_text("x,y\n3,4\n5,6\n")
        (source / "new.csv").write_text("x,y\n7,8\n")
        (source / "train" / "a.csv").unlink()
        second = version_folder(registry, name, "vision", str(source))
        return first, second, str(get_run_context().flow_run.id)  # type: ignore[union-attr]

    first, second, run_id = build()
    keys = artifact_keys("vision", name)

    cards = read_artifacts(keys.card)
    assert len(cards) == 2
    assert {str(c.flow_run_id) for c in cards} == {run_id}
    card = cards[0].data
    assert card.startswith(f"# vision/{name} 1.0.1")
    assert "| state | **final** |" in card
    assert f"| parents | `{first.id}` |" in card
    assert "| files | 2 |" in card
    assert "| added / modified / removed / renamed | 1 / 1 / 1 / 0 |" in card
    assert f"(http://ui.test:8000/versions/{second.id})" in card

    files = read_artifacts(keys.files)[0]
    assert files.type == "table"
    assert '"path": "b.csv"' in files.data
    assert '"path": "new.csv"' in files.data
    assert "train/a.csv" not in files.data

    diff = read_artifacts(keys.diff)[0].data
    assert '{"change": "added", "path": "new.csv", "previous_path": ""}' in diff
    assert '{"change": "modified", "path": "b.csv", "previous_path": ""}' in diff
    assert '{"change": "removed", "path": "train/a.csv", "previous_path": ""}' in diff

    (link, older_link) = read_artifacts(keys.link)
    assert link.type == "markdown"  # NOTE: Prefect stores a link artifact as markdown
    assert f"(http://ui.test:8000/versions/{second.id})" in link.data
    assert f"/versions/{first.id})" in older_link.data


def test_the_diff_table_lists_renames_with_their_previous_path(
    registry_url: str, source: Path
) -> None:
    registry = dataver.Registry(registry_url)
    parent = registry.create("renames")
    parent.add_files(source)
    parent.finalize(auto_upload=True)
    child = registry.create("renames", parents=[parent])
    (source / "b.csv").rename(source / "moved.csv")
    child.sync_folder(source)

    assert diff_rows(child) == [
        {"change": "renamed", "path": "moved.csv", "previous_path": "b.csv"}
    ]
    assert file_rows(child) == [
        {"path": "moved.csv", "size": 8},
        {"path": "train/a.csv", "size": 8},
    ]


def test_publishing_refreshes_the_card_with_the_new_state(
    registry_url: str, read_artifacts: Any
) -> None:
    name = unique("republish")

    @flow
    def build() -> None:
        ds = finalize_version(registry_url, create_version(registry_url, name))
        publish_version(registry_url, ds)

    build()
    newest, older = read_artifacts(artifact_keys("default", name).card)

    assert "| state | **published** |" in newest.data
    assert "| state | **final** |" in older.data
    # NOTE: a URL string has no UI setting; links use the block's default UI address.
    assert "http://127.0.0.1:8765/versions/" in newest.data


def test_finalize_and_publish_emit_events_about_the_version(
    registry_url: str, source: Path, emitted: Any
) -> None:
    name = unique("events")

    @flow
    def build() -> tuple[VersionInfo, VersionInfo, str]:
        parent = version_folder(registry_url, name, "vision", str(source))
        (source / "c.csv").write_text("c\n")
        child = version_folder(registry_url, name, "vision", str(source), publish=True)
        return parent, child, str(get_run_context().flow_run.id)  # type: ignore[union-attr]

    parent, child, run_id = build()

    finalized = emitted("dataver.version.finalized")
    published = emitted("dataver.version.published")
    assert [e.resource.id for e in finalized] == [
        f"dataver.version.{parent.id}",
        f"dataver.version.{child.id}",
    ]
    (event,) = published
    assert event.resource.id == f"dataver.version.{child.id}"
    assert event.resource["dataver.version.id"] == child.id
    assert event.resource["dataver.project"] == "vision"
    assert event.resource["dataver.name"] == name
    assert event.resource["dataver.version"] == "1.0.1"
    assert event.resource["dataver.state"] == "published"
    assert event.resource["dataver.registry"] == dataver.Registry(registry_url).url
    assert event.payload["parents"] == [parent.id]
    assert event.payload["stats"]["files"] == 3
    roles = {(r.role, r.id) for r in event.related}
    assert ("dataset", f"dataver.dataset.vision/{name}") in roles
    assert ("parent", f"dataver.version.{parent.id}") in roles
    assert ("flow-run", f"prefect.flow-run.{run_id}") in roles


def test_a_version_materialises_its_dataset_asset_with_other_datasets_upstream(
    registry_url: str, source: Path, emitted: Any
) -> None:
    raw, clean = unique("raw"), unique("clean")

    @flow
    def build() -> tuple[VersionInfo, VersionInfo, VersionInfo]:
        raw_v = version_folder(registry_url, raw, "lake", str(source))
        clean_v = version_folder(registry_url, clean, "lake", str(source), parents=[raw_v])
        (source / "more.csv").write_text("m\n")
        clean_v2 = version_folder(registry_url, clean, "lake", str(source))
        return raw_v, clean_v, clean_v2

    raw_v, clean_v, clean_v2 = build()

    materialized = emitted("prefect.asset.materialization.succeeded")
    by_key: dict[str, list[Any]] = {}
    for event in materialized:
        by_key.setdefault(event.resource.id, []).append(event)
    raw_key, clean_key = dataset_asset_key("lake", raw), dataset_asset_key("lake", clean)
    assert raw_key == f"dataver://lake/{raw}"
    assert [len(by_key[raw_key]), len(by_key[clean_key])] == [1, 2]

    def upstream(event: Any) -> set[str]:
        return {r.id for r in event.related if r.role == "asset"}

    assert upstream(by_key[raw_key][0]) == set()
    assert upstream(by_key[clean_key][0]) == {raw_key}
    # NOTE: a parent in the same dataset is the same asset; it is not its own upstream.
    assert upstream(by_key[clean_key][1]) == set()
    assert by_key[clean_key][1].payload["version_id"] == clean_v2.id
    assert by_key[clean_key][0].payload["parents"] == [raw_v.id]
    assert by_key[clean_key][0].resource["prefect.asset.url"].endswith(f"/versions/{clean_v.id}")
    assert {"prefect.asset.referenced"} <= {e.event for e in emitted()}
    registry = dataver.Registry(registry_url)
    assert registry.get(clean_v2.id).parents == (clean_v.id,)


def test_a_reused_version_is_announced_only_when_the_call_publishes_it(
    registry_url: str, source: Path, emitted: Any
) -> None:
    name = unique("reused")
    rerun = version_folder.with_options(cache_policy=NO_CACHE)

    @flow
    def build() -> list[VersionInfo]:
        first = version_folder(registry_url, name, "vision", str(source))
        again = rerun(registry_url, name, "vision", str(source))
        published = rerun(registry_url, name, "vision", str(source), publish=True)
        return [first, again, published, rerun(registry_url, name, "vision", str(source))]

    versions = build()

    assert len({v.id for v in versions}) == 1
    assert [v.state for v in versions] == ["final", "final", "published", "published"]

    def about(event_name: str) -> list[Any]:
        return [e for e in emitted(event_name) if e.resource["dataver.name"] == name]

    assert len(about("dataver.version.finalized")) == 1
    assert len(about("dataver.version.published")) == 1


def _outside_code(markdown: str) -> str:
    """``markdown`` without its code spans (where nothing is a link)."""
    return re.sub(r"`[^`]*`", "", markdown)


def test_the_prefect_ui_shows_names_and_ids_as_they_are(
    registry_url: str, source: Path, read_artifacts: Any
) -> None:
    name = unique("blockds")

    @flow
    def build() -> VersionInfo:
        version_folder(registry_url, name, "vision", str(source), version="1.0.0")
        (source / "c.csv").write_text("c\n")
        return version_folder(registry_url, name, "vision", str(source), tags=["a_b"])

    info = build()
    assert info.version == "1.0.1"
    keys = artifact_keys("vision", name)
    card, files, diff, link = (
        read_artifacts(key)[0] for key in (keys.card, keys.files, keys.diff, keys.link)
    )

    # NOTE: "<name>@1.0.1" in text is an e-mail address to GitHub-flavoured markdown (a
    # mailto: link in Prefect's UI): every "@" outside code is escaped.
    for text in (card.data, card.description, files.description, diff.description):
        assert not re.search(r"(?<!\\)@", _outside_code(text)), text
    assert card.description == f"Version card of dataver://vision/{name}\\@1.0.1 (final)"
    assert files.description == f"Files of dataver://vision/{name}\\@1.0.1"
    assert diff.description == f"Changes of dataver://vision/{name}\\@1.0.1 against its parents"
    assert link.description == f"Web page of dataver://vision/{name}\\@1.0.1"
    for artifact in (card, files, diff, link):
        assert not artifact.description.startswith("dataver dataver://")
    # NOTE: the text of a link in a table cell is shown verbatim: no code span inside it.
    assert f"| version id | [{info.id}](http://127.0.0.1:8765/versions/{info.id}) |" in card.data
    assert f"| uri | `dataver://vision/{name}@1.0.1` |" in card.data
    assert card.data.startswith(f"# vision/{name} 1.0.1\n")
    assert "| tags | a\\_b |" in card.data
    assert link.data == (f"[vision/{name} 1.0.1](http://127.0.0.1:8765/versions/{info.id})")


def test_markdown_text_escapes_what_markdown_would_render() -> None:
    from prefect_dataver.artifacts import markdown_text

    assert markdown_text("dataver://vision/blockds@1.0.1") == "dataver://vision/blockds\\@1.0.1"
    assert markdown_text("a_b *c* `d` [e](f) <g> h|i ~j~ k&l") == (
        "a\\_b \\*c\\* \\`d\\` \\[e\\](f) \\<g\\> h\\|i \\~j\\~ k\\&l"
    )
    assert markdown_text("plain text 1.0") == "plain text 1.0"


def test_each_event_carries_the_state_it_announces(
    registry_url: str, source: Path, emitted: Any
) -> None:
    name = unique("states")

    @flow
    def build() -> VersionInfo:
        return version_folder(registry_url, name, "vision", str(source), publish=True)

    info = build()

    def about(event_name: str) -> Any:
        (event,) = [e for e in emitted(event_name) if e.resource["dataver.name"] == name]
        return event

    finalized, published = about(FINALIZED), about(PUBLISHED)
    assert info.state == "published"
    assert (finalized.resource["dataver.state"], finalized.payload["state"]) == ("final", "final")
    assert (published.resource["dataver.state"], published.payload["state"]) == (
        "published",
        "published",
    )
    assert finalized.resource.id == published.resource.id == f"dataver.version.{info.id}"
