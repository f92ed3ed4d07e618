"""The decision-support commands: ``sd seek``, ``sd explore`` and ``sd loops``.

Registered on the ``sd`` parser by :func:`register`; each command is a thin wrapper
around :mod:`sd.analysis.seek`, :mod:`sd.analysis.explore` and :mod:`sd.analysis.loops`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def register(sub) -> None:  # sub: argparse._SubParsersAction
    seek = sub.add_parser(
        "seek", help="find the lever level at which a variable reaches a target in a year"
    )
    seek.add_argument("study", help="study file (forecasts/*.toml)")
    seek.add_argument("--scenario", help="scenario to start from (default: the study's base)")
    seek.add_argument(
        "--lever",
        required=True,
        help="a constant: its value is sought, or, when the scenario shocks it, a scale of "
        "the scenario's shocks on it (1 = as declared)",
    )
    seek.add_argument("--target", required=True, help="VARIABLE=VALUE@YEAR, e.g. 'GRP=1500@2035'")
    seek.add_argument(
        "--range",
        dest="lever_range",
        help="LOW:HIGH levels to search (default: the constant's Vensim range [min,max]; "
        "0:2 for a shock scale)",
    )
    seek.add_argument("--scan", type=int, default=41, help="levels scanned (default %(default)s)")
    seek.set_defaults(func=cmd_seek)

    exp = sub.add_parser(
        "explore", help="every policy across the same futures: regret, satisficing, PRIM boxes"
    )
    exp.add_argument("study", help="study file with an [explore] table (forecasts/*.toml)")
    exp.add_argument("--uncertain", required=True, help="uncertainty file (TOML)")
    exp.add_argument("--samples", type=int, help="futures (default: [explore] samples)")
    exp.add_argument("--seed", type=int, help="random seed (default: [explore] seed)")
    exp.add_argument(
        "--engine", choices=["vectorized", "pysd"], default="vectorized", help="default %(default)s"
    )
    exp.add_argument("--no-figures", action="store_true", help="tables only")
    exp.add_argument("-o", "--output", help="output folder (default: output/<study>_explore)")
    exp.set_defaults(func=cmd_explore)

    loops = sub.add_parser(
        "loops", help="which feedback loops dominate each variable over time (Loops That Matter)"
    )
    loops.add_argument("model", help="Vensim .mdl file")
    loops.add_argument(
        "--variable",
        action="append",
        default=[],
        help="a variable to explain (repeatable; default: every stock)",
    )
    loops.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a constant (repeatable), e.g. --set 'Carrying Capacity=2000'",
    )
    loops.add_argument("--no-figures", action="store_true", help="tables only")
    loops.add_argument(
        "-o", "--output", help="output folder (default: output/<model>_loops beside the model)"
    )
    loops.set_defaults(func=cmd_loops)

    opt = sub.add_parser(
        "optimize", help="best lever levels and start years under constraints ([optimize])"
    )
    opt.add_argument("study", help="study file with an [optimize] table")
    opt.add_argument("-o", "--output", help="output folder (default: output/<study>_optimize)")
    opt.set_defaults(func=cmd_optimize)


def _notice(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def cmd_seek(args: argparse.Namespace) -> int:
    from sd.analysis.seek import parse_range, parse_target, seek
    from sd.engine.pysd_model import load
    from sd.study.study import check_study, load_study

    target = parse_target(args.target)
    given = parse_range(args.lever_range) if args.lever_range else None
    study = load_study(args.study)
    model = load(study.model_path, cache_dir=args.cache_dir)
    study = check_study(study, model)
    res = seek(
        study,
        model,
        scenario=args.scenario or study.base,
        lever=args.lever,
        target=target,
        lever_range_=given,
        scan=max(args.scan, 3),
        notice=_notice,
    )
    what = "scale of the scenario's shocks on" if res.mode == "shock scale" else "value of"
    print(f"{res.scenario}: {what} '{res.lever}' = {res.level:.6g}")
    print(
        f"  target   {res.target}\n  achieved {res.achieved:.6g} "
        f"(relative error {res.relative_error:.2e}, with PySD)"
    )
    print(f"  searched {res.lever_range[0]:g} to {res.lever_range[1]:g} ({res.runs} runs)")
    if res.crossings > 1:
        print(
            f"  note: the target is crossed {res.crossings} times in that range; the lowest "
            "level is shown"
        )
    if res.cost is not None:
        print(
            f"  cost: NPV of the budget balance difference against '{res.comparator}' = "
            f"{res.cost:.6g} {res.cost_unit}"
        )
    else:
        print("  cost: add a [policy] table with discount_rate to the study to report it")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:

    from sd.analysis.explore import explore, load_explore
    from sd.engine.pysd_model import load
    from sd.files import staged_folder
    from sd.pipeline import default_output
    from sd.report.exploration import write_exploration
    from sd.study.study import check_study, load_study
    from sd.study.uncertainty import check_uncertainty, draw, load_uncertainty

    study = load_study(args.study)
    model = load(study.model_path, cache_dir=args.cache_dir)
    study = check_study(study, model)
    config = load_explore(study, model)
    spec = check_uncertainty(load_uncertainty(args.uncertain), model)
    n = args.samples or config.samples
    seed = config.seed if args.seed is None else args.seed
    sample = draw(spec, n, seed, end=study.time_grid(model).final)
    print(f"{len(config.policies)} policies x {n} futures (seed {seed})", file=sys.stderr)
    exp = explore(
        study, model, sample, config, uncertainty=spec.path, engine=args.engine, notice=_notice
    )
    base = default_output(study)
    out = Path(args.output) if args.output else base.parent / f"{base.name}_explore"
    with staged_folder(out) as tmp:
        write_exploration(exp, tmp, figures=not args.no_figures)
    with __import__("pandas").option_context("display.width", 160, "display.max_columns", 20):
        print(exp.robustness.drop(columns=["goal_text"]).to_string(index=False))
        if len(exp.boxes):
            print("\nPRIM boxes (futures in which a policy misses its goal):")
            print(exp.boxes.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for note in exp.notes:
        print(f"note: {note}")
    print(f"wrote {out}")
    return 0


def cmd_loops(args: argparse.Namespace) -> int:

    from sd.analysis.loops import dominance
    from sd.engine.pysd_model import load
    from sd.files import staged_folder
    from sd.model.translation import check_model_file
    from sd.report.loops import write_dominance

    check_model_file(Path(args.model))
    model = load(args.model, cache_dir=args.cache_dir)
    from sd.cli.args import parse_sets

    dom = dominance(model, args.variable or None, overrides=parse_sets(args.sets))
    default = model.path.parent / "output" / f"{model.path.stem}_loops"
    out = Path(args.output) if args.output else default
    with staged_folder(out) as tmp:
        write_dominance(dom, tmp, figures=not args.no_figures)
    print(f"{len(dom.loops)} feedback loops in {model.path.name}")
    for var, part in dom.periods.groupby("variable", sort=False):
        print(f"\n{var}:")
        for row in part.itertuples(index=False):
            print(f"  {row.start:g}-{row.end:g}  {row.label}")
    print(f"\nwrote {out}")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:

    from sd.analysis.optimize import load_problem, optimize
    from sd.engine.pysd_model import load
    from sd.files import staged_folder
    from sd.pipeline import default_output
    from sd.study.study import check_study, load_study

    study = load_study(args.study)
    model = load(study.model_path, cache_dir=args.cache_dir)
    study = check_study(study, model)
    problem = load_problem(study, model)
    sol = optimize(study, model, problem)
    base = default_output(study)
    out = Path(args.output) if args.output else base.parent / f"{base.name}_optimize"
    name = "best.csv" if sol.best is not None else "pareto.csv"
    with staged_folder(out) as tmp:
        sol.table.to_csv(tmp / name, index=False, float_format="%.8g")

    with pd.option_context("display.width", 160, "display.max_columns", 30):
        what = "optimum" if sol.best is not None else f"Pareto set ({len(sol.table)} settings)"
        print(f"{study.name}, scenario '{problem.scenario}': {what} from {sol.runs} runs")
        print(sol.table.drop(columns=["violation", "feasible"]).to_string(index=False))
    print(f"wrote {out / name}")
    return 0
