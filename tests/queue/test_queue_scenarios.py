"""Must-show 3, light: on a demo scenario the top tenth of the queue fails far more often.

The full sweep (six scenarios, default sizes, six moments each) is
``bench/queue_scenarios.py``; its table is ``bench/RESULTS.md``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "queue_scenarios.py"


def _bench():
    spec = importlib.util.spec_from_file_location("queue_scenarios", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_top_tenth_of_the_queue_fails_more_often():
    r = _bench().run("telecom", cases=2000, seed=0, dates=3)
    assert r["recent_cases"] >= 60 and r["failures"] >= 10
    assert r["top_tenth_no_value_fail_rate"] >= 1.5 * r["fail_rate"]
    assert r["ok"]
    assert r["auc_risk"] > 0.6
    assert 0.0 <= r["auc_oracle"] <= 1.0  # reported next to it
    # and the gap to the knowable oracle, with a paired interval around it
    d, lo, hi = r["auc_risk_minus_knowable"]
    assert d == pytest.approx(r["auc_risk"] - r["auc_oracle_knowable"], abs=1.5e-3)
    assert lo <= d <= hi and hi - lo > 0
    # the moment-by-moment rows add up to the pooled figures
    ms = r["moments"]
    assert len(ms) == 3 and [m["as_of"] for m in ms] == sorted(m["as_of"] for m in ms)
    assert sum(m["recent_cases"] for m in ms) == r["recent_cases"]
    assert sum(m["failures"] for m in ms) == r["failures"]
    assert all(0 <= m["train_failed"] <= m["train_cases"] for m in ms)
    tops = [math.ceil(0.1 * m["recent_cases"]) for m in ms]
    pooled = sum(m["lift_no_value"] * m["fail_rate"] * n for m, n in zip(ms, tops, strict=True))
    assert pooled / sum(tops) == pytest.approx(r["top_tenth_no_value_fail_rate"], abs=0.006)
    table = _bench().moments_markdown([r])
    assert table.count("| telecom |") == 3


def test_oracle_score_multiplies_the_planted_effects():
    bench = _bench()
    truth = {"causes": [{"cases": ["a", "b"], "effect": 2.0}, {"cases": ["b"], "effect": 1.5}]}
    import pandas as pd

    got = bench.oracle_scores(truth, pd.Series(["a", "b", "c"]))
    assert np.allclose(got, [2.0, 3.0, 1.0])


def test_noise_reason_share_counts_reasons_that_cite_irrelevant_attributes():
    import pandas as pd

    details = pd.Series([
        [{"feature": "last_age"}, {"feature": "idle_hours"}],  # age: irrelevant
        [{"feature": "mean_minutes_talked"}],                    # irrelevant
        [{"feature": "resource_at_Door_knock"}, {"feature": "last_first_time_voter"}],
        [],
    ])
    share = _bench().noise_reason_share(details, ["age", "minutes_talked"])
    assert share == 2 / 5
    assert np.isnan(_bench().noise_reason_share(pd.Series([[]]), ["age"]))


def test_top_rate_shares_ties_at_the_cut_off():
    top_rate = _bench().top_rate
    score = np.array([5.0, 4.0, 4.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    failed = np.array([1, 1, 1, 0, 0, 0, 0, 1, 0, 0])
    # top 20 %: the 5 (failed) and one of the three 4s (two of three failed) -> (1 + 2/3) / 2
    assert np.isclose(top_rate(score, failed, share=0.2), (1 + 2 / 3) / 2)
    # the same rate whatever the order of the tied rows
    order = np.array([0, 3, 2, 1, 9, 8, 7, 6, 5, 4])
    assert np.isclose(top_rate(score[order], failed[order], share=0.2), (1 + 2 / 3) / 2)
    # top tenth of 10 rows is one row; at least one row even for a tiny share
    assert top_rate(score, failed, share=0.1) == 1.0
    assert top_rate(score, failed, share=0.001) == 1.0
    # one tie group only: the overall rate
    assert np.isclose(top_rate(np.ones(10), failed, share=0.3), failed.mean())


def test_lift_interval_is_a_bootstrap_within_each_moment():
    # two moments of a queue in its own order; the interval must equal a plain bootstrap
    # that materialises each moment's drawn rows and takes their top tenth with tenth()
    import pandas as pd

    b = _bench()
    rng = np.random.default_rng(4)
    groups = []
    for size, rate in ((37, 0.2), (58, 0.1)):
        score = np.round(rng.random(size), 1)  # ties, kept in the queue's order
        failed = (rng.random(size) < rate * (1 + 2 * score)).astype(int)
        groups.append(pd.DataFrame({"risk_urgency": score, "failed": failed}))
    lo, hi = b.lift_interval(groups, "risk_urgency", level=0.8, n_boot=300, seed=9)
    draw = np.random.default_rng(9)
    lifts = []
    for _ in range(300):
        tops, alls = [], []
        for g in groups:
            picked = g.iloc[np.sort(draw.integers(0, len(g), len(g)))]
            tops.append(b.tenth(picked, "risk_urgency")["failed"])
            alls.append(picked["failed"])
        lifts.append(pd.concat(tops).mean() / pd.concat(alls).mean())
    assert np.allclose([lo, hi], np.quantile(lifts, [0.1, 0.9]))
    point = (pd.concat([b.tenth(g, "risk_urgency")["failed"] for g in groups]).mean()
             / pd.concat([g["failed"] for g in groups]).mean())
    assert lo < point < hi
    # no failure anywhere: no interval
    none = [g.assign(failed=0) for g in groups]
    assert all(math.isnan(v) for v in b.lift_interval(none, "risk_urgency", n_boot=5))
