"""Hooks of the dataver provider."""

from __future__ import annotations

from dataver_airflow.hooks.dataver import DataverHook

__all__ = ["DataverHook"]
