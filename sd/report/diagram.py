"""Draw a Vensim sketch the way Vensim shows it: stocks as boxes, flows as double-line
pipes with valves and clouds, auxiliaries as names, arrows curved through their stored
points, shadow variables grey in angle brackets, comments. DejaVu Sans shows Latin and
Cyrillic names. Output by suffix: ``.svg``, ``.png`` (200 dpi) or ``.pdf``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse, Polygon, Rectangle

from sd.errors import OutputError, UnknownVariableError, suggest
from sd.files import distinct_slugs
from sd.model.sketch import Arrow, SketchObject, View, read_sketch
from sd.report.figtext import PLAIN_TEXT, savefig

FORMATS = (".svg", ".png", ".pdf")
PX = 1 / 100  # inches per sketch pixel
GREY = "0.5"


def render_view(view: View, *, ax: Axes | None = None, title: bool = True) -> Axes:
    """Draw one view on ``ax`` (a new figure sized to the view if not given)."""
    objs = list(view.objects.values())
    if not objs:
        raise ValueError(f"view '{view.name}' is empty")
    xs = [o.x - o.w for o in objs] + [o.x + o.w for o in objs]
    ys = [o.y - o.h for o in objs] + [o.y + o.h for o in objs]
    for a in view.arrows:
        xs += [p[0] for p in a.points if p != (0, 0)]
        ys += [p[1] for p in a.points if p != (0, 0)]
    x0, x1, y0, y1 = min(xs) - 30, max(xs) + 30, min(ys) - 30, max(ys) + 30
    if ax is None:
        _, ax = plt.subplots(figsize=(max((x1 - x0) * PX, 3), max((y1 - y0) * PX, 2)))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # y grows downwards in the sketch
    ax.set_aspect("equal")
    ax.axis("off")
    for arrow in view.arrows:
        src, dst = view.objects.get(arrow.source), view.objects.get(arrow.target)
        if src is None or dst is None:
            continue  # dangling: reported by sd check, not drawn
        if arrow.is_pipe:
            _pipe(ax, arrow, src, dst)
        else:
            _influence(ax, arrow, src, dst)
    for obj in objs:
        _object(ax, obj)
    if title:
        ax.set_title(view.name, fontsize=11, loc="left")
    return ax


def render(
    model_path: str | Path,
    output: str | Path,
    *,
    view: str | None = None,
    titles: Mapping[str, str] | None = None,
) -> list[Path]:
    """Draw a chosen view, or every view (one file each: ``<stem>_<view><suffix>``).

    ``titles`` maps view names to the titles drawn (e.g. a report's language)."""
    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise OutputError(f"cannot draw {output.name}: use one of {FORMATS}.")
    if not output.parent.is_dir():
        raise OutputError(f"cannot write {output}: the folder {output.parent} does not exist.")
    views = read_sketch(model_path)
    if not views:
        raise OutputError(f"{model_path} has no sketch to draw.")
    if view is not None:
        chosen = [v for v in views if v.name.lower() == view.lower()]
        if not chosen:
            raise UnknownVariableError(
                f"no view {view!r} in {Path(model_path).name}."
                + suggest(view, [v.name for v in views])
                + f" Views: {', '.join(v.name for v in views)}."
            )
        views = chosen
    paths = []
    stems = distinct_slugs([v.name for v in views], f"{Path(model_path).name}: views")
    for v in views:
        target = (
            output
            if len(views) == 1
            else output.with_name(f"{output.stem}_{stems[v.name]}{output.suffix}")
        )
        rc = {"font.family": "DejaVu Sans", "svg.fonttype": "none", **PLAIN_TEXT}
        with plt.rc_context(rc):
            ax = render_view(v)
            if titles and titles.get(v.name):
                ax.set_title(titles[v.name], fontsize=11, loc="left")
            savefig(ax.figure, target, dpi=200, bbox_inches="tight")
            plt.close(ax.figure)
        paths.append(target)
    return paths


# -- drawing pieces ---------------------------------------------------------


def _label(obj: SketchObject) -> str:
    name = obj.name.replace("\\n", " ")
    width = max(8, int(2 * obj.w / 5.5))
    text = "\n".join(textwrap.wrap(name, width, break_long_words=False)) or name
    return f"<{text}>" if obj.is_shadow else text


def _object(ax: Axes, obj: SketchObject) -> None:
    if obj.type == 11:
        _valve(ax, obj)
    elif obj.is_cloud:
        _cloud(ax, obj)
    elif obj.is_comment:
        ax.text(
            obj.x,
            obj.y,
            "\n".join(textwrap.wrap(obj.text, 40)),
            ha="center",
            va="center",
            fontsize=7,
            style="italic",
            color="0.25",
            bbox={"boxstyle": "round,pad=0.3", "fc": "0.97", "ec": "0.7", "lw": 0.5},
        )
    elif obj.is_stock:
        ax.add_patch(
            Rectangle(
                (obj.x - obj.w, obj.y - obj.h),
                2 * obj.w,
                2 * obj.h,
                fc="white",
                ec=GREY if obj.is_shadow else "black",
                lw=1.0,
                zorder=3,
            )
        )
        _name(ax, obj)
    elif obj.is_flow_label:  # no background: arrows into the valve end just above it
        _name(ax, obj, dy=2)
    elif obj.type == 10:
        _name(ax, obj, box=True)


def _name(ax: Axes, obj: SketchObject, *, dy: float = 0, box: bool = False) -> None:
    """A variable's name at its position; grey for shadows; white box over crossing arrows."""
    ax.text(
        obj.x,
        obj.y + dy,
        _label(obj),
        ha="center",
        va="center",
        fontsize=7,
        zorder=4,
        color=GREY if obj.is_shadow else "black",
        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.85}
        if box
        else None,
    )


