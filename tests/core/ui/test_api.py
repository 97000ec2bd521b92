"""The JSON API of the web page, against a real local registry (and a moto S3 one for ranges)."""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

import dataver
from dataver.errors import ValidationError
from dataver.ui import create_app
from dataver.ui.preview import HEAD_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ..s3server import FaultProxy
    from .conftest import Lineage

# NOTE: the app answers only to loopback names by default (test_hosts.py); TestClient's own
# default host, "testserver", is refused like any other unknown name.
LOCAL = "http://localhost"


@pytest.fixture(scope="module")
def client(lineage: Lineage) -> TestClient:
    return TestClient(create_app(lineage.registry), base_url=LOCAL)


def test_datasets_summarise_states_and_sizes(client: TestClient, lineage: Lineage) -> None:
    body = client.get("/api/datasets").json()
    images = next(d for d in body if d["name"] == "images")
    assert images["versions"] == 3
    assert images["states"] == {"final": 2, "published": 1}
    assert images["latest"]["id"] == lineage.v3
    assert images["stored_bytes"] == sum(
        lineage.registry.get(v).stats.stored_bytes for v in (lineage.v1, lineage.v2, lineage.v3)
    )


def test_versions_are_newest_first_and_paged(client: TestClient, lineage: Lineage) -> None:
    page = client.get("/api/datasets/default/images/versions", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [v["id"] for v in page["items"]] == [lineage.v3, lineage.v2]
    rest = client.get(
        "/api/datasets/default/images/versions", params={"limit": 2, "offset": 2}
    ).json()
    assert [v["id"] for v in rest["items"]] == [lineage.v1]
    assert client.get("/api/datasets/default/images/versions?limit=5000").status_code == 422
    assert client.get("/api/datasets/default/nope/versions").status_code == 404


def test_version_detail_links_only_web_urls(client: TestClient, lineage: Lineage) -> None:
    body = client.get(f"/api/versions/{lineage.v3}").json()
    assert body["state"] == "published"
    assert body["links"] == [{"label": "url", "url": "http://airflow.example/dags/ingest"}]
    v1 = client.get(f"/api/versions/{lineage.v1}").json()
    assert v1["metadata"] == {"owner": "ml-team"}
    assert v1["tags"] == ["raw"]


def test_provenance_never_becomes_a_script_link(tmp_path: Path) -> None:
    reg = dataver.Registry(str(tmp_path / "reg"))
    ds = reg.create("x", provenance={"url": "javascript:alert(1)", "run": {"log": "https://ok"}})
    body = TestClient(create_app(reg), base_url=LOCAL).get(f"/api/versions/{ds.id}").json()
    assert body["links"] == [{"label": "run.log", "url": "https://ok"}]


def test_tree_lists_folders_first_with_totals(client: TestClient, lineage: Lineage) -> None:
    top = client.get(f"/api/versions/{lineage.v2}/tree").json()
    assert [(i["name"], i["kind"]) for i in top["items"]] == [
        ("images", "folder"),
        ("tables", "folder"),
        ("README.txt", "file"),
        ("config.json", "file"),
    ]
    assert top["files"] == 6
    tables = next(i for i in top["items"] if i["name"] == "tables")
    assert tables["files"] == 3
    sub = client.get(f"/api/versions/{lineage.v2}/tree", params={"path": "tables"}).json()
    assert sub["files"] == 3
    assert sub["bytes"] == tables["bytes"]
    assert [i["path"] for i in sub["items"]] == [
        "tables/features.parquet",
        "tables/labels.csv",
        "tables/split.tsv",
    ]
    paged = client.get(
        f"/api/versions/{lineage.v2}/tree", params={"path": "tables", "limit": 1, "offset": 1}
    ).json()
    assert [i["path"] for i in paged["items"]] == ["tables/labels.csv"]
    assert paged["total"] == 3


def test_files_are_a_flat_sorted_page(client: TestClient, lineage: Lineage) -> None:
    page = client.get(f"/api/versions/{lineage.v2}/files", params={"limit": 2}).json()
    assert page["total"] == 6
    assert [f["path"] for f in page["items"]] == ["README.txt", "config.json"]
    under = client.get(f"/api/versions/{lineage.v2}/files", params={"path": "images"}).json()
    assert [f["path"] for f in under["items"]] == ["images/red.png"]


def test_diff_against_parents_and_any_version(client: TestClient, lineage: Lineage) -> None:
    d = client.get(f"/api/versions/{lineage.v3}/diff").json()
    assert d["counts"] == {"added": 0, "removed": 0, "modified": 1, "renamed": 1}
    assert d["renamed"] == [["images/red.png", "images/crimson.png"]]
    d1 = client.get(f"/api/versions/{lineage.v3}/diff", params={"against": lineage.v1}).json()
    assert d1["added"] == ["config.json", "tables/features.parquet", "tables/split.tsv"]
    small = client.get(
        f"/api/versions/{lineage.v3}/diff", params={"against": lineage.v1, "limit": 1}
    ).json()
    assert small["added"] == ["config.json"]
    assert small["truncated"] is True


def test_lineage_graphs(client: TestClient, lineage: Lineage) -> None:
    g = client.get("/api/datasets/default/derived/lineage").json()
    assert {n["id"] for n in g["nodes"]} == {lineage.other, lineage.v2}
    assert g["edges"] == [{"parent": lineage.v2, "child": lineage.other}]
    full = client.get(f"/api/versions/{lineage.v3}/lineage").json()
    assert {(e["parent"], e["child"]) for e in full["edges"]} == {
        (lineage.v1, lineage.v2),
        (lineage.v2, lineage.v3),
    }


def test_previews_of_each_kind(client: TestClient, lineage: Lineage) -> None:
    def preview(path: str) -> dict[str, object]:
        response = client.get(f"/api/versions/{lineage.v2}/preview", params={"path": path})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    table = preview("tables/labels.csv")
    assert table["kind"] == "table"
    assert table["columns"] == ["id", "label", "score"]
    assert len(table["rows"]) == 50  # type: ignore[arg-type]
    assert table["truncated"] is True
    assert preview("tables/split.tsv")["rows"] == [["1", "train"], ["2", "test"]]
    parquet = preview("tables/features.parquet")
    assert parquet["columns"] == ["id", "feature"]
    assert parquet["rows"][:2] == [[0, 0.0], [1, 0.5]]  # type: ignore[index]
    assert parquet["truncated"] is True
    assert '"seed": 7' in str(preview("config.json")["text"])
    assert preview("README.txt")["text"] == "Images of cats, three generations.\n"
    image = preview("images/red.png")
    assert image["kind"] == "image"
    raw = client.get(str(image["raw"]))
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "image/png"
    assert raw.content.startswith(b"\x89PNG")
    assert raw.headers["content-security-policy"] == "default-src 'none'"


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "tables/../../../etc/passwd",
        "tables/./labels.csv",
        "tables\\..\\..\\x",
        "a\x00b",
        "",
    ],
)
def test_previews_never_leave_the_version(client: TestClient, lineage: Lineage, path: str) -> None:
    for route in ("preview", "raw"):
        response = client.get(f"/api/versions/{lineage.v2}/{route}", params={"path": path})
        assert response.status_code in (400, 404), (route, path, response.status_code)
        assert "root:" not in response.text


