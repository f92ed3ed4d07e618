"""Translation cache: one folder per (model bytes, data bytes, PySD version).

An entry is written into a temporary folder and renamed into place, so two
processes translating the same model at once both end with a complete entry.
An entry counts only when its ``entry.json`` exists (written last).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sd.errors import ModelFileError, SDError
from sd.files import disk_errors
from sd.model import mdl
from sd.model.preprocess import read_refs
from sd.model.resources import check_model_size
from sd.model.translation import check_entries, check_model_file, translate

#: bump when the way the toolkit translates changes, so old entries are not reused
#: 2: the model text is neutralised and PySD's Python verified (sd.model.sanitize, sd.model.verify);
#: 3: sd.model.preprocess first (macros, {comments}, ?refs, data variables);
#: 4: PySD's abstract model is kept (sd.model.translation.ABSTRACT_FILE)
RECIPE = "4"
ENV_VAR = "SD_CACHE_DIR"


@dataclass(frozen=True)
class CacheEntry:
    """A translated model in the cache."""

    key: str
    folder: Path
    py_file: Path
    hit: bool  #: True when the translation was found, False when it was made now
    warnings: tuple[str, ...]
    data_files: tuple[Path, ...]
    model_sha256: str  #: SHA-256 of the .mdl bytes that were translated


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: the argument, else ``$SD_CACHE_DIR``, else the user's cache dir."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kuzbass-sd")) / "translations"


def pysd_version() -> str:
    """PySD's installed version (read once a process: ~1 ms a call from package metadata)."""
    if not _PYSD_VERSION:

        _PYSD_VERSION.append(version("pysd"))
    return _PYSD_VERSION[0]


_PYSD_VERSION: list[str] = []


def data_files(mdl_path: Path, text: str) -> tuple[Path, ...]:
    """The external data files the model reads, resolved beside the model; all must exist."""
    files = []
    for ref in mdl.data_file_references(text):
        path = (mdl_path.parent / ref).resolve()
        if not path.is_file():
            line = mdl.find_line(text, ref)
            at = f", line {line}" if line else ""
            raise ModelFileError(
                f"{mdl_path}{at}: the model reads the data file '{ref}', which does not exist "
                f"(looked for {path}). Put the file there or correct the path in the equation."
            )
        files.append(path)

    return tuple(files) + read_refs(mdl_path).inputs()  # the reference map and its files


def cache_key(mdl_path: Path, files: tuple[Path, ...], model_sha256: str | None = None) -> str:
    """SHA-256 over the model bytes, every data file (name and bytes) and the PySD version."""
    if model_sha256 is None:
        model_sha256 = hashlib.sha256(mdl_path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    h.update(f"recipe={RECIPE};pysd={pysd_version()}\n".encode())
    h.update(model_sha256.encode())
    for f in files:
        h.update(b"\0" + os.path.relpath(f, mdl_path.parent.resolve()).encode())
        h.update(b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def translated(mdl_path: Path, *, cache_dir: str | os.PathLike[str] | None = None) -> CacheEntry:
    """Return the cached translation of ``mdl_path``, translating it first when needed."""
    mdl_path = Path(mdl_path)
    text = check_model_file(mdl_path)
    try:
        files = data_files(mdl_path, text)
    except SDError:
        check_entries(mdl_path, text)  # a stray '|' is reported first, as it always was
        raise
    model_sha256 = hashlib.sha256(mdl_path.read_bytes()).hexdigest()
    key = cache_key(mdl_path, files, model_sha256)
    root = cache_root(cache_dir)
    folder = root / f"{_safe(mdl_path.stem)}-{key[:20]}"
    meta_file = folder / "entry.json"
    hit = meta_file.is_file() and _intact(folder)
    if not (hit and _entries_checked(meta_file)):
        # the same bytes passed when the entry was built (translate checks them); an entry
        # cached before this check existed is checked (and refused) here
        check_entries(mdl_path, text)
    if not hit:
        hint = f"point ${ENV_VAR} (or --cache-dir) to a folder you can write to."
        with disk_errors(root, hint):
            _build(mdl_path, folder, key)
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    return CacheEntry(
        key=key,
        folder=folder,
        py_file=folder / meta["py_file"],
        hit=hit,
        warnings=tuple(meta["warnings"]),
        data_files=files,
        model_sha256=model_sha256,
    )


def _build(mdl_path: Path, folder: Path, key: str) -> None:

    check_model_size(mdl_path)  # PySD's parser needs ~420x the file's size in memory
    root = folder.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        result = translate(mdl_path, tmp)
        meta = {
            "key": key,
            "source": str(mdl_path.resolve()),
            "py_file": result.py_file.name,
            "split_views": result.split_views,
            "warnings": list(result.warnings),
            "pysd": pysd_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "verified": _python_hashes(tmp),
            "checked": [ENTRIES_CHECK],  # translate() ran check_entries on these bytes
        }
        (tmp / "entry.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if folder.exists() and not _intact(folder):
            shutil.rmtree(folder, ignore_errors=True)  # left over from a crash, or altered
        try:
            os.rename(tmp, folder)
        except OSError:
            # another process finished the same entry first; theirs is identical
            if not (folder / "entry.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: the version of sd.model.translation.check_entries an entry records (raise it when the check
#: becomes stricter, so that entries built before are checked again)
ENTRIES_CHECK = "entries-1"


def _entries_checked(meta_file: Path) -> bool:
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and ENTRIES_CHECK in (meta.get("checked") or [])


def _python_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a translation: the Python verified by sd.model.verify when it
    was built, PySD's JSON and the neutralised model copy (``__pycache__`` aside)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != "entry.json"
        and "__pycache__" not in p.parts
        and p.relative_to(folder).parts[0] != "engine"  # sd.engine.fastrun's code, checked on use
    }


def verified_bytes(entry: CacheEntry, name: str) -> bytes | None:
    """The bytes of the entry's file ``name`` if they hash to what the entry recorded when
    it was built (read once, so the file cannot change between the check and the use)."""
    try:
        meta = json.loads((entry.folder / "entry.json").read_text(encoding="utf-8"))
        data = (entry.folder / name).read_bytes()
    except (OSError, ValueError):
        return None
    verified = meta.get("verified") if isinstance(meta, dict) else None
    if not isinstance(verified, dict) or verified.get(name) != hashlib.sha256(data).hexdigest():
        return None
    return data


def _intact(folder: Path) -> bool:
    """True when the entry is complete and its Python is byte for byte what was verified.

    An entry whose code was changed after it was built (or that predates verification)
    is rebuilt rather than imported.
    """
    try:
        meta = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    verified = meta.get("verified") if isinstance(meta, dict) else None
    return isinstance(verified, dict) and bool(verified) and verified == _python_hashes(folder)


def _safe(stem: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40] or "model"
