"""S3 credentials never leak: not in logs, errors, records, CLI output, fsck reports or the web.

The credentials are distinctive strings; every surface a user or an attacker could see is
collected and searched for them (and for the secret's URL-quoted form). The S3 traffic goes
through the quick fault proxy with transient faults on, so retries are logged too.
(Airflow connection passwords and Prefect block secrets are checked in their own suites.)
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import boto3
import pytest

import dataver
from dataver.errors import DataverError

from ._s3quick import QuickProxy, quick_proxy, use_s3
from .s3server import Faults

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["quick_proxy"]  # fixtures used by this module

KEY_ID = "AKIADATAVERLEAK0001"
SECRET = "s3cr3t/Leak+Check=Value/9f8e7d"


def _leaks(texts: list[str]) -> list[str]:
    needles = (KEY_ID, SECRET, quote(SECRET, safe=""), SECRET.split("/")[1])
    return [text[:200] for text in texts if any(n in text for n in needles)]


def _bucket_text(url: str, endpoint: str) -> list[str]:
    bucket = url.split("/")[2]
    client = boto3.client("s3", endpoint_url=endpoint)
    out = []
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        out.append(item["Key"] + "\n" + body.decode("latin-1"))
    return out


@pytest.fixture
def secret_env(quick_proxy: QuickProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; the AWS_* variables hold the distinctive credentials."""
    url = use_s3(monkeypatch, quick_proxy.url, prefix="secret")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    return url


def test_the_cli_never_prints_credentials(
    secret_env: str,
    quick_proxy: QuickProxy,
    tmp_path: Path,
    write_tree: Callable[..., Path],
) -> None:
    data = write_tree(tmp_path / "data", {"a.csv": b"x,y\n1,2\n", "b/c.txt": b"c" * 300})
    script = Path(sys.executable).with_name("dataver")
    texts: list[str] = []

    def dv(*args: str | Path, code: int = 0) -> str:
        done = subprocess.run(
            [str(script), "-v", "--registry", secret_env, *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=os.environ.copy(),
            timeout=120,
            check=False,
        )
        texts.extend([done.stdout, done.stderr])
        assert done.returncode == code, done.stderr
        return done.stdout

    quick_proxy.reset(Faults(rate=0.2, seed=7, kinds=("503", "drop-after")))
    try:
        dv("create", "--name", "secret-ds", "--json")
        dv("add", "--files", data, "--json")
        dv("close", "--json")
        dv("show", "--json")
        dv("get", "--json")
        dv("fsck", "--json")
        dv("get", "--name", "no-such-dataset", code=1)
        dv("--registry", secret_env.replace("secret-", "missing-"), "ls", code=1)
    finally:
        retried = len(quick_proxy.injected)
        quick_proxy.reset()
    assert retried > 0
    assert any("transient" in t or "retry" in t for t in texts)  # the retries were logged
    assert _leaks(texts) == []
    assert _leaks(_bucket_text(secret_env, quick_proxy.url)) == []


def test_the_sdk_web_page_and_reports_never_show_credentials(
    quick_proxy: QuickProxy,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    testclient = pytest.importorskip("fastapi.testclient")
    from dataver.ui import create_app

    url = use_s3(monkeypatch, quick_proxy.url, prefix="secret")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    options = {"key": KEY_ID, "secret": SECRET, "endpoint_url": quick_proxy.url}
    caplog.set_level(logging.DEBUG, logger="dataver")
    quick_proxy.reset(Faults(rate=0.2, seed=11, kinds=("500", "drop-before")))
    try:
        registry = dataver.Registry(url, storage_options={**options, "region": "us-east-1"})
        ds = registry.create("web", metadata={"note": "public"})
        ds.add_files(write_tree(tmp_path / "src", {"img/a.txt": b"hello"}))
        ds.finalize(auto_upload=True)
        report = registry.fsck()
    finally:
        quick_proxy.reset()
    texts = [caplog.text, repr(registry), repr(registry.store), registry.url, repr(ds)]
    texts += [str(ds.to_dict()), str(report.as_dict()), repr(report)]

    errors: list[DataverError] = []
    for bad in (url.replace("secret-", "nosuch-"), url):
        try:
            dataver.Registry(bad, storage_options=options).get(name="missing")
        except DataverError as exc:
            errors.append(exc)
    assert len(errors) == 2
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [str(e.fields) for e in errors]
    texts += [pickle.dumps(e).decode("latin-1") for e in errors]  # as Airflow moves them

    client = testclient.TestClient(create_app(registry), base_url="http://localhost")
    for path in (
        "/",
        "/api/datasets",
        f"/api/versions/{ds.id}",
        f"/api/versions/{ds.id}/files?path=",
        f"/api/versions/{ds.id}/preview?path=img/a.txt",
        "/api/versions/" + "0" * 32,  # an error answer
        "/api/openapi.json",
    ):
        answer = client.get(path)
        assert answer.status_code in (200, 404), (path, answer.text)
        texts.append(answer.text)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reader")  # NOTE: read the bucket as someone else
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "reader")
    texts += _bucket_text(url, quick_proxy.url)
    assert "dataver.version" in "".join(texts)  # the records were read
    assert _leaks(texts) == []
