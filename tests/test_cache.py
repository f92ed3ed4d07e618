"""Translation cache: hits, misses after edits, concurrency, nothing beside the model."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

import sd
from sd.model import cache


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_hit_then_miss_after_edit(models_copy: Path, tmp_path: Path):
    mdl = models_copy / "decay.mdl"
    before = _listing(models_copy)
    first = sd.load(mdl, cache_dir=tmp_path / "c")
    second = sd.load(mdl, cache_dir=tmp_path / "c")
    assert not first.entry.hit and second.entry.hit
    assert first.key == second.key
    mdl.write_text(mdl.read_text().replace("0.1\n", "0.2\n", 1))
    edited = sd.load(mdl, cache_dir=tmp_path / "c")
    assert not edited.entry.hit and edited.key != first.key
    assert sd.run(edited).series("decay rate").iloc[0] == 0.2
    assert _listing(models_copy) == before  # nothing written next to the model


def test_data_file_edit_changes_key(models_copy: Path, tmp_path: Path):
    mdl = models_copy / "lookups.mdl"
    a = sd.load(mdl, cache_dir=tmp_path)
    csv = models_copy / "data" / "series.csv"
    csv.write_text(csv.read_text().replace("2010,5,4", "2010,6,4"))
    b = sd.load(mdl, cache_dir=tmp_path)
    assert a.key != b.key and not b.entry.hit
    assert sd.run(b).series("level data").iloc[-1] == 6.0


def test_pysd_version_is_part_of_key(models_copy: Path, monkeypatch):
    mdl = models_copy / "decay.mdl"
    key = cache.cache_key(mdl, ())
    monkeypatch.setattr(cache, "pysd_version", lambda: "99.0.0")
    assert cache.cache_key(mdl, ()) != key


def test_cache_dir_from_environment(models_copy: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SD_CACHE_DIR", str(tmp_path / "envcache"))
    model = sd.load(models_copy / "decay.mdl")
    assert model.entry.folder.parent == tmp_path / "envcache"
    meta = json.loads((model.entry.folder / "entry.json").read_text())
    assert meta["key"] == model.key


def test_missing_data_file_is_named(models_copy: Path, tmp_path: Path):
    (models_copy / "data" / "series.csv").unlink()
    with pytest.raises(sd.ModelFileError, match=r"line \d+: the model reads the data file"):
        sd.load(models_copy / "lookups.mdl", cache_dir=tmp_path)


def _load_in_child(args: tuple[str, str]) -> tuple[str, float]:
    mdl, cache_dir = args
    model = sd.load(mdl, cache_dir=cache_dir)
    return model.key, float(sd.run(model).series("Stock").iloc[-1])


def test_concurrent_loads_all_succeed(models_copy: Path, tmp_path: Path):
    cache_dir = tmp_path / "shared-cache"
    jobs = [(str(models_copy / "decay.mdl"), str(cache_dir))] * 4
    with mp.get_context("spawn").Pool(4) as pool:
        out = pool.map(_load_in_child, jobs)
    assert len({key for key, _ in out}) == 1 and len({v for _, v in out}) == 1
    entries = [p for p in cache_dir.iterdir()]
    assert len(entries) == 1 and not entries[0].name.startswith(".tmp")  # temp folders removed


def test_cache_hit_does_not_translate_again(models_copy: Path, tmp_path: Path):
    # the 10x speed is measured in benchmarks/single_run.py; here: a hit never translates
    mdl = models_copy / "decay.mdl"
    sd.load(mdl, cache_dir=tmp_path)
    calls = []
    original = cache.translate
    cache.translate = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        sd.load(mdl, cache_dir=tmp_path)
    finally:
        cache.translate = original
    assert calls == []
    assert os.listdir(tmp_path)  # the entry is there


def test_entry_built_before_the_entries_check_is_checked_again(
    models_copy: Path, tmp_path: Path, monkeypatch
):
    """A cache hit skips sd.model.translation.check_entries only for an entry that records it
    (translate() ran it on the same bytes); an entry cached without it is checked."""
    path = models_copy / "decay.mdl"
    entry = cache.translated(path, cache_dir=tmp_path / "c")
    meta_file = entry.folder / "entry.json"
    assert cache.ENTRIES_CHECK in json.loads(meta_file.read_text())["checked"]
    calls: list[Path] = []
    monkeypatch.setattr(cache, "check_entries", lambda p, text: calls.append(p))
    assert cache.translated(path, cache_dir=tmp_path / "c").hit
    assert calls == []  # recorded: not checked again
    meta = json.loads(meta_file.read_text())
    del meta["checked"]  # an entry of an earlier version of the toolkit
    meta_file.write_text(json.dumps(meta))
    assert cache.translated(path, cache_dir=tmp_path / "c").hit
    assert calls == [path]