def test_raw_serves_only_images(client: TestClient, lineage: Lineage) -> None:
    response = client.get(f"/api/versions/{lineage.v2}/raw", params={"path": "README.txt"})
    assert response.status_code == 400


def test_external_links_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(b"\x89PNG not for the web page")
    reg = dataver.Registry(str(tmp_path / "reg"))
    ds = reg.create("links")
    ds.add_external_files(secret.as_uri())
    ds.finalize()
    client = TestClient(create_app(reg), base_url=LOCAL)
    body = client.get(f"/api/versions/{ds.id}/preview", params={"path": "secret.png"}).json()
    assert body["kind"] == "link"
    raw = client.get(f"/api/versions/{ds.id}/raw", params={"path": "secret.png"})
    assert raw.status_code == 400
    assert b"not for the web page" not in raw.content


def test_no_route_writes(client: TestClient, lineage: Lineage) -> None:
    app = client.app
    methods = {m for route in app.routes for m in getattr(route, "methods", None) or ()}
    assert methods <= {"GET", "HEAD"}
    for path in ("/api/datasets", f"/api/versions/{lineage.v1}", "/", "/static/app.js"):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code == 405, (method, path)


def test_pages_and_security_headers(client: TestClient, lineage: Lineage) -> None:
    for path in ("/", "/datasets/default/images", f"/versions/{lineage.v1}"):
        page = client.get(path)
        assert page.status_code == 200
        assert '<base href="/">' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/%2e%2e/catalog.py").status_code == 404


