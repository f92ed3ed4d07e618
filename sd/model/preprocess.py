"""Rewrite a Vensim model into what PySD can translate, with Vensim's meaning.

The user's ``.mdl`` is never modified: :func:`prepare` returns the text PySD reads
(written into the translation cache's temporary folder by :mod:`sd.model.translation`).
Text is data: nothing in it is executed; this module only moves text around.

* **Macros** (``:MACRO: NAME(in1, in2 : out1) ... :END OF MACRO:``) are expanded: every
  call site gets its own copy of the macro's equations, with unique names
  ``NAME k var`` (``NAME k`` for the macro's own value, ``k`` the call's number), the
  inputs replaced by the call's argument expressions (in parentheses) and the outputs
  after ``:`` by the caller's variable names. ``TIME STEP$``, ``Time$``,
  ``INITIAL TIME$``, ``FINAL TIME$`` and ``SAVEPER$`` become the model's own. Macros
  calling macros are expanded in turn; a macro that calls itself is refused.
* **Inline comments** ``{...}`` inside equations are removed.
* **Indirect file references** ``'?name'`` in GET DIRECT/XLS functions are resolved
  through the model's reference map ``NAME.refs.toml`` beside ``NAME.mdl``::

      [files]                 # '?inputs' reads data/inputs.xlsx (relative to the model)
      inputs = "data/inputs.xlsx"

      [data]                  # data variables without an equation (Vensim reads them
      files = ["data.tab"]    # from a dataset at run time): Vensim .tab or .csv files

  A reference or a data variable the map does not cover is refused with the line at fault.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sd.errors import ModelFileError, TranslationError
from sd.model import mdl

#: tokens of an equation: strings, numbers, Vensim operators like :AND:, comments, names
_TOKEN = re.compile(
    r"""(?P<str>"(?:[^"\\]|\\.)*"|'[^']*')"""
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<op>:[A-Za-z]+:)"
    r"|(?P<comment>\{[^{}]*\})"
    r"|(?P<name>[^\W\d][\w $]*)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_MACRO = re.compile(
    r":MACRO:\s*(?P<head>.*?)\((?P<args>[^)]*)\)(?P<body>.*?):END OF MACRO:",
    re.DOTALL | re.IGNORECASE,
)
_GLOBALS = {
    "time step$": "TIME STEP",
    "time$": "Time",
    "initial time$": "INITIAL TIME",
    "final time$": "FINAL TIME",
    "saveper$": "SAVEPER",
}
_DATA_KEYWORD = r"(?::\s*(?:INTERPOLATE|HOLD\s+BACKWARD|LOOK\s+FORWARD|RAW)\s*:)"
_DATA_VAR = re.compile(rf'^\s*("[^"]*"|[^=(\[:~|{{]+?)\s*(?:\[[^\]]*\])?\s*{_DATA_KEYWORD}?\s*$')
_SKETCH = re.compile(r"\\{2,}---///")
_INDIRECT = re.compile(r"'\?([^']*)'")
MAX_INSTANCES = 10_000


@dataclass(frozen=True)
class Refs:
    """The model's reference map (``NAME.refs.toml``), empty when there is none."""

    path: Path
    files: dict[str, str]  #: ?name -> file (relative to the model)
    data: tuple[str, ...]  #: data files for data variables without equations

    def inputs(self) -> tuple[Path, ...]:
        """The map itself and every file it names (all must exist), for the cache key."""
        if not self.path.is_file():
            return ()
        out = [self.path]
        for ref in [*self.files.values(), *self.data]:
            file = (self.path.parent / ref).resolve()
            if not file.is_file():
                raise ModelFileError(
                    f"{self.path}: names the file '{ref}', which does not exist (looked for "
                    f"{file}). Put the file there or correct the path in the map."
                )
            out.append(file)
        return tuple(out)


@dataclass(frozen=True)
class Prepared:
    text: str  #: what PySD reads
    notes: tuple[str, ...]  #: what was rewritten, for the translation's warnings


