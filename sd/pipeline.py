"""The pipeline's orchestration: a forecast and a report, one short function each.

Data flows one way: model -> study -> runs -> results -> tables, figures, reports.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sd.analysis.forecast import Forecast, run_ensemble, run_study
from sd.analysis.policy import policy_config, write_policy
from sd.engine.pysd_model import load
from sd.errors import SDError
from sd.files import check_replaceable, staged_folder
from sd.model.cache import pysd_version
from sd.model.model import Model
from sd.report.builder import Report, write_report
from sd.report.forecast_outputs import write_diagrams, write_outputs
from sd.report.labels import LANGS, load_labels
from sd.report.uncertainty import write_ensemble
from sd.results import Results
from sd.study.study import Study, check_study, load_study
from sd.version import __version__


def open_study(
    study: str | os.PathLike[str] | Study,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Study:
    """Read a study file (or take a read one), load its model through the translation
    cache and check the two against each other: the returned study holds the model, the
    resolved time grid and every scenario's compiled run parameters (``study.model``,
    ``study.grid``, ``study.compiled``)."""
    if not isinstance(study, Study):
        study = load_study(study)
    model = load(study.model_path, cache_dir=cache_dir)
    for note in model.data_notices if notice else ():
        notice(note)
    return check_study(study, model)


def forecast(
    study_path: str | os.PathLike[str] | Study,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[Sequence[str]], Sequence[str]] | None = None,
    figures: bool = True,
    ensembles: bool = True,
    run_progress: Callable[[int], None] | None = None,
    notice: Callable[[str], None] | None = None,
    allow_failed: float | None = None,
) -> Forecast:
    """Load, check and run a study (a path, or a study :func:`open_study` returned); write
    its outputs to ``output_dir``.

    The default output folder is ``output/<study name>/`` beside the study file. With
    figures, the model's diagrams are drawn too; when the study names an uncertainty
    spec (``[uncertainty]``) and ``ensembles`` is true, its ensemble and fan charts are
    written to ``ensemble/``; ``allow_failed`` is the share of its runs that may fail
    (see :func:`sd.analysis.ensemble.ensemble`).
    """
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    out = Path(output_dir) if output_dir else default_output(study)
    check_replaceable(out)  # refuse a user's folder before any work
    if study.model is None:  # not checked yet
        study = open_study(study, cache_dir=cache_dir, notice=notice)
    model = study.model

    policy = policy_config(study, model)  # a bad [policy] table fails before any run
    results = run_study(study, model, progress=progress)
    ens = None
    if ensembles and study.uncertainty is not None:
        ens = run_ensemble(
            study, model, progress=run_progress, notice=notice, allow_failed=allow_failed
        )
    with staged_folder(out, "forecast") as tmp:
        files = write_outputs(study, model, results, tmp, figures=figures)
        files += write_policy(study, model, results, tmp, policy)
        if figures:
            files += write_diagrams(model, tmp / "diagrams")
        if ens is not None:

            files += write_ensemble(study, ens, tmp / "ensemble", labels=load_labels(model, "en"))
        files = [out / f.relative_to(tmp) for f in files]
    return Forecast(study, results, out, tuple(files))


def default_output(study: Study) -> Path:
    return study.folder / "output" / study.name


def stale_reasons(study: Study, model: Model, results: Results) -> list[str]:
    """Why saved results no longer match the study, model, data or software."""
    prov = results.provenance
    reasons = []
    if prov.get("study", {}).get("sha256") != _sha(study.path):
        reasons.append("the study file changed")
    if prov.get("model_sha256") != _sha(model.path):
        reasons.append("the model changed")
    if prov.get("cache_key") != model.key:
        reasons.append("the model's data files or PySD changed")
    if prov.get("pysd_version") != pysd_version() or prov.get("sd_version") != __version__:
        reasons.append("the software changed")
    return reasons


def report(
    study_path: str | os.PathLike[str],
    *,
    lang: str = "en",
    output_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Write the report of a study: its saved forecast when that is up to date with the
    study, model, data and software, else the forecast run again first.

    ``log`` gets one line per stage (what is being done, seconds since the start), so a
    report that takes a minute is never silent; ``sd report`` prints them on stderr.
    """
    started = time.perf_counter()

    def stage(what: str) -> None:
        if log:
            log(f"report ({lang}): {what} [{time.perf_counter() - started:.1f} s]")

    if lang not in LANGS:
        raise SDError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}.")
    study = load_study(study_path)
    outputs = default_output(study)
    out = Path(output_dir) if output_dir else outputs.parent / f"{study.name}_report_{lang}"
    check_replaceable(out)  # refuse a user's folder before any work
    stage(f"loading the model {study.model_path.name}")
    study = open_study(study, cache_dir=cache_dir)
    model = study.model
    results_file = outputs / "results.parquet"
    results = Results.load(results_file) if results_file.is_file() else None
    reasons = stale_reasons(study, model, results) if results else ["there are no results yet"]
    if reasons:
        stage(f"running the study first: {', '.join(reasons)}")
        results = forecast(study, cache_dir=cache_dir).results  # already opened
    return write_report(
        study, model, results, out, lang=lang, outputs=outputs, reran=bool(reasons), stage=stage
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
