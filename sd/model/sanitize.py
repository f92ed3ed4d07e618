"""Neutralise a Vensim model's text before PySD reads it, so nothing in it can run.

PySD pastes parts of the ``.mdl`` into Python source without escaping (comments into
docstrings, data-function arguments into string literals, some names into quoted
strings) and even ``eval``s the range of a lookup while parsing. :func:`neutralise`
returns the text PySD is given instead of the user's file (which stays untouched):

- comments and units: double quotes become typographic quotes (a run of them can no
  longer close a docstring), backslashes become ``∖`` (a line continuation ``\\``
  + newline becomes a plain newline) and control characters become spaces; the
  original text is what ``sd info`` shows (read from the user's file by
  :func:`sd.model.mdl.entries`);
- string arguments (``GET DIRECT DATA('file', ...)``): a quote, backslash (except the
  tab delimiter ``'\\t'``) or control character is refused;
- lookup ranges ``[(x0,y0)-(x1,y1)]``: anything but numbers is refused;
- variable, subscript and macro names with a quote, backslash or control character
  are refused.

Refusals are :class:`~sd.errors.TranslationError` naming the file, the line and the
variable. Every replacement keeps the line structure, so PySD's line numbers stay right.
"""

from __future__ import annotations

import re
from pathlib import Path

from sd.errors import TranslationError
from sd.model import mdl

