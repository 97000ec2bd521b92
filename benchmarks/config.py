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
class ChunkSizes:
    """The data of issue 22's scenarios (content-defined chunks of large files).

    ``threshold`` and ``chunk_size`` are what the dataver rows run with
    (``DATAVER_CHUNK_THRESHOLD`` / ``DATAVER_CHUNK_SIZE``); None keeps dataver's defaults
    (8 MiB, 1 MiB). Quick sizes lower both so that their small files are still chunked.
    """

    random_size: int  # case (a): a random file, ``edit`` bytes overwritten in its middle
    csv_size: int  # case (b): a CSV file, ``append`` bytes of rows appended
    insert_size: int  # case (c): a random file, ``edit`` bytes inserted at its start
    edit: int
    append: int
    open_size: int  # "open-range": the chunked file read at ``open_offset``
    open_offset: int
    open_length: int
    daily_days: int  # "daily": versions of a growing table and a folder of parts
    daily_table: int  # the table's first size (bytes of CSV)
    daily_parts: int  # big parts at first, each of ``daily_part`` bytes (one more a day)
    daily_part: int
    daily_small_parts: int  # small parts (one rewritten a day), each of ``daily_small`` bytes
    daily_small: int
    sweep: tuple[int, ...]  # the chunk sizes of "chunk-sizes"
    threshold: int | None = None
    chunk_size: int | None = None

    def describe(self) -> list[str]:
        chunking = (
            "dataver's defaults"
            if self.threshold is None
            else f"threshold {human(self.threshold)}, chunk size {human(self.chunk_size or 0)}"
        )
        return [
            f"chunks (issue 22, {chunking}): (a) {human(self.random_size)} random, "
            f"{human(self.edit)} overwritten in the middle; (b) {human(self.csv_size)} CSV, "
            f"{human(self.append)} of rows appended; (c) {human(self.insert_size)} random, "
            f"{human(self.edit)} inserted at the start",
            f"daily: {self.daily_days} versions of a {human(self.daily_table)} CSV table "
            f"(+2-5% rows a day, rows rewritten) and {self.daily_parts} x "
            f"{human(self.daily_part)} + {self.daily_small_parts} x "
            f"{human(self.daily_small)} part files",
            f"open-range: {human(self.open_length)} read at {human(self.open_offset)} of a "
            f"{human(self.open_size)} chunked file; chunk-sizes: "
            + ", ".join(human(size) for size in self.sweep),
        ]


@dataclass(frozen=True)
class RealSizes:
    """The caps of issue 24's real-data scenarios: data found or made on the machine.

    ``None`` caps nothing. ``site_packages``: the pinned requirements of each state of the
    upgraded virtual environment, installed in turn into the same environment, resolved as of
    ``exclude_newer`` (so the dependencies they pull in do not move with time).
    """

    stdlib_states: int | None  # the first N standard libraries, by version
    stdlib_files: int | None  # files per standard library (the first N, by path)
    site_packages: tuple[tuple[str, ...], ...]
    binary_bytes: int  # the /usr/lib subset stops before this many bytes
    binary_files: int | None
    binary_max_file: int | None  # larger files are left out
    exclude_newer: str = "2025-01-01T00:00:00Z"

    def describe(self) -> list[str]:
        stdlib = (
            "every one found" if self.stdlib_states is None else f"the first {self.stdlib_states}"
        )
        files = "" if self.stdlib_files is None else f", at most {self.stdlib_files:,} files each"
        binary = "" if self.binary_files is None else f" and {self.binary_files:,} files"
        if self.binary_max_file is not None:
            binary += f", none above {human(self.binary_max_file)}"
        states = " -> ".join(" ".join(spec) for spec in self.site_packages)
        return [
            f"real data (issue 24): standard libraries: {stdlib}{files}; site-packages: "
            f"{len(self.site_packages)} states ({states}); "
            f"binary: /usr/lib files with a NUL byte in their first 8 KiB, up to "
            f"{human(self.binary_bytes)}{binary}, then 1% of them edited",
        ]


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
    huge_count: int  # the "100,000 x 4 KiB" scenario (files of small_size)
    mixed_count: int
    mixed_min: int
    mixed_max: int
    manifest_entries: int  # the synthetic manifest of the "manifest" scenario
    childmix_count: int  # the "childmix" tree: a realistic mix of sizes, 1% of it changed
    childmix_min: int
    childmix_max: int
    writers_s3_files: int  # files of small_size per writer, "writers-s3" (times s3_writers)
    writers_local_files: int  # files of small_size per writer, "writers-local"
    finalize_files: int  # files of the "finalize-1m" version, over finalize_writers writers
    files_per_dir: int = 100
    s3_writers: int = 8
    local_writers: int = 2
    finalize_writers: int = 16
    s3_latency_ms: int = 20  # added to every request of "writers-s3" (benchmarks/latency.py)
    chunks: ChunkSizes | None = None  # issue 22's scenarios (benchmarks/chunked.py)
    real: RealSizes | None = None  # issue 24's real-data scenarios (benchmarks/realdata.py)

    @property
    def changed_count(self) -> int:
        return max(1, round(self.small_count * self.changed_fraction))

    def describe(self) -> list[str]:
        return [
            f"small: {self.small_count:,} files x {human(self.small_size)}",
            f"large: {self.large_count} files x {human(self.large_size)}",
            f"child: {self.changed_count:,} of the small files changed "
            f"({self.changed_fraction:.0%})",
            f"many (no-change sync): {self.many_count:,} files x {human(self.many_size)}",
            f"small at scale: {self.huge_count:,} files x {human(self.small_size)}",
            f"mixed: {self.mixed_count:,} files from {human(self.mixed_min)} to "
            f"{human(self.mixed_max)} (seeded, log-skewed)",
            f"manifest: {self.manifest_entries:,} synthetic entries",
            f"child of mixed sizes: {self.childmix_changed:,} of {self.childmix_count:,} files "
            f"from {human(self.childmix_min)} to {human(self.childmix_max)} changed "
            "(seeded, log-skewed)",
            f"many writers on S3: {self.s3_writers} x {self.writers_s3_files:,} files x "
            f"{human(self.small_size)} against 1 writer of the same "
            f"{self.s3_writers * self.writers_s3_files:,}, {self.s3_latency_ms} ms added per "
            "request",
            f"many writers locally: {self.local_writers} x {self.writers_local_files:,} files "
            f"x {human(self.small_size)} against 1 writer",
            f"finalize: {self.finalize_files:,} files from {self.finalize_writers} writers "
            "(synthetic contributions)",
            *(self.chunks.describe() if self.chunks is not None else []),
            *(self.real.describe() if self.real is not None else []),
        ]

    @property
    def childmix_changed(self) -> int:
        return max(1, round(self.childmix_count * self.changed_fraction))


