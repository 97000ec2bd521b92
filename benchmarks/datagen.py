"""Deterministic (seeded) generation of the benchmark data, done once and reused.

Each tree is written next to a ``<name>.spec.json`` stamp; a tree whose stamp matches the
wanted spec is reused as is, anything else is regenerated from scratch.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from benchmarks.config import MIB, SEED

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from benchmarks.config import Sizes

_GENERATOR_VERSION = 1


@dataclass(frozen=True)
class TreeSpec:
    """A tree of ``count`` random files of ``size`` bytes, ``per_dir`` files per folder."""

    count: int
    size: int
    per_dir: int
    seed: int
    changed: int = 0  # files (of the same tree) given new content, for a child tree
    max_size: int = 0  # > size: a mixed tree, file sizes from size to max_size (see sizes())

    def relpath(self, index: int) -> str:
        return f"d{index // self.per_dir:04d}/f{index:07d}.bin"

    def sizes(self) -> list[int]:
        """Every file's size: ``size`` for a uniform tree; else seeded and log-skewed.

        Mixed trees: ``size * (max_size / size) ** (u ** 3)`` for a uniform ``u``, so small
        files are common and large ones rare (1,000 files from 1 KiB to 64 MiB: about 2 GiB);
        the first file has exactly ``size`` bytes and the second ``max_size``.
        """
        if self.max_size <= self.size:
            return [self.size] * self.count
        rng, ratio = _rng(self.seed + 5), self.max_size / self.size
        drawn = [int(self.size * ratio ** (rng.random() ** 3)) for _ in range(self.count)]
        return [self.size, self.max_size, *drawn[2:]][: self.count]


@dataclass(frozen=True)
class Data:
    """The generated trees."""

    small: Path
    child: Path
    changed: tuple[str, ...]  # relative paths of the child's changed files
    large: Path
    many: Path
    huge: Path  # the small files at scale (100,000 x 4 KiB)
    mixed: Path
    childmix: Path  # 10,000 files of a realistic mix of sizes (1 KiB to 1 MiB, log-skewed)
    childmix_changed: tuple[str, ...]  # relative paths of the files its 1% child rewrites
    root: Path  # where the trees are; scenarios make more there on demand (ensure_parts)


def ensure_data(
    root: Path, sizes: Sizes, log: Callable[[str], None], trees: set[str] | None = None
) -> Data:
    """Generate (or reuse) every tree the scenarios need under ``root``.

    ``trees``: only these trees (names of :class:`Data` fields: "small", "large", ...); the
    others' paths are returned all the same, for scenarios that do not read them.
    """
    small = TreeSpec(sizes.small_count, sizes.small_size, sizes.files_per_dir, SEED)
    child = TreeSpec(
        sizes.small_count, sizes.small_size, sizes.files_per_dir, SEED, sizes.changed_count
    )
    many = TreeSpec(sizes.many_count, sizes.many_size, 1_000, SEED + 2)
    large = TreeSpec(sizes.large_count, sizes.large_size, 1_000, SEED + 3)
    huge = TreeSpec(sizes.huge_count, sizes.small_size, sizes.files_per_dir, SEED + 4)
    mixed = TreeSpec(
        sizes.mixed_count, sizes.mixed_min, sizes.files_per_dir, SEED + 5, max_size=sizes.mixed_max
    )
    childmix = TreeSpec(
        sizes.childmix_count,
        sizes.childmix_min,
        sizes.files_per_dir,
        SEED + 6,
        sizes.childmix_changed,
        max_size=sizes.childmix_max,
    )
    wanted: list[tuple[str, TreeSpec, Callable[[Path, TreeSpec], None]]] = [
        ("small", small, _write_small),
        ("child", child, _write_small),
        ("many", many, _write_small),
        ("large", large, _write_large),
        ("huge", huge, _write_small),
        ("mixed", mixed, _write_mixed),
        ("childmix", childmix, _write_mixed),
    ]
    for name, spec, write in wanted:
        if trees is None or name in trees:
            _ensure(root / name, spec, log, write)
    return Data(
        small=root / "small",
        child=root / "child",
        changed=tuple(child.relpath(i) for i in changed_indices(child)),
        large=root / "large",
        many=root / "many",
        huge=root / "huge",
        mixed=root / "mixed",
        childmix=root / "childmix",
        childmix_changed=tuple(childmix.relpath(i) for i in changed_indices(childmix)),
        root=root,
    )


def ensure_parts(
    folder: Path, parts: int, spec: TreeSpec, log: Callable[[str], None]
) -> list[Path]:
    """Generate (or reuse) ``folder/p0`` ... ``p<parts-1>``: each a tree of ``spec`` seeded
    with ``spec.seed + k`` (no two parts share content). Only the scenarios that need such
    trees make them (the many-writers ones), with one stamp for all the parts beside
    ``folder``, so ``folder`` holds the parts' files only."""
    paths = [folder / f"p{k}" for k in range(parts)]
    stamp = folder.with_name(folder.name + ".spec.json")
    fields = {"generator": _GENERATOR_VERSION, "parts": parts, **asdict(spec)}
    wanted = json.dumps(fields, sort_keys=True)
    if folder.is_dir() and stamp.is_file() and stamp.read_text() == wanted:
        return paths
    log(f"generating {folder.name}: {parts} x {spec.count:,} files x {spec.size:,} B")
    stamp.unlink(missing_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    for k, path in enumerate(paths):
        _write_small(path, replace(spec, seed=spec.seed + k))
    stamp.write_text(wanted)
    return paths


def _rng(seed: int) -> random.Random:
    # Reproducible test data, not secrets: a seeded PRNG is the point.
    return random.Random(seed)  # noqa: S311


def changed_indices(spec: TreeSpec) -> list[int]:
    """The indices of the files a child tree changes (seeded, sorted)."""
    rng = _rng(spec.seed + 1)
    return sorted(rng.sample(range(spec.count), spec.changed))


def _ensure(
    folder: Path,
    spec: TreeSpec,
    log: Callable[[str], None],
    write: Callable[[Path, TreeSpec], None],
) -> None:
    stamp = folder.with_name(folder.name + ".spec.json")
    fields = asdict(spec)
    if not spec.max_size:
        del fields["max_size"]  # the stamps of trees generated before mixed trees existed
    wanted = json.dumps({"generator": _GENERATOR_VERSION, **fields}, sort_keys=True)
    if folder.is_dir() and stamp.is_file() and stamp.read_text() == wanted:
        return
    log(f"generating {folder.name}: {spec.count:,} files x {spec.size:,} B")
    stamp.unlink(missing_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    write(folder, spec)
    stamp.write_text(wanted)


def ensure_tree(folder: Path, spec: TreeSpec, log: Callable[[str], None]) -> None:
    """Generate (or reuse) ``folder``: the uniform tree of ``spec`` (its changes applied)."""
    _ensure(folder, spec, log, _write_small)


def ensure_changes(folder: Path, spec: TreeSpec, log: Callable[[str], None]) -> None:
    """Generate (or reuse) ``folder``: only the ``spec.changed`` files of its child tree,
    at their paths and with the child's bytes (added over the parent, they make the child
    without a second copy of the whole tree)."""
    _ensure(folder, spec, log, _write_changes)


def _write_small(folder: Path, spec: TreeSpec) -> None:
    rng = _rng(spec.seed)
    for index in range(spec.count):
        _write(folder / spec.relpath(index), rng.randbytes(spec.size))
    _write_changes(folder, spec)


def _write_changes(folder: Path, spec: TreeSpec) -> None:
    change_rng = _rng(spec.seed + 2)
    for index in changed_indices(spec) if spec.changed else []:
        _write(folder / spec.relpath(index), change_rng.randbytes(spec.size))


def _write_large(folder: Path, spec: TreeSpec) -> None:
    rng = _rng(spec.seed)
    for index in range(spec.count):
        path = folder / f"large-{index:02d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for start in range(0, spec.size, MIB):
                handle.write(rng.randbytes(min(MIB, spec.size - start)))


def _write_mixed(folder: Path, spec: TreeSpec) -> None:
    rng = _rng(spec.seed)
    for index, size in enumerate(spec.sizes()):
        path = folder / spec.relpath(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for start in range(0, size, MIB):
                handle.write(rng.randbytes(min(MIB, size - start)))


def _write(path: Path, data: bytes) -> None:
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
    path.write_bytes(data)
