"""Operators of the dataver provider, by family: ``build`` (create, split a folder into parts,
add files, sync a folder, remove files), ``seal`` (finalize, publish), ``get`` and ``version``
(a folder in one step)."""

from __future__ import annotations

from dataver_airflow.operators.build import (
    DataverAddFilesOperator,
    DataverCreateOperator,
    DataverPartitionOperator,
    DataverRemoveFilesOperator,
    DataverSyncFolderOperator,
)
from dataver_airflow.operators.get import DataverGetOperator
from dataver_airflow.operators.seal import DataverFinalizeOperator, DataverPublishOperator
from dataver_airflow.operators.version import DataverVersionOperator

__all__ = [
    "DataverAddFilesOperator",
    "DataverCreateOperator",
    "DataverFinalizeOperator",
    "DataverGetOperator",
    "DataverPartitionOperator",
    "DataverPublishOperator",
    "DataverRemoveFilesOperator",
    "DataverSyncFolderOperator",
    "DataverVersionOperator",
]
