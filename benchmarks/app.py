"""Policy simulator latency: from a lever change to new results, as the server computes them.

Usage: python benchmarks/app.py [STUDY.toml] [--moves N]

Prints, in one process, for the study (default: the main Kuzbass study):
  * one slider move: settings checked, the scenario compiled, one vectorized run, the JSON
    the page receives (what /api/run does, without the network), median and worst of N;
  * the same request over HTTP on loopback (tornado server in a thread);
  * the uncertainty band (/api/band: a 200-run vectorized ensemble), median of 3 after the
    first (compiling) call.
Targets (issue 16): 0.3 s for a move, 2 s for the band, on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from pathlib import Path

from sd.app.server import Server
from sd.app.session import AppSession, floats

ROOT = Path(__file__).resolve().parent.parent


def one_move(session: AppSession, raw: dict) -> str:
    settings = session.settings(raw)
    values = session.run(settings)
    payload = {
        "times": floats(session.times),
        "series": {v: floats(values[v]) for v in session.variables},
        "base": {v: floats(session.base_values[v]) for v in session.variables},
        "indicators": session.indicators(values),
    }
    return json.dumps(payload, ensure_ascii=False, allow_nan=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default=str(ROOT / "forecasts" / "kuzbass.toml"))
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    session = AppSession.open(args.study)
    print(f"open {Path(args.study).name}: {time.perf_counter() - t0:.2f} s (once, at start)")
    lever = session.levers[-1]
    moves = [
        {"levers": {lever.name: lever.low + (lever.high - lever.low) * k / args.moves}}
        for k in range(args.moves)
    ]
    one_move(session, moves[0])  # warm-up
    times = []
    for raw in moves:
        t = time.perf_counter()
        one_move(session, raw)
        times.append(time.perf_counter() - t)
    print(
        f"lever move (engine + JSON), {args.moves} moves of '{lever.name}': "
        f"median {statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms"
    )

    server = Server(session).start()
    try:
        http = []
        for raw in moves[:10]:
            req = urllib.request.Request(
                server.url + "api/run",
                data=json.dumps(raw).encode(),
                headers={"Content-Type": "application/json"},
            )
            t = time.perf_counter()
            with urllib.request.urlopen(req, timeout=60) as resp:
                resp.read()
            http.append(time.perf_counter() - t)
    finally:
        server.stop()
    print(f"lever move over HTTP (loopback): median {statistics.median(http) * 1000:.1f} ms")

    if session.study.uncertainty is not None:
        settings = session.settings({})
        t = time.perf_counter()
        session.band(settings)
        first = time.perf_counter() - t
        band = []
        for _ in range(3):
            t = time.perf_counter()
            session.band(settings)
            band.append(time.perf_counter() - t)
        print(
            f"uncertainty band ({len(session._sample().values)} runs): first {first:.2f} s, "
            f"then median {statistics.median(band):.2f} s"
        )
    print(f"move latency: {statistics.median(times) * 1000:.0f} ms (target 300 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
