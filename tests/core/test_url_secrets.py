"""Credentials never show: not from a registry URL, not from botocore's DEBUG logs.

A registry URL with credentials in it (``s3://KEY:SECRET@bucket/prefix``) is refused where
every URL enters (``open_store``), with an error that shows the URL redacted and names the
supported ways to pass credentials; the error's message, repr, fields and pickle, and the CLI's
output, are searched for the secret. And with the root logger at DEBUG, botocore logs every
request's headers (``Authorization``, ``X-Amz-Security-Token``): a build through the moto
server with a session token is searched for the key, the secret and the token.
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

import pytest

import dataver
from dataver.errors import ConfigurationError
from dataver.storage import redact_url

from ._s3quick import QuickProxy, quick_proxy, use_s3
from .s3server import Faults

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["quick_proxy"]  # fixtures used by this module

KEY_ID = "AKIAURLLEAKCHECK0042"
SECRET = "uRl/Secret+Leak=Check/7c6b5a"
TOKEN = "FwoGZXIvYXdzEURLTOKEN//leak+check/session=0123456789abcdef"
NEEDLES = (
    KEY_ID,
    SECRET,
    quote(SECRET, safe=""),
    SECRET.split("/")[1],
    TOKEN,
    quote(TOKEN, safe=""),
    TOKEN.split("//")[1],
)

URLS = [
    f"s3://{KEY_ID}:{SECRET}@bucket-x/registry",  # the secret holds "/": no URL parser copes
    f"s3://{KEY_ID}:{quote(SECRET, safe='')}@bucket-x/registry",
    f"s3a://{KEY_ID}:{SECRET}@bucket-x",
    f"s3://{KEY_ID}@bucket-x/registry",
    f"https://{KEY_ID}:{quote(SECRET, safe='')}@example.invalid/registry",
]


def _leaks(texts: list[str]) -> list[str]:
    return [text[:300] for text in texts if any(n in text for n in NEEDLES)]


@pytest.mark.parametrize("url", URLS, ids=["s3", "s3-quoted", "s3a", "s3-key-only", "https"])
def test_a_url_with_credentials_is_refused_without_echoing_them(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        dataver.Registry(url)
    error = refused.value
    assert "storage_options" in str(error)
    if url.startswith("s3"):
        assert "AWS_ACCESS_KEY_ID" in str(error)
    assert "***@" in str(error)
    again = pickle.loads(pickle.dumps(error))  # as Airflow and Prefect move errors
    assert (type(again), str(again), again.fields) == (type(error), str(error), error.fields)
    texts = [str(error), repr(error), str(error.fields), pickle.dumps(error).decode("latin-1")]
    # The default registry is a URL too.
    monkeypatch.setenv("DATAVER_REGISTRY", url)
    with pytest.raises(ConfigurationError) as from_env:
        dataver.Registry()
    texts += [str(from_env.value), repr(from_env.value)]
    assert _leaks(texts) == []


def test_the_cli_refuses_such_a_url_without_printing_it(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("dataver")
    url = URLS[0]
    texts = []
    for args, env in (
        (["-v", "--registry", url, "ls"], {}),
        (["-v", "--registry", url, "create", "--name", "x", "--json"], {}),
        (["-v", "ls", "--json"], {"DATAVER_REGISTRY": url}),
    ):
        done = subprocess.run(
            [str(script), *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, **env},
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "carries credentials" in done.stdout + done.stderr
        texts += [done.stdout, done.stderr]
    assert _leaks(texts) == []


def test_redact_url_keeps_urls_without_credentials() -> None:
    kept = ["s3://bucket/team@corp/reg", "sftp://user@host/data", "/srv/a@b", "memory://x"]
    assert [redact_url(u) for u in kept] == kept
    assert redact_url(URLS[0]) == "s3://***@bucket-x/registry"


@pytest.mark.timeout(180)
def test_botocore_debug_logs_never_show_the_key_the_secret_or_the_session_token(
    quick_proxy: QuickProxy,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    write_tree: Callable[..., Path],
    read_tree: Callable[[Path], dict[str, bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = use_s3(monkeypatch, quick_proxy.url, prefix="tokens")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATAVER_PACK_THRESHOLD", str(64 * 1024))  # a transfer-manager upload too
    options = {"key": KEY_ID, "secret": SECRET, "token": TOKEN, "region": "us-east-1"}
    files = {"a.txt": b"alpha", "big.bin": os.urandom(200_000)}
    caplog.set_level(logging.DEBUG)  # the root logger: botocore, s3transfer, urllib3 too
    quick_proxy.reset(Faults(rate=0.2, seed=5, kinds=("503", "drop-after")))
    try:
        registry = dataver.Registry(url, storage_options=options)
        ds = registry.create("tokens")
        ds.add_files(write_tree(tmp_path / "src", files))
        ds.finalize(auto_upload=True)
        got = read_tree(dataver.Registry(url, storage_options=options).get(ds.id).get_local_copy())
    finally:
        quick_proxy.reset()
    assert got == files
    text = caplog.text
    # botocore did log the signed requests, headers and all (else this proves nothing) ...
    assert "x-amz-security-token" in text.lower()
    assert "authorization" in text.lower()
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert "transient storage error" in text  # ... retries included ...
    # ... and not one credential.
    assert [n for n in NEEDLES if n in text] == []
