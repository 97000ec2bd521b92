"""The targets of issues 2 ("Speed"), 3 (local cache), 4 (S3), 10 (at scale), 21 (many
writers) and 22 (content-defined chunks), and the markdown report.

The report has one table per scenario, then one table of targets per issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from benchmarks.timing import Row, ScenarioResult

Comparison = Literal["at_least", "at_most", "under"]


ISSUES = {
    2: "Speed",
    3: "local cache",
    4: "S3",
    10: "side by side, at scale",
    21: "many writers, one version",
    22: "content-defined chunks",
}


@dataclass(frozen=True)
class Target:
    """A goal on the ratio of two rows' medians, or on one row's median in seconds.

    With ``rate``, the goal is on files per second instead: the numerator row's file count
    (``Row.files``) divided by its median (``denominator`` is None then). With ``rss``, the
    goal is on the numerator row's peak RSS in MiB (the largest of its runs, for both values).

    With ``floor`` (and no denominator), the goal is on a cost per file over a floor, in
    milliseconds: ``(numerator - floor) / numerator files``. For the 1% child: its time is
    the scan floor of the folder plus at most that much for each changed file (issue 19).

    With ``amount`` (rows of a unit other than seconds, e.g. stored MiB), the goal is on the
    numerator row's median in that unit, or on the ratio of two such rows' medians.
    """

    title: str
    scenario: str
    numerator: str
    denominator: str | None
    comparison: Comparison
    goal: float
    formula: str  # how the measured value is computed, for the reader
    rate: bool = False
    issue: int = 2  # the issue the target comes from, a key of ISSUES
    rss: bool = False
    floor: str | None = None  # a row both times are taken over (see above)
    amount: str | None = None  # the unit of the rows when they are not seconds (see above)

    def evaluate(self, results: dict[str, ScenarioResult]) -> tuple[float | None, str]:
        """Return (value from the medians or None, "PASS" / "FAIL" / why not measured)."""
        rows = self._rows(results)
        if isinstance(rows, str):
            return None, rows
        value = self._value(*rows, lambda row: row.median)
        return value, "PASS" if self._met(value) else "FAIL"

    def from_minimums(self, results: dict[str, ScenarioResult]) -> float | None:
        """The same value computed from each row's fastest run (a check on noisy medians)."""
        rows = self._rows(results)
        if isinstance(rows, str):
            return None
        return self._value(*rows, lambda row: row.minimum)

    def _value(
        self, top: Row, bottom: Row | None, floor: Row | None, seconds: Callable[[Row], float]
    ) -> float:
        if self.rss:
            return top.peak_rss_mib or 0.0
        if self.rate:
            return (top.files or 0) / seconds(top)
        if floor is not None:
            return (seconds(top) - seconds(floor)) / (top.files or 1) * 1e3
        return seconds(top) / seconds(bottom) if bottom is not None else seconds(top)

    def _rows(self, results: dict[str, ScenarioResult]) -> tuple[Row, Row | None, Row | None] | str:
        scenario = results.get(self.scenario)
        if scenario is None:
            return "not run"
        top = scenario.rows.get(self.numerator)
        bottom = scenario.rows.get(self.denominator) if self.denominator else None
        floor = scenario.rows.get(self.floor) if self.floor else None
        if (
            top is None
            or (self.denominator is not None and bottom is None)
            or (self.floor is not None and floor is None)
        ):
            return "not measured"
        if (self.rate or self.floor) and top.files is None:
            return "no file count"
        if self.rss and top.peak_rss_mib is None:
            return "no peak RSS"
        return top, bottom, floor

    def _met(self, value: float) -> bool:
        if self.comparison == "at_least":
            return value >= self.goal
        if self.comparison == "at_most":
            return value <= self.goal
        return value < self.goal

    @property
    def unit(self) -> str:
        if self.amount is not None:
            return f" {self.amount}" if self.denominator is None else "x"
        if self.rss:
            return " MiB"
        if self.rate:
            return " files/s"
        if self.floor is not None and self.denominator is None:
            return " ms"
        return " s" if self.denominator is None else "x"

    def goal_text(self) -> str:
        sign = {"at_least": ">=", "at_most": "<=", "under": "<"}[self.comparison]
        return f"{sign} {self.goal:,g}{self.unit}"


