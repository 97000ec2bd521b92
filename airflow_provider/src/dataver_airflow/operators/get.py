"""``DataverGetOperator``: a version in the local cache, for the tasks that read it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataver_airflow.assets import openlineage_dataset
from dataver_airflow.operators._base import DataverOperator, VersionRef, fail_fast, version_id

if TYPE_CHECKING:
    from airflow.sdk import Context


class DataverGetOperator(DataverOperator):
    """Fetch a version into the local cache; returns the local folder's path.

    Give ``version_id``, or ``name`` (with ``project`` and optionally ``version``) for the newest
    Final/Published version of a dataset.

    Args:
        version_id: The version id, or an upstream operator's summary.
        name: Dataset name (without ``version_id``).
        project: Dataset project.
        version: An exact version string.
        paths: Only these files or folders of the version.

    Returns:
        The local folder's path (XCom).

    Raises:
        AirflowFailException: No such version, or it is not Final/Published.

    With the OpenLineage provider installed, the fetched version is the task's input dataset
    (namespace ``dataver://<project>``, name ``<name>``, ``version`` facet: the version
    string), so the jobs that read it are linked to the very version they trained on.
    """

    template_fields = ("version_id", "name", "project", "version", "paths")
    _lineage_input: tuple[str, str, str] | None = None

    def __init__(
        self,
        *,
        version_id: VersionRef | None = None,
        name: str | None = None,
        project: str | None = None,
        version: str | None = None,
        paths: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if version_id is None and name is None:
            raise ValueError("DataverGetOperator needs version_id or name")
        self.version_id = version_id
        self.name = name
        self.project = project
        self.version = version
        self.paths = paths

    def execute(self, context: Context) -> str:
        with self.registry() as registry:
            with fail_fast("DataverGetOperator found no readable version"):
                if self.version_id:
                    ds = registry.get(version_id(self.version_id))
                else:
                    ds = registry.get(name=self.name, project=self.project, version=self.version)
            self.dataver_version_id = ds.id
            self._lineage_input = (ds.project, ds.name, ds.version)
            local = ds.get_local_copy(self.paths)
        self.log.info("Local copy of %s at %s", ds.uri, local)
        return str(local)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The fetched version as the OpenLineage input (no output: nothing is written).

        Returns:
            An ``OperatorLineage``, or None without the OpenLineage provider (or before the
            task fetched a version).
        """
        del task_instance
        if self._lineage_input is None:
            return None
        try:
            from airflow.providers.openlineage.extractors import OperatorLineage
            from openlineage.client.facet_v2 import dataset_version_dataset
        except ImportError:  # NOTE: the OpenLineage provider is optional
            return None
        project, name, version = self._lineage_input
        facets = {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
        }
        return OperatorLineage(inputs=[openlineage_dataset(project, name, facets)], outputs=[])
