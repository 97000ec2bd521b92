"""The ``DataverRegistry`` block: Prefect's standard block tests, storage, secrets, discovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr

import dataver
from prefect import flow
from prefect_dataver import DataverRegistry, create_version, finalize_version, get_local_copy


class TestDataverRegistryStandard(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return DataverRegistry


def test_the_collection_entry_point_names_the_package() -> None:
    from importlib.metadata import entry_points

    (entry,) = (e for e in entry_points(group="prefect.collections") if e.name == "prefect_dataver")
    assert entry.load().DataverRegistry is DataverRegistry


def test_prefect_registers_the_block_type_from_the_collection() -> None:
    from prefect.plugins import load_prefect_collections
    from prefect.utilities.dispatch import lookup_type

    assert "prefect_dataver" in load_prefect_collections()
    assert lookup_type(Block, "dataver-registry") is DataverRegistry


def test_a_saved_block_loads_back_with_its_secret(tmp_path: Path) -> None:
    DataverRegistry(
        url=str(tmp_path / "registry"),
        aws_access_key_id="key-id",
        aws_secret_access_key=SecretStr("s3cret"),
        ui_url="http://ui.example:9000/",
    ).save("saved-registry", overwrite=True)

    loaded = DataverRegistry.load("saved-registry")

    assert loaded.url == str(tmp_path / "registry")
    assert loaded.aws_secret_access_key is not None
    assert loaded.aws_secret_access_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(loaded)
    assert "s3cret" not in loaded.model_dump_json()
    assert loaded.storage_options() == {"key": "key-id", "secret": "s3cret"}


def test_get_registry_opens_a_local_registry(registry_url: str) -> None:
    registry = DataverRegistry(url=registry_url).get_registry()

    assert isinstance(registry, dataver.Registry)
    assert registry.list() == []


def test_get_registry_reaches_s3_with_the_block_credentials(
    s3_block: DataverRegistry, source: Path
) -> None:
    registry = s3_block.get_registry()
    ds = registry.create("s3-block")
    ds.add_files(source)
    ds.finalize(auto_upload=True)

    assert registry.url.startswith("s3://")
    assert [d.id for d in s3_block.get_registry().list()] == [ds.id]


def test_a_block_naming_a_missing_bucket_fails_with_a_dataver_error(
    s3_block: DataverRegistry,
) -> None:
    wrong = s3_block.model_copy(update={"url": "s3://no-such-bucket-here/registry"})

    with pytest.raises(dataver.DataverError):
        wrong.get_registry().create("nowhere")


def test_tasks_accept_a_block_a_loaded_block_or_a_url(registry_url: str, source: Path) -> None:
    DataverRegistry(url=registry_url).save("tasks-registry", overwrite=True)

    @flow
    def build() -> str:
        block = DataverRegistry.load("tasks-registry")
        ds = create_version(block, "accepts")
        ds = finalize_version(registry_url, ds)
        return get_local_copy(DataverRegistry(url=registry_url), ds)

    assert Path(build()).is_dir()
    (version,) = dataver.Registry(registry_url).list(name="accepts")
    assert version.state is dataver.State.FINAL


def test_a_task_refuses_something_that_is_not_a_registry() -> None:
    @flow
    def build() -> None:
        create_version(42, "nope")  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="DataverRegistry block or a URL"):
        build()
