"""The botocore client of an S3 store, and the transfer manager's jobs.

No call can hang: connections and reads have timeouts (``DATAVER_CONNECT_TIMEOUT``,
``DATAVER_READ_TIMEOUT``), and each attempt has an overall deadline
(``DATAVER_OPERATION_TIMEOUT``; for a transfer, counted from the last byte moved) after which
it is given up as transient. Requests never carry ``Expect: 100-continue``: botocore reads the
lines after a ``100 Continue`` until a blank one, and on a connection closed before it, spins
on end-of-file forever at full CPU, where no timeout reaches it. botocore's and s3transfer's
own retries are off, so attempts are not multiplied by the one retry policy.

Large files go through boto3's transfer manager (multipart uploads, ranged parallel downloads).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from dataver import progress
from dataver.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataver.retry import Watch
    from dataver.settings import Settings

# NOTE: multipart only pays off for big files; below this one PutObject is one request.
_MULTIPART_THRESHOLD = 64 << 20
_MULTIPART_CHUNK = 16 << 20


def transfer(
    client: Any,
    config: Any,
    watch: Watch,
    start: Callable[[Any, list[Any]], Any],
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Run one transfer manager job (``start(manager, subscribers)``); return the object's size.

    Bytes moved are reported to ``watch`` (the deadline restarts), as progress (the lease
    heartbeat) and to ``on_bytes`` (a progress bar, as they move: s3transfer calls back for
    every chunk it reads or writes, on its own threads); if the caller gives up, the job is
    cancelled, so an abandoned multipart upload is aborted instead of completing behind the
    retry's back.
    """
    from boto3.s3.transfer import create_transfer_manager
    from s3transfer.subscribers import BaseSubscriber  # type: ignore[import-untyped]

    class Moved(BaseSubscriber):  # type: ignore[misc]
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            del future, kwargs
            watch.moved(bytes_transferred)
            progress.pulse()
            if on_bytes is not None:
                on_bytes(bytes_transferred)

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


_LOADERS: dict[str | None, Any] = {}
_LOADERS_LOCK = threading.Lock()


def _botocore_session() -> Any:
    """A new botocore session that shares this process's loader of AWS's model files.

    NOTE: every new session parses botocore's service and endpoint JSON again: 0.2 s per
    client, which a long-lived process opening registries over and over (an Airflow
    triggerer, a web server) paid for each one. The loader caches what it parsed (one per
    AWS_DATA_PATH); the session (credentials, profile) stays per registry.
    """
    import botocore.loaders
    import botocore.session

    session = botocore.session.Session()
    data_path = session.get_config_variable("data_path")
    with _LOADERS_LOCK:
        loader = _LOADERS.get(data_path)
        if loader is None:
            loader = _LOADERS[data_path] = botocore.loaders.create_loader(data_path)
    session.register_component("data_loader", loader)
    return session


def make_client(options: dict[str, Any], settings: Settings) -> tuple[Any, Any]:
    """A boto3 S3 client for the store's ``options``, and its transfer manager's config."""
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
        botocore_session=_botocore_session(),
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
