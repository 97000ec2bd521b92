"""A live Airflow for the tests: api-server, scheduler, dag-processor and triggerer as processes.

Not a test module: :class:`LiveAirflow` starts the four Airflow services as separate
processes (as a deployment runs them) on loopback, with a fresh ``AIRFLOW_HOME``, a SQLite
metadata database and the LocalExecutor, and drives them from outside: DAG runs are
triggered through the ``airflow`` CLI and the REST API (with a JWT of the simple auth
manager), states are read through the REST API with bounded polling, and the database is
read directly (read-only) for what the REST API does not show (asset watchers, triggers).

Every process is started in its own session and stopped (SIGTERM, then SIGKILL of its
process group) by :meth:`LiveAirflow.stop`; every wait has a deadline. Each service's output
goes to ``<home>/logs/<service>.log``; :meth:`LiveAirflow.tails` returns their ends for
failure messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

import httpx

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
USERS = {"admin": "admin", "viewer": "viewer"}  # user -> role (simple auth manager)


class LiveAirflowError(AssertionError):
    """A live service did not start, or a wait ran out of time (the message has the logs)."""


def free_port() -> int:
    """A TCP port nobody listens on at loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveAirflow:
    """A running Airflow deployment in ``home`` (see the module docstring).

    Args:
        home: A fresh, empty folder: ``AIRFLOW_HOME``.
        bundles: DAG bundle name -> folder of DAG files.
        env: More environment for every service (connections, settings).
        registry_url: The dataver registry behind the ``dataver_default`` connection.
    """

    home: Path
    bundles: Mapping[str, Path]
    env: Mapping[str, str] = field(default_factory=dict)
    registry_url: str = ""
    port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    # ------------------------------------------------------------------ processes

    def environ(self) -> dict[str, str]:
        """The environment of every Airflow process (and CLI call) of this deployment."""
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
            and k not in ("AIRFLOW_HOME", "PYTEST_CURRENT_TEST")
        }
        bundles = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path), "refresh_interval": 0},
            }
            for name, path in self.bundles.items()
        ]
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # NOTE: SQLite takes one writer at a time: few task processes at once.
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{user}:{role}" for user, role in USERS.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__API__BASE_URL": f"{self.url}/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            # NOTE: files are parsed again every few seconds, as a busy deployment does.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__SCHEDULER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "task-logs"),
            "AIRFLOW__OPENLINEAGE__DISABLED": "True",
            "PYTHONUNBUFFERED": "1",
        }
        return {**inherited, **settings, **self.env}

    def _secret(self, name: str) -> str:
        path = self.home / f".{name}-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text()

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        """Run ``airflow <args>`` in this deployment; returns its output (stdout)."""
        try:
            done = subprocess.run(
                [AIRFLOW, *args],
                env=self.environ(),
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=self.home,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LiveAirflowError(f"airflow {' '.join(args)} took over {timeout}s") from exc
        if check and done.returncode != 0:
            raise LiveAirflowError(
                f"airflow {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def start(self, timeout: float = 180) -> None:
        """Migrate the database, start the four services, wait until all are healthy."""
        deadline = time.monotonic() + timeout
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        self.passwords = {user: secrets.token_urlsafe(12) for user in USERS}
        (self.home / "passwords.json").write_text(json.dumps(self.passwords))
        self.cli("db", "migrate", timeout=max(30.0, deadline - time.monotonic()))
        for service in SERVICES:
            self.start_service(service)
        self.wait_until(self.healthy, "all services healthy", deadline - time.monotonic())

    def start_service(self, service: str) -> None:
        """Start one service (``api-server``, ``scheduler``, ...) as a process of its own."""
        args = [AIRFLOW, service]
        if service == "api-server":
            args += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        log = (self.home / "logs" / f"{service}.log").open("ab")
        try:
            self._procs[service] = subprocess.Popen(
                args,
                env=self.environ(),
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # NOTE: its own process group, killed as a whole
            )
        finally:
            log.close()

    def stop_service(self, service: str, timeout: float = 30) -> None:
        """Stop one service (SIGTERM, SIGKILL after ``timeout``) with all its children."""
        proc = self._procs.pop(service, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        # NOTE: the group may hold children (task processes) the leader left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop every service this deployment started."""
        for service in reversed(list(self._procs)):
            self.stop_service(service)

    def running(self, service: str) -> bool:
        proc = self._procs.get(service)
        return proc is not None and proc.poll() is None

    def tails(self, lines: int = 40) -> str:
        """The last lines of every service's log, for failure messages."""
        parts = []
        for log in sorted((self.home / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def log_of(self, service: str) -> str:
        path = self.home / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ waiting

    def wait_until(
        self, check: Callable[[], Any], what: str, timeout: float, interval: float = 0.5
    ) -> Any:
        """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            for service in SERVICES:
                if service in self._procs and not self.running(service):
                    raise LiveAirflowError(
                        f"{service} exited while waiting for {what}\n{self.tails()}"
                    )
            try:
                if result := check():
                    return result
            except (httpx.HTTPError, sqlite3.Error, LiveAirflowError) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                raise LiveAirflowError(
                    f"no {what} after {timeout:.0f}s (last error: {last_error!r})\n{self.tails()}"
                )
            time.sleep(interval)

    def healthy(self) -> bool:
        """Whether the API server says its database, scheduler, triggerer and dag-processor
        are healthy."""
        health = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    # ------------------------------------------------------------------ REST API

    def token(self, user: str = "admin") -> str:
        """A JWT for ``user`` (``POST /auth/token`` with the user's password)."""
        if user not in self._tokens:
            response = httpx.post(
                f"{self.url}/auth/token",
                json={"username": user, "password": self.passwords[user]},
                timeout=10,
            )
            response.raise_for_status()
            self._tokens[user] = response.json()["access_token"]
        return self._tokens[user]

    def api(
        self, method: str, path: str, *, user: str = "admin", expect: int | None = 200, **kw: Any
    ) -> Any:
        """Call the REST API (``/api/v2<path>``) as ``user``; returns the JSON answer.

        A 500 "Database error" is asked again (up to 5 times): the deployment runs on SQLite,
        which the scheduler, dag-processor and triggerer lock in turn, and a write that met a
        lock was rolled back (Airflow's own answer to that is "use a server database").
        """
        for attempt in range(5):
            response = httpx.request(
                method,
                f"{self.url}/api/v2{path}",
                headers={"Authorization": f"Bearer {self.token(user)}"},
                timeout=30,
                **kw,
            )
            if response.status_code != 500 or "Database error" not in response.text:
                break
            time.sleep(0.5 * (attempt + 1))
        if expect is not None and response.status_code != expect:
            raise LiveAirflowError(
                f"{method} {path}: {response.status_code} {response.text[:2000]}"
            )
        return response.json() if response.content else None

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        response = httpx.get(
            f"{self.url}/api/v2/dags/{dag_id}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=10,
        )
        return response.json() if response.status_code == 200 else None

    def wait_for_dags(self, *dag_ids: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has parsed (serialized) every DAG of ``dag_ids``."""
        for dag_id in dag_ids:
            self.wait_until(lambda d=dag_id: self.dag(d), f"DAG {dag_id} parsed", timeout)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger_cli(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """``airflow dags trigger`` (no logical date, as the UI's trigger button); the run id."""
        self.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf or {}))
        return run_id

    def trigger_rest(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """``POST /api/v2/dags/<dag_id>/dagRuns`` with ``logical_date: null``; the run id."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})}
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float = 180,
        states: Iterable[str] = ("success", "failed"),
    ) -> str:
        """Wait until the run is in one of ``states``; returns the state."""
        wanted = set(states)
        return str(
            self.wait_until(
                lambda: (state := self.run_state(dag_id, run_id)) in wanted and state,
                f"run {dag_id}/{run_id} in {sorted(wanted)}",
                timeout,
                interval=1.0,
            )
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's task instances by ``task_id`` (``task_id[map_index]`` when mapped)."""
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {
            ti["task_id"] if ti["map_index"] == -1 else f"{ti['task_id']}[{ti['map_index']}]": ti
            for ti in found["task_instances"]
        }

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", path, params={"deserialize": True})["value"]

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])

    def asset_events(self, uri: str) -> list[dict[str, Any]]:
        """Every event of the asset with this URI, oldest first: ``extra``,
        ``source_dag_id``, ``source_task_id``, ``source_run_id``.

        NOTE: read from the database: the REST API lists active assets only, and Airflow
        activates an asset it created for an event (through an alias) a while later.
        """
        rows = self.query(
            "SELECT e.extra, e.source_dag_id, e.source_task_id, e.source_run_id "
            "FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ? ORDER BY e.id",
            uri,
        )
        return [
            {
                "extra": json.loads(extra) if extra else {},
                "source_dag_id": dag_id,
                "source_task_id": task_id,
                "source_run_id": run_id,
            }
            for extra, dag_id, task_id, run_id in rows
        ]

    # ------------------------------------------------------------------ database

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query of the metadata database (what REST does not show)."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        ) as db:
            return db.execute(sql, args).fetchall()
