"""Coverage of the vectorized engine on the Vensim conformance models.

Usage: python benchmarks/vectorized_coverage.py [FOLDER]
(default: ../shared/vensim/test-models/tests)

For every ``.mdl`` in the folder's sub-folders that ``sd.run`` runs to the end, build the
vectorized engine and compare its single run with ``sd.run`` (1e-9 relative, 1e-12
absolute, every saved value of every variable). One line per model (``equal``,
``differs``, ``fallback: <construct>``, or ``sd.run fails``), then the count line
``built B / equal E / fallback F / total T that sd.run runs`` and the fallback reasons.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this tree's sd, not an installed one

import sd  # noqa: E402
from sd.engine.vectorized.core import Unsupported, build, flat_columns  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "vensim" / "test-models" / "tests"


def check(path: Path) -> tuple[str, str]:
    """(status, detail) of one model: status is 'skip', 'equal', 'differs' or 'fallback'."""
    try:
        model = sd.load(path)
        ref = sd.run(model).wide()
    except sd.SDError as err:
        return "skip", str(err).splitlines()[0][:100]
    except Exception as err:  # noqa: BLE001 - a PySD crash is "sd.run does not run it"
        return "skip", f"{type(err).__name__}: {err}"[:100]
    try:
        vm = build(model)
        times, out = vm.run({}, n=1)
    except Unsupported as err:
        return "fallback", err.construct
    except Exception as err:  # noqa: BLE001 - counted and shown, never hidden
        return "differs", f"engine error {type(err).__name__}: {err}"[:100]
    cols = flat_columns(vm, out)
    if not np.array_equal(times, ref.index.to_numpy(float)):
        return "differs", "saved times"
    if set(cols) != set(ref.columns):
        missing = sorted(set(ref.columns) ^ set(cols))[:3]
        return "differs", f"columns {missing}"
    for name, values in cols.items():
        a, b = values[0], ref[name].to_numpy(float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            return "differs", name
    return "equal", ""


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DEFAULT
    if not folder.is_dir():
        print(f"{folder} is not a folder")
        return 2
    paths = sorted(p for p in folder.glob("*/*") if p.suffix.lower() == ".mdl")
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status, detail = check(path)
        counts[status] += 1
        if status == "fallback":
            reasons[detail] += 1
        label = {"skip": "sd.run fails", "fallback": "fallback"}.get(status, status)
        print(f"{path.parent.name}/{path.name}: {label}{': ' + detail if detail else ''}")
    total = counts["equal"] + counts["differs"] + counts["fallback"]
    built = counts["equal"] + counts["differs"]
    print("fallback reasons: " + "; ".join(f"{r} ({k})" for r, k in reasons.most_common()))
    print(
        f"built {built} / equal {counts['equal']} / fallback {counts['fallback']} / "
        f"total {total} that sd.run runs ({counts['skip']} that it does not)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
