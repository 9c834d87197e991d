"""Same seed, same bytes; different seed, different log; the files follow the contracts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from lastmile.demo import SCENARIOS, generate, write
from lastmile.demo.engine import file_digest

FILES = ("events.csv", "events.parquet", "journey.yaml", "truth.json")


def digests(folder) -> dict[str, str]:
    return {name: file_digest(folder / name) for name in FILES}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_bytes_different_seed_different_log(name, tmp_path):
    a = digests_of(name, 7, tmp_path / "a")
    b = digests_of(name, 7, tmp_path / "b")
    c = digests_of(name, 8, tmp_path / "c")
    assert a == b
    assert a["events.csv"] != c["events.csv"]
    assert a["events.parquet"] != c["events.parquet"]
    assert a["truth.json"] != c["truth.json"]
    assert a["journey.yaml"] == c["journey.yaml"]  # the journey is the scenario's, not the seed's


def digests_of(name: str, seed: int, folder) -> dict[str, str]:
    write(generate(name, cases=400, seed=seed), folder)
    return digests(folder)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_files_follow_the_contracts(name, tmp_path):
    s = generate(name, cases=500, seed=3)
    write(s, tmp_path)
    csv = pd.read_csv(tmp_path / "events.csv", dtype={"case_id": str}, keep_default_na=False,
                      na_values=[""])
    assert list(csv.columns[:4]) == ["case_id", "activity", "timestamp", "resource"]
    assert csv["timestamp"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert csv["case_id"].notna().all() and csv["activity"].notna().all()
    assert len(csv) == len(s.events) == s.truth["n_events"]
    parsed = pd.to_datetime(csv["timestamp"], utc=True)
    assert parsed.equals(s.events["timestamp"].dt.tz_convert("UTC"))
    pq_table = pq.read_table(tmp_path / "events.parquet")
    assert pq_table.schema.field("timestamp").type.tz == "UTC"
    back = pq_table.to_pandas()
    assert back["case_id"].tolist() == s.events["case_id"].tolist()
    # events of a case are in time order, and cases are contiguous
    ev = s.events
    same = ev["case_id"].to_numpy()[1:] == ev["case_id"].to_numpy()[:-1]
    ns = ev["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("int64")
    assert (np.diff(ns)[same] >= 0).all()
    assert ev["case_id"].is_monotonic_increasing
    # journey: every stage activity occurs in the log; finish and last mile are stages
    j = yaml.safe_load((tmp_path / "journey.yaml").read_text())
    names = [st["name"] for st in j["stages"]]
    assert j["finish"] in names and j["last_mile"] in names
    assert names.index(j["last_mile"]) < names.index(j["finish"])
    acts = set(ev["activity"])
    for st in j["stages"]:
        assert set(st["activities"]) & acts, (name, st)
    assert j["value"] in ev.columns
    assert j["timeout"][-1] in "dhmsw"
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["scenario"] == name and truth["seed"] == 3
    for c in truth["causes"]:
        assert set(c["cases"]) <= set(ev["case_id"])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_realism_open_cases_failures_and_rework(name):
    """Open cases at the end of the log, explicit failures and silent abandonment, and
    repeated activities (rework or regular events) in every scenario."""
    s = generate(name, cases=3000, seed=1)
    ev, j = s.events, s.journey_dict
    fin = {a for st in j["stages"] if st["name"] == j["finish"] for a in st["activities"]}
    fail = set(j["failure"])
    per_case = ev.groupby("case_id")
    finished = per_case["activity"].agg(lambda a: bool(fin & set(a)))
    explicit = per_case["activity"].agg(lambda a: bool(fail & set(a)))
    last = per_case["timestamp"].max()
    end = pd.Timestamp(s.truth["log_end"])
    timeout = pd.Timedelta(j["timeout"].replace("d", "D"))
    silent = ~finished & ~explicit & (last < end - timeout)
    open_ = ~finished & ~explicit & (last >= end - timeout)
    assert explicit.sum() > 20, name
    assert silent.sum() > 20, name
    assert open_.sum() > 5, name
    if name != "marathon":  # a race has no rework: each mat is crossed once
        repeats = ev.groupby(["case_id", "activity"]).size()
        assert (repeats > 1).sum() > 50, name
    value = per_case[j["value"]].first()
    assert value.nunique() > 20, name


def test_null_keeps_structure():
    a = generate("telecom", cases=2000, seed=4)
    b = generate("telecom", cases=2000, seed=4, null=True)
    assert [c["name"] for c in a.truth["causes"]] == [c["name"] for c in b.truth["causes"]]
    assert all(c["effect"] == 1.0 for c in b.truth["causes"])
    assert a.truth["causes"][0]["cases"][:50] == b.truth["causes"][0]["cases"][:50]
    assert set(a.events["activity"]) == set(b.events["activity"])


def test_bad_input_is_a_friendly_error():
    from lastmile.errors import LastmileError

    with pytest.raises(LastmileError, match="no demo scenario"):
        generate("telecomm")
    with pytest.raises(LastmileError, match="at least 10"):
        generate("telecom", cases=3)
