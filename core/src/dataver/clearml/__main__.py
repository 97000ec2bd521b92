"""``python -m dataver.clearml``: the same as the ``dataver-clearml-data`` console script."""

from dataver.clearml.cli import main

raise SystemExit(main())
