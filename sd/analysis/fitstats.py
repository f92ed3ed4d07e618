"""Goodness-of-fit statistics for model-versus-data comparisons.

The statistics system-dynamics practice reports (Sterman 1984, "Appropriate
summary statistics for evaluating the historical fit of system dynamics models",
Dynamica 10(2)): R², MAPE, RMSE and Theil's inequality decomposition of the mean
squared error into bias (U^M), unequal variation (U^S) and unequal covariation (U^C).
All functions take the simulated and the recorded values at the same times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FitStats:
    """Fit of one series. ``mape`` is a fraction (0.05 = 5%); ``rmse`` in the series' units."""

    n: int
    r2: float
    mape: float
    rmse: float
    mse: float
    um: float  #: bias share of MSE
    us: float  #: unequal-variation share of MSE
    uc: float  #: unequal-covariation share of MSE

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _pair(sim, obs) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(sim, dtype=float)
    o = np.asarray(obs, dtype=float)
    if s.shape != o.shape:
        raise ValueError(f"simulated and observed differ in length: {s.shape} vs {o.shape}")
    keep = np.isfinite(s) & np.isfinite(o)
    return s[keep], o[keep]


def rmse(sim, obs) -> float:
    """Root mean squared error, in the series' units."""
    s, o = _pair(sim, obs)
    return float(np.sqrt(np.mean((s - o) ** 2)))


def mape(sim, obs) -> float:
    """Mean absolute percentage error as a fraction (observations equal to 0 are skipped)."""
    s, o = _pair(sim, obs)
    keep = o != 0
    return float(np.mean(np.abs((s[keep] - o[keep]) / o[keep])))


def r2(sim, obs) -> float:
    """Squared correlation coefficient between simulated and observed (Sterman's R²)."""
    s, o = _pair(sim, obs)
    if s.std() == 0 or o.std() == 0:
        return float("nan")
    return float(np.corrcoef(s, o)[0, 1] ** 2)


def theil(sim, obs) -> tuple[float, float, float]:
    """Theil's decomposition (U^M, U^S, U^C) of the MSE; the three sum to 1.

    ``MSE = (mean_s - mean_o)² + (std_s - std_o)² + 2 (1 - r) std_s std_o``, with
    population standard deviations and ``r`` the correlation coefficient.
    """
    s, o = _pair(sim, obs)
    mse = np.mean((s - o) ** 2)
    if mse == 0:
        return (0.0, 0.0, 0.0)
    ss, so = s.std(), o.std()
    r = np.corrcoef(s, o)[0, 1] if ss > 0 and so > 0 else 0.0
    um = (s.mean() - o.mean()) ** 2 / mse
    us = (ss - so) ** 2 / mse
    uc = 2 * (1 - r) * ss * so / mse
    return (float(um), float(us), float(uc))


def fit_stats(sim, obs) -> FitStats:
    """All of the above for one series."""
    s, o = _pair(sim, obs)
    um, us, uc = theil(s, o)
    return FitStats(
        n=int(s.size),
        r2=r2(s, o),
        mape=mape(s, o),
        rmse=rmse(s, o),
        mse=float(np.mean((s - o) ** 2)),
        um=um,
        us=us,
        uc=uc,
    )