def refs_path(mdl_path: Path) -> Path:
    return mdl_path.with_name(mdl_path.stem + ".refs.toml")


def read_refs(mdl_path: Path) -> Refs:
    path = refs_path(mdl_path)
    if not path.is_file():
        return Refs(path, {}, ())
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: not a valid TOML file ({err}). Fix its syntax.") from None
    files = doc.get("files", {})
    data = doc.get("data", {}).get("files", [])
    unknown = set(doc) - {"files", "data"}
    if unknown:
        raise ModelFileError(
            f"{path}: unknown table '{sorted(unknown)[0]}'; the reference map has only "
            "[files] (indirect ?name references) and [data] (files = [...])."
        )
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ModelFileError(f"{path}: [files] must map names to file paths (strings).")
    if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
        raise ModelFileError(f"{path}: [data] files must be a list of file paths (strings).")
    return Refs(path, {k.lstrip("?"): v for k, v in files.items()}, tuple(data))


def prepare(mdl_path: Path, text: str) -> Prepared:
    """The text PySD should translate for the model ``mdl_path`` whose text is ``text``."""
    cut = text.find(mdl.SKETCH_MARKER)
    eqs, rest = (text, "") if cut < 0 else (text[:cut], text[cut:])
    notes: list[str] = []
    refs = read_refs(mdl_path)
    new = _strip_comments(eqs)
    if new != eqs:
        notes.append("removed {...} comments inside equations")
    new, expanded = _expand_macros(mdl_path, new)
    if expanded:
        notes.append("expanded macros: " + ", ".join(f"{k} ({v} calls)" for k, v in expanded))
    new = _resolve_indirect(mdl_path, text, new, refs)
    _check_data_variables(mdl_path, text, new, refs)
    return Prepared(new + rest, tuple(notes))


# -- inline comments --------------------------------------------------------------------------


def _strip_comments(eqs: str) -> str:
    head = ""
    body = eqs
    stripped = eqs.lstrip()
    if stripped.startswith("{UTF-8}"):
        start = eqs.index("{UTF-8}") + len("{UTF-8}")
        head, body = eqs[:start], eqs[start:]
    if "{" not in body:
        return eqs
    chunks = body.split("|")
    out = []
    for chunk in chunks:
        equation, sep, tail = chunk.partition("~")
        parts = [" " if m.lastgroup == "comment" else m.group(0) for m in _TOKEN.finditer(equation)]
        out.append("".join(parts) + sep + tail)
    return head + "|".join(out)


# -- macros -----------------------------------------------------------------------------------


@dataclass
class _Macro:
    name: str
    inputs: list[str]
    outputs: list[str]
    entries: list[tuple[str, str]]  # (equation, "~ units ~ comment" tail)
    internal: set[str]  # normalized names defined in the body


def _expand_macros(mdl_path: Path, eqs: str) -> tuple[str, list[tuple[str, int]]]:
    macros: dict[str, _Macro] = {}
    for match in _MACRO.finditer(eqs):
        macro = _parse_macro(match)
        macros[mdl.normalize(macro.name)] = macro
    if not macros:
        return eqs, []
    stripped = _MACRO.sub("", eqs)
    taken = {mdl.normalize(e.name) for e in mdl.entries(stripped)}
    counts: dict[str, int] = dict.fromkeys(macros, 0)
    generated: list[str] = []
    chunks = [
        _expand_chunk(chunk, macros, counts, taken, generated, mdl_path)
        for chunk in stripped.split("|")
    ]
    done = 0
    while done < len(generated):  # instances may call other macros
        generated[done] = _expand_chunk(generated[done], macros, counts, taken, generated, mdl_path)
        done += 1
    body = "|".join(chunks)
    if generated:  # the instances go first, after the encoding line
        head = ""
        if body.lstrip().startswith("{UTF-8}"):
            cut = body.index("{UTF-8}") + len("{UTF-8}")
            head, body = body[:cut], body[cut:]
        body = head + "\n" + "|\n".join(g.strip("\n") for g in generated) + "\n|" + body
    used = [(macros[k].name, v) for k, v in counts.items() if v]
    return body, used