TARGETS = (
    Target(
        "Small files: dataver at least 5x faster than DVC",
        "small",
        "dvc",
        "dataver_wall",
        "at_least",
        5,
        "DVC add+push / dataver whole process",
    ),
    Target(
        "Large files: dataver within 2x of cp -r",
        "large",
        "dataver",
        "cp",
        "at_most",
        2,
        "dataver / cp -r",
    ),
    # NOTE: issue 19 restated the 1% child's target (it was "at most 10% of the full
    # version's time", met at 0.083x with three per-file loops in C): the C keeps only the
    # scan, the ratio may reach 12%, and the child must cost the scan floor of its folder
    # plus a bounded cost per changed file, for 4 KiB files and for a realistic mix of sizes.
    Target(
        "1% child of 4 KiB files (edited in place) in at most 12% of the full version's time",
        "child",
        "inplace",
        "full",
        "at_most",
        0.12,
        "child / full version",
    ),
    Target(
        "1% child of 4 KiB files: its scan floor + at most 1 ms per changed file",
        "child",
        "inplace",
        None,
        "at_most",
        1.0,
        "(child - scan floor) / changed files, ms",
        floor="stat",
    ),
    Target(
        "1% child of mixed sizes (edited in place) in at most 12% of the full version's time",
        "childmix",
        "inplace",
        "full",
        "at_most",
        0.12,
        "child / full version",
    ),
    Target(
        "1% child of mixed sizes: its scan floor + at most 1 ms per changed file",
        "childmix",
        "inplace",
        None,
        "at_most",
        1.0,
        "(child - scan floor) / changed files, ms",
        floor="stat",
    ),
    Target(
        "No-change sync_folder of 100,000 files in under 1 s",
        "sync",
        "warm",
        None,
        "under",
        1.0,
        "second sync, seconds",
    ),
    Target(
        "Cold get_local_copy, small files, within 2x of cp -r",
        "get",
        "cold_small",
        "cp_small",
        "at_most",
        2,
        "cold get / cp -r",
    ),
    Target(
        "Cold get_local_copy, large files, within 2x of cp -r",
        "get",
        "cold_large",
        "cp_large",
        "at_most",
        2,
        "cold get / cp -r",
    ),
    Target(
        "Tree from cached blobs at >= 20,000 files/s",
        "get",
        "rebuilt_small",
        None,
        "at_least",
        20_000,
        "small files / rebuild seconds",
        rate=True,
        issue=3,
    ),
    Target(
        "Warm get of 10,000 files: marker check only, well under 50 ms",
        "get",
        "warm_small",
        None,
        "under",
        0.05,
        "warm get, small, seconds",
        issue=3,
    ),
    Target(
        "S3 small files: dataver >= 20x faster than one PUT per file with 8 threads",
        "s3",
        "put_each",
        "dataver",
        "at_least",
        20,
        "PUT per file / dataver",
        issue=4,
    ),
    Target(
        "S3 small files: >= 10x faster than DVC push",
        "s3",
        "dvc_push",
        "dataver_wall",
        "at_least",
        10,
        "dvc push / dataver whole process",
        issue=4,
    ),
    Target(
        "S3 large upload within 1.5x of boto3 upload_file",
        "s3",
        "dataver_large",
        "upload_file",
        "at_most",
        1.5,
        "dataver / upload_file",
        issue=4,
    ),
    Target(
        "S3 large download within 1.5x of boto3 download_file",
        "s3",
        "get_large",
        "download_file",
        "at_most",
        1.5,
        "cold get / download_file",
        issue=4,
    ),
    Target(
        "Small files (10,000): >= 5x faster than DVC locally",
        "small",
        "dvc",
        "dataver_wall",
        "at_least",
        5,
        "DVC add+push / dataver whole process",
        issue=10,
    ),
    Target(
        "Small files (100,000): >= 5x faster than DVC locally",
        "small100k",
        "dvc",
        "dataver_wall",
        "at_least",
        5,
        "DVC add+push / dataver whole process",
        issue=10,
    ),
    Target(
        "Small files on S3: >= 10x faster than DVC push",
        "s3",
        "dvc_push",
        "dataver_wall",
        "at_least",
        10,
        "dvc push / dataver whole process",
        issue=10,
    ),
    Target(
        "Large files: within 2x of cp -r locally",
        "large",
        "dataver",
        "cp",
        "at_most",
        2,
        "dataver / cp -r",
        issue=10,
    ),
    Target(
        "Large files on S3: upload within 1.5x of boto3 upload_file",
        "s3",
        "dataver_large",
        "upload_file",
        "at_most",
        1.5,
        "dataver / upload_file",
        issue=10,
    ),
    Target(
        "Warm get O(1): 100,000 files no slower than 2x 10,000 files",
        "small100k",
        "warm_huge",
        "warm_small",
        "at_most",
        2,
        "warm get 100k / warm get 10k",
        issue=10,
    ),
    Target(
        "1M-entry manifest loads in under 3 s",
        "manifest",
        "load",
        None,
        "under",
        3.0,
        "load, seconds",
        issue=10,
    ),
    Target(
        "1M-entry manifest loads with under 1 GiB peak RSS",
        "manifest",
        "load",
        None,
        "under",
        1024,
        "peak RSS of the load process",
        issue=10,
        rss=True,
    ),
    # NOTE: both rows of a many-writers scenario hold the same files, so the ratio of the
    # times is the ratio of the aggregate throughputs (files/s, shown in the notes).
    Target(
        "S3 with 20 ms per request: 8 writers at >= 5x the throughput of 1 writer",
        "writers-s3",
        "one",
        "many",
        "at_least",
        5,
        "1 writer / 8 writers (same files), from the go to the last commit",
        issue=21,
    ),
    Target(
        "Local registry: 2 writers at >= 1.6x the throughput of 1 writer",
        "writers-local",
        "one",
        "many",
        "at_least",
        1.6,
        "1 writer / 2 writers (same files), from the go to the last commit",
        issue=21,
    ),
    Target(
        "Finalize of 1,000,000 files from 16 writers in under 10 s",
        "finalize-1m",
        "finalize",
        None,
        "under",
        10.0,
        "finalize, seconds",
        issue=21,
    ),
    Target(
        "Finalize of 1,000,000 files from 16 writers with under 1 GiB peak RSS",
        "finalize-1m",
        "finalize",
        None,
        "under",
        1024,
        "peak RSS of the finalize process",
        issue=21,
        rss=True,
    ),
    *(
        Target(
            f"Chunks ({case}): the child of {what} stores <= {goal:g} MiB",
            "chunks",
            f"{case}_dataver",
            None,
            "at_most",
            goal,
            "stats.stored_bytes of the child, MiB",
            issue=22,
            amount="MiB",
        )
        for case, what, goal in (
            ("a", "a random file with 1 MiB overwritten in the middle", 4),
            ("b", "a CSV file with 10 MiB of rows appended", 12),
            ("c", "a random file with 1 MiB inserted at the start", 4),
        )
    ),
    Target(
        "Daily versions: total stored within 1.2x of borg or restic (no compression), the "
        "better of the two",
        "daily",
        "dataver",
        "dedup_best",
        "at_most",
        1.2,
        "dataver total / min(borg, restic) total",
        issue=22,
        amount="MiB",
    ),
    Target(
        "Daily versions: total stored <= 0.2x of DVC's",
        "daily",
        "dataver",
        "dvc",
        "at_most",
        0.2,
        "dataver total / DVC cache total",
        issue=22,
        amount="MiB",
    ),
    Target(
        "Ingest of 4 large files with chunking within 1.3x of without",
        "chunk-ingest",
        "ingest_on",
        "ingest_off",
        "at_most",
        1.3,
        "chunked / whole-file objects",
        issue=22,
    ),
    Target(
        "Cold get_local_copy of them with chunking within 1.2x of without",
        "chunk-ingest",
        "get_on",
        "get_off",
        "at_most",
        1.2,
        "chunked / whole-file objects",
        issue=22,
    ),
    Target(
        "Open-range: 1 MiB read at an offset reads <= 2 x max chunk (8 MiB) from the registry",
        "open-range",
        "read",
        None,
        "at_most",
        8,
        "bytes the store returned for open+seek+read, MiB",
        issue=22,
        amount="MiB",
    ),
    Target(
        "Open-range: the same against 2 x the average chunk (2 MiB)",
        "open-range",
        "read",
        None,
        "at_most",
        2,
        "bytes the store returned for open+seek+read, MiB",
        issue=22,
        amount="MiB",
    ),
)


