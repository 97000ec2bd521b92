"""Sensors of the dataver provider."""

from __future__ import annotations

from dataver_airflow.sensors.dataver import DataverStateSensor

__all__ = ["DataverStateSensor"]
