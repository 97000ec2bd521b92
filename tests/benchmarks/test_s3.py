"""The S3 scenario's helpers: bucket names, and the moto server's lifecycle."""

from __future__ import annotations

import re

import boto3
import pytest
from benchmarks.s3 import MotoServer, bucket_name

_VALID_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@pytest.mark.parametrize("scenario", ["s3", "S3_Large", "x" * 80])
def test_bucket_names_are_valid_and_fresh(scenario: str) -> None:
    names = {bucket_name(scenario, index) for index in range(3)}
    assert len(names) == 3
    for name in names:
        assert _VALID_BUCKET.match(name), name


def test_moto_server_serves_buckets_resets_and_stops() -> None:
    with MotoServer() as server:
        env = server.env()
        assert env["AWS_ENDPOINT_URL"] == server.url
        client = boto3.client(
            "s3",
            endpoint_url=server.url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        bucket = server.create_bucket(bucket_name("test", 0))
        client.put_object(Bucket=bucket, Key="k", Body=b"v")
        assert [b["Name"] for b in client.list_buckets()["Buckets"]] == [bucket]
        server.reset()
        assert client.list_buckets()["Buckets"] == []
        process = server._proc
        assert process is not None
    assert process.poll() is not None
