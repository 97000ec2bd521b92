"""Every process a benchmark starts runs with compiled bytecode, as an installed tool does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.environment import bytecode_env

if TYPE_CHECKING:
    from pathlib import Path


def test_bytecode_is_written_and_the_rest_of_the_environment_kept(tmp_path: Path) -> None:
    base = {"PYTHONDONTWRITEBYTECODE": "1", "SSL_CERT_FILE": "/etc/ca.crt", "PATH": "/bin"}
    env = bytecode_env(tmp_path / "pycache", base)
    assert env == {
        "SSL_CERT_FILE": "/etc/ca.crt",
        "PATH": "/bin",
        "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache"),
    }
    assert base["PYTHONDONTWRITEBYTECODE"] == "1"  # NOTE: a new mapping; base is untouched
