"""Operators of the dataver provider."""

from __future__ import annotations

from dataver_airflow.operators.dataver import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverFinalizeOperator,
    DataverGetOperator,
    DataverPublishOperator,
    DataverRemoveFilesOperator,
    DataverSyncFolderOperator,
    DataverVersionOperator,
)

__all__ = [
    "DataverAddFilesOperator",
    "DataverCreateOperator",
    "DataverFinalizeOperator",
    "DataverGetOperator",
    "DataverPublishOperator",
    "DataverRemoveFilesOperator",
    "DataverSyncFolderOperator",
    "DataverVersionOperator",
]
