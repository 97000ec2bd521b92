"""The exception hierarchy (behaviour 15): builtin bases, structured fields, pickle round trips."""

from __future__ import annotations

import base64
import copy
import inspect
import json
import pickle
from typing import TYPE_CHECKING

import pytest

import dataver
from dataver import errors

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from subprocess import CompletedProcess

ERROR_CLASSES = sorted(
    (
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DataverError) and cls.__module__ == errors.__name__
    ),
    key=lambda cls: cls.__name__,
)

EXPECTED_BUILTINS: dict[str, tuple[type[BaseException], ...]] = {
    "DataverError": (Exception,),
    "ConfigurationError": (ValueError,),
    "ValidationError": (ValueError,),
    "UnsafePathError": (ValueError,),
    "NotFoundError": (LookupError,),
    "VersionNotFoundError": (LookupError,),
    "DatasetNotFoundError": (LookupError,),
    "DatasetLookupError": (LookupError, ValueError),
    "RegistryNotFoundError": (LookupError,),
    "ObjectNotFoundError": (LookupError, FileNotFoundError, OSError),
    "InvalidTransitionError": (ValueError,),
    "PendingUploadError": (ValueError,),
    "ConflictError": (Exception,),
    "HasChildrenError": (Exception,),
    "WritersActiveError": (Exception,),
    "IntegrityError": (Exception,),
    "FormatError": (ValueError,),
    "StorageError": (OSError,),
    "TransientStorageError": (OSError,),
    "VersionBrokenError": (RuntimeError,),
    "WaitTimeoutError": (TimeoutError,),
}

FIELDS = {
    "version_id": "0123456789abcdef0123456789abcdef",
    "state": "final",
    "children": ["a" * 32, "b" * 32],
    "missing": ["packs/ab/abcd"],
    "pending": 3,
    "format": 2,
    "path": "sub/../x",
    "nested": {"k": [1, 2.5, None, True]},
}


def test_every_error_class_is_covered() -> None:
    assert {cls.__name__ for cls in ERROR_CLASSES} == set(EXPECTED_BUILTINS)


def test_public_errors_are_exported() -> None:
    for name in dataver.__all__:
        obj = getattr(dataver, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert obj is getattr(errors, name)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_derives_from_dataver_error_and_its_builtin(cls: type[errors.DataverError]) -> None:
    error = cls("boom")
    assert isinstance(error, errors.DataverError)
    for base in EXPECTED_BUILTINS[cls.__name__]:
        assert isinstance(error, base)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_error_pickle_round_trip_keeps_type_message_and_fields(
    cls: type[errors.DataverError], protocol: int
) -> None:
    original = cls(f"{cls.__name__}: something went wrong", **FIELDS)
    clone = pickle.loads(pickle.dumps(original, protocol=protocol))
    assert type(clone) is cls
    assert str(clone) == str(original) == f"{cls.__name__}: something went wrong"
    assert clone.message == original.message
    assert clone.args == (original.message,)
    assert clone.fields == FIELDS
    for key, value in FIELDS.items():
        assert getattr(clone, key) == value
    for base in EXPECTED_BUILTINS[cls.__name__]:
        assert isinstance(clone, base)
    # The clone is a real, raisable exception that the same handlers catch.
    with pytest.raises(cls, match="something went wrong"):
        raise clone


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_without_fields_round_trips(cls: type[errors.DataverError]) -> None:
    clone = pickle.loads(pickle.dumps(cls("plain")))
    assert (type(clone), str(clone), clone.fields) == (cls, "plain", {})


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_deepcopy(cls: type[errors.DataverError]) -> None:
    original = cls("copied", version_id="v", children=["x"])
    clone = copy.deepcopy(original)
    assert (type(clone), str(clone), clone.fields) == (cls, "copied", original.fields)
    assert clone.children is not original.children


def test_real_errors_raised_by_the_sdk_round_trip(registry: dataver.Registry) -> None:
    ds = registry.create("ds")
    with pytest.raises(dataver.InvalidTransitionError) as info:
        ds.publish()
    clone = pickle.loads(pickle.dumps(info.value))
    assert type(clone) is dataver.InvalidTransitionError
    assert clone.fields == {"version_id": ds.id, "state": "uploading", "action": "publish"}
    assert str(clone) == str(info.value)

    with pytest.raises(dataver.VersionNotFoundError) as missing:
        registry.get("f" * 32)
    clone = pickle.loads(pickle.dumps(missing.value))
    assert isinstance(clone, LookupError)
    assert clone.version_id == "f" * 32


def test_error_crosses_a_process_boundary(
    registry: dataver.Registry,
    registry_path: Path,
    worker: Callable[..., CompletedProcess[str]],
) -> None:
    """An error raised and pickled in another interpreter unpickles here, fields intact."""
    ds = registry.create("ds")
    result = worker("error", str(registry_path), ds.id)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.splitlines()[-1])
    clone = pickle.loads(base64.b64decode(payload["pickled"]))
    assert type(clone) is dataver.InvalidTransitionError
    assert clone.version_id == ds.id
    assert clone.state == "uploading"
    assert clone.action == "publish"
    assert "must be final" in str(clone)
