"""Storage backends behind one port; :func:`open_store` picks one from a URL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from dataver.errors import ConfigurationError
from dataver.storage.base import ObjectInfo, Store
from dataver.storage.local import LocalStore

if TYPE_CHECKING:
    from pathlib import Path

    from dataver.settings import Settings

__all__ = ["LocalStore", "ObjectInfo", "Store", "open_store", "redact_url"]

_S3_SCHEMES = ("s3", "s3a")
_CREDENTIALS_HELP = (
    "pass credentials as storage_options (key, secret, token or profile), in the AWS_* "
    "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
    "AWS_PROFILE), or in an AWS profile"
)


def redact_url(url: str | Path) -> str:
    """``url`` with any credentials in it replaced by ``***``: safe to show or log.

    Example:
        >>> redact_url("s3://AKIAEXAMPLE:wJalr/XUtnFEMI@bucket/prefix")
        's3://***@bucket/prefix'
        >>> redact_url("s3://bucket/prefix")
        's3://bucket/prefix'
    """
    text = str(url)
    if not _has_credentials(text):
        return text
    scheme, _, rest = text.partition("://")
    return f"{scheme}://***@{rest[rest.rindex('@') + 1 :]}"


def _has_credentials(text: str) -> bool:
    """Whether a URL carries credentials (``scheme://user:secret@host/...``).

    NOTE: a secret may hold "/" (AWS secrets do), which ends the authority early for a URL
    parser: ``s3://KEY:abc/def@bucket`` parses as host ``KEY:abc``. So: any "@" in the
    authority (for S3 even a bare key id), or a ":" in it not followed by a port number when
    an "@" comes later.
    """
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return False
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        user = authority.rsplit("@", 1)[0]
        return scheme.lower() in _S3_SCHEMES or ":" in user
    _, colon, port = authority.partition(":")
    return bool(colon) and not port.isdigit()


def open_store(
    url: str | Path, *, storage_options: dict[str, Any] | None = None, settings: Settings
) -> Store:
    """Return the store for a registry URL.

    Args:
        url: A local path or ``file://`` URL (:class:`LocalStore`), ``s3://bucket/prefix``
            (:class:`~dataver.storage.s3.S3Store`), or any other fsspec URL
            (:class:`~dataver.storage.fsspec.FsspecStore`: ``memory://``, ``gs://``, ...).
        storage_options: Backend options (S3: key, secret, token, profile, region,
            endpoint_url, addressing_style; fsspec: the filesystem's own options).
        settings: Settings in force.

    Returns:
        A :class:`Store`.

    Raises:
        ConfigurationError: The URL scheme has no fsspec implementation installed, a storage
            option is wrong, or the URL carries credentials (``s3://KEY:SECRET@bucket``):
            they would show wherever the URL does (errors, reprs, logs, CLI output), so
            such a URL is refused, and its error shows it redacted.
    """
    text = str(url)
    if _has_credentials(text):
        shown = redact_url(text)
        s3 = text.partition("://")[0].lower() in _S3_SCHEMES
        how = _CREDENTIALS_HELP if s3 else "pass them in storage_options (the filesystem's own)"
        raise ConfigurationError(
            f"registry URL {shown} carries credentials, which would show wherever the URL "
            f"does; give the URL without them and {how}",
            url=shown,
        )
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:3] == ":\\"):
        path = unquote(parsed.path) if parsed.scheme == "file" else text
        return LocalStore(path, fsync=settings.fsync)
    if parsed.scheme in ("s3", "s3a"):
        from dataver.storage.s3 import S3Store

        return S3Store(
            "s3://" + text.split("://", 1)[1], settings=settings, storage_options=storage_options
        )
    from dataver.storage.fsspec import FsspecStore

    return FsspecStore(text, settings=settings, storage_options=storage_options)
