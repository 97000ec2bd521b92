"""Artifacts of a version: a markdown card, its files, its diff and a link to its page.

Keys are per dataset (``dataver-<project>-<name>``, plus ``-files``, ``-diff``, ``-link``), so
the Artifacts page of Prefect shows each dataset's history of versions.

Prefect's UI renders the card and the descriptions as markdown (GitHub's flavour, where
``blockds@1.0.1`` in text becomes a ``mailto:`` link), and shows the text of a link in a
table cell verbatim (a code span inside it shows its backticks). So names and URIs in text
are escaped (:func:`markdown_text`), URIs elsewhere are code spans, and link texts hold no
markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

if TYPE_CHECKING:
    import dataver

MAX_ROWS = 1000
"""Tables list at most this many files or changes (the card gives the totals)."""

_NOT_KEY = re.compile(r"[^a-z0-9]+")
# NOTE: what starts markup inside a line (emphasis, code, links, HTML, tables, entities) and
# "@" (GitHub's e-mail autolinks); CommonMark lets a backslash escape any of them.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~@&])")


def markdown_text(text: str) -> str:
    """``text`` escaped for markdown: shown as is, never a link or emphasis.

    Example:
        >>> markdown_text("dataver://vision/blockds@1.0.1")
        'dataver://vision/blockds\\@1.0.1'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class ArtifactKeys:
    """The artifact keys of one dataset."""

    card: str
    files: str
    diff: str
    link: str


def artifact_keys(project: str, name: str) -> ArtifactKeys:
    """The artifact keys of dataset ``project/name`` (lowercase letters, digits and dashes).

    Args:
        project: Dataset project.
        name: Dataset name.

    Returns:
        The keys.

    Example:
        >>> artifact_keys("Vision", "train_images").files
        'dataver-vision-train-images-files'
    """
    base = _NOT_KEY.sub("-", f"dataver-{project}-{name}".lower()).strip("-")
    return ArtifactKeys(base, f"{base}-files", f"{base}-diff", f"{base}-link")


def publish_artifacts(ds: dataver.Dataset, page: str) -> ArtifactKeys:
    """Create the four artifacts of a version in the current run.

    Args:
        ds: The version.
        page: The URL of the version's web page.

    Returns:
        The keys used.
    """
    keys = artifact_keys(ds.project, ds.name)
    # NOTE: _sync=True: the async twins call this from a worker thread of an async task run,
    # where Prefect's dispatch would otherwise return an un-awaited coroutine.
    create_markdown_artifact(
        markdown=version_card(ds, page),
        key=keys.card,
        description=f"Version card of {markdown_text(ds.uri)} ({ds.state.value})",
        _sync=True,  # type: ignore[call-arg]
    )
    create_table_artifact(
        table=file_rows(ds),
        key=keys.files,
        description=f"Files of {markdown_text(ds.uri)}",
        _sync=True,  # type: ignore[call-arg]
    )
    create_table_artifact(
        table=diff_rows(ds),
        key=keys.diff,
        description=f"Changes of {markdown_text(ds.uri)} against its parents",
        _sync=True,  # type: ignore[call-arg]
    )
    create_link_artifact(
        link=page,
        # NOTE: shown verbatim inside the link: no markup, and no "@" to be taken for an e-mail.
        link_text=f"{ds.project}/{ds.name} {ds.version}",
        key=keys.link,
        description=f"Web page of {markdown_text(ds.uri)}",
        _sync=True,  # type: ignore[call-arg]
    )
    return keys


def version_card(ds: dataver.Dataset, page: str) -> str:
    """The markdown card: identity, state, parents and stats of a version.

    Text from names, tags and URIs is escaped (:func:`markdown_text`); the version id is the
    plain text of the link to the version's page (Prefect shows a link's text verbatim).
    """
    stats = ds.stats
    parents = ", ".join(f"`{p}`" for p in ds.parents) or "none"
    lines = [
        f"# {markdown_text(f'{ds.project}/{ds.name} {ds.version}')}",
        "",
        "| | |",
        "|---|---|",
        f"| version id | [{ds.id}]({page}) |",
        f"| uri | `{ds.uri}` |",
        f"| state | **{ds.state.value}** |",
        f"| parents | {parents} |",
        f"| files | {stats.files} |",
        f"| logical bytes | {stats.logical_bytes} |",
        f"| stored bytes | {stats.stored_bytes} |",
        f"| added / modified / removed / renamed | {stats.added} / {stats.modified} / "
        f"{stats.removed} / {stats.renamed} |",
    ]
    if ds.tags:
        lines.append(f"| tags | {markdown_text(', '.join(ds.tags))} |")
    return "\n".join(lines) + "\n"


def file_rows(ds: dataver.Dataset) -> list[dict[str, object]]:
    """Rows ``{path, size}`` of the version's first :data:`MAX_ROWS` files."""
    rows: list[dict[str, object]] = []
    for entry in ds.entries():
        if len(rows) == MAX_ROWS:
            break
        rows.append({"path": entry.path, "size": entry.size})
    return rows


def diff_rows(ds: dataver.Dataset) -> list[dict[str, object]]:
    """Rows ``{change, path, previous_path}`` of what changed against the merged parents."""
    diff = ds.diff()
    rows: list[dict[str, object]] = []
    for change, paths in (
        ("added", diff.added),
        ("modified", diff.modified),
        ("removed", diff.removed),
    ):
        rows.extend({"change": change, "path": p, "previous_path": ""} for p in paths)
    rows.extend(
        {"change": "renamed", "path": new, "previous_path": old} for old, new in diff.renamed
    )
    return rows[:MAX_ROWS]
