"""ClearML Data's documented workflows, run through ``dataver.clearml`` as a ClearML user
writes them, on a local folder registry and on the moto S3 server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

import dataver
from dataver import clearml
from dataver.clearml import Dataset, FileEntry, LinkEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.core.conftest import Tree

FILES = {"a.csv": b"x,y\n1,2\n", "img/1.png": b"\x89PNG one", "img/2.png": b"\x89PNG two"}


@pytest.fixture(autouse=True)
def registry(any_registry: dataver.Registry) -> Iterator[dataver.Registry]:
    """Every test runs once on a local folder and once on S3, configured the ClearML way."""
    clearml.configure(any_registry)
    yield any_registry
    clearml.configure()


@pytest.fixture
def source(tmp_path: Path, write_tree: Callable[[Path, Tree], Path]) -> Path:
    return write_tree(tmp_path / "src", FILES)


@pytest.fixture
def outside(registry: dataver.Registry, tmp_path: Path) -> str:
    """A location of the user's, outside the registry: a folder, or the bucket's other half."""
    if registry.url.startswith("s3://"):
        return registry.url.rsplit("/", 1)[0] + "/team-files"
    return str(tmp_path / "team-files")


def _final(source: Path, **create: object) -> Dataset:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj", **create)  # type: ignore[arg-type]
    ds.add_files(path=str(source))
    ds.upload()
    assert ds.finalize() is True
    return ds


def _read(folder: str | Path) -> dict[str, bytes]:
    root = Path(folder)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_create_add_upload_finalize_then_get_by_name(source: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj", dataset_tags=["raw"])
    assert ds.add_files(path=str(source)) == 3
    assert ds.is_dirty()
    assert not ds.is_final()
    with pytest.raises(ValueError, match="upload"):
        ds.finalize()
    assert ds.finalize(raise_on_error=False) is False
    assert ds.upload() is None
    assert not ds.is_dirty()
    assert ds.finalize() is True
    assert ds.is_final()

    got = Dataset.get(dataset_project="proj", dataset_name="ds", only_completed=True)
    assert (got.id, got.version, got.tags) == (ds.id, "1.0.0", ["raw"])
    assert _read(got.get_local_copy()) == FILES
    assert got.list_files() == sorted(FILES)
    assert got.verify_dataset_hash() == []


def test_a_child_inherits_and_stores_only_its_changes(source: Path) -> None:
    parent = _final(source)
    (source / "a.csv").write_bytes(b"x,y\n3,4\n")
    (source / "img/2.png").unlink()
    (source / "new.txt").write_bytes(b"new")

    child = Dataset.create(dataset_name="ds", dataset_project="proj", parent_datasets=[parent])
    assert child.sync_folder(local_path=str(source)) == (1, 1, 1)
    child.finalize(auto_upload=True)

    assert child.version == "1.0.1"
    assert child.list_added_files() == ["new.txt"]
    assert child.list_removed_files() == ["img/2.png"]
    assert child.list_modified_files() == ["a.csv"]
    assert child.get_dependency_graph() == {child.id: [parent.id], parent.id: []}
    owners = {e.relative_path: e.parent_dataset_id for e in child.file_entries}
    assert owners == {"a.csv": child.id, "img/1.png": parent.id, "new.txt": child.id}
    assert child.list_files(dataset_id=parent.id) == ["img/1.png"]
    assert child.get_num_chunks(include_parents=False) <= child.get_num_chunks()
    assert _read(child.get_local_copy()) == _read(source)


def test_get_local_copy_of_some_files_and_parts(source: Path) -> None:
    ds = _final(source)
    assert _read(ds.get_local_copy(files=["img/1.png"])) == {"img/1.png": FILES["img/1.png"]}
    shares = [_read(ds.get_local_copy(part=i, num_parts=2)) for i in range(2)]
    assert not shares[0].keys() & shares[1].keys()
    assert {**shares[0], **shares[1]} == FILES
    again = [_read(ds.get_local_copy(part=i, num_parts=2)) for i in range(2)]
    assert again == shares


def test_squash_merges_in_order_and_keeps_removals(source: Path) -> None:
    parent = _final(source)
    child = Dataset.create(dataset_name="ds", dataset_project="proj", parent_datasets=[parent.id])
    child.remove_files(dataset_path="img")
    child.finalize()
    squashed = Dataset.squash(dataset_name="flat", dataset_ids=[parent.id, child.id])
    assert squashed.list_files() == ["a.csv"]
    assert squashed.get_dependency_graph() == {squashed.id: []}
    assert squashed.is_final()


def test_list_datasets_filters(source: Path) -> None:
    first = _final(source, dataset_tags=["raw"])
    Dataset.create(dataset_name="other", dataset_project="proj/sub")
    both = Dataset.list_datasets(dataset_project="proj", only_completed=False)
    assert {d["name"] for d in both} == {"ds", "other"}
    assert (
        Dataset.list_datasets(dataset_project="proj", recursive_project_search=False)[0]["id"]
        == first.id
    )
    assert [d["id"] for d in Dataset.list_datasets(tags=["raw"])] == [first.id]
    assert [d["id"] for d in Dataset.list_datasets(partial_name="^d")] == [first.id]
    assert Dataset.list_datasets(ids=[first.id])[0].keys() == {
        "name", "created", "project", "id", "tags", "version", "status",
    }  # fmt: skip
    statuses = {d["name"]: d["status"] for d in both}
    assert statuses == {"ds": "completed", "other": "in_progress"}


def test_upload_as_external_links_stores_plain_objects_and_reads_exact_bytes(
    source: Path, outside: str
) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    ds.upload(output_url=outside, upload_as_external_links=True)
    ds.finalize()

    links = ds.link_entries_dict
    assert sorted(links) == sorted(FILES)
    assert not ds.file_entries
    assert all(isinstance(e, LinkEntry) and e.parent_dataset_id == ds.id for e in links.values())
    base = f"{outside}/external_links/{ds.id}"
    assert links["a.csv"].link.endswith(f"{base.split('://')[-1]}/a.csv")
    assert _stored_at(base) == FILES
    assert _read(Dataset.get(dataset_id=ds.id).get_local_copy()) == FILES


def test_output_uri_given_at_create_is_where_a_later_process_uploads(
    source: Path, outside: str
) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj", output_uri=outside)
    again = Dataset.get(dataset_id=ds.id)  # NOTE: as another process would
    assert again.get_default_storage() == outside
    again.add_files(str(source))
    again.upload()
    again.finalize()
    assert {e.relative_path for e in again.link_entries} == set(FILES)
    assert _read(again.get_local_copy()) == FILES


def test_upload_as_external_links_needs_a_place_outside_the_registry(source: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    with pytest.raises(ValueError, match="output_url must be set"):
        ds.upload(upload_as_external_links=True)
    assert ds.is_dirty()


def test_delete_with_external_files_removes_the_targets(source: Path, outside: str) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    ds.upload(output_url=outside, upload_as_external_links=True)
    ds.finalize()
    Dataset.delete(dataset_id=ds.id, delete_external_files=True)
    assert _stored_at(f"{outside}/external_links/{ds.id}") == {}
    with pytest.raises(ValueError, match="not found"):
        Dataset.get(dataset_id=ds.id)


def test_delete_entire_dataset_needs_force_and_takes_children_first(source: Path) -> None:
    parent = _final(source)
    child = Dataset.create(dataset_name="ds", dataset_project="proj", parent_datasets=[parent])
    child.finalize()
    with pytest.raises(ValueError, match="force"):
        Dataset.delete(dataset_project="proj", dataset_name="ds", entire_dataset=True)
    with pytest.raises(ValueError, match="2 versions match"):
        Dataset.delete(dataset_project="proj", dataset_name="ds", force=True)
    with pytest.raises(dataver.HasChildrenError):
        Dataset.delete(dataset_id=parent.id)
    Dataset.delete(dataset_project="proj", dataset_name="ds", entire_dataset=True, force=True)
    assert Dataset.list_datasets(only_completed=False) == []


def test_get_auto_create_and_writable_copy(source: Path) -> None:
    made = Dataset.get(dataset_project="proj", dataset_name="ds", auto_create=True)
    assert not made.is_final()
    assert made.version == "1.0.0"
    made.add_files(str(source))
    made.finalize(auto_upload=True)
    copy = Dataset.get(dataset_id=made.id, writable_copy=True)
    assert copy.get_dependency_graph()[copy.id] == [made.id]
    assert copy.list_files() == sorted(FILES)


def test_what_dataver_does_better_is_kept(source: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    ds._version.abort("stopped by hand")
    assert not ds.is_final()  # NOTE: ClearML counts an aborted version as final
    with pytest.raises(ValueError, match="stopped"):
        Dataset.get(dataset_id=ds.id, only_completed=True)
    final = _final(source)
    assert final.publish() is True
    assert final.publish(raise_on_error=False) is False  # NOTE: ClearML inverts this flag


def test_metadata_tags_description(source: Path) -> None:
    ds = _final(source)
    ds.set_metadata({"rows": 2}, metadata_name="stats")
    ds.set_metadata([1, 2])
    assert ds.get_metadata("stats") == {"rows": 2}
    assert ds.get_metadata() == [1, 2]
    ds.add_tags("gold")
    ds.tags = ["a", "b"]
    assert Dataset.get(dataset_id=ds.id).tags == ["a", "b"]
    ds.set_description("points")
    assert dataver.Registry(ds._registry.url).get(ds.id).description == "points"


def test_file_entries_have_clearmls_fields(source: Path) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source), dataset_path="data")
    pending = ds.file_entries_dict["data/a.csv"]
    assert pending == FileEntry(
        "data/a.csv", pending.hash, ds.id, len(FILES["a.csv"]), None, str(source / "a.csv")
    )
    ds.upload()
    stored = ds.file_entries_dict["data/a.csv"]
    assert stored.local_path is None
    assert stored.artifact_name


def test_mutable_copy_and_verify_a_folder(source: Path, tmp_path: Path) -> None:
    ds = _final(source)
    out = ds.get_mutable_local_copy(tmp_path / "work")
    assert _read(out) == FILES
    Path(out, "a.csv").write_bytes(b"edited!!")
    assert ds.verify_dataset_hash(local_copy_path=out) == ["a.csv"]
    Path(out, "a.csv").write_bytes(b"x,y\n9,9\n")  # NOTE: same size, other bytes
    assert ds.verify_dataset_hash(local_copy_path=out, skip_hash=True) == []
    assert ds.verify_dataset_hash(local_copy_path=out) == ["a.csv"]
    with pytest.raises(ValueError, match="not empty"):
        ds.get_mutable_local_copy(out)


def test_rename_and_move(source: Path) -> None:
    _final(source)
    Dataset.rename(new_dataset_name="renamed", dataset_project="proj", dataset_name="ds")
    Dataset.move_to_project(
        new_dataset_project="elsewhere", dataset_project="proj", dataset_name="renamed"
    )
    got = Dataset.get(dataset_project="elsewhere", dataset_name="renamed")
    assert (got.project, got.name) == ("elsewhere", "renamed")


def test_remove_files_by_link_url(source: Path, outside: str) -> None:
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    ds.upload(output_url=outside, upload_as_external_links=True)
    base = ds.link_entries_dict["a.csv"].link.rsplit("/", 1)[0]
    assert ds.remove_files(dataset_path=f"{base}/img/*") == 2
    assert ds.list_files() == ["a.csv"]


def _stored_at(url: str) -> dict[str, bytes]:
    if not url.startswith("s3://"):
        return _read(url) if Path(url).exists() else {}
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
    return {
        o["Key"][len(prefix) + 1 :]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in listed
    }


def test_a_link_to_the_registry_is_not_a_place_outside_it(
    registry: dataver.Registry, source: Path, tmp_path: Path
) -> None:
    if registry.url.startswith("s3://"):
        pytest.skip("a symbolic link is a local folder's")
    ds = Dataset.create(dataset_name="ds", dataset_project="proj")
    ds.add_files(str(source))
    (tmp_path / "sneaky").symlink_to(registry.url.removeprefix("file://"))
    with pytest.raises(ValueError, match="inside the registry"):
        ds.upload(output_url=str(tmp_path / "sneaky" / "files"))
    assert ds.is_dirty()