def _valve(ax: Axes, obj: SketchObject) -> None:
    vertical = obj.shape & 3 == 1
    s = 6.0
    if vertical:
        left = [(obj.x - s, obj.y - s), (obj.x + s, obj.y - s), (obj.x, obj.y)]
        right = [(obj.x - s, obj.y + s), (obj.x + s, obj.y + s), (obj.x, obj.y)]
    else:
        left = [(obj.x - s, obj.y - s), (obj.x - s, obj.y + s), (obj.x, obj.y)]
        right = [(obj.x + s, obj.y - s), (obj.x + s, obj.y + s), (obj.x, obj.y)]
    for tri in (left, right):
        ax.add_patch(Polygon(tri, closed=True, fc="white", ec="black", lw=0.8, zorder=5))


def _cloud(ax: Axes, obj: SketchObject) -> None:
    for dx, dy, r in ((-5, 1, 5.5), (0, -3, 6), (5, 1, 5.5), (0, 3, 5)):
        ax.add_patch(
            Ellipse(
                (obj.x + dx, obj.y + dy), 2 * r, 1.6 * r, fc="white", ec="0.35", lw=0.7, zorder=3
            )
        )
    ax.add_patch(Ellipse((obj.x, obj.y), 16, 10, fc="white", ec="none", zorder=3.5))


def _half(obj: SketchObject) -> tuple[float, float]:
    if obj.type == 11:
        return 6.0, 6.0
    if obj.is_cloud:
        return 11.0, 8.0
    if obj.is_stock:
        return obj.w, obj.h
    return max(obj.w, 3.0 * len(obj.name) / 2), max(obj.h, 6.0)


def _inside(p: np.ndarray, obj: SketchObject, pad: float) -> np.ndarray:
    hw, hh = _half(obj)
    return (np.abs(p[:, 0] - obj.x) <= hw + pad) & (np.abs(p[:, 1] - obj.y) <= hh + pad)


def _clip(path: np.ndarray, src: SketchObject, dst: SketchObject, pad: float = 2.0) -> np.ndarray:
    """Drop the leading points inside ``src`` and the trailing points inside ``dst``."""
    keep = np.ones(len(path), dtype=bool)
    inside_src = _inside(path, src, pad)
    inside_dst = _inside(path, dst, pad)
    i = 0
    while i < len(path) - 2 and inside_src[i]:
        keep[i] = False
        i += 1
    j = len(path) - 1
    while j > i + 1 and inside_dst[j]:
        keep[j] = False
        j -= 1
    return path[keep]


