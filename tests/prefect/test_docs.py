"""docs/prefect.md: its ```py snippets run (in order, in one namespace, under the test server)
and it documents every task of the package.

(```python blocks run in the core venv without Prefect, so the Prefect docs use ```py.) A
snippet that cannot run here is preceded by ``<!-- docs-test: skip (reason) -->``, as in
tests/docs/test_code_blocks.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from prefect.tasks import Task

import prefect_dataver

if TYPE_CHECKING:
    import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "prefect.md"
BLOCK = re.compile(
    r"^(<!--\s*docs-test:\s*skip\s*\([^)]+\)\s*-->\n)?```py\n(.*?)^```", re.DOTALL | re.MULTILINE
)


def readme_blocks(suite: str) -> list[str]:
    """README.md's ```py blocks marked ``<!-- docs-test: {suite} -->``."""
    text = (DOC.parents[1] / "README.md").read_text()
    pattern = rf"^<!-- docs-test: {suite} -->\n```py\n(.*?)^```"
    return re.findall(pattern, text, re.DOTALL | re.MULTILINE)


def test_prefect_doc_snippets_run() -> None:
    blocks = [body for skip, body in BLOCK.findall(DOC.read_text()) if not skip]
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "__prefect_doc__"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"prefect.md[py block {number}]", "exec"), namespace)  # noqa: S102


def test_prefect_doc_names_every_task() -> None:
    text = DOC.read_text()
    tasks = [n for n in prefect_dataver.__all__ if isinstance(getattr(prefect_dataver, n), Task)]

    assert len(tasks) == 20
    assert [t for t in tasks if f"`{t}" not in text] == []


def test_readme_flow_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    (block,) = readme_blocks("prefect")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(block, "README.md[prefect]", "exec"), namespace)  # noqa: S102
    path = Path(namespace["ingest_and_train"]())  # type: ignore[operator]
    assert (path / "labels.csv").read_text() == "id,label\n1,cat\n"
