"""The statistics of the drivers against independent computations (statsmodels, scipy, pandas)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from tests.why.why_logs import team_log

from lastmile.journey import Journey
from lastmile.why import why
from lastmile.why.stats import (
    bh_qvalues,
    fisher_pvalues,
    simes_pvalue,
    two_stage_qvalues,
    wilson_interval,
)

JOURNEY = Journey.from_flags("Start,Offer,Signed", fail="Lost")


@pytest.mark.parametrize("k,n", [(0, 1), (0, 30), (1, 30), (7, 31), (15, 30), (30, 30),
                                 (3, 1000), (997, 1000), (123456, 1000000)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    lo, hi = wilson_interval([k], [n])
    ref_lo, ref_hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo[0] == pytest.approx(ref_lo, abs=1e-12)
    assert hi[0] == pytest.approx(ref_hi, abs=1e-12)


def test_wilson_zero_trials_is_nan() -> None:
    lo, hi = wilson_interval([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_bh_matches_statsmodels_on_random_pvalues() -> None:
    rng = np.random.default_rng(5)
    for m in (1, 2, 7, 50, 400):
        p = np.concatenate([rng.uniform(size=m // 2), rng.uniform(0, 0.01, size=m - m // 2)])
        p[rng.integers(0, m)] = p[0]  # ties
        ref = multipletests(p, alpha=0.05, method="fdr_bh")[1]
        np.testing.assert_allclose(bh_qvalues(p), ref, rtol=0, atol=1e-12)


def test_fisher_matches_scipy() -> None:
    a, n1, c, n2 = [3, 20, 0, 50], [10, 40, 30, 100], [10, 12, 5, 50], [100, 80, 30, 100]
    got = fisher_pvalues(a, n1, c, n2)
    for i in range(4):
        ref = sps.fisher_exact([[a[i], n1[i] - a[i]], [c[i], n2[i] - c[i]]]).pvalue
        assert got[i] == pytest.approx(ref, rel=1e-12)


@pytest.fixture(scope="module")
def team_result():
    df = team_log({"A": (40, 20), "B": (40, 8), "C": (40, 4)})
    return df, why(ibis.memtable(df), JOURNEY, min_support=10)


def test_population_leaves_out_open_cases(team_result) -> None:
    _, d = team_result
    assert d.population == 120  # 3 open cases left out
    assert d.failures == 32
    assert d.baseline == pytest.approx(32 / 120)


def test_rates_lift_interval_and_pvalue_by_hand(team_result) -> None:
    _, d = team_result
    rows = {(r["feature"], r["value"]): r for r in d.drivers}
    a = rows[("team", "A")]
    assert (a["cases"], a["failures"]) == (40, 20)
    assert a["failure_rate"] == pytest.approx(0.5)
    assert a["lift"] == pytest.approx(0.5 / (32 / 120))
    lo, hi = proportion_confint(20, 40, method="wilson")
    assert (a["ci_low"], a["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert a["p_value"] == pytest.approx(sps.fisher_exact([[20, 20], [12, 68]]).pvalue)
    # failures attributable: failures minus what the rest's rate would give
    assert a["failures_attributable"] == pytest.approx(20 - 40 * 12 / 80)
    c = rows[("team", "C")]
    assert c["lift"] == pytest.approx((4 / 40) / (32 / 120))
    assert c["failures_attributable"] < 0


def test_qvalues_are_two_stage_over_distinct_comparisons(team_result) -> None:
    _, d = team_result
    # the resource of Offer splits the cases exactly as the team does: one family, and the two
    # values of a two-valued feature are one comparison
    def key(r: dict) -> tuple[str, str]:
        fam = "team" if r["feature"] == "resource: Offer" else r["feature"]
        n_values = sum(1 for x in d.drivers if x["feature"] == r["feature"])
        return fam, "*" if n_values == 2 else r["value"].removeprefix("rep-")

    keys = [key(r) for r in d.drivers]
    distinct = list(dict.fromkeys(keys))
    p = np.array([next(r["p_value"] for r, k in zip(d.drivers, keys, strict=True) if k == h)
                  for h in distinct])
    fam = np.array([h[0] for h in distinct])
    q = np.array([r["q_value"] for r in d.drivers])
    assert d.features_tested == len(set(fam)) and d.tested == len(d.drivers)
    for alpha in [*sorted(set(q)), 0.05]:
        for a in (alpha * (1 - 1e-9), min(alpha * (1 + 1e-9), 1.0)):
            rejected = dict(zip(distinct, _bb_rejections(p, fam, a), strict=True))
            assert [bool(x <= a) for x in q] == [bool(rejected[k]) for k in keys]
    sig = {(r["feature"], r["value"]) for r in d.drivers if r["significant"]}
    assert sig == {(r["feature"], r["value"]) for r in d.drivers if r["q_value"] <= 0.05}
    assert {r["feature"] for r in d.drivers if r["significant"]} == {"team", "resource: Offer"}


def test_resource_duplicates_team_and_best_driver_first(team_result) -> None:
    _, d = team_result
    top = d.drivers[0]
    assert (top["feature"], top["value"]) in {("team", "A"), ("resource: Offer", "rep-A")}
    assert top["significant"] and top["holds_up"]
    # the resource of Offer is the team: the same cases, named as such
    twin = [r for r in d.drivers if r["value"] == "rep-A" or r["value"] == "A"]
    assert len(twin) == 2
    assert any(r["duplicate_of"] for r in twin)


def test_min_support_drops_small_values() -> None:
    df = team_log({"A": (40, 20), "B": (40, 8), "C": (8, 1)})
    d = why(ibis.memtable(df), JOURNEY, min_support=10)
    values = {(r["feature"], r["value"]) for r in d.drivers}
    assert ("team", "C") not in values and ("team", "A") in values
    d2 = why(ibis.memtable(df), JOURNEY, min_support=5)
    assert ("team", "C") in {(r["feature"], r["value"]) for r in d2.drivers}


def test_to_frame_json_and_schema(team_result) -> None:
    import json

    _, d = team_result
    data = json.loads(d.to_json())
    assert data["schema"] == "lastmile.why/1"
    for key in ("feature", "value", "failure_rate", "ci_low", "ci_high", "baseline", "lift",
                "cases", "failures", "q_value", "holds_up"):
        assert key in data["drivers"][0]
    frame = d.to_frame()
    assert list(frame["feature"]) == [r["feature"] for r in d.drivers]
    assert isinstance(frame, pd.DataFrame) and len(frame) == d.tested
    assert "failed there" in d.summary


def _bb_rejections(p: np.ndarray, fam: np.ndarray, alpha: float) -> np.ndarray:
    """The Benjamini–Bogomolov procedure at level ``alpha``, step by step with statsmodels."""
    keys = sorted(set(fam))
    simes = []
    for f in keys:
        pf = np.sort(p[fam == f])
        simes.append(min(1.0, float(np.min(pf * len(pf) / np.arange(1, len(pf) + 1)))))
    selected = multipletests(simes, alpha=alpha, method="fdr_bh")[0]
    r, m = int(selected.sum()), len(keys)
    out = np.zeros(p.shape, dtype=bool)
    for f, sel in zip(keys, selected, strict=True):
        if sel:
            idx = np.flatnonzero(fam == f)
            out[idx] = multipletests(p[idx], alpha=alpha * r / m, method="fdr_bh")[0]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_stage_qvalues_match_the_procedure_at_every_level(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fam = rng.choice(list("abcdefghij"), size=60)
    p = np.where(rng.random(60) < 0.3, rng.uniform(0, 0.004, 60), rng.uniform(size=60))
    p[5] = p[6]  # ties
    q, fq = two_stage_qvalues(p, fam)
    for f in set(fam):  # the family q-value is BH over the Simes p-values
        assert len(set(fq[fam == f])) == 1
    levels = sorted(set(np.round(q, 12)) | {0.01, 0.05, 0.1, 0.2})
    for alpha in levels:
        for a in (alpha * (1 - 1e-9), min(alpha * (1 + 1e-9), 1.0)):
            np.testing.assert_array_equal(q <= a, _bb_rejections(p, fam, a), err_msg=str(a))


def test_simes_is_bh_rejecting_anything() -> None:
    rng = np.random.default_rng(9)
    for _ in range(200):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 8))
        for alpha in (0.01, 0.05):
            assert (simes_pvalue(p) <= alpha) == multipletests(p, alpha, "fdr_bh")[0].any()
