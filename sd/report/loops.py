"""The files of a loop-dominance analysis (`sd loops`): tables and dominance figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sd.analysis.loops import Dominance
from sd.report import plots


def write_dominance(dom: Dominance, folder: Path, *, figures: bool = True) -> list[Path]:
    """``dominance.csv`` (every loop, variable and time), ``dominance_summary.csv`` (periods),
    ``loops.csv`` (the loops) and one dominance-over-time figure per variable."""
    files = []
    loops = pd.DataFrame(
        [
            {
                "loop": i.id.upper(),
                "polarity": i.polarity,
                "view": i.view,
                "partition": i.partition,
                "variables": ", ".join(i.variables),
            }
            for i in dom.loops
        ]
    )
    for name, frame in (
        ("loops", loops),
        ("dominance", dom.table.drop(columns=["label"]) if len(dom.table) else dom.table),
        ("dominance_summary", dom.periods),
    ):
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.6g")
        files.append(path)
    if figures and len(dom.table):
        files += _figures(dom, folder / "figures")
    return files


def _figures(dom: Dominance, folder: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    with plots.theme():
        for var, part in dom.table.groupby("variable", sort=False):
            wide = part.pivot_table(index="time", columns="loop", values="score")
            top = wide.abs().max().sort_values(ascending=False).index[:8]
            fig, ax = plt.subplots(figsize=(plots.A4_WIDTH, 3.4))
            labels = part.drop_duplicates("loop").set_index("loop")["label"]
            for lid in top:
                text = labels[lid]
                ax.plot(wide.index, wide[lid], label=text if len(text) < 90 else text[:87] + "...")
            ax.axhline(0, color="0.5", lw=0.8)
            ax.set_title(f"Loop dominance: {var}")
            ax.set_xlabel("time")
            ax.set_ylabel("relative loop score")
            ax.legend(loc="upper left", bbox_to_anchor=(0, -0.18), fontsize=7, ncol=1)
            files += plots.save_figure(fig, folder / plots.slug(f"loops_{var}"))
            plt.close(fig)
    return files
