"""dataver.clearml has ClearML Data's SDK surface: compared with the real ``clearml`` package,
method by method and parameter by parameter (name, kind, default), with ``inspect``.

Annotations are not compared: ClearML's name its own types (``pathlib2.Path``, ``pd.DataFrame``).
Methods ClearML has and the drop-in leaves out are listed, with the reason, in
``LEFT_OUT`` (and in docs/clearml.md); any other difference fails.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from clearml.datasets.dataset import FileEntry as RealFileEntry
from clearml.datasets.dataset import LinkEntry as RealLinkEntry

import clearml
from dataver import clearml as drop_in

REAL = clearml.Dataset
OURS = drop_in.Dataset

LEFT_OUT = {
    # A ClearML server's offline session: dataver never needs a server to be offline from.
    "import_offline_session",
    # Rewrites the change counters a ClearML Task reports; dataver computes them itself.
    "update_changed_files",
}

REQUIRED = {
    "create", "get", "list_datasets", "squash", "delete", "rename", "move_to_project",
    "add_files", "add_external_files", "remove_files", "sync_folder", "upload", "finalize",
    "publish", "is_final", "is_dirty", "get_local_copy", "get_mutable_local_copy",
    "list_files", "list_added_files", "list_removed_files", "list_modified_files",
    "get_dependency_graph", "verify_dataset_hash", "set_metadata", "get_metadata",
    "set_description", "get_num_chunks", "id", "name", "project", "version", "tags",
    "file_entries", "file_entries_dict", "link_entries", "link_entries_dict",
}  # fmt: skip


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def _shape(sig: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def test_the_real_clearml_is_2_1() -> None:
    assert clearml.__version__.startswith("2.1."), clearml.__version__


def test_every_public_name_of_clearml_dataset_is_there() -> None:
    missing = _public(REAL) - _public(OURS) - LEFT_OUT
    assert not missing, f"clearml.Dataset has, dataver.clearml.Dataset lacks: {sorted(missing)}"
    assert _public(OURS) >= REQUIRED


def test_nothing_is_left_out_that_clearml_does_not_have() -> None:
    assert _public(REAL) >= LEFT_OUT
    assert not LEFT_OUT & _public(OURS)


def test_no_public_name_of_ours_is_unknown_to_clearml() -> None:
    assert not _public(OURS) - _public(REAL)


@pytest.mark.parametrize("name", sorted(_public(REAL) - LEFT_OUT))
def test_same_kind_and_parameters(name: str) -> None:
    real = inspect.getattr_static(REAL, name)
    ours = inspect.getattr_static(OURS, name)
    assert type(ours) is type(real), f"{name}: {type(ours).__name__} vs {type(real).__name__}"
    if isinstance(real, property):
        assert (ours.fset is None) == (real.fset is None), f"{name}: setter differs"
        return
    assert _shape(inspect.signature(getattr(OURS, name))) == _shape(
        inspect.signature(getattr(REAL, name))
    )


@pytest.mark.parametrize(("ours", "real"), [
    (drop_in.FileEntry, RealFileEntry), (drop_in.LinkEntry, RealLinkEntry),
])  # fmt: skip
def test_entry_objects_have_clearmls_fields(ours: type, real: type) -> None:
    assert _shape(inspect.signature(ours)) == _shape(inspect.signature(real))


@pytest.mark.parametrize(("name", "exc"), [("get", ValueError), ("delete", ValueError)])
def test_raises_where_clearml_raises_with_no_criteria(name: str, exc: type) -> None:
    with pytest.raises(exc, match="criteria"):
        getattr(OURS, name)()


def test_a_missing_dataset_is_a_value_error_as_in_clearml() -> None:
    with pytest.raises(ValueError, match="nope"):
        OURS.get(dataset_project="p", dataset_name="nope")


def test_create_without_a_project_or_parent_raises_as_clearml() -> None:
    with pytest.raises(ValueError, match="Missing dataset project name"):
        OURS.create(dataset_name="x")
