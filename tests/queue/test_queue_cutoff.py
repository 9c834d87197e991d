"""A time attribute that nobody finishes after (an offer's expiry, polls closing) caps the
follow-up deadline; one that finishers often pass (a review date) does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from queue_logs import AS_OF, NO_VALUE, handmade

from lastmile.io import read_log
from lastmile.queue import CUTOFF_SHARE, cutoff_attributes, follow_through_queue
from lastmile.queue import _cases as case_rows
from lastmile.timing import timing


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    ev = handmade()
    rng = np.random.default_rng(7)
    sent = ev[ev["activity"] == "sent"].set_index("case")["time"]
    signed = ev[ev["activity"] == "signed"].set_index("case")["time"]
    # the offer expires some time after the signature (if any), else 1-6 days after sending
    lag = pd.Series(pd.to_timedelta(rng.uniform(1, 6, len(sent)), unit="D"), index=sent.index)
    expires = sent + lag
    late = signed.reindex(sent.index)
    expires = expires.where(late.isna(), late + pd.Timedelta(hours=12))
    ev["offer_expires"] = ev["case"].map(expires.dt.floor("s"))
    ev["review_date"] = ev["case"].map((sent + pd.Timedelta(days=2)).dt.floor("s"))
    return ev


def test_the_premise_counted_in_pandas(events):
    seen = events[events["time"] <= AS_OF]
    fin = seen[seen["activity"] == "signed"].set_index("case")["time"]
    by_case = seen.groupby("case").first()
    assert (fin <= by_case.loc[fin.index, "offer_expires"]).mean() >= CUTOFF_SHARE
    assert (fin <= by_case.loc[fin.index, "review_date"]).mean() < 0.8


def test_only_the_hard_cutoff_is_found(events):
    log = read_log(events)
    ct = case_rows(log.table, NO_VALUE, AS_OF.to_pydatetime())
    found = cutoff_attributes(log, ct, ["offer_expires", "review_date"], AS_OF.to_pydatetime())
    assert found == ["offer_expires"]


def test_the_deadline_is_never_after_the_cutoff(events):
    q = follow_through_queue(events, NO_VALUE, as_of=AS_OF)
    assert q.cutoffs == ["offer_expires"]
    assert q.to_dict()["cutoffs"] == ["offer_expires"]
    assert "or offer_expires if sooner" in q.summary
    r = q.ranked_
    cold = timing(read_log(events).table, NO_VALUE, as_of=AS_OF).going_cold_
    by_cold = r["entered_at"] + pd.to_timedelta(cold, unit="h")
    by_timeout = r["last_event_at"] + pd.Timedelta(days=30)
    expires = r["case"].map(events.groupby("case")["offer_expires"].first())
    expected = pd.concat([by_cold, by_timeout, expires], axis=1).min(axis=1)
    assert ((r["deadline"] - expected).abs().dt.total_seconds() <= 1.0).all()
    capped = expires < pd.concat([by_cold, by_timeout], axis=1).min(axis=1)
    assert capped.any() and (~capped).any()  # both kinds occur among the queued cases
    assert (r.loc[capped, "deadline_kind"] == "offer_expires").all()
    assert not (r.loc[~capped, "deadline_kind"] == "offer_expires").any()
    # the urgency runs to the capped deadline: 1 once it is reached
    window = (r["deadline"] - r["entered_at"]).dt.total_seconds() / 3600
    expected_u = 0.5 + 0.5 * np.minimum(1.0, r["hours_in_last_mile"] / window)
    assert np.allclose(r["urgency"], expected_u)


def test_cases_past_their_cutoff_are_left_out_as_too_late(events):
    q = follow_through_queue(events, NO_VALUE, as_of=AS_OF)
    expires = events.groupby("case")["offer_expires"].first()
    past = q.past_cutoff_
    assert len(past) > 0  # the premise: some open cases' offers expired before AS_OF
    assert (past["case"].map(expires) < AS_OF).all()
    assert (past["cutoff"] == "offer_expires").all()
    assert (q.ranked_["case"].map(expires) >= AS_OF).all()
    assert set(past["case"]).isdisjoint(set(q.ranked_["case"]) | set(q.stale_["case"]))
    c = q.counts
    assert c["open_in_last_mile"] == c["queued"] + c["stale"] + c["past_cutoff"]
    assert f"{c['past_cutoff']:,} more are past their offer_expires" in q.summary
    # the same case without the attribute is queued (or stale): nothing else removed it
    plain = follow_through_queue(events.drop(columns=["offer_expires"]), NO_VALUE, as_of=AS_OF)
    assert set(past["case"]) <= set(plain.ranked_["case"]) | set(plain.stale_["case"])
    assert plain.counts["past_cutoff"] == 0
