"""``python -m dataver.cli``: the same as the ``dataver`` console script."""

from dataver.cli.app import main

raise SystemExit(main())
