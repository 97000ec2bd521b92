"""The ``dataver`` command line: ClearML-style verbs on dataver's core.

Run ``dataver --help``; every command is documented in ``docs/cli.md`` (generated from these
definitions by ``python -m dataver.cli.docs``).
"""

from dataver.cli.app import build_cli, main

__all__ = ["build_cli", "main"]
