"""The watcher side of the docs' AssetWatcher pattern (one DAG file), run by the live tests.

``dataver_live_watch_consumer`` is scheduled on ``dataver://live/watched``, watched by a
``DataverPublishedTrigger``; it reads the version from each triggering event the way
docs/airflow.md shows, whichever side (the watcher or a producer's operator) announced it.
``live_produce.py`` publishes versions of the same dataset through the docs' operators.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from dataver_airflow.triggers import DataverPublishedTrigger

WATCHED = Asset(
    "dataver://live/watched",
    watchers=[
        AssetWatcher(
            name="live-watched-published",
            trigger=DataverPublishedTrigger(name="watched", project="live", poll_interval=1),
        )
    ],
)

with DAG(
    "dataver_live_watch_consumer",
    schedule=[WATCHED],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    is_paused_upon_creation=False,
):

    @task
    def announced(triggering_asset_events: Any = None) -> list[str]:
        """The version ids of the events that triggered this run (the docs' consumer)."""
        return [event.extra["payload"]["id"] for event in triggering_asset_events[WATCHED]]

    announced()
