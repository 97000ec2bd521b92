"""One settings object, read from ``DATAVER_*`` environment variables at call time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, BeforeValidator, ByteSize, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from dataver.errors import ConfigurationError

ENV_PREFIX = "DATAVER_"
"""Every setting ``name`` is read from the environment variable ``DATAVER_<NAME>``."""

HashAlgorithm = Literal["blake3", "sha256"]
CacheVerify = Literal["marker", "size", "hash"]
_VERIFY_ALIASES = {"0": "marker", "false": "marker", "off": "marker", "1": "hash", "true": "hash"}


def _verify_level(value: object) -> object:
    if isinstance(value, bool):
        return "hash" if value else "marker"
    if isinstance(value, str):
        return _VERIFY_ALIASES.get(value.strip().lower(), value.strip().lower())
    return value


def _byte_size(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in {"", "0", "none", "off"}:
        return None
    return value


def _default_registry() -> str:
    return str(Path(platformdirs.user_data_dir("dataver")) / "registry")


def _default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("dataver"))


class Settings(BaseModel):
    """Every knob of dataver, from ``DATAVER_<NAME>`` environment variables.

    Build one with ``Settings()`` whenever a value is needed: reading at call time lets tests
    and long-running workers change the environment without re-importing dataver. Values
    given as arguments win over the environment (``Settings(max_workers=2)``).
    """

    # NOTE: a plain model reading the environment itself, not pydantic-settings: that package
    # costs a tenth of a second to import (every process pays it), for the few lines below.
    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        """Fill every field not given from ``DATAVER_<NAME>`` (names in any case)."""
        if not isinstance(given, dict):
            return given
        found = {}
        for key, value in os.environ.items():
            upper = key.upper()
            if upper.startswith(ENV_PREFIX):
                name = upper[len(ENV_PREFIX) :].lower()
                if name in cls.model_fields and name not in given:
                    found[name] = value
        return {**found, **given}

    registry: str = Field(default_factory=_default_registry, description="Default registry URL.")
    cache_dir: Path = Field(default_factory=_default_cache, description="Local cache folder.")
    hash_algorithm: HashAlgorithm = Field(default="blake3", description="Hash for new content.")
    max_workers: int = Field(default=8, ge=1, le=256, description="Parallel transfers.")
    pack_threshold: int = Field(
        default=1 << 20, ge=0, description="Files smaller than this (bytes) go into packs."
    )
    pack_size: int = Field(default=32 << 20, ge=1 << 16, description="Target pack size (bytes).")
    chunk_threshold: int = Field(
        default=8 << 20,
        ge=0,
        description=(
            "Files of at least this many bytes are stored as content-defined chunks, so a "
            "changed file stores about the change (0: never)."
        ),
    )
    chunk_size: int = Field(
        default=1 << 20,
        ge=64 << 10,
        le=4 << 20,
        description="Average size FastCDC aims at past each chunk's minimum (bytes).",
    )
    lease_seconds: float = Field(
        default=600.0, gt=0, description="An Uploading version not renewed for this long is stale."
    )
    gc_grace_seconds: float = Field(
        default=3600.0, ge=0, description="gc never deletes objects younger than this."
    )
    retry_attempts: int = Field(default=5, ge=1, description="Attempts for transient errors.")
    retry_max_wait: float = Field(default=20.0, gt=0, description="Longest backoff (seconds).")
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to open a connection to remote storage."
    )
    read_timeout: float = Field(
        default=60.0, gt=0, description="Seconds remote storage may stay silent while answering."
    )
    operation_timeout: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Seconds one storage call may take (a transfer: without moving a byte) before it "
            "is given up and retried as transient."
        ),
    )
    fsync: bool = Field(default=True, description="fsync local registry writes.")
    stat_cache: bool = Field(default=True, description="Skip re-hashing unchanged files.")
    cache_verify: Annotated[CacheVerify, BeforeValidator(_verify_level)] = Field(
        default="marker",
        description=(
            "What a get of an already cached version checks: 'marker' (the completion marker "
            "only), 'size' (every file's size), 'hash' or 1 (every file's hash)."
        ),
    )
    cache_max_size: Annotated[ByteSize | None, BeforeValidator(_byte_size)] = Field(
        default=None,
        description="Evict least recently used cache content beyond this size (e.g. 50GB).",
    )
    # NOTE: a plain comma-separated string, as people write names in a variable; dataver.ui
    # splits it.
    ui_allowed_hosts: str = Field(
        default="",
        description=(
            "Host names the web page answers to beyond localhost and the address it listens "
            "on, comma-separated (e.g. its public name behind a proxy; * for any)."
        ),
    )


def get_settings() -> Settings:
    """Return the settings as the environment holds them now.

    Raises:
        ConfigurationError: A ``DATAVER_*`` variable holds an invalid value.
    """
    try:
        return Settings()
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        name = "DATAVER_" + "_".join(str(part) for part in error["loc"]).upper()
        raise ConfigurationError(
            f"invalid setting {name}={error.get('input')!r}: {error['msg']}", setting=name
        ) from exc