def _parse_macro(match: re.Match) -> _Macro:
    name = match.group("head").strip()
    inputs_text, _, outputs_text = match.group("args").partition(":")
    inputs = [a.strip() for a in inputs_text.split(",") if a.strip()]
    outputs = [a.strip() for a in outputs_text.split(",") if a.strip()]
    entries = []
    internal = set()
    for chunk in match.group("body").split("|"):
        if not chunk.strip():
            continue
        equation, sep, tail = chunk.partition("~")
        entries.append((equation.strip("\n"), sep + tail))
        lhs = mdl.entries(chunk + "|")
        if lhs:
            internal.add(mdl.normalize(lhs[0].name))
    return _Macro(name, inputs, outputs, entries, internal)


def _expand_chunk(
    chunk: str,
    macros: dict[str, _Macro],
    counts: dict[str, int],
    taken: set[str],
    generated: list[str],
    mdl_path: Path,
) -> str:
    equation, sep, tail = chunk.partition("~")
    if not any(k in mdl.normalize(equation) for k in macros):
        return chunk
    tokens = [(m.lastgroup, m.group(0)) for m in _TOKEN.finditer(equation)]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, tok = tokens[i]
        key = mdl.normalize(tok) if kind == "name" else ""
        j = i + 1
        while j < len(tokens) and tokens[j][1].isspace():
            j += 1
        if key in macros and j < len(tokens) and tokens[j][1] == "(":
            end, args, outs = _call_args(tokens, j)
            # calls inside the arguments first: one instance per call site, even when the
            # macro uses an input twice
            args = [_expand_chunk(a, macros, counts, taken, generated, mdl_path) for a in args]
            macro = macros[key]
            if len(args) != len(macro.inputs) or len(outs) != len(macro.outputs):
                raise TranslationError(
                    f"{mdl_path}: the macro {macro.name} takes {len(macro.inputs)} input(s)"
                    + (f" and {len(macro.outputs)} output(s)" if macro.outputs else "")
                    + f", but is called with {len(args)}"
                    + (f" and {len(outs)}" if outs else "")
                    + f" in '{' '.join(equation.split())}'. Correct the call."
                )
            counts[key] += 1
            if sum(counts.values()) > MAX_INSTANCES:
                raise TranslationError(
                    f"{mdl_path}: the macro {macro.name} calls itself (directly or through "
                    "other macros), which cannot be expanded. Rewrite it without recursion."
                )
            out.append(_instance(macro, counts[key], args, outs, taken, generated))
            out.append(tok[len(tok.rstrip()) :])
            i = end + 1
            continue
        out.append(tok)
        i += 1
    return "".join(out) + sep + tail


def _call_args(tokens: list[tuple[str, str]], open_at: int) -> tuple[int, list[str], list[str]]:
    """Index of the closing parenthesis, the input and the output argument texts."""
    depth = 0
    args: list[str] = []
    outs: list[str] = []
    current: list[str] = []
    target = args
    for k in range(open_at, len(tokens)):
        kind, tok = tokens[k]
        if tok in "([" and kind == "other":
            depth += 1
            if depth == 1:
                continue
        elif tok in ")]" and kind == "other":
            depth -= 1
            if depth == 0:
                if "".join(current).strip() or target:
                    target.append("".join(current).strip())
                return k, [a for a in args], outs
        elif depth == 1 and kind == "other" and tok in ",:":
            target.append("".join(current).strip())
            current = []
            if tok == ":":
                target = outs
            continue
        current.append(tok)
    raise TranslationError("unbalanced parentheses in a macro call")


