"""Names that become file or folder names: checked, slugged, and never two for one file.

A study name becomes an output folder and a scenario or variable name becomes a file
name, so a name from a study file must not be able to point anywhere else: no path
separators, no ``..``, not empty, not hidden, at most :data:`MAX_LENGTH` characters, no
control characters and none of the characters Windows forbids. Cyrillic (any letter)
is allowed, and slugs keep it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sd.errors import OutputError, SDError

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
