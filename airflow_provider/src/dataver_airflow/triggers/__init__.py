"""Triggers of the dataver provider."""

from __future__ import annotations

from dataver_airflow.triggers.dataver import DataverStateTrigger

__all__ = ["DataverStateTrigger"]
