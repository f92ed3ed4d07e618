"""Read the plain-text structure of a Vensim ``.mdl`` file.

This is not an equation parser (PySD does that); it finds what the toolkit needs
to explain things to users: where each equation starts (file line), the external
data files the model reads, and how many sketch views the file has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sd.errors import ModelFileError

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
    """Return the file's text, decoded as :func:`decode` says."""
    return decode(path.read_bytes(), path)[0]


def decode(raw: bytes, path: Path | str = "the model") -> tuple[str, str]:
    """The text of a model file and the encoding it was read with.

    A file marked ``{UTF-8}`` (as Vensim writes them) must be UTF-8. A file without the
    marker is read as UTF-8 when it decodes, else as cp1251 (Vensim on Russian Windows
    saves in the system code page), else as Latin-1.
    """
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{UTF-8}"):
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            raise ModelFileError(
                f"{path}, line {line}: the file is marked {{UTF-8}} but byte "
                f"0x{raw[err.start]:02x} there is not UTF-8. Re-save the model from Vensim, "
                "or remove the {UTF-8} marker if the file is in the Windows code page."
            ) from None
    for encoding in ("utf-8", "cp1251", "latin-1"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


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


def stray_fragments(text: str) -> list[tuple[int, str, str | None]]:
    """Text between two ``|`` that is not an entry (``name = ... ~ units ~ comment``).

    A ``|`` typed inside a comment or units field ends the entry there, and the rest
    becomes such a fragment. A ``|`` inside a quoted name does not end an entry.
    Returns (line, fragment, name of the entry before it).
    """
    out: list[tuple[int, str, str | None]] = []
    previous = None
    for line, chunk in _raw_entries(equations_section(text)):
        body = chunk.strip()
        if body.startswith("{UTF-8}"):
            body = body[len("{UTF-8}") :].strip()
        if re.match(r"\\+-+///", body):  # a sketch marker with fewer backslashes
            break
        if body.upper().startswith(":MACRO:"):  # the header line, then the first equation
            body = body.partition("\n")[2].strip()
        if not body or body.upper().startswith(":END OF MACRO:"):
            continue
        if body.startswith("*"):  # group header
            continue
        match = _LHS.match(body.split("~")[0].strip())
        if "~" not in body or match is None:
            out.append((line, " ".join(body.split()), previous))
            continue
        previous = match.group(1).strip().strip('"')
    return out


def _raw_entries(eqs: str) -> list[tuple[int, str]]:
    """Split the equations at each ``|`` that ends an entry, with each piece's first line.

    Quotes are tracked only in the equation (before the first ``~``): names may hold
    ``|``, while comments may hold unbalanced quotes.
    """
    pieces: list[tuple[int, str]] = []
    start, in_quote, in_equation = 0, False, True
    skip = -1  # the character after a backslash inside a quoted name
    line, counted, hidden = 1, 0, 0  # an escaped newline is not counted as a line
    for match in _SPECIAL.finditer(eqs):  # only these characters change the state
        i, ch = match.start(), match.group()
        if i == skip:
            continue
        if in_equation and ch == "\\" and in_quote:
            skip = i + 1  # an escaped character inside a quoted name
            hidden += eqs.startswith("\n", skip)
        elif in_equation and ch == '"':
            in_quote = not in_quote
        elif ch == "~" and not in_quote:
            in_equation = False
        elif ch == "|" and not in_quote:
            piece = eqs[start:i]
            line += eqs.count("\n", counted, i)
            counted = i
            first = line - hidden - piece.count("\n")
            pieces.append((first + piece[: len(piece) - len(piece.lstrip())].count("\n"), piece))
            start, in_equation = i + 1, True
    piece = eqs[start:]
    line += eqs.count("\n", counted) - hidden
    pieces.append((line - piece.count("\n"), piece))
    return pieces


_SPECIAL = re.compile(r'[\\"~|]', re.DOTALL)


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
