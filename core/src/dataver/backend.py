"""What every operation needs: the store, the settings, the cache and the stat cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataver.cache.local import Cache
from dataver.statcache import StatCache

if TYPE_CHECKING:
    from dataver.settings import Settings
    from dataver.storage.base import Store


@dataclass(frozen=True)
class Backend:
    """The injected dependencies of one registry handle."""

    store: Store
    settings: Settings
    cache: Cache
    stat_cache: StatCache

    @classmethod
    def build(cls, store: Store, settings: Settings) -> Backend:
        cache_dir = settings.cache_dir.expanduser()
        stats = StatCache(cache_dir / "statcache.sqlite" if settings.stat_cache else None)
        return cls(store=store, settings=settings, cache=Cache(cache_dir), stat_cache=stats)