def test_mounted_under_a_prefix_the_page_uses_it(lineage: Lineage) -> None:
    from fastapi import FastAPI

    outer = FastAPI()
    outer.mount("/dataver", create_app(lineage.registry))
    client = TestClient(outer, base_url=LOCAL)
    page = client.get(f"/dataver/versions/{lineage.v1}")
    assert '<base href="/dataver/">' in page.text
    assert client.get("/dataver/api/datasets").status_code == 200
    image = client.get(
        f"/dataver/api/versions/{lineage.v1}/preview", params={"path": "images/red.png"}
    ).json()
    assert image["raw"].startswith("/dataver/api/")
    assert client.get(image["raw"]).content.startswith(b"\x89PNG")


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    assert client.get(f"/api/versions/{'0' * 32}").status_code == 404
    assert client.get("/api/versions/..%2f..%2fetc").status_code in (400, 404)


def test_large_file_preview_reads_only_its_head(
    s3_url: str, s3_proxy: FaultProxy, tmp_path: Path
) -> None:
    big = tmp_path / "src" / "big.csv"
    big.parent.mkdir()
    with big.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        for i in range(120_000):
            writer.writerow([i, "x" * 40])
    assert big.stat().st_size > 4 * 1024 * 1024
    reg = dataver.Registry(s3_url)
    ds = reg.create("big")
    ds.add_files(big.parent)
    ds.finalize(auto_upload=True)
    client = TestClient(create_app(dataver.Registry(s3_url)), base_url=LOCAL)
    s3_proxy.reset()
    body = client.get(f"/api/versions/{ds.id}/preview", params={"path": "big.csv"}).json()
    assert body["kind"] == "table"
    assert body["rows"][0] == ["0", "x" * 40]
    content = [r for r in s3_proxy.matching("GET") if "/objects/" in r[1] or "/packs/" in r[1]]
    assert content, s3_proxy.requests
    for _, _, _, byte_range in content:
        first, last = byte_range.removeprefix("bytes=").split("-")
        assert int(last) - int(first) + 1 <= HEAD_BYTES, byte_range


# ---------------------------------------------------------------------- projects holding "/"
NESTED = ("team/vision", "a/b/c", "team/vision 100% #1?", "lab/x y", "é/ü")


def project_path(project: str) -> str:
    """The page's encoding of a project in a URL path (``projectPath`` in static/app.js)."""
    segments = project.split("/")
    if any(s in ("", ".", "..") for s in segments):
        return quote(project, safe="")
    return "/".join(quote(s, safe="") for s in segments)


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, dict[str, str]]:
    """A registry with a dataset ``cats & dogs`` in each project of :data:`NESTED`."""
    root = tmp_path_factory.mktemp("nested")
    (root / "src").mkdir()
    (root / "src" / "a.txt").write_text("a")
    reg = dataver.Registry(str(root / "registry"))
    ids = {}
    for project in NESTED:
        ds = reg.create("cats & dogs", project=project)
        ds.add_files(root / "src")
        ds.finalize(auto_upload=True)
        ids[project] = ds.id
    reg.create("cats & dogs", project="team")  # NOTE: a prefix of "team/vision", not a parent
    return TestClient(create_app(reg), base_url=LOCAL), ids


@pytest.mark.parametrize("project", NESTED)
@pytest.mark.parametrize(
    "encode", [project_path, lambda p: quote(p, safe="")], ids=["page", "all-encoded"]
)
def test_projects_holding_slashes_are_served(
    nested: tuple[TestClient, dict[str, str]], project: str, encode: Callable[[str], str]
) -> None:
    client, ids = nested
    base = f"/api/datasets/{encode(project)}/{quote('cats & dogs', safe='')}"
    versions = client.get(f"{base}/versions")
    assert versions.status_code == 200, versions.text
    assert [(v["project"], v["id"]) for v in versions.json()["items"]] == [(project, ids[project])]
    graph = client.get(f"{base}/lineage")
    assert graph.status_code == 200, graph.text
    assert [n["id"] for n in graph.json()["nodes"]] == [ids[project]]
    page = client.get(f"/datasets/{encode(project)}/{quote('cats & dogs', safe='')}")
    assert page.status_code == 200
    assert "static/app.js" in page.text


