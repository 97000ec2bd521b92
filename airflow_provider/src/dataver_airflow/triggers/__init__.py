"""Triggers of the dataver provider."""

from __future__ import annotations

from dataver_airflow.triggers.dataver import DataverPublishedTrigger, DataverStateTrigger

__all__ = ["DataverPublishedTrigger", "DataverStateTrigger"]
