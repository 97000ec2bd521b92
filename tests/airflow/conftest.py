"""Airflow suite: runs in .venv/airflow; skipped wherever apache-airflow is not installed."""

import pytest

pytest.importorskip("airflow")
