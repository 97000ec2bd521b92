"""The native shard check (``dataver_native.shard_ok``) against the codec's Python checks.

``shard_ok`` may only say "sound" when the Python checks accept the same columns, and must
say it whenever they do (else every read pays for both). Hypothesis draws hostile columns:
unsafe and unsorted paths, non-ASCII and surrogate characters, sizes out of range or of the
wrong type, hashes with uppercase, wrong length or non-hex characters.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataver.errors import FormatError
from dataver.manifest import codec
from dataver.manifest.entry import Entry
from dataver.paths import MAX_PATH_LENGTH

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="not built on Windows")


def shard_ok(paths: Any, sizes: Any, offsets: Any, hashes: Any) -> bool:
    native = importlib.import_module("dataver_native")
    answer: bool = native.shard_ok(paths, sizes, offsets, hashes, codec.MAX_SIZE, MAX_PATH_LENGTH)
    return answer


def python_ok(paths: Any, sizes: Any, offsets: Any, hashes: Any) -> bool:
    try:
        codec._check_paths(paths, "x")
        codec._check_ints(sizes, "x", "size")
        if offsets is not None:
            codec._check_ints(offsets, "x", "offset")
        codec._check_hex(hashes, "x", "hash")
    except FormatError:
        return False
    return True


path_parts = st.sampled_from(["a", "b", ".", "..", "", "é", "名", "\udce9", "\\", "\x00", "\x7f"])
paths = st.lists(st.lists(path_parts, min_size=1, max_size=3).map("/".join), max_size=6)
ints = st.one_of(
    st.integers(0, 3),
    st.sampled_from([-1, codec.MAX_SIZE - 1, codec.MAX_SIZE, 1 << 70, True, 1.0, "1", None]),
)
digests = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.sampled_from(["A" * 64, "a" * 63, "a" * 65, "g" * 64, "é" * 64, 7, None, " " + "a" * 63]),
)


@st.composite
def columns(draw: st.DrawFn) -> tuple[list[Any], list[Any], list[Any] | None, list[Any]]:
    names = draw(paths)
    if draw(st.booleans()):
        names = sorted(set(names))  # mostly well ordered, so the other checks get reached
    count = len(names)
    sizes = draw(st.lists(ints, min_size=count, max_size=count))
    offsets = draw(st.none() | st.lists(ints, min_size=count, max_size=count))
    hashes = draw(st.lists(digests, min_size=count, max_size=count))
    return names, sizes, offsets, hashes


@settings(max_examples=500, deadline=None)
@given(columns())
def test_agrees_with_the_python_checks(
    case: tuple[list[Any], list[Any], list[Any] | None, list[Any]],
) -> None:
    assert shard_ok(*case) == python_ok(*case)


def test_a_sound_shard_and_each_kind_of_flaw() -> None:
    good = (["a/b", "a/c", "d"], [0, 1, 2], [0, 0, 4], ["0" * 64, None, "f" * 64])
    assert shard_ok(*good)
    flaws = {
        "unsorted": (["b", "a"], [0, 0], None, [None, None]),
        "repeated": (["a", "a"], [0, 0], None, [None, None]),
        "dotdot": (["a/../b"], [0], None, [None]),
        "absolute": (["/a"], [0], None, [None]),
        "trailing slash": (["a/"], [0], None, [None]),
        "too long": (["a" * (MAX_PATH_LENGTH + 1)], [0], None, [None]),
        "bool size": (["a"], [True], None, [None]),
        "negative offset": (["a"], [0], [-1], [None]),
        "uppercase hash": (["a"], [0], None, ["A" * 64]),
        "ragged": (["a", "b"], [0], None, [None, None]),
    }
    for name, case in flaws.items():
        assert not shard_ok(*case), name
    assert shard_ok(["a" * MAX_PATH_LENGTH], [0], None, [None])


def test_decoding_names_the_flaw_and_refuses_a_disagreement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sound = codec.encode_shard([Entry("a", 1, "0" * 64), Entry("b", 2, "1" * 64)])
    assert [e.path for e in codec.decode_shard(sound, "s")] == ["a", "b"]
    bad = codec.encode_shard([Entry("a/../x", 1, "0" * 64)])
    with pytest.raises(FormatError, match=r"\.\."):
        codec.decode_shard(bad, "s")  # shard_ok says no; the Python check names why
    monkeypatch.setattr(codec, "_SHARD_OK", lambda *args: False)
    with pytest.raises(FormatError, match="failed validation"):
        codec.decode_shard(sound, "s")
