"""A registry in an S3 bucket (AWS, MinIO, Ceph, moto...), on boto3.

Compare-and-swap uses S3 conditional writes: ``create`` is ``PutObject`` with
``If-None-Match: *`` and ``replace`` is ``PutObject`` with ``If-Match: <etag>``, so two hosts can
never both create one key or both swap the same record. Large files go through boto3's transfer
manager (multipart uploads, ranged parallel downloads); single files inside packs are read with
one ranged ``GetObject``. Every call runs under the one retry policy (:mod:`dataver.retry`):
throttling, 5xx, timeouts, dropped connections and malformed or truncated answers are retried
with backoff; everything else surfaces at once. Each attempt has a deadline
(:mod:`~dataver.storage.s3.client`); errors are translated at one boundary
(:mod:`~dataver.storage.s3.errors`).

Credentials come from ``storage_options`` (``key``/``secret``/``token``, ``profile``,
``region``, ``endpoint_url``, ``addressing_style``) or boto3's standard chain (``AWS_*``
variables including ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, config files, instance
roles). They are handed to boto3 only, and redacted from its logs
(:mod:`~dataver.storage.s3.logs`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dataver import progress
from dataver.errors import (
    ConfigurationError,
    ConflictError,
    DataverError,
    IntegrityError,
    ObjectNotFoundError,
)
from dataver.retry import Watch, call_with_deadline, retry_policy
from dataver.storage.base import ObjectInfo, Store
from dataver.storage.s3 import answers
from dataver.storage.s3.client import make_client, transfer
from dataver.storage.s3.errors import translate
from dataver.storage.s3.logs import redact_logs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from dataver.settings import Settings

log = logging.getLogger("dataver.storage.s3")

_OPTION_NAMES = {
    "key",
    "secret",
    "token",
    "profile",
    "region",
    "endpoint_url",
    "addressing_style",
}


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
        self._client, self._transfer = make_client(options, settings)
        redact_logs(options)

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # ------------------------------------------------------------------ helpers
    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, func: Callable[[], Any]) -> Any:
        """Run one S3 call under the retry policy and the deadline, errors translated."""
        return self._run(what, key, lambda watch: func())

    def _run(self, what: str, key: str, func: Callable[[Watch], Any]) -> Any:
        """:meth:`_call` for a call that reports the bytes it moves to its :class:`Watch`."""
        settings = self._settings
        redact_logs(None)  # NOTE: cheap unless a module imported since added a logger

        def attempt() -> Any:
            try:
                with progress.waiting():
                    result = call_with_deadline(
                        func,
                        seconds=settings.operation_timeout,
                        what=f"S3 {what} of {self.url}/{key}",
                        key=key,
                    )
            except DataverError:
                raise
            except Exception as exc:
                translated = translate(exc, what, self.url, key)
                if translated is exc:
                    raise
                raise translated from exc
            progress.pulse()
            return result

        return retry_policy(settings)(attempt)

    # ------------------------------------------------------------------ reads
    def read(self, key: str) -> bytes:
        def get() -> bytes:
            return answers.body(self._client.get_object(Bucket=self.bucket, Key=self._key(key)))

        result: bytes = self._call("read", key, get)
        return result

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""

        def get() -> bytes:
            from botocore.exceptions import ClientError

            try:
                response = self._client.get_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Range=f"bytes={start}-{start + length - 1}",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                data = b""  # NOTE: 416: the object ends before ``start``
            else:
                data = answers.body(response)
            if len(data) < length:
                self._check_truncated(key, start + length)
            if len(data) != length:
                raise answers.MalformedAnswerError(f"{len(data)} bytes for a range of {length}")
            return data

        result: bytes = self._call("read", key, get)
        return result

    def _check_truncated(self, key: str, end: int) -> None:
        """Raise IntegrityError if the object itself ends before ``end``.

        NOTE: a complete answer (its length as announced) shorter than the range asked means
        the stored object is short, and retrying cannot help; a HEAD confirms it, so one odd
        answer never condemns an object.
        """
        answer = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        size = answer.get("ContentLength")
        if size is None:
            raise answers.MalformedAnswerError("a HEAD answer without Content-Length")
        if int(size) < end:
            raise IntegrityError(
                f"{self.url}/{key} is truncated: it holds {int(size)} bytes, "
                f"the manifest needs {end}",
                key=key,
                size=int(size),
                expected=end,
            )

    def read_with_token(self, key: str) -> tuple[bytes, str]:
        def get() -> tuple[bytes, str]:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return answers.body(response), answers.etag(response)

        result: tuple[bytes, str] = self._call("read", key, get)
        return result

    def exists(self, key: str) -> bool:
        # NOTE: a miss is an answer here, not an error raised through the deadline thread
        # and the retry loop: each raised miss left a reference cycle (error, traceback,
        # the caller's frames) holding the caller's locals until the cyclic collector ran,
        # which a writer pauses: 16 packs of 32 MiB alive, 1 GiB for 200,000 small files.
        def head() -> bool:
            try:
                self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            except Exception as exc:
                if isinstance(translate(exc, "stat", self.url, key), ObjectNotFoundError):
                    return False
                raise
            return True

        found: bool = self._call("stat", key, head)
        return found

    def size(self, key: str) -> int:
        def head() -> int:
            answer = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return int(answers.field(answer, "ContentLength"))

        result: int = self._call("stat", key, head)
        return result

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0

        def page(token: str | None) -> tuple[list[ObjectInfo], str | None]:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
            if token:
                kwargs["ContinuationToken"] = token
            answer = self._client.list_objects_v2(**kwargs)
            # NOTE: an answer cut after its headers parses as an empty listing: S3 always
            # says IsTruncated, so its absence marks the cut (not "no objects").
            truncated = answers.field(answer, "IsTruncated")
            items = [
                ObjectInfo(item["Key"][strip:], int(item["Size"]), item["LastModified"].timestamp())
                for item in answer.get("Contents", [])
            ]
            following = answer.get("NextContinuationToken") if truncated else None
            if truncated and not following:
                raise answers.MalformedAnswerError(
                    "a truncated listing without a continuation token"
                )
            return items, following

        token: str | None = None
        while True:
            items, token = self._call("list", prefix, _bound(page, token))
            yield from items
            if token is None:
                return

    def get_file(self, key: str, local: Path) -> None:
        # NOTE: read here, in the caller's thread: the transfer runs on threads of its own.
        report = progress.transfer_callback()

        def download(watch: Watch) -> None:
            size = transfer(
                self._client,
                self._transfer,
                watch,
                lambda manager, subscribers: manager.download(
                    self.bucket, self._key(key), str(local), None, subscribers
                ),
                report,
            )
            # NOTE: an answer whose headers were cut has no Content-Length; s3transfer then
            # stores whatever came (often nothing) and reports success.
            if local.stat().st_size != size:
                raise answers.MalformedAnswerError(
                    f"{local.stat().st_size} bytes of {size} arrived"
                )

        self._run("download", key, download)

    # ------------------------------------------------------------------ writes
    def write(self, key: str, data: bytes | bytearray) -> None:
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
            return answers.etag(response)

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
            return answers.etag(response)

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
        # NOTE: the file is reopened on every attempt: a retry restarts from a clean stream,
        # and an interrupted (or abandoned) multipart upload is aborted by the transfer manager.
        # The progress listener is read here, in the caller's thread (see get_file).
        report = progress.transfer_callback()
        self._run(
            "upload",
            key,
            lambda watch: transfer(
                self._client,
                self._transfer,
                watch,
                lambda manager, subscribers: manager.upload(
                    str(local), self.bucket, self._key(key), None, subscribers
                ),
                report,
            ),
        )

    def delete(self, key: str) -> None:
        self._call(
            "delete",
            key,
            lambda: self._client.delete_object(Bucket=self.bucket, Key=self._key(key)),
        )

    def delete_if(self, key: str, token: str) -> None:
        # NOTE: DeleteObject with If-Match: S3 checks the ETag and deletes in one step. A
        # retried attempt whose first answer was lost finds the key gone (404): done.
        try:
            self._call(
                "delete",
                key,
                lambda: self._client.delete_object(
                    Bucket=self.bucket, Key=self._key(key), IfMatch=token
                ),
            )
        except ObjectNotFoundError:
            return
        except ConflictError:
            raise ConflictError(f"{key} was changed by another writer", key=key) from None

    def close(self) -> None:
        self._client.close()


def _bound(func: Callable[[Any], Any], arg: Any) -> Callable[[], Any]:
    return lambda: func(arg)
