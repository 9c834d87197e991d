"""Train, save, load (and refuse another journey's model), evaluate; the three commands."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from queue_logs import AS_OF, JOURNEY, handmade
from typer.testing import CliRunner

import lastmile.cli.queue_commands  # noqa: F401  registers queue, train, evaluate
from lastmile.cli.app import app
from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.queue import (
    evaluate_model,
    follow_through_queue,
    load_model,
    prediction_features,
    train_risk_model,
)

runner = CliRunner()
FLAGS = ["--stages", "start,sent,signed", "--fail", "lost", "--timeout", "30d",
         "--value", "amount", "--case", "case", "--activity", "activity", "--timestamp", "time"]


@pytest.fixture(scope="module")
def csv_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("queue") / "events.csv"
    handmade().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    events = handmade()
    model = train_risk_model(events, JOURNEY, AS_OF)
    path = tmp_path_factory.mktemp("model") / "model.lm"
    model.save(path)
    return events, model, path


def test_round_trip_gives_the_same_risks(saved):
    events, model, path = saved
    loaded = load_model(path, JOURNEY)
    X = prediction_features(model, events, JOURNEY, AS_OF)
    assert len(X) > 5
    assert np.allclose(model.predict_risk(X), loaded.predict_risk(X))
    assert loaded.fingerprint_ == model.fingerprint_
    assert loaded.metadata["as_of"] == AS_OF.isoformat()
    q1 = follow_through_queue(events, JOURNEY, as_of=AS_OF, model=model)
    q2 = follow_through_queue(events, JOURNEY, as_of=AS_OF, model=str(path))
    assert q1.ranked_["case"].tolist() == q2.ranked_["case"].tolist()
    assert np.allclose(q1.ranked_["risk"], q2.ranked_["risk"])
    assert "loaded from" in q2.model_source
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
    assert header["definition"]["journey"]["finish"] == "signed"
    # what the model is for, apart from what is known about its training
    assert sorted(header["definition"]) == ["journey", "kind", "label"]
    assert header["metadata"]["as_of"] == AS_OF.isoformat()
    assert header["metadata"]["n_cases"] == model.n_train_cases_
    assert header["metadata"] == loaded.metadata


def test_a_model_of_another_journey_is_refused(saved):
    _, _, path = saved
    other = Journey.from_flags("start,sent,signed", fail="lost", timeout="60d")
    with pytest.raises(LastmileError, match="trained for another journey"):
        load_model(path, other)
    moved = Journey.from_flags("start,sent,signed", last_mile="start", fail="lost",
                               timeout="30d")
    with pytest.raises(LastmileError, match="another journey"):
        load_model(path, moved)
    # value and name do not define the label: accepted
    same = Journey.from_flags("start,sent,signed", fail="lost", timeout="30d")
    assert load_model(path, same).definition["journey"]["finish"] == "signed"


def test_evaluate_on_a_temporal_split():
    events = handmade(n=700, seed=3)
    ev = evaluate_model(events, JOURNEY, train_ratio=0.6)
    assert not ev.in_sample
    assert ev.trained_as_of is not None and ev.test_from == ev.trained_as_of
    assert ev.evaluation.n > 0 and 0 < ev.evaluation.positives < ev.evaluation.n
    assert 0.5 < ev.evaluation.auc <= 1.0  # the risky segment fails five times as often
    assert 0 < ev.evaluation.brier < 0.25
    d = ev.to_dict()
    for key in ("auc", "by_prefix", "by_stages_to_finish", "brier", "calibration"):
        assert key in d
    assert {r["stages_to_finish"] for r in d["by_stages_to_finish"]} == {1}
    assert sum(r["n"] for r in d["calibration"]) == ev.evaluation.n


def test_cli_queue_json(csv_log, tmp_path):
    out = tmp_path / "q.csv"
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--capacity", "4", "--json", "-", "--csv", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["schema"] == "lastmile.queue/1"
    assert len(data["queue"]) == 4
    for key in ("case", "stage", "risk", "deadline", "reasons", "value", "entered_at",
                "hours_in_last_mile", "priority"):
        assert key in data["queue"][0], key
    assert data["counts"]["stale"] >= 1
    assert "stale" not in [r["case"] for r in data["queue"]]
    assert len(pd.read_csv(out)) == 4


def test_cli_train_then_queue_and_evaluate(csv_log, tmp_path):
    model = tmp_path / "m.lm"
    res = runner.invoke(app, ["train", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "-o", str(model)])
    assert res.exit_code == 0, res.output
    assert model.exists() and "trained on" in res.stdout
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--model", str(model), "-n", "3"])
    assert res.exit_code == 0, res.output
    assert "risk model: loaded from" in res.stdout
    res = runner.invoke(app, ["evaluate", str(csv_log), *FLAGS, "--model", str(model),
                              "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["trained_as_of"] == AS_OF.isoformat() and not data["in_sample"]
    assert data["auc"] is not None and data["by_stages_to_finish"]
    # another journey: one clear line, no traceback
    res = runner.invoke(app, ["queue", str(csv_log), "--stages", "start,sent,signed",
                              "--case", "case", "--activity", "activity", "--timestamp",
                              "time", "--model", str(model)])
    assert res.exit_code == 2
    assert "trained for another journey" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("width", [80, 200])
def test_cli_queue_reasons_stay_readable_on_a_narrow_terminal(csv_log, width, monkeypatch):
    """Wide: a "why" column. Narrow: the reasons under the table, a whole line per case."""
    from lastmile.cli.app import console

    monkeypatch.setattr(console, "width", width)
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--capacity", "3", "--json", "-"])
    data = json.loads(res.stdout)  # the reasons the table shows
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--capacity", "3"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    # the table fits the terminal (the summary and reason lines are left to it to wrap)
    assert max(len(line) for line in lines if line[:1] in "┏┃┡│└") <= width
    header = next(line for line in lines if "┃" in line and "risk" in line)
    for rank, row in enumerate(data["queue"], start=1):
        why = "; ".join(row["reasons"][:2])
        if width == 80:
            assert f"{rank:>3}  {row['case']}: {why}" in lines
        else:
            assert any(row["case"] in line and why in line for line in lines)
    assert ("why" in header) == (width == 200)


def test_cli_a_weak_model_is_trained_with_a_warning_and_does_not_rank(csv_log, tmp_path):
    model = tmp_path / "early.lm"
    early = "2024-02-20"  # 8 of the 72 cases closed by then failed
    res = runner.invoke(app, ["train", str(csv_log), *FLAGS, "--as-of", early,
                              "-o", str(model)])
    assert res.exit_code == 0, res.output
    assert "will not rank a queue: it learned from only 8 failed cases" in res.output
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", early,
                              "--model", str(model), "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["model"]["ranks"] is False
    assert len({r["risk"] for r in data["queue"]}) == 1
    assert all(r["reasons"] == [] for r in data["queue"])
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", early,
                              "--model", str(model), "--use-weak-model", "--json", "-"])
    data = json.loads(res.stdout)
    assert data["model"]["ranks"] is True and len({r["risk"] for r in data["queue"]}) > 1
    # the terminal table says why and has no "why" column
    res = runner.invoke(app, ["queue", str(csv_log), *FLAGS, "--as-of", early,
                              "--model", str(model)])
    assert "does not rank the queue" in res.stdout and "why" not in res.stdout.split("┏")[1]
