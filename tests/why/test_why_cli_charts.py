"""``lastmile why`` on a written demo, and the SVG charts of the "Why" section."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lastmile.cli.why_commands  # noqa: F401  (registers the command)
from lastmile.cli.app import app
from lastmile.demo import generate, write
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.why import why
from lastmile.why.charts import curve_chart, lift_chart, why_charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    return write(generate("telecom", cases=3000, seed=2), tmp_path_factory.mktemp("telecom"))


@pytest.fixture(scope="module")
def drivers(demo):
    return why(read_log(demo["parquet"]), Journey.from_yaml(Path(demo["journey"])))


def test_cli_json_to_stdout(demo, drivers) -> None:
    res = CliRunner().invoke(app, ["why", str(demo["csv"]), "--journey", str(demo["journey"]),
                                   "--json", "-", "--min-support", "40"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["schema"] == "lastmile.why/1" and data["min_support"] == 40
    assert data["population"] == drivers.population
    top = data["drivers"][0]
    assert {"feature", "value", "failure_rate", "baseline", "lift", "cases", "q_value",
            "holds_up"} <= set(top)
    assert any(d["value"] == "SubCo B" and d["holds_up"] for d in data["drivers"][:5])
    assert all(d["cases"] >= 40 for d in data["drivers"])


def test_cli_table_and_bad_fdr(demo) -> None:
    res = CliRunner().invoke(app, ["why", str(demo["parquet"]), "--journey",
                                   str(demo["journey"])], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    assert "Drivers of last-mile failure" in res.stdout
    assert "SubCo B" in res.stdout and "holds up" in res.stdout
    bad = CliRunner().invoke(app, ["why", str(demo["parquet"]), "--journey",
                                   str(demo["journey"]), "--fdr", "1.5"])
    assert bad.exit_code != 0 and "fdr" in bad.output


def test_lift_chart_is_offline_svg_with_one_point_per_driver(drivers) -> None:
    svg = str(lift_chart(drivers.to_dict(), top=8))
    root = ET.fromstring(svg)
    points = [c for c in root.iter(f"{SVG}circle") if c.get("data-point") == "driver"]
    assert len(points) == 8
    lifts = [float(c.get("data-value")) for c in points]
    assert lifts == [round(d["lift"], 2) for d in drivers.drivers[:8]]
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    assert root.find(f"{SVG}title").text == "Drivers of last-mile failure"


def test_curve_chart_and_section(drivers) -> None:
    name = "wait after entry"
    curve = drivers.curves[name]
    root = ET.fromstring(str(curve_chart(curve)))
    pts = [c for c in root.iter(f"{SVG}circle") if c.get("data-point") == "bin"]
    assert [float(c.get("data-value")) for c in pts] == pytest.approx(
        [b["failure_rate"] for b in curve["bins"]], abs=1e-4)
    section = str(drivers.chart())
    assert section.count("<svg") >= 2 and name in section


def test_data_text_is_escaped() -> None:
    svg = str(lift_chart({"baseline": 0.1, "drivers": [
        {"feature": "<script>", "value": "&", "failure_rate": 0.2, "ci_low": 0.1,
         "ci_high": 0.3, "lift": 2.0, "cases": 50, "significant": True, "holds_up": False}]}))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)
    assert str(why_charts({"drivers": [], "baseline": None})) == ""
