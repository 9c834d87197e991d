"""The planted causes are really in the simulated logs, by the factor truth.json states.

Everything here is computed from the raw event table with plain pandas, reading only the
journey YAML and the `rule` of each cause in truth.json — never the simulator's internals.
For each cause we estimate the risk ratio of last-mile failure (exposed vs not) with a
99.7 % confidence interval (z = 3) and require the stated factor inside it and 1 outside it;
in the `--null` logs the interval must contain 1.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from lastmile.demo import SCENARIOS, generate

Z = 3.0
OPS = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
       ">=": operator.ge, "<=": operator.le}
# sizes at which every interval is reasonably tight and the whole file runs in seconds
SIZES = {"telecom": 40000, "marathon": 60000, "campaign": 120000, "carsales": 60000,
         "school": 50000, "weightloss": 20000}


def parse_duration(text: str) -> pd.Timedelta:
    unit = {"d": "D", "h": "h", "m": "min", "s": "s", "w": "W"}[text[-1]]
    return pd.Timedelta(float(text[:-1]), unit=unit)


def first_time(events: pd.DataFrame, activities: list[str]) -> pd.Series:
    sub = events[events["activity"].isin(activities)]
    return sub.groupby("case_id")["timestamp"].min()


def last_mile_outcomes(events: pd.DataFrame, journey: dict, truth: dict) -> pd.DataFrame:
    """Per case that entered the last mile with complete follow-up: entry, finished, failed."""
    names = [s["name"] for s in journey["stages"]]
    lm_at = names.index(journey["last_mile"])
    fin_at = names.index(journey["finish"])
    lm_acts = [a for s in journey["stages"][lm_at:] for a in s["activities"]]
    fin_acts = [a for s in journey["stages"][fin_at:fin_at + 1] for a in s["activities"]]
    entry = first_time(events, lm_acts).rename("entry")
    out = entry.to_frame()
    out["finish_time"] = first_time(events, fin_acts)
    out["finished"] = out["finish_time"].notna()
    out["reversed"] = False
    rev = journey.get("reversal")
    if rev:
        window = parse_duration(rev["window"])
        r = events[events["activity"].isin(rev["activities"])][["case_id", "timestamp"]]
        r = r.merge(out["finish_time"].reset_index(), on="case_id")
        ok = (r["timestamp"] >= r["finish_time"]) & (r["timestamp"] <= r["finish_time"] + window)
        out.loc[out.index.isin(r.loc[ok, "case_id"]), "reversed"] = True
    out["failed"] = ~out["finished"] | out["reversed"]
    cutoff = pd.Timestamp(truth["follow_up_complete_before"])
    return out[out["entry"] <= cutoff]


def case_column(events: pd.DataFrame, column: str) -> pd.Series:
    return events.groupby("case_id")[column].first()


def exposure(events: pd.DataFrame, rule: dict[str, Any], cases: pd.Index) -> pd.Series:
    """Whether each case has the cause, computed from the raw log by the cause's rule."""
    kind = rule["type"]
    if kind == "attribute":
        values = case_column(events, rule["column"]).reindex(cases)
        return OPS[rule["op"]](values, rule["value"]).fillna(False).astype(bool)
    if kind == "resource":
        res = events[events["activity"] == rule["activity"]].groupby("case_id")["resource"].first()
        return OPS[rule["op"]](res.reindex(cases), rule["value"]).fillna(False).astype(bool)
    if kind in ("gap", "gap_ratio"):
        t_from = first_time(events, [rule["from"]]).reindex(cases)
        t_to = first_time(events, [rule["to"]]).reindex(cases)
        unit = {"days": "1D", "minutes": "1min", "hours": "1h"}[rule["unit"]]
        gap = (t_to - t_from) / pd.Timedelta(unit)
        if kind == "gap_ratio":
            gap = gap / (case_column(events, rule["column"]).reindex(cases) * rule["multiplier"])
        return OPS[rule["op"]](gap, rule["value"]).fillna(False).astype(bool)
    if kind == "no_event_before":
        ref = case_column(events, rule["column"])
        sub = events[events["activity"].isin(rule["activities"])][["case_id", "timestamp"]]
        sub = sub.join(ref.rename("ref"), on="case_id")
        inside = (sub["timestamp"] >= sub["ref"] - pd.Timedelta(hours=rule["hours"])) & (
            sub["timestamp"] < sub["ref"])
        return pd.Series(~cases.isin(sub.loc[inside, "case_id"]), index=cases)
    if kind == "path":
        has = cases.isin(events.loc[events["activity"] == rule["activity"], "case_id"])
        return pd.Series(has if rule["op"] == "present" else ~has, index=cases)
    if kind == "count_after":
        anchor = first_time(events, [rule["after"]])
        sub = events[events["activity"] == rule["activity"]][["case_id", "timestamp"]]
        sub = sub.join(anchor.rename("anchor"), on="case_id", how="inner")
        inside = (sub["timestamp"] > sub["anchor"]) & (
            sub["timestamp"] <= sub["anchor"] + pd.Timedelta(days=rule["days"]))
        counts = sub[inside].groupby("case_id").size().reindex(cases, fill_value=0)
        return OPS[rule["op"]](counts, rule["value"])
    raise AssertionError(f"unknown rule {kind}")


