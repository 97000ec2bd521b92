"""The page in headless Chromium: lineage graph, version view, diff, file tree and previews.

Each test saves a screenshot of what it checked under ``test-artifacts/ui/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

pytest.importorskip("selenium")

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

import dataver

from .conftest import REBOUND, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from .conftest import Lineage

WAIT = 30


def waiter(browser: WebDriver) -> WebDriverWait[WebDriver]:
    """A wait that retries when the page re-rendered the element it was reading."""
    return WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])


def wait_for(browser: WebDriver, css: str) -> WebElement:
    found: WebElement = WebDriverWait(
        browser, WAIT, ignored_exceptions=[StaleElementReferenceException]
    ).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))
    return found


def wait_all(browser: WebDriver, css: str, count: int) -> list[WebElement]:
    waiter(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, css)) >= count)
    return browser.find_elements(By.CSS_SELECTOR, css)


def no_errors(browser: WebDriver) -> None:
    """No error shown on the page, and no script error or failed request in the console."""
    alerts = browser.find_elements(By.CSS_SELECTOR, "[role=alert]")
    assert not alerts, alerts[0].text
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_home_lists_every_dataset(
    server: str, browser: WebDriver, lineage: Lineage, artifacts: Path
) -> None:
    browser.get(server + "/")
    rows = wait_all(browser, "#datasets tbody tr", 2)
    by_name = {r.get_attribute("data-dataset"): r for r in rows}
    assert set(by_name) == {"default/images", "default/derived"}
    images = by_name["default/images"].text
    assert "1.0.2" in images
    assert "published" in images
    browser.save_screenshot(str(artifacts / "home.png"))
    no_errors(browser)


def test_lineage_graph_shows_every_version_and_edge(
    server: str, browser: WebDriver, lineage: Lineage, artifacts: Path
) -> None:
    browser.get(f"{server}/datasets/default/images")
    nodes = wait_all(browser, "#lineage g.node", 3)
    states = {n.get_attribute("data-id"): n.get_attribute("data-state") for n in nodes}
    assert states == {lineage.v1: "final", lineage.v2: "final", lineage.v3: "published"}
    edges = {
        (e.get_attribute("data-parent"), e.get_attribute("data-child"))
        for e in browser.find_elements(By.CSS_SELECTOR, "#lineage path.edge")
    }
    assert edges == {(lineage.v1, lineage.v2), (lineage.v2, lineage.v3)}
    # NOTE: parents are drawn left of their children (the layout is by generation).
    x = {n.get_attribute("data-id"): n.location["x"] for n in nodes}
    assert x[lineage.v1] < x[lineage.v2] < x[lineage.v3]
    rows = wait_all(browser, "#versions tbody tr", 3)
    assert [r.get_attribute("data-version") for r in rows] == [lineage.v3, lineage.v2, lineage.v1]
    browser.save_screenshot(str(artifacts / "dataset-lineage.png"))
    no_errors(browser)


def test_clicking_a_version_shows_its_files_and_diff(
    server: str, browser: WebDriver, lineage: Lineage, artifacts: Path
) -> None:
    browser.get(f"{server}/datasets/default/images")
    node = wait_for(browser, f'#lineage g.node[data-id="{lineage.v3}"]')
    node.click()
    waiter(browser).until(ec.url_contains(f"/versions/{lineage.v3}"))
    wait_for(browser, "#diff ul")
    diff = {
        ul.get_attribute("data-kind"): [li.text for li in ul.find_elements(By.TAG_NAME, "li")]
        for ul in browser.find_elements(By.CSS_SELECTOR, "#diff ul")
    }
    assert diff == {
        "modified": ["tables/labels.csv"],
        "renamed": ["images/red.png → images/crimson.png"],
    }
    tree = wait_all(browser, "#tree tr", 4)
    assert [r.get_attribute("data-path") for r in tree] == [
        "images",
        "tables",
        "README.txt",
        "config.json",
    ]
    assert "ingest" in wait_for(browser, "#provenance").text
    link = browser.find_element(By.CSS_SELECTOR, "#provenance a")
    assert link.get_attribute("href") == "http://airflow.example/dags/ingest"
    browser.save_screenshot(str(artifacts / "version.png"))
    no_errors(browser)


def test_csv_preview_shows_the_first_rows(
    server: str, browser: WebDriver, lineage: Lineage, artifacts: Path
) -> None:
    browser.get(f"{server}/versions/{lineage.v2}")
    wait_for(browser, '#tree tr[data-path="tables"] a').click()
    wait_for(browser, '#tree tr[data-path="tables/labels.csv"] a').click()
    table = wait_for(browser, "#preview table.table-preview")
    header = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert header == ["id", "label", "score"]
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 50  # NOTE: the first 50 rows of 120
    assert [td.text for td in rows[0].find_elements(By.TAG_NAME, "td")] == ["0", "cat0", "0.0"]
    assert "first part only" in browser.find_element(By.CSS_SELECTOR, "#preview p").text
    browser.save_screenshot(str(artifacts / "preview-csv.png"))
    no_errors(browser)


def test_image_and_parquet_previews(
    server: str, browser: WebDriver, lineage: Lineage, artifacts: Path
) -> None:
    browser.get(f"{server}/versions/{lineage.v2}")
    wait_for(browser, '#tree tr[data-path="images"] a').click()
    wait_for(browser, '#tree tr[data-path="images/red.png"] a').click()
    image = wait_for(browser, "#preview img")
    waiter(browser).until(
        lambda b: b.execute_script("return arguments[0].naturalWidth", image) == 8
    )
    browser.save_screenshot(str(artifacts / "preview-image.png"))
    wait_for(browser, "#tree .trail a").click()  # back to the top folder
    wait_for(browser, '#tree tr[data-path="tables"] a').click()
    wait_for(browser, '#tree tr[data-path="tables/features.parquet"] a').click()
    table = wait_for(browser, "#preview table.table-preview")
    assert [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")] == [
        "id",
        "feature",
    ]
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 50
    browser.save_screenshot(str(artifacts / "preview-parquet.png"))
    no_errors(browser)


def test_cross_dataset_parent_appears_in_the_graph(
    server: str, browser: WebDriver, lineage: Lineage
) -> None:
    browser.get(f"{server}/datasets/default/derived")
    nodes = wait_all(browser, "#lineage g.node", 2)
    assert {n.get_attribute("data-id") for n in nodes} == {lineage.other, lineage.v2}
    browser.get(f"{server}/versions/{lineage.other}")
    nodes = wait_all(browser, "#lineage g.node", 3)
    assert {n.get_attribute("data-id") for n in nodes} == {lineage.other, lineage.v2, lineage.v1}
    no_errors(browser)


def test_unknown_version_shows_an_error(server: str, browser: WebDriver) -> None:
    browser.get(f"{server}/versions/{'0' * 32}")
    alert = wait_for(browser, "[role=alert]")
    assert "not found" in alert.text.lower() or "no version" in alert.text.lower()


# ---------------------------------------------------------------------- projects holding "/"
@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A served registry whose datasets live in projects holding ``/``: ``team/vision``
    (two versions) and ``lab/x y`` (a segment that needs encoding).
    Yields the base URL and the newest version id of each project."""
    from dataver.ui import create_app

    root = tmp_path_factory.mktemp("nested-ui")
    (root / "src").mkdir()
    (root / "src" / "labels.csv").write_text("id,label\n1,cat\n")
    reg = dataver.Registry(str(root / "registry"))
    newest: dict[str, str] = {}
    for project in ("team/vision", "team/vision", "lab/x y"):
        parents = [newest[project]] if project in newest else []
        ds = reg.create("cats & dogs", project=project, parents=parents)
        (root / "src" / "labels.csv").write_text(f"id,label\n{len(newest)},cat\n")
        ds.add_files(root / "src")
        ds.finalize(auto_upload=True)
        newest[project] = ds.id
    with serve(create_app(reg)) as url:
        yield url, newest


