"""``DataverGetOperator``: a version in the local cache, for the tasks that read it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    """

    template_fields = ("version_id", "name", "project", "version", "paths")

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
            local = ds.get_local_copy(self.paths)
        self.log.info("Local copy of %s at %s", ds.uri, local)
        return str(local)
