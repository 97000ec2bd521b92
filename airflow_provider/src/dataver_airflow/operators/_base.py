"""What the dataver operators share: the XCom summary, provenance, the registry, assets, lineage.

Each operator is thin: :class:`~dataver_airflow.hooks.DataverHook` opens the registry (closed
when the task is done) and the dataver SDK does the work. Operators that act on a version
return its summary as XCom::

    {"id", "name", "project", "version", "state", "uri", "stats"}

Operators that take a ``version_id`` accept either the id or such a summary (for example the
``output`` of an upstream dataver operator).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

import dataver
from dataver_airflow.assets import (
    WATCHED_KEY,
    asset_extra,
    asset_uri,
    claim_key,
    dataset_asset,
    dataset_ref,
    dataver_alias,
    openlineage_dataset,
    openlineage_namespace,
)
from dataver_airflow.hooks.dataver import DataverHook
from dataver_airflow.links import DataverVersionLink

if TYPE_CHECKING:
    from airflow.sdk import Context

XCOM_RETURN_KEY = "return_value"
# How many of an asset's newest events a task that took over a sealed version looks through
# for an earlier announcement of it.
ANNOUNCED_LOOKBACK = 100
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


AUTO = "auto"
"""``writer="auto"`` (the default of the add and sync operators): a writer of its own when the
task is mapped or is given a ``part`` (:func:`writer_name`), else none."""


def writer_key(context: Context) -> str:
    """The task's writer name across its retries: ``<dag_id>/<run_id>/<task_id>/<map_index>``.

    Every try of one (mapped) task instance is the same writer of the version, so a retry
    replaces the contribution of the try before it instead of adding to it.
    """
    return "{dag_id}/{run_id}/{task_id}/{map_index}".format(**provenance(context))


def writer_name(context: Context, writer: str | None, part: Any) -> str | None:
    """The writer a task adds (or syncs) as: ``writer`` itself, or with ``"auto"``
    :func:`writer_key` when the task is mapped or has a ``part``, else None (the version's
    own changes, as a single task makes them)."""
    if writer != AUTO:
        return writer or None
    map_index = context["ti"].map_index
    mapped = map_index is not None and map_index >= 0
    return writer_key(context) if mapped or part is not None else None


def part_of(value: Any) -> dict[str, Any] | None:
    """A ``part`` argument as a dict (a :class:`dataver.Part`, its ``to_dict()``, or that
    dict as JSON text, what a template renders); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    raise TypeError(f"part must be a dataver.Part or its to_dict(), got {type(value).__name__}")


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

    def _sealed_by_this_run(self, context: Context, ds: dataver.Dataset) -> bool:
        """Whether ``ds`` is a version this DAG run's steps made and already sealed.

        A cleared DAG run gets its version back from ``DataverCreateOperator`` as its earlier
        run left it; once that was Final or Published, the steps that fill a version have
        nothing left to do (and could not: a sealed version does not change).
        """
        ti = context["ti"]
        made_here = str(ds.provenance.get("resume_key", "")).startswith(
            f"airflow:{ti.dag_id}/{ti.run_id}/"
        )
        sealed = ds.state in (dataver.State.FINAL, dataver.State.PUBLISHED)
        if made_here and sealed:
            self.log.info(
                "%s is already %s (an earlier run of these steps sealed it): nothing to do",
                ds.uri,
                ds.state.value,
            )
        return made_here and sealed

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
    """Announces each version it seals with one asset event on ``dataver://<project>/<name>``.

    **Declared outlet.** With a dataset known when the DAG is parsed (``static_dataset``), the
    task's outlet is a *reference* to the dataset's asset (``Asset.ref(uri=...)``): Airflow
    draws it in the DAG graph, and the asset's definition (its watchers, its extra) stays
    with the DAG that defines it, so a producer never competes with a watcher on the same
    URI. Otherwise (templated names, a version id from XCom, mapped tasks) the task declares
    the ``dataver-versions`` asset alias.

    **The event.** At run time the event goes to the asset with the dataset's URI if Airflow
    knows it, else through the alias (Airflow then creates the asset). Its ``extra`` is
    ``{"payload": ...}`` (:func:`~dataver_airflow.assets.asset_extra`): the shape of a
    watcher's events.

    **Once per version.** A version is announced once: by the task that publishes it, or, in
    a DAG that does not publish it, by the task that finalizes it (see
    :meth:`_announces`). A task about to publish a version it will announce first claims
    it in the asset's state store, so a ``DataverPublishedTrigger`` watching the dataset
    does not announce it again.
    """

    # NOTE: None: decide from the DAG (see _announces); True/False: the user's choice.
    announce: bool | None = None
    # NOTE: what the version_id argument pointed at when the DAG was parsed (see _source).
    _version_source: tuple[str, ...] | None = None

    def _declare_outlet(self, static_dataset: tuple[str, str] | None) -> None:
        outlet = dataset_ref(*static_dataset) if static_dataset else dataver_alias()
        self.outlets = [*self.outlets, outlet]

    def _without_own_outlets(self, ds: dataver.Dataset) -> list[Any]:
        """The task's outlets but the dataset's reference and the alias (the event's own)."""
        own = (dataset_ref(ds.project, ds.name), dataver_alias())
        return [o for o in self.outlets if o not in own]

    def _announce_nothing(self, ds: dataver.Dataset) -> None:
        """No event (nothing new was made): Airflow emits one for every asset outlet."""
        self.outlets = self._without_own_outlets(ds)

    def _announce(self, context: Context, ds: dataver.Dataset, *, taken_over: bool = False) -> None:
        """Emit the version's asset event (or none, see :meth:`_announces`).

        ``taken_over``: the task found the version already sealed (an earlier try or run
        got that far); it announces it unless an event already did.
        """
        if not self._announces(ds):
            self.log.info(
                "Not announcing %s: a task downstream publishes it and announces it then",
                ds.uri,
            )
            self._announce_nothing(ds)
            return
        if taken_over and (event := self._announced_already(ds)) is not None:
            self.log.info("%s was announced already (asset event %s)", ds.uri, event)
            self._announce_nothing(ds)
            return
        extra, events, others = (
            asset_extra(ds),
            context["outlet_events"],
            (self._without_own_outlets(ds)),
        )
        ref = dataset_ref(ds.project, ds.name)
        try:
            events[ref].extra.update(extra)  # NOTE: Airflow resolves the asset by its URI
        except Exception:  # noqa: BLE001 - Airflow does not know the asset (yet)
            # NOTE: through the alias Airflow creates the asset; a mapped task's outlets
            # are only known at run time too (partial() runs no __init__ at parse time).
            alias = dataver_alias()
            self.outlets = [*others, alias]
            events[alias].add(dataset_asset(ds.project, ds.name), extra=extra)
        else:
            self.outlets = [*others, ref]

    def _announced_already(self, ds: dataver.Dataset) -> int | None:
        """The id of a recent asset event that announced ``ds`` in its state, if any."""
        try:
            from airflow.sdk.execution_time.context import InletEventsAccessor

            recent = InletEventsAccessor(asset_uri=asset_uri(ds.project, ds.name))
            for event in recent.ascending(False).limit(ANNOUNCED_LOOKBACK):
                payload = (event.extra or {}).get("payload") or {}
                if payload.get("id") == ds.id and payload.get("state") == ds.state.value:
                    return int(event.id)
        except Exception as exc:  # noqa: BLE001 - no asset (yet), or no events: none
            self.log.debug("No earlier announcement of %s found: %s", ds.uri, exc)
        return None

    def _announces(self, ds: dataver.Dataset) -> bool:
        """Whether this task announces ``ds``: the once-per-version rule.

        ``announce=True``/``False`` decides. By default a Published version is announced;
        a Final one is not when a ``DataverPublishOperator`` downstream in this DAG
        publishes the same version (it announces it then), else it is.
        """
        if self.announce is not None:
            return bool(self.announce)
        return ds.state is dataver.State.PUBLISHED or not self._published_downstream()

    def _published_downstream(self) -> bool:
        """Whether a ``DataverPublishOperator`` downstream publishes this task's version."""
        mine = {self._version_source, ("xcom", self.task_id, XCOM_RETURN_KEY)} - {None}
        for task in self.get_flat_relatives(upstream=False):
            kind = getattr(task, "operator_class", type(task))  # NOTE: mapped tasks too
            publishes = isinstance(kind, type) and getattr(kind, "publishes_versions", False)
            if publishes and getattr(task, "_version_source", None) in mine:
                return True
        return False

    def _claim(self, context: Context, ds: dataver.Dataset) -> None:
        """Before publishing ``ds``: tell a watcher of its dataset that this task announces it.

        Sets :func:`~dataver_airflow.assets.claim_key` in the asset's state store when a
        ``DataverPublishedTrigger`` watches the asset (it set
        :data:`~dataver_airflow.assets.WATCHED_KEY`). Best effort: without the asset, the
        store or a watcher there is nobody to tell.
        """
        try:
            from airflow.sdk.execution_time.context import AssetStateStoreAccessor

            store = AssetStateStoreAccessor(uri=asset_uri(ds.project, ds.name))
            if store.get(WATCHED_KEY) is None:
                return
            ti = context["ti"]
            store.set(
                claim_key(ds.id),
                {
                    "dag_id": ti.dag_id,
                    "run_id": ti.run_id,
                    "task_id": ti.task_id,
                    "map_index": ti.map_index if ti.map_index is not None else -1,
                },
            )
        except Exception as exc:  # noqa: BLE001 - never fail a publish for the watcher's sake
            self.log.debug("No claim on %s for a watcher: %s", ds.uri, exc)


def version_source(ref: Any) -> tuple[str, ...] | None:
    """What a ``version_id`` argument points at, as the DAG file says it: an upstream task's
    XCom (``("xcom", task_id, key)``), a literal id (``("id", id)``), a template (the same
    template renders to the same version in one run), or None (anything else)."""
    operator, key = getattr(ref, "operator", None), getattr(ref, "key", None)
    if operator is not None and isinstance(key, str):  # NOTE: a PlainXComArg
        return ("xcom", str(operator.task_id), key)
    if isinstance(ref, Mapping) and "id" in ref:
        return ("id", str(ref["id"]))
    if isinstance(ref, str):
        return ("id", ref) if is_static(ref) else ("template", ref)
    return None


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
