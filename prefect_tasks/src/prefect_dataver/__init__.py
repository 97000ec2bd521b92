"""Prefect integration for dataver: dataset versions as native Prefect tasks and blocks."""

__version__ = "0.1.0"