def render(header: Sequence[str], results: dict[str, ScenarioResult], *, indicative: bool) -> str:
    """The whole report as markdown (also what is printed)."""
    parts = [*header, ""]
    for result in results.values():
        parts.extend(_scenario(result))
    parts.extend(_targets(results, indicative=indicative))
    return "\n".join(parts) + "\n"


def _scenario(result: ScenarioResult) -> list[str]:
    reference = result.rows.get(result.reference) if result.reference else None
    columns = ["Measurement", "median s", "min s", "max s", "peak RSS MiB", "runs"]
    lines = [f"## {result.title}", ""]
    if reference is not None:
        columns.append("x ref")
        lines += [f'x ref: median / median of "{reference.label.strip()}".', ""]
    timed = [row for row in result.rows.values() if row.unit == "s"]
    if timed or len(timed) == len(result.rows):
        lines += _table(columns)
    for row in timed:
        cells = [
            _indent(row.label),
            _seconds(row.median),
            _seconds(row.minimum),
            _seconds(row.maximum),
            _rss(row),
            str(len(row.samples)),
        ]
        if reference is not None:
            cells.append(f"{row.median / reference.median:.2f}")
        lines.append(_line(cells))
    lines.append("")
    lines.extend(_amounts(result))
    lines.extend(result.extra)
    lines.extend(f"- {note}" for note in result.notes)
    lines.append("")
    return lines


