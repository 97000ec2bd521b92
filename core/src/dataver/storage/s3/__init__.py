"""A registry in an S3 bucket (AWS, MinIO, Ceph, moto...), on boto3.

- :mod:`.store`: :class:`S3Store`, the store: conditional writes, ranged reads, transfers.
- :mod:`.client`: the botocore client (timeouts, no ``Expect: 100-continue``) and the
  transfer manager's jobs.
- :mod:`.answers`: answers cut short are refused (and retried).
- :mod:`.errors`: botocore's errors translated to dataver's, at one boundary.
- :mod:`.logs`: credentials redacted from botocore's, s3transfer's and urllib3's logs.

Nothing here imports boto3 until a store is made: it is in the ``s3`` extra.
"""

from dataver.storage.s3.logs import redact
from dataver.storage.s3.store import S3Store

__all__ = ["S3Store", "redact"]
