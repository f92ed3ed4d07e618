"""The decision-support commands: ``sd seek``, ``sd explore`` and ``sd loops``.

Registered on the ``sd`` parser by :func:`register`; each command is a thin wrapper
around :mod:`sd.seek`, :mod:`sd.explore` and :mod:`sd.loops`.
"""

from __future__ import annotations

import argparse
import sys


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
    seek.add_argument("--scan", type=int, default=41, help="levels scanned (default 41)")
    seek.set_defaults(func=cmd_seek)


def _notice(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def cmd_seek(args: argparse.Namespace) -> int:
    from sd.model import load
    from sd.seek import parse_range, parse_target, seek
    from sd.study import check_study, load_study

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
