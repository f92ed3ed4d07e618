"""``sd check``: translation, units, structure, diagram, documentation and behaviour.

:func:`check_model` returns :class:`Finding` records (severity, check, variable,
line in the ``.mdl``, message). Units are checked by pysimlin's unit checker (Simlin's
Rust engine), on a copy of the model whose external data equations are replaced by
constants of their declared units, since Simlin cannot read data files.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from sd.check.behaviour import behaviour_findings
from sd.check.findings import Finding
from sd.engine.lookups import outside_range
from sd.engine.pysd_model import load
from sd.errors import SDError, optional
from sd.model import mdl
from sd.model.model import CONTROL, Model
from sd.model.sketch import read_sketch

SEVERITIES = ("error", "warning", "info")
CHECKS = ("translation", "units", "structure", "diagram", "documentation", "behaviour")
_SKIP_WARNINGS = ("':CONSTRAINT:' detected", "':TEST INPUT:' detected")



def check_model(
    path: str | Path,
    *,
    checks: Iterable[str] = CHECKS,
    cache_dir: str | Path | None = None,
    inputs: Sequence[str] | None = None,
    strict: bool = False,
) -> list[Finding]:
    """Run the chosen checks on a Vensim model.

    Problems in the model are findings; only a reality-check statement that is not
    valid Vensim raises (:class:`sd.check.realitycheck.RealityCheckSyntaxError`), as a
    syntax error in a study file does.

    ``inputs`` are the policy and shock inputs for the extreme-condition runs
    (default: :func:`sd.check.behaviour.extreme_inputs`). Their failures are warnings, or
    errors with ``strict``.
    """
    path = Path(path)
    checks = set(checks)
    text = mdl.read_text(path) if path.is_file() else ""
    out: list[Finding] = []
    model = None
    try:
        model = load(path, cache_dir=cache_dir)
    except SDError as err:
        line = re.search(r"line (\d+)", str(err))
        out.append(Finding("error", "translation", str(err), line=int(line[1]) if line else None))
        if not text:
            return out
    lines = mdl.entry_lines(text)
    if "translation" in checks:
        out += translation_findings(model, text, lines)
    if model is None:  # what can be checked from the text alone
        if "diagram" in checks:
            out += diagram_findings(path, text)
        if "documentation" in checks:
            out += documentation_findings(text)
        return out
    if "units" in checks:
        out += unit_findings(model, text)
    if "structure" in checks:
        out += structure_findings(model, text)
    if "diagram" in checks:
        out += diagram_findings(path, text)
    if "documentation" in checks:
        out += documentation_findings(text)
    if "behaviour" in checks:

        out += behaviour_findings(model, text, inputs, strict=strict)
    return out


def translation_findings(model: Model | None, text: str, lines: dict[str, int]) -> list[Finding]:
    out = []
    for e in mdl.entries(text):
        if re.search(r"A\s+FUNCTION\s+OF\s*\(", e.equation, re.IGNORECASE):
            out.append(
                Finding(
                    "error",
                    "translation",
                    f"'{e.name}' has no equation yet (A FUNCTION OF placeholder); "
                    "PySD would compute NaN. Write its equation in Vensim.",
                    e.name,
                    e.line,
                )
            )
    if model is not None:
        for note in model.data_notices:
            out.append(Finding("warning", "translation", note))
        for w in model.translation_warnings:
            if w.startswith(_SKIP_WARNINGS) or "has no equation specified" in w:
                continue
            out.append(Finding("warning", "translation", f"PySD: {w}"))
    return out


def unit_findings(model: Model, text: str) -> list[Finding]:
    """Dimensional consistency with pysimlin (Simlin's unit checker)."""
    simlin = optional("simlin", "Unit checking (sd check)")

    patched = text
    for e in mdl.entries(text):
        if _RC_ENTRY.search(e.equation):  # Simlin cannot read reality checks: leave them out
            start = patched.find(e.equation)
            end = patched.find("|", start)
            if start >= 0 and end > start:
                patched = patched[:start] + patched[end + 1 :]
            continue
        if re.search(r"GET[\s_]+(DIRECT|XLS)", e.equation, re.IGNORECASE) or ":=" in e.equation:
            name = e.name if re.fullmatch(r"[^\W\d][\w $']*", e.name) else f'"{e.name}"'
            lookup = re.search(r"LOOKUPS", e.equation, re.IGNORECASE)
            # a table (or constant) of the declared units stands in for the file's data
            dummy = f"{name}([(-1e9,0)-(1e9,1)],(-1e9,1),(1e9,1))" if lookup else f"{name} = 0"
            patched = patched.replace(e.equation, dummy, 1)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / model.path.name
        copy.write_text(patched, encoding="utf-8")
        try:
            issues = simlin.load(copy).check()
        except Exception as err:  # noqa: BLE001 - report, do not crash the other checks
            return [
                Finding("warning", "units", f"the unit checker could not read the model: {err}")
            ]
    out = []
    for issue in issues:
        message = " ".join(str(issue.message).split("\n")[-1].split())
        variable = None
        if issue.variable:
            try:
                variable = model.resolve(str(issue.variable))
            except SDError:
                variable = str(issue.variable)
        is_units = "unit" in message.lower()
        specific = variable is not None and "unit_mismatch" in message
        severity = "error" if specific else "warning"
        message = re.sub(r"^units? (inference )?warning in model 'main' ", "", message)
        out.append(
            Finding(
                severity,
                "units" if is_units else "structure",
                message,
                variable,
                model.variables[variable].line if variable in model.variables else None,
            )
        )
    return out


def _referenced(deps) -> set[str]:
    out: set[str] = set()
    if isinstance(deps, dict):
        for key, value in deps.items():
            if key in ("initial", "step"):
                out |= _referenced(value)
            elif key.startswith("__"):
                continue
            else:
                out.add(key)
    return out


def structure_findings(model: Model, text: str) -> list[Finding]:
    pm = model.new_pysd()
    used: set[str] = set()
    for name, deps in pm._dependencies.items():
        refs = _referenced(deps)
        if name.startswith("_integ_") or name.startswith("_"):
            used |= refs
        else:
            used |= refs - {name}
    out = []
    for var in model.variables.values():
        if var.kind == "control" or var.py_name in used:
            continue
        if var.kind in ("constant", "lookup", "data"):
            out.append(
                Finding(
                    "warning",
                    "structure",
                    f"the {var.kind} '{var.name}' is defined but never used.",
                    var.name,
                    var.line,
                )
            )
        else:
            out.append(
                Finding(
                    "info",
                    "structure",
                    f"'{var.name}' is not used by other variables (an output).",
                    var.name,
                    var.line,
                )
            )
    for e in mdl.entries(text):
        eq = e.equation
        if "=" not in eq and "(" not in eq and ":" not in eq and e.name.upper() != "TIME":
            out.append(
                Finding(
                    "error", "structure", f"'{e.name}' has no value or equation.", e.name, e.line
                )
            )
    out += _lookup_range_findings(model)
    return out


def _lookup_range_findings(model: Model) -> list[Finding]:

    pm = model.new_pysd(load_inputs=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pm.run(return_columns=[v.py_name for v in model.of_kind("stock")] or None)
        except Exception as err:  # noqa: BLE001
            return [Finding("error", "structure", f"the baseline run failed: {err}")]
    by_py = {v.py_name: v for v in model.variables.values()}
    out = []
    for obj, (below, above) in outside_range(pm).items():
        py = re.sub(r"^_(hardcodedlookup|ext_data|ext_lookup)_", "", obj)
        var = by_py.get(py)
        name = var.name if var else py
        kind = "data series" if obj.startswith("_ext_data") else "lookup"
        side = " and ".join(s for s, n in (("below", below), ("above", above)) if n)
        out.append(
            Finding(
                "warning",
                "structure",
                f"the {kind} '{name}' is called {side} its range in the baseline run "
                f"({below + above} calls); its end values are held.",
                name,
                var.line if var else None,
            )
        )
    return out


def _defined(text: str) -> dict[str, mdl.Entry]:
    """Normalized name -> equation entry, for every variable (not reality checks)."""
    out: dict[str, mdl.Entry] = {}
    for e in mdl.entries(text):
        if not _RC_ENTRY.search(e.equation):
            out.setdefault(mdl.normalize(e.name), e)
    return out


def diagram_findings(path: Path, text: str) -> list[Finding]:
    """Sketch against equations; works from the text, even when the model cannot load."""
    views = read_sketch(path, text)
    out: list[Finding] = []
    if not views:
        return [Finding("warning", "diagram", "the model has no sketch (diagram).")]
    entries = _defined(text)
    names = {key: e.name for key, e in entries.items()}
    defined: dict[str, list[str]] = {}
    for view in views:
        if len(view.name) > 30:
            out.append(
                Finding(
                    "warning",
                    "diagram",
                    f"view name '{view.name}' is longer than Vensim's 30 characters.",
                    line=view.line,
                )
            )
        if view.ids != sorted(set(view.ids)):
            out.append(
                Finding(
                    "error",
                    "diagram",
                    f"view '{view.name}': record ids repeat or decrease; Vensim stops "
                    "reading the view there.",
                    line=view.line,
                )
            )
        for obj in view.variables():
            key = mdl.normalize(obj.name)
            if key not in names and key != "time":
                out.append(
                    Finding(
                        "error",
                        "diagram",
                        f"view '{view.name}': the sketch shows '{obj.name}', which "
                        "has no equation (renamed or deleted variable?).",
                        obj.name,
                        obj.line,
                    )
                )
            elif not obj.is_shadow:
                defined.setdefault(key, []).append(view.name)
        for arrow in view.arrows:
            src, dst = view.objects.get(arrow.source), view.objects.get(arrow.target)
            if src is None or dst is None:
                out.append(
                    Finding(
                        "error",
                        "diagram",
                        f"view '{view.name}': arrow {arrow.id} points to a missing "
                        "object (left over from a deletion).",
                        line=arrow.line,
                    )
                )
            elif dst.is_shadow and not arrow.is_pipe:
                out.append(
                    Finding(
                        "error",
                        "diagram",
                        f"view '{view.name}': an arrow goes into the shadow variable "
                        f"'{dst.name}'; shadows may only send arrows.",
                        dst.name,
                        arrow.line,
                    )
                )
    control = {mdl.normalize(c) for c in CONTROL}
    for key, real in names.items():
        if key in control:
            continue
        line = entries[key].line
        where = defined.get(key, [])
        if not where:
            out.append(
                Finding("warning", "diagram", f"'{real}' is not placed in any view.", real, line)
            )
        elif len(where) > 1:
            out.append(
                Finding(
                    "error",
                    "diagram",
                    f"'{real}' is defined in several views ({', '.join(where)}); "
                    "use a shadow variable in all but one.",
                    real,
                    line,
                )
            )
    out += _flow_findings(text, views, entries)
    return out


def _integ_terms(equation: str) -> dict[str, int]:
    """Signs of the plain-variable terms of an INTEG's rate: {'births': 1, 'deaths': -1}."""
    m = re.search(r"INTEG\s*\(", equation, re.IGNORECASE)
    if not m:
        return {}
    depth, i, start = 1, m.end(), m.end()
    while i < len(equation) and depth:
        if equation[i] == "(":
            depth += 1
        elif equation[i] == ")":
            depth -= 1
        elif equation[i] == "," and depth == 1:
            break
        i += 1
    rate = equation[start:i]
    terms: dict[str, int] = {}
    depth, sign, cur = 0, 1, []
    for ch in rate + "+":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in "+-" and depth == 0:
            term = "".join(cur).strip()
            if term and re.fullmatch(r'"[^"]+"|[^\W\d][\w $\']*', term):
                terms[mdl.normalize(term)] = sign
            sign, cur = (1 if ch == "+" else -1), []
        else:
            cur.append(ch)
    return terms


def _flow_findings(text: str, views, entries: dict[str, mdl.Entry]) -> list[Finding]:
    out = []
    stocks = {
        mdl.normalize(e.name): e
        for e in mdl.entries(text)
        if re.search(r"INTEG\s*\(", e.equation, re.IGNORECASE)
    }
    for view in views:
        for valve in (o for o in view.objects.values() if o.type == 11):
            label = view.label_of_valve(valve.id)
            if label is None:
                continue
            flow = mdl.normalize(label.name)
            for pipe in (a for a in view.arrows if a.is_pipe and a.source == valve.id):
                end = view.objects.get(pipe.target)
                if end is None or not end.is_stock:
                    continue
                entry = stocks.get(mdl.normalize(end.name))
                if entry is None:
                    continue
                sign = _integ_terms(entry.equation).get(flow)
                if sign is None:
                    out.append(
                        Finding(
                            "error",
                            "diagram",
                            f"view '{view.name}': a pipe joins the flow '{label.name}' "
                            f"to the stock '{end.name}', whose INTEG does not use it.",
                            label.name,
                            pipe.line,
                        )
                    )
                elif (sign > 0) != pipe.has_head:
                    role = "inflow" if sign > 0 else "outflow"
                    out.append(
                        Finding(
                            "warning",
                            "diagram",
                            f"view '{view.name}': '{label.name}' is an {role} of "
                            f"'{end.name}' but its pipe's arrowhead says otherwise.",
                            label.name,
                            pipe.line,
                        )
                    )
    drawn = {mdl.normalize(o.name) for v in views for o in v.objects.values() if o.is_flow_label}
    for entry in stocks.values():
        for flow in _integ_terms(entry.equation):
            flow_entry = entries.get(flow)
            if flow not in drawn and flow_entry is not None and _is_equation(flow_entry):
                out.append(
                    Finding(
                        "warning",
                        "diagram",
                        f"'{flow_entry.name}' flows into or out of '{entry.name}' but "
                        "is not drawn as a valve on a pipe.",
                        flow_entry.name,
                        flow_entry.line,
                    )
                )
    return out


def _is_equation(entry: mdl.Entry) -> bool:
    """An auxiliary computed from other variables (not a number, lookup or data)."""
    rhs = entry.equation.split("=", 1)[1] if "=" in entry.equation else ""
    if ":=" in entry.equation or not rhs.strip():
        return False
    try:
        float(rhs)
        return False
    except ValueError:
        return True


def documentation_findings(text: str) -> list[Finding]:
    out = []
    for e in mdl.entries(text):
        if _RC_ENTRY.search(e.equation):
            continue
        if not e.units.split("[")[0].strip():
            out.append(
                Finding("warning", "documentation", f"'{e.name}' has no units.", e.name, e.line)
            )
        if not e.comment.strip():
            out.append(
                Finding(
                    "warning",
                    "documentation",
                    f"'{e.name}' has no comment saying what it is and where its value comes from.",
                    e.name,
                    e.line,
                )
            )
    return out


_RC_ENTRY = re.compile(r":(THE CONDITION|TEST INPUT):", re.IGNORECASE)


def summary(findings: list[Finding]) -> dict[str, int]:
    return {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
