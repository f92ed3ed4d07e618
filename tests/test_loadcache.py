"""sd.load reads what it derived from a translation back from the cache (sd.engine.loadcache)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import sd
from sd.engine import loadcache


def test_second_load_equals_first_and_reads_the_cache(models_copy: Path, tmp_path: Path):
    mdl = models_copy / "lookups.mdl"
    first = sd.load(mdl, cache_dir=tmp_path / "cache")
    stored = list((Path(first.entry.folder) / "engine").glob("load-*.json"))
    assert len(stored) == 1
    known = loadcache.read(Path(first.entry.folder), mdl)
    assert known is not None
    again = sd.load(mdl, cache_dir=tmp_path / "cache")
    assert again.variables == first.variables
    assert again.time == first.time
    assert again.data_notices == first.data_notices
    assert known[0] == first.variables


def test_a_bad_data_cell_after_a_cached_load_is_still_an_error(models_copy: Path, tmp_path):
    mdl = models_copy / "lookups.mdl"
    sd.load(mdl, cache_dir=tmp_path / "cache")
    data = models_copy / "data" / "series.csv"
    data.write_text(data.read_text().replace("2005,20,3", "2005,twenty,3"))
    with pytest.raises(sd.SDError, match="series.csv"):
        sd.load(mdl, cache_dir=tmp_path / "cache")


def test_another_path_with_the_same_bytes_is_derived_again(models_copy: Path, tmp_path):
    """Messages name the model's path, so a copy elsewhere gets its own derived file."""
    mdl = models_copy / "lookups.mdl"
    first = sd.load(mdl, cache_dir=tmp_path / "cache")
    other = shutil.copytree(models_copy, tmp_path / "elsewhere") / "lookups.mdl"
    second = sd.load(other, cache_dir=tmp_path / "cache")
    assert second.entry.folder == first.entry.folder  # same bytes: the same translation
    assert second.path == other and second.variables == first.variables
    assert len(list((Path(first.entry.folder) / "engine").glob("load-*.json"))) == 2