def _instance(
    macro: _Macro,
    k: int,
    args: list[str],
    outs: list[str],
    taken: set[str],
    generated: list[str],
) -> str:
    """Write the entries of call ``k`` of ``macro``; return the name of its value."""
    names: dict[str, str] = {}
    for var in sorted(macro.internal):
        if var == mdl.normalize(macro.name):
            base = f"{macro.name} {k}"
        else:
            base = f"{macro.name} {k} {var}"
        name, n = base, 1
        while mdl.normalize(name) in taken:
            n += 1
            name = f"{base} {n}"
        taken.add(mdl.normalize(name))
        names[var] = name
    subs = dict(names)
    subs.update({mdl.normalize(p): f"({a})" for p, a in zip(macro.inputs, args, strict=True)})
    subs.update({mdl.normalize(p): o for p, o in zip(macro.outputs, outs, strict=True)})
    subs.update(_GLOBALS)
    for equation, tail in macro.entries:
        generated.append(_substitute(equation, subs) + tail.rstrip())
    return names[mdl.normalize(macro.name)]


def _substitute(equation: str, subs: dict[str, str]) -> str:
    out = []
    for m in _TOKEN.finditer(equation):
        tok = m.group(0)
        if m.lastgroup == "name":
            key = mdl.normalize(tok)
            if key in subs:
                out.append(_quote(subs[key]) + tok[len(tok.rstrip()) :])
                continue
        out.append(tok)
    return "".join(out)


def _quote(name: str) -> str:
    if name.startswith("(") or re.fullmatch(r"[^\W\d][\w $]*", name):
        return name
    return '"' + name.strip('"') + '"'


# -- indirect references and data variables ---------------------------------------------------


def _resolve_indirect(mdl_path: Path, original: str, eqs: str, refs: Refs) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in refs.files:
            return "'" + refs.files[name] + "'"
        line = mdl.find_line(original, f"?{name}")
        at = f", line {line}" if line else ""
        raise ModelFileError(
            f"{mdl_path}{at}: the equation reads the indirect file reference '?{name}', which "
            f"Vensim resolves from its own settings. Say which file it is in {refs.path.name} "
            f'beside the model: [files] {name} = "path/to/file.xlsx".'
        )

    return _INDIRECT.sub(replace, eqs)


def _equations(eqs: str) -> list[str]:
    """The equation part (before the first ``~``) of every entry; quotes are respected."""
    eqs = _SKETCH.split(eqs, maxsplit=1)[0]
    out, current, in_entry = [], [], True
    for m in _TOKEN.finditer(eqs):
        tok = m.group(0)
        if m.lastgroup == "other" and tok == "|":
            out.append("".join(current))
            current, in_entry = [], True
        elif m.lastgroup == "other" and tok == "~":
            in_entry = False
        elif in_entry:
            current.append(tok)
    return out


def data_variables(eqs: str) -> list[str]:
    """Names of the entries with no equation (``name ~ ~ |``, ``name :INTERPOLATE: ~ ~ |``)."""
    out = []
    for equation in _equations(eqs):
        equation = equation.replace("{UTF-8}", "").strip()
        if not equation or "=" in equation or "->" in equation or "\n" in equation:
            continue
        if equation.startswith(("*", ":")):
            continue
        match = _DATA_VAR.match(equation)
        if match:
            out.append(match.group(1).strip().strip('"'))
    return out


def _check_data_variables(mdl_path: Path, original: str, eqs: str, refs: Refs) -> None:
    missing = data_variables(eqs)
    if missing and not refs.data:
        name = missing[0]
        line = mdl.entry_lines(original).get(mdl.normalize(name))
        at = f", line {line}" if line else ""
        raise ModelFileError(
            f"{mdl_path}{at}: the data variable '{name}' has no equation: Vensim reads "
            "it from a dataset (.vdf) at run time. Export that dataset as a Vensim .tab or "
            f"CSV file and list it in {refs.path.name} beside the model "
            '([data] files = ["data.tab"]), or give the variable an equation '
            "(e.g. GET DIRECT DATA)."
        )
