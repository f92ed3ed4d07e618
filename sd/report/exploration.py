"""The files of an exploration (`sd explore`): regret, satisficing and PRIM tables, box figures."""

from __future__ import annotations

import json
from pathlib import Path

from sd.analysis.explore import Exploration
from sd.report import plots


def write_exploration(exp: Exploration, folder: Path, *, figures: bool = True) -> list[Path]:
    """CSV tables, ``explore.json`` (the provenance, which
    :class:`sd.analysis.explore.ExploreTables` reads back) and one figure per PRIM box in
    ``folder`` (which must exist)."""
    files = []
    for name, frame in (
        ("outcomes", exp.outcomes),
        ("robustness", exp.robustness),
        ("prim_boxes", exp.boxes),
    ):
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.6g")
        files.append(path)
    path = folder / "prim_inputs.csv"
    exp.inputs.rename_axis("run").to_csv(path, float_format="%.6g")
    files.append(path)
    path = folder / "explore.json"
    path.write_text(json.dumps({"provenance": dict(exp.provenance)}, indent=1), encoding="utf-8")
    files.append(path)
    if exp.notes:
        (folder / "notes.txt").write_text("\n".join(exp.notes) + "\n", encoding="utf-8")
        files.append(folder / "notes.txt")
    if figures and len(exp.boxes):
        files += _figures(exp, folder / "figures")
    return files


def _figures(exp: Exploration, folder: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    with plots.theme():
        for (policy, goal), box in exp.boxes.groupby(["policy", "goal"], sort=False):
            dims = [d for d in box["input"] if d in exp.inputs.columns]
            miss = ~exp.outcomes[(exp.outcomes.policy == policy) & (exp.outcomes.goal == goal)][
                "met"
            ].to_numpy()
            fig, ax = plt.subplots(figsize=(6.5, 4.5))
            if len(dims) >= 2:
                a, b = dims[0], dims[1]
            elif dims:
                a, b = dims[0], next(c for c in exp.inputs.columns if c != dims[0])
            else:
                plt.close(fig)
                continue
            xa, xb = exp.inputs[a].to_numpy(), exp.inputs[b].to_numpy()
            ax.scatter(xa[~miss], xb[~miss], s=8, c="0.7", label="goal met")
            ax.scatter(xa[miss], xb[miss], s=8, c="tab:red", label="goal missed")
            lim = box.set_index("input")
            lo_a, hi_a = lim.loc[a, ["lower", "upper"]]
            if b in lim.index:
                lo_b, hi_b = lim.loc[b, ["lower", "upper"]]
            else:
                lo_b, hi_b = xb.min(), xb.max()
            ax.add_patch(
                Rectangle((lo_a, lo_b), hi_a - lo_a, hi_b - lo_b, fill=False, lw=2, ec="k")
            )
            first = box.iloc[0]
            ax.set_title(
                f"{policy}: {goal} missed (box coverage {first['coverage']:.2f}, "
                f"density {first['density']:.2f})",
                fontsize=9,
            )
            ax.set_xlabel(a)
            ax.set_ylabel(b)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
            fig.tight_layout()
            files += plots.save_figure(fig, folder / plots.slug(f"prim_{policy}_{goal}"))
    return files