def _amounts(result: ScenarioResult) -> list[str]:
    """The table of a scenario's rows that are not seconds (stored MiB, objects, ...)."""
    rows = [row for row in result.rows.values() if row.unit != "s"]
    if not rows:
        return []
    lines = _table(["Measured (not seconds)", "median", "min", "max", "unit", "runs", "x vs"])
    for row in rows:
        versus = result.rows.get(row.versus) if row.versus else None
        ratio = ""
        if versus is not None and versus.samples and versus.median:
            ratio = f"{row.median / versus.median:.3f} ({versus.label.strip()})"
        cells = [
            _indent(row.label),
            _amount(row.median, row.unit),
            _amount(row.minimum, row.unit),
            _amount(row.maximum, row.unit),
            row.unit,
            str(len(row.samples)),
            ratio,
        ]
        lines.append(_line(cells))
    return [*lines, ""]


def _amount(value: float, unit: str) -> str:
    """Sizes (KiB, MiB, GiB) with two decimals; counts as whole numbers."""
    return f"{value:,.2f}" if unit.endswith("iB") else f"{value:,.0f}"


def _indent(label: str) -> str:
    """A label's leading two spaces (a sub-row, e.g. "  of which add_files") kept in markdown."""
    return "&nbsp;&nbsp;" + label[2:] if label.startswith("  ") else label


def _rss(row: Row) -> str:
    peak = row.peak_rss_mib
    return "" if peak is None else f"{peak:.0f}"


def _targets(results: dict[str, ScenarioResult], *, indicative: bool) -> list[str]:
    lines: list[str] = []
    for issue, topic in ISSUES.items():
        lines += [f"## Targets (issue {issue}, {topic})", ""]
        if indicative:
            lines += ["Quick sizes: the verdicts below are indicative only.", ""]
        lines += _target_table(results, [t for t in TARGETS if t.issue == issue])
        lines.append("")
    lines += [
        "The verdict uses the medians; '(fastest runs)' is the same value from each row's "
        "minimum, to show how much noise could move it.",
        "",
    ]
    return lines


def _target_table(results: dict[str, ScenarioResult], targets: Sequence[Target]) -> list[str]:
    lines = _table(["Target", "measured (medians)", "(fastest runs)", "as", "goal", "result"])
    for target in targets:
        value, verdict = target.evaluate(results)
        fastest = target.from_minimums(results)
        cells = [
            target.title,
            "" if value is None else _value(target, value),
            "" if fastest is None else _value(target, fastest),
            target.formula,
            target.goal_text(),
            verdict,
        ]
        lines.append(_line(cells))
    return lines


def _value(target: Target, value: float) -> str:
    if target.amount is not None and target.denominator is None:
        return f"{value:,.2f}{target.unit}"
    if target.rss:
        return f"{value:,.0f}{target.unit}"
    if target.rate:
        return f"{value:,.0f}{target.unit}"
    if target.unit == " ms":
        return f"{value:.2f} ms"
    return f"{_seconds(value)} s" if target.denominator is None else f"{value:.2f}x"


def _seconds(value: float) -> str:
    """Three decimals; five below 10 ms, where three would show a warm get as 0.000."""
    return f"{value:.3f}" if value >= 0.01 else f"{value:.5f}"


def verdicts(results: dict[str, ScenarioResult]) -> list[tuple[str, str]]:
    """(target title, verdict) for every target."""
    return [(t.title, t.evaluate(results)[1]) for t in TARGETS]


def _table(columns: Sequence[str]) -> list[str]:
    return [_line(columns), _line(["---"] * len(columns))]


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
