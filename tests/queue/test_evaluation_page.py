"""`lastmile evaluate --html`: the calibration chart draws the numbers of the evaluation."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from queue_logs import AS_OF, handmade
from typer.testing import CliRunner

import lastmile.cli.queue_commands  # noqa: F401  registers evaluate
from lastmile.cli.app import app
from lastmile.risk.charts import calibration_chart

runner = CliRunner()
FLAGS = ["--stages", "start,sent,signed", "--fail", "lost", "--timeout", "30d",
         "--case", "case", "--activity", "activity", "--timestamp", "time"]
CIRCLE = re.compile(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"[^>]*'
                    r'data-value="([\d.]+)" data-predicted="([\d.]+)" data-n="(\d+)"')
DIAGONAL = re.compile(r'<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"'
                      r'[^>]*data-line="perfect"')


def test_points_sit_where_the_numbers_say():
    rows = [{"lower": 0.0, "upper": 0.1, "n": 90, "predicted": 0.05, "observed": 0.05},
            {"lower": 0.2, "upper": 0.3, "n": 10, "predicted": 0.25, "observed": 0.40},
            {"lower": 0.3, "upper": 0.4, "n": 0, "predicted": 0.35, "observed": 0.0}]
    svg = str(calibration_chart({"calibration": rows}))
    points = [tuple(map(float, m)) for m in CIRCLE.findall(svg)]
    assert len(points) == 2  # the empty bin is not drawn
    x1, y1, x2, y2 = map(float, DIAGONAL.search(svg).groups())
    # both axes run from 0 to 0.4 (the largest rate, rounded up to a tenth): the diagonal
    # goes from the origin to the far corner, and a calibrated bin lies on it
    (cx, cy, r90, obs, pred, n), (cx2, cy2, r10, obs2, pred2, n2) = sorted(
        points, key=lambda p: -p[5])
    assert (obs, pred, n) == (0.05, 0.05, 90) and (obs2, pred2, n2) == (0.4, 0.25, 10)
    t = (cx - x1) / (x2 - x1)
    assert t == pytest.approx(0.05 / 0.4, abs=1e-3)
    assert cy == pytest.approx(y1 + t * (y2 - y1), abs=0.02)
    # the miscalibrated bin: at 25 % across, 40 % up (the top edge), above the diagonal
    assert (cx2 - x1) / (x2 - x1) == pytest.approx(0.25 / 0.4, abs=1e-3)
    assert cy2 == pytest.approx(y2, abs=0.02)
    # point area grows with the number of prediction points
    assert r90 > r10
    assert calibration_chart({"calibration": []}) is None


@pytest.fixture(scope="module")
def csv_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "events.csv"
    handmade(n=700, seed=3).to_csv(path, index=False)
    return path


def test_cli_evaluate_writes_a_page_with_the_calibration_chart(csv_log, tmp_path):
    page = tmp_path / "out" / "evaluation.html"
    res = runner.invoke(app, ["evaluate", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--html", str(page), "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    html = page.read_text("utf-8")
    assert html.startswith("<!doctype html>")
    assert 'data-chart="risk"' in html and "http://" not in html and "https://" not in html
    found = {(float(m[4]), float(m[3]), int(m[5])) for m in CIRCLE.findall(html)}
    expected = {(round(r["predicted"], 2), round(r["observed"], 2), r["n"])
                for r in data["calibration"] if r["n"] > 0}
    assert found == expected and found
    lo, hi = data["auc_interval"]
    assert f"AUC <strong>{data['auc']:.3f}</strong> ({lo:.3f}–{hi:.3f})" in html
    assert "90 % intervals from drawing the test" in html
    for row in data["by_stages_to_finish"]:
        assert f"<td>{row['auc']:.3f}</td>" in html
    # the page keeps its own numbers
    embedded = re.search(r'<script type="application/json" id="lastmile-data">(.*?)</script>',
                         html, re.S).group(1)
    assert json.loads(embedded)["risk"]["auc"] == data["auc"]


def test_evaluation_counts_the_open_cases_it_leaves_out():
    """Cases in the last mile still open at the end: counted by hand from the events."""
    from queue_logs import JOURNEY

    from lastmile.queue import evaluate_model

    events = handmade(n=700, seed=3)
    ev = evaluate_model(events, JOURNEY, as_of=AS_OF)
    seen = events[events["time"] <= AS_OF]
    by_case = seen.groupby("case")
    entered = by_case["activity"].apply(lambda a: (a == "sent").any())
    decided = by_case["activity"].apply(lambda a: a.isin(["signed", "lost"]).any())
    silent = AS_OF - by_case["time"].max() > pd.Timedelta(days=30)
    still_open = int((entered & ~decided & ~silent).sum())
    assert still_open >= 2  # "fresh" and "stale" at least
    assert not ev.in_sample and ev.still_open == still_open
    assert ev.to_dict()["still_open"] == still_open
    assert f"left out: {still_open:,} cases still open" in ev.summary


def evaluation_and_its_test():
    """A model trained 40 days before AS_OF, its evaluation, the test set built again with
    the model's own encoder, and the model's risks on it."""
    from queue_logs import JOURNEY

    from lastmile.io import read_log
    from lastmile.queue import evaluate_model, train_risk_model, training_set

    events = handmade(n=700, seed=3)
    start = AS_OF - pd.Timedelta(days=40)
    model = train_risk_model(events, JOURNEY, start)
    ev = evaluate_model(events, JOURNEY, model, as_of=AS_OF)
    test, _ = training_set(read_log(events), JOURNEY, AS_OF.to_pydatetime(),
                           start=start.to_pydatetime(), encoder=model.encoder)
    return ev, test, model.predict_risk(test.X.reindex(columns=model.feature_names_))


def test_evaluation_weighs_each_case_as_training_does():
    """A lingering case's many grid points share a weight, in the test as in training."""
    import numpy as np

    ev, test, p = evaluation_and_its_test()
    w = test.weight
    assert w.min() < w.max()  # the weights are not all equal
    assert ev.evaluation.n == len(p)
    assert ev.evaluation.brier == pytest.approx(np.average((p - test.y) ** 2, weights=w))
    assert ev.evaluation.brier != pytest.approx(np.mean((p - test.y) ** 2))
    cal = ev.evaluation.calibration
    assert cal["n"].sum() == len(p)
    bins = np.clip(np.digitize(p, np.linspace(0, 1, 11)[1:-1]), 0, 9)
    for row in cal.itertuples():
        m = bins == row.bin
        assert row.observed == pytest.approx(np.average(test.y[m], weights=w[m]))


