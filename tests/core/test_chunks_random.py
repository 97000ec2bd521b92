"""Random edits to random chunked files across a chain of versions (Hypothesis).

Every version reads back byte-exact (from a cold cache), and what each child stores stays
within a bound of its edits: the edited bytes, plus the chunks each edit cuts through on
either side, plus the chunk lists.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dataver
from dataver.settings import Settings

AVG = 64 << 10
MAX_CHUNK = 4 * AVG
LIST_BYTES = 8192  # NOTE: a chunk list of ~40 chunks, compressed; 2x to spare
FILES = ("a.bin", "dir/b.bin", "c.csv")

edits = st.lists(
    st.tuples(
        st.sampled_from(FILES),
        st.sampled_from(["insert", "delete", "overwrite", "append", "truncate"]),
        st.floats(0, 1),
        st.integers(1, 200_000),
    ),
    min_size=1,
    max_size=3,
)


def _apply(data: bytes, kind: str, where: float, size: int, rng: random.Random) -> bytes:
    at = int(where * len(data))
    if kind == "insert":
        return data[:at] + rng.randbytes(size) + data[at:]
    if kind == "delete":
        return data[:at] + data[at + size :]
    if kind == "overwrite":
        return data[:at] + rng.randbytes(size) + data[at + size :]
    if kind == "append":
        return data + rng.randbytes(size)
    return data[: max(0, len(data) - size)]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVER_CHUNK_THRESHOLD", str(512 << 10))
    monkeypatch.setenv("DATAVER_CHUNK_SIZE", str(AVG))
    monkeypatch.setenv("DATAVER_PACK_SIZE", str(1 << 20))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chain=st.lists(edits, min_size=1, max_size=3), seed=st.integers(0, 2**32))
def test_random_edits_read_back_exactly_and_store_about_the_edits(
    chain: list[list[tuple[str, str, float, int]]], seed: int
) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "data"
        (folder / "dir").mkdir(parents=True)
        files = {name: rng.randbytes(rng.randrange(1 << 20, 2 << 20)) for name in FILES}
        for name, data in files.items():
            (folder / name).write_bytes(data)
        registry = dataver.Registry(root / "registry", settings=Settings(cache_dir=root / "cache"))
        version = registry.create("chain")
        version.add_files(folder)
        version.finalize(auto_upload=True)
        history = [(version, dict(files))]
        for step in chain:
            budget = 0
            for name, kind, where, size in step:
                files[name] = _apply(files[name], kind, where, size, rng)
                budget += (size if kind in {"insert", "overwrite", "append"} else 0) + 2 * MAX_CHUNK
                (folder / name).write_bytes(files[name])
            child = registry.create("chain", parents=[version])
            child.sync_folder(folder)
            child.finalize(auto_upload=True)
            touched = len({name for name, *_ in step})
            assert child.stats.stored_bytes <= budget + touched * LIST_BYTES, (step, child.stats)
            history.append((child, dict(files)))
            version = child
        for number, (built, expected) in enumerate(history):
            cold = dataver.Registry(
                root / "registry", settings=Settings(cache_dir=root / f"cold-{number}")
            )
            tree = Path(cold.get(built.id).get_local_copy())
            got = {
                p.relative_to(tree).as_posix(): p.read_bytes()
                for p in tree.rglob("*")
                if p.is_file()
            }
            assert got == expected, f"version {number}"
