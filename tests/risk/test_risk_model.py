"""RiskModel: learning a planted cause, calibration, reasons, and the versioned artefact."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lastmile
from lastmile.errors import LastmileError
from lastmile.risk import PrefixEncoder, RiskModel
from lastmile.risk.evaluate import brier_score, roc_auc
from lastmile.risk.model import FORMAT, fingerprint

BASE = pd.Timestamp("2024-01-01")
JOURNEY = {"name": "loans", "stages": ["offer", "sent", "signed"], "finish": "signed"}


def _planted_log(n: int = 300, seed: int = 3) -> tuple[lastmile.Log, pd.Series]:
    """Cases with a 'reminder' (not a 'call') fail 80% of the time, others 20%.

    'signed' and 'lost' are the outcomes."""
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    for i in range(n):
        case = f"c{i:04d}"
        t = BASE + pd.Timedelta(hours=6 * i)
        acts = ["offer", "sent"]
        reminder = rng.random() < 0.5
        acts.append("reminder" if reminder else "call")
        fail = rng.random() < (0.8 if reminder else 0.2)
        acts.append("lost" if fail else "signed")
        for a in acts:
            rows.append((case, a, t, "r1" if rng.random() < 0.5 else "r2"))
            t = t + pd.Timedelta(hours=float(rng.exponential(10)))
        labels[case] = int(fail)
    df = pd.DataFrame(rows, columns=["case", "activity", "timestamp", "resource"])
    return lastmile.read_log(df), pd.Series(labels)


@pytest.fixture(scope="module")
def fitted() -> tuple[RiskModel, PrefixEncoder, object, np.ndarray]:
    log, labels = _planted_log()
    enc = PrefixEncoder(outcome_activities=["signed", "lost"], min_count=1).fit(log)
    feats = enc.transform(log)
    y = labels.reindex(feats.case_ids).to_numpy()
    model = RiskModel(definition=JOURNEY, encoder=enc, n_estimators=60, n_jobs=1,
                      min_child_samples=10).fit(feats, y)
    return model, enc, feats, y


def test_learns_the_planted_cause_and_gives_it_as_reason(fitted) -> None:
    model, _, feats, y = fitted
    p = model.predict_risk(feats)
    # at each case's last prefix the reminder is visible for those cases that had one
    last = ~pd.Index(feats.case_ids).duplicated(keep="last")
    assert roc_auc(y[last], p[last]) > 0.65
    assert p.min() >= 0 and p.max() <= 1
    proba = model.predict_proba(feats)
    assert np.allclose(proba.sum(axis=1), 1.0)
    with_reminder = feats.X["n_reminder"].to_numpy() == 1
    # at two events nobody can tell yet (about half fail); a reminder raises the risk
    at_two = feats.prefix_lengths == 2
    assert abs(p[at_two].mean() - y[at_two].mean()) < 0.1
    assert p[with_reminder].mean() > p[at_two].mean() + 0.1
    reasons = model.reasons(feats, top=3)
    planted = {"n_reminder", "n_call", "last_activity"}
    hits = [bool(planted & {r["feature"] for r in row})
            for row, flag in zip(reasons, with_reminder, strict=True) if flag]
    assert np.mean(hits) >= 0.8
    # a call (no reminder) never has the reminder count as a reason for higher risk
    calls = feats.X["n_call"].to_numpy() == 1
    assert not any(r["feature"] == "n_reminder"
                   for row, flag in zip(reasons, calls, strict=True) if flag for r in row)
    assert all(r["contribution"] > 0 for row in reasons for r in row)


def test_calibration_keeps_probabilities_near_the_observed_rate(fitted) -> None:
    model, _, feats, y = fitted
    p = model.predict_risk(feats)
    assert model.calibrator_["method"] in {"isotonic", "sigmoid"}
    assert abs(p.mean() - y.mean()) < 0.1
    assert brier_score(y, p) < brier_score(y, np.full_like(p, y.mean()))


def test_save_load_round_trip(fitted, tmp_path: Path) -> None:
    model, enc, feats, _ = fitted
    path = model.save(tmp_path / "model.lm")
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
    assert header["format"] == FORMAT
    assert header["lastmile_version"] == lastmile.__version__
    assert header["definition"] == JOURNEY
    assert header["fingerprint"] == fingerprint(feats.case_ids)
    assert header["feature_names"] == enc.feature_names_
    again = RiskModel.load(path, definition=JOURNEY)
    np.testing.assert_allclose(again.predict_risk(feats), model.predict_risk(feats))
    assert again.reasons(feats.X.iloc[:3]) == model.reasons(feats.X.iloc[:3])
    # the stored encoder scores a log directly
    log, _ = _planted_log()
    scored = again.predict_log(log, as_of=BASE + pd.Timedelta(days=30))
    assert scored["risk"].between(0, 1).all() and len(scored) > 0


def test_loading_for_another_journey_is_a_clear_error(fitted, tmp_path: Path) -> None:
    model, *_ = fitted
    path = model.save(tmp_path / "model.lm")
    other = {**JOURNEY, "name": "campaign", "finish": "voted"}
    with pytest.raises(LastmileError, match="another journey") as err:
        RiskModel.load(path, definition=other)
    assert "loans" in str(err.value) and "campaign" in str(err.value)
    bad = tmp_path / "bad.lm"
    bad.write_text("not a zip")
    with pytest.raises(LastmileError, match="not a lastmile risk model"):
        RiskModel.load(bad)
    with pytest.raises(LastmileError, match="no such model"):
        RiskModel.load(tmp_path / "missing.lm")


def test_one_class_and_unfitted_are_refused() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(LastmileError, match="one class"):
        RiskModel().fit(X, [0, 0, 0])
    with pytest.raises(LastmileError, match="not fitted"):
        RiskModel().predict_proba(X)


def test_bagged_model_round_trip(tmp_path: Path) -> None:
    log, labels = _planted_log(n=120, seed=5)
    enc = PrefixEncoder(outcome_activities=["signed", "lost"], min_count=1).fit(log)
    feats = enc.transform(log)
    y = labels.reindex(feats.case_ids).to_numpy()
    model = RiskModel(n_estimators=30, n_jobs=1, n_bags=3, min_child_samples=5).fit(feats, y)
    assert len(model.boosters_) == 3
    single = [b.predict(model._align(feats), raw_score=True) for b in model.boosters_]
    expected = 1 / (1 + np.exp(-np.mean(single, axis=0)))
    np.testing.assert_allclose(model.decision_function(feats), expected)
    path = model.save(tmp_path / "bagged.lm")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["booster.txt", "booster_1.txt", "booster_2.txt",
                                         "header.json"]
    again = RiskModel.load(path)
    np.testing.assert_allclose(again.predict_risk(feats), model.predict_risk(feats))


def test_sample_weights_change_the_fit() -> None:
    """Rows weighted 0 do not count: the fit follows the weighted rows only."""
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({"a": rng.normal(size=n)})
    half = np.arange(n) < n // 2
    # the first half says a > 0 fails, the second half says a < 0 fails
    y = np.where(half, X["a"] > 0, X["a"] < 0).astype(int)
    first = RiskModel(n_estimators=40, calibration=None, n_jobs=1).fit(
        X, y, sample_weight=half.astype(float))
    second = RiskModel(n_estimators=40, calibration=None, n_jobs=1).fit(
        X, y, sample_weight=(~half).astype(float))
    probe = pd.DataFrame({"a": [-1.5, 1.5]})
    p1, p2 = first.predict_risk(probe), second.predict_risk(probe)
    assert p1[1] > p1[0] + 0.3 and p2[0] > p2[1] + 0.3
    # equal weights are the unweighted fit
    ones = RiskModel(n_estimators=40, n_jobs=1).fit(X, y, sample_weight=np.full(n, 2.0))
    plain = RiskModel(n_estimators=40, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(ones.decision_function(X), plain.decision_function(X))
    with pytest.raises(LastmileError, match="sample_weight"):
        RiskModel().fit(X, y, sample_weight=np.full(n, -1.0))
    with pytest.raises(LastmileError, match="sample_weight"):
        RiskModel().fit(X, y, sample_weight=np.ones(3))


def test_metadata_round_trip_and_not_compared(fitted, tmp_path: Path) -> None:
    model, *_ = fitted
    meta = {"as_of": "2024-05-01T00:00:00", "n_failed": 12, "notes": ["a", "b"]}
    m = RiskModel(definition=JOURNEY, metadata=meta)
    m.__dict__.update({k: v for k, v in model.__dict__.items()
                       if k.endswith("_") and not k.startswith("_")})
    path = m.save(tmp_path / "meta.lm")
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
    assert header["metadata"] == meta and header["definition"] == JOURNEY
    again = RiskModel.load(path, definition=JOURNEY)  # the metadata plays no part here
    assert again.metadata == meta and again.definition == JOURNEY


def test_an_artefact_of_an_older_format_is_refused_clearly(fitted, tmp_path: Path) -> None:
    model, *_ = fitted
    path = model.save(tmp_path / "new.lm")
    old = tmp_path / "old.lm"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "header.json":
                header = json.loads(data)
                header["format"] = "lastmile.risk-model/1"
                data = json.dumps(header).encode()
            dst.writestr(name, data)
    with pytest.raises(LastmileError, match="another version of lastmile") as err:
        RiskModel.load(old)
    assert "lastmile.risk-model/1" in str(err.value) and FORMAT in str(err.value)
    assert "lastmile train" in (err.value.hint or "")


def test_candidates_are_chosen_on_the_held_back_slice() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=800), "noise": rng.normal(size=800)})
    y = (X["a"] + rng.normal(size=800) > 0).astype(int).to_numpy()
    cands = [{"min_child_samples": 5, "num_leaves": 31}, {"min_child_samples": 100}]
    m = RiskModel(n_estimators=60, n_jobs=1, candidates=cands).fit(X, y)
    assert [t["min_child_samples"] for t in m.tuning_] == [5, 100]
    best = max(m.tuning_, key=lambda t: t["val_auc"])
    assert m.chosen_["min_child_samples"] == best["min_child_samples"]
    assert m.header()["params"]["min_child_samples"] == best["min_child_samples"]
    with pytest.raises(LastmileError, match="unknown settings"):
        RiskModel(candidates=[{"max_depth": 3}]).fit(X, y)


def test_select_features_drops_what_does_not_help_on_the_held_back_slice(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame({"signal": rng.normal(size=n),
                      "level": pd.Categorical(rng.choice(list("abc"), size=n))})
    for k in range(8):
        X[f"noise_{k}"] = rng.normal(size=n)
    logit = 1.5 * X["signal"] + np.where(X["level"] == "a", 1.0, 0.0) - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    plain = RiskModel(n_estimators=200, n_jobs=1, min_child_samples=5, num_leaves=15).fit(X, y)
    sel = RiskModel(n_estimators=200, n_jobs=1, min_child_samples=5, num_leaves=15,
                    select_features=True).fit(X, y)
    assert plain.dropped_features_ == [] and plain.feature_names_ == list(X.columns)
    assert {"signal", "level"} <= set(sel.feature_names_)
    # the importances were measured for every column, the planted ones on top
    assert set(sel.feature_importance_) == set(X.columns)
    assert list(sel.feature_importance_)[:2] in (["signal", "level"], ["level", "signal"])
    assert len(sel.dropped_features_) >= 6
    assert set(sel.dropped_features_).isdisjoint(sel.feature_names_)
    low = min(sel.feature_importance_["signal"], sel.feature_importance_["level"])
    assert all(sel.feature_importance_[c] < low / 5 for c in sel.dropped_features_)
    # scoring takes the full frame; reasons never cite a dropped feature
    test = X.iloc[:200]
    assert roc_auc(y[:200], sel.predict_risk(test)) > 0.75
    cited = {r["feature"] for rs in sel.reasons(test, top=3) for r in rs}
    assert cited and cited.isdisjoint(sel.dropped_features_)
    back = RiskModel.load(sel.save(tmp_path / "sel.lm"))
    assert back.feature_names_ == sel.feature_names_
    assert np.allclose(back.predict_risk(test), sel.predict_risk(test))


def test_held_back_evidence_tells_signal_from_noise(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    signal = (X["a"] + rng.normal(size=2000) > 0).astype(int).to_numpy()
    noise = rng.integers(0, 2, 2000)
    good = RiskModel(n_estimators=50, n_jobs=1).fit(X, signal)
    bad = RiskModel(n_estimators=50, n_jobs=1).fit(X, noise)
    cal = good._calibration_slice(np.arange(2000), np.arange(2000))
    h = good.heldback_
    assert h["cases"] == cal.sum() == 400 and h["failed_cases"] == signal[cal].sum()
    assert h["better_than_chance"] and 0.5 < h["auc_low"] < h["auc"] < h["auc_high"]
    # measured before the refit on all rows: lower than the refit's AUC on rows it has seen
    assert h["auc"] < roc_auc(signal[cal], good.boosters_[0].predict(X[cal]))
    assert not bad.heldback_["better_than_chance"] and bad.heldback_["auc_low"] <= 0.5
    again = RiskModel.load(good.save(tmp_path / "m.lm"))
    assert again.heldback_ == h


def test_a_yes_no_attribute_is_given_as_yes_or_no_in_reasons() -> None:
    """A boolean attribute is encoded 0/1; its reasons carry True/False, said as yes/no."""
    from lastmile.queue import plain_reason

    rng = np.random.default_rng(5)
    rows, labels = [], {}
    for i in range(300):
        case, t = f"v{i:04d}", BASE + pd.Timedelta(hours=6 * i)
        vip = bool(rng.random() < 0.5)
        fail = rng.random() < (0.8 if vip else 0.2)
        for k, a in enumerate(["offer", "sent", "lost" if fail else "signed"]):
            rows.append((case, a, t + pd.Timedelta(hours=k), vip))
        labels[case] = int(fail)
    log = lastmile.read_log(pd.DataFrame(rows, columns=["case", "activity", "timestamp",
                                                        "first_time"]))
    enc = PrefixEncoder(outcome_activities=["signed", "lost"], min_count=1).fit(log)
    assert enc.attr_kinds_["first_time"][1] == "bool"
    feats = enc.transform(log)
    y = pd.Series(labels).reindex(feats.case_ids).to_numpy()
    model = RiskModel(encoder=enc, n_estimators=40, n_jobs=1, min_child_samples=10,
                      calibration=None).fit(feats, y)
    flagged = feats.X["last_first_time"].to_numpy() == 1.0
    cited = [r for row, f in zip(model.reasons(feats), flagged, strict=True) if f
             for r in row if r["feature"] == "last_first_time"]
    assert cited and all(r["value"] is True for r in cited)
    assert plain_reason(cited[0]) == "first_time: yes"
    assert plain_reason({**cited[0], "value": False}) == "first_time: no"
