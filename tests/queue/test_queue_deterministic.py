"""Same log, same queue: the queue does not depend on the order the engine returns rows in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo import generate
from lastmile.journey import Journey
from lastmile.queue import follow_through_queue, training_set


def test_row_order_of_the_log_does_not_change_the_queue() -> None:
    s = generate("carsales", cases=1500, seed=3)
    events = s.events
    # no two events of a case at the same moment, so every order is the same log
    assert not events.duplicated(["case_id", "timestamp"]).any()
    shuffled = events.sample(frac=1.0, random_state=7).reset_index(drop=True)
    journey = Journey.from_dict(s.journey_dict)
    when = "2024-03-01 12:00"
    a, _ = training_set(events, journey, when)
    b, _ = training_set(shuffled, journey, when)
    assert a.rows[["case_id", "t"]].equals(b.rows[["case_id", "t"]])
    assert a.X.equals(b.X) and np.array_equal(a.y, b.y) and np.array_equal(a.weight, b.weight)
    first = follow_through_queue(events, journey, as_of=when)
    qa = first.ranked_
    qb = follow_through_queue(shuffled, journey, as_of=when).ranked_
    # a queue the model ranks, so that its risks can differ at all
    assert first.model_ranks and len(qa) >= 5 and qa["risk"].nunique() > 1
    pd.testing.assert_series_equal(qa["case"], qb["case"])
    assert np.array_equal(qa["risk"].to_numpy(), qb["risk"].to_numpy())