def _arc(a: tuple[float, float], c: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Points of the circular arc from ``a`` through ``c`` to ``b`` (a line if collinear)."""
    (ax_, ay), (cx, cy), (bx, by) = a, c, b
    d = 2 * (ax_ * (cy - by) + cx * (by - ay) + bx * (ay - cy))
    if abs(d) < 1e-9:
        return np.linspace(a, b, 40)
    ux = (
        (ax_**2 + ay**2) * (cy - by) + (cx**2 + cy**2) * (by - ay) + (bx**2 + by**2) * (ay - cy)
    ) / d
    uy = (
        (ax_**2 + ay**2) * (bx - cx) + (cx**2 + cy**2) * (ax_ - bx) + (bx**2 + by**2) * (cx - ax_)
    ) / d
    r = math.hypot(ax_ - ux, ay - uy)
    t_a, t_c, t_b = (math.atan2(p[1] - uy, p[0] - ux) for p in (a, c, b))

    def ccw(t0: float, t1: float) -> float:
        return (t1 - t0) % (2 * math.pi)

    if ccw(t_a, t_c) <= ccw(t_a, t_b):  # going counter-clockwise from a reaches c before b
        ts = t_a + np.linspace(0, ccw(t_a, t_b), 60)
    else:
        ts = t_a - np.linspace(0, ccw(t_b, t_a), 60)
    return np.column_stack([ux + r * np.cos(ts), uy + r * np.sin(ts)])


def _influence(ax: Axes, arrow: Arrow, src: SketchObject, dst: SketchObject) -> None:
    a, b = (src.x, src.y), (dst.x, dst.y)
    pts = [p for p in arrow.points if p != (0.0, 0.0)]
    if arrow.shape == 1 and len(pts) == 1:
        path = _arc(a, pts[0], b)
    elif len(pts) > 1:
        path = np.array([a, *pts, b], dtype=float)
    else:
        path = np.linspace(a, b, 20)
    path = _clip(path, src, dst)
    if len(path) < 2:
        return
    color = "#1f3b73"
    ax.plot(path[:, 0], path[:, 1], color=color, lw=0.8, zorder=2)
    ax.annotate(
        "",
        xy=path[-1],
        xytext=path[-2],
        arrowprops={
            "arrowstyle": "-|>,head_length=0.5,head_width=0.22",
            "color": color,
            "lw": 0.8,
            "shrinkA": 0,
            "shrinkB": 0,
        },
        zorder=2,
    )
    if arrow.polarity in (43, 45):
        px, py = path[max(len(path) - 6, 0)]
        ax.text(
            px,
            py - 5,
            chr(arrow.polarity),
            fontsize=7,
            color=color,
            ha="center",
            va="center",
            zorder=2,
        )


def _pipe(ax: Axes, arrow: Arrow, valve: SketchObject, end: SketchObject) -> None:
    pts = [p for p in arrow.points if p != (0.0, 0.0)]
    path = np.array([(valve.x, valve.y), *pts[1:-1], (end.x, end.y)], dtype=float)
    if len(pts) <= 1:
        path = np.array([(valve.x, valve.y), (end.x, end.y)], dtype=float)
    # clip the last segment at the target's edge
    hw, hh = _half(end)
    (x0, y0), (x1, y1) = path[-2], path[-1]
    dx, dy = x1 - x0, y1 - y0
    t = 1.0
    if dx:
        t = min(t, 1 - hw / abs(dx)) if abs(dx) > hw else t
    if dy:
        t = min(t, 1 - hh / abs(dy)) if abs(dy) > hh else t
    path[-1] = (x0 + dx * max(t, 0), y0 + dy * max(t, 0))
    ax.plot(path[:, 0], path[:, 1], color="black", lw=3.2, solid_capstyle="butt", zorder=1)
    ax.plot(path[:, 0], path[:, 1], color="white", lw=1.6, solid_capstyle="butt", zorder=1.1)
    if arrow.has_head:
        (x0, y0), (x1, y1) = path[-2], path[-1]
        ang = math.atan2(y1 - y0, x1 - x0)
        tip = np.array([x1, y1])
        back = tip - 9 * np.array([math.cos(ang), math.sin(ang)])
        side = 6 * np.array([-math.sin(ang), math.cos(ang)])
        ax.add_patch(
            Polygon(
                [tip, back + side, back - side],
                closed=True,
                fc="white",
                ec="black",
                lw=0.8,
                zorder=1.2,
            )
        )
