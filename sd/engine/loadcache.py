"""What :func:`sd.load` derives from a translation, kept beside it for the next load.

Loading a translated model means instantiating PySD's model, checking its data files cell
by cell, reading the ``.mdl`` for names, units, comments and lines, and the time settings:
about 80 ms on the Kuzbass model, three times Simlin's whole load-run-results. All of it is
a function of the translation cache key (the model's and its data files' bytes, PySD's
version), the model's path (messages name it) and the toolkit's own code, so the result
(variables, time grid, data notices) is written as JSON into the entry's ``engine/``
folder the first time and read back afterwards. A load that raises (a circular
definition, a bad data cell) writes nothing, so it raises again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sd.model.model import TimeGrid, Variable

_VERSION: list[str] = []


def _code_version() -> str:
    """A hash of the toolkit's modules (any change to the code invalidates the files)."""
    if not _VERSION:
        digest = hashlib.sha256()
        package = Path(__file__).resolve().parents[1]  # sd/
        for p in sorted(package.rglob("*.py")):
            digest.update(p.relative_to(package).as_posix().encode() + b"\0" + p.read_bytes())
        _VERSION.append(digest.hexdigest()[:16])
    return _VERSION[0]


def _file(folder: Path, path: Path) -> Path:
    spec = json.dumps([_code_version(), str(path.resolve())])
    return folder / "engine" / f"load-{hashlib.sha256(spec.encode()).hexdigest()[:24]}.json"


def read(folder: Path, path: Path) -> tuple[dict, Any, tuple[str, ...]] | None:
    """(variables, time grid, notices) of an earlier load of the same model, or None."""

    try:
        data = json.loads(_file(folder, path).read_text(encoding="utf-8"))
        variables = {}
        for row in data["variables"]:
            row["limits"] = tuple(row["limits"])
            var = Variable(**row)
            variables[var.name] = var
        grid = TimeGrid(**data["time"])
        notices = tuple(str(n) for n in data["notices"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return variables, grid, notices


def write(folder: Path, path: Path, variables: dict, grid: Any, notices: tuple[str, ...]) -> None:

    payload = {
        "variables": [asdict(v) for v in variables.values()],
        "time": asdict(grid),
        "notices": list(notices),
    }
    target = _file(folder, path)
    _write(target.parent, target.name, json.dumps(payload).encode("utf-8"))


def _write(folder: Path, name: str, payload: bytes) -> None:
    """Write a file of the cache atomically; a cache that cannot be written is no error."""
    try:
        folder.mkdir(exist_ok=True)
        tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(payload)
        os.replace(tmp, folder / name)
    except OSError:
        pass
