"""Manifests: the full, sorted file list of a version, stored as content-defined shards."""

from dataver.manifest.entry import Entry
from dataver.manifest.reader import Manifest
from dataver.manifest.writer import ManifestWriter, write_manifest

__all__ = ["Entry", "Manifest", "ManifestWriter", "write_manifest"]
