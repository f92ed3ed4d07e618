"""Lay out the sketch of a Vensim model: one view per equation group, drawn from the equations.

    python tools/layout_sketch.py models/kuzbass.mdl

Rewrites the sketch section of the ``.mdl`` in place (the equations are not touched): every group
(``.Name`` header) becomes a view of that name; stocks are boxes with their flows drawn as valves
on pipes (clouds where a flow leaves or enters the view's stocks); every other variable of the
group is placed on a grid; each cause of a variable is an arrow, from the cause itself when it
belongs to the same group, otherwise from a grey shadow of it. Open the result in Vensim to
polish the layout; run ``sd check`` after.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sd.check.checks import _integ_terms
from sd.model import mdl

CONTROL = {"final time", "initial time", "time step", "saveper", "time"}
HEADER = (
    "\\\\\\---/// Sketch information - do not modify anything except names\n"
    "V300  Do not put anything below this section - it will be ignored\n"
)
FONT = "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0"
SHADOW_TAIL = "128-128-128,0-0-0,|12||128-128-128"
COLUMNS = 6
DX, DY = 230, 70


def groups(text: str) -> list[tuple[str, list[str]]]:
    """(group name, variable names in file order) for each group of the equations."""
    eqs = mdl.equations_section(text)
    out: list[tuple[str, list[str]]] = []
    names = {e.line: e.name for e in mdl.entries(text)}
    current: list[str] | None = None
    for lineno, line in enumerate(eqs.splitlines(), start=1):
        m = re.match(r"^\t\.(.+)$", line)
        if m:
            current = []
            out.append((m.group(1).strip(), current))
        elif lineno in names and current is not None:
            if mdl.normalize(names[lineno]) not in CONTROL:
                current.append(names[lineno])
    return [(g, v) for g, v in out if v]


def dependencies(equation: str, known: dict[str, str]) -> list[str]:
    """Known variable names used on the right-hand side (longest names matched first)."""
    rhs = equation.split("=", 1)[1] if "=" in equation else ""
    rhs = re.sub(r"\s+", " ", rhs.replace("_", " ")).lower()
    found: list[str] = []
    for key in sorted(known, key=len, reverse=True):
        pattern = r"(?<![\w])" + re.escape(key) + r"(?![\w])"
        if re.search(pattern, rhs):
            found.append(known[key])
            rhs = re.sub(pattern, " # ", rhs)
    return found


class ViewWriter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[str] = []
        self.arrows: list[tuple[int, int, float, float, str]] = []
        self.next_id = 1
        self.pos: dict[int, tuple[float, float]] = {}

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def variable(self, name: str, x: float, y: float, *, stock=False, flow=False, shadow=False):
        i = self.new_id()
        w = 40 if stock else min(70, 3 * len(name) // 2 + 10)
        h = 20 if stock else 11 if len(name) < 25 else 17
        shape = 3 if stock else 40 if flow else 8
        if shadow:
            rec = f"10,{i},{name},{x:.0f},{y:.0f},{w},{h},8,2,0,3,-1,0,0,0,{SHADOW_TAIL}"
        else:
            tpos = -1 if flow else 0
            rec = f"10,{i},{name},{x:.0f},{y:.0f},{w},{h},{shape},3,0,0,{tpos},0,0,0"
        self.records.append(rec)
        self.pos[i] = (x, y)
        return i

    def cloud(self, x: float, y: float) -> int:
        i = self.new_id()
        self.records.append(f"12,{i},48,{x:.0f},{y:.0f},10,8,0,3,0,0,-1,0,0,0")
        self.pos[i] = (x, y)
        return i

    def valve(self, x: float, y: float) -> int:
        i = self.new_id()
        self.records.append(f"11,{i},48,{x:.0f},{y:.0f},6,8,34,3,0,0,1,0,0,0")
        self.pos[i] = (x, y)
        return i

    def arrow(self, src: int, dst: int, kind: str = "link") -> None:
        self.arrows.append((src, dst, 0, 0, kind))

    def text(self) -> str:
        lines = [f"*{self.name}", FONT, *self.records]
        for src, dst, _, _, kind in self.arrows:
            i = self.new_id()
            (x1, y1), (x2, y2) = self.pos[src], self.pos[dst]
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            if kind == "link":
                lines.append(f"1,{i},{src},{dst},0,0,0,0,0,64,0,-1--1--1,,1|({mx:.0f},{my:.0f})|")
            else:
                head = 4 if kind == "pipe_head" else 100
                lines.append(
                    f"1,{i},{src},{dst},{head},0,0,22,0,0,0,-1--1--1,,1|({mx:.0f},{my:.0f})|"
                )
        return "\n".join(lines) + "\n"


def layout(text: str) -> str:
    entries = {mdl.normalize(e.name): e for e in mdl.entries(text)}
    known = {k: e.name for k, e in entries.items() if k not in CONTROL}
    home: dict[str, str] = {}
    grouped = groups(text)
    for gname, names in grouped:
        for n in names:
            home.setdefault(mdl.normalize(n), gname)
    stocks = {k: _integ_terms(e.equation) for k, e in entries.items() if "INTEG" in e.equation}
    flow_ends: dict[str, dict[str, str]] = {}
    for s, terms in stocks.items():
        for f, sign in terms.items():
            flow_ends.setdefault(f, {})["to" if sign > 0 else "from"] = s
    views = []
    for gname, names in grouped:
        vw = ViewWriter(gname)
        ids: dict[str, int] = {}  # normalized name -> id of the object arrows start from
        targets: dict[str, int] = {}  # normalized name -> id arrows into it end at
        keys = [mdl.normalize(n) for n in names]
        my_stocks = [k for k in keys if k in stocks]
        my_flows = [k for k in keys if k in flow_ends and k not in stocks]
        # stocks: one row each, flows beside them
        y = 80
        stock_pos: dict[str, tuple[float, float]] = {}
        for k in my_stocks:
            stock_pos[k] = (500, y)
            ids[k] = targets[k] = vw.variable(entries[k].name, 500, y, stock=True)
            y += 120
        offsets: dict[tuple[str, str], int] = {}
        for f in my_flows:
            ends = {side: s for side, s in flow_ends[f].items() if s in stock_pos}
            src, dst = ends.get("from"), ends.get("to")
            anchor = stock_pos[dst] if dst else stock_pos[src] if src else None
            if anchor is None:
                continue
            side = "in" if dst else "out"
            n = offsets[(anchor, side)] = offsets.get((anchor, side), -1) + 1
            ax, ay = anchor
            if src and dst:
                vx, vy = (stock_pos[src][0] + ax) / 2 + 150, (stock_pos[src][1] + ay) / 2
            elif dst:
                vx, vy = ax - 180 - 40 * n, ay + 28 * n
            else:
                vx, vy = ax + 180 + 40 * n, ay + 28 * n
            # pipe ends: clouds where no stock of this view is at the other end
            cloud_from = cloud_to = None
            if not src:
                cloud_from = vw.cloud(vx - 120, vy)
            if not dst:
                cloud_to = vw.cloud(vx + 120, vy)
            v = vw.valve(vx, vy)
            label = vw.variable(entries[f].name, vx, vy + 25, flow=True)
            ids[f] = label
            targets[f] = v
            if dst:
                vw.arrow(v, ids[dst], "pipe_head")
            else:
                vw.arrow(v, cloud_to, "pipe_head")
            if src:
                vw.arrow(v, ids[src], "pipe")
            else:
                vw.arrow(v, cloud_from, "pipe")
        # other variables on a grid below the stocks, at the right of the stock column
        col, row = 0, 0
        top = max(y, 80)
        for k in keys:
            if k in ids:
                continue
            x = 1000 + DX * col if row < len(my_stocks) * 2 and my_stocks else 120 + DX * col
            gy = 80 + DY * row if x >= 1000 else top + DY * row
            ids[k] = targets[k] = vw.variable(entries[k].name, x, gy)
            col += 1
            if col == (4 if x >= 1000 else COLUMNS):
                col, row = 0, row + 1
        # causes: arrows from variables of this view or from shadows
        shadows: dict[str, int] = {}
        links: list[tuple[str, str]] = []
        for k in keys:
            for dep in dependencies(entries[k].equation, known):
                d = mdl.normalize(dep)
                if d == k:
                    continue
                if d in stocks.get(k, {}):
                    continue  # a flow of this stock: drawn as a pipe
                links.append((d, k))
        row += 2
        col = 0
        for d, _ in links:
            if d not in ids and d not in shadows:
                x, sy = 120 + DX * col, top + DY * row
                shadows[d] = vw.variable(entries[d].name, x, sy, shadow=True)
                col += 1
                if col == COLUMNS:
                    col, row = 0, row + 1
        seen = set()
        for d, k in links:
            src = ids.get(d, shadows.get(d))
            dst = targets[k]
            if (src, dst) in seen:
                continue
            seen.add((src, dst))
            vw.arrow(src, dst)
        views.append(vw.text())
    eqs = mdl.equations_section(text).rstrip("\n") + "\n"
    return eqs + "".join(HEADER + v for v in views) + "///---\\\\\\\n"


def main(path: str) -> None:
    p = Path(path)
    text = mdl.read_text(p)
    p.write_text(layout(text), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
