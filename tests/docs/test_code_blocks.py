"""Every ```python block in the README and docs/ runs, so none can rot.

Blocks of one file run in order in one namespace (later blocks may use earlier names), in a
temporary working directory with a private cache.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize("doc", [d for d in DOCS if _blocks(d)], ids=lambda d: d.name)
def test_python_blocks_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATAVER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DATAVER_REGISTRY", str(tmp_path / "registry"))
    namespace: dict[str, object] = {"__name__": "__doc__"}
    for number, block in enumerate(_blocks(doc), 1):
        code = compile(block, f"{doc.name}[block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:20])
    assert "make demo" in first_screen
    assert "make test" in first_screen