@pytest.mark.parametrize("project", ["team/vision", "lab/x y"])
def test_a_project_holding_a_slash_opens_from_the_home_page(
    nested: tuple[str, dict[str, str]], browser: WebDriver, artifacts: Path, project: str
) -> None:
    url, newest = nested
    browser.get(url + "/")
    row = wait_for(browser, f'#datasets tbody tr[data-dataset="{project}/cats & dogs"]')
    row.find_element(By.CSS_SELECTOR, "td a").click()
    title = f"{project} / cats & dogs"
    waiter(browser).until(lambda b: b.find_element(By.TAG_NAME, "h1").text == title)
    rows = wait_all(browser, "#versions tbody tr", 1)
    assert rows[0].get_attribute("data-version") == newest[project]
    if project == "team/vision":
        # NOTE: readable deep links: each segment of the project stays a path segment.
        assert browser.current_url == f"{url}/datasets/team/vision/cats%20%26%20dogs"
        assert len(browser.find_elements(By.CSS_SELECTOR, "#lineage g.node")) == 2
        browser.save_screenshot(str(artifacts / "dataset-nested-project.png"))
    # A version page links back to its dataset and compares with its siblings.
    rows[0].find_element(By.CSS_SELECTOR, "td a").click()
    wait_for(browser, "#diff select#against")
    wait_for(browser, "#crumbs a[href^='datasets/']").click()
    waiter(browser).until(lambda b: b.find_element(By.TAG_NAME, "h1").text == title)
    # A deep link opened directly (a reload) shows the same dataset.
    browser.refresh()
    waiter(browser).until(lambda b: b.find_element(By.TAG_NAME, "h1").text == title)
    wait_all(browser, "#versions tbody tr", 1)
    no_errors(browser)


# ---------------------------------------------------------------------- the API docs offline
def test_api_docs_render_without_the_internet(
    server: str, browser: WebDriver, artifacts: Path
) -> None:
    # NOTE: this browser reaches no other host, as on an air-gapped machine: the Swagger UI
    # must come from the app itself, and run under the page's CSP (no inline script).
    browser.get(f"{server}/api/docs")
    operations = wait_all(browser, ".swagger-ui .opblock", 10)
    paths = {o.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text for o in operations}
    assert "/api/datasets/{project}/{name}/versions" in paths
    browser.save_screenshot(str(artifacts / "api-docs.png"))
    no_errors(browser)


# ---------------------------------------------------------------------- DNS rebinding
def test_a_rebound_name_reads_nothing(server: str, browser: WebDriver) -> None:
    """The browser resolves ``rebound.example`` to 127.0.0.1, as after a DNS-rebinding
    attack: what a script of that origin would read from the local server is a refusal."""
    port = server.rsplit(":", 1)[1]
    browser.get(f"http://{REBOUND}:{port}/api/datasets")
    body = wait_for(browser, "body").text
    assert "HostNotAllowed" in body
    assert "images" not in body
    browser.get(f"http://localhost:{port}/")
    wait_all(browser, "#datasets tbody tr", 2)
