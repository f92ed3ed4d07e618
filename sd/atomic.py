"""Write files so that readers never see a half-written one."""

from __future__ import annotations

import contextlib
import errno
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


#: errors of the file system, not of the toolkit: a full disk, no permission, read-only
DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
}


class DiskError(OutputError):
    """The disk is full, read-only, or the folder cannot be written by this user."""

    def __init__(self, message: str, cause: OSError):
        super().__init__(message)
        self.cause = cause


@contextlib.contextmanager
def disk_errors(target: Path, hint: str | None = None) -> Iterator[None]:
    """Turn a full disk or a folder the user cannot write into an OutputError on ``target``.

    ``hint`` says what to do instead (default: write elsewhere with -o). Nested, the
    outermost target is named (the output folder, not a file staged inside it).
    """
    try:
        yield
    except (OSError, DiskError) as exc:
        err = exc.cause if isinstance(exc, DiskError) else exc
        if not isinstance(err, OSError) or err.errno not in DISK_ERRORS:
            raise
        where = f" ({err.filename})" if err.filename else ""
        raise DiskError(
            f"cannot write {target}: {DISK_ERRORS[err.errno]}{where}. Nothing was written. "
            + (
                "Free some space, or "
                if err.errno in (errno.ENOSPC, errno.EDQUOT)
                else "Change the folder's permissions, or "
            )
            + (hint or "write elsewhere with -o FOLDER."),
            err,
        ) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    An existing file at ``path`` is replaced only once the new one is complete; on
    any error (or Ctrl-C) the temporary file is removed and ``path`` is untouched.
    """
    path = check_output_path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part{path.suffix}")
    try:
        with disk_errors(path):
            yield tmp
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):  # absent, or on a read-only disk never written
            tmp.unlink()


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; it replaces ``target`` only on success.

    On any error (or Ctrl-C) the staged folder is removed and ``target`` is untouched.
    """
    import shutil

    target = Path(target)
    stage = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    with disk_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        stage.mkdir()
    try:
        with disk_errors(target):
            yield stage
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
