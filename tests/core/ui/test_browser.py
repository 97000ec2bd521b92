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

if TYPE_CHECKING:
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
