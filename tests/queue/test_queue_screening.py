"""The risk model's case attributes screened by the drivers analysis (`screened_attributes`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from queue_logs import AS_OF, JOURNEY, handmade

from lastmile.io import read_log
from lastmile.queue import screened_attributes, train_risk_model
from lastmile.why import why


def with_noise(seed: int = 3) -> pd.DataFrame:
    """The handmade log (segment: the risky half fails five times as often) plus a case
    attribute of pure noise, a deadline and an event attribute."""
    events = handmade(n=900, seed=seed)
    rng = np.random.default_rng(7)
    cases = events["case"].unique()
    noise = pd.Series(rng.choice(["x", "y", "z"], len(cases)), index=cases)
    events["colour"] = events["case"].map(noise)
    events["deadline"] = events.groupby("case")["time"].transform("min") + pd.Timedelta(days=40)
    events["mood"] = rng.normal(size=len(events)).round(2)
    return events


def test_noise_attributes_are_left_out_when_the_drivers_find_a_cause() -> None:
    log = read_log(with_noise(), case="case", activity="activity", timestamp="time")
    kinds = {a: (v.kind, v.dtype) for a, v in log.attributes.items()}
    assert kinds["colour"][0] == "case" and kinds["mood"][0] == "event"
    assert kinds["deadline"] == ("case", "time")
    # what the drivers analysis says, independently
    drivers = why(log, JOURNEY, as_of=AS_OF).drivers
    found = {d["feature"] for d in drivers if d["significant"]}
    assert "segment" in found and "colour" not in found
    keep, left_out = screened_attributes(log, JOURNEY, AS_OF)
    tested = [a for a, (kind, dtype) in kinds.items() if kind == "case" and dtype != "time"]
    assert left_out == [a for a in tested if a not in found]
    assert "colour" in left_out and "segment" in keep
    # the deadline (not tested) and the event attribute (changes along the case) stay
    assert {"deadline", "mood"} <= set(keep) and not set(keep) & set(left_out)
    m = train_risk_model(log, JOURNEY, AS_OF, screen=True)
    assert m.metadata["screened_out"] == left_out
    assert not [c for c in m.feature_names_ if "colour" in c]
    assert [c for c in m.feature_names_ if "segment" in c]
    off = train_risk_model(log, JOURNEY, AS_OF, screen=False)
    assert [c for c in off.feature_names_ if "colour" in c] and off.metadata["screened_out"] == []


def test_without_evidence_nothing_is_left_out() -> None:
    events = with_noise()
    events["segment"] = "same"  # the one real cause removed: the drivers find no case attribute
    log = read_log(events, case="case", activity="activity", timestamp="time")
    found = {d["feature"] for d in why(log, JOURNEY, as_of=AS_OF).drivers if d["significant"]}
    assert not found & {"segment", "colour", "amount"}
    assert screened_attributes(log, JOURNEY, AS_OF) == (None, [])


def test_the_screen_reads_nothing_after_as_of() -> None:
    """Events after AS_OF rewritten (a case attribute starts to vary): the same screen."""
    events = with_noise()
    changed = events.copy()
    future = changed["time"] > AS_OF
    changed.loc[future, "colour"] = "w"  # colour would read as an event attribute
    changed.loc[future, "activity"] = "lost"
    kw = {"case": "case", "activity": "activity", "timestamp": "time"}
    assert read_log(changed, **kw).attributes["colour"].kind == "event"
    assert (screened_attributes(read_log(changed, **kw), JOURNEY, AS_OF)
            == screened_attributes(read_log(events, **kw), JOURNEY, AS_OF))
