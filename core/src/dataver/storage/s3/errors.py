"""botocore's and boto3's errors translated to dataver's, at one boundary.

Throttling, 5xx, timeouts, dropped connections and malformed or truncated answers become
:class:`~dataver.errors.TransientStorageError` (retried by the one retry policy); refused
credentials and a missing bucket :class:`~dataver.errors.ConfigurationError`; a failed
condition :class:`~dataver.errors.ConflictError`. Messages name the key, never a credential.
"""

from __future__ import annotations

from dataver.errors import (
    ConfigurationError,
    ConflictError,
    ObjectNotFoundError,
    StorageError,
    TransientStorageError,
)
from dataver.storage.s3.answers import MalformedAnswerError

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


def translate(exc: Exception, what: str, url: str, key: str) -> Exception:
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
    malformed = MalformedAnswerError | ResponseParserError | ChecksumError | FlexibleChecksumError
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
