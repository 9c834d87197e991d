"""The benchmark's label definitions on the real sepsis log, against a plain-pandas reading.

Teinemaa et al.'s preprocessing keeps the sepsis cases that have a Release A–E event (782 of
1,050), labels "sepsis 2" positive when the case has Admission IC and cuts it before the first
Admission IC; the prefixes go up to min(40, ceil(90th percentile of positive case lengths)).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import shared_file

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
