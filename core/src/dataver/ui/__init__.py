"""The Dataset Versions web page: a read-only FastAPI app over any registry.

Install with ``pip install "dataver[ui]"`` and run ``dataver ui --registry URL``, or mount
:func:`create_app` in another ASGI app (the Airflow provider does). Nothing here writes to
the registry: every route is a GET.
"""

from dataver.ui.app import create_app

__all__ = ["create_app"]
