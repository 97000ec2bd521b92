"""Shared pytest configuration for every suite (core, airflow, prefect, ui, e2e)."""
