"""Two risk models on the same later cases: `compare_models` and `lastmile evaluate --against`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from queue_logs import AS_OF, JOURNEY, handmade
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import lastmile.cli.queue_commands  # noqa: F401  registers evaluate
from lastmile.cli.app import app
from lastmile.errors import LastmileError
from lastmile.io import read_log
from lastmile.model_comparison import ModelComparison, compare_models
from lastmile.queue import train_risk_model, training_set

runner = CliRunner()
FLAGS = ["--stages", "start,sent,signed", "--fail", "lost", "--timeout", "30d",
         "--value", "amount", "--case", "case", "--activity", "activity", "--timestamp", "time"]
EARLY, LATE = AS_OF - pd.Timedelta(days=70), AS_OF - pd.Timedelta(days=40)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return handmade(n=900, seed=4)


@pytest.fixture(scope="module")
def models(events):
    return (train_risk_model(events, JOURNEY, EARLY.to_pydatetime()),
            train_risk_model(events, JOURNEY, LATE.to_pydatetime()))


def test_both_models_on_the_cases_closed_after_the_later_moment(events, models) -> None:
    old, new = models
    c = compare_models(events, JOURNEY, new, old, as_of=AS_OF)
    # the window starts at the later training moment, whichever model is given first
    assert pd.Timestamp(c.test_from) == LATE
    assert pd.Timestamp(compare_models(events, JOURNEY, old, new, as_of=AS_OF).test_from) == LATE
    # independently: the test points, each model's risks with its own encoder, scikit-learn
    aucs = []
    for m in (old, new):
        test, _ = training_set(read_log(events), JOURNEY, AS_OF.to_pydatetime(),
                               start=LATE.to_pydatetime(), encoder=m.encoder)
        p = m.predict_risk(test.X.reindex(columns=m.feature_names_))
        aucs.append(roc_auc_score(test.y, p, sample_weight=test.weight))
    assert c.points == len(test.y) and c.test_cases == test.n_cases
    assert c.auc_a == pytest.approx(aucs[0]) and c.auc_b == pytest.approx(aucs[1])
    d, lo, hi = c.difference
    assert d == pytest.approx(aucs[1] - aucs[0]) and lo < d < hi
    entry_d, entry_lo, entry_hi = c.entry_difference
    assert entry_lo <= entry_d <= entry_hi
    # one point per case is noisier than all of a case's points
    assert entry_hi - entry_lo > hi - lo
    data = json.loads(c.to_json())
    assert data["schema"] == "lastmile.model-comparison/1"
    assert data["difference"] == round(d, 4) and data["at_entry"]["low"] == round(entry_lo, 4)


def test_a_model_against_itself_cannot_be_told_apart(events, models) -> None:
    c = compare_models(events, JOURNEY, models[1], models[1], as_of=AS_OF, n_boot=50)
    assert c.difference == (0.0, 0.0, 0.0)
    assert "cannot tell them apart" in c.summary.splitlines()[1]


def test_the_verdict_follows_the_interval() -> None:
    def summary(d: tuple[float, float, float]) -> str:
        return ModelComparison(
            name_a="old.lm", name_b="new.lm", trained_a=None, trained_b=None, test_from="x",
            test_to="y", test_cases=10, points=20, auc_a=0.7, auc_b=0.7 + d[0], difference=d,
            entry_auc_a=float("nan"), entry_auc_b=float("nan"),
            entry_difference=(float("nan"),) * 3).summary

    assert summary((0.05, 0.02, 0.08)).splitlines()[1].endswith("better)")
    assert summary((-0.05, -0.08, -0.01)).splitlines()[1].endswith("worse)")
    assert summary((0.01, -0.02, 0.04)).splitlines()[1].endswith("cannot tell them apart)")
    assert "not enough cases of both outcomes" in summary((0.0, 0.0, 0.0)).splitlines()[2]


def test_a_model_trained_at_the_end_leaves_nothing_to_compare(events, models) -> None:
    with pytest.raises(LastmileError, match="no case can have closed after both"):
        compare_models(events, JOURNEY, models[1], models[0], as_of=LATE - pd.Timedelta(days=1))


def test_cli_evaluate_against(events, models, tmp_path) -> None:
    log = tmp_path / "events.csv"
    events.to_csv(log, index=False)
    paths = []
    for name, m in zip(("old.lm", "new.lm"), models, strict=True):
        m.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    res = runner.invoke(app, ["evaluate", str(log), *FLAGS, "--as-of", str(AS_OF),
                              "--model", paths[1], "--against", paths[0], "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    expected = compare_models(events, JOURNEY, paths[1], paths[0], as_of=AS_OF).to_dict()
    assert data["against"] == expected and data["against"]["a"] == "old.lm"
    res = runner.invoke(app, ["evaluate", str(log), *FLAGS, "--as-of", str(AS_OF),
                              "--model", paths[1], "--against", paths[0]])
    assert res.exit_code == 0, res.output
    assert "AUC: new.lm " in res.stdout and " against old.lm " in res.stdout
    # --against alone: one error line, no traceback
    res = runner.invoke(app, ["evaluate", str(log), *FLAGS, "--against", paths[0]])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "--against needs --model" in res.output
    assert np.isfinite(data["auc"])