def population(events: pd.DataFrame, outcomes: pd.DataFrame, journey: dict,
               rule: dict | None) -> pd.DataFrame:
    if rule is None:
        return outcomes
    if rule["type"] == "finished":
        return outcomes[outcomes["finished"]]
    if rule["type"] == "not_finished_before":
        ref = case_column(events, rule["column"]).reindex(outcomes.index)
        limit = ref - pd.Timedelta(hours=rule["hours"])
        early = outcomes["finish_time"].notna() & (outcomes["finish_time"] < limit)
        return outcomes[~early]
    raise AssertionError(rule)


def risk_ratio(failed: pd.Series, exposed: pd.Series) -> tuple[float, float, float, int, int]:
    """Risk ratio exposed/unexposed with a Wald interval on the log scale (z = 3)."""
    a, n1 = int(failed[exposed].sum()), int(exposed.sum())
    c, n0 = int(failed[~exposed].sum()), int((~exposed).sum())
    rr = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return rr, rr * math.exp(-Z * se), rr * math.exp(Z * se), n1, n0


def measured_effects(scenario) -> list[dict[str, Any]]:
    events, truth = scenario.events, scenario.truth
    journey = yaml.safe_load(scenario.journey)
    outcomes = last_mile_outcomes(events, journey, truth)
    rows = []
    for c in truth["causes"]:
        pop = population(events, outcomes, journey, c.get("population_rule"))
        exp = exposure(events, c["rule"], pop.index)
        rr, lo, hi, n1, n0 = risk_ratio(pop["failed"], exp)
        rows.append({"name": c["name"], "truth": c["effect"], "rr": rr, "lo": lo, "hi": hi,
                     "exposed": n1, "unexposed": n0, "truth_cases": c["n_cases"],
                     "measured_cases": set(exp.index[exp])})
    return rows


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def planted(request):
    name = request.param
    return name, measured_effects(generate(name, cases=SIZES[name], seed=11))


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def null(request):
    name = request.param
    return name, measured_effects(generate(name, cases=SIZES[name], seed=11, null=True))


def test_each_planted_cause_changes_last_mile_failure_by_the_stated_factor(planted):
    name, rows = planted
    assert len(rows) >= 2
    for r in rows:
        assert r["truth"] > 1.2
        assert r["lo"] <= r["truth"] <= r["hi"], (name, r["name"], r["rr"], r["lo"], r["hi"])
        assert r["lo"] > 1.0, (name, r["name"], r["rr"], r["lo"])
        # a tight interval: the test could tell 2.0 from 1.4
        assert r["hi"] / r["lo"] < 1.9, (name, r["name"], r["lo"], r["hi"])


def test_truth_lists_exactly_the_exposed_cases_the_log_shows(planted):
    name, rows = planted
    scenario = generate(name, cases=SIZES[name], seed=11)
    for r, c in zip(rows, scenario.truth["causes"], strict=True):
        assert r["measured_cases"] == set(c["cases"]), (name, c["name"])
        assert r["truth_cases"] == len(c["cases"]) > 100


def test_null_logs_show_no_difference(null):
    name, rows = null
    for r in rows:
        assert r["truth"] == 1.0
        assert r["lo"] <= 1.0 <= r["hi"], (name, r["name"], r["rr"], r["lo"], r["hi"])
        assert r["exposed"] > 100 and r["unexposed"] > 100


def test_kinds_differ_and_truth_is_well_formed():
    for name in SCENARIOS:
        s = generate(name, cases=300, seed=5)
        kinds = {c["kind"] for c in s.truth["causes"]}
        assert len(kinds) >= 2, name
        assert kinds <= {"attribute", "resource", "timing", "path"}
        for c in s.truth["causes"]:
            assert {"name", "kind", "feature", "value", "cases", "effect"} <= set(c)
        noise = s.truth["irrelevant_attributes"]
        assert set(noise) <= set(s.events.columns)


def test_irrelevant_attributes_do_not_drive_failure():
    """A categorical noise attribute: the spread of failure rates across its values stays
    within sampling error (chi-square-like check against the pooled rate)."""
    s = generate("telecom", cases=SIZES["telecom"], seed=11)
    journey = yaml.safe_load(s.journey)
    out = last_mile_outcomes(s.events, journey, s.truth)
    region = case_column(s.events, "region").reindex(out.index)
    p = out["failed"].mean()
    stats = out.groupby(region)["failed"].agg(["sum", "count"])
    expected = stats["count"] * p
    chi2 = float((((stats["sum"] - expected) ** 2) / (expected * (1 - p))).sum())
    assert len(stats) == 5 and not np.isnan(chi2)
    assert chi2 < 20.5  # 99.96 % quantile of chi-square with 4 degrees of freedom
