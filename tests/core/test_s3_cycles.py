"""A miss of ``exists`` must not keep its caller's locals alive.

A miss raised through the deadline thread and the retry loop used to leave a reference
cycle (error, traceback, the caller's frames): the caller's locals — a 32 MiB pack about to
be written — stayed alive until the cyclic collector ran, which a writer pauses. A writer of
200,000 small files on S3 peaked at 1 GiB (276 MiB after the fix). A read of a missing key
still raises through the retry loop (tenacity keeps the error in its state: a cycle until
the collector runs); reads miss rarely, and hold no pack.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver.errors import ObjectNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataver.storage.base import Store


class _Payload:
    """Stands for a pack held by the caller."""


def _held_after(call: Callable[[], object]) -> bool:
    def caller() -> weakref.ref[_Payload]:
        payload = _Payload()
        ref = weakref.ref(payload)
        with contextlib.suppress(ObjectNotFoundError):
            call()
        return ref  # NOTE: ``payload`` is still a local, as a pack is in the uploader

    gc.collect()
    gc.disable()
    try:
        return caller()() is not None
    finally:
        gc.enable()


@pytest.fixture
def store(s3_url: str) -> Store:
    return dataver.Registry(s3_url).store


def test_a_miss_of_exists_keeps_nothing_alive(store: Store) -> None:
    assert store.exists("no/such/key") is False
    assert not _held_after(lambda: store.exists("no/such/key"))
