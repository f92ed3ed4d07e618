"""Coverage of real Vensim files: how many load, run to the end and match Vensim's output.

Usage: python benchmarks/coverage.py [FOLDER_OR_MDL ...] [--quiet]

Default: every ``.mdl`` of the Vensim conformance models in
``../shared/vensim/test-models/tests/`` plus the project's own semantics models
(``OWN_MODELS`` in ``tests/models/``). For each model it prints
one line: whether ``sd.load`` + ``sd.run`` run it to the end, whether the results match
Vensim's own output beside the model (``output.tab`` / ``output.csv`` / ``NAME.output.csv``;
every common series within 1e-3 of that series' peak absolute value), and whether Simlin
(``pysimlin``) runs it. The last line is the count:
``coverage: sd runs A/N, matches Vensim B/M (with output), Simlin runs C/N``.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree's sd, not an installed one

import sd  # noqa: E402

CONFORMANCE = ROOT.parent / "shared" / "vensim" / "test-models" / "tests"
OWN = ROOT / "tests" / "models"
RTOL = 1e-3
#: the project's own models of Vensim semantics (macros, RK4, integer states, functions)
OWN_MODELS = [
    "int_states.mdl",
    "macros.mdl",
    "macros_expanded.mdl",
    "rk4_decay.mdl",
    "rk4_logistic.mdl",
    "vensim_functions.mdl",
]
SKIP = {"model_to_generate_data.mdl"}  # writes data for data_from_other_model; no output


def norm(name: str) -> str:
    """Vensim's name identity, subscripts included: case, quotes, spaces and underscores."""
    name = name.strip().strip('"')
    base, _, subs = name.partition("[")
    base = re.sub(r"[\s_]+", " ", base.strip().strip('"')).strip().lower()
    if not subs:
        return base
    elems = [
        re.sub(r"[\s_]+", " ", e.strip().strip('"')).lower() for e in subs.rstrip("]").split(",")
    ]
    return f"{base}[{','.join(elems)}]"


def vensim_output(mdl: Path) -> pd.DataFrame | None:
    """Vensim's saved output beside the model: time index, one column per series."""
    candidates = [
        mdl.with_suffix(".output.csv"),
        mdl.parent / "output.tab",
        mdl.parent / "output.csv",
    ]
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        sep = "\t" if path.suffix == ".tab" else ","
        frame = pd.read_csv(io.StringIO("\n".join(text.splitlines())), sep=sep, dtype=str)
        first = str(frame.columns[0]).strip().strip('"')
        if first.lower() != "time":  # variables as rows: transpose
            frame = frame.set_index(frame.columns[0]).T.reset_index()
            frame = frame.rename(columns={"index": "Time"})
        frame = frame.set_index(frame.columns[0])
        frame.index = pd.to_numeric(frame.index, errors="coerce")
        frame = frame.apply(pd.to_numeric, errors="coerce")
        frame = frame[frame.index.notna()]
        frame.columns = [norm(str(c)) for c in frame.columns]
        return frame
    return None


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> tuple[int, int, str]:
    """(series compared, series off, worst series) at the common times."""
    ours = ours.copy()
    ours.columns = [norm(str(c)) for c in ours.columns]
    times = np.intersect1d(
        np.round(ours.index.to_numpy(float), 9), np.round(ref.index.to_numpy(float), 9)
    )
    if len(times) == 0:
        return 0, 0, "no common times"
    ours.index = np.round(ours.index.to_numpy(float), 9)
    ref = ref.copy()
    ref.index = np.round(ref.index.to_numpy(float), 9)
    ref = ref[~ref.index.duplicated()]
    ours = ours[~ours.index.duplicated()]
    compared = off = 0
    worst, worst_err = "", 0.0
    for col in ref.columns:
        if col in ("time", "initial time", "final time", "time step", "saveper") or col not in ours:
            continue
        v = ref.loc[times, col].to_numpy(float)
        o = ours.loc[times, col].to_numpy(float)
        keep = np.isfinite(v)
        if not keep.any():
            continue
        compared += 1
        peak = max(np.abs(v[keep]).max(), 1e-12)
        err = (
            float(np.nanmax(np.abs(o[keep] - v[keep])) / peak)
            if np.isfinite(o[keep]).all()
            else np.inf
        )
        if err > RTOL:
            off += 1
        if err > worst_err:
            worst, worst_err = col, err
    return compared, off, f"{worst} {worst_err:.2g}" if worst else ""


