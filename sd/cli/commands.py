"""The ``sd`` command: thin argument parsing around the library.

Bad input prints one paragraph (``error: ...``) and exits with status 2; no
traceback unless ``SD_DEBUG=1``. Ctrl-C exits with 130 and leaves no partial file.
Any other exception is a bug of the toolkit: one paragraph says so, with the
exception's type and message, and the exit status is 1 (``SD_DEBUG=1`` re-raises it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sd.cli.args import parse_names, parse_sets
from sd.errors import ParameterError, SDError

WIDE_FORMATS = (".csv", ".parquet", ".nc", ".xlsx")


class _NoteHandler(logging.Handler):
    """Notices of the library (logger ``sd``) as ``note: ...`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(textwrap.fill(f"note: {record.getMessage()}", width=100), file=sys.stderr)


def _show_notices() -> None:
    logger = logging.getLogger("sd")
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        logger.addHandler(_NoteHandler())


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # commands write figure files, never windows
    _show_notices()
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SDError as err:
        if os.environ.get("SD_DEBUG"):
            raise
        print(textwrap.fill(f"error: {err}", width=100), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `sd info model.mdl | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted; no output was written.", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - last resort: said to be a bug, never hidden
        if os.environ.get("SD_DEBUG"):
            raise
        detail = " ".join(str(err).split())
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        print(
            textwrap.fill(
                f"internal error: {type(err).__name__}: {detail}. This is a bug in kuzbass-sd, "
                "not a problem with your input; please report it with the output of the same "
                "command run with SD_DEBUG=1 (which shows the traceback).",
                width=100,
            ),
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    from sd.cli.studies import (
        cmd_backtest,
        cmd_calibrate,
        cmd_ensemble,
        cmd_forecast,
        cmd_report,
        cmd_sensitivity,
        cmd_watch,
    )
    from sd.version import __version__

    parser = argparse.ArgumentParser(
        prog="sd", description="Run Vensim system-dynamics models through PySD."
    )
    parser.add_argument("--version", action="version", version=f"kuzbass-sd {__version__}")
    parser.add_argument(
        "--cache-dir", help="translation cache folder (default: $SD_CACHE_DIR or user cache)"
    )
    sub = parser.add_subparsers(title="commands")

    info = sub.add_parser("info", help="list a model's variables with units and comments")
    info.add_argument("model", help="Vensim .mdl file")
    info.add_argument("--kind", help="only variables of this kind (stock, flow, constant...)")
    info.set_defaults(func=cmd_info)

    run = sub.add_parser("run", help="run a model once and write a time x variables table")
    run.add_argument("model", help="Vensim .mdl file")
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a constant (repeatable), e.g. --set 'Green Investment Share=0.2'",
    )
    run.add_argument("--start", type=_number("--start"), help="initial time")
    run.add_argument("--stop", type=_number("--stop"), help="final time")
    run.add_argument("--step", type=_number("--step"), help="time step")
    run.add_argument("--saveper", type=_number("--saveper"), help="save step")
    run.add_argument("--vars", help="comma-separated variable names to keep")
    run.add_argument("-o", "--output", help="output file: .csv, .parquet, .nc or .xlsx")
    run.set_defaults(func=cmd_run)

    fc = sub.add_parser("forecast", help="run every scenario of a study and write its outputs")
    fc.add_argument("study", help="study file (forecasts/*.toml)")
    fc.add_argument("-o", "--output", help="output folder (default: output/<study> beside it)")
    fc.add_argument("--no-figures", action="store_true", help="tables only")
    fc.add_argument(
        "--no-ensemble",
        action="store_true",
        help="skip the study's uncertainty ensemble (fan charts)",
    )
    _allow_failed_arg(fc)
    fc.set_defaults(func=cmd_forecast)

    watch = sub.add_parser("watch", help="re-run a study whenever its files change")
    watch.add_argument("study", help="study file (forecasts/*.toml)")
    watch.add_argument("-o", "--output", help="output folder (default: output/<study> beside it)")
    watch.add_argument(
        "--interval",
        type=_number("--interval"),
        default=1.0,
        help="seconds between checks (default %(default)s)",
    )
    watch.set_defaults(func=cmd_watch)

    cal = sub.add_parser("calibrate", help="fit a model's constants to recorded history")
    cal.add_argument("spec", help="calibration file (forecasts/calibration.toml)")
    cal.add_argument(
        "-o", "--output", help="output folder (default: calibration/ in the spec's output folder)"
    )
    cal.add_argument(
        "--starts", type=int, help="Latin hypercube starts (default: the spec's starts)"
    )
    cal.add_argument(
        "--write-calibrated",
        nargs="?",
        const="",
        metavar="FILE",
        help="also publish the calibrated values for studies to include: to FILE, or without "
        "FILE to the spec's parameters_file (default: only the output folder is written)",
    )
    cal.add_argument(
        "--engine",
        choices=["vectorized", "pysd"],
        default="vectorized",
        help="vectorized: many runs per engine call (falls back to PySD with a notice); "
        "pysd: one sd.run per evaluation (default %(default)s)",
    )
    cal.set_defaults(func=cmd_calibrate)

    bt = sub.add_parser("backtest", help="fit up to cut-off years, score the held-out years")
    bt.add_argument("spec", help="calibration file (forecasts/calibration.toml)")
    bt.add_argument(
        "-o", "--output", help="output folder (default: backtest/ in the spec's output folder)"
    )
    bt.add_argument(
        "--cutoffs",
        help="cut-off years, e.g. 2012,2015 or 2012:2019 (default: the spec's [backtest] cutoffs)",
    )
    bt.add_argument(
        "--starts",
        type=int,
        help="starts per cut-off (default: the spec's [backtest] starts, else 2)",
    )
    bt.add_argument(
        "--engine",
        choices=["vectorized", "pysd"],
        default="vectorized",
        help="vectorized: many runs per engine call (falls back to PySD with a notice); "
        "pysd: one sd.run per evaluation (default %(default)s)",
    )
    bt.set_defaults(func=cmd_backtest)

    ens = sub.add_parser("ensemble", help="run a study's scenarios under sampled uncertainties")
    _uncertain_args(ens, "output/<study>_ensemble")
    ens.add_argument(
        "--samples", type=int, default=1000, help="runs per scenario (default %(default)s)"
    )
    _allow_failed_arg(ens)
    ens.set_defaults(func=cmd_ensemble)

    sens = sub.add_parser("sensitivity", help="Sobol or Morris indices with SALib")
    _uncertain_args(sens, "output/<study>_sensitivity_<method>")
    sens.add_argument(
        "--method",
        choices=["sobol", "morris"],
        default="sobol",
        help="sobol or morris (unbounded distributions are truncated at their 0.5%% and "
        "99.5%% quantiles for Morris; default %(default)s)",
    )
    sens.add_argument(
        "--samples",
        type=int,
        default=512,
        help="base samples N (Sobol runs N*(D+2), Morris N*(D+1); default %(default)s)",
    )
    sens.add_argument("--scenario", help="scenario to analyse (default: the study's base)")
    sens.add_argument(
        "--years",
        help="years for the ranked bar charts, e.g. 2030,2050 (default: the study's key years)",
    )
    sens.set_defaults(func=cmd_sensitivity)

    chk = sub.add_parser("check", help="check a model: units, structure, diagram, docs, behaviour")
    chk.add_argument("model", help="Vensim .mdl file")
    chk.add_argument(
        "--format", choices=["text", "json"], default="text", help="default %(default)s"
    )
    chk.add_argument(
        "--strict",
        action="store_true",
        help="warnings count as errors (and failed extreme-condition runs are errors)",
    )
    chk.add_argument("--skip", default="", help="checks to skip, e.g. behaviour,units")
    chk.add_argument("--all", action="store_true", help="also list info findings")
    chk.add_argument(
        "--inputs",
        help="policy/shock inputs for the extreme-condition runs "
        "(default: constants of a levers/policy/shock view, else ranged constants)",
    )
    chk.set_defaults(func=cmd_check)

    dia = sub.add_parser("diagram", help="draw the model's views as Vensim shows them")
    dia.add_argument("model", help="Vensim .mdl file")
    dia.add_argument("-o", "--output", required=True, help="FILE.svg, .png or .pdf")
    dia.add_argument("--view", help="one view by name (default: every view, one file each)")
    dia.set_defaults(func=cmd_diagram)

    rep = sub.add_parser("report", help="HTML page, Excel workbook and figures of a study")
    rep.add_argument("study", help="study file (forecasts/*.toml)")
    rep.add_argument(
        "--lang", choices=["en", "ru"], default="en", help="report language (default %(default)s)"
    )
    rep.add_argument(
        "-o", "--output", help="output folder (default: output/<study>_report_<lang> beside it)"
    )
    rep.add_argument(
        "-q", "--quiet", action="store_true", help="no stage messages on stderr (errors only)"
    )
    rep.set_defaults(func=cmd_report)
    from sd.cli.decision import register

    register(sub)  # seek, explore, loops

    from sd.app.cli import add_command as add_app

    add_app(sub)
    return parser


