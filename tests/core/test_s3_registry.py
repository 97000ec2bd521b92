"""Registries on S3 (a real moto server over HTTP, behind a fault proxy): issue 4's must-holds."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
import pytest

import dataver
from dataver import ConflictError, State

from .s3server import FaultProxy, Faults
from .test_concurrency import race

Spawn = Callable[..., subprocess.Popen[str]]
WriteTree = Callable[..., Path]
ReadTree = Callable[[Path], dict[str, bytes]]


def _small_files(folder: Path, count: int, size: int = 4096) -> dict[str, bytes]:
    files = {}
    for i in range(count):
        rel = f"d{i % 100:02d}/f{i:05d}.bin"
        data = i.to_bytes(4, "big") * (size // 4)
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = data
    return files


# ------------------------------------------------------------- 2. packs: few PUTs, one ranged GET


def test_ten_thousand_small_files_upload_in_few_puts_and_read_back_with_one_ranged_get(
    s3_url: str, s3_proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _small_files(tmp_path / "src", 10_000)
    ds = dataver.Registry(s3_url).create("many")
    ds.add_files(tmp_path / "src")
    s3_proxy.reset()
    ds.upload()
    ds.finalize()
    puts = s3_proxy.count("PUT")
    assert puts <= 50, puts
    assert s3_proxy.count("PUT", "/packs/") <= 2

    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "fresh-cache"))
    reader = dataver.Registry(s3_url).get(ds.id)
    s3_proxy.reset()
    with reader.open("d42/f00042.bin") as handle:
        assert handle.read() == files["d42/f00042.bin"]
    content = s3_proxy.matching("GET", "/packs/")
    assert len(content) == 1
    assert content[0][3].startswith("bytes=")


# ------------------------------------------------------------- 3. two hosts race safely


def test_two_hosts_finalizing_one_version_race_safely(
    s3_url: str, tmp_path: Path, write_tree: WriteTree, spawn_worker: Spawn
) -> None:
    ds = dataver.Registry(s3_url).create("race")
    ds.add_files(write_tree(tmp_path / "src", {"a": b"a" * 100}))
    ds.upload()
    results = race([spawn_worker("finalize", s3_url, ds.id) for _ in range(2)])
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes[1] == "ok"
    assert outcomes[0] in {"ConflictError", "InvalidTransitionError"}
    assert dataver.Registry(s3_url).get(ds.id).state is State.FINAL


def test_hosts_taking_auto_versions_get_distinct_ones(
    s3_url: str, tmp_path: Path, write_tree: WriteTree, spawn_worker: Spawn
) -> None:
    folder = write_tree(tmp_path / "src", {"x": b"x"})
    results = race([spawn_worker("create", s3_url, "auto", str(folder)) for _ in range(4)])
    versions = sorted(r["version"] for r in results)
    assert versions == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    assert {r["state"] for r in results} == {"final"}


# ------------------------------------------------------------- 4. resumed upload sends the rest


def test_upload_resumed_after_a_kill_sends_only_what_is_missing(
    s3_url: str,
    s3_proxy: FaultProxy,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
    spawn_worker: Spawn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", "0")  # one object per file
    files = {f"f{i:02d}.bin": os.urandom(20_000 + i) for i in range(30)}
    folder = write_tree(tmp_path / "src", files)
    s3_proxy.reset(Faults(delay=0.05))
    proc = spawn_worker("upload", s3_url, "resume", str(folder))
    assert proc.stdout is not None
    version_id = json.loads(proc.stdout.readline())["id"]
    deadline = time.monotonic() + 60
    while s3_proxy.count("PUT", "/objects/") < 8:
        assert time.monotonic() < deadline, "the uploader never got going"
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    s3_proxy.reset()
    store = dataver.Registry(s3_url).store
    # NOTE: a PUT the proxy had fully received when the process died still reaches moto:
    # wait until what is stored stops changing before taking stock.
    present = _settled({i.key for i in store.list("objects/")}, lambda: store.list("objects/"))
    assert 1 <= len(present) < len(files)

    ds = dataver.Registry(s3_url).get(version_id, states=None)
    ds.upload()
    ds.finalize()
    sent = {
        path.split("/registry/", 1)[1] for _, path, _, _ in s3_proxy.matching("PUT", "/objects/")
    }
    assert not sent & present
    assert len(sent) == len(files) - len(present)
    assert read_tree(ds.get_local_copy()) == files


def _settled(first: set[str], listing: Callable[[], Iterable[Any]]) -> set[str]:
    """The keys ``listing`` gives once two listings 0.5 s apart agree."""
    seen = first
    for _ in range(120):
        time.sleep(0.5)
        now = {i.key for i in listing()}
        if now == seen:
            return now
        seen = now
    raise AssertionError("the stored objects never stopped changing")


# ------------------------------------------------------------- 5. transient faults


def test_twenty_percent_transient_faults_still_end_in_a_correct_registry(
    s3_url: str,
    s3_proxy: FaultProxy,
    tmp_path: Path,
    write_tree: WriteTree,
    read_tree: ReadTree,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAVER_RETRY_ATTEMPTS", "12")
    monkeypatch.setenv("DATAVER_RETRY_MAX_WAIT", "0.2")
    files = {f"small/{i:03d}": os.urandom(3000 + i) for i in range(60)}
    files |= {"large/a": os.urandom(3 << 20), "large/b": os.urandom(2 << 20)}
    folder = write_tree(tmp_path / "src", files)
    s3_proxy.reset(Faults(rate=0.2, seed=20261121))
    registry = dataver.Registry(s3_url)
    parent = registry.create("faulty")
    parent.add_files(folder)
    parent.finalize(auto_upload=True)
    child = registry.create("faulty", parents=[parent])
    child.remove_files("small/000")
    child.finalize()
    got = dataver.Registry(s3_url).get(parent.id)
    assert read_tree(got.get_local_copy()) == files
    injected = {kind for _, _, kind in s3_proxy.injected}
    s3_proxy.reset()
    assert {"503", "500", "drop-before", "drop-after"} <= injected
    assert got.verify() == []
    assert [v.state for v in dataver.Registry(s3_url).list()] == [State.FINAL, State.FINAL]


def test_a_permanent_error_surfaces_at_once_with_a_clear_message(
    s3_url: str, s3_proxy: FaultProxy
) -> None:
    bucket = s3_url.split("/")[2]
    with pytest.raises(dataver.errors.ConfigurationError, match=r"does not exist.*NoSuchBucket"):
        dataver.Registry(f"s3://{bucket}-missing/registry").create("nowhere")
    assert len(s3_proxy.requests) == 1  # not retried


# ------------------------------------------------------------- 6. credentials stay secret


def test_credentials_never_appear_in_logs_errors_or_records(
    s3_url: str,
    s3_proxy: FaultProxy,
    tmp_path: Path,
    write_tree: WriteTree,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    key_id, secret = "AKIASECRETKEYID12345", "s3cr3t/Very+Secret+Value"
    options = {"key": key_id, "secret": secret, "endpoint_url": s3_proxy.url, "region": "us-east-1"}
    caplog.set_level(logging.DEBUG, logger="dataver")
    s3_proxy.reset(Faults(rate=0.3, seed=1, kinds=("503",)))
    registry = dataver.Registry(s3_url, storage_options=options)
    ds = registry.create("secret", metadata={"note": "nothing secret"})
    ds.add_files(write_tree(tmp_path / "src", {"a": b"a" * 10}))
    ds.finalize(auto_upload=True)
    s3_proxy.reset()
    errors: list[BaseException] = []
    for bad in (f"{s3_url.split('/registry')[0]}-nope/r", s3_url):
        try:
            dataver.Registry(bad, storage_options=options).get(name="nope")
        except dataver.DataverError as exc:
            errors.append(exc)
    assert errors
    texts = [caplog.text, repr(registry.store), registry.url, *map(str, errors), *map(repr, errors)]
    texts += [
        json.dumps(e.fields, default=str) for e in errors if isinstance(e, dataver.DataverError)
    ]
    bucket = s3_url.split("/")[2]
    client = boto3.client(
        "s3", endpoint_url=s3_proxy.url, aws_access_key_id=key_id, aws_secret_access_key=secret
    )
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        texts.append(
            client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("latin-1")
        )
    assert "transient storage error" in caplog.text  # the retries were logged...
    for text in texts:
        assert key_id not in text
        assert secret not in text  # ...and no credential anywhere


def test_endpoint_from_aws_endpoint_url_s3(
    s3_url: str, s3_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_proxy.url)
    ds = dataver.Registry(s3_url).create("env-endpoint")
    assert ds.state is State.UPLOADING
    assert s3_proxy.count("PUT") > 0


def test_unknown_storage_option_is_refused(s3_url: str) -> None:
    with pytest.raises(dataver.errors.ConfigurationError, match="unknown S3 storage option"):
        dataver.Registry(s3_url, storage_options={"secret_key": "x"})


def test_a_stale_writer_cannot_overwrite_on_s3(s3_url: str) -> None:
    registry = dataver.Registry(s3_url)
    ds = registry.create("stale")
    other = registry.get(ds.id, states=None)
    other.abort("taken over")
    with pytest.raises(ConflictError):
        ds.finalize()
