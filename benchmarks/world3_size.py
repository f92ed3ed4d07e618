"""A synthetic Vensim model of World3's size, written at benchmark time (never committed).

No World3-size model ships with the conformance models in ``../shared``, so the single-run
benchmark writes one: it is NOT World3 and its numbers mean nothing; it has World3's
size and mix of constructs (World3 has about 250 variables and 29 stocks, most of its
auxiliaries read lookup tables, and its perception and delay chains are SMOOTH, SMOOTH3,
DELAY1 and DELAY3; it runs 1900-2100 with a time step of 0.5). Here: 5 sectors of 6
stocks (30 stocks), each stock with an inflow scaled by a lookup of a perceived ratio to
a neighbour sector's stock (perceived through SMOOTH, SMOOTH3, DELAY1 or DELAY3 in turn),
an outflow over a lifetime and a policy lookup of Time per sector; sector totals and a
world total. Constants are arbitrary (chosen so that every stock stays positive and
bounded), which is all a speed benchmark needs.

Usage: ``python benchmarks/world3_size.py FOLDER`` writes ``FOLDER/world3_size.mdl``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SECTORS, STOCKS = 5, 6
PERCEPTION = ("SMOOTH", "SMOOTH3", "DELAY1", "DELAY3")


def _entry(lhs: str, rhs: str, units: str = "", comment: str = "") -> str:
    return f"{lhs} =\n\t{rhs}\n\t~\t{units}\n\t~\t{comment}\n\t|\n"


def model_text() -> str:
    """The model's text (deterministic)."""
    out = ["{UTF-8}\n"]
    for s in range(1, SECTORS + 1):
        nxt = s % SECTORS + 1
        out.append(f"S{s} policy table(\n\t[(1900,0)-(2100,2)],(1900,1),(1970,1.1),(2000,1.3),"
                   "(2050,0.9),(2100,0.8))\n\t~\tDmnl\n\t~\tarbitrary policy path\n\t|\n")
        out.append(_entry(f"S{s} policy", f"S{s} policy table(Time)", "Dmnl"))
        total = " + ".join(f"S{s} stock {i}" for i in range(1, STOCKS + 1))
        out.append(_entry(f"S{s} total", total, "units"))
        for i in range(1, STOCKS + 1):
            n = f"S{s}"
            init = 10 + 3 * i + s
            life = 15 + 5 * ((i + s) % 5)
            perceive = PERCEPTION[(i + s) % len(PERCEPTION)]
            delay = 2 + (i % 4)
            out.append(_entry(f"{n} stock {i}", f"INTEG({n} inflow {i} - {n} outflow {i}, "
                              f"{init})", "units"))
            out.append(_entry(f"{n} lifetime {i}", str(life), "Year"))
            out.append(_entry(f"{n} perceived {i}",
                              f"{perceive}(S{nxt} stock {i}, {delay})", "units"))
            out.append(_entry(f"{n} ratio {i}", f"{n} perceived {i} / {10 + 3 * i + nxt}",
                              "Dmnl"))
            out.append(f"{n} effect table {i}(\n\t[(0,0)-(3,2)],(0,1.6),(0.5,1.3),(1,1),"
                       f"(1.5,0.8),(2,0.6),(3,0.{4 + i % 3}))\n\t~\tDmnl\n\t~\t\n\t|\n")
            out.append(_entry(f"{n} effect {i}", f"{n} effect table {i}({n} ratio {i})", "Dmnl"))
            out.append(_entry(f"{n} inflow {i}", f"{n} stock {i} / {n} lifetime {i} * "
                              f"{n} effect {i} * {n} policy", "units/Year"))
            out.append(_entry(f"{n} outflow {i}", f"{n} stock {i} / {n} lifetime {i}",
                              "units/Year"))
    out.append(_entry("World total", " + ".join(f"S{s} total" for s in range(1, SECTORS + 1)),
                      "units"))
    out.append(_entry("World share of sector 1", "ZIDZ(S1 total, World total)", "Dmnl"))
    for name, value, units in (("FINAL TIME", "2100", "Year"), ("INITIAL TIME", "1900", "Year"),
                               ("SAVEPER", "TIME STEP", "Year"), ("TIME STEP", "0.5", "Year")):
        out.append(_entry(name, value, units))
    out.append("\\\\\\---/// Sketch information - do not modify anything except names\n")
    return "".join(out)


def write_model(folder: Path) -> Path:
    path = Path(folder) / "world3_size.mdl"
    path.write_text(model_text(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_model(Path(sys.argv[1])))
