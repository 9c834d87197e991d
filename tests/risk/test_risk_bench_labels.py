"""The benchmark's label definitions on the real sepsis log, against a plain-pandas reading.

Teinemaa et al.'s preprocessing keeps the sepsis cases that have a Release A–E event (782 of
1,050), labels "sepsis 2" positive when the case has Admission IC and cuts it before the first
Admission IC; the prefixes go up to min(40, ceil(90th percentile of positive case lengths)).
The bench's ``--validation-only`` mode is checked on a simulated log: it never scores a test case.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import shared_file

import lastmile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_outcome_run",
                                                  ROOT / "bench" / "outcome" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_outcome_run"] = module
    spec.loader.exec_module(module)
    return module


def test_sepsis_admission_ic_labels_and_cut(bench) -> None:
    path = shared_file("sepsis/sepsis.csv.gz")
    raw = pd.read_csv(path, keep_default_na=False, usecols=["case_id", "activity",
                                                            "timestamp", ".order"])
    raw["timestamp"] = pd.to_datetime(raw["timestamp"])
    released = set(raw.loc[raw["activity"].str.startswith("Release "), "case_id"])
    kept = raw[raw["case_id"].isin(released)].sort_values(["case_id", "timestamp", ".order"])
    ic = set(kept.loc[kept["activity"] == "Admission IC", "case_id"])
    assert len(released) == 782

    task = {**bench.TASKS["sepsis_2"], "log": str(path)}
    _, table, y = bench.labelled_table(task)
    assert len(y) == 782 and set(y.index) == released
    assert set(y.index[y == 1]) == ic
    events = table.execute()
    assert "Admission IC" not in set(events["activity"])
    # cut lengths: events strictly before the first Admission IC
    def cut_len(group: pd.DataFrame) -> int:
        hits = (group["activity"] == "Admission IC").to_numpy().nonzero()[0]
        return int(hits[0]) if len(hits) else len(group)

    lengths = kept.groupby("case_id")[["activity"]].apply(cut_len)
    got = events.groupby("case_id").size()
    assert got.to_dict() == lengths[lengths > 0].to_dict()
    expected_max = min(40, math.ceil(lengths[sorted(ic)].quantile(0.9)))
    assert bench.max_prefix_length(table, y) == expected_max == 13


def test_validation_only_never_scores_the_test_cases(bench, tmp_path, monkeypatch) -> None:
    """``--validation-only`` runs the search on the training cases; no test row is scored."""
    from lastmile.demo import generate

    events = generate("carsales", cases=600, seed=2).events
    path = tmp_path / "carsales.csv"
    events.to_csv(path, index=False)
    task = {"log": str(path),
            "label": {"kind": "activity", "activity": "Contract signed", "cut": True},
            "outcome_activities": ["Contract signed"]}
    scored: list[set[str]] = []
    real = bench.RiskModel.decision_function

    def recording(self, X):  # the real scoring, noting which cases it scored
        scored.append(set(map(str, X.case_ids)))
        return real(self, X)

    monkeypatch.setattr(bench.RiskModel, "decision_function", recording)
    row = bench.run_task("signed", task, search=True, n_jobs=1, n_estimators=30,
                         validation_only=True)
    assert "auc" not in row and row["search"]
    assert {s["encoding"] for s in row["search"]} == {"base", "extended", "positions"}
    # every scored case is a training case: it started before the test cases did
    _, table, _ = bench.labelled_table(task)
    split = bench.temporal_split(bench.wrap(lastmile.read_log(str(path)), table), 0.8,
                                 strict=True)
    test_cases = set(map(str, split.test_cases))
    assert scored and test_cases
    assert all(not (s & test_cases) for s in scored)
