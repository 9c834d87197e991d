"""Each scenario's timeout fits its own log: finishers are rarely silent for longer.

An unfinished case silent for longer than the timeout counts as abandoned; if the simulator's
finishers are often silent that long before they finish, the journey labels live cases as
failed. The rule is `lastmile infer`'s, computed here with plain pandas: the timeout must be at
least the longest silence (before the first finish) of 95 % of the finished cases.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_demo_effects import parse_duration

from lastmile.demo import SCENARIOS, generate


def longest_silence_p95(events: pd.DataFrame, finish: list[str]) -> pd.Timedelta:
    e = events.sort_values(["case_id", "timestamp"], kind="mergesort")
    first = e[e["activity"].isin(finish)].groupby("case_id")["timestamp"].min()
    e = e[e["case_id"].isin(first.index)]
    e = e[e["timestamp"] <= e["case_id"].map(first)]
    gaps = e.groupby("case_id")["timestamp"].diff()
    return gaps.groupby(e["case_id"]).max().quantile(0.95)


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("seed", [0, 1])
def test_timeout_is_longer_than_the_silences_of_95_percent_of_finishers(name, seed):
    s = generate(name, seed=seed)
    j = s.journey_dict
    finish = next(st["activities"] for st in j["stages"] if st["name"] == j["finish"])
    p95 = longest_silence_p95(s.events, finish)
    assert p95 > pd.Timedelta(0)
    assert parse_duration(j["timeout"]) >= p95, (j["timeout"], p95)


def test_the_rule_catches_a_timeout_that_is_too_short():
    s = generate("campaign", seed=0)
    p95 = longest_silence_p95(s.events, ["Ballot returned"])
    assert parse_duration("60d") < p95  # the campaign's former timeout
