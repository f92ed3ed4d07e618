"""sd.engine.interpolation: the lookup and data rules every engine shares.

Hand-computed values on one table, then every shape (floats on lists, one table for all
runs, one table per run, subscripted cells) against ``numpy.interp`` bit for bit on
random tables (seeded), including tables whose formula needs numpy's NaN fallbacks.
"""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from sd.engine import interpolation as ip

# a table with a rising and a falling segment: slopes 10 and (4 - 10) / 2 = -3
XP, FP = [0.0, 1.0, 3.0], [0.0, 10.0, 4.0]
HAND = {  # x: (interpolate, hold_backward, extrapolate), by hand from XP, FP
    -1.0: (0.0, 0.0, -10.0),  # below: first y held; extrapolated 0 + 10 * (-1)
    0.0: (0.0, 0.0, 0.0),
    0.5: (5.0, 0.0, 5.0),  # 10 * 0.5
    1.0: (10.0, 10.0, 10.0),
    2.0: (7.0, 10.0, 7.0),  # -3 * (2 - 1) + 10
    2.5: (5.5, 10.0, 5.5),  # -3 * 1.5 + 10
    3.0: (4.0, 4.0, 4.0),
    5.0: (4.0, 4.0, -2.0),  # above: last y held; extrapolated 4 + (-3) * 2
}
# the same numbers as a data series by time, every keyword (NaN: raw off the times)
DATA_HAND = {  # t: (interpolate, look_forward, hold_backward, raw)
    -1.0: (0.0, 0.0, 0.0, np.nan),
    0.0: (0.0, 0.0, 0.0, 0.0),
    0.5: (5.0, 10.0, 0.0, np.nan),
    1.0: (10.0, 10.0, 10.0, 10.0),
    2.0: (7.0, 4.0, 10.0, np.nan),
    3.0: (4.0, 4.0, 4.0, 4.0),
    5.0: (4.0, 4.0, 4.0, np.nan),
}
MODES = ("interpolate", "look_forward", "hold_backward", "raw")


