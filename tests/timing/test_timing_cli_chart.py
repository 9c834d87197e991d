"""``lastmile timing`` from the command line, and the chart."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

import lastmile.cli.timing_commands  # noqa: F401  (registers `timing` until cli/__init__ does)
from lastmile.cli import app
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.timing import timing, timing_chart_svg

runner = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"

# The hand-made log of test_timing_handmade.py, as a CSV file (see the KM by hand there).
CSV = """case,activity,time,region
a,sent,2024-01-01,N
a,signed,2024-01-02,N
b,sent,2024-01-01,S
b,signed,2024-01-03,S
c,sent,2024-01-02,N
c,signed,2024-01-04,N
d,sent,2024-01-08,S
e,sent,2024-01-01,N
e,lost,2024-01-02,N
f,sent,2024-01-03,S
f,signed,2024-01-07,S
g,sent,2024-01-06,N
h,sent,2024-01-01,S
h,signed,2024-01-09,S
i,sent,2024-01-01,N
i,lost,2024-01-07,N
j,sent,2024-01-02,N
j,lost,2024-01-10,N
z,other,2024-01-11,N
"""


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "events.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def run(*args: str):
    result = runner.invoke(app, ["timing", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


def test_json_has_the_documented_keys_and_the_hand_numbers(log_file):
    result = run(str(log_file), "--stages", "sent,signed", "--fail", "lost", "--by", "region",
                 "--json", "-")
    data = json.loads(result.stdout)
    assert {"schema", "journey", "as_of", "log_end", "threshold", "min_at_risk", "cases", "status",
            "ever_finish", "median_hours", "half_finished_hours", "going_cold_hours",
            "table", "curve", "by", "logrank_p", "segments"} <= set(data)
    assert data["schema"] == "lastmile.timing/1"
    assert data["journey"] == {"last_mile": "sent", "finish": "signed"}
    # by hand in test_timing_handmade.py: F(∞) = 0.58, median 48 h; never cold at 1/2
    assert data["ever_finish"] == pytest.approx(0.58, abs=1e-6)
    assert data["median_hours"] == 48.0 and data["going_cold_hours"] is None
    assert set(data["curve"][0]) == {"time", "finished", "lower", "upper", "at_risk", "failed",
                                     "chance"}
    assert [s["segment"] for s in data["segments"]] == ["N", "S"]
    assert {"segment", "cases", "ever_finish", "median_hours", "going_cold_hours",
            "curve"} <= set(data["segments"][0])
    # the command and the library agree
    lib = timing(read_log(str(log_file)).table, Journey.from_flags("sent,signed", fail="lost"),
                 by="region")
    assert data == json.loads(lib.to_json())


def test_table_in_the_terminal(log_file):
    out = run(str(log_file), "--stages", "sent,signed", "--fail", "lost").stdout
    assert "10 cases entered the last mile: 5 finished, 3 failed, 2 still open" in out
    assert "going cold: not reached" in out
    # 3 days = 72 h: F = 0.3, G = 0.1, still live just before: d f g h i j
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("3d"))
    assert line.split()[1] == "30.0%" and line.split()[3] == "10.0%" and line.split()[4] == "6"


def test_as_of_and_threshold_and_svg(log_file, tmp_path):
    svg_path = tmp_path / "chart.svg"
    result = run(str(log_file), "--stages", "sent,signed", "--fail", "lost", "--as-of",
                 "2024-01-05", "--threshold", "0.7", "--svg", str(svg_path), "--json", "-")
    data = json.loads(result.stdout)
    assert data["as_of"] == "2024-01-05T00:00:00"
    assert data["ever_finish"] == pytest.approx(3 / 8)  # by hand in the handmade as-of test
    assert data["threshold"] == 0.7
    assert ET.fromstring(svg_path.read_text()).tag == SVG + "svg"


def test_unknown_attribute_is_one_red_line(log_file):
    result = runner.invoke(app, ["timing", str(log_file), "--stages", "sent,signed",
                                 "--by", "regoin"])
    assert result.exit_code == 2
    assert "did you mean 'region'" in result.output and "Traceback" not in result.output


def test_chart_marks_the_curve_band_and_going_cold_point(log_file):
    t = timing(read_log(str(log_file)).table, Journey.from_flags("sent,signed", fail="lost"),
               by="region", threshold=0.85, min_at_risk=1)
    assert t.going_cold_ == 48.0  # by hand in test_timing_handmade.py
    svg = timing_chart_svg(t)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("viewBox")
    assert root.find(SVG + "title") is not None and "going cold" in root.find(SVG + "desc").text
    paths = {p.get("data-curve") or p.get("data-band"): p for p in root.iter(SVG + "path")}
    assert {"all", "N", "S", "failed", "chance"} <= set(paths)
    cold = [e for e in root.iter(SVG + "line") if e.get("data-going-cold")]
    assert len(cold) == 1 and float(cold[0].get("data-going-cold")) == t.going_cold_
    ever = [e for e in root.iter(SVG + "line") if e.get("data-ever-finish")]
    assert float(ever[0].get("data-ever-finish")) == pytest.approx(t.ever_finish_, abs=0.01)
    level = [e for e in root.iter(SVG + "line") if e.get("data-cold-level")]
    assert float(level[0].get("data-cold-level")) == pytest.approx(0.85 * 0.58, abs=0.01)
    assert "<script" not in svg and "http" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    # the going-cold line is at the x of the curve's step at 48 h (b and c finish: F 0.1 → 0.3)
    pts = [tuple(map(float, p.split(","))) for p in paths["all"].get("d")[1:].split(" L")]
    ys = sorted({y for _, y in pts}, reverse=True)  # 0, 0.1, 0.3, 0.42, 0.58 from the bottom
    step = [x for (x, y), (x2, y2) in itertools.pairwise(pts)
            if x == x2 and y == ys[1] and y2 == ys[2]]
    assert step == [float(cold[0].get("x1"))]
    # the same chart from the JSON form
    assert timing_chart_svg(json.loads(t.to_json())) == svg


def test_chart_escapes_names_from_the_data():
    data = {"curve": [{"time": 0, "finished": 0, "lower": 0, "upper": 0, "at_risk": 1},
                      {"time": 5, "finished": 1, "lower": 0.2, "upper": 1, "at_risk": 1}],
            "ever_finish": 1.0, "cases": 1, "going_cold_hours": None,
            "segments": [{"segment": '<script>alert("x")</script>', "cases": 1,
                          "ever_finish": 1.0, "curve": [{"time": 0, "finished": 0},
                                                        {"time": 5, "finished": 1}]}]}
    svg = timing_chart_svg(data)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)
    assert timing_chart_svg({"curve": []}) == ""
