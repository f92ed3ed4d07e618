"""The `sd` commands that work on studies and specs: forecast, watch, report, calibrate,
backtest, ensemble and sensitivity. Each parses nothing itself (see :mod:`sd.cli.commands`), calls
the library, shows progress on stderr and prints where the results went.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sd.analysis.options import RunOptions
from sd.errors import ParameterError


def _progress(label: str):
    """An iterator wrapper showing progress over scenarios (for sd.analysis.forecast)."""

    def bar(items):
        return _bar(None, label, items=items, unit="scenario")

    return bar


def cmd_forecast(args: argparse.Namespace) -> int:
    from sd.pipeline import forecast

    bar = None

    def run_progress(k: int) -> None:
        nonlocal bar
        if bar is None:
            bar = _bar(None, "ensemble")
        bar.update(k)

    try:
        done = forecast(
            args.study,
            output_dir=args.output,
            cache_dir=args.cache_dir,
            progress=_progress("scenarios"),
            figures=not args.no_figures,
            ensembles=not args.no_ensemble,
            run_progress=run_progress,
            notice=lambda m: print(f"note: {m}", file=sys.stderr),
            allow_failed=args.allow_failed,
        )
    finally:
        if bar is not None:
            bar.close()
    n = len(done.study.scenarios)
    print(f"{done.study.title}: {n} scenarios run; outputs in {done.folder}")
    figures = [f for f in done.files if f.suffix == ".png"]
    print(f"  key years: {done.folder / 'key_years.csv'}")
    print(f"  results:   {done.folder / 'results.parquet'} (and .csv)")
    if figures:
        print(f"  figures:   {len(figures)} PNG + SVG in {done.folder}")
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from sd.pipeline import forecast
    from sd.study.watch import watch

    def action(path: Path) -> None:
        done = forecast(path, output_dir=args.output, cache_dir=args.cache_dir)
        print(f"ran {len(done.study.scenarios)} scenarios; outputs in {done.folder}", flush=True)

    print(f"watching {args.study} and the files it reads (Ctrl-C to stop)", flush=True)
    watch(
        args.study,
        action,
        interval=args.interval,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    return 0


class _RunProgress:
    """A progress bar of model runs showing the best objective so far."""

    def __init__(self, total: int, label: str):
        self.bar = _bar(total, label)

    def __call__(self, objective) -> None:
        self.bar.update(1)
        if objective.best is not None:
            self.bar.set_postfix_str(f"best {objective.best[0]:.5g}", refresh=False)

    def close(self) -> None:
        self.bar.close()


def _output_folder(args: argparse.Namespace, spec, sub: str) -> Path:
    """The output folder of a command, checked before any work (a user's folder is refused)."""
    from sd.files import check_replaceable

    if args.output:
        out = Path(args.output)
    else:
        out = Path(spec.output or spec.path.parent / "output" / spec.path.stem) / sub
    check_replaceable(out)
    return out


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sd.analysis.calibration import calibrate, load_spec
    from sd.files import staged_folder
    from sd.report.calibration import check_parameters_file, publish_parameters, write_calibration

    spec = load_spec(args.spec)
    out = _output_folder(args, spec, "calibration")
    target = None  # the calibrated-parameters file, written only when asked
    if args.write_calibrated is not None:
        target = Path(args.write_calibrated) if args.write_calibrated else spec.parameters_file
        if target is None:
            raise ParameterError(
                f"{args.spec}: --write-calibrated needs a FILE, since the spec names no "
                "parameters_file."
            )
        check_parameters_file(target)  # before any work: a user's file is refused
    progress = _RunProgress(spec.max_runs, "calibrating")
    try:
        cal = calibrate(spec, starts=args.starts, on_run=progress, engine=args.engine)
    finally:
        progress.close()
    with staged_folder(out, "calibrate") as tmp:
        write_calibration(cal, tmp)
    if cal.interrupted:
        print(f"interrupted after {cal.runs} runs: kept the best point so far.")
    if cal.failed:
        print(
            f"note: {cal.failed} of {cal.runs} runs failed and were penalised as very bad "
            f"fits; the first: {cal.first_failure}",
            file=sys.stderr,
        )
    print(
        f"fit of {len(cal.spec.free)} parameters: objective {cal.objective:.6g} after "
        f"{cal.runs} runs ({'converged' if cal.converged else 'not converged'})"
    )
    table = cal.parameter_table()[["parameter", "value", "std_error", "lower", "upper"]]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    stats = cal.stats_table()[["series", "n", "r2", "mape", "rmse", "um", "us", "uc"]]
    print(stats.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for b in cal.at_bounds():
        print(f"warning: {b.warning()}", file=sys.stderr)
    print(f"outputs in {out}")
    if target is not None:
        if cal.interrupted:
            print("interrupted: the calibrated-parameters file was not written.")
        else:
            # the same bytes as the output folder's copy (its header's time included)
            copy = (out / "calibrated.toml").read_text(encoding="utf-8")
            path = publish_parameters(cal, target, copy)
            print(f"calibrated parameters for studies: {path}")
    return 0


def _cutoffs(text: str | None) -> list[float] | None:
    if not text:
        return None
    if ":" in text:
        lo, _, hi = text.partition(":")
        try:
            return [float(y) for y in range(int(lo), int(hi) + 1)]
        except ValueError:
            raise ParameterError(f"--cutoffs {text!r}: write a range as 2012:2019.") from None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(f"--cutoffs {text!r}: write years like 2012,2015.") from None


def cmd_backtest(args: argparse.Namespace) -> int:
    from sd.analysis.backtest import backtest
    from sd.analysis.calibration import load_spec
    from sd.files import staged_folder
    from sd.report.calibration import write_backtest

    spec = load_spec(args.spec)
    out = _output_folder(args, spec, "backtest")
    cutoffs = _cutoffs(args.cutoffs)
    n = len(cutoffs if cutoffs is not None else spec.cutoffs) or 1
    progress = _RunProgress(spec.max_runs * n, "backtesting")
    try:
        bt = backtest(
            spec, cutoffs=cutoffs, starts=args.starts, on_run=progress, engine=args.engine
        )
    finally:
        progress.close()
    with staged_folder(out, "backtest") as tmp:
        write_backtest(bt, tmp)
    if bt.interrupted:
        print("interrupted: the table holds the cut-offs finished so far.")
    failed = sum(c.failed for c in bt.calibrations.values())
    if failed:
        runs = sum(c.runs for c in bt.calibrations.values())
        first = next(c.first_failure for c in bt.calibrations.values() if c.failed)
        print(
            f"note: {failed} of {runs} runs failed and were penalised as very bad fits; "
            f"the first: {first}",
            file=sys.stderr,
        )
    with __import__("pandas").option_context("display.width", 160):
        print(bt.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"outputs in {out}")
    return 0


def _ensemble_setup(args: argparse.Namespace):
    import sd
    from sd.cli.args import parse_names
    from sd.study.study import check_study, load_study
    from sd.study.uncertainty import check_uncertainty, load_uncertainty

    study = load_study(args.study)
    model = sd.load(study.model_path, cache_dir=args.cache_dir)
    study = check_study(study, model)
    spec = check_uncertainty(load_uncertainty(args.uncertain), model)
    names = parse_names("--vars", args.vars)
    return study, model, spec, names


def _bar(total: int | None, label: str, *, items=None, unit: str = "run"):
    """The one progress-bar style of the commands: on stderr, removed when done."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=label, unit=unit, file=sys.stderr, leave=False)


def _run_options(args: argparse.Namespace, bar) -> RunOptions:
    """The run options of ``--engine``, ``--workers`` and ``--scheduler``, with a bar."""
    return RunOptions(
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=bar.update,
        notice=lambda m: print(f"note: {m}", file=sys.stderr),
    )


def cmd_ensemble(args: argparse.Namespace) -> int:
    from sd.analysis.ensemble import check_memory, ensemble
    from sd.files import check_replaceable, staged_folder
    from sd.report.uncertainty import write_ensemble
    from sd.study.uncertainty import draw

    study, model, spec, names = _ensemble_setup(args)
    out = Path(args.output) if args.output else study.folder / "output" / f"{study.name}_ensemble"
    check_replaceable(out)
    kept = [model.resolve(v) for v in (names or study.variables)]
    check_memory(study, model, args.samples * len(study.scenarios), kept)  # before drawing
    sample = draw(spec, args.samples, args.seed, end=study.time_grid(model).final)
    bar = _bar(args.samples * len(study.scenarios), "ensemble")
    try:
        results = ensemble(
            study,
            model,
            sample,
            _run_options(args, bar),
            variables=names,
            allow_failed=args.allow_failed,
        )
    finally:
        bar.close()
    with staged_folder(out, "ensemble") as tmp:
        from sd.report.labels import load_labels

        write_ensemble(study, results, tmp, labels=load_labels(model, "en"))
    failed = results.provenance["ensemble"]["failed"]["count"]
    print(
        f"{args.samples} runs x {len(study.scenarios)} scenarios "
        f"({results.provenance['ensemble']['engine']} engine"
        + (f", {failed} failed runs left out" if failed else "")
        + f"); outputs in {out}"
    )
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from sd.analysis.sensitivity import sensitivity
    from sd.files import check_replaceable, staged_folder
    from sd.report.uncertainty import write_sensitivity

    study, model, spec, names = _ensemble_setup(args)
    out = (
        Path(args.output)
        if args.output
        else study.folder / "output" / f"{study.name}_sensitivity_{args.method}"
    )
    check_replaceable(out)
    d = len(spec.parameters)
    total = args.samples * (d + 2 if args.method == "sobol" else d + 1)
    bar = _bar(total, args.method)
    try:
        sens = sensitivity(
            study,
            model,
            spec,
            method=args.method,
            n=args.samples,
            seed=args.seed,
            outputs=names,
            scenario=args.scenario,
            options=_run_options(args, bar),
        )
    finally:
        bar.close()
    years = _cutoffs(args.years) or list(study.key_years)
    with staged_folder(out, f"sensitivity --method {args.method}") as tmp:
        write_sensitivity(sens, tmp, years=years)
    print(f"{args.method}: {sens.runs} runs; indices in {out / 'indices.csv'}")
    for note in sens.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in sens.salib_warnings:
        print(f"warning (SALib): {warning}", file=sys.stderr)
    from sd.analysis.sensitivity import convergence_issues

    issues = convergence_issues(sens.indices, sens.method, years or None)
    for r in issues.head(10).itertuples():
        who = f", {r.parameter}" if r.parameter else ""
        print(f"warning: not converged: {r.output} at {r.time:g}{who}: {r.issue}", file=sys.stderr)
    if len(issues):
        print(
            f"warning: {len(issues)} indices at the reported years have not converged "
            f"(all in {out / 'convergence.csv'}); increase --samples.",
            file=sys.stderr,
        )
    for year in years[-1:]:
        top = sens.at(year).sort_values(sens.measure, ascending=False)
        for output in dict.fromkeys(top["output"]):
            rows = top[top["output"] == output].head(3)
            ranked = ", ".join(
                f"{r.parameter} ({getattr(r, sens.measure):.2f})" for r in rows.itertuples()
            )
            print(f"  {output} at {year:g}: {ranked}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sd.pipeline import report as build_report

    rep = build_report(
        args.study,
        lang=args.lang,
        output_dir=args.output,
        cache_dir=args.cache_dir,
        log=None if args.quiet else lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(f"report: {rep.html}")
    print(f"workbook: {rep.workbook}")
    print(f"figures: {len(rep.figures)} files in {rep.html.parent / 'figures'}")
    return 0
