"""What the dataver operators share: the XCom summary, provenance, the registry, assets, lineage.

Each operator is thin: :class:`~dataver_airflow.hooks.DataverHook` opens the registry (closed
when the task is done) and the dataver SDK does the work. Operators that act on a version
return its summary as XCom::

    {"id", "name", "project", "version", "state", "uri", "stats"}

Operators that take a ``version_id`` accept either the id or such a summary (for example the
``output`` of an upstream dataver operator).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

import dataver
from dataver_airflow.assets import (
    asset_extra,
    asset_uri,
    dataset_asset,
    dataver_alias,
    openlineage_dataset,
    openlineage_namespace,
)
from dataver_airflow.hooks.dataver import DataverHook
from dataver_airflow.links import DataverVersionLink

if TYPE_CHECKING:
    from airflow.sdk import Context

_SUMMARY_KEYS = ("id", "name", "project", "version", "state", "uri", "stats")
# Errors no retry can fix (a bad name, tag or version string, a parent that is not Final, an
# unknown version id): the task fails at once instead of retrying.
BAD_INPUT = (dataver.ValidationError, dataver.InvalidTransitionError, dataver.VersionNotFoundError)

VersionRef = str | Mapping[str, Any]
Parents = str | Sequence[VersionRef] | None


def summary(ds: dataver.Dataset) -> dict[str, Any]:
    """The JSON-able XCom value of a version."""
    full = ds.to_dict()
    return {key: full[key] for key in _SUMMARY_KEYS}


def provenance(context: Context) -> dict[str, Any]:
    """Which task run built a version.

    Returns:
        ``dag_id``, ``run_id``, ``task_id``, ``map_index``, ``try_number``, ``logical_date``
        and ``task_instance_url`` (the task instance in the Airflow UI).
    """
    ti = context["ti"]
    logical_date = context.get("logical_date")
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index if ti.map_index is not None else -1,
        "try_number": ti.try_number,
        "logical_date": logical_date.isoformat() if logical_date is not None else None,
        "task_instance_url": ti.log_url,
    }


def resume_key(context: Context) -> str:
    """The task's key across its retries: ``airflow:<dag_id>/<run_id>/<task_id>/<map_index>``.

    Recorded as ``provenance["resume_key"]`` of the version the task creates, so a retry
    finds it (:meth:`dataver.Registry.find_resumable`) instead of starting another.
    """
    made_by = provenance(context)
    return "airflow:{dag_id}/{run_id}/{task_id}/{map_index}".format(**made_by)


def version_id(ref: VersionRef) -> str:
    """The id of ``ref``: a version id, or a summary (an upstream operator's XCom)."""
    if isinstance(ref, Mapping):
        return str(ref["id"])
    if not ref:
        raise ValueError("version_id is empty")
    return str(ref)


def is_static(*values: Any) -> bool:
    """Whether every value is a plain string (no Jinja template, no XComArg)."""
    return all(isinstance(v, str) and "{{" not in v and "{%" not in v for v in values)


@contextmanager
def fail_fast(what: str) -> Iterator[None]:
    """Turn errors in the task's input into a failure without retries, saying what failed."""
    try:
        yield
    except BAD_INPUT as exc:
        raise AirflowFailException(f"{what}: {exc}") from exc


class DataverOperator(BaseOperator):
    """Holds the connection id, opens the registry and remembers the version it acted on.

    ``dataver_version_id`` is the version this try created or used (None before that); the
    :class:`~dataver_airflow.links.DataverVersionLink` extra link points at its page.
    """

    operator_extra_links = (DataverVersionLink(),)

    def __init__(self, *, dataver_conn_id: str = DataverHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataver_conn_id = dataver_conn_id
        self.dataver_version_id: str | None = None

    @property
    def hook(self) -> DataverHook:
        return DataverHook(dataver_conn_id=self.dataver_conn_id)

    def registry(self) -> dataver.Registry:
        """The connection's registry, to use as ``with self.registry() as registry:``."""
        return self.hook.get_registry()

    @contextmanager
    def _version(self, ref: VersionRef) -> Iterator[dataver.Dataset]:
        """Version ``ref`` (in any state), on a registry closed when the block ends."""
        vid = version_id(ref)
        with self.registry() as registry:
            with fail_fast(f"{type(self).__name__} cannot use version {vid}"):
                ds = registry.get(vid, states=None)
            self.dataver_version_id = ds.id
            yield ds


class AnnouncesVersions(DataverOperator):
    """Emits an asset event on ``Asset("dataver://<project>/<name>")`` for the version it sealed.

    With a dataset known when the DAG is parsed (``static_dataset``), the asset is one of the
    task's ``outlets``, so Airflow draws it and its consumers in the DAG graph. Otherwise (and
    in mapped tasks) the task declares the ``dataver-versions`` asset alias and adds the event
    through it at run time. Either way the event's ``extra`` is
    :func:`~dataver_airflow.assets.asset_extra`.
    """

    def _declare_outlet(self, static_dataset: tuple[str, str] | None) -> None:
        outlet = dataset_asset(*static_dataset) if static_dataset else dataver_alias()
        self.outlets = [*self.outlets, outlet]

    def _static_outlet(self, ds: dataver.Dataset) -> Asset | None:
        uri = asset_uri(ds.project, ds.name)
        return next((o for o in self.outlets if isinstance(o, Asset) and o.uri == uri), None)

    def _announce_nothing(self, ds: dataver.Dataset) -> None:
        """No event (nothing new was made): Airflow emits one for every Asset outlet."""
        static = self._static_outlet(ds)
        self.outlets = [o for o in self.outlets if o is not static]

    def _announce(self, context: Context, ds: dataver.Dataset) -> None:
        extra, events, static = asset_extra(ds), context["outlet_events"], self._static_outlet(ds)
        if static is not None and context["ti"].map_index in (None, -1):  # NOTE: not mapped
            events[static].extra.update(extra)
            return
        # NOTE: Airflow learns a mapped task's outlets only when it runs (partial() runs no
        # __init__ at parse time), so its asset may be unknown: announce through the alias,
        # which Airflow resolves (and creates the asset for) at run time.
        alias = dataver_alias()  # NOTE: equal to (so it replaces) one declared already
        self.outlets = [*(o for o in self.outlets if o not in (static, alias)), alias]
        events[alias].add(dataset_asset(ds.project, ds.name), extra=extra)


class ReportsLineage(AnnouncesVersions):
    """OpenLineage facets for a sealed version: its parents in, the version out."""

    _lineage: dict[str, Any] | None = None

    def _remember_lineage(self, ds: dataver.Dataset) -> None:
        registry = ds.registry
        parents = [registry.get(pid, states=None) for pid in ds.parents]
        self._lineage = {
            "inputs": [(p.project, p.name, p.version) for p in parents],
            "output": (ds.project, ds.name, ds.version),
            "stats": ds.stats.model_dump(),
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Parents as OpenLineage inputs, the new version as the output.

        Datasets are namespace ``dataver://<project>``, name ``<name>``, with a
        ``version`` facet (the dataver version string); the output also carries
        ``outputStatistics`` (file count and logical bytes).

        Returns:
            An ``OperatorLineage``, or None without the OpenLineage provider (or before the
            task built a version).
        """
        del task_instance
        if self._lineage is None:
            return None
        try:
            from airflow.providers.common.compat.openlineage.facet import OutputDataset
            from airflow.providers.openlineage.extractors import OperatorLineage
            from openlineage.client.facet_v2 import (
                dataset_version_dataset,
                output_statistics_output_dataset,
            )
        except ImportError:  # NOTE: the OpenLineage provider is optional
            return None

        def version_facet(version: str) -> dict[str, Any]:
            return {
                "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                    datasetVersion=version
                )
            }

        project, name, version = self._lineage["output"]
        stats = self._lineage["stats"]
        output = OutputDataset(
            namespace=openlineage_namespace(project),
            name=name,
            facets=version_facet(version),
            outputFacets={
                "outputStatistics": (
                    output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        size=stats["logical_bytes"], fileCount=stats["files"]
                    )
                )
            },
        )
        inputs = [
            openlineage_dataset(project, name, version_facet(version))
            for project, name, version in self._lineage["inputs"]
        ]
        return OperatorLineage(inputs=inputs, outputs=[output])
