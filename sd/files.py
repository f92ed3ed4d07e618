"""Files the toolkit writes: atomic writes, staged output folders, and safe names.

Write files so that readers never see a half-written one, and delete nothing of the user's.

Output folders are built beside their target and renamed into place; they carry a
:data:`MARKER` file (tool, version, command, time, the files written) so that a later
run replaces only folders this toolkit wrote. Staging folders are named
``.NAME.tmp-HOST-PID-XXXXXXXX`` so that the next run can remove those of killed runs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sd.datapackage import descriptor, folder_resources
from sd.errors import OutputError, SDError
from sd.version import __version__

MARKER = ".kuzbass-sd-output"  #: the file that marks a folder as written by this toolkit
TOOL = "kuzbass-sd"
_STAGING = ".kuzbass-sd-staging"  #: inside a staging folder while it is being written


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
def staged_folder(target: str | os.PathLike[str], command: str = "") -> Iterator[Path]:
    """Yield an empty folder beside ``target``; it replaces ``target`` only on success.

    ``target`` may be missing, an empty folder, or a folder this toolkit wrote (it carries
    :data:`MARKER`, listing the files written) with nothing added to it since; anything
    else is refused with an :class:`OutputError`, before any work and again just before
    the swap. The new folder gets its own marker. On any error (or Ctrl-C) the staged
    folder is removed and ``target`` is untouched. Staging folders of runs that were
    killed (their process is gone) are removed first. Before the swap, a
    ``datapackage.json`` describing every CSV in the folder is written
    (:func:`describe_folder`).
    """

    target = _absolute(target)
    check_replaceable(target)
    with disk_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(target)
        stage = target.parent / f".{_stem(target)}.tmp-{_owner()}"
        stage.mkdir()
        (stage / _STAGING).write_text(json.dumps(_stamp(command)), encoding="utf-8")
    try:
        with disk_errors(target):
            yield stage
            describe_folder(stage, name=target.name)  # metadata of every CSV in the folder
            (stage / _STAGING).unlink()
            _write_marker(stage, command)
            old = target.parent / f".{_stem(target)}.old-{_owner()}"
            if check_replaceable(target) == "empty":
                os.rmdir(target)  # fails, and nothing is lost, if a file appeared meanwhile
            elif target.exists():
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


def write_package(
    folder: Path,
    resources: Iterable[dict[str, Any]],
    *,
    name: str,
    title: str = "",
    properties: Mapping[str, Any] | None = None,
    filename: str = "datapackage.json",
) -> Path:
    """Write ``folder/filename`` (atomically): a Frictionless data package of the resources
    (:func:`sd.datapackage.descriptor`)."""
    path = folder / filename
    text = descriptor(resources, name=name, title=title, properties=properties)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def describe_folder(folder: Path, *, name: str, title: str = "") -> Path | None:
    """Write ``folder/datapackage.json`` listing every CSV below ``folder`` (None if none);
    the CSVs' own sidecars are absorbed into it and removed
    (:func:`sd.datapackage.folder_resources`)."""
    resources, sidecars = folder_resources(folder)
    if not resources:
        return None
    for sidecar in sidecars:
        sidecar.unlink()
    return write_package(folder, resources, name=name, title=title)


def check_replaceable(target: Path) -> str:
    """'missing', 'empty' or 'ours' (a marked folder with only our files); else refuse."""
    target = _absolute(target)
    advice = (
        "Choose another output folder (-o), or empty or remove it yourself "
        f"if you no longer need it. The toolkit replaces only folders that carry its {MARKER} "
        "file, and never deletes files it did not write."
    )
    if target.is_symlink():
        raise OutputError(f"cannot write outputs to {target}: it is a symbolic link. {advice}")
    if not target.exists():
        return "missing"
    if not target.is_dir():
        raise OutputError(f"cannot write outputs to {target}: it is a file, not a folder. {advice}")
    if not any(target.iterdir()):
        return "empty"
    written = _marker_files(target)
    if written is None:
        raise OutputError(
            f"cannot write outputs to {target}: the folder exists and was not written by "
            f"kuzbass-sd (it has no valid {MARKER} file). {advice}"
        )
    extra = sorted(
        p.relative_to(target).as_posix()
        for p in target.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.relative_to(target).as_posix() not in written
    )
    if extra:
        shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        raise OutputError(
            f"cannot replace {target}: it holds files kuzbass-sd did not write ({shown}). "
            "Move them elsewhere, or choose another output folder (-o)."
        )
    return "ours"


def remove_stale(target: Path) -> list[Path]:
    """Remove staging folders of ``target`` left by killed runs on this host; return them.

    Only folders named ``.NAME.tmp-HOST-PID-XXXXXXXX`` (or ``.old-``) whose process is
    gone and that hold the toolkit's staging or marker file are removed; nothing else.
    """

    target = _absolute(target)
    pattern = re.compile(
        re.escape(f".{_stem(target)}.")
        + r"(tmp|old)-(?P<host>[A-Za-z0-9.-]+)-(?P<pid>\d+)-[0-9a-f]{8}"
    )
    removed = []
    if not target.parent.is_dir():
        return removed
    for path in target.parent.iterdir():
        m = pattern.fullmatch(path.name)
        if not m or path.is_symlink() or not path.is_dir():
            continue
        if m["host"] != _host() or _alive(int(m["pid"])):
            continue
        if (path / _STAGING).is_file() or _marker_files(path) is not None:
            shutil.rmtree(path, ignore_errors=True)
        elif not any(path.iterdir()):
            path.rmdir()
        else:
            continue
        removed.append(path)
    return removed


def _absolute(path: str | os.PathLike[str]) -> Path:
    path = Path(os.path.abspath(path))
    if not path.name:
        raise OutputError(f"cannot write outputs to {path}: give a folder below it.")
    return path


def _stem(target: Path) -> str:
    """``target.name``, shortened (with a hash) so that staging names fit in 255 bytes."""
    name = target.name
    if len(name.encode()) <= 150:
        return name

    short = name.encode()[:140].decode(errors="ignore")
    return f"{short}~{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _host() -> str:
    return (re.sub(r"[^A-Za-z0-9.-]", "", socket.gethostname()) or "host")[:32]


def _owner() -> str:
    return f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (unknown counts as alive)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. another user's process
    return True


def _stamp(command: str) -> dict[str, object]:

    return {
        "tool": TOOL,
        "version": __version__,
        "command": command,
        # the arguments without folders: outputs hold no absolute path of this machine
        "argv": [os.path.basename(a) if os.path.isabs(a) else a for a in sys.argv],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": _host(),
        "pid": os.getpid(),
    }


def _write_marker(folder: Path, command: str) -> None:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    body = {**_stamp(command), "files": files}
    (folder / MARKER).write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")


def _marker_files(folder: Path) -> set[str] | None:
    """The files a marked folder lists (with the marker itself), or None when unmarked."""
    marker = folder / MARKER
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        body = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("tool") != TOOL:
        return None
    files = body.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return {*files, MARKER}


# --- names that become file or folder names ---
#
# Names that become file or folder names: checked, slugged, and never two for one file.
#
# A study name becomes an output folder and a scenario or variable name becomes a file
# name, so a name from a study file must not be able to point anywhere else: no path
# separators, no ``..``, not empty, not hidden, at most :data:`MAX_LENGTH` characters, no
# control characters and none of the characters Windows forbids. Cyrillic (any letter)
# is allowed, and slugs keep it.

MAX_LENGTH = 100  #: assumption: leaves room for suffixes within the 255-byte file-name limit
_FORBIDDEN = set('/\\<>:"|?*')  # path separators and what Windows refuses in file names
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))} | {
    f"lpt{i}" for i in range(10)
}


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a file or folder name, or None when it can."""
    if not isinstance(name, str):
        return f"it is {type(name).__name__} {name!r}, not text"
    if not name.strip():
        return "it is empty"
    if name in (".", ".."):
        return f"{name!r} is not a name but a folder reference"
    if len(name) > MAX_LENGTH:
        return f"it has {len(name)} characters, more than {MAX_LENGTH}"
    bad = sorted({c for c in name if c in _FORBIDDEN})
    if bad:
        return f"it contains {' '.join(repr(c) for c in bad)} (path separators are not allowed)"
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return "it contains control or invisible formatting characters"
    if name.startswith("."):
        return "it starts with '.' (a hidden file name)"
    if name != name.strip() or name.endswith("."):
        return "it begins or ends with a space or ends with '.'"
    if name.split(".")[0].lower() in _WINDOWS_DEVICES:
        return f"{name!r} is a reserved device name on Windows"
    return None


