"""Re-run a study whenever its model, data or study file change.

Polls the files' contents (cheap: a study reads a handful of small files), says
which changed, re-runs, prints errors and keeps watching.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from sd.errors import SDError
from sd.model import mdl
from sd.study.study import load_study


def watched_files(study_path: Path) -> list[Path]:
    """The study file, its model, the model's data files and the study's own inputs."""
    files = [study_path]
    try:
        study = load_study(study_path)
    except SDError:
        return files  # a broken study file: watch it until it is fixed
    files += study.files()
    model = study.model_path
    files.append(model)
    if model.is_file():
        text = mdl.read_text(model)
        files += [(model.parent / ref) for ref in mdl.data_file_references(text)]
    return list(dict.fromkeys(p.resolve() for p in files))


def fingerprint(files: Iterable[Path]) -> dict[Path, str | None]:
    out: dict[Path, str | None] = {}
    for f in files:
        try:
            out[f] = hashlib.sha256(f.read_bytes()).hexdigest()
        except OSError:
            out[f] = None  # missing for now
    return out


def watch(
    study_path: str | Path,
    action: Callable[[Path], object],
    *,
    log: Callable[[str], None] = print,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    max_runs: int | None = None,
) -> int:
    """Run ``action(study_path)`` now and after every change; return the number of runs.

    Stops when ``stop`` is set, after ``max_runs`` runs (failed ones count), or on Ctrl-C.
    """
    study_path = Path(study_path)
    stop = stop or threading.Event()
    runs = 0

    def attempt() -> None:
        nonlocal runs
        runs += 1
        try:
            action(study_path)
        except SDError as err:
            log(f"error: {err}")
            log("still watching; fix the file and save it to run again.")

    files = watched_files(study_path)
    seen = fingerprint(files)
    attempt()
    try:
        while not stop.is_set() and (max_runs is None or runs < max_runs):
            stop.wait(interval)
            files = watched_files(study_path)
            now = fingerprint(files)
            changed = [f for f in files if now.get(f) != seen.get(f)]
            if changed:
                seen = now
                log("changed: " + ", ".join(_short(f) for f in changed))
                attempt()
    except KeyboardInterrupt:
        log("stopped watching.")
    return runs


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
