"""What S3 answers must hold: an answer cut short parses, but is refused here.

A connection closed mid-answer leaves botocore a parsed answer with a field missing, an ETag cut
short or a body shorter than announced. Each check raises :class:`MalformedAnswerError`, which
:func:`~dataver.storage.s3.errors.translate` turns into a transient error: the call is retried.
"""

from __future__ import annotations

from typing import Any


class MalformedAnswerError(Exception):
    """An answer that parsed but cannot be whole: a field S3 always sends is missing, or the
    body is not as long as announced. A cut connection looks like this; retry it."""


def field(answer: dict[str, Any], name: str) -> Any:
    value = answer.get(name)
    if value is None:
        raise MalformedAnswerError(f"an answer without {name}")
    return value


def etag(answer: dict[str, Any]) -> str:
    """The ETag of an answer, the token of the next conditional write.

    NOTE: headers cut inside the ETag parse as a shorter one: a wrong token, and the next
    conditional write would fail as if another writer had won. S3 quotes its ETags, so a cut
    one lacks the closing quote.
    """
    etag = str(field(answer, "ETag"))
    if len(etag) < 3 or not etag.endswith('"'):
        raise MalformedAnswerError(f"a cut ETag {etag!r}")
    return etag


def body(answer: dict[str, Any]) -> bytes:
    """The whole body of a GetObject answer, checked against its Content-Length.

    NOTE: an answer whose headers were cut short parses as one without Content-Length and
    with an empty body, which botocore does not check: b"" would pass for the object.
    """
    body = answer["Body"]
    if answer.get("ContentLength") is None:
        body.close()  # NOTE: unread, its connection would linger until garbage collection
        raise MalformedAnswerError("an answer without ContentLength")
    expected = int(answer["ContentLength"])
    data: bytes = body.read()
    if len(data) != expected:
        raise MalformedAnswerError(f"{len(data)} bytes of a body announced as {expected}")
    return data
