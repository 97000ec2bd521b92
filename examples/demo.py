"""dataver demo: a parent and a child version on a temporary local registry.

Run with ``make demo``. It generates a small image-like dataset, versions it, changes a few
files (add, modify, remove, rename), versions the change as a child, and prints what each
version stored and what the child's diff is.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import dataver


def human(size: int) -> str:
    """Bytes in a short human unit."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def generate(folder: Path, rng: random.Random) -> None:
    """Write 500 small 'images', 20 label files and one 8 MiB 'archive'."""
    for i in range(500):
        path = folder / "images" / f"{i % 10:02d}" / f"img_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(2_000, 12_000)))
    for i in range(20):
        labels = folder / "labels" / f"part_{i:02d}.csv"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("id,label\n" + "".join(f"{j},{rng.randint(0, 9)}\n" for j in range(200)))
    (folder / "archive.bin").write_bytes(rng.randbytes(8 << 20))


def change(folder: Path, rng: random.Random) -> None:
    """Add 25 images, modify one label file, remove 5 images, rename the archive."""
    for i in range(500, 525):
        path = folder / "images" / "new" / f"img_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(8_000))
    (folder / "labels" / "part_00.csv").write_text("id,label\n0,1\n")
    for i in range(5):
        (folder / "images" / "00" / f"img_{i * 10:05d}.jpg").unlink()
    (folder / "archive.bin").rename(folder / "archive-v1.bin")


def report(title: str, ds: dataver.Dataset, seconds: float) -> None:
    """Print one version's state and what it stored."""
    s = ds.stats
    print(f"\n{title}: {ds.project}/{ds.name} {ds.version}  [{ds.state.value}]  id={ds.id}")
    print(f"  files          {s.files:>8}   logical size {human(s.logical_bytes):>10}")
    print(f"  stored now     {human(s.stored_bytes):>8}   ({seconds:.2f} s)")
    print(
        f"  vs parents     +{s.added} added, ~{s.modified} modified, -{s.removed} removed, "
        f"{s.renamed} renamed"
    )


def main() -> int:
    """Run the demo; return the process exit code."""
    rng = random.Random(42)  # noqa: S311 - reproducible demo data, not security
    with tempfile.TemporaryDirectory(prefix="dataver-demo-") as work:
        root = Path(work)
        os.environ.setdefault("DATAVER_CACHE_DIR", str(root / "cache"))
        data = root / "data"
        generate(data, rng)
        registry = dataver.Registry(root / "registry")
        print(f"registry: {registry.url}")

        start = time.perf_counter()
        parent = registry.create("images", project="demo", description="first drop")
        parent.add_files(data)
        parent.finalize(auto_upload=True)
        report("parent", parent, time.perf_counter() - start)

        change(data, rng)
        start = time.perf_counter()
        child = registry.create("images", project="demo", parents=[parent])
        removed, added, modified = child.sync_folder(data)
        child.finalize(auto_upload=True)
        report("child ", child, time.perf_counter() - start)
        print(f"  sync_folder    removed={removed} added={added} modified={modified}")

        diff = child.diff()
        print("\nchild diff against its parent:")
        print(f"  added    {len(diff.added):>3}  e.g. {list(diff.added[:2])}")
        print(f"  modified {len(diff.modified):>3}  {list(diff.modified)}")
        print(f"  removed  {len(diff.removed):>3}  e.g. {list(diff.removed[:2])}")
        print(f"  renamed  {len(diff.renamed):>3}  {[f'{a} -> {b}' for a, b in diff.renamed]}")

        copy = child.get_local_copy()
        files = sum(1 for p in copy.rglob("*") if p.is_file())
        print(f"\nlocal copy of the child: {copy} ({files} files, read-only)")
        print(f"lineage: {child.lineage()}")
        print(f"verify:  {child.verify() or 'all bytes match'}")
        print(f"latest:  {registry.get(name='images', project='demo')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
