"""A registry in an S3 bucket (AWS, MinIO, Ceph, moto...), on boto3.

Compare-and-swap uses S3 conditional writes: ``create`` is ``PutObject`` with
``If-None-Match: *`` and ``replace`` is ``PutObject`` with ``If-Match: <etag>``, so two hosts can
never both create one key or both swap the same record. Large files go through boto3's transfer
manager (multipart uploads, ranged parallel downloads); single files inside packs are read with
one ranged ``GetObject``. Every call runs under the one retry policy (:mod:`dataver.retry`):
throttling, 5xx, timeouts and dropped connections are retried with backoff; everything else
surfaces at once. botocore's own retries are off, so attempts are not multiplied.

Credentials come from ``storage_options`` (``key``/``secret``/``token``, ``profile``,
``region``, ``endpoint_url``, ``addressing_style``) or boto3's standard chain (``AWS_*``
variables including ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, config files, instance
roles). They are handed to boto3 only: never logged, never part of an error or a record.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dataver.errors import (
    ConfigurationError,
    ConflictError,
    ObjectNotFoundError,
    StorageError,
    TransientStorageError,
)
from dataver.retry import retry_policy
from dataver.storage.base import ObjectInfo, Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from dataver.settings import Settings

log = logging.getLogger("dataver.storage.s3")

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "403"}
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "500",
    "502",
    "503",
    "504",
}
_OPTION_NAMES = {
    "key",
    "secret",
    "token",
    "profile",
    "region",
    "endpoint_url",
    "addressing_style",
}
# NOTE: multipart only pays off for big files; below this one PutObject is one request.
_MULTIPART_THRESHOLD = 64 << 20
_MULTIPART_CHUNK = 16 << 20


class S3Store(Store):
    """Store on ``s3://bucket/prefix``.

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix``.
        settings: Settings in force (workers size the connection pool; retry policy).
        storage_options: ``key``, ``secret``, ``token``, ``profile``, ``region``,
            ``endpoint_url``, ``addressing_style`` (``path`` or ``virtual``).

    Raises:
        ConfigurationError: Bad URL, unknown option, or boto3 is not installed.
    """

    read_ahead = 4

    def __init__(
        self, url: str, *, settings: Settings, storage_options: dict[str, Any] | None = None
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigurationError(f"not an S3 URL: {url!r} (use s3://bucket/prefix)", url=url)
        options = dict(storage_options or {})
        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise ConfigurationError(
                f"unknown S3 storage option(s) {unknown}; known: {sorted(_OPTION_NAMES)}",
                options=unknown,
            )
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.url = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._settings = settings
        self._client, self._transfer = _client(options, settings.max_workers)

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # ------------------------------------------------------------------ helpers
    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, func: Callable[[], Any]) -> Any:
        """Run one S3 call under the retry policy, with errors translated to dataver's."""

        def attempt() -> Any:
            try:
                return func()
            except Exception as exc:
                raise _translate(exc, what, self.url, key) from exc

        return retry_policy(self._settings)(attempt)

    # ------------------------------------------------------------------ reads
    def read(self, key: str) -> bytes:
        def get() -> bytes:
            body: bytes = self._client.get_object(Bucket=self.bucket, Key=self._key(key))[
                "Body"
            ].read()
            return body

        result: bytes = self._call("read", key, get)
        return result

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""

        def get() -> bytes:
            response = self._client.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{start + length - 1}"
            )
            data: bytes = response["Body"].read()
            if len(data) != length:
                raise TransientStorageError(
                    f"short read of {self.url}/{key}: {len(data)} of {length} bytes", key=key
                )
            return data

        result: bytes = self._call("read", key, get)
        return result

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        def get() -> tuple[bytes, str]:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), str(response["ETag"])

        result: tuple[bytes, str] = self._call("read", key, get)
        return result

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        def head() -> int:
            return int(
                self._client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
            )

        result: int = self._call("stat", key, head)
        return result

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
            if token:
                kwargs["ContinuationToken"] = token
            page: dict[str, Any] = self._call(
                "list", prefix, _bound(self._client.list_objects_v2, kwargs)
            )
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    item["Key"][strip:], int(item["Size"]), item["LastModified"].timestamp()
                )
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def get_file(self, key: str, local: Path) -> None:
        self._call(
            "download",
            key,
            lambda: self._client.download_file(
                self.bucket, self._key(key), str(local), Config=self._transfer
            ),
        )

    # ------------------------------------------------------------------ writes
    def write(self, key: str, data: bytes) -> None:
        self._call(
            "write",
            key,
            lambda: self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data),
        )

    def create(self, key: str, data: bytes) -> str:
        attempts = 0

        def put() -> str:
            nonlocal attempts
            attempts += 1
            response = self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
            )
            return str(response["ETag"])

        try:
            token: str = self._call("create", key, put)
        except ConflictError:
            etag = self._own_write(key, data, attempts)
            if etag is not None:
                return etag
            raise ConflictError(f"{key} already exists in {self.url}", key=key) from None
        return token

    def replace(self, key: str, data: bytes, token: str) -> str:
        attempts = 0

        def put() -> str:
            nonlocal attempts
            attempts += 1
            response = self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfMatch=token
            )
            return str(response["ETag"])

        try:
            result: str = self._call("replace", key, put)
        except ObjectNotFoundError:
            raise ConflictError(f"{key} was deleted from {self.url}", key=key) from None
        except ConflictError:
            etag = self._own_write(key, data, attempts)
            if etag is not None:
                return etag
            raise ConflictError(f"{key} was changed by another writer", key=key) from None
        return result

    def _own_write(self, key: str, data: bytes, attempts: int) -> str | None:
        """The ETag of ``key`` if a failed condition was our own earlier attempt, else None.

        NOTE: a retried attempt may fail its condition on the write of a first attempt whose
        answer was lost: the key holding exactly our bytes means that write was ours.
        """
        if attempts < 2:
            return None
        current, etag = self.read_with_token(key)
        return etag if current == data else None

    def put_file(self, local: Path, key: str) -> None:
        # NOTE: upload_file reopens the file on every attempt: a retry restarts from a clean
        # stream, and an interrupted multipart upload is aborted by the transfer manager.
        self._call(
            "upload",
            key,
            lambda: self._client.upload_file(
                str(local), self.bucket, self._key(key), Config=self._transfer
            ),
        )

    def delete(self, key: str) -> None:
        self._call(
            "delete",
            key,
            lambda: self._client.delete_object(Bucket=self.bucket, Key=self._key(key)),
        )

    def close(self) -> None:
        self._client.close()


