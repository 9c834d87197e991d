"""The multivariate check: a driver that only rides on another is explained away, and named."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from lastmile.journey import Journey
from lastmile.why import why

J = Journey.from_dict({"stages": ["Start", "Offer", "Signed"], "failure": ["Lost"],
                       "value": "amount"})


def _confounded_log(n: int = 4000, seed: int = 1) -> pd.DataFrame:
    """``region`` North triples failure; ``team`` T1 works mostly in the North but has no
    effect of its own; ``colour`` is noise."""
    rng = np.random.default_rng(seed)
    north = rng.random(n) < 0.3
    team = np.where(rng.random(n) < np.where(north, 0.8, 0.1), "T1", "T2")
    colour = rng.choice(["red", "blue"], n)
    fail = rng.random(n) < np.where(north, 0.3, 0.1)
    amount = np.round(rng.uniform(100, 200, n), 2)
    t0 = datetime(2024, 1, 1)
    rows = []
    for i in range(n):
        t = t0 + timedelta(minutes=10 * i)  # all entries in one month
        base = {"case_id": f"c{i:05d}", "region": "North" if north[i] else "South",
                "team": team[i], "colour": colour[i], "amount": amount[i], "resource": None}
        rows.append({**base, "activity": "Start", "timestamp": t})
        rows.append({**base, "activity": "Offer", "timestamp": t + timedelta(days=1)})
        rows.append({**base, "activity": "Lost" if fail[i] else "Signed",
                     "timestamp": t + timedelta(days=2)})
    df = pd.DataFrame(rows)
    df["event_index"] = range(len(df))
    return df


@pytest.fixture(scope="module")
def result():
    df = _confounded_log()
    return df, why(ibis.memtable(df), J)


def test_confounded_driver_is_explained_away(result) -> None:
    _, d = result
    rows = {(r["feature"], r["value"]): r for r in d.drivers}
    north, t1 = rows[("region", "North")], rows[("team", "T1")]
    assert north["significant"] and north["holds_up"]
    assert t1["significant"] and t1["lift"] > 1.3  # marginally a strong driver...
    assert not t1["holds_up"]  # ...that does not hold up
    assert t1["confounder"] == "region = North"
    assert 0.8 < t1["adjusted_odds_ratio"] < 1.25
    assert north["adjusted_odds_ratio"] > 3
    assert d.drivers[0]["feature"] == "region"


def test_adjusted_odds_ratio_matches_case_level_logit(result) -> None:
    import statsmodels.api as sm

    df, d = result
    cases = df[df.activity.isin(["Lost", "Signed"])]
    X = pd.DataFrame({"north": (cases.region == "North").astype(float),
                      "t1": (cases.team == "T1").astype(float)})
    y = (cases.activity == "Lost").astype(float)
    fit = sm.Logit(y.to_numpy(), sm.add_constant(X.to_numpy())).fit(disp=0)
    rows = {(r["feature"], r["value"]): r for r in d.drivers}
    sig = {(r["feature"], r["value"]) for r in d.drivers if r["significant"]}
    assert sig == {("region", "North"), ("region", "South"), ("team", "T1"), ("team", "T2")}
    # so the model of why() has the indicators North and T1 (South and T2 are complements)
    assert rows[("region", "North")]["adjusted_odds_ratio"] == pytest.approx(
        np.exp(fit.params[1]), rel=1e-4)
    assert rows[("team", "T1")]["adjusted_odds_ratio"] == pytest.approx(
        np.exp(fit.params[2]), rel=1e-4)


def test_noise_is_not_a_driver_and_value_lost(result) -> None:
    df, d = result
    colour = [r for r in d.drivers if r["feature"] == "colour"]
    assert colour and not any(r["significant"] for r in colour)
    north = next(r for r in d.drivers if r["feature"] == "region" and r["value"] == "North")
    cases = df[df.activity.isin(["Lost", "Signed"])]
    lost_north = cases[(cases.region == "North") & (cases.activity == "Lost")].amount.sum()
    rest = cases[cases.region != "North"]
    r_rest = (rest.activity == "Lost").mean()
    share = 1 - r_rest / north["failure_rate"]
    assert north["value_lost_attributable"] == pytest.approx(lost_north * share, rel=1e-9)
