"""The Prefect examples in examples/dags run end to end, on a local and on the moto S3 registry.

The consumer's ``DeploymentEventTrigger`` is exercised for real: the deployment is applied to
the test server, the producer's published version emits the event, the server's triggers
create the consumer's flow run, and that flow run is then executed here.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dataver

if TYPE_CHECKING:
    from types import ModuleType

    from prefect_dataver import DataverRegistry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"


def load_example(file_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"prefect_example_{uuid.uuid4().hex[:6]}", EXAMPLES / f"{file_name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NOTE: a deployment's entrypoint names the module's file
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["local", "s3"])
def example_registry(
    request: pytest.FixtureRequest, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[DataverRegistry | str, dataver.Registry]:
    """The registry the example flows get (URL or block), and the same registry opened."""
    if request.param == "local":
        return registry_url, dataver.Registry(registry_url)
    block: DataverRegistry = request.getfixturevalue("s3_block")
    # NOTE: the consumer gets only the registry URL from the event; S3 credentials come
    # from its environment, as on a real worker.
    secret = block.aws_secret_access_key
    assert secret is not None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", block.aws_access_key_id or "")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret.get_secret_value())
    monkeypatch.setenv("AWS_ENDPOINT_URL", block.endpoint_url or "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return block, block.get_registry()


def test_ingest_version_wait_train(
    example_registry: tuple[DataverRegistry | str, dataver.Registry], tmp_path: Path
) -> None:
    registry, opened = example_registry
    example = load_example("prefect_ingest_train")
    workdir = str(tmp_path / "work")

    first = example.ingest_train(registry, workdir, day="2026-03-01")
    rerun = example.ingest_train(registry, workdir, day="2026-03-01")
    second = example.ingest_train(registry, workdir, day="2026-03-02")

    assert first["rows"] == 100
    assert abs(first["slope"] - 2.0) < 0.01
    assert rerun["dataset_version_id"] == first["dataset_version_id"]
    assert second["dataset_version_id"] != first["dataset_version_id"]
    versions = opened.list(project="examples", name="points", states=None)
    assert [v.version for v in versions] == ["1.0.1", "1.0.0"]
    newest = versions[0]
    assert newest.state is dataver.State.PUBLISHED
    assert newest.parents == (first["dataset_version_id"],)
    assert newest.metadata == {"ingest_date": "2026-03-02"}
    assert newest.provenance["flow_name"] == "dataver-ingest-train"


def flow_runs_of(deployment_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            # NOTE: the sync client sends None for these unless given, which the API refuses.
            sort=FlowRunSort.ID_DESC,
            limit=10,
        )


def test_a_published_version_triggers_the_consumer_deployment(
    example_registry: tuple[DataverRegistry | str, dataver.Registry], tmp_path: Path
) -> None:
    from prefect.flow_engine import run_flow

    registry, opened = example_registry
    producer = load_example("prefect_ingest_train")
    consumer = load_example("prefect_consumer")
    deployment_id = consumer.profile_new_points.to_deployment(
        name=f"on-new-points-{uuid.uuid4().hex[:6]}", triggers=[consumer.NEW_POINTS]
    ).apply()

    produced = producer.ingest_train(registry, str(tmp_path / "work"), day="2026-04-01")

    deadline = time.monotonic() + 90
    while not (runs := flow_runs_of(deployment_id)):
        assert time.monotonic() < deadline, "the trigger created no flow run"
        time.sleep(0.5)
    (flow_run,) = runs
    assert flow_run.parameters == {
        "version_id": produced["dataset_version_id"],
        "registry": opened.url,
    }

    profile = run_flow(
        consumer.profile_new_points, flow_run=flow_run, parameters=flow_run.parameters
    )

    assert profile["dataset_version_id"] == produced["dataset_version_id"]
    assert profile["rows"] == 100
