"""The block's S3 secret never leaks (issue 11, Secrets).

After flows that succeed and fail with a ``DataverRegistry`` block holding the secret key, the
secret appears nowhere: not in the flow runs' logs on the Prefect server, artifacts, events,
task results, error messages, the block's own repr, nor anything the registry stored.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from pydantic import SecretStr

import dataver
from prefect import flow
from prefect_dataver import DataverRegistry, VersionInfo, version_folder
from prefect_dataver.artifacts import artifact_keys

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "s3cr3t-" + uuid.uuid4().hex  # NOTE: unique, so any hit is a real leak


@pytest.fixture
def secret_block(s3_block: DataverRegistry) -> DataverRegistry:
    """The suite's S3 block (credentials only in the block), with a unique secret key."""
    return s3_block.model_copy(update={"aws_secret_access_key": SecretStr(SECRET)})


def _server_logs(flow_run_id: Any) -> str:
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
            limit=200,
            offset=0,
        )
    return "\n".join(log.message for log in logs)


def _stored(block: DataverRegistry) -> bytes:
    bucket = block.url.removeprefix("s3://").split("/", 1)[0]
    client = boto3.client(
        "s3",
        endpoint_url=block.endpoint_url,
        aws_access_key_id="reader",
        aws_secret_access_key="reader-secret",
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert keys, "nothing was stored: the test would prove nothing"
    return b"".join(client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys)


def test_events_carry_no_secret(secret_block: DataverRegistry, source: Path, emitted: Any) -> None:
    @flow
    def build() -> VersionInfo:
        return version_folder(secret_block, f"ev-{uuid.uuid4().hex[:8]}", "vault", str(source))

    build()
    events = emitted()
    assert any(e.event == "dataver.version.finalized" for e in events)
    for event in events:
        assert SECRET not in event.model_dump_json()


def test_a_successful_flow_leaks_no_secret(
    secret_block: DataverRegistry,
    source: Path,
    read_artifacts: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert secret_block.get_registry().list() == []  # NOTE: the secret is really in play
    name = f"secret-{uuid.uuid4().hex[:8]}"

    @flow
    def build() -> VersionInfo:
        return version_folder(secret_block, name, "vault", str(source), publish=True)

    state = build(return_state=True)
    info = state.result()
    assert SECRET not in info.model_dump_json()
    assert SECRET not in _server_logs(state.state_details.flow_run_id)
    assert SECRET not in caplog.text
    assert SECRET not in repr(secret_block)
    assert SECRET not in secret_block.model_dump_json()
    keys = artifact_keys("vault", name)
    artifacts = [
        a for k in (keys.card, keys.files, keys.diff, keys.link) for a in read_artifacts(k)
    ]
    assert len(artifacts) == 4
    for artifact in artifacts:
        assert SECRET not in str(artifact.data) + str(artifact.description)
    assert SECRET.encode() not in _stored(secret_block)


def test_a_failing_flow_leaks_no_secret(
    secret_block: DataverRegistry, source: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = secret_block.model_copy(
        update={"url": f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/registry"}
    )

    @flow
    def build() -> VersionInfo:
        return version_folder(broken, "doomed", "vault", str(source))

    state = build(return_state=True)
    assert state.is_failed()
    with pytest.raises(dataver.DataverError) as failure:
        state.result()
    logs = _server_logs(state.state_details.flow_run_id)
    assert "no-such-bucket" in str(failure.value) + logs
    assert SECRET not in str(failure.value) + repr(failure.value) + logs + caplog.text
