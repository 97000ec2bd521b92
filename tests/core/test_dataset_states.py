"""State guards through the SDK (behaviour 7) and every transition on real versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import ConflictError, InvalidTransitionError, PendingUploadError, State


@pytest.fixture(params=["local", "s3"])
def registry(request: pytest.FixtureRequest, registry_path: Path) -> dataver.Registry:
    """Every state behaviour runs on a local folder and on the moto S3 server (issue 4)."""
    if request.param == "local":
        return dataver.Registry(registry_path)
    return dataver.Registry(request.getfixturevalue("s3_url"))


if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

U, FA, AB, FI, PU = State.UPLOADING, State.FAILED, State.ABORTED, State.FINAL, State.PUBLISHED


@pytest.fixture
def src(tmp_path: Path, write_tree: Callable[..., Path]) -> Path:
    return write_tree(tmp_path / "src", {"a.txt": b"alpha", "sub/b.txt": b"bravo", "c": b"c"})


def make(registry: dataver.Registry, src: Path, state: State) -> dataver.Dataset:
    """A version with three files, brought to ``state`` through the SDK."""
    ds = registry.create("ds")
    ds.add_files(src)
    if state is FI or state is PU:
        ds.finalize(auto_upload=True)
    if state is PU:
        ds.publish()
    if state is AB:
        ds.abort("user changed their mind")
    if state is FA:
        ds.fail("disk on fire")
    assert ds.state is state
    assert registry.get(ds.id, states=None).state is state
    return ds


ACTIONS: dict[str, Callable[[dataver.Dataset], object]] = {
    "finalize": lambda ds: ds.finalize(auto_upload=True),
    "publish": lambda ds: ds.publish(),
    "abort": lambda ds: ds.abort("again"),
    "fail": lambda ds: ds.fail("again"),
}
# The outcome of each action from each state: the target state, or None for a refusal.
OUTCOMES: dict[State, dict[str, State | None]] = {
    U: {"finalize": FI, "publish": None, "abort": AB, "fail": FA},
    FI: {"finalize": None, "publish": PU, "abort": None, "fail": None},
    PU: {"finalize": None, "publish": None, "abort": None, "fail": None},
    AB: {"finalize": None, "publish": None, "abort": None, "fail": None},
    FA: {"finalize": None, "publish": None, "abort": None, "fail": None},
}
CASES = [(state, action) for state, row in OUTCOMES.items() for action in row]


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s.value}-{a}" for s, a in CASES])
def test_sdk_transition_matrix(
    registry: dataver.Registry, src: Path, state: State, action: str
) -> None:
    ds = make(registry, src, state)
    expected = OUTCOMES[state][action]
    if expected is None:
        with pytest.raises(InvalidTransitionError) as info:
            ACTIONS[action](ds)
        assert info.value.state == state.value
        assert f"it is {state.value}" in str(info.value)
        assert registry.get(ds.id, states=None).state is state
    else:
        ACTIONS[action](ds)
        assert ds.state is expected
        assert registry.get(ds.id, states=None).state is expected


@pytest.mark.parametrize("state", [FI, PU, AB, FA])
@pytest.mark.parametrize("action", ["add_files", "remove_files", "sync_folder", "upload"])
def test_content_changes_need_uploading(
    registry: dataver.Registry, src: Path, state: State, action: str
) -> None:
    ds = make(registry, src, state)
    before = ds.list_files() if state in (FI, PU) else None
    calls: dict[str, Callable[[], object]] = {
        "add_files": lambda: ds.add_files(src),
        "remove_files": lambda: ds.remove_files("a.txt"),
        "sync_folder": lambda: ds.sync_folder(src),
        "upload": lambda: ds.upload(),
    }
    with pytest.raises(InvalidTransitionError, match=f"it is {state.value}, must be uploading"):
        calls[action]()
    fresh = registry.get(ds.id, states=None)
    assert fresh.state is state
    if before is not None:
        assert fresh.list_files() == before == ["a.txt", "c", "sub/b.txt"]


def test_finalize_with_pending_content_raises_unless_auto_upload(
    registry: dataver.Registry, src: Path
) -> None:
    ds = registry.create("ds")
    assert ds.add_files(src) == 3
    with pytest.raises(PendingUploadError, match="3 files not uploaded") as info:
        ds.finalize()
    assert isinstance(info.value, InvalidTransitionError)
    assert info.value.pending == 3
    assert registry.get(ds.id, states=None).state is U
    ds.finalize(auto_upload=True)
    assert ds.state is FI
    assert registry.get(ds.id).state is FI


def test_finalize_after_explicit_upload(registry: dataver.Registry, src: Path) -> None:
    ds = registry.create("ds")
    ds.add_files(src)
    assert ds.upload() == len(b"alpha") + len(b"bravo") + len(b"c")
    ds.finalize()
    assert ds.state is FI


def test_publish_of_a_non_final_version_names_the_state(
    registry: dataver.Registry, src: Path
) -> None:
    ds = make(registry, src, U)
    with pytest.raises(InvalidTransitionError, match="it is uploading, must be final"):
        ds.publish()


def test_publishing_twice_raises(registry: dataver.Registry, src: Path) -> None:
    ds = make(registry, src, PU)
    with pytest.raises(InvalidTransitionError, match="it is published, must be final") as info:
        ds.publish()
    assert info.value.state == "published"
    # A fresh handle refuses too: the guard is the stored state, not the object's memory.
    with pytest.raises(InvalidTransitionError, match="it is published"):
        registry.get(ds.id).publish()


def test_adding_to_a_final_version_raises(registry: dataver.Registry, src: Path) -> None:
    ds = make(registry, src, FI)
    with pytest.raises(InvalidTransitionError, match="it is final, must be uploading") as info:
        ds.add_files(src)
    assert info.value.state == "final"
    assert info.value.version_id == ds.id


@pytest.mark.parametrize("state", [U, AB, FA])
def test_a_non_final_parent_is_refused(registry: dataver.Registry, src: Path, state: State) -> None:
    parent = make(registry, src, state)
    with pytest.raises(InvalidTransitionError, match=f"use as a parent.*it is {state.value}"):
        registry.create("child", parents=[parent])
    with pytest.raises(InvalidTransitionError):
        registry.create("child", parents=[parent.id])
    assert [d.name for d in registry.list()] == ["ds"]


@pytest.mark.parametrize("state", [FI, PU])
def test_final_and_published_versions_can_be_parents(
    registry: dataver.Registry, src: Path, state: State
) -> None:
    parent = make(registry, src, state)
    child = registry.create("child", parents=[parent])
    assert child.parents == (parent.id,)
    assert child.list_files() == ["a.txt", "c", "sub/b.txt"]


@pytest.mark.parametrize("end", [AB, FA])
def test_aborted_and_failed_are_never_reopened(
    registry: dataver.Registry, src: Path, tmp_path: Path, end: State
) -> None:
    ds = registry.create("ds")
    ds.add_files(src)
    other = registry.get(ds.id, states=None)  # a second writer's view, still Uploading
    if end is AB:
        ds.abort("stop")
    else:
        ds.fail("broken")
    assert ds.error == ("stop" if end is AB else "broken")

    # The stale handle cannot write past the end: every change is a CAS on the record.
    (tmp_path / "more.txt").write_bytes(b"more")
    with pytest.raises(ConflictError, match=f"became {end.value}") as info:
        other.add_files(tmp_path / "more.txt")
    assert info.value.state == end.value
    with pytest.raises(ConflictError, match=f"became {end.value}"):
        other.finalize(auto_upload=True)

    # A fresh handle is refused by the state guard.
    fresh = registry.get(ds.id, states=None)
    for call in (
        lambda: fresh.add_files(src),
        lambda: fresh.finalize(auto_upload=True),
        lambda: fresh.abort(),
        lambda: fresh.fail("x"),
        lambda: fresh.publish(),
    ):
        with pytest.raises(InvalidTransitionError, match=f"it is {end.value}"):
            call()
    final = registry.get(ds.id, states=None)
    assert final.state is end
    assert final.list_files() == ["a.txt", "c", "sub/b.txt"]
    with pytest.raises(dataver.VersionNotFoundError):
        registry.get(ds.id)  # default states: final, published
    with pytest.raises(InvalidTransitionError, match=f"cannot read .* it is {end.value}"):
        final.get_local_copy()


def test_finalize_twice_from_one_handle(registry: dataver.Registry, src: Path) -> None:
    ds = make(registry, src, FI)
    with pytest.raises(InvalidTransitionError, match="it is final, must be uploading"):
        ds.finalize()


def test_annotations_follow_the_state(registry: dataver.Registry, src: Path) -> None:
    ds = make(registry, src, FI)
    ds.set_metadata({"rows": 3})
    ds.add_tags("gold", "v1", "gold")
    ds.set_description("three files")
    fresh = registry.get(ds.id)
    assert fresh.metadata == {"rows": 3}
    assert fresh.tags == ("gold", "v1")
    assert fresh.description == "three files"
    ds.remove_tags("v1")
    assert registry.get(ds.id).tags == ("gold",)

    ds.publish()
    for call in (
        lambda: ds.set_metadata({"rows": 4}),
        lambda: ds.add_tags("x"),
        lambda: ds.remove_tags("gold"),
        lambda: ds.set_description("changed"),
    ):
        with pytest.raises(InvalidTransitionError, match="it is published"):
            call()
    assert registry.get(ds.id).metadata == {"rows": 3}


def test_failed_version_records_its_error(registry: dataver.Registry, src: Path) -> None:
    ds = make(registry, src, FA)
    fresh = registry.get(ds.id, states=None)
    assert fresh.error == "disk on fire"
    assert fresh.record.lease is None
    assert fresh.is_stale is False


def test_a_late_closing_beat_leaves_no_mark_on_the_final_record(
    registry: dataver.Registry, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The closing mark's heartbeat may tick once more after finalize's own swap (its thread
    is stopped only when the block ends): that tick must not put the mark back."""
    from contextlib import contextmanager

    from dataver.ops import lease

    real = lease.heartbeat

    @contextmanager
    def late(renew: Callable[[], None], interval: float, name: str) -> Iterator[None]:
        with real(renew, interval, name):
            yield
        renew()  # NOTE: the tick that lands after the Final swap

    monkeypatch.setattr(lease, "heartbeat", late)
    ds = registry.create("d")
    ds.add_files(src)
    ds.finalize(auto_upload=True)
    final = registry.get(ds.id)
    assert final.state is State.FINAL
    assert final.record.closing is None
