"""A separate dataver process for the concurrency and crash tests (run with ``sys.executable``).

Usage: ``python _worker.py <command> <args...>``. Commands that race print ``ready`` once they
have read what they need, then block until the parent writes a line to their stdin, so the
parent releases every racer at once (a barrier without sleeps). Results go to stdout as one
JSON line; errors are reported, not raised, with their type and structured fields.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import pickle
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import dataver
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from dataver.storage.base import Store


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _barrier() -> None:
    _say("ready")
    sys.stdin.readline()


def _report(**values: object) -> None:
    _say(json.dumps(values))


def create(registry: str, name: str, folder: str) -> None:
    """Auto-version ``name``: create, add ``folder``, finalize; report id and version."""
    reg = dataver.Registry(registry)
    _barrier()
    ds = reg.create(name)
    ds.add_files(folder)
    ds.finalize(auto_upload=True)
    _report(id=ds.id, version=ds.version, state=ds.state.value)


def finalize(registry: str, version_id: str) -> None:
    """Load an Uploading version, wait for the go, finalize it; report the outcome."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    _barrier()
    try:
        ds.finalize()
    except dataver.DataverError as exc:
        _report(outcome=type(exc).__name__, fields=exc.fields, message=str(exc))
        return
    _report(outcome="ok", state=ds.state.value)


def upload(registry: str, name: str, folder: str) -> None:
    """Create a version, add ``folder``, report its id, then upload one object at a time."""
    ds = dataver.Registry(registry).create(name)
    ds.add_files(folder)
    _report(id=ds.id)
    ds.upload(max_workers=1)
    _report(done=True)


def hold(registry: str, name: str, folder: str) -> None:
    """Create a version, add files, report it, then hang until killed (a dying writer)."""
    ds = dataver.Registry(registry).create(name)
    ds.add_files(folder)
    _report(id=ds.id, version=ds.version)
    while True:
        time.sleep(3600)


def _count_content_reads() -> list[list[object]]:
    """Record every read of stored content (packs, objects) this process makes."""
    reads: list[list[object]] = []
    original_range = LocalStore.read_range
    original_file = LocalStore.get_file

    def read_range(self: LocalStore, key: str, start: int, length: int) -> bytes:
        reads.append([key, start, length])
        return original_range(self, key, start, length)

    def get_file(self: LocalStore, key: str, local: Path) -> None:
        reads.append([key, 0, self.size(key)])
        original_file(self, key, local)

    LocalStore.read_range = read_range  # type: ignore[method-assign]
    LocalStore.get_file = get_file  # type: ignore[method-assign]
    return reads


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes().hex()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def get(registry: str, version_id: str) -> None:
    """Materialise a version; report its files (bytes in hex) and the content reads made."""
    reads = _count_content_reads()
    ds = dataver.Registry(registry).get(version_id)
    _barrier()
    root = ds.get_local_copy()
    _report(root=str(root), files=_files(root), reads=reads)


def slow_get(registry: str, version_id: str) -> None:
    """Materialise a version whose every content read takes 0.5 s; say ``fetching`` first."""
    original = LocalStore.get_file

    def get_file(self: LocalStore, key: str, local: Path) -> None:
        _say("fetching")
        time.sleep(0.5)
        original(self, key, local)

    LocalStore.get_file = get_file  # type: ignore[method-assign]
    dataver.Registry(registry).get(version_id).get_local_copy()
    _report(done=True)


def hold_get(registry: str, version_id: str) -> None:
    """Get a version, report its tree, then keep using it until killed."""
    root = dataver.Registry(registry).get(version_id).get_local_copy()
    _report(root=str(root))
    while True:
        time.sleep(3600)


def error(registry: str, version_id: str) -> None:
    """Trigger a real InvalidTransitionError (publish an Uploading version); ship it pickled."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    try:
        ds.publish()
    except dataver.DataverError as exc:
        _report(pickled=base64.b64encode(pickle.dumps(exc)).decode())
        return
    _report(pickled=None)


_MUTATIONS = ("write", "create", "replace", "put_file", "delete")


def _die_at(store_class: type[Store], kill_at: int) -> Callable[[], int]:
    """Count the registry writes of this process; SIGKILL itself just before write ``kill_at``.

    Writes by the lease heartbeat thread are not counted: they come at times, not at steps,
    and would make the numbering differ between runs. Returns a function giving the count.
    """
    counter = itertools.count(1)
    done = [0]
    lock = threading.Lock()

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def mutation(self: Store, *args: Any, **kwargs: Any) -> Any:
            if not threading.current_thread().name.startswith("dataver-lease-"):
                with lock:
                    done[0] = next(counter)
                if done[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no cleanup, no flush
            return original(self, *args, **kwargs)

        return mutation

    for name in _MUTATIONS:
        setattr(store_class, name, wrap(getattr(store_class, name)))
    return lambda: done[0]


def pipeline(registry: str, folder: str, extra: str, kill_at: str) -> None:
    """Build, publish, then scrap a child and collect garbage; die at write ``kill_at``.

    With ``kill_at`` 0 nothing dies: the report gives, for each phase, the number of writes
    made before it started, and the total, so the parent can choose kill points per phase.
    """
    reg = dataver.Registry(registry)
    writes = _die_at(type(reg.store), int(kill_at))
    phases: list[tuple[str, int]] = []
    phases.append(("create", writes()))
    ds = reg.create("crash")
    phases.append(("add", writes()))
    ds.add_files(folder)
    phases.append(("upload", writes()))
    ds.upload(max_workers=1)
    phases.append(("finalize", writes()))
    ds.finalize()
    phases.append(("publish", writes()))
    ds.publish()
    phases.append(("abort-delete", writes()))
    scratch = reg.create("scratch", parents=[ds])
    scratch.add_files(extra)
    scratch.upload(max_workers=1)
    scratch.abort("scrapped")
    reg.delete(scratch.id)
    phases.append(("gc", writes()))
    reg.gc(dry_run=False, grace_seconds=0)
    _report(phases=phases, total=writes())


def upload_killed(registry: str, version_id: str, kill_at: str) -> None:
    """Upload an Uploading version's pending files; SIGKILL itself before write ``kill_at``."""
    reg = dataver.Registry(registry)
    ds = reg.get(version_id, states=None)
    writes = _die_at(type(reg.store), int(kill_at))
    ds.upload(max_workers=1)
    _report(writes=writes())