def same(a: object, b: object) -> bool:
    """Equal bit for bit (NaN equals NaN; 0.0 and -0.0 differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    nan = np.isnan(a)
    bits_a, bits_b = a[~nan].view(np.int64), b[~nan].view(np.int64)
    return bool((nan == np.isnan(b)).all() and (bits_a == bits_b).all())


@pytest.mark.parametrize("x", list(HAND))
def test_lookup_by_hand_every_shape(x: float) -> None:
    want, want_hold, want_extra = HAND[x]
    xp, fp = np.array(XP), np.array(FP)
    ar = np.arange(2)
    assert ip.interp1(x, XP, FP) == want
    assert ip.lookup1(XP, FP)(x) == want
    assert ip.interp(x, xp, fp) == want
    assert ip.interp_rows(np.full(2, x), xp, np.array([FP, FP]), ar).tolist() == [want] * 2
    cells = ip.interp_cells(np.full((1, 2), x), xp, np.array([FP, FP]).T)
    assert cells.tolist() == [[want, want]]
    assert ip.lookup_value1(x, XP, FP, "interpolate") == want
    assert ip.hold1(x, XP, FP) == want_hold
    assert ip.hold(x, xp, fp) == want_hold
    assert ip.hold_rows(np.full(2, x), xp, np.array([FP, FP]), ar).tolist() == [want_hold] * 2
    assert ip.lookup_value1(x, XP, FP, "hold_backward") == want_hold
    assert ip.extrapolate1(x, XP, FP) == want_extra
    assert ip.lookup_value1(x, XP, FP, "extrapolate") == want_extra


@pytest.mark.parametrize("t", list(DATA_HAND))
@pytest.mark.parametrize("mode", MODES)
def test_data_by_hand_every_shape(t: float, mode: str) -> None:
    want = DATA_HAND[t][MODES.index(mode)]
    tp, fp = np.array(XP), np.array(FP)
    ar = np.arange(3)
    assert same(ip.data1(t, XP, FP, mode), want)
    assert same(ip.data(t, tp, fp, mode), want)
    assert same(ip.data_rows(t, tp, np.array([FP] * 3), mode, ar), [want] * 3)
    assert same(ip.data_cells(t, tp, np.array([FP] * 2).T, mode), [[want, want]])


def test_per_run_tables_are_each_runs_own() -> None:
    """Run 0 has the hand table, run 1 the same x with y doubled: 2 * the hand value."""
    xp, fp = np.array(XP), np.array([FP, [2 * y for y in FP]])
    xs = np.array([2.0, 2.5])
    assert ip.interp_rows(xs, xp, fp, np.arange(2)).tolist() == [7.0, 11.0]
    assert ip.hold_rows(xs, xp, fp, np.arange(2)).tolist() == [10.0, 20.0]
    assert ip.data_rows(2.0, xp, fp, "interpolate", np.arange(2)).tolist() == [7.0, 14.0]


def test_numpy_edge_cases() -> None:
    # NaN x gives NaN; a table of one point gives its y at any x, NaN too (numpy's rule)
    assert np.isnan(ip.interp1(np.nan, XP, FP)) and np.isnan(ip.lookup1(XP, FP)(np.nan))
    assert np.isnan(ip.interp_rows(np.array([np.nan]), np.array(XP), np.array([FP]),
                                   np.arange(1))[0])
    for x in (np.nan, -5.0, 5.0):
        assert ip.interp1(x, [1.0], [3.0]) == 3.0 == np.interp(x, [1.0], [3.0])
        assert ip.lookup1([1.0], [3.0])(x) == 3.0
        assert ip.interp_rows(np.array([x]), np.array([1.0]), np.array([[3.0]]),
                              np.arange(1)).tolist() == [3.0]
        assert ip.interp_cells(np.array([[x]]), np.array([1.0]), np.array([[3.0]])).tolist() == [
            [3.0]
        ]
    # a point gives its y itself: -0.0 stays -0.0 (0 * slope + y would give +0.0)
    assert np.signbit(ip.interp1(0.0, [0.0, 1.0], [-0.0, 1.0]))
    assert np.signbit(ip.interp_cells(np.array([[0.0]]), np.array([0.0, 1.0]),
                                      np.array([[-0.0], [1.0]]))[0, 0])
    # a repeated x: the last of the equal points, as numpy
    assert ip.interp1(1.0, [0.0, 1.0, 1.0, 2.0], [0.0, 5.0, 7.0, 9.0]) == 7.0
    assert ip.hold1(1.0, [0.0, 1.0, 1.0, 2.0], [0.0, 5.0, 7.0, 9.0]) == 7.0
    # infinite y: slope inf * 0.5 = inf; then inf - inf is NaN, numpy's flat-segment rule
    # gives inf; the falling segment's NaN is computed from its other end: inf
    xp, fp = [0.0, 1.0, 2.0, 3.0], [0.0, np.inf, np.inf, 1.0]
    with np.errstate(invalid="ignore"):
        for x in (0.5, 1.5, 2.5):
            assert ip.interp1(x, xp, fp) == np.inf == np.interp(x, xp, fp)
            assert ip.lookup1(xp, fp)(x) == np.inf


def _tables(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    tables = []
    for m in (1, 2, 3, 7, 25):
        for _ in range(4):
            xp = np.sort(rng.uniform(-10, 10, m))
            tables.append((xp, rng.normal(0, 100, m)))
    xp = np.array([0.0, 1.0, 1.0, 2.0, 5.0])  # repeated x
    tables.append((xp, rng.normal(size=5)))
    tables.append((np.arange(5.0), np.array([0.0, np.inf, np.inf, -np.inf, 1.0])))
    return tables


def _xs(rng: np.random.Generator, xp: np.ndarray) -> np.ndarray:
    inside = rng.uniform(xp[0] - 3, xp[-1] + 3, 200)
    return np.concatenate([inside, xp, [np.nan, np.inf, -np.inf]])


def test_every_lookup_shape_equals_numpy_on_random_tables() -> None:
    rng = np.random.default_rng(20240612)
    with np.errstate(invalid="ignore"):
        for xp, fp in _tables(rng):
            xs = _xs(rng, xp)
            want = np.interp(xs, xp, fp)
            lx, ly = xp.tolist(), fp.tolist()
            fn = ip.lookup1(lx, ly)
            assert same([ip.interp1(x, lx, ly) for x in xs.tolist()], want)
            assert same([fn(x) for x in xs.tolist()], want)
            assert same([ip.interp(x, xp, fp) for x in xs], want)
            # rows: run i has fp scaled by i (0 gives the zero table), x per run
            n = len(xs)
            scale = np.arange(n, dtype=np.float64)[:, None]
            rows = fp[None, :] * scale
            want_rows = [np.interp(xs[i], xp, rows[i]) for i in range(n)]
            assert same(ip.interp_rows(xs, xp, rows, np.arange(n)), want_rows)
            # cells: 3 cells with their own y, x over runs broadcast along the cells
            tab = np.stack([fp, -fp, 2 * fp], axis=1)
            got = ip.interp_cells(xs[:, None], xp, tab)
            want_cells = np.stack([np.interp(xs, xp, tab[:, c]) for c in range(3)], axis=1)
            assert same(got, want_cells)


def _hold_reference(x: float, xp: list[float], fp: list[float]) -> float:
    """The y of the last point at or before x; the first y before the table."""
    before = [y for px, y in zip(xp, fp, strict=True) if px <= x]
    return before[-1] if before else fp[0]


def test_hold_backward_shapes_on_random_tables() -> None:
    rng = np.random.default_rng(7)
    for xp, fp in _tables(rng):
        xs = _xs(rng, xp)[:-3]  # not NaN: "at or before" has no meaning there
        lx, ly = xp.tolist(), fp.tolist()
        want = [_hold_reference(x, lx, ly) for x in xs.tolist()]
        assert same([ip.hold1(x, lx, ly) for x in xs.tolist()], want)
        assert same(ip.hold(xs, xp, fp), want)
        rows = np.broadcast_to(fp, (len(xs), len(fp)))
        assert same(ip.hold_rows(xs, xp, rows, np.arange(len(xs))), want)


def _data_reference(t: float, tp: list[float], fp: list[float], mode: str) -> float:
    if t in tp:
        return fp[tp.index(t)]
    if mode == "raw":
        return np.nan
    if mode == "interpolate":
        return float(np.interp(t, tp, fp))
    after = [y for pt, y in zip(tp, fp, strict=True) if pt >= t]
    if mode == "look_forward":
        return after[0] if after else fp[-1]
    return _hold_reference(t, tp, fp)


@pytest.mark.parametrize("mode", MODES)
def test_data_shapes_on_random_series(mode: str) -> None:
    rng = np.random.default_rng(11)
    for m in (1, 2, 5, 30):
        tp = np.unique(rng.uniform(1990, 2050, m).round(2))
        fp = rng.normal(0, 50, (len(tp), 2))
        lt = tp.tolist()
        times = np.concatenate([np.arange(1985.0, 2055.0, 0.25), tp])
        for t in times.tolist():
            want = [_data_reference(t, lt, fp[:, c].tolist(), mode) for c in range(2)]
            assert same([ip.data1(t, lt, fp[:, c].tolist(), mode) for c in range(2)], want)
            assert same([ip.data(t, tp, fp[:, c], mode) for c in range(2)], want)
            assert same(ip.data_rows(t, tp, fp.T, mode, np.arange(2)), want)
            assert same(ip.data_cells(t, tp, fp, mode), [want])


def test_data_case_names_the_rule() -> None:
    tp = [0.0, 1.0, 3.0]
    assert ip.data_case(1.0, tp, "raw") == (ip.AT, 1)
    assert ip.data_case(2.0, tp, "raw") == (ip.NAN, 2)
    assert ip.data_case(2.0, tp, "interpolate") == (ip.BETWEEN, 2)
    assert ip.data_case(2.0, tp, "look_forward") == (ip.AT, 2)
    assert ip.data_case(2.0, tp, "hold_backward") == (ip.AT, 1)
    assert ip.data_case(9.0, tp, "look_forward") == (ip.AT, 2)
    assert ip.data_case(-9.0, tp, "hold_backward") == (ip.AT, 0)


def test_bisect_is_numpys_searchsorted() -> None:
    """The segment index of the float forms (bisect) is the arrays' (searchsorted)."""
    rng = np.random.default_rng(3)
    xp = np.sort(rng.integers(0, 6, 12).astype(np.float64))  # many repeated points
    for x in np.arange(-1.0, 7.0, 0.5):
        assert bisect.bisect_right(xp.tolist(), x) == np.searchsorted(xp, x, side="right")
        assert bisect.bisect_left(xp.tolist(), x) == np.searchsorted(xp, x, side="left")


def test_subscripted_data_interpolate_as_pysds_xarray() -> None:
    """PySD interpolates data between times with ``DataArray.interp``; cells and series
    give its numbers bit for bit (the formula ``y0 + (y1 - y0) * w`` did not, ~half the
    times of this series)."""
    xr = pytest.importorskip("xarray")
    rng = np.random.default_rng(5)
    tp = np.sort(rng.uniform(0, 10, 6))
    fp = rng.normal(size=(6, 3))
    cells = xr.DataArray(fp, dims=("time", "d"), coords={"time": tp})
    for t in rng.uniform(tp[0], tp[-1], 200).tolist():
        want = cells.interp(time=t).values
        assert same(ip.data_cells(t, tp, fp, "interpolate")[0], want)
        assert same(ip.data1(t, tp.tolist(), fp[:, 0].tolist(), "interpolate"), want[0])
