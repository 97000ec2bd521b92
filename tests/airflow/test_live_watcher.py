"""A watcher and a producer on one dataset, under a live Airflow (``live.py``).

The docs' AssetWatcher pattern (``live_dags/live_watch.py``) and the docs' operators
(``live_dags/live_produce.py``, whose outlet is declared automatically) in two DAG files,
parsed again every few seconds by a real dag-processor; versions are published by an
outsider (the SDK) and by the producer DAG, one while the triggerer is down. Every version
is announced by exactly one asset event, in one shape, and the watcher is never dropped.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

import dataver

if TYPE_CHECKING:
    from pathlib import Path

    from .live import LiveAirflow

# NOTE: the first test also starts the session's live Airflow (bounded by LiveAirflow.start).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WATCHED = "dataver://live/watched"


def _publish(registry_url: str, root: Path, n: int) -> str:
    """Publish a version of live/watched from outside Airflow (the SDK); its id."""
    folder = root / f"v{n}"
    folder.mkdir()
    (folder / "n.txt").write_text(str(n))
    with dataver.Registry(registry_url) as registry:
        made = registry.version_folder("watched", folder, "live", unchanged="new", publish=True)
    assert made.dataset is not None
    return made.dataset.id


def _watchers(live: LiveAirflow) -> set[tuple[str, int]]:
    """``(watcher name, trigger id)`` of the watched asset's watchers, from the database."""
    rows = live.query(
        "SELECT w.name, w.trigger_id FROM asset_watcher w JOIN asset a ON a.id = w.asset_id "
        "WHERE a.uri = ?",
        WATCHED,
    )
    return {(str(name), int(trigger)) for name, trigger in rows}


def _announced(live: LiveAirflow) -> list[str]:
    """The version id of each event on the watched asset, oldest first (the event shape the
    docs give: ``extra["payload"]["id"]``, whichever side announced it)."""
    return [e["extra"]["payload"]["id"] for e in live.asset_events(WATCHED)]


def _handled(live: LiveAirflow) -> set[str]:
    """Ids of the versions the watcher has handled (fired, or skipped as claimed by the task
    that announced them): its high-water mark in the asset's state store."""
    rows = live.query(
        "SELECT s.value FROM asset_state_store s JOIN asset a ON a.id = s.asset_id "
        "WHERE a.uri = ? AND s.key = 'dataver:watch:live/watched'",
        WATCHED,
    )
    return set(json.loads(rows[0][0])["seen"]) if rows else set()


def _watching(live: LiveAirflow) -> bool:
    """Whether the watcher's trigger runs in the triggerer and has looked at the registry."""
    return bool(
        live.query(
            "SELECT 1 FROM asset_state_store s JOIN asset a ON a.id = s.asset_id "
            "WHERE a.uri = ? AND s.key LIKE 'dataver:watch:%'",
            WATCHED,
        )
    )


def test_every_version_is_announced_once_across_watcher_restarts(
    live_airflow: Any, tmp_path: Path
) -> None:
    live: LiveAirflow = live_airflow
    live.wait_for_dags("dataver_live_watch_consumer", "dataver_live_watch_producer")
    watchers = live.wait_until(lambda: _watchers(live), "the watcher's trigger", 60)
    live.wait_until(lambda: _watching(live), "the watcher watching", 60)
    versions: list[str] = []

    def announced(vid: str) -> bool:
        return vid in _announced(live)

    # an outsider publishes: the watcher announces it
    versions.append(_publish(live.registry_url, tmp_path, 1))
    live.wait_until(lambda: announced(versions[-1]), "an event for the 1st version", 60)

    # the producer DAG publishes through DataverVersionOperator: its operator announces it
    run_id = live.trigger_rest(
        "dataver_live_watch_producer", "produce-1", {"folder": str(tmp_path / "v1")}
    )
    assert live.wait_for_run("dataver_live_watch_producer", run_id) == "success", live.tails()
    versions.append(live.xcom("dataver_live_watch_producer", run_id, "publish")["id"])
    live.wait_until(lambda: announced(versions[-1]), "an event for the 2nd version", 60)

    # a version published while the triggerer is down is announced when it is back
    live.stop_service("triggerer")
    versions.append(_publish(live.registry_url, tmp_path, 3))
    live.start_service("triggerer")
    live.wait_until(lambda: announced(versions[-1]), "an event for the 3rd version", 120)

    # ... and the watch goes on
    versions.append(_publish(live.registry_url, tmp_path, 4))
    live.wait_until(lambda: announced(versions[-1]), "an event for the 4th version", 60)
    # Once the watcher has handled every version (its mark says so), it fires none again:
    # each was announced by exactly one event, the watcher's or the publishing task's.
    live.wait_until(lambda: set(versions) <= _handled(live), "the watcher handling all", 60)
    counts = Counter(_announced(live))
    assert counts == Counter(versions), (counts, versions)
    # The dag-processor parsed both files again and again: the watcher was never dropped.
    assert _watchers(live) == watchers
    assert "Trigger cancelled by user action" not in live.log_of("triggerer")

    # The consumer ran on every version, reading each the way the docs show.
    def consumer_runs_done() -> list[dict[str, Any]] | None:
        runs = live.dag_runs("dataver_live_watch_consumer")
        done = [r for r in runs if r["state"] in ("success", "failed")]
        got = [
            vid
            for r in done
            for vid in live.xcom("dataver_live_watch_consumer", r["dag_run_id"], "announced")
            if r["state"] == "success"
        ]
        return runs if len(done) == len(runs) and sorted(got) == sorted(versions) else None

    runs = live.wait_until(consumer_runs_done, "consumer runs on every version", 120, interval=2)
    assert {r["state"] for r in runs} == {"success"}
