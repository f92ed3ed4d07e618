"""Translate a Vensim ``.mdl`` into PySD's Python, explaining failures in Vensim terms.

Runs PySD's own pipeline (parse -> abstract model -> Python) in a folder we choose,
so nothing is ever written next to the user's model. PySD errors (parsimonious
parse errors, undefined names, unsupported functions) become a
:class:`~sd.errors.TranslationError` that names the file, the line and the equation.
"""

from __future__ import annotations

import logging
import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from sd.errors import ModelFileError, TranslationError
from sd.model import mdl, preprocess
from sd.model.sanitize import neutralise
from sd.model.sketch import read_sketch
from sd.model.verify import verify_translation


@dataclass(frozen=True)
class Translation:
    """Where PySD wrote the model and what it warned about."""

    py_file: Path
    split_views: bool
    warnings: tuple[str, ...]


def check_model_file(path: Path) -> str:
    """Return the text of a readable Vensim model file, or raise ModelFileError."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such file. Check the path to the Vensim model (.mdl).")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; give the path of a Vensim .mdl file.")
    if path.suffix.lower() != ".mdl":
        raise ModelFileError(
            f"{path} is not a Vensim model: the toolkit reads Vensim .mdl files "
            "(save the model from Vensim as .mdl, not .vpmx or .vdf)."
        )
    text, encoding = mdl.decode(path.read_bytes(), path)
    if encoding != "utf-8":
        _notice_once(
            f"{path} has no {{UTF-8}} marker and is not UTF-8: read it as {encoding}"
            + (" (Windows Cyrillic)." if encoding == "cp1251" else ".")
        )
    if text.startswith("\ufeff"):
        raise ModelFileError(
            f"{path} starts with a UTF-8 byte-order mark, which PySD cannot read. "
            "Re-save it as UTF-8 without BOM (Vensim does this by default)."
        )
    if not mdl.looks_like_vensim(text):
        raise ModelFileError(
            f"{path} is not a Vensim model: it has no equation entries of the form "
            "'name = expression ~ units ~ comment |'."
        )
    return text


_NOTICED: set[str] = set()


def _notice_once(message: str) -> None:
    """A one-line notice on the ``sd`` logger (the CLI prints it as ``note: ...``)."""
    if message not in _NOTICED:
        _NOTICED.add(message)
        logging.getLogger("sd").warning(message)


def check_entries(path: Path, text: str) -> None:
    """Refuse text between two ``|`` that is not an entry (PySD would silently stop there)."""
    for line, fragment, previous in mdl.stray_fragments(text):
        after = f" of '{previous}'" if previous else ""
        short = fragment if len(fragment) <= 60 else fragment[:57] + "..."
        raise TranslationError(
            f"{path}, line {line}: the text {short!r} is not an equation: a '|' in the "
            f"units or comment{after} ends a Vensim entry early. Remove that '|' (write "
            "'/' or 'or' instead) and save the model again."
        )


def translate(mdl_path: Path, out_dir: Path) -> Translation:
    """Copy ``mdl_path`` into ``out_dir`` and translate it there with PySD.

    Raises TranslationError with the line of the offending equation.
    """
    from pysd.builders.python.python_model_builder import ModelBuilder
    from pysd.translators.vensim.vensim_file import VensimFile

    text = check_model_file(mdl_path)
    check_entries(mdl_path, text)
    split_views = mdl.view_count(text) >= 2
    target = out_dir / mdl_path.name
    prepared = preprocess.prepare(mdl_path, text)  # macros, {comments}, ?refs (sd.model.preprocess)
    write_neutral_copy(mdl_path, prepared.text, target)  # then nothing in it can run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ven_file = VensimFile(target)
            ven_file.parse()
            # what the vectorized engine reads: the model before the sketch splits it
            abstract = _pickled(ven_file.get_abstract_model())
            if split_views:
                ven_file.parse_sketch([])
            abs_model = ven_file.get_abstract_model()
            py_file = Path(ModelBuilder(abs_model).build_model())
        except Exception as exc:  # PySD raises many kinds; translate all of them
            raise _explain(exc, mdl_path, text, caught, target) from None
    messages = tuple(dict.fromkeys(_clean(str(w.message)) for w in caught))
    messages = (*prepared.notes, *messages)
    for message in messages:
        match = re.search(r"Trying to translate '([^']+)' which it is not implemented", message)
        if match:  # PySD only warns, then the run crashes: refuse the model now
            raise _explain(
                NotImplementedError(f"Not implemented function '{match.group(1)}'"),
                mdl_path,
                text,
                caught,
                target,
            )
    verify_translation(out_dir, text, mdl_path)
    if abstract is not None:  # the vectorized engine builds from it without parsing again
        (out_dir / ABSTRACT_FILE).write_bytes(abstract)
    return Translation(py_file=py_file, split_views=split_views, warnings=messages)


#: PySD's abstract model of the translated file, pickled (read back only when its bytes
#: hash to what the cache entry recorded: :func:`sd.model.cache.verified_bytes`)
ABSTRACT_FILE = "abstract-model.pickle"


def _pickled(abs_model: object) -> bytes | None:
    try:
        return pickle.dumps(abs_model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None  # the engine then parses the model again


def _clean(message: str) -> str:
    return " ".join(message.split())


def write_neutral_copy(mdl_path: Path, text: str, target: Path) -> None:
    """Write the text PySD reads: neutralised (nothing in it can run) and UTF-8.

    The ``{UTF-8}`` marker is added on the first line (no new line, so PySD's line
    numbers stay those of the user's file) when the file lacks it.
    """
    safe = neutralise(text, mdl_path)
    if not safe.lstrip().startswith("{UTF-8}"):
        safe = "{UTF-8}" + safe
    target.write_text(safe, encoding="utf-8", newline="")


def _explain(
    exc: Exception, path: Path, text: str, caught: list, copy: Path | None = None
) -> TranslationError:
    """Turn a PySD translation exception into a message a modeller can act on.

    ``copy`` is the neutralised copy PySD read (re-parsed to find the failing line).
    """
    import parsimonious

    if isinstance(exc, parsimonious.exceptions.ParseError):
        where = _failing_entry(copy or path, text)
        if where is None:
            return TranslationError(
                f"{path}: PySD cannot parse this file as a Vensim model ({_clean(str(exc))}). "
                "Check that it was saved by Vensim as a text .mdl file."
            )
        entry, detail = where
        return TranslationError(
            f"{path}, line {entry.line}: syntax error in the equation of '{entry.name}': "
            f"{entry.equation!r}. {detail} Fix the equation in Vensim and save the model again."
        )
    if isinstance(exc, NotImplementedError):
        match = re.search(r"Not implemented function '([^']+)'", str(exc))
        if match:
            func = match.group(1)
            line = mdl.find_line(text, func + "(") or mdl.find_line(text, func)
            at = f", line {line}" if line else ""
            return TranslationError(
                f"{path}{at}: the Vensim function {func.upper()} is not supported by PySD, "
                "so the model cannot run here. Replace it with supported functions "
                "(see PySD's list of supported Vensim functions)."
            )
        return TranslationError(
            f"{path}: PySD cannot translate a construct of this model: {_clean(str(exc))}. "
            "Replace it with a supported Vensim function."
        )
    if isinstance(exc, KeyError):
        py_name = str(exc.args[0]) if exc.args else str(exc)
        name = py_name.replace("_", " ")
        line = mdl.find_line(text, name)
        if line is None and name.lower() in _sketch_names(text):
            return TranslationError(
                f"{path}: the diagram shows '{name}', which has no equation (a renamed or "
                "deleted variable). Delete it from the view or give it an equation."
            )
        at = f", line {line}" if line else ""
        return TranslationError(
            f"{path}{at}: the variable '{name}' is used in an equation but never defined. "
            "Define it in Vensim or correct the spelling."
        )
    return TranslationError(
        f"{path}: PySD failed to translate the model: {type(exc).__name__}: {_clean(str(exc))}"
    )


def _sketch_names(text: str) -> set[str]:

    return {mdl.normalize(o.name) for view in read_sketch("", text) for o in view.variables()}


def _failing_entry(path: Path, text: str) -> tuple[mdl.Entry, str] | None:
    """Find the first equation PySD's grammars reject, with PySD's detail message."""
    import parsimonious
    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        ven_file = VensimFile(path)
        ven_file.parse(parse_all=False)
    except parsimonious.exceptions.ParseError:
        return None  # the file layout itself is broken, not one equation
    lines = mdl.entry_lines(text)
    for section in ven_file.sections:
        try:
            section.parse(parse_all=False)
        except parsimonious.exceptions.ParseError:
            return None
        for element in section.elements:
            component = None
            try:
                component = element.parse()
                if hasattr(component, "parse"):
                    component.parse()
            except parsimonious.exceptions.ParseError as err:
                detail = _clean(str(err)).split("(line")[0].strip()
                lhs = (
                    getattr(component, "name", None)
                    or re.split(r"[=(\[:]", element.equation, maxsplit=1)[0]
                )
                entry = mdl.Entry(
                    lhs.strip().strip('"'),
                    lines.get(mdl.normalize(lhs), 0),
                    element.equation.strip(),
                    element.units,
                    element.documentation,
                )
                return entry, f"PySD says: {detail}."
            except Exception:  # noqa: BLE001 - other errors are not syntax errors
                continue
    return None
