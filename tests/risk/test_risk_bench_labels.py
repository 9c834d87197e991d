"""The benchmark's label definitions on the real sepsis log, against a plain-pandas reading.

Teinemaa et al.'s preprocessing keeps the sepsis cases that have a Release A–E event (782 of
1,050), labels "sepsis 2" positive when the case has Admission IC and cuts it before the first
Admission IC; the prefixes go up to min(40, ceil(90th percentile of positive case lengths)).
The bench's ``--validation-only`` mode is checked on a simulated log: it never scores a test case.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import load_script, shared_file

import lastmile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_outcome_run", ROOT / "bench" / "outcome" / "run.py")


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


@pytest.fixture(scope="module")
def signed_task(tmp_path_factory) -> dict:
    """A small carsales log and the task "the contract gets signed" (cut before signing)."""
    from lastmile.demo import generate

    path = tmp_path_factory.mktemp("bench") / "carsales.csv"
    generate("carsales", cases=600, seed=2).events.to_csv(path, index=False)
    return {"log": str(path),
            "label": {"kind": "activity", "activity": "Contract signed", "cut": True},
            "outcome_activities": ["Contract signed"]}


def test_validation_only_never_scores_the_test_cases(bench, signed_task, monkeypatch) -> None:
    """``--validation-only`` runs the search on the training cases; no test row is scored."""
    task, path = signed_task, signed_task["log"]
    scored: list[set[str]] = []
    real = bench.RiskModel.decision_function

    def recording(self, X):  # the real scoring, noting which cases it scored
        scored.append(set(map(str, X.case_ids)))
        return real(self, X)

    monkeypatch.setattr(bench.RiskModel, "decision_function", recording)
    row = bench.run_task("signed", task, search=True, n_jobs=1, n_estimators=30,
                         validation_only=True)
    assert "auc" not in row and row["search"]
    assert {s["encoding"] for s in row["search"]} == set(bench.DEFAULT_ENCODINGS)
    # every scored case is a training case: it started before the test cases did
    _, table, _ = bench.labelled_table(task)
    split = bench.temporal_split(bench.wrap(lastmile.read_log(str(path)), table), 0.8,
                                 strict=True)
    test_cases = set(map(str, split.test_cases))
    assert scored and test_cases
    assert all(not (s & test_cases) for s in scored)


def test_index_group_on_request_only(bench, signed_task) -> None:
    """The ``index`` group is tried when asked for, with its ``pos_`` columns; not by default."""
    assert "index" in bench.ENCODINGS and "index" not in bench.DEFAULT_ENCODINGS
    groups = {e: bench.ENCODINGS[e] for e in ("positions", "index")}
    row = bench.run_task("signed", signed_task, search=True, n_jobs=1, n_estimators=30,
                         validation_only=True, encodings=groups)
    assert {s["encoding"] for s in row["search"]} == {"positions", "index"}
    assert len(row["search"]) == 2 * len(bench.GRID)
    # the positions group never sees a pos_ column, the index group does
    _, table, _ = bench.labelled_table(signed_task)
    log = bench.wrap(lastmile.read_log(str(signed_task["log"])), table)
    enc = bench.PrefixEncoder(min_count=10, positions=3, position_attributes=True).fit(log)
    feats = enc.transform(log, max_prefix=3)
    pos = bench.columns(feats, groups["positions"]).feature_names
    idx = bench.columns(feats, groups["index"]).feature_names
    assert not [c for c in pos if c.startswith("pos_")]
    assert {"pos_gap_hours_2", "pos_gap_hours_3"} <= set(idx) and set(pos) < set(idx)
    assert main_error(bench, ["--encodings", "base,nope", "--task", "sepsis_2"])


def main_error(bench, argv: list[str]) -> bool:
    """``run.py`` refuses the arguments with a usage error (exit code 2), not a traceback."""
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    return exc.value.code == 2


def test_ensemble_candidates_and_their_combination(bench) -> None:
    """Best of each feature group, the top three overall; the mean log-odds of the members."""
    log = [{"encoding": e, "val_auc_exact": a} for e, a in
           [("base", 0.70), ("base", 0.74), ("extended", 0.72), ("positions", 0.73),
            ("positions", 0.71)]]
    got = {c["candidate"]: c["members"] for c in bench.ensemble_candidates(log)}
    # top3 (1, 3, 2) has the same members as best_per_group: not tried twice
    assert got == {"best_per_group": [1, 2, 3]}
    log[2]["val_auc_exact"] = 0.60  # extended now last: top3 = 1, 3, 4
    got = {c["candidate"]: c["members"] for c in bench.ensemble_candidates(log)}
    assert got == {"best_per_group": [1, 2, 3], "top3": [1, 3, 4]}
    # mean log-odds: 0.5 and 0.8 -> logit 0 and log 4 -> sigmoid(log 2) = 2/3
    assert bench.combine([[0.5], [0.8]])[0] == pytest.approx(2 / 3)


def test_offset_model_starts_from_the_rate_of_each_prefix_length(bench) -> None:
    """The offset is the smoothed log-odds of the positive rate at each prefix length."""
    import numpy as np

    lengths = np.array([1, 1, 1, 1, 2, 2, 3])
    y = np.array([1, 0, 0, 0, 1, 1, 0])
    rates = bench.OffsetModel._rates(lengths, y)
    expect = {1: (1 + 0.5) / (4 + 1), 2: (2 + 0.5) / (2 + 1), 3: 0.5 / 2}
    for k, p in expect.items():
        assert rates["by_length"][k] == pytest.approx(math.log(p / (1 - p)))
    other = (3 + 0.5) / (7 + 1)
    assert rates["other"] == pytest.approx(math.log(other / (1 - other)))
    off = bench.OffsetModel._offset(rates, np.array([2, 9]))
    assert off[0] == rates["by_length"][2] and off[1] == rates["other"]


def test_validation_search_with_offsets_and_ensembles(bench, signed_task) -> None:
    """``--offset choose --ensembles``: both kinds of single model and the ensembles are tried."""
    task = signed_task
    row = bench.run_task("signed", task, search=True, n_jobs=1, n_estimators=30,
                         validation_only=True, ensembles=True, offsets=(False, True))
    assert {s["offset"] for s in row["search"]} == {False, True}
    assert len(row["search"]) == len(bench.DEFAULT_ENCODINGS) * 2 * len(bench.GRID)
    assert row["ensembles"] and all(len(e["members"]) > 1 for e in row["ensembles"])
    best_single = max(s["val_auc"] for s in row["search"])
    best_ens = max(e["val_auc"] for e in row["ensembles"])
    # the rule: an ensemble is chosen only when it beats every single model on validation
    if best_ens > best_single:
        assert row["candidate"] != "single"
    elif best_ens < best_single:
        assert row["candidate"] == "single"


def test_fill_forward_takes_the_last_known_value_within_the_case(bench) -> None:
    # hand-made: case a has a leading gap (stays missing), a gap after r1 and one after r2;
    # the rows are out of order on purpose (events are taken by time, then event_index)
    import ibis

    ts = pd.Timestamp("2024-01-01")
    rows = [
        ("a", 3, ts + pd.Timedelta(hours=3), None),
        ("a", 0, ts, None),
        ("a", 1, ts + pd.Timedelta(hours=1), "r1"),
        ("a", 2, ts + pd.Timedelta(hours=1), None),   # same time as r1, later index
        ("a", 4, ts + pd.Timedelta(hours=4), "r2"),
        ("a", 5, ts + pd.Timedelta(hours=5), None),
        ("b", 0, ts, None),                            # another case: nothing leaks across
        ("b", 1, ts + pd.Timedelta(hours=2), "r9"),
    ]
    df = pd.DataFrame(rows, columns=["case_id", "event_index", "timestamp", "resource"])
    out = (bench.fill_forward(ibis.memtable(df), "resource").execute()
           .sort_values(["case_id", "event_index"]))
    got = dict(zip(zip(out["case_id"], out["event_index"], strict=True), out["resource"],
                   strict=True))
    expected = {("a", 0): None, ("a", 1): "r1", ("a", 2): "r1", ("a", 3): "r1",
                ("a", 4): "r2", ("a", 5): "r2", ("b", 0): None, ("b", 1): "r9"}
    assert {k: (None if pd.isna(v) else v) for k, v in got.items()} == expected
    assert list(out.columns) == list(df.columns)
    assert bench.TASKS["bpic2012_cancelled"]["fill_forward"] == ["resource"]


def test_test_run_reports_an_interval_and_saves_the_scores(bench, signed_task,
                                                          tmp_path) -> None:
    """A test run's AUC comes with a case-bootstrap interval; its saved scores reproduce both."""
    import numpy as np

    from lastmile.risk.evaluate import auc_interval, evaluate

    row = bench.run_task("signed", signed_task, search=False, n_jobs=1, n_estimators=30,
                         scores_dir=tmp_path)
    saved = np.load(tmp_path / "test_scores_signed.npz")
    ev = evaluate(saved["y"], saved["risk"], saved["prefix_length"])
    assert row["auc"] == pytest.approx(round(ev.weighted_auc, 4))
    assert row["test_prefixes"] == len(saved["y"])
    lo, hi = row["auc_interval"]
    assert lo < row["auc"] < hi and row["interval_level"] == bench.INTERVAL
    again = auc_interval(saved["y"], saved["risk"], saved["case_id"], level=bench.INTERVAL,
                         n_boot=bench.BOOTSTRAP, prefix_lengths=saved["prefix_length"])
    assert [round(v, 4) for v in again] == [lo, hi]
    md = bench.markdown([row], "cmd")
    assert f"{lo:.3f}–{hi:.3f}" in md and "90% interval" in md


