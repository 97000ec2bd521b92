"""``make demo``: the example pipeline end to end, on a local folder registry.

1. Airflow: the example DAG ``dataver_ingest_train`` (ingest -> version -> sensor -> train)
   runs twice with ``airflow dags test`` (a temporary AIRFLOW_HOME, SQLite), for two days:
   a parent version and a child version of ``examples/points``.
2. Prefect: the example flow ``dataver-ingest-train`` runs on the same registry for a third
   day: a further child, published.
3. A report: every version with its state, what it stored against its logical size, the diff
   of the last child, the lineage as a tree, and the command that opens the web page.

Each stage prints what it does; a failing stage is named with the log file to read. Everything
lands in ``.demo/`` (recreated on every run, kept afterwards so the registry can be browsed).

Usage: ``python examples/demo.py --airflow-python PY --prefect-python PY`` (the Makefile passes
the interpreters of ``.venv/airflow`` and ``.venv/prefect``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dataver

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "examples" / "dags"
DAG_ID = "dataver_ingest_train"
AIRFLOW_DAYS = ("2026-11-19", "2026-11-20")
PREFECT_DAY = "2026-11-21"
PROJECT, NAME = "examples", "points"


class StageError(RuntimeError):
    """A stage of the demo failed; the message names it and its log."""


def stage(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(name: str, command: list[str], env: dict[str, str], log: Path) -> None:
    """Run one command of a stage, its output into ``log``; fail naming the stage and log."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(  # noqa: S603 - our own commands, from our own arguments
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    took = time.perf_counter() - start
    if done.returncode != 0:
        _print_tail(log)
        raise StageError(f"stage '{name}' failed (exit {done.returncode}); read {log}")
    print(f"    {name}: ok ({took:.1f} s)", flush=True)


def _print_tail(log: Path, lines: int = 40) -> None:
    """Show the end of a failed stage's log, so a CI run names the cause without the file."""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    print(f"    last {len(tail)} lines of {log}:", file=sys.stderr)
    for line in tail:
        print(f"    | {line}", file=sys.stderr)
    sys.stderr.flush()


def airflow_stage(python: Path, work: Path, base_env: dict[str, str]) -> None:
    """Two days of the example DAG with ``airflow dags test``: a parent and a child."""
    stage(f"airflow: `airflow dags test {DAG_ID}` for {', '.join(AIRFLOW_DAYS)} (SQLite, {work})")
    home = work / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(DAGS / "airflow_ingest_train.py", dags)
    env = {
        **base_env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_DATAVER_DEFAULT": json.dumps(
            {"conn_type": "dataver", "extra": {"registry": str(work / "registry")}}
        ),
    }
    airflow = [str(python), "-m", "airflow"]
    log = work / "logs" / "airflow.log"
    run("airflow db migrate", [*airflow, "db", "migrate"], env, log)
    conf = json.dumps({"workdir": str(work / "exports")})
    for day in AIRFLOW_DAYS:
        command = [*airflow, "dags", "test", DAG_ID, day, "--conf", conf]
        run(f"dags test {day}", command, env, log)


def prefect_stage(python: Path, work: Path, base_env: dict[str, str]) -> None:
    """The example Prefect flow for a third day, on the same registry: a further child."""
    stage(f"prefect: flow dataver-ingest-train for {PREFECT_DAY} (ephemeral Prefect server)")
    env = {
        **base_env,
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        # A busy 2-core machine needs more than the default 20 s to start the server and
        # more than 10 s of SQLite busy-wait; telemetry only adds writes to the same file.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = work / "logs" / "prefect.log"
    # Migrating the fresh SQLite database up front keeps it out of the server's startup window.
    migrate = [str(python), "-m", "prefect", "--no-prompt", "server", "database", "upgrade", "-y"]
    run("prefect database upgrade", migrate, env, log)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from prefect_ingest_train import ingest_train;"
        "print(ingest_train(registry=sys.argv[2], workdir=sys.argv[3], day=sys.argv[4]))"
    )
    command = [
        str(python),
        "-c",
        code,
        str(DAGS),
        str(work / "registry"),
        str(work / "exports"),
        PREFECT_DAY,
    ]
    run(f"flow {PREFECT_DAY}", command, env, log)


def report(work: Path) -> None:
    """What the pipeline left in the registry."""
    stage("report")
    registry = dataver.Registry(str(work / "registry"))
    versions = sorted(registry.list(project=PROJECT, name=NAME), key=lambda d: d.created_at)
    if len(versions) < 3:
        raise StageError(f"stage 'report': expected 3 versions, found {len(versions)}")
    print(f"registry {registry.url}: {PROJECT}/{NAME}, {len(versions)} versions\n")
    print(f"    {'version':<8} {'state':<10} {'files':>5} {'logical':>10} {'stored':>10}  built by")
    for ds in versions:
        s = ds.stats
        print(
            f"    {ds.version:<8} {ds.state.value:<10} {s.files:>5} {_size(s.logical_bytes):>10} "
            f"{_size(s.stored_bytes):>10}  {_built_by(ds)}"
        )
    last = versions[-1]
    diff = last.diff()
    print(f"\n    diff of {last.version} against its parent {_version_of(registry, last)}:")
    for kind in ("added", "removed", "modified"):
        print(f"      {kind:<9} {list(getattr(diff, kind))}")
    print(f"      renamed   {[f'{a} -> {b}' for a, b in diff.renamed]}")
    print("\n    lineage:")
    _tree(registry, versions)
    print(f"\n    verify {last.version}: {last.verify() or 'every byte matches'}")
    print("\nopen the web page of this registry:")
    print(f"    .venv/core/bin/dataver ui --registry {registry.url}")


def _tree(registry: dataver.Registry, versions: list[dataver.Dataset]) -> None:
    children: dict[str, list[dataver.Dataset]] = {}
    for ds in versions:
        for parent in ds.parents:
            children.setdefault(parent, []).append(ds)
    roots = [ds for ds in versions if not ds.parents]

    def show(ds: dataver.Dataset, depth: int) -> None:
        lead = "      " + "    " * depth + ("└── " if depth else "")
        print(f"{lead}{ds.version} [{ds.state.value}] {ds.id[:12]}")
        for child in children.get(ds.id, []):
            show(child, depth + 1)

    for root in roots:
        show(root, 0)


def _built_by(ds: dataver.Dataset) -> str:
    p = ds.provenance
    if "dag_id" in p:
        return f"airflow {p['dag_id']}.{p.get('task_id')} ({p.get('logical_date', '')[:10]})"
    if "flow_run_id" in p or "flow_name" in p:
        return f"prefect {p.get('flow_name', 'flow')}"
    return "sdk"


def _version_of(registry: dataver.Registry, ds: dataver.Dataset) -> str:
    return ", ".join(registry.get(p, states=None).version for p in ds.parents) or "-"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airflow-python", type=Path, required=True)
    parser.add_argument("--prefect-python", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=ROOT / ".demo")
    args = parser.parse_args(argv)
    work: Path = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)  # NOTE: idempotent: every run starts afresh
    (work / "logs").mkdir(parents=True)
    base_env = {**os.environ, "DATAVER_CACHE_DIR": str(work / "cache")}
    base_env.pop("DATAVER_REGISTRY", None)
    started = time.perf_counter()
    try:
        airflow_stage(args.airflow_python, work, base_env)
        prefect_stage(args.prefect_python, work, base_env)
        report(work)
    except StageError as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\ndemo done in {time.perf_counter() - started:.0f} s; everything is in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
