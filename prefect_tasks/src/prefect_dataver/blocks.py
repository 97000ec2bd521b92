"""The ``DataverRegistry`` block: where a registry lives and how to reach it."""

from __future__ import annotations

from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

import dataver

DEFAULT_UI_URL = "http://127.0.0.1:8765"
DOCS_URL = "https://github.com/dataver/dataver/blob/main/docs/prefect.md"


class DataverRegistry(Block):
    """A dataver registry: a local folder, ``s3://bucket/prefix`` or another fsspec URL.

    S3 credentials are optional: without them boto3's standard chain (``AWS_*`` variables,
    profiles, instance roles) is used.

    Attributes:
        url: The registry URL.
        aws_access_key_id: S3 access key id.
        aws_secret_access_key: S3 secret access key.
        aws_session_token: S3 session token.
        endpoint_url: S3-compatible endpoint (MinIO, Ceph, moto, ...).
        region: S3 region.
        ui_url: Base URL of the dataver web UI, for links to version pages.

    Example:
        ```python
        from prefect_dataver import DataverRegistry

        DataverRegistry(url="s3://bucket/datasets").save("datasets")
        registry = DataverRegistry.load("datasets").get_registry()
        ```
    """

    _block_type_name = "Dataver Registry"
    _block_type_slug = "dataver-registry"
    _description = (
        "A dataver dataset registry (local folder or S3 bucket) for the prefect-dataver tasks."
    )
    # NOTE: the project has no published docs site yet; this points at docs/prefect.md.
    _documentation_url = DOCS_URL  # type: ignore[assignment]
    _code_example: ClassVar[str] = (
        "```python\n"
        "from prefect_dataver import DataverRegistry\n\n"
        'dataver_registry_block = DataverRegistry.load("BLOCK_NAME")\n'
        "registry = dataver_registry_block.get_registry()\n"
        "```"
    )

    url: str = Field(
        description="Registry URL: a local path, file:// URL or s3://bucket/prefix.",
        examples=["/data/registry", "s3://bucket/datasets"],
    )
    aws_access_key_id: str | None = Field(
        default=None, description="S3 access key id (default: boto3's credential chain)."
    )
    aws_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key."
    )
    aws_session_token: SecretStr | None = Field(
        default=None, description="S3 session token, for temporary credentials."
    )
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint URL (MinIO, Ceph, ...)."
    )
    region: str | None = Field(default=None, description="S3 region of the bucket.")
    ui_url: str = Field(
        default=DEFAULT_UI_URL,
        description="Base URL of the dataver web UI; version links are <ui_url>/versions/<id>.",
    )

    def storage_options(self) -> dict[str, Any]:
        """The options passed to the registry's store (only those that are set).

        Returns:
            ``key``, ``secret``, ``token``, ``endpoint_url`` and ``region`` where set.
        """
        options: dict[str, Any] = {
            "key": self.aws_access_key_id,
            "secret": _reveal(self.aws_secret_access_key),
            "token": _reveal(self.aws_session_token),
            "endpoint_url": self.endpoint_url,
            "region": self.region,
        }
        return {k: v for k, v in options.items() if v}

    def get_registry(self) -> dataver.Registry:
        """Open the registry this block describes.

        Returns:
            A :class:`dataver.Registry`.

        Raises:
            dataver.DataverError: The URL is not supported or the registry is unreadable.

        Example:
            ```python
            registry = DataverRegistry(url="/data/registry").get_registry()
            registry.list(project="vision")
            ```
        """
        return dataver.Registry(self.url, storage_options=self.storage_options() or None)


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
