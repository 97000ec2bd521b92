"""Credentials never reach a log: botocore's, s3transfer's and urllib3's records are redacted.

Credentials are handed to boto3 only: never logged, never part of an error or a record.
botocore logs request headers at DEBUG (``Authorization``, ``X-Amz-Security-Token``); a filter
on botocore's, s3transfer's and urllib3's loggers redacts them, and the credential values the
store was given, before any handler sees a record.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

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


def redact_logs(options: dict[str, Any] | None) -> None:
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