def _bound(func: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[[], Any]:
    return lambda: func(**kwargs)


def _client(options: dict[str, Any], workers: int) -> tuple[Any, Any]:
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - boto3 is in the s3 extra
        raise ConfigurationError(
            "S3 registries need boto3: pip install 'dataver[s3]'", missing="boto3"
        ) from exc
    session = boto3.session.Session(
        aws_access_key_id=options.get("key"),
        aws_secret_access_key=options.get("secret"),
        aws_session_token=options.get("token"),
        profile_name=options.get("profile"),
        region_name=options.get("region"),
    )
    config = Config(
        max_pool_connections=max(10, 2 * workers),
        retries={"total_max_attempts": 1},
        s3={"addressing_style": options.get("addressing_style", "auto")},
        connect_timeout=10,
        read_timeout=60,
    )
    client = session.client("s3", endpoint_url=options.get("endpoint_url"), config=config)
    transfer = TransferConfig(
        multipart_threshold=_MULTIPART_THRESHOLD,
        multipart_chunksize=_MULTIPART_CHUNK,
        max_concurrency=workers,
        use_threads=True,
    )
    return client, transfer


def _translate(exc: Exception, what: str, url: str, key: str) -> Exception:
    """Map a boto3/botocore error to dataver's hierarchy (messages name no credentials)."""
    if isinstance(exc, StorageError | ConflictError):
        return exc
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        ResponseStreamingError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    where = f"{url}/{key}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code == "NoSuchBucket":
            return ConfigurationError(f"S3 bucket of {url} does not exist (NoSuchBucket)", url=url)
        if code in _DENIED:
            return ConfigurationError(
                f"S3 refused {what} of {where}: {code} (check the credentials and their rights)",
                url=url,
                code=code,
            )
        if code in _NOT_FOUND or (status == "404" and what != "list"):
            return ObjectNotFoundError(f"{where} does not exist", key=key)
        if code in _CONFLICT or status in {"412", "409"}:
            return ConflictError(f"condition failed on {where} ({code or status})", key=key)
        if code in _TRANSIENT or status.startswith("5"):
            return TransientStorageError(f"S3 {what} of {where} failed: {code or status}", key=key)
        return StorageError(f"S3 {what} of {where} failed: {code or status}", key=key, code=code)
    if isinstance(exc, NoCredentialsError):
        return ConfigurationError(f"no AWS credentials found for {url}", url=url)
    if isinstance(exc, S3UploadFailedError):
        transient = any(t in str(exc) for t in _TRANSIENT)
        kind = TransientStorageError if transient else StorageError
        return kind(f"S3 upload to {where} failed", key=key)
    if isinstance(
        exc,
        BotoConnectionError | HTTPClientError | IncompleteReadError | ResponseStreamingError,
    ):
        return TransientStorageError(
            f"S3 {what} of {where}: connection error ({type(exc).__name__})", key=key
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 {what} of {where} failed ({type(exc).__name__})", key=key)
    if isinstance(exc, OSError):
        return TransientStorageError(f"S3 {what} of {where}: {type(exc).__name__}", key=key)
    return exc
