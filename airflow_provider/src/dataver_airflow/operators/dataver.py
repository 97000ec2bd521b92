"""The dataver operators under their first module path (DAGs written for it keep working).

They live by family in ``build`` (create, add, sync, remove), ``seal`` (finalize, publish),
``get`` and ``version``; import them from ``dataver_airflow.operators``.
"""

from __future__ import annotations

from dataver_airflow import operators
from dataver_airflow.operators import *  # noqa: F403
from dataver_airflow.operators._base import provenance, resume_key, summary

__all__ = [*operators.__all__, "provenance", "resume_key", "summary"]
