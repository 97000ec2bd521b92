"""The optional C loops of ``dataver_native`` (the package in ``native/``), when installed.

Each is the twin of a Python loop that stays the reference and the fallback; tests/native
checks every pair on the same inputs.
"""

from __future__ import annotations

import importlib
from typing import Any


def function(name: str) -> Any:
    """``dataver_native.<name>``, or None when the extension (or that function) is missing.

    Example:
        >>> function("no_such_loop") is None
        True
    """
    try:
        module = importlib.import_module("dataver_native")
    except ImportError:
        return None
    return getattr(module, name, None)
