"""The web page's API on chunked files: previews and raw bytes read by chunk, checked, and
the stored-vs-logical bytes of a version whose large file changed a little."""

from __future__ import annotations

import os
import random
import struct
import zlib
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

import dataver
from dataver.layout import pack_key
from dataver.ui import create_app

from ..chunkdata import MAX_CHUNK, THRESHOLD, build, chunk_settings, chunks_of, count_reads

if TYPE_CHECKING:
    from pathlib import Path

LOCAL = "http://localhost"


def noise_png(width: int, height: int, seed: int) -> bytes:
    """A real PNG of random pixels, stored uncompressed (so it is as large as it looks)."""
    rnd = random.Random(seed)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + rnd.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 0))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _chunked(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk_settings(monkeypatch)


@pytest.fixture
def registry(registry_path: Path) -> dataver.Registry:
    return dataver.Registry(str(registry_path))


@pytest.fixture
def media(registry: dataver.Registry, tmp_path: Path) -> tuple[dataver.Dataset, dict[str, bytes]]:
    """A version of chunked files the page previews: an image, a Parquet table, a CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "media"
    src.mkdir()
    files = {"photo.png": noise_png(400, 300, 1)}
    rnd = random.Random(2)
    rows = "".join(f"{i},{rnd.random()},{'é' * (i % 5)}\n" for i in range(20_000))
    files["table.csv"] = ("id,value,text\n" + rows).encode()
    count = 250_000
    table = pa.table({"id": list(range(count)), "value": [rnd.random() for _ in range(count)]})
    pq.write_table(table, src / "table.parquet", row_group_size=10_000, compression="none")
    files["table.parquet"] = (src / "table.parquet").read_bytes()
    for name, data in files.items():
        (src / name).write_bytes(data)
        assert len(data) >= THRESHOLD, name
    ds = registry.create("media")
    ds.add_files(src)
    ds.finalize(auto_upload=True)
    for name in files:
        chunks_of(registry, ds, name)  # NOTE: asserts each is chunked
    return ds, files


def test_previews_of_chunked_files_read_only_their_head(
    registry: dataver.Registry,
    media: tuple[dataver.Dataset, dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds, files = media
    client = TestClient(create_app(registry), base_url=LOCAL)
    reads = count_reads(registry, monkeypatch)
    csv = client.get(f"/api/versions/{ds.id}/preview", params={"path": "table.csv"})
    assert csv.status_code == 200, csv.text
    body = csv.json()
    assert body["kind"] == "table"
    assert body["columns"] == ["id", "value", "text"]
    assert body["rows"][1] == files["table.csv"].decode().splitlines()[2].split(",")
    assert reads.content_bytes <= 2 * MAX_CHUNK, reads.calls
    reads.clear()
    parquet = client.get(f"/api/versions/{ds.id}/preview", params={"path": "table.parquet"})
    assert parquet.status_code == 200, parquet.text
    assert parquet.json()["columns"] == ["id", "value"]
    assert parquet.json()["rows"][0][0] == 0
    # NOTE: the footer, and the head the preview's 1 MiB read buffer asks for
    assert reads.content_bytes < len(files["table.parquet"]) // 2, reads.calls


def test_raw_bytes_of_a_chunked_image(
    registry: dataver.Registry, media: tuple[dataver.Dataset, dict[str, bytes]]
) -> None:
    ds, files = media
    client = TestClient(create_app(registry), base_url=LOCAL)
    image = client.get(f"/api/versions/{ds.id}/preview", params={"path": "photo.png"}).json()
    assert image["kind"] == "image"
    raw = client.get(image["raw"])
    assert raw.status_code == 200, raw.text
    assert raw.headers["content-type"] == "image/png"
    assert raw.content == files["photo.png"]


def test_a_corrupted_chunk_is_never_served(
    registry: dataver.Registry,
    registry_path: Path,
    media: tuple[dataver.Dataset, dict[str, bytes]],
) -> None:
    ds, files = media
    piece = chunks_of(registry, ds, "photo.png")[1]
    pack = registry_path / pack_key(piece.pack)
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[piece.offset + 7] ^= 0xFF
    pack.write_bytes(bytes(data))
    client = TestClient(create_app(registry), base_url=LOCAL, raise_server_exceptions=False)
    raw = client.get(f"/api/versions/{ds.id}/raw", params={"path": "photo.png"})
    assert raw.status_code >= 500
    assert raw.content != files["photo.png"]
    assert piece.hash in raw.text


def test_a_version_shows_stored_and_logical_bytes(
    registry: dataver.Registry, tmp_path: Path
) -> None:
    built = build(registry, tmp_path / "src")
    client = TestClient(create_app(registry), base_url=LOCAL)
    child = client.get(f"/api/versions/{built.versions[1].id}").json()["stats"]
    assert child["logical_bytes"] == sum(len(d) for d in built.files[1].values())
    assert 0 < child["stored_bytes"] < child["logical_bytes"] // 4
    preview = client.get(
        f"/api/versions/{built.versions[2].id}/preview", params={"path": "text/log.txt"}
    ).json()
    assert preview["kind"] == "text"
    assert built.files[2]["text/log.txt"].decode().startswith(preview["text"])
