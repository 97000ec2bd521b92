"""An unchanged folder: ``DataverVersionOperator`` gives the SDK's answer (``version_folder``).

One policy everywhere, default ``unchanged="reuse"``: no new version, the parent is the answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from airflow.utils.state import DagRunState, TaskInstanceState

import dataver

from .conftest import load_dag

if TYPE_CHECKING:
    from pathlib import Path


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "a.csv").write_text("x\n1\n")
    (root / "b.csv").write_text("y\n2\n")
    return root


def _version(name: str, folder: Path, **conf: str) -> Any:
    """Run ``dataver_version_one`` once; its one task instance."""
    run = load_dag("dataver_operators", "one_dag").test(
        run_conf={"name": name, "folder": str(folder), **conf}
    )
    assert run.state == DagRunState.SUCCESS
    (ti,) = run.get_task_instances()
    return ti


def _result(ti: Any) -> tuple[str, dict[str, Any]]:
    """What the task did (XCom ``outcome``) and the version it returned."""
    return ti.xcom_pull(task_ids="version", key="outcome"), ti.xcom_pull(task_ids="version")


def test_the_operator_and_the_sdk_reuse_the_version_of_an_unchanged_folder(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data")
    outcome, built = _result(_version("same", folder))
    assert outcome == "built"

    outcome, again = _result(_version("same", folder))  # nothing changed since

    assert outcome == "reused"
    assert again == built  # the same version, as it was
    with dataver.Registry(registry_url) as registry:
        sdk = registry.version_folder("same", folder, "tests")
        assert sdk.outcome == "reused"
        assert sdk.dataset is not None
        assert sdk.dataset.id == built["id"]
        (only,) = registry.list(project="tests", name="same", states=None)  # nothing new
    assert only.id == built["id"]
    # NOTE: the third front end, the command line, gives the same answer.
    cli = subprocess.run(
        [sys.executable, "-m", "dataver.cli", "--registry", registry_url, "--json", "sync",
         "--folder", str(folder), "--name", "same", "--project", "tests"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    answer = json.loads(cli.stdout)
    assert (answer["outcome"], answer["id"], answer["created"]) == ("reused", built["id"], False)


def test_a_folder_versioned_by_the_sdk_is_reused_by_the_operator(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data")
    with dataver.Registry(registry_url) as registry:
        made = registry.version_folder("sdk-first", folder, "tests")
    assert made.dataset is not None

    outcome, summary = _result(_version("sdk-first", folder))

    assert (outcome, summary["id"]) == ("reused", made.dataset.id)


def test_unchanged_skip_skips_the_task_and_new_builds_a_child(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data")
    _, first = _result(_version("policies", folder))

    skipped = _version("policies", folder, unchanged="skip")
    assert skipped.state == TaskInstanceState.SKIPPED
    assert skipped.xcom_pull(task_ids="version", key="outcome") == "skipped"
    outcome, child = _result(_version("policies", folder, unchanged="new"))

    assert outcome == "built"
    with dataver.Registry(registry_url) as registry:
        versions = registry.list(project="tests", name="policies", states=None)
        new = registry.get(child["id"])
    assert len(versions) == 2  # the skip made nothing; "new" made one child
    assert new.parents == (first["id"],)
    assert new.list_files() == ["a.csv", "b.csv"]


def test_a_changed_folder_builds_a_child_with_only_the_change(
    tmp_path: Path, registry_url: str
) -> None:
    folder = _folder(tmp_path / "data")
    _, first = _result(_version("changed", folder))
    (folder / "b.csv").write_text("y\n3\n")

    outcome, child = _result(_version("changed", folder))

    assert outcome == "built"
    assert child["id"] != first["id"]
    assert child["stats"]["modified"] == 1
