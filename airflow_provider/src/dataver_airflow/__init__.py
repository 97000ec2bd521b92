"""Apache Airflow provider for dataver: dataset versions as native Airflow pipeline steps."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_INTEGRATION = "Dataver"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-dataver",
        "name": "Dataver",
        "description": "Dataset versioning for Airflow: build, finalize, publish and read "
        "dataset versions as pipeline steps.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://github.com/dataver/dataver",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["dataver_airflow.hooks.dataver"]}
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    f"dataver_airflow.operators.{family}"
                    for family in ("build", "seal", "get", "version")
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": ["dataver_airflow.sensors.dataver"],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": ["dataver_airflow.triggers.dataver"],
            }
        ],
        "asset-uris": [
            {
                "schemes": ["dataver"],
                "handler": "dataver_airflow.assets.sanitize_uri",
                "factory": "dataver_airflow.assets.create_asset",
                "to_openlineage_converter": "dataver_airflow.assets.convert_asset_to_openlineage",
            }
        ],
        "extra-links": ["dataver_airflow.links.DataverVersionLink"],
        "connection-types": [
            {
                "connection-type": "dataver",
                "hook-class-name": "dataver_airflow.hooks.dataver.DataverHook",
                "hook-name": "Dataver",
                "conn-fields": {
                    "registry": {
                        "label": "Registry URL",
                        "description": "A local path, file:// or s3://bucket/prefix URL.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "endpoint_url": {
                        "label": "S3 endpoint URL",
                        "description": "For S3-compatible stores (MinIO, Ceph, ...); "
                        "empty for AWS.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "region": {
                        "label": "S3 region",
                        "schema": {"type": ["string", "null"]},
                    },
                    "create": {
                        "label": "Create the registry when testing",
                        "description": "Test connection creates an empty registry where the "
                        "URL holds none (otherwise it reports that no registry is there).",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "ui_url": {
                        "label": "Web UI URL",
                        "description": "Base URL of the dataver web UI for the task's extra "
                        "link; empty: the dataver plugin inside Airflow (<api base_url>/dataver).",
                        "schema": {"type": ["string", "null"]},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {
                        "login": "S3 access key id",
                        "password": "S3 secret access key",
                    },
                    "placeholders": {
                        "registry": "s3://bucket/datasets",
                        "login": "empty: boto3's default credentials",
                        "password": "empty: boto3's default credentials",
                        "ui_url": "http://localhost:8080/dataver",
                    },
                },
            }
        ],
    }
