"""The SDK façade: :class:`Registry` and :class:`Dataset`."""

from dataver.api.dataset import Dataset
from dataver.api.registry import Registry

__all__ = ["Dataset", "Registry"]