def run_sd(mdl: Path, cache: Path) -> tuple[str, pd.DataFrame | None]:
    status, frame = _run_sd(mdl, cache)
    datasets = sorted(p.name for p in mdl.parent.glob("*.tab") if p.name != "output.tab")
    if frame is None and "from a dataset" in status and datasets:
        # what a user does: list the exported dataset in NAME.refs.toml (in a copy here,
        # the conformance folder is read-only)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / mdl.parent.name
            shutil.copytree(mdl.parent, copy)
            files = ", ".join(f'"{d}"' for d in datasets)
            (copy / f"{mdl.stem}.refs.toml").write_text(f"[data]\nfiles = [{files}]\n")
            status, frame = _run_sd(copy / mdl.name, cache)
            if frame is not None:
                status = f"ok (data from {', '.join(datasets)} through {mdl.stem}.refs.toml)"
    return status, frame


def _run_sd(mdl: Path, cache: Path) -> tuple[str, pd.DataFrame | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sd.load(mdl, cache_dir=cache)
            frame = sd.run(model).wide()
        return "ok", frame
    except sd.SDError as err:
        return "refused: " + " ".join(str(err).split()), None
    except Exception as err:  # noqa: BLE001 - a coverage count, every failure is a data point
        return f"crash: {type(err).__name__}: {' '.join(str(err).split())[:120]}", None


def run_simlin(mdl: Path) -> str:
    try:
        import simlin
    except ImportError:
        return "n/a"
    try:
        simlin.load(mdl).run(analyze_loops=False)
        return "ok"
    except Exception as err:  # noqa: BLE001
        return f"fails ({type(err).__name__})"


def models(args: list[str]) -> list[Path]:
    if not args:
        found = sorted(p for p in CONFORMANCE.glob("*/*") if p.suffix.lower() == ".mdl")
        found += [OWN / name for name in OWN_MODELS]
        return [p for p in found if p.name not in SKIP]
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        out += (
            sorted(p for p in path.glob("**/*") if p.suffix.lower() == ".mdl")
            if path.is_dir()
            else [path]
        )
    return [p for p in out if p.name not in SKIP]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--quiet", action="store_true", help="only the count line")
    args = parser.parse_args(argv)
    paths = models(args.paths)
    runs = matched = with_output = simlin_runs = 0
    with tempfile.TemporaryDirectory() as cache:
        for mdl in paths:
            label = f"{mdl.parent.name}/{mdl.name}"
            status, frame = run_sd(mdl, Path(cache))
            ref = vensim_output(mdl)
            match = "no output" if ref is None else "not run"
            if frame is not None:
                runs += 1
            if ref is not None:
                with_output += 1
                if frame is not None:
                    n, off, worst = compare(frame, ref)
                    if n and not off:
                        matched += 1
                        match = f"matches ({n} series)"
                    else:
                        match = (
                            f"OFF ({off}/{n} series; worst {worst})" if n else "nothing to compare"
                        )
            simlin_status = run_simlin(mdl)
            simlin_runs += simlin_status == "ok"
            if not args.quiet:
                shown = "runs" + status[2:] if status.startswith("ok") else status
                print(f"{label:60s} sd {shown[:160]}; {match}; simlin {simlin_status}")
                sys.stdout.flush()
    print(
        f"coverage: sd runs {runs}/{len(paths)}, matches Vensim {matched}/{with_output} "
        f"(with output), Simlin runs {simlin_runs}/{len(paths)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
