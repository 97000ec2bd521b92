"""The ``dataver-clearml-data`` console script: ClearML Data's ``clearml-data`` on dataver; a
Ctrl-C while it starts ends it quietly (exit code 130, one line), not with Python's traceback.

NOTE: a module outside the ``dataver`` package on purpose, as ``_dataver_cli`` is: importing
``dataver.clearml.cli`` imports dataver first (half a second), and an interrupt in that time
would surface as a raw ``KeyboardInterrupt`` traceback. Importing this module imports nothing,
so the handler below is in place before the first import of dataver. The script is never named
``clearml-data``, so it cannot shadow ClearML's own; users link it under that name.
``python -m dataver.clearml`` runs the same program.
"""

import sys


def main() -> int:
    """Run ``clearml-data`` on dataver; return its exit code."""
    try:
        from dataver.clearml.cli import main as run
    except KeyboardInterrupt:
        # NOTE: the line the program prints for a Ctrl-C once it runs, so a user sees one
        # message whenever the interrupt comes.
        sys.stdout.write("\nUser aborted\n")
        sys.stdout.flush()
        return 130
    return run()


if __name__ == "__main__":
    raise SystemExit(main())