def _uncertain_args(p: argparse.ArgumentParser, output: str) -> None:
    p.add_argument("study", help="study file (forecasts/*.toml)")
    p.add_argument("--uncertain", required=True, help="uncertainty file (TOML)")
    p.add_argument(
        "--seed", type=_seed, default=42, help="random seed, 0 or more (default %(default)s)"
    )
    p.add_argument(
        "--engine",
        choices=["vectorized", "pysd"],
        default="vectorized",
        help="default %(default)s (falls back to PySD with a notice)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes")
    where.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--vars", help="comma-separated variables (default: the study's)")
    p.add_argument("-o", "--output", help=f"output folder (default: {output} beside the study)")


def _allow_failed_arg(p: argparse.ArgumentParser) -> None:
    from sd.analysis.failures import DEFAULT_ALLOWED

    p.add_argument(
        "--allow-failed",
        type=_fraction("--allow-failed"),
        default=DEFAULT_ALLOWED,
        metavar="FRACTION",
        help="share of runs that may fail (NaN or an error) and be left out (default %(default)s)",
    )


def _fraction(flag: str):
    def parse(text: str) -> float:
        from sd.analysis.failures import check_allowed

        try:
            return check_allowed(float(text), flag=flag)
        except (ValueError, SDError) as err:
            msg = str(err) if isinstance(err, SDError) else f"{flag} needs a number, not {text!r}"
            raise argparse.ArgumentTypeError(msg) from None

    return parse


def _number(flag: str):
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} needs a number, not {text!r}") from None

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"--seed needs a whole number, 0 or more (e.g. --seed 42), not {text!r}"
        )
    return value



