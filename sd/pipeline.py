"""The pipeline's orchestration: a forecast and a report, one short function each.

Data flows one way: model -> study -> runs -> results -> tables, figures, reports.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sd.analysis.calibration import (
    CalibrationInputs,
    SavedCalibration,
    check_spec,
    evaluate,
    load_spec,
    output_folder,
    published_parameters,
)
from sd.analysis.ensemble import EnsembleBands
from sd.analysis.explore import ExploreTables
from sd.analysis.forecast import Forecast, run_ensemble, run_study
from sd.analysis.policy import policy_config, write_policy
from sd.analysis.sensitivity import Sensitivity
from sd.datapackage import project_path
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
    ens = bands = None
    if ensembles and study.uncertainty is not None:
        ens = run_ensemble(
            study, model, progress=run_progress, notice=notice, allow_failed=allow_failed
        )
        bands = EnsembleBands.of(ens)
    with staged_folder(out, "forecast") as tmp:
        files = write_outputs(study, model, results, tmp, figures=figures)
        files += write_policy(study, model, results, tmp, policy)
        if figures:
            files += write_diagrams(model, tmp / "diagrams")
        if ens is not None:
            labels = load_labels(model, "en")
            files += write_ensemble(study, ens, tmp / "ensemble", labels=labels, bands=bands)
        files = [out / f.relative_to(tmp) for f in files]
    return Forecast(study, results, out, tuple(files), bands)


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


def input_stale(prov: Mapping[str, Any], model: Model, near: Path) -> list[str]:
    """Why a saved input of the report (ensemble bands, sensitivity indices, a calibration,
    an exploration) no longer matches ``model``, its data files, the software, or the input
    files it records (:func:`sd.engine.run.stamp`). A recorded file is looked up by its
    project path from ``near`` (a study or spec file) and the folders above it."""
    if not prov:
        return ["it records no provenance (written by an older version)"]
    reasons = []
    if prov.get("model") != project_path(model.path):
        reasons.append(f"it was made with another model ({prov.get('model')})")
    elif prov.get("model_sha256") != _sha(model.path):
        reasons.append("the model changed")
    elif prov.get("cache_key") != model.key:
        reasons.append("the model's data files or PySD changed")
    if prov.get("pysd_version") != pysd_version() or prov.get("sd_version") != __version__:
        reasons.append("the software changed")
    for role, rec in prov.get("files", {}).items():
        path = _recorded_file(str(rec.get("file", "")), near)
        if path is None:
            reasons.append(f"its {role} file {rec.get('file')} is gone")
        elif _sha(path) != rec.get("sha256"):
            reasons.append(f"the {role} file {path.name} changed")
    return reasons


def _recorded_file(relative: str, near: Path) -> Path | None:
    """The recorded input file, looked up in ``near``'s folder and the folders above it;
    None when it is gone, or when the record is not a plain relative path (an output
    folder may come from a stranger: an absolute path or ``..`` never leads anywhere)."""
    rel = Path(relative)
    if not relative or rel.is_absolute() or ".." in rel.parts:
        return None
    start = Path(near).resolve().parent
    for folder in (start, *start.parents):
        if relative and (folder / relative).is_file():
            return folder / relative
    return None


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

    Every other saved input is checked the same way (:func:`input_stale`) before the report
    builder gets it as an object (the report itself reads no other command's files):

    * the ensemble bands of the fan charts (``ensemble/`` of the forecast), when the study
      has ``[uncertainty]``: missing or stale (the uncertainty spec changed, say) bands make
      the forecast run again, as stale results do, since they are the forecast's own;
    * the Sobol indices ``sd sensitivity`` wrote (``<study>_sensitivity_sobol/``) and the
      tables of ``sd explore`` (``<study>_explore/``): stale ones are left out with a stage
      line saying why and which command to run again (recomputing them takes thousands of
      runs);
    * the calibration ``sd calibrate`` wrote (its spec's ``calibration/`` folder): a stale one
      is left out with a stage line; the section then shows the published parameters file's
      values, whose statistics and fitted run are recomputed in one run on today's model and
      data (as when no calibration ran), so they are always current.

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
    bands = None
    if not reasons and study.uncertainty is not None:
        bands = EnsembleBands.load(outputs / "ensemble")
        why = input_stale(bands.provenance, model, study.path) if bands else ["missing"]
        if why:
            reasons.append(f"its ensemble bands are stale or missing ({', '.join(why)})")
    if reasons:
        stage(f"running the study first: {', '.join(reasons)}")
        ran = forecast(study, cache_dir=cache_dir)  # already opened
        results, bands = ran.results, ran.bands
    stage("loading the outputs of sd sensitivity, sd calibrate and sd explore")
    sobol = Sensitivity.load(outputs.parent / f"{study.name}_sensitivity_sobol")
    sobol = _current(sobol, model, study.path, "sensitivity indices", "sd sensitivity", stage)
    explored = ExploreTables.load(outputs.parent / f"{outputs.name}_explore")
    explored = _current(explored, model, study.path, "robustness tables", "sd explore", stage)
    return write_report(
        study,
        model,
        results,
        out,
        lang=lang,
        ensemble=bands,
        sensitivity=sobol,
        calibration=calibration_inputs(study, model, stage),
        explore=explored,
        reran=bool(reasons),
        stage=stage,
    )


def _current(saved, model: Model, near: Path, what: str, command: str, stage):
    """``saved`` when it is current, else None after a stage line saying why."""
    if saved is None:
        return None
    why = input_stale(saved.provenance, model, near)
    if why:
        stage(f"{what} skipped: {', '.join(why)} since `{command}` ran; run it again")
        return None
    return saved


def calibration_inputs(
    study: Study, model: Model, stage: Callable[[str], None] = lambda what: None
) -> CalibrationInputs | None:
    """The calibration section's input (None when the study names no calibration spec, or
    there is neither a current calibration output nor a published parameters file).

    A current output of ``sd calibrate`` gives the values, statistics and fitted run; one
    holding other values than the published parameters file the study includes is set
    aside (``unpublished``) for the published values, as is a stale one (with a stage line).
    Published values are evaluated in one run on today's model and data."""
    if study.calibration is None:
        return None
    spec = load_spec(study.calibration)
    if Path(model.path).resolve() != Path(spec.model_path).resolve():
        model = load(spec.model_path)
    saved = SavedCalibration.load(output_folder(spec))
    saved = _current(saved, model, spec.path, "calibration outputs", "sd calibrate", stage)
    published = published_parameters(spec)
    unpublished = None
    if saved is not None and published is not None and saved.values != {
        k: published.get("parameters", {}).get(k) for k in saved.values
    }:
        # the calibration output holds other values than the study includes: the section
        # describes the values the study uses
        unpublished = (saved.folder.name, spec.parameters_file.name)
        saved = None
    if saved is not None and not saved.stats.empty:
        values, stats, fitted = dict(saved.values), saved.stats, saved.fitted
    elif published is not None and saved is None:
        # the published parameters file carries the values: their statistics and fitted run
        # are one run of the spec at those values, on today's model and data
        if not published.get("fit_statistics"):
            return None  # not a file `sd calibrate` wrote
        values = dict(published.get("parameters", {}))
        stats, fitted = None, None
    else:
        return None
    spec = check_spec(spec, model)
    if fitted is None:
        evaluated = evaluate(spec, values, model)
        fitted, stats = evaluated.fitted, evaluated.stats_table()
    if stats is None or stats.empty:
        return None
    return CalibrationInputs(spec, values, stats, fitted, unpublished)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
