"""A registry in an S3 bucket (AWS, MinIO, Ceph, moto...), on boto3.

Compare-and-swap uses S3 conditional writes: ``create`` is ``PutObject`` with
``If-None-Match: *`` and ``replace`` is ``PutObject`` with ``If-Match: <etag>``, so two hosts can
never both create one key or both swap the same record. Large files go through boto3's transfer
manager (multipart uploads, ranged parallel downloads); single files inside packs are read with
one ranged ``GetObject``. Every call runs under the one retry policy (:mod:`dataver.retry`):
throttling, 5xx, timeouts, dropped connections and malformed or truncated answers are retried
with backoff; everything else surfaces at once. botocore's and s3transfer's own retries are off,
so attempts are not multiplied.

No call can hang: connections and reads have timeouts (``DATAVER_CONNECT_TIMEOUT``,
``DATAVER_READ_TIMEOUT``), and each attempt has an overall deadline
(``DATAVER_OPERATION_TIMEOUT``; for a transfer, counted from the last byte moved) after which
it is given up as transient. Requests never carry ``Expect: 100-continue``: botocore reads the
lines after a ``100 Continue`` until a blank one, and on a connection closed before it, spins
on end-of-file forever at full CPU, where no timeout reaches it.

Credentials come from ``storage_options`` (``key``/``secret``/``token``, ``profile``,
``region``, ``endpoint_url``, ``addressing_style``) or boto3's standard chain (``AWS_*``
variables including ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, config files, instance
roles). They are handed to boto3 only: never logged, never part of an error or a record.
botocore logs request headers at DEBUG (``Authorization``, ``X-Amz-Security-Token``); a filter
on botocore's, s3transfer's and urllib3's loggers redacts them, and the credential values the
store was given, before any handler sees a record.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dataver import progress
from dataver.errors import (
    ConfigurationError,
    ConflictError,
    DataverError,
    IntegrityError,
    ObjectNotFoundError,
    StorageError,
    TransientStorageError,
)
from dataver.retry import Watch, call_with_deadline, retry_policy
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
    # NOTE: a part's ETag cut in its answer makes CompleteMultipartUpload name a part that
    # is not there; a new attempt uploads every part again.
    "InvalidPart",
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
        self._client, self._transfer = _client(options, settings)
        _redact_logs(options)

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
        _redact_logs(None)  # NOTE: cheap unless a module imported since added a logger

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
                translated = _translate(exc, what, self.url, key)
                if translated is exc:
                    raise
                raise translated from exc
            progress.pulse()
            return result

        return retry_policy(settings)(attempt)

    # ------------------------------------------------------------------ reads
    def read(self, key: str) -> bytes:
        def get() -> bytes:
            return _body(self._client.get_object(Bucket=self.bucket, Key=self._key(key)))

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
                data = _body(response)
            if len(data) < length:
                self._check_truncated(key, start + length)
            if len(data) != length:
                raise _MalformedAnswerError(f"{len(data)} bytes for a range of {length}")
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
            raise _MalformedAnswerError("a HEAD answer without Content-Length")
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
            return _body(response), _etag(response)

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
            answer = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return int(_field(answer, "ContentLength"))

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
            truncated = _field(answer, "IsTruncated")
            items = [
                ObjectInfo(item["Key"][strip:], int(item["Size"]), item["LastModified"].timestamp())
                for item in answer.get("Contents", [])
            ]
            following = answer.get("NextContinuationToken") if truncated else None
            if truncated and not following:
                raise _MalformedAnswerError("a truncated listing without a continuation token")
            return items, following

        token: str | None = None
        while True:
            items, token = self._call("list", prefix, _bound(page, token))
            yield from items
            if token is None:
                return

    def get_file(self, key: str, local: Path) -> None:
        def download(watch: Watch) -> None:
            size = _transfer(
                self._client,
                self._transfer,
                watch,
                lambda manager, subscribers: manager.download(
                    self.bucket, self._key(key), str(local), None, subscribers
                ),
            )
            # NOTE: an answer whose headers were cut has no Content-Length; s3transfer then
            # stores whatever came (often nothing) and reports success.
            if local.stat().st_size != size:
                raise _MalformedAnswerError(f"{local.stat().st_size} bytes of {size} arrived")

        self._run("download", key, download)

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
            return _etag(response)

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
            return _etag(response)

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
        self._run(
            "upload",
            key,
            lambda watch: _transfer(
                self._client,
                self._transfer,
                watch,
                lambda manager, subscribers: manager.upload(
                    str(local), self.bucket, self._key(key), None, subscribers
                ),
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


class _MalformedAnswerError(Exception):
    """An answer that parsed but cannot be whole: a field S3 always sends is missing, or the
    body is not as long as announced. A cut connection looks like this; retry it."""


def _field(answer: dict[str, Any], name: str) -> Any:
    value = answer.get(name)
    if value is None:
        raise _MalformedAnswerError(f"an answer without {name}")
    return value


def _etag(answer: dict[str, Any]) -> str:
    """The ETag of an answer, the token of the next conditional write.

    NOTE: headers cut inside the ETag parse as a shorter one: a wrong token, and the next
    conditional write would fail as if another writer had won. S3 quotes its ETags, so a cut
    one lacks the closing quote.
    """
    etag = str(_field(answer, "ETag"))
    if len(etag) < 3 or not etag.endswith('"'):
        raise _MalformedAnswerError(f"a cut ETag {etag!r}")
    return etag


def _body(answer: dict[str, Any]) -> bytes:
    """The whole body of a GetObject answer, checked against its Content-Length.

    NOTE: an answer whose headers were cut short parses as one without Content-Length and
    with an empty body, which botocore does not check: b"" would pass for the object.
    """
    body = answer["Body"]
    if answer.get("ContentLength") is None:
        body.close()  # NOTE: unread, its connection would linger until garbage collection
        raise _MalformedAnswerError("an answer without ContentLength")
    expected = int(answer["ContentLength"])
    data: bytes = body.read()
    if len(data) != expected:
        raise _MalformedAnswerError(f"{len(data)} bytes of a body announced as {expected}")
    return data


def _transfer(
    client: Any, config: Any, watch: Watch, start: Callable[[Any, list[Any]], Any]
) -> int:
    """Run one transfer manager job (``start(manager, subscribers)``); return the object's size.

    Bytes moved are reported to ``watch`` (the deadline restarts) and as progress (the lease
    heartbeat); if the caller gives up, the job is cancelled, so an abandoned multipart upload
    is aborted instead of completing behind the retry's back.
    """
    from boto3.s3.transfer import create_transfer_manager
    from s3transfer.subscribers import BaseSubscriber  # type: ignore[import-untyped]

    class Moved(BaseSubscriber):  # type: ignore[misc]
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            del future, kwargs
            watch.moved(bytes_transferred)
            progress.pulse()

    with create_transfer_manager(client, config) as manager:
        future = start(manager, [Moved()])
        watch.on_abandon(future.cancel)
        future.result()
        return int(future.meta.size)


_answer = threading.local()


def _hold_body(response_dict: dict[str, Any], **kwargs: Any) -> None:
    """Remember a streamed body while its answer is parsed (botocore's before-parse)."""
    del kwargs
    body = response_dict.get("body")
    _answer.body = body if hasattr(body, "close") else None


def _let_body_go(**kwargs: Any) -> None:
    """The answer parsed: its body is the caller's to read (after-call)."""
    del kwargs
    _answer.body = None


def _close_body(**kwargs: Any) -> None:
    """The answer did not parse (after-call-error): close the body nobody will read.

    NOTE: headers cut inside a date raise ValueError while parsing, after the body was opened;
    unread and unclosed, its connection would linger until garbage collection.
    """
    del kwargs
    body, _answer.body = getattr(_answer, "body", None), None
    if body is not None:
        body.close()


def _client(options: dict[str, Any], settings: Settings) -> tuple[Any, Any]:
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config
        from botocore.handlers import add_expect_header
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
    workers = settings.max_workers
    config = Config(
        max_pool_connections=max(10, 2 * workers),
        retries={"total_max_attempts": 1},
        s3={"addressing_style": options.get("addressing_style", "auto")},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    client = session.client("s3", endpoint_url=options.get("endpoint_url"), config=config)
    # NOTE: with Expect: 100-continue, a connection closed after "HTTP/1.1 100 Continue\r\n"
    # makes botocore's _consume_headers read b"" forever (awsrequest.py): a hang at full CPU
    # that no timeout ends. The header only saves re-sending a body S3 refuses at once.
    client.meta.events.unregister("before-call.s3", add_expect_header)
    client.meta.events.register("before-parse.s3", _hold_body)
    client.meta.events.register("after-call.s3", _let_body_go)
    client.meta.events.register("after-call-error.s3", _close_body)
    transfer = TransferConfig(
        multipart_threshold=_MULTIPART_THRESHOLD,
        multipart_chunksize=_MULTIPART_CHUNK,
        max_concurrency=workers,
        use_threads=True,
        num_download_attempts=1,
        # NOTE: the CRT client ignores botocore's Config (timeouts, the Expect handler).
        preferred_transfer_client="classic",
    )
    return client, transfer


def _translate(exc: Exception, what: str, url: str, key: str) -> Exception:
    """Map a boto3/botocore error to dataver's hierarchy (messages name no credentials)."""
    if isinstance(exc, StorageError | ConflictError):
        return exc
    from boto3.exceptions import RetriesExceededError, S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ChecksumError,
        ClientError,
        FlexibleChecksumError,
        HTTPClientError,
        IncompleteReadError,
        NoCredentialsError,
        ResponseStreamingError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )
    from botocore.parsers import ResponseParserError
    from s3transfer.exceptions import (  # type: ignore[import-untyped]
        RetriesExceededError as TransferRetriesExceededError,
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
        BotoConnectionError
        | HTTPClientError
        | IncompleteReadError
        | ResponseStreamingError
        | RetriesExceededError
        | TransferRetriesExceededError,
    ):
        return TransientStorageError(
            f"S3 {what} of {where}: connection error ({type(exc).__name__})", key=key
        )
    malformed = _MalformedAnswerError | ResponseParserError | ChecksumError | FlexibleChecksumError
    if isinstance(exc, malformed) or (
        isinstance(exc, KeyError | ValueError) and not isinstance(exc, BotoCoreError)
    ):
        # NOTE: a cut answer parses as a malformed one: a field missing (KeyError
        # 'ContentLength' inside s3transfer), a date cut short (ValueError: Invalid timestamp),
        # a short body, a bad checksum. The bytes are fine on the server; ask again.
        return TransientStorageError(
            f"S3 {what} of {where}: malformed answer ({type(exc).__name__}: {exc})", key=key
        )
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 {what} of {where} failed ({type(exc).__name__})", key=key)
    if isinstance(exc, OSError):
        return TransientStorageError(f"S3 {what} of {where}: {type(exc).__name__}", key=key)
    return exc


# ------------------------------------------------------------------ log redaction

_LOGGER_ROOTS = ("botocore", "boto3", "s3transfer", "urllib3")
# NOTE: header values as botocore prints them: in a dict repr ('Authorization': b'AWS4-...'),
# in a canonical request (x-amz-security-token:...), in a query (X-Amz-Credential=...).
_SECRET_HEADER = re.compile(
    r"""(?ix)
    ( (?:authorization|x-amz-security-token|x-amz-credential|x-amz-signature)
      ['"]? \s* [:=] \s* b?['"]? )
    ( [^'"\s&][^'"&\n]* )
    """
)
_SIGNED_PART = re.compile(r"(?i)((?:credential|signature)=)([^,\s'\"&]+)")
_REDACTED = "<redacted>"


class _RedactSecrets(logging.Filter):
    """Rewrites a log record's message without credentials before any handler sees it."""

    def __init__(self) -> None:
        super().__init__("dataver-redact")
        self.values: tuple[str, ...] = ()
        """Credential values given to a store, replaced wherever they appear."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's to report
            return True
        clean = redact(message, self.values)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redact(text: str, values: tuple[str, ...] = ()) -> str:
    """``text`` without S3 credentials: signed headers' values and the given ``values``."""
    for value in values:
        text = text.replace(value, _REDACTED)
    text = _SECRET_HEADER.sub(lambda m: m.group(1) + _REDACTED, text)
    return _SIGNED_PART.sub(lambda m: m.group(1) + _REDACTED, text)


_filter = _RedactSecrets()
_filter_lock = threading.Lock()
_filtered_count = -1


def _redact_logs(options: dict[str, Any] | None) -> None:
    """Put the redacting filter on every botocore, s3transfer and urllib3 logger.

    NOTE: a logger's filters see only records logged on that very logger (not those its
    children propagate), so each existing logger gets it; the loggers are looked over again
    whenever one was added since (cheap: a length comparison). ``options`` adds the
    credential values given to a store (and the ``AWS_*`` ones) to the values redacted.
    """
    global _filtered_count
    loggers = logging.Logger.manager.loggerDict
    if options is None and len(loggers) == _filtered_count:
        return
    with _filter_lock:
        if options is not None:
            given = [options.get(name) for name in ("key", "secret", "token")]
            given += [os.environ.get(f"AWS_{n}") for n in _ENV_CREDENTIALS]
            # NOTE: very short values would redact ordinary words: real credentials are long.
            fresh = {v for v in given if isinstance(v, str) and len(v) >= 8}
            _filter.values = tuple(sorted(set(_filter.values) | fresh, key=len, reverse=True))
        names = list(loggers)
        for name in names:
            logger = loggers[name]
            if (
                isinstance(logger, logging.Logger)
                and name.split(".")[0] in _LOGGER_ROOTS
                and _filter not in logger.filters
            ):
                logger.addFilter(_filter)
        for root in _LOGGER_ROOTS:
            logger = logging.getLogger(root)
            if _filter not in logger.filters:
                logger.addFilter(_filter)
        _filtered_count = len(loggers)


_ENV_CREDENTIALS = ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN")
