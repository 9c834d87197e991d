"""The report's SVG charts: geometry proportional to the numbers, labels, escaping, gaps."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lastmile.report import charts

_spec = importlib.util.spec_from_file_location(
    "lastmile_report_test_fixtures", Path(__file__).with_name("fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fx
_spec.loader.exec_module(fx)


def parse(svg: str) -> ET.Element:
    """The chart as an XML tree (it must be well-formed)."""
    return ET.fromstring(str(svg))


def bars(root: ET.Element, kind: str | None = None) -> list[ET.Element]:
    """Data bars (not the grey 'all effort' tracks), optionally of one kind."""
    return [
        r for r in root.iter("rect")
        if r.get("data-bar") and r.get("data-bar") != "track"
        and (kind is None or r.get("data-bar") == kind)
    ]


def texts(root: ET.Element) -> str:
    """All visible text of the chart, one string."""
    return " ".join("".join(t.itertext()) for t in root.iter("text"))


@pytest.fixture
def data() -> dict:
    return fx.bpic2012()


# --- funnel ---------------------------------------------------------------------------------


def test_funnel_bar_widths_are_proportional_to_counts(data):
    root = parse(charts.funnel_chart(data))
    drawn = bars(root)
    assert drawn, "no bars"
    # one scale for every bar: the biggest 'reached' spans the whole width
    for rect in drawn:
        expected = float(rect.get("data-value")) / 13087 * charts.WIDTH
        assert float(rect.get("width")) == pytest.approx(expected, abs=0.006)


def test_funnel_segments_of_a_stage_add_up_to_reached(data):
    root = parse(charts.funnel_chart(data))
    for row in data["funnel"][:-1]:
        widths = [float(r.get("width")) for r in bars(root) if r.get("data-stage") == row["stage"]]
        assert sum(widths) == pytest.approx(row["reached"] / 13087 * charts.WIDTH, abs=0.05)
        xs = sorted(float(r.get("x")) for r in bars(root) if r.get("data-stage") == row["stage"])
        assert xs[0] == 0  # segments start at the left edge and follow each other


def test_funnel_draws_the_expected_bars_by_kind(data):
    root = parse(charts.funnel_chart(data))
    assert len(bars(root)) == fx.expected_bars(data)["funnel"]
    assert [float(r.get("data-value")) for r in bars(root, "lost")] == [
        row["lost"] for row in data["funnel"] if row["lost"]]
    finished = bars(root, "finished")
    assert len(finished) == 1 and float(finished[0].get("data-value")) == 2246
    assert finished[0].get("data-stage") == "A_APPROVED"


def test_funnel_labels_every_number(data):
    text = texts(parse(charts.funnel_chart(data)))
    for row in data["funnel"]:
        assert row["stage"] in text
        assert f"{row['reached']:,} reached" in text
    assert "5,650 lost" in text and "950 lost" in text and "58 open" in text
    assert "70 % moved on" in text  # O_SENT_BACK: 2246 / (3254 - 58)
    assert "2,246 finished" in text


def test_funnel_highlights_only_the_last_mile_stage(data):
    svg = str(charts.funnel_chart(data))
    root = parse(svg)
    assert svg.count('class="band-last-mile"') == 1
    assert svg.count("LAST MILE") == 1
    band = next(r for r in root.iter("rect") if r.get("class") == "band-last-mile")
    label = next(t for t in root.iter("text") if t.get("data-stage") == "O_SENT_BACK")
    band_top, band_h = float(band.get("y")), float(band.get("height"))
    assert band_top < float(label.get("y")) < band_top + band_h


def test_funnel_last_mile_defaults_to_the_stage_before_the_finish(data):
    del data["last_mile"], data["journey"]
    root = parse(charts.funnel_chart(data))
    band = next(r for r in root.iter("rect") if r.get("class") == "band-last-mile")
    label = next(t for t in root.iter("text") if t.get("data-stage") == "O_SENT_BACK")
    assert float(band.get("y")) < float(label.get("y")) < float(band.get("y")) + 60


def test_funnel_stage_with_only_reached_is_one_neutral_bar():
    root = parse(charts.funnel_chart({"funnel": [{"stage": "a", "reached": 10},
                                                 {"stage": "b", "reached": 4}]}))
    assert [(r.get("data-bar"), r.get("data-value")) for r in bars(root)] == [
        ("reached", "10"), ("finished", "4")]


def test_loss_has_one_colour_everywhere(data):
    loss_kinds = {"lost", "failed", "stranded"}
    fills = set()
    for chart in charts.CHARTS.values():
        svg = chart(data)
        assert svg is not None
        for rect in bars(parse(svg)):
            if rect.get("data-bar") in loss_kinds:
                fills.add(rect.get("fill"))
                assert "fill-" + rect.get("data-bar") in rect.get("class")
    assert fills == {charts.COLOURS["lost"]}
    css = (Path(charts.__file__).parent / "static" / "report.css").read_text()
    rule = re.search(r"([^{}]*)\{\s*fill:\s*var\(--loss\);\s*\}", css)
    assert rule and {".fill-lost", ".fill-failed", ".fill-stranded"} <= {
        part.strip().split()[-1] for part in rule.group(1).split(",")}
    # and nothing that is not a loss wears the loss colour
    for chart in charts.CHARTS.values():
        for rect in bars(parse(chart(data))):
            if rect.get("data-bar") not in loss_kinds:
                assert rect.get("fill") != charts.COLOURS["lost"], rect.get("data-bar")


# --- status and last mile -------------------------------------------------------------------


@pytest.mark.parametrize("name,key,total_key", [("status", "status", None),
                                                ("last_mile", "last_mile", "entered")])
def test_breakdown_fills_the_width_in_proportion(data, name, key, total_key):
    root = parse(charts.CHARTS[name](data))
    counts = data[key]
    total = data["cases"] if total_key is None else counts[total_key]
    drawn = bars(root)
    assert len(drawn) == fx.expected_bars(data)[name]
    assert sum(float(r.get("width")) for r in drawn) == pytest.approx(charts.WIDTH, abs=0.05)
    for rect in drawn:
        expected = counts[rect.get("data-bar")] / total * charts.WIDTH
        assert float(rect.get("width")) == pytest.approx(expected, abs=0.01)
    text = texts(root)
    for kind in ("finished", "reversed", "failed", "open"):
        assert f"{counts[kind]:,}" in text  # zero counts are still listed in the legend


def test_status_title_and_description_tell_the_numbers(data):
    root = parse(charts.status_chart(data))
    title, desc = root.find("title"), root.find("desc")
    assert title.text == "How all cases ended"
    assert "10,590 failed (81 %)" in desc.text
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


# --- stranded -------------------------------------------------------------------------------


def test_stranded_bars_are_the_shares_of_all_effort(data):
    root = parse(charts.stranded_chart(data))
    drawn = bars(root, "stranded")
    assert len(drawn) == fx.expected_bars(data)["stranded"] == 3
    shares = [data["stranded"][k] for k in ("share_of_events", "share_of_case_days",
                                            "share_of_cost")]
    for rect, share in zip(drawn, shares, strict=True):
        assert float(rect.get("width")) == pytest.approx(share * charts.WIDTH, abs=0.01)
    tracks = [r for r in root.iter("rect") if r.get("data-bar") == "track"]
    assert [float(t.get("width")) for t in tracks] == [charts.WIDTH] * 3
    # the total effort is derived: 36,100 events are 13.8 % of 262,200
    assert float(tracks[0].get("data-value")) == pytest.approx(262_200)
    text = texts(root)
    assert "36,100 of 262,200" in text and "23 % stranded" in text


def test_stranded_skips_a_measure_without_a_share(data):
    data["stranded"]["share_of_cost"] = None
    root = parse(charts.stranded_chart(data))
    assert len(bars(root, "stranded")) == 2
    assert "Cost" not in texts(root)


# --- trend ----------------------------------------------------------------------------------


def test_trend_points_follow_the_conversion(data):
    root = parse(charts.trend_chart(data))
    points = [c for c in root.iter("circle") if c.get("data-point")]
    assert len(points) == fx.expected_points(data)["trend"] == 6
    convs = [row["conversion"] for row in data["trend"]]
    ys = [float(p.get("cy")) for p in points]
    # the scale is 0..100 %: the top grid line is 100 %, the bottom one 0 %
    grid = sorted(float(g.get("y1")) for g in root.iter("line") if g.get("class") == "grid")
    y100, y0 = grid[0], grid[-1]
    assert y0 - y100 > 100
    for y, c in zip(ys, convs, strict=True):
        assert y == pytest.approx(y0 + (y100 - y0) * c, abs=0.006)
    xs = [float(p.get("cx")) for p in points]
    assert xs == sorted(xs)


def test_trend_volume_bars_are_proportional(data):
    root = parse(charts.trend_chart(data))
    drawn = bars(root, "entered")
    assert len(drawn) == fx.expected_bars(data)["trend"]
    tallest = max(float(r.get("height")) for r in drawn)
    top = max(row["entered"] for row in data["trend"])
    for rect in drawn:
        expected = float(rect.get("data-value")) / top * tallest
        assert float(rect.get("height")) == pytest.approx(expected, abs=0.006)
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 2) for r in drawn}
    assert len(bottoms) == 1  # all bars stand on the same baseline
    text = texts(root)
    assert all(f"{row['entered']:,}" in text for row in data["trend"])
    assert "Oct" in text and "2011" in text and "2012" in text


def test_trend_marks_months_still_open_and_breaks_on_gaps(data):
    root = parse(charts.trend_chart(data))
    hollow = [c for c in root.iter("circle")
              if c.get("data-point") and "provisional" in c.get("class")]
    assert [c.get("data-month") for c in hollow] == ["2012-03"]  # 52 of 492 still open
    assert len([p for p in root.iter("path") if p.get("data-line")]) == 1
    data["trend"][2]["conversion"] = None
    root = parse(charts.trend_chart(data))
    assert len([c for c in root.iter("circle") if c.get("data-point")]) == 5
    assert len([p for p in root.iter("path") if p.get("data-line")]) == 2


def test_trend_thins_labels_on_long_series():
    rows = [{"month": f"{2020 + i // 12}-{i % 12 + 1:02d}", "entered": 100 + i,
             "conversion": 0.5 + (i % 7) / 100} for i in range(36)]
    root = parse(charts.trend_chart({"trend": rows}))
    assert len([c for c in root.iter("circle") if c.get("data-point")]) == 36
    month_labels = [t for t in root.iter("text") if t.text in charts._MONTHS]
    assert 4 <= len(month_labels) <= 9
    pct_labels = [t for t in root.iter("text") if t.text and t.text.endswith("%")
                  and t.get("class") == "t strong"]
    assert len(pct_labels) <= 4


# --- every chart ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(charts.CHARTS))
def test_chart_is_accessible_and_scales(data, name):
    svg = str(charts.CHARTS[name](data))
    root = parse(svg)
    assert root.tag == "svg" and root.get("role") == "img"
    assert re.fullmatch(r"0 0 400 \d+(\.\d+)?", root.get("viewBox"))
    assert root.get("width") is None and root.get("height") is None  # CSS sizes it
    ids = root.get("aria-labelledby").split()
    assert {el.get("id") for el in root.iter() if el.get("id")} >= set(ids)
    assert root.find("title").text and root.find("desc").text
    for rect in bars(root):
        assert rect.find("title") is not None and rect.find("title").text
    # nothing drawn below the viewBox
    height = float(root.get("viewBox").split()[3])
    for el in root.iter():
        for attr in ("y", "cy"):
            if el.get(attr) is not None:
                assert float(el.get(attr)) <= height + 0.01, (el.tag, el.attrib)


@pytest.mark.parametrize("name", sorted(charts.CHARTS))
def test_chart_escapes_hostile_text(name):
    svg = str(charts.CHARTS[name](fx.hostile()))
    assert "<script" not in svg and "<img" not in svg and "</style" not in svg
    root = parse(svg)  # still well-formed
    if name in ("funnel", "last_mile", "trend"):
        whole = svg + "".join(root.itertext())
        assert "&lt;script&gt;" in svg or "<script>" in whole


def test_funnel_hostile_stage_name_round_trips_in_data_attributes():
    root = parse(charts.funnel_chart(fx.hostile()))
    stages = {r.get("data-stage") for r in bars(root)}
    assert fx.HOSTILE in stages and fx.HOSTILE_2 in stages


@pytest.mark.parametrize("name", sorted(charts.CHARTS))
@pytest.mark.parametrize("data", [
    {},
    {"funnel": None, "status": None, "last_mile": None, "stranded": None, "trend": None},
    {"funnel": [], "status": {}, "last_mile": {}, "stranded": {}, "trend": []},
    {"funnel": [{"stage": "a", "reached": 0}], "status": {"finished": 0, "failed": 0},
     "last_mile": {"entered": 0}, "stranded": {"events": 0}, "trend": [{"month": "x"}]},
    {"funnel": ["junk", 3], "status": "junk", "last_mile": [1], "stranded": 7, "trend": "junk"},
])
def test_chart_without_numbers_is_none(name, data):
    assert charts.CHARTS[name](data) is None


def test_charts_tolerate_nulls_inside_rows(data):
    for row in data["funnel"]:
        row.update(moved_on=None, open=None, conversion=None)
    data["funnel"][1].update(reached=None, lost=None)
    data["funnel"][2]["reached"] = float("nan")
    data["status"]["reversed"] = None
    data["last_mile"].update(failed=None, conversion=None)
    data["stranded"].update(events=None, share_of_case_days=None)
    data["trend"][0].update(entered=None, conversion=None)
    for name, chart in charts.CHARTS.items():
        svg = chart(data)
        assert svg is not None, name
        root = parse(svg)
        for rect in bars(root):
            assert math.isfinite(float(rect.get("width"))) and float(rect.get("width")) >= 0
    root = parse(charts.funnel_chart(data))
    assert not [r for r in bars(root) if r.get("data-stage") == "A_PREACCEPTED"]
    assert "lost" in texts(root)


def test_second_shape_reversals_gaps_and_noun():
    data = fx.telecom()
    root = parse(charts.last_mile_chart(data))
    assert [r.get("data-bar") for r in bars(root)] == ["finished", "reversed", "failed", "open"]
    reversed_ = bars(root, "reversed")[0]
    assert float(reversed_.get("width")) == pytest.approx(150 / 3300 * charts.WIDTH, abs=0.01)
    assert reversed_.get("fill") != charts.COLOURS["lost"]
    trend = parse(charts.trend_chart(data))
    assert len([c for c in trend.iter("circle") if c.get("data-point")]) == 25
    assert len([p for p in trend.iter("path") if p.get("data-line")]) == 2  # Aug 2023 gap
    assert "Premises that entered the last mile" in texts(trend)
    assert len(bars(parse(charts.stranded_chart(data)), "stranded")) == 2  # no cost
