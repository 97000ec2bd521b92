"""The reference pages stay complete: every setting and environment variable is documented."""

from __future__ import annotations

import re
from pathlib import Path

import dataver

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = CONFIGURATION.read_text()
    for name in dataver.Settings.model_fields:
        assert f"`DATAVER_{name.upper()}`" in text, f"DATAVER_{name.upper()} is not documented"


def test_every_variable_the_code_reads_is_documented() -> None:
    text = CONFIGURATION.read_text()
    source = "\n".join(p.read_text() for p in (ROOT / "core" / "src").rglob("*.py"))
    used = set(re.findall(r"\bDATAVER_[A-Z][A-Z_]*[A-Z]\b", source))
    assert used, "no DATAVER_ variable found: the pattern is wrong"
    missing = sorted(v for v in used if f"`{v}`" not in text)
    assert not missing, f"undocumented in docs/configuration.md: {missing}"