FULL = Sizes(
    label="full",
    small_count=10_000,
    small_size=4 * KIB,
    large_count=4,
    large_size=256 * MIB,
    changed_fraction=0.01,
    many_count=100_000,
    many_size=1 * KIB,
    huge_count=100_000,
    mixed_count=1_000,
    mixed_min=1 * KIB,
    mixed_max=64 * MIB,
    manifest_entries=1_000_000,
    childmix_count=10_000,
    childmix_min=1 * KIB,
    childmix_max=1 * MIB,
    writers_s3_files=25_000,
    writers_local_files=50_000,
    finalize_files=1_000_000,
    chunks=ChunkSizes(
        random_size=512 * MIB,
        csv_size=1024 * MIB,
        insert_size=256 * MIB,
        edit=1 * MIB,
        append=10 * MIB,
        open_size=1024 * MIB,
        open_offset=600 * MIB,
        open_length=1 * MIB,
        daily_days=10,
        daily_table=256 * MIB,
        daily_parts=8,
        daily_part=8 * MIB,
        daily_small_parts=4,
        daily_small=1 * MIB,
        sweep=(256 * KIB, 512 * KIB, 1 * MIB, 2 * MIB, 4 * MIB),
    ),
    real=RealSizes(
        stdlib_states=None,
        stdlib_files=None,
        site_packages=(
            (
                "numpy==1.24.4",
                "pandas==2.0.3",
                "scipy==1.10.1",
                "sympy==1.11.1",
                "sqlalchemy==1.4.49",
                "requests==2.28.2",
            ),
            (
                "numpy==1.26.4",
                "pandas==2.1.4",
                "scipy==1.11.4",
                "sympy==1.12",
                "sqlalchemy==2.0.25",
                "requests==2.31.0",
            ),
            (
                "numpy==2.1.3",
                "pandas==2.2.3",
                "scipy==1.14.1",
                "sympy==1.13.3",
                "sqlalchemy==2.0.36",
                "requests==2.32.3",
            ),
        ),
        binary_bytes=1536 * MIB,
        binary_files=None,
        binary_max_file=None,
    ),
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
    huge_count=1_000,
    mixed_count=20,
    mixed_min=1 * KIB,
    mixed_max=4 * MIB,
    manifest_entries=20_000,
    childmix_count=500,
    childmix_min=1 * KIB,
    childmix_max=256 * KIB,
    writers_s3_files=250,
    writers_local_files=500,
    finalize_files=20_000,
    chunks=ChunkSizes(
        random_size=32 * MIB,
        csv_size=32 * MIB,
        insert_size=16 * MIB,
        edit=256 * KIB,
        append=512 * KIB,
        open_size=32 * MIB,
        open_offset=19 * MIB,
        open_length=256 * KIB,
        daily_days=4,
        daily_table=4 * MIB,
        daily_parts=3,
        daily_part=1 * MIB,
        daily_small_parts=2,
        daily_small=128 * KIB,
        sweep=(64 * KIB, 256 * KIB),
        threshold=2 * MIB,
        chunk_size=256 * KIB,
    ),
    real=RealSizes(
        stdlib_states=3,
        stdlib_files=600,
        site_packages=(
            ("requests==2.28.2", "urllib3==1.26.18", "idna==3.4", "certifi==2023.5.7"),
            ("requests==2.32.3", "urllib3==2.2.3", "idna==3.10", "certifi==2024.8.30"),
        ),
        binary_bytes=64 * MIB,
        binary_files=1_000,
        binary_max_file=256 * KIB,
    ),
)


def human(size: int) -> str:
    """A size in whole KiB or MiB, e.g. "4 KiB"."""
    if size >= MIB:
        return f"{size // MIB} MiB"
    return f"{size // KIB} KiB"