def check_name(name: object, where: str, error: type[SDError] = OutputError) -> str:
    """Return ``name`` if it can be a file name; else raise ``error``.

    ``where`` says where the name comes from, e.g. "studies/a.toml: [study] name".
    """
    problem = name_problem(name)
    if problem is not None:
        raise error(
            f"{where}: the name {name!r} cannot be used: it becomes a file or folder name, "
            f"and {problem}. "
            f"Use a short name of letters (Cyrillic is fine), digits, spaces, '-' and '_'."
        )
    assert isinstance(name, str)
    return name


def slug(name: str) -> str:
    """A file-name-safe, lower-case form of a variable, view or scenario name.

    Letters of any script (Cyrillic too) and digits are kept; every other run of
    characters becomes one ``_``. At most :data:`MAX_LENGTH` characters.
    """
    text = unicodedata.normalize("NFC", name).lower()
    out = re.sub(r"[\W_]+", "_", text).strip("_")[:MAX_LENGTH].strip("_")
    return out or "figure"


def distinct_slugs(
    names: Iterable[str],
    what: str,
    *,
    prefix: str = "",
    taken: Iterable[str] = (),
    error: type[SDError] = OutputError,
) -> dict[str, str]:
    """``{name: prefix + slug(name)}``; two names for one file name are an error naming both.

    ``what`` names the kind of name (e.g. "scenario names in studies/a.toml"); file names
    in ``taken`` (e.g. "overview") are already used by something else in the folder.
    """
    owner: dict[str, str] = {}
    for stem in taken:
        owner[stem.lower()] = f"the toolkit's own file {stem!r}"
    out: dict[str, str] = {}
    for name in dict.fromkeys(names):
        stem = prefix + slug(name)
        first = owner.setdefault(stem.lower(), repr(name))
        if first != repr(name):
            raise error(
                f"{what}: {first} and {name!r} both become the file name {stem!r}; "
                "rename one of them so that they differ in letters or digits."
            )
        out[name] = stem
    return out
