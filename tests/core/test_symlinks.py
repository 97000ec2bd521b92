"""The symlink policy of ``add_files`` and ``sync_folder`` (docs/concepts.md, decision 27).

Real folders and real links, through the SDK, with the native scanner and with the Python
walk (``scanner`` runs each test both ways): links that lead outside the folder are refused
by default (nothing staged, every link named), followed or skipped on request; links inside
are stored as their target's content; dangling links, loops and links to folders inside are
left out under every policy.
"""

from __future__ import annotations

import os
import pickle
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import scan as scan_module
from dataver.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    ReadTree = Callable[[Path], dict[str, bytes]]
    WriteTree = Callable[[Path, Mapping[str, bytes]], Path]

HAS_NATIVE = scan_module._NATIVE_SCAN is not None  # installed, and not off (DATAVER_NATIVE=0)


@pytest.fixture(
    params=[
        "python",
        pytest.param(
            "native",
            marks=pytest.mark.skipif(
                not HAS_NATIVE, reason="dataver_native not installed, or DATAVER_NATIVE=0"
            ),
        ),
    ]
)
def scanner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the native scanner (when installed) and with the Python walk."""
    if request.param == "python":
        monkeypatch.setattr(scan_module, "_NATIVE_SCAN", None)
    else:
        assert scan_module._NATIVE_SCAN is not None
    return str(request.param)


@pytest.fixture
def outside(tmp_path: Path, write_tree: WriteTree) -> Path:
    return write_tree(tmp_path / "outside", {"secret.txt": b"secret", "dir/x.txt": b"x"})


@pytest.fixture
def src(tmp_path: Path, write_tree: WriteTree, outside: Path) -> Path:
    """A folder with one link of every kind."""
    root = write_tree(tmp_path / "src", {"real.txt": b"real", "sub/inner.txt": b"inner"})
    (root / "inside.txt").symlink_to("sub/inner.txt")  # relative, inside
    (root / "around.txt").symlink_to("../src/real.txt")  # leaves by name, lands inside
    (root / "outside.txt").symlink_to(outside / "secret.txt")
    (root / "sub" / "up.txt").symlink_to("../../outside/secret.txt")
    (root / "dir-inside").symlink_to("sub", target_is_directory=True)
    (root / "dir-outside").symlink_to(outside / "dir", target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "missing")
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    (root / "self").symlink_to("self")
    return root


INSIDE_ONLY = {
    "around.txt": b"real",
    "inside.txt": b"inner",
    "real.txt": b"real",
    "sub/inner.txt": b"inner",
}


def _content(ds: dataver.Dataset, read_tree: ReadTree) -> dict[str, bytes]:
    ds.finalize(auto_upload=True)
    return read_tree(ds.get_local_copy())


@pytest.mark.usefixtures("scanner")
def test_links_outside_are_refused_by_default_and_nothing_is_staged(
    registry: dataver.Registry, src: Path
) -> None:
    ds = registry.create("ds")
    with pytest.raises(ValidationError) as refused:
        ds.add_files(src)
    message = str(refused.value)
    for name in ("outside.txt", "sub/up.txt", "dir-outside"):
        assert str(src / name) in message
    assert "secret.txt" in message  # where it leads
    for name in ("inside.txt", "around.txt", "dir-inside", "dangling", "loop-a", "self"):
        assert str(src / name) not in message
    assert "symlinks='follow'" in message
    assert "symlinks='skip'" in message
    assert refused.value.fields["links"] == sorted(
        str(src / n) for n in ("dir-outside", "outside.txt", "sub/up.txt")
    )
    assert registry.get(ds.id, states=None).list_files() == []
    again = pickle.loads(pickle.dumps(refused.value))
    assert again.fields == refused.value.fields

    with pytest.raises(ValidationError, match=r"outside\.txt"):
        ds.sync_folder(src)
    assert registry.get(ds.id, states=None).list_files() == []


@pytest.mark.usefixtures("scanner")
def test_skip_leaves_links_outside_out(
    registry: dataver.Registry, src: Path, read_tree: ReadTree
) -> None:
    ds = registry.create("ds")
    assert ds.add_files(src, symlinks="skip") == len(INSIDE_ONLY)
    assert _content(ds, read_tree) == INSIDE_ONLY


@pytest.mark.usefixtures("scanner")
def test_follow_stores_what_links_outside_lead_to(
    registry: dataver.Registry, src: Path, read_tree: ReadTree
) -> None:
    ds = registry.create("ds")
    ds.add_files(src, "in", symlinks="follow")
    assert _content(ds, read_tree) == {
        **{f"in/{k}": v for k, v in INSIDE_ONLY.items()},
        "in/outside.txt": b"secret",
        "in/sub/up.txt": b"secret",
        "in/dir-outside/x.txt": b"x",
    }


@pytest.mark.usefixtures("scanner")
def test_sync_folder_takes_the_same_policy(
    registry: dataver.Registry, src: Path, read_tree: ReadTree
) -> None:
    ds = registry.create("ds")
    assert ds.sync_folder(src, symlinks="skip") == (0, len(INSIDE_ONLY), 0)
    # the same folder under another policy is another listing: no fast path
    assert ds.sync_folder(src, symlinks="follow") == (0, 3, 0)
    assert ds.sync_folder(src, symlinks="skip") == (3, 0, 0)
    assert _content(ds, read_tree) == INSIDE_ONLY


@pytest.mark.usefixtures("scanner")
def test_links_inside_need_no_option(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    root = write_tree(tmp_path / "src", {"a/data.bin": b"data"})
    (root / "alias.bin").symlink_to(root / "a" / "data.bin")  # absolute, inside
    (root / "a" / "again").symlink_to(".", target_is_directory=True)  # a folder loop inside
    (root / "dangling").symlink_to(tmp_path / "missing")
    (root / "loop").symlink_to("loop")
    ds = registry.create("ds")
    assert ds.add_files(root) == 2
    assert _content(ds, read_tree) == {"a/data.bin": b"data", "alias.bin": b"data"}


@pytest.mark.usefixtures("scanner")
def test_a_folder_link_back_up_is_a_loop_under_follow(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    root = write_tree(tmp_path / "src", {"f.txt": b"f"})
    write_tree(tmp_path, {"beside.txt": b"beside"})
    (root / "up").symlink_to("..", target_is_directory=True)  # contains the folder itself
    (root / "root").symlink_to(os.sep, target_is_directory=True)
    ds = registry.create("ds")
    with pytest.raises(ValidationError, match="up"):
        ds.add_files(root)
    assert ds.add_files(root, symlinks="follow") == 1  # neither loop descended
    assert _content(ds, read_tree) == {"f.txt": b"f"}


@pytest.mark.usefixtures("scanner")
def test_followed_folders_are_descended_like_cp_l_without_loops(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, read_tree: ReadTree
) -> None:
    root = write_tree(tmp_path / "src", {"f.txt": b"f"})
    ext = write_tree(tmp_path / "ext", {"a/one.txt": b"1", "b/two.txt": b"2"})
    (root / "ext").symlink_to(ext, target_is_directory=True)
    (root / "ext-a").symlink_to(ext / "a", target_is_directory=True)  # overlaps: listed twice
    (ext / "b" / "back").symlink_to(root, target_is_directory=True)  # into the folder
    (ext / "b" / "in").symlink_to(root / "f.txt")  # a file link into the folder
    (ext / "b" / "again").symlink_to(ext, target_is_directory=True)  # a loop
    (ext / "a" / "b").symlink_to("../b", target_is_directory=True)  # b, once more
    ds = registry.create("ds")
    ds.add_files(root, symlinks="follow")
    assert _content(ds, read_tree) == {
        "ext-a/b/in": b"f",
        "ext-a/b/two.txt": b"2",
        "ext-a/one.txt": b"1",
        "ext/a/b/in": b"f",
        "ext/a/b/two.txt": b"2",
        "ext/a/one.txt": b"1",
        "ext/b/in": b"f",
        "ext/b/two.txt": b"2",
        "f.txt": b"f",
    }


@pytest.mark.usefixtures("scanner")
def test_a_path_named_explicitly_is_followed(
    registry: dataver.Registry, tmp_path: Path, src: Path, read_tree: ReadTree
) -> None:
    ds = registry.create("ds")
    assert ds.add_files(src / "outside.txt") == 1  # the single-file form: the user's choice
    assert ds.add_files(src / "dir-outside", "d") == 1  # a folder given as a link
    (tmp_path / "src-link").symlink_to(src, target_is_directory=True)
    with pytest.raises(ValidationError) as refused:
        ds.add_files(tmp_path / "src-link", "s")  # the folder's real path decides "inside"
    assert "inside.txt" not in str(refused.value)
    assert ds.add_files(tmp_path / "src-link", "s", symlinks="skip") == len(INSIDE_ONLY)
    assert _content(ds, read_tree) == {
        "outside.txt": b"secret",
        "d/x.txt": b"x",
        **{f"s/{k}": v for k, v in INSIDE_ONLY.items()},
    }


@pytest.mark.usefixtures("scanner")
def test_only_links_that_would_be_added_count(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, outside: Path
) -> None:
    root = write_tree(tmp_path / "src", {"a.csv": b"a", "deep/b.csv": b"b"})
    (root / "passwd.txt").symlink_to(outside / "secret.txt")
    (root / "deep" / "dir").symlink_to(outside / "dir", target_is_directory=True)
    ds = registry.create("ds")
    assert ds.add_files(root, wildcard="*.csv", recursive=False) == 1  # neither is read
    with pytest.raises(ValidationError, match="deep/dir"):
        ds.add_files(root, wildcard="*.csv")  # a folder link may hold matching files
    with pytest.raises(ValidationError, match="passwd"):
        ds.add_files(root, wildcard="*.txt", recursive=False)


def test_many_links_are_named_first_few_and_counted(
    registry: dataver.Registry, tmp_path: Path, write_tree: WriteTree, outside: Path
) -> None:
    root = write_tree(tmp_path / "src", {"ok.txt": b"ok"})
    for i in range(12):
        (root / f"l{i:02d}").symlink_to(outside / "secret.txt")
    ds = registry.create("ds")
    with pytest.raises(ValidationError) as refused:
        ds.add_files(root)
    message = str(refused.value)
    assert message.startswith("12 symbolic links lead outside")
    assert str(root / "l00") in message
    assert str(root / "l11") not in message
    assert "and 7 more" in message
    assert len(refused.value.fields["links"]) == 12


def test_an_unknown_policy_is_refused(registry: dataver.Registry, src: Path) -> None:
    ds = registry.create("ds")
    with pytest.raises(ValidationError, match="'refuse', 'follow' or 'skip'"):
        ds.add_files(src, symlinks="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'refuse', 'follow' or 'skip'"):
        ds.sync_folder(src, symlinks="no")  # type: ignore[arg-type]


def test_scan_and_scan_folder_agree_with_both_scanners(
    src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twins: the same rows from scan() and scan_folder(), native or not, for every policy."""
    results = []
    for native in (True, False):
        if not native:
            monkeypatch.setattr(scan_module, "_NATIVE_SCAN", None)
        for policy in ("follow", "skip"):
            listed = scan_module.scan(src, "p", wildcards=None, recursive=True, symlinks=policy)
            walked = scan_module.scan_folder(src, "p", recursive=True, symlinks=policy)
            assert walked.rows() == listed
            results.append((policy, listed))
            with pytest.raises(ValidationError):
                scan_module.scan_folder(src, "p", recursive=True)
    assert results[:2] == results[2:]
    if not HAS_NATIVE:
        pytest.skip("no dataver_native (or DATAVER_NATIVE=0): compared the Python walk with itself")
