"""Sizes of the generated data, and where the benchmark keeps its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KIB = 1 << 10
MIB = 1 << 20

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = REPO_ROOT / "benchmarks" / ".work"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
SEED = 20_240_601


@dataclass(frozen=True)
class Sizes:
    """How much data each scenario uses."""

    label: str
    small_count: int
    small_size: int
    large_count: int
    large_size: int
    changed_fraction: float
    many_count: int
    many_size: int
    files_per_dir: int = 100

    @property
    def changed_count(self) -> int:
        return max(1, round(self.small_count * self.changed_fraction))

    def describe(self) -> list[str]:
        return [
            f"small: {self.small_count:,} files x {_human(self.small_size)}",
            f"large: {self.large_count} files x {_human(self.large_size)}",
            f"child: {self.changed_count:,} of the small files changed "
            f"({self.changed_fraction:.0%})",
            f"many (no-change sync): {self.many_count:,} files x {_human(self.many_size)}",
        ]


FULL = Sizes(
    label="full",
    small_count=10_000,
    small_size=4 * KIB,
    large_count=4,
    large_size=256 * MIB,
    changed_fraction=0.01,
    many_count=100_000,
    many_size=1 * KIB,
)

# Large files stay above dataver's 1 MiB pack threshold so the single-object path runs too.
QUICK = Sizes(
    label="quick",
    small_count=500,
    small_size=4 * KIB,
    large_count=2,
    large_size=4 * MIB,
    changed_fraction=0.01,
    many_count=2_000,
    many_size=1 * KIB,
)


def _human(size: int) -> str:
    if size >= MIB:
        return f"{size // MIB} MiB"
    return f"{size // KIB} KiB"
