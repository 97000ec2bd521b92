"""docs/prefect.md: its ```py snippets run (in order, in one namespace, under the test server)
and it documents every task of the package.

(```python blocks run in the core venv without Prefect, so the Prefect docs use ```py.)
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect.tasks import Task

import prefect_dataver

DOC = Path(__file__).resolve().parents[2] / "docs" / "prefect.md"
BLOCK = re.compile(r"^```py\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_prefect_doc_snippets_run() -> None:
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "__prefect_doc__"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"prefect.md[py block {number}]", "exec"), namespace)  # noqa: S102


def test_prefect_doc_names_every_task() -> None:
    text = DOC.read_text()
    tasks = [n for n in prefect_dataver.__all__ if isinstance(getattr(prefect_dataver, n), Task)]

    assert len(tasks) == 18
    assert [t for t in tasks if f"`{t}" not in text] == []
