"""The DAG snippets (```py blocks) of docs/airflow.md import and define their DAGs.

(```python blocks run in the core venv without Airflow, so the Airflow docs use ```py.)
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "airflow.md"
BLOCK = re.compile(r"^```py\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_blocks(suite: str) -> list[str]:
    """README.md's ```py blocks marked ``<!-- docs-test: {suite} -->``."""
    text = (DOC.parents[1] / "README.md").read_text()
    pattern = rf"^<!-- docs-test: {suite} -->\n```py\n(.*?)^```"
    return re.findall(pattern, text, re.DOTALL | re.MULTILINE)


def test_airflow_doc_snippets_define_their_dags() -> None:
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 3
    for number, block in enumerate(blocks, 1):
        namespace: dict[str, object] = {"__name__": "__airflow_doc__"}
        exec(compile(block, f"airflow.md[py block {number}]", "exec"), namespace)  # noqa: S102


def test_readme_dag_example_defines_its_dag() -> None:
    (block,) = readme_blocks("airflow")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(block, "README.md[airflow]", "exec"), namespace)  # noqa: S102
    dag = namespace["dag"]
    assert dag.dag_id == "train_on_images"  # type: ignore[attr-defined]
    assert set(dag.task_ids) == {"version_images", "wait_final", "fetch", "train"}  # type: ignore[attr-defined]
