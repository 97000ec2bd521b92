"""Small parts of the CLI on their own: multi-value options, the current-version state,
error hints and wording.
"""

from __future__ import annotations

import json

import pytest

import dataver
from dataver.cli import state
from dataver.cli.errors import hint_for, one_line
from dataver.cli.params import expand_multi_value, json_or_text


@pytest.mark.parametrize(
    ("args", "expanded"),
    [
        (
            ["add", "--files", "a", "b", "c"],
            ["add", "--files", "a", "--files", "b", "--files", "c"],
        ),
        (["add", "-f", "a", "b", "--id", "x"], ["add", "-f", "a", "-f", "b", "--id", "x"]),
        (["add", "--files", "-odd", "b"], ["add", "--files", "-odd", "--files", "b"]),
        (["add", "--files=a", "b"], ["add", "--files=a", "b"]),
        (["add", "--files", "a", "--", "b"], ["add", "--files", "a", "--", "b"]),
        (["add", "--files"], ["add", "--files"]),
        (["tag", "add", "x", "y"], ["tag", "add", "x", "y"]),
    ],
)
def test_expand_multi_value(args: list[str], expanded: list[str]) -> None:
    assert expand_multi_value(args) == expanded


def test_state_is_per_registry_and_survives_a_corrupt_file() -> None:
    assert state.current("/r1") is None
    state.remember("/r1", "a" * 32)
    state.remember("/r2", "b" * 32)
    assert (state.current("/r1"), state.current("/r2")) == ("a" * 32, "b" * 32)
    state.forget("/r1", "c" * 32)  # not the current one: kept
    assert state.current("/r1") == "a" * 32
    state.forget("/r1", "a" * 32)
    assert state.current("/r1") is None
    assert json.loads(state.path().read_text())["current"]["/r2"]["id"] == "b" * 32
    state.path().write_text("{not json")
    assert state.current("/r2") is None
    state.remember("/r2", "d" * 32)
    assert state.current("/r2") == "d" * 32


def test_hints_and_wording() -> None:
    pending = dataver.PendingUploadError(
        "version v has 2 files not uploaded: call upload() first or finalize(auto_upload=True)",
        version_id="v",
    )
    assert one_line(str(pending)) == "version v has 2 files not uploaded"
    assert "dataver upload --id v" in hint_for(pending)
    wrong = dataver.InvalidTransitionError("x", version_id="v", state="published")
    assert "create --name NAME --parents v" in hint_for(wrong)
    assert one_line("two\nlines") == "two lines"


def test_json_or_text() -> None:
    assert json_or_text("3") == 3
    assert json_or_text("[1, 2]") == [1, 2]
    assert json_or_text('"3"') == "3"
    assert json_or_text("alice") == "alice"
    assert json_or_text("") == ""


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{"path": "a/é.txt", "size": 1, "hash": "ab", "link": None}],
        [
            {"path": f'"files": [] {i}', "size": i, "hash": None, "link": "s3://b/k"}
            for i in range(3)
        ],
        [
            {"path": "n", "size": 2, "hash": "cd", "link": None, "change": "renamed", "from": "o"},
            {"path": "r", "size": None, "hash": None, "link": None, "change": "removed"}
            | {"from": None},
        ],
    ],
)
def test_a_streamed_document_prints_what_the_whole_one_does(
    rows: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    from dataver.cli import output
    from dataver.cli.schema import FileRow, ListOutput

    head = {"id": "v1", "total_files": len(rows), "total_bytes": 7}
    output.emit(ListOutput.model_validate({**head, "files": rows}))
    whole = capsys.readouterr().out
    output.emit_streamed(
        ListOutput.model_validate({**head, "files": ()}), "files", iter(rows), FileRow
    )
    streamed = capsys.readouterr().out
    assert streamed == whole
    assert json.loads(streamed)["files"] == json.loads(whole)["files"]
