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
