"""The local cache of content and materialised versions."""
