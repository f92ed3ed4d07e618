"""Read the plain-text structure of a Vensim ``.mdl`` file.

This is not an equation parser (PySD does that); it finds what the toolkit needs
to explain things to users: where each equation starts (file line), the external
data files the model reads, and how many sketch views the file has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SKETCH_MARKER = "\\\\\\---///"
SETTINGS_MARKER = ":L\x7f<%^E!@"
#: Vensim's integration codes (4th field of the ``15:`` settings line, FORMAT.md section 7)
METHODS = {0: "euler", 1: "rk4", 3: "rk2"}
_GET_FILE = re.compile(
    r"GET[\s_]+(?:DIRECT|XLS|123)[\s_]+(?:DATA|LOOKUPS|CONSTANTS|SUBSCRIPTS?)\s*\(\s*'([^']*)'",
    re.IGNORECASE,
)
_LHS = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^=(\[:~|]+?)\s*(?:\[|\(|:=|==|=|:|~|$)', re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One equation entry of the ``.mdl`` (``lhs = rhs ~ units ~ comment |``)."""

    name: str  #: left-hand-side name as written (quotes removed)
    line: int  #: 1-based line of the file where the entry starts
    equation: str  #: the text before the first ``~``
    units: str
    comment: str


def normalize(name: str) -> str:
    """Vensim's name identity: case-insensitive, spaces and underscores alike."""
    name = name.strip().strip('"')
    return re.sub(r"[\s_]+", " ", name).strip().lower()


def read_text(path: Path) -> str:
    """Return the file's text (UTF-8, or Latin-1 for old files that are not UTF-8)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def equations_section(text: str) -> str:
    """The part of the file before the sketch."""
    cut = text.find(SKETCH_MARKER)
    return text if cut < 0 else text[:cut]


def looks_like_vensim(text: str) -> bool:
    """True when the text has Vensim equation entries (``~`` fields ended by ``|``)."""
    eqs = equations_section(text)
    return "~" in eqs and "|" in eqs


def entries(text: str) -> list[Entry]:
    """Equation entries with their starting lines (group headers are skipped)."""
    eqs = equations_section(text)
    out: list[Entry] = []
    pos = 0
    line = 1
    for chunk in eqs.split("|"):
        start_line = line + chunk[: len(chunk) - len(chunk.lstrip())].count("\n")
        line += chunk.count("\n")
        pos += len(chunk) + 1
        body = chunk.strip()
        if body.startswith("{UTF-8}"):
            start_line += 1
            body = body[len("{UTF-8}") :].strip()
        if body.startswith("*"):  # group header: ****\n .Name\n****~ comment
            continue
        if not body or body.startswith(":MACRO:") or body.startswith(":END OF MACRO:"):
            continue
        fields = body.split("~")
        equation = fields[0].strip()
        match = _LHS.match(equation)
        if not match:
            continue
        name = match.group(1).strip().strip('"')
        units = fields[1].strip() if len(fields) > 1 else ""
        comment = re.sub(r"\\\s*\n\s*", " ", fields[2]).strip() if len(fields) > 2 else ""
        out.append(Entry(name, start_line, equation, units, comment))
    return out


def entry_lines(text: str) -> dict[str, int]:
    """Normalized variable name -> line where its (first) equation starts."""
    lines: dict[str, int] = {}
    for e in entries(text):
        lines.setdefault(normalize(e.name), e.line)
    return lines


def data_file_references(text: str) -> list[str]:
    """File names read by GET DIRECT/XLS functions, in order of first use."""
    seen: list[str] = []
    for ref in _GET_FILE.findall(equations_section(text)):
        if ref not in seen and not ref.startswith("?"):
            seen.append(ref)
    return seen


def view_count(text: str) -> int:
    """Number of sketch views (``*View name`` headers after the sketch marker)."""
    cut = text.find(SKETCH_MARKER)
    if cut < 0:
        return 0
    return len(re.findall(r"^\*[^\n]*$", text[cut:], flags=re.MULTILINE))


def find_line(text: str, needle: str) -> int | None:
    """1-based line of the first entry whose equation contains ``needle`` (case-insensitive).

    Spaces and underscores are treated alike, as Vensim does in names.
    """
    pattern = re.compile(
        r"[\s_]+".join(re.escape(part) for part in re.split(r"[\s_]+", needle.strip())),
        re.IGNORECASE,
    )
    for e in entries(text):
        if pattern.search(e.equation):
            return e.line
    return None


def integration_method(text: str) -> str:
    """The integration method the model's settings ask for: "euler", "rk4", "rk2", or
    "code N" for a code the toolkit does not know (e.g. Vensim's automatic-step RK).

    Read from the ``15:a,b,c,M,...`` line of the settings block after the sketch
    (``M``: 0 Euler, 1 RK4, 3 RK2); a file without the block or the line is Euler,
    Vensim's default.
    """
    cut = text.find(SETTINGS_MARKER)
    if cut < 0:
        cut = text.find(SKETCH_MARKER)
    if cut < 0:
        return "euler"
    match = re.search(r"^15:([^\r\n]*)", text[cut:], flags=re.MULTILINE)
    if not match:
        return "euler"
    fields = match.group(1).split(",")
    try:
        code = int(fields[3])
    except (IndexError, ValueError):
        return "euler"
    return METHODS.get(code, f"code {code}")