def cmd_info(args: argparse.Namespace) -> int:
    import sd

    model = sd.load(args.model, cache_dir=args.cache_dir)
    grid = model.time
    print(f"{model.path}  ({len(model.variables)} variables)")
    print(
        f"time: {grid.initial:g} to {grid.final:g} {grid.units}, step {grid.step:g}, "
        f"saved every {grid.saveper:g}"
    )
    for var in model.variables.values():
        if args.kind and var.kind != args.kind:
            continue
        units = var.units or "(no units)"
        print(f"\n{var.name}  [{var.kind}]  {units}")
        if var.comment:
            print(
                textwrap.fill(
                    var.comment, width=96, initial_indent="    ", subsequent_indent="    "
                )
            )
    return 0



def cmd_run(args: argparse.Namespace) -> int:
    import sd
    from sd.files import atomic_path, check_output_path

    out = Path(args.output) if args.output else None
    if out is not None:
        if out.suffix.lower() not in WIDE_FORMATS:
            raise sd.OutputError(f"cannot write {out.name}: use one of {WIDE_FORMATS}.")
        check_output_path(out)
    params = parse_sets(args.sets)
    model = sd.load(args.model, cache_dir=args.cache_dir)
    for note in model.data_notices:
        print(f"note: {note}", file=sys.stderr)
    names = parse_names("--vars", args.vars)
    time = sd.TimeSettings(args.start, args.stop, args.step, args.saveper)
    results = sd.run(model, params, time=time, variables=names)
    table = results.wide().reset_index()
    if out is None:
        _print_summary(table, results)
        return 0
    with atomic_path(out) as tmp:
        _write_wide(table, tmp, out.suffix.lower(), results)
    if out.suffix.lower() == ".csv":  # the metadata a plain CSV cannot hold
        from sd.datapackage import resource
        from sd.files import write_package
        from sd.results import sidecar_name

        units = {"time": results.provenance.get("time", {}).get("units", ""), **results.units}
        res = resource(out, out.parent, frame=table, units=units)
        res["sd:provenance"] = dict(results.provenance)
        write_package(out.parent, [res], name=out.stem, filename=sidecar_name(out))
    print(f"wrote {out} ({len(table)} times x {table.shape[1] - 1} variables)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:

    from sd.check.checks import CHECKS, check_model, summary
    from sd.model.translation import check_model_file

    check_model_file(Path(args.model))  # a missing or non-Vensim file is a usage error
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(CHECKS)
    if unknown:
        raise ParameterError(f"--skip {sorted(unknown)}: the checks are {', '.join(CHECKS)}.")
    inputs = parse_names("--inputs", args.inputs)
    findings = check_model(
        args.model,
        checks=[c for c in CHECKS if c not in skip],
        cache_dir=args.cache_dir,
        inputs=inputs,
        strict=args.strict,
    )
    counts = summary(findings)
    failed = counts["error"] > 0 or (args.strict and counts["warning"] > 0)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "model": args.model,
                    "ok": not failed,
                    "summary": counts,
                    "findings": [f.as_dict() for f in findings],
                },
                indent=1,
            )
        )
    else:
        for f in findings:
            if f.severity != "info" or args.all:
                print(f"{args.model}:{f}")
        print(
            f"{args.model}: {counts['error']} errors, {counts['warning']} warnings, "
            f"{counts['info']} notes ({', '.join(c for c in CHECKS if c not in skip)})"
        )
    return 1 if failed else 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from sd.report.diagram import render

    for path in render(args.model, args.output, view=args.view):
        print(f"wrote {path}")
    return 0


def _write_wide(table, tmp: Path, suffix: str, results) -> None:
    if suffix == ".csv":
        table.to_csv(tmp, index=False, float_format="%.17g")
    elif suffix == ".parquet":
        table.to_parquet(tmp, index=False)
    elif suffix == ".xlsx":
        from sd.report.xlsx import excel_writer

        with excel_writer(tmp) as xl:
            table.to_excel(xl, index=False, sheet_name="run")
    else:
        ds = table.set_index("time").to_xarray()
        for name, units in results.units.items():
            if name in ds:
                ds[name].attrs["units"] = units
        ds.to_netcdf(tmp, engine="netcdf4")


def _print_summary(table, results) -> None:

    times = table["time"]
    print(f"{len(times)} saved times from {times.iloc[0]:g} to {times.iloc[-1]:g}")
    rows = []
    for name in table.columns[1:]:
        col = table[name]
        rows.append(
            {
                "variable": name,
                "units": results.units.get(name, ""),
                "initial": col.iloc[0],
                "final": col.iloc[-1],
                "min": col.min(),
                "max": col.max(),
            }
        )

    with pd.option_context("display.max_rows", None, "display.width", 140):
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    print("(use -o FILE.csv|.parquet|.nc|.xlsx to write the full table)")
