"""The ``dataver`` console script: start the command line; a Ctrl-C while it starts ends it
quietly (exit code 130, one line), not with Python's traceback.

NOTE: a module outside the ``dataver`` package on purpose. Importing ``dataver.cli`` imports
the package first (half a second of pydantic, fsspec, typer...), and an interrupt in that
time surfaced as a raw ``KeyboardInterrupt`` traceback: no code of dataver's was running
yet to catch it. Importing this module imports nothing, so the handler below is in place
before the first import of dataver. ``python -m dataver.cli`` runs the same program.
"""

import sys


def main() -> int:
    """Run ``dataver``; return its exit code."""
    try:
        from dataver.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted while starting: nothing was done\n")
        sys.stderr.flush()
        return 130
    return run()


if __name__ == "__main__":
    raise SystemExit(main())