def load_files(writer: int, index: int) -> dict[str, bytes]:
    """The files of version ``index`` of load writer ``writer``: one shared, two unique."""
    unique = f"writer {writer} version {index}\n".encode()
    return {
        "shared/common.txt": b"the same bytes in every version\n" * 20,
        f"w{writer:02d}/v{index:03d}.txt": unique * (1 + (writer * 7 + index) % 13),
        "latest.txt": unique,
    }


def load_writer(registry: str, workdir: str, writer: str, count: str) -> None:
    """Wait for the go, then build ``count`` auto-versioned Final versions of ``load``."""
    from pathlib import Path

    reg = dataver.Registry(registry)
    _barrier()
    built = []
    for index in range(int(count)):
        folder = Path(workdir) / f"w{writer}-{index}"
        for rel, data in load_files(int(writer), index).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        ds = reg.create("load", metadata={"writer": int(writer), "index": index})
        ds.add_files(folder)
        ds.finalize(auto_upload=True)
        built.append([ds.id, ds.version])
    _report(built=built)


def load_reader(registry: str, cache: str, stop_file: str, seed: str) -> None:
    """Until ``stop_file`` exists, get random Final versions of ``load`` and check every byte."""
    import random
    from pathlib import Path

    os.environ["DATAVER_CACHE_DIR"] = cache  # NOTE: its own cache: every read hits the registry
    rng = random.Random(int(seed))
    reg = dataver.Registry(registry)
    _barrier()
    reads, wrong = 0, []
    while not Path(stop_file).exists():
        versions = reg.list(project="default", name="load", states=["final"])
        if not versions:
            time.sleep(0.05)
            continue
        ds = versions[rng.randrange(len(versions))]
        meta = ds.metadata
        expected = load_files(int(meta["writer"]), int(meta["index"]))
        got = _files(ds.get_local_copy())
        if got != {k: v.hex() for k, v in expected.items()}:
            wrong.append(ds.id)
        reads += 1
    _report(reads=reads, wrong=wrong)


def stall(registry: str, name: str, folder: str) -> None:
    """Create and add, report the id, stall (no heartbeat) until told, then try to finalize."""
    ds = dataver.Registry(registry).create(name)
    ds.add_files(folder)
    _report(id=ds.id)
    sys.stdin.readline()  # NOTE: a paused writer: a long GC, a suspended VM, a lost network
    try:
        ds.finalize(auto_upload=True)
    except dataver.DataverError as exc:
        _report(outcome=type(exc).__name__, message=str(exc), fields=exc.fields)
        return
    _report(outcome="ok", state=ds.state.value)


def contribute(registry: str, version_id: str, writer: str, folder: str, prefix: str) -> None:
    """Wait for the go, add ``folder`` under ``prefix`` as writer ``writer``; report."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    _barrier()
    try:
        added = ds.add_files(folder, dataset_path=prefix, writer=writer)
    except dataver.DataverError as exc:
        _report(outcome=type(exc).__name__, message=str(exc))
        return
    _report(outcome="ok", added=added)


def contribute_hold(
    registry: str, version_id: str, writer: str, folder: str, prefix: str, commit: str
) -> None:
    """Start writer ``writer``, stage ``folder`` and (``commit=store``) upload its content,
    then block before committing: to be killed with SIGKILL (or released with a line)."""
    ds = dataver.Registry(registry).get(version_id, states=None)
    w = ds.writer(writer)
    w.start()
    w.add_files(folder, dataset_path=prefix)
    if commit == "store":
        assert w._runs is not None
        w._runs.flush()  # NOTE: uploads the content and stores the change sets
    _say("started")
    sys.stdin.readline()
    try:
        w.commit()
    except dataver.DataverError as exc:
        _report(outcome=type(exc).__name__, message=str(exc))
        return
    _report(outcome="ok")


COMMANDS = {
    "contribute": contribute,
    "contribute_hold": contribute_hold,
    "create": create,
    "finalize": finalize,
    "hold": hold,
    "upload": upload,
    "upload_killed": upload_killed,
    "get": get,
    "slow_get": slow_get,
    "hold_get": hold_get,
    "error": error,
    "pipeline": pipeline,
    "load_writer": load_writer,
    "load_reader": load_reader,
    "stall": stall,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