def test_the_project_is_everything_before_the_name(
    nested: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = nested
    team = client.get("/api/datasets/team/cats%20%26%20dogs/versions").json()
    assert {v["project"] for v in team["items"]} == {"team"}
    assert client.get("/api/datasets/team/vision/versions").status_code == 404
    assert (
        client.get("/api/datasets/nope/team/vision/cats%20%26%20dogs/versions").status_code == 404
    )
    assert client.get("/api/datasets//cats%20%26%20dogs/versions").status_code == 400


# ---------------------------------------------------------------------- offsets and limits
@pytest.mark.parametrize("value", ["99999999999999999999999999", "-1", "1e3", "x"])
def test_offsets_out_of_range_are_422(client: TestClient, lineage: Lineage, value: str) -> None:
    safe = TestClient(client.app, base_url=LOCAL, raise_server_exceptions=False)
    for route in (
        "/api/datasets/default/images/versions",
        f"/api/versions/{lineage.v2}/tree",
        f"/api/versions/{lineage.v2}/files",
    ):
        response = safe.get(route, params={"offset": value})
        assert response.status_code == 422, (route, value, response.text)


@pytest.mark.parametrize("value", ["99999999999999999999999999", "0", "-5", "1001"])
def test_limits_out_of_range_are_422(client: TestClient, lineage: Lineage, value: str) -> None:
    safe = TestClient(client.app, base_url=LOCAL, raise_server_exceptions=False)
    for route in (
        "/api/datasets/default/images/versions",
        f"/api/versions/{lineage.v2}/tree",
        f"/api/versions/{lineage.v2}/files",
        f"/api/versions/{lineage.v2}/diff",
    ):
        response = safe.get(route, params={"limit": value})
        assert response.status_code == 422, (route, value, response.text)


def test_the_largest_offset_is_an_empty_page(client: TestClient, lineage: Lineage) -> None:
    from dataver.ui.catalog import MAX_OFFSET

    for route in (
        "/api/datasets/default/images/versions",
        f"/api/versions/{lineage.v2}/tree",
        f"/api/versions/{lineage.v2}/files",
    ):
        page = client.get(route, params={"offset": MAX_OFFSET})
        assert page.status_code == 200, (route, page.text)
        assert page.json()["items"] == []
        assert client.get(route, params={"offset": MAX_OFFSET + 1}).status_code == 422


def test_the_catalog_refuses_offsets_out_of_range(lineage: Lineage) -> None:
    from dataver.ui.catalog import Catalog

    catalog = Catalog(lineage.registry)
    with pytest.raises(ValidationError, match="offset"):
        catalog.files(lineage.v2, "", 10**30, 10)
    with pytest.raises(ValidationError, match="offset"):
        catalog.tree(lineage.v2, "", -1, 10)


def test_a_folder_pages_its_subfolders_then_its_files_without_holding_them(
    tmp_path: Path,
) -> None:
    from dataver.ui.catalog import Catalog

    folder = tmp_path / "data"
    for sub in ("b", "a", "c"):
        (folder / "top" / sub).mkdir(parents=True)
        (folder / "top" / sub / "x.txt").write_text(sub)
    for i in range(23):
        (folder / "top" / f"f{i:02}.txt").write_text("f" * i)
    ds = dataver.Registry(tmp_path / "registry").create("flat")
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    catalog = Catalog(ds.registry)

    pages = [catalog.tree(ds.id, "top", offset, 4) for offset in range(0, 28, 4)]
    names = [item.name for page in pages for item in page.items]
    assert names == ["a", "b", "c", *(f"f{i:02}.txt" for i in range(23))]
    assert {page.total for page in pages} == {26}
    assert pages[0].files == 26
    assert [item.kind for item in pages[0].items] == ["folder"] * 3 + ["file"]
    assert catalog.tree(ds.id, "top", 26, 4).items == ()
    # NOTE: what the catalog keeps of the folder is its subfolders and counts, no file rows.
    listing = catalog._listing(ds, "top")
    assert [child.name for child in listing.folders] == ["a", "b", "c"]
    assert (listing.files, listing.below) == (23, 26)


# ---------------------------------------------------------------------- the API docs
def test_api_docs_load_nothing_from_other_hosts(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "http://" not in docs.text
    assert "https://" not in docs.text
    assert "<script>" not in docs.text  # NOTE: the page's CSP allows no inline script
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', docs.text)
    assert len(assets) >= 3, docs.text
    assert any(a.endswith("/swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert client.get(f"/{asset}").status_code == 200, asset  # NOTE: relative to <base>
    assert client.get("/api/openapi.json").json()["info"]["title"].startswith("dataver")
