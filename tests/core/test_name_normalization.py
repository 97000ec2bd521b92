"""Dataset and project names in NFC and NFD (issue 18, "Also").

``é`` is one code point (U+00E9, NFC) or ``e`` + U+0301 (NFD, what macOS file names give).
Both spellings name one dataset: names are stored in NFC, and every look-up (get, list,
rename, move, create's own) tries the spelling given, then NFC, then NFD, so datasets that
an older dataver stored in NFD stay findable by either spelling.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import pytest

from dataver.errors import ConflictError, VersionNotFoundError
from dataver.versions import repo
from dataver.versions.records import check_name, name_spellings, same_name

if TYPE_CHECKING:
    import dataver

NFC = "caf\u00e9"
NFD = "cafe\u0301"
PROJ_NFC = "\u00e9quipe"
PROJ_NFD = "e\u0301quipe"


def test_the_spellings_differ_and_normalize_to_one() -> None:
    assert NFC != NFD
    assert unicodedata.normalize("NFC", NFD) == NFC
    assert check_name(NFD) == NFC
    assert check_name(PROJ_NFD, "project") == PROJ_NFC
    assert name_spellings("p", "plain") == [("p", "plain")]  # NOTE: ASCII: one read
    assert name_spellings("p", NFD) == [("p", NFD), ("p", NFC)]
    assert name_spellings(PROJ_NFC, NFC) == [
        (PROJ_NFC, NFC),
        (PROJ_NFC, NFD),
        (PROJ_NFD, NFC),
        (PROJ_NFD, NFD),
    ]
    assert same_name(NFD, NFC)
    assert not same_name(NFC, "cafe")


def _final(registry: dataver.Registry, name: str, project: str) -> dataver.Dataset:
    ds = registry.create(name, project=project)
    ds.finalize()
    return ds


def test_both_spellings_are_one_dataset(registry: dataver.Registry) -> None:
    first = _final(registry, NFC, PROJ_NFC)
    second = _final(registry, NFD, PROJ_NFD)
    assert [(d.project, d.name) for d in registry.datasets()] == [(PROJ_NFC, NFC)]
    assert (first.version, second.version) == ("1.0.0", "1.0.1")
    for project in (PROJ_NFC, PROJ_NFD):
        for name in (NFC, NFD):
            assert registry.get(name=name, project=project).id == second.id
            assert {d.id for d in registry.list(project=project, name=name)} == {
                first.id,
                second.id,
            }
            assert len(registry.list(name=name)) == 2
        assert len(registry.list(project=project)) == 2


def test_a_name_typed_in_nfd_is_stored_in_nfc(registry: dataver.Registry) -> None:
    ds = _final(registry, NFD, PROJ_NFD)
    assert (ds.project, ds.name) == (PROJ_NFC, NFC)
    assert registry.get(name=NFC, project=PROJ_NFC).id == ds.id


def test_rename_and_move_find_either_spelling_and_store_nfc(
    registry: dataver.Registry,
) -> None:
    ds = _final(registry, NFC, PROJ_NFC)
    registry.rename(PROJ_NFD, NFD, "th\u00e9")
    assert registry.get(name="the\u0301", project=PROJ_NFC).id == ds.id
    registry.move(PROJ_NFD, "the\u0301", "r\u00e9sum\u00e9")
    assert [(d.project, d.name) for d in registry.datasets()] == [("r\u00e9sum\u00e9", "th\u00e9")]
    with pytest.raises(VersionNotFoundError):
        registry.get(name=NFC, project=PROJ_NFC)


def test_datasets_stored_in_nfd_by_an_older_dataver_stay_findable(
    registry: dataver.Registry,
) -> None:
    """Before names were normalized, an NFD name was stored as typed."""
    _final(registry, "seed", "p")
    old = repo.ensure_dataset(registry.store, PROJ_NFD, NFD)  # NOTE: as the old code did
    assert (old.project, old.name) == (PROJ_NFD, NFD)
    # Both spellings find it, and creating under either adds to it (no second dataset).
    first = registry.create(NFC, project=PROJ_NFC)
    first.finalize()
    second = registry.create(NFD, project=PROJ_NFD)
    second.finalize()
    assert first.dataset_record.id == second.dataset_record.id == old.id
    for project, name in ((PROJ_NFC, NFC), (PROJ_NFD, NFD)):
        assert registry.get(name=name, project=project).id == second.id
        assert len(registry.list(project=project, name=name)) == 2
    assert {(d.project, d.name) for d in registry.datasets()} == {("p", "seed"), (PROJ_NFD, NFD)}
    # Renaming it to its own name normalizes it (project too); every spelling still finds it.
    registry.rename(PROJ_NFC, NFC, NFC)
    normalized = repo.load_dataset(registry.store, old.id)
    assert (normalized.project, normalized.name) == (PROJ_NFC, NFC)
    for project, name in ((PROJ_NFC, NFC), (PROJ_NFD, NFD), (PROJ_NFC, NFD)):
        assert registry.get(name=name, project=project).id == second.id


def test_a_dataset_stored_half_in_nfd_is_found(registry: dataver.Registry) -> None:
    _final(registry, "seed", "p")
    old = repo.ensure_dataset(registry.store, PROJ_NFC, NFD)  # NOTE: as the old code did
    for project, name in ((PROJ_NFC, NFC), (PROJ_NFD, NFD), (PROJ_NFD, NFC)):
        assert repo.find_dataset(registry.store, project, name) == old


def test_a_rename_onto_an_nfd_dataset_is_refused(registry: dataver.Registry) -> None:
    repo.ensure_dataset(registry.store, "p", NFD)  # NOTE: stored by an older dataver
    _final(registry, "other", "p")
    with pytest.raises(ConflictError, match="already exists"):
        registry.rename("p", "other", NFC)
