"""The vectorised band equals lifelines' own (row-by-row) Aalen–Johansen band."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from lifelines import AalenJohansenFitter

from lastmile.timing import _aj_band


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_band_equals_lifelines(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    t = rng.exponential(50, n) + rng.random(n)  # distinct times (lifelines jitters ties)
    code = rng.choice([0, 1, 2], size=n, p=[0.2, 0.55, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aj = AalenJohansenFitter(seed=0, alpha=0.05).fit(t, code, event_of_interest=1)
    f = aj.cumulative_density_.iloc[:, 0].to_numpy()
    ci = aj.confidence_interval_.reindex(aj.event_table.index).to_numpy()
    lower, upper = _aj_band(aj.event_table, f, 0.05)
    theirs_low, theirs_up = np.fmin(ci[:, 0], ci[:, 1]), np.fmax(ci[:, 0], ci[:, 1])
    ok = ~np.isnan(theirs_low)
    assert ok.sum() > 100
    np.testing.assert_allclose(lower[ok], theirs_low[ok], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(upper[ok], theirs_up[ok], rtol=1e-9, atol=1e-12)
