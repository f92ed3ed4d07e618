"""Write files so that readers never see a half-written one."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from sd.errors import OutputError


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Fail early, before any work, when ``path`` cannot be written."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(
            f"cannot write {path}: the folder {path.parent} does not exist. "
            "Create it first or choose another output path."
        )
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder. Give a file name.")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    An existing file at ``path`` is replaced only once the new one is complete; on
    any error (or Ctrl-C) the temporary file is removed and ``path`` is untouched.
    """
    path = check_output_path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; it replaces ``target`` only on success.

    Before the swap, a ``datapackage.json`` describing every CSV in the folder is written
    (:func:`sd.datapackage.describe_folder`).

    On any error (or Ctrl-C) the staged folder is removed and ``target`` is untouched.
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
        from sd.datapackage import describe_folder

        describe_folder(stage, name=target.name)  # metadata of every CSV in the folder
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        if target.exists():
            os.rename(target, old)
        try:
            os.rename(stage, target)
        except OSError:
            if old.exists():
                os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