def test_cli_evaluate_to_a_path_that_cannot_be_written_says_so(csv_log, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    res = runner.invoke(app, ["evaluate", str(csv_log), *FLAGS, "--as-of", str(AS_OF),
                              "--html", str(blocker / "evaluation.html")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and not isinstance(res.exception, OSError)
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "a-file" in errors[0]
    assert blocker.read_text() == "not a folder"  # nothing overwritten


def test_evaluation_intervals_draw_whole_test_cases():
    """The AUC's interval: the weighted AUC on resamples of whole cases, by scikit-learn."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from lastmile.queue import EVALUATION_LEVEL, EVALUATION_RESAMPLES

    ev, test, p = evaluation_and_its_test()
    y, w = test.y, test.weight
    ids = pd.factorize(test.rows["case_id"].astype(str))[0]
    draw = np.random.default_rng(0)  # auc_interval's default seed
    aucs = []
    for _ in range(EVALUATION_RESAMPLES):
        times = np.bincount(draw.integers(0, ids.max() + 1, ids.max() + 1),
                            minlength=ids.max() + 1)[ids]
        keep = times > 0
        if 0 < y[keep].sum() < keep.sum():
            aucs.append(roc_auc_score(y[keep], p[keep], sample_weight=(w * times)[keep]))
    level = EVALUATION_LEVEL
    expected = np.quantile(aucs, [(1 - level) / 2, (1 + level) / 2])
    assert np.allclose(ev.auc_interval, expected)
    assert ev.auc_interval[0] < ev.evaluation.auc < ev.auc_interval[1]
    lo, hi = ev.case_auc_interval
    assert lo < ev.case_auc < hi and hi - lo > ev.auc_interval[1] - ev.auc_interval[0]
    d = ev.to_dict()
    assert d["auc_interval"] == [round(x, 4) for x in ev.auc_interval]
    assert d["interval_level"] == level and len(d["auc_at_entry_interval"]) == 2
    assert f"AUC {ev.evaluation.auc:.3f} ({ev.auc_interval[0]:.3f}–" in ev.summary