def test_a_task_that_cannot_run_is_one_error_line(bench, signed_task, tmp_path,
                                                  capsys) -> None:
    """A ``fill_forward`` column the log lacks: exit code 2 and a message naming it."""
    import yaml

    config = tmp_path / "task.yaml"
    config.write_text(yaml.safe_dump({"tasks": {"signed": {**signed_task,
                                                           "fill_forward": ["owner"]}}}))
    assert bench.main(["--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "signed: error: fill_forward: the log has no column 'owner'" in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def signed_features(bench, signed_task):
    """The training prefixes of the signed task and their labels (indexed by case)."""
    _, table, y = bench.labelled_table(signed_task)
    log = bench.wrap(lastmile.read_log(str(signed_task["log"])), table)
    return bench.PrefixEncoder(min_count=10).fit(log).transform(log, max_prefix=5), y


def test_folds_split_the_cases_stratified_as_their_search(bench, signed_features) -> None:
    """Three folds of whole cases, each with its share of positives; row order does not matter."""
    import numpy as np

    feats, y = signed_features
    fold = bench.case_folds(feats, y, 3)
    by_case = pd.DataFrame({"case": feats.case_ids, "fold": fold}).groupby("case")["fold"]
    assert (by_case.nunique() == 1).all()  # a case's prefixes stay together
    cases = by_case.first()
    assert sorted(cases.unique()) == [0, 1, 2]
    # stratified: the positives and the negatives each split as evenly as they can
    for label in (0, 1):
        sizes = cases[y.reindex(cases.index) == label].value_counts()
        assert sizes.max() - sizes.min() <= 1
    # the same cases in another row order get the same folds
    shuffled = feats.subset(np.random.default_rng(0).permutation(len(feats)))
    again = pd.Series(bench.case_folds(shuffled, y, 3), index=shuffled.case_ids)
    assert (again.groupby(level=0).first() == cases).all()


def test_validation_slices_validate_every_row_once(bench, signed_features) -> None:
    import numpy as np

    feats, y = signed_features
    slices = bench.validation_slices(feats, y, 3)
    assert len(slices) == 3
    held = [set(zip(xb.case_ids, xb.prefix_lengths, strict=True)) for _, xb in slices]
    everything = set(zip(feats.case_ids, feats.prefix_lengths, strict=True))
    assert sum(map(len, held)) == len(everything) and set().union(*held) == everything
    for (xa, _), h in zip(slices, held, strict=True):
        assert set(zip(xa.case_ids, xa.prefix_lengths, strict=True)) == everything - h
        assert not set(xa.case_ids) & {c for c, _ in h}
    # folds=1 is the one temporal slice of the earlier sessions
    (xa, xb), = bench.validation_slices(feats, y, 1)
    ia, ib = bench.inner_split(feats, 0.8)
    assert np.array_equal(xa.case_ids, ia.case_ids) and np.array_equal(xb.case_ids, ib.case_ids)


def test_slices_auc_is_the_mean_of_each_slice_weighted_auc(bench) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from lastmile.risk.encoding import PrefixFeatures

    def feats(lengths):
        idx = pd.MultiIndex.from_arrays([[f"c{i}" for i in range(len(lengths))], lengths],
                                        names=["case_id", "prefix_length"])
        return PrefixFeatures(X=pd.DataFrame({"x": 0.0}, index=idx), meta=pd.DataFrame(index=idx),
                              categorical=[])

    # slice 1: all prefixes of length 1; slice 2: lengths 1 and 2, two each way
    y1, s1 = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.8, 0.3])     # AUC 0.5
    y2, s2 = np.array([0, 1, 0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4, 0.9, 0.1])
    l2 = [1, 1, 1, 2, 2, 2]
    slices = [(None, feats([1, 1, 1, 1])), (None, feats(l2))]
    a2 = (3 * roc_auc_score(y2[:3], s2[:3]) + 3 * roc_auc_score(y2[3:], s2[3:])) / 6
    got = bench.slices_auc(slices, [y1, y2], [s1, s2])
    assert got == pytest.approx((roc_auc_score(y1, s1) + a2) / 2)


def test_too_few_cases_of_an_outcome_for_the_folds_is_a_clear_error(bench,
                                                                     signed_features) -> None:
    feats, y = signed_features
    rare = y.copy()
    rare[:] = 0
    rare.iloc[:2] = 1  # two positive cases: not enough for three folds
    with pytest.raises(bench.LastmileError, match="3 folds need at least 3 training cases"):
        bench.case_folds(feats, rare.astype(int), 3)
    assert main_error(bench, ["--folds", "0", "--task", "sepsis_2"])
