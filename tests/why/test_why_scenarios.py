"""Must-show: the causes planted in every demo scenario are found, and null logs stay clean.

The heavier sweep (20 null seeds per scenario) is ``bench/why_scenarios.py``.
"""

from __future__ import annotations

import pytest

from lastmile.demo import SCENARIOS, generate
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.why import why
from lastmile.why.truth import find_cause


def _drivers(name: str, seed: int, null: bool):
    s = generate(name, seed=seed, null=null)
    return s, why(read_log(s.events), Journey.from_yaml(s.journey))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_planted_causes_in_top_five_and_hold_up(name: str) -> None:
    s, d = _drivers(name, seed=0, null=False)
    assert len(s.truth["causes"]) >= 2
    for cause in s.truth["causes"]:
        rank = find_cause(d.drivers, cause)
        assert rank is not None, f"{cause['name']} not found"
        r = d.drivers[rank]
        assert rank < 5, f"{cause['name']} ranked {rank + 1}: {r['feature']} = {r['value']}"
        assert r["significant"] and r["q_value"] <= 0.05
        assert r["holds_up"], f"{cause['name']} explained by {r['confounder']}"
        assert r["lift"] > 1 and r["failure_rate"] > r["baseline"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_null_logs_have_no_discoveries(name: str) -> None:
    runs = [_drivers(name, seed=seed, null=True)[1] for seed in (0, 1)]
    dirty = [[f"{r['feature']} = {r['value']}" for r in d.drivers if r["significant"]]
             for d in runs]
    assert all(d.tested > 20 for d in runs)  # many values were tested, nothing passed
    assert sum(bool(x) for x in dirty) <= 1, dirty


def test_a_driver_holds_up_next_to_its_refinements() -> None:
    """School, seed 2: the missed coursework (315 students) is significant next to drivers
    that are parts of it (the variant that starts with a missed coursework, the teacher who
    recorded it) or nearly its reference group (the variant with every coursework submitted).
    Adjusted for those it would be compared with itself; it holds up next to the others."""
    s, d = _drivers("school", seed=2, null=False)
    for cause in s.truth["causes"]:
        rank = find_cause(d.drivers, cause)
        assert rank is not None and rank < 5, cause["name"]
        assert d.drivers[rank]["holds_up"], (cause["name"], d.drivers[rank]["confounder"])
    # the feature that splits the students exactly as the missed coursework is its duplicate
    makeup = [r for r in d.drivers
              if r["feature"] == "before last mile: Make-up coursework submitted"]
    assert makeup and all(r["duplicate_of"] for r in makeup)
