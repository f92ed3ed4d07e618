"""Fit statistics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sd.analysis.fitstats import fit_stats, mape, r2, rmse, theil

OBS = np.array([1.0, 2.0, 3.0, 4.0])
SIM = np.array([2.0, 2.0, 4.0, 6.0])


def test_hand_computed_case():
    # errors 1, 0, 1, 2 -> MSE = 6/4 = 1.5
    assert rmse(SIM, OBS) == pytest.approx(np.sqrt(1.5))
    assert mape(SIM, OBS) == pytest.approx((1 + 0 + 1 / 3 + 0.5) / 4)
    # means 3.5 and 2.5 -> bias 1; population stds sqrt(2.75) and sqrt(1.25)
    ss, so = np.sqrt(2.75), np.sqrt(1.25)
    um, us, uc = theil(SIM, OBS)
    assert um == pytest.approx(1 / 1.5)
    assert us == pytest.approx((ss - so) ** 2 / 1.5)
    cov = np.mean((SIM - 3.5) * (OBS - 2.5))  # 1.5
    r = cov / (ss * so)
    assert uc == pytest.approx(2 * (1 - r) * ss * so / 1.5)
    assert um + us + uc == pytest.approx(1.0, abs=1e-12)
    assert r2(SIM, OBS) == pytest.approx(r**2)


@pytest.mark.parametrize("seed", range(5))
def test_theil_components_sum_to_one(seed):
    rng = np.random.default_rng(seed)
    obs = rng.normal(10, 2, 30)
    sim = 0.8 * obs + rng.normal(1, 1, 30)
    s = fit_stats(sim, obs)
    assert s.um + s.us + s.uc == pytest.approx(1.0, abs=1e-12)
    assert s.mse == pytest.approx(s.rmse**2)


def test_pure_bias_and_pure_scale():
    assert theil(OBS + 2, OBS) == pytest.approx((1.0, 0.0, 0.0))
    mean = OBS.mean()
    stretched = mean + 2 * (OBS - mean)  # same mean, perfectly correlated, larger spread
    assert theil(stretched, OBS) == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)
    assert theil(OBS, OBS) == (0.0, 0.0, 0.0)


def test_missing_values_are_skipped_and_lengths_checked():
    sim = np.array([1.0, np.nan, 3.0])
    obs = np.array([1.0, 2.0, 4.0])
    assert fit_stats(sim, obs).n == 2
    with pytest.raises(ValueError, match="differ in length"):
        rmse([1, 2], [1, 2, 3])
