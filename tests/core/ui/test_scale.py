"""The page on a large dataset: 100,000 files in one version, 200 versions in one dataset.

Nothing here is timed (speed is measured in benchmarks/); what must hold is that every
response is a page, not the whole dataset, so the browser only ever renders a few hundred rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import dataver

pytest.importorskip("selenium")

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dataver.ui import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver.remote.webdriver import WebDriver

FILES = int(os.environ.get("UI_SCALE_FILES", "100000"))
VERSIONS = int(os.environ.get("UI_SCALE_VERSIONS", "200"))
WAIT = 60


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[dataver.Registry, str]:
    """A dataset of 200 versions whose newest holds 100,000 files in one folder."""
    # NOTE: the source tree goes to tmpfs when there is one: creating 100,000 files is what
    # takes time here, not dataver.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - private mkdtemp
    src = Path(tempfile.mkdtemp(prefix="dataver-ui-scale-", dir=shm))
    try:
        (src / "small").mkdir()
        (src / "small" / "a.txt").write_text("0")
        reg = dataver.Registry(str(tmp_path_factory.mktemp("scale") / "registry"))
        parent: list[str] = []
        for i in range(VERSIONS - 1):
            (src / "small" / "a.txt").write_text(str(i))
            ds = reg.create("scale", parents=parent)
            ds.add_files(src / "small")
            ds.finalize(auto_upload=True)
            parent = [ds.id]
        many = src / "many"
        many.mkdir()
        for i in range(FILES):
            (many / f"f{i:06d}.txt").write_bytes(b"%d" % i)
        ds = reg.create("scale", parents=parent)
        ds.add_files(many, dataset_path="many")
        ds.finalize(auto_upload=True)
        return reg, ds.id
    finally:
        shutil.rmtree(src, ignore_errors=True)


@pytest.fixture(scope="module")
def big_server(big: tuple[dataver.Registry, str]) -> Iterator[str]:
    from .conftest import serve

    with serve(create_app(big[0])) as url:
        yield url


def test_a_100k_file_version_is_browsed_page_by_page(
    big: tuple[dataver.Registry, str], big_server: str, browser: WebDriver
) -> None:
    _, newest = big
    browser.get(f"{big_server}/versions/{newest}")
    WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, '#tree tr[data-path="many"] a')
    )
    browser.find_element(By.CSS_SELECTOR, '#tree tr[data-path="many"] a').click()
    WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: "of 100,000 entries" in b.find_element(By.ID, "tree-range").text
    )
    assert browser.find_element(By.ID, "tree-range").text.startswith("1\N{EN DASH}200 of 100,000")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tree tbody tr")) == 200
    browser.find_element(By.ID, "tree-next").click()
    WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: b.find_element(By.ID, "tree-range").text.startswith("201\N{EN DASH}400")
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#tree tbody tr")
    assert rows[0].get_attribute("data-path") == "many/f000200.txt"
    assert not browser.find_elements(By.CSS_SELECTOR, "[role=alert]")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_200_versions_draw_as_one_lineage(big_server: str, browser: WebDriver) -> None:
    browser.get(f"{big_server}/datasets/default/scale")
    WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#lineage g.node")) == VERSIONS
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lineage path.edge")) == VERSIONS - 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")) == VERSIONS
    assert not browser.find_elements(By.CSS_SELECTOR, "[role=alert]")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