#: what a comment or units character becomes (one character each: columns stay put)
_TEXT_MAP = {'"': "\u201d", "\\": "\u2216"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTINUATION = re.compile(r"\\(?=[ \t]*\r?\n)")
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_WS = r"[\s\\]*"
_POINT = rf"{_WS}\({_WS}{_NUM}{_WS},{_WS}{_NUM}{_WS}\){_WS}"
#: ``(x0,y0)-(x1,y1)``, optionally followed by points (an old Vensim layout)
_RANGE = re.compile(rf"{_POINT}-{_POINT}(?:,{_POINT})*")
#: a left-hand side PySD pastes between quotes: subscript ranges and data (``:`` forms)
_COLON_LHS = re.compile(r"\s*(?:\[[^\]]*\]\s*)?(?::|<->)")
_BAD_NAME = re.compile(r"['\\\x00-\x1f\x7f]")
_MACRO = re.compile(r":MACRO:\s*([^(\n]*)", re.IGNORECASE)


def neutral_text(text: str) -> str:
    """A comment or units text that cannot close a Python string (same line structure)."""
    text = _CONTINUATION.sub("", text)
    text = _CONTROL.sub(" ", text)
    return "".join(_TEXT_MAP.get(c, c) for c in text)


def restored_text(text: str) -> str:
    """Undo :func:`neutral_text`'s character replacements (for units PySD read)."""
    back = {v: k for k, v in _TEXT_MAP.items()}
    return "".join(back.get(c, c) for c in text)


def neutralise(text: str, path: Path) -> str:
    """The model text PySD may read: see the module docstring. Raises TranslationError."""
    cut = text.find(mdl.SKETCH_MARKER)
    eqs, sketch = (text, "") if cut < 0 else (text[:cut], text[cut:])
    out: list[str] = []
    line = 1
    for chunk in eqs.split("|"):
        out.append(_chunk(chunk, line, path))
        line += chunk.count("\n")
    return "|".join(out) + sketch


def _chunk(chunk: str, line: int, path: Path) -> str:
    fields = chunk.split("~")
    if len(fields) < 2:
        return chunk  # not an equation entry (the end of the file)
    equation = fields[0]
    _check_equation(equation, line, path)
    return "~".join([equation, *(neutral_text(f) for f in fields[1:])])


def _line_at(text: str, pos: int, line: int) -> int:
    return line + text.count("\n", 0, pos)


def _lhs(equation: str) -> tuple[str, str]:
    """The left-hand-side name as written and the text after it."""
    body = equation.strip()
    if body.startswith("{UTF-8}"):
        body = body[len("{UTF-8}") :].strip()
    match = mdl._LHS.match(body)
    if not match:
        return "", ""
    name = match.group(1).strip()
    return name, body[body.find(name) + len(name) :]


def _check_equation(equation: str, line: int, path: Path) -> None:
    """Refuse strings, lookup ranges and names PySD would paste or eval unescaped."""
    name, after = _lhs(equation)
    bare = name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name
    bare = re.sub(r"\\[ \t]*\r?\n\s*", " ", bare)  # a name continued on the next line
    at = f"{path}, line {_line_at(equation, equation.find(name) if name else 0, line)}"
    for macro in _MACRO.findall(equation):
        if _BAD_NAME.search(macro) or '"' in macro:
            raise TranslationError(
                f"{at}: the macro name {macro.strip()!r} contains a quote, backslash or "
                "control character, which the toolkit refuses (such text could run as code). "
                "Rename the macro in Vensim."
            )
    pasted = _COLON_LHS.match(after) is not None
    if (
        pasted
        and not name.startswith("*")
        and (_BAD_NAME.search(bare) or '"' in bare.replace('\\"', ""))
    ):
        raise TranslationError(
            f"{at}: the name {bare!r} of a subscript range or data variable contains a quote "
            "(' or \"), backslash or control character, which the toolkit refuses (PySD would "
            "paste it into Python code). Rename it in Vensim using letters, digits, spaces "
            "and _ $."
        )
    where = name.strip('"') or "?"
    for kind, start, end in _tokens(equation):
        content = equation[start:end]
        if kind == "string":
            inner = content[1:-1]
            if inner == "\\t":
                continue
            if re.search(r"[\"\\\x00-\x1f\x7f]", inner):
                raise TranslationError(
                    f"{path}, line {_line_at(equation, start, line)}: the string {content!r} "
                    f"in the equation of '{where}' contains a quote, backslash or control "
                    "character, which the toolkit refuses (PySD would paste it into Python "
                    "code). Write file names with forward slashes (data/file.csv) and plain "
                    "sheet and cell names."
                )
        elif kind == "brackets":
            inner = content[1:-1]
            before = equation[:start].rstrip(" \t\r\n\\")
            if ("(" in inner or ")" in inner or before.endswith("(")) and not _RANGE.fullmatch(
                inner
            ):
                raise TranslationError(
                    f"{path}, line {_line_at(equation, start, line)}: the lookup range "
                    f"{content!r} in the equation of '{where}' is not of the form "
                    "[(xmin,ymin)-(xmax,ymax)] with numbers, which the toolkit refuses "
                    "(PySD evaluates it as Python). Correct the range in Vensim."
                )


def _tokens(equation: str) -> list[tuple[str, int, int]]:
    """Spans of 'strings' and [brackets] outside {comments} and "quoted names"."""
    spans: list[tuple[str, int, int]] = []
    i, n = 0, len(equation)
    while i < n:
        c = equation[i]
        if c == "{":
            j = equation.find("}", i + 1)
            i = n if j < 0 else j + 1
        elif c == '"':
            j = i + 1
            while j < n and equation[j] != '"':
                j += 2 if equation[j] == "\\" else 1
            i = j + 1
        elif c == "'" and _string_start(equation, i):
            j = equation.find("'", i + 1)
            if j < 0:
                return spans  # PySD reports the unterminated string as a syntax error
            spans.append(("string", i, j + 1))
            i = j + 1
        elif c == "[":
            j = equation.find("]", i + 1)
            if j < 0:
                return spans
            spans.append(("brackets", i, j + 1))
            i = j + 1
        else:
            i += 1
    return spans


def _string_start(equation: str, i: int) -> bool:
    """True when the ``'`` at ``i`` opens a string, not an apostrophe inside a name."""
    before = equation[:i].rstrip(" \t\r\n\\")
    return not before or before[-1] in "(,=+-*/^<>:"
