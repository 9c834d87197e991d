"""The report in headless Chromium: every chart drawn, no console error, no network request.

Issue 3, Must-show 4. Uses Debian's chromium (``/usr/bin/chromium``) through Playwright's sync
API; skipped outside CI when chromium is not installed (see ``tests/conftest.py``).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

from lastmile.report import write_html

_spec = importlib.util.spec_from_file_location(
    "lastmile_report_test_fixtures", Path(__file__).with_name("fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fx
_spec.loader.exec_module(fx)

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# what every chart looks like in the page: its svg's box and its marks
MEASURE = """() => [...document.querySelectorAll('[data-chart]')].map(el => {
  const svg = el.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : null;
  const marks = (sel) => [...el.querySelectorAll(sel)].map(m => {
    const b = m.getBoundingClientRect();
    return {kind: m.dataset.bar || m.dataset.point, value: Number(m.dataset.value),
            width: b.width, height: b.height, fill: getComputedStyle(m).fill};
  });
  return {chart: el.dataset.chart, svgs: el.querySelectorAll('svg').length,
          width: box ? box.width : 0, height: box ? box.height : 0,
          right: box ? box.right : 0,
          bars: marks('rect[data-bar]:not([data-bar="track"])'),
          points: marks('circle[data-point]'),
          texts: el.querySelectorAll('text').length};
})"""


@pytest.fixture(scope="module")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_report(browser, path: Path, width: int, scheme: str = "light"):
    """Open the file; return the page and what it logged and requested."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    log: dict[str, list[str]] = {"requests": [], "errors": [], "failed": []}
    page.on("request", lambda r: log["requests"].append(r.url))
    page.on("requestfailed", lambda r: log["failed"].append(r.url))
    page.on("console", lambda m: m.type in ("error", "warning") and log["errors"].append(
        f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: log["errors"].append(f"pageerror: {e}"))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # anything late (fonts, favicon, prefetch) would show up now
    return page, log


@pytest.mark.parametrize("shape,width", [("bpic2012", 1280), ("bpic2012", 390),
                                         ("telecom", 390)])
def test_report_renders_offline_in_chromium(browser, tmp_path, shape, width):
    data = getattr(fx, shape)()
    path = write_html(data, tmp_path / "report.html")
    page, log = open_report(browser, path, width)
    try:
        charts = page.evaluate(MEASURE)
        assert log["errors"] == []
        assert log["requests"] == [path.as_uri()], "the page requested something else"
        assert log["failed"] == []

        expected_bars, expected_points = fx.expected_bars(data), fx.expected_points(data)
        assert sorted(c["chart"] for c in charts) == sorted(expected_bars)
        for chart in charts:
            name = chart["chart"]
            assert chart["svgs"] == 1, name
            assert chart["width"] > 200 and chart["height"] > 50, name
            assert chart["right"] <= width, f"{name} sticks out of the screen"
            assert len(chart["bars"]) == expected_bars[name], name
            assert len(chart["points"]) == expected_points.get(name, 0), name
            assert chart["texts"] > 3, name
            for bar in chart["bars"]:
                assert bar["width"] > 0 and bar["height"] > 0, (name, bar)
            for point in chart["points"]:
                assert point["width"] > 0 and point["height"] > 0, (name, point)

        by_name = {c["chart"]: c for c in charts}
        # drawn sizes keep the proportions of the numbers (funnel: widths; trend: heights)
        funnel = by_name["funnel"]["bars"]
        scale = funnel[0]["width"] / funnel[0]["value"]
        for bar in funnel:
            assert bar["width"] == pytest.approx(bar["value"] * scale, rel=0.02, abs=0.3)
        entered = by_name["trend"]["bars"]
        scale = entered[0]["height"] / entered[0]["value"]
        for bar in entered:
            assert bar["height"] == pytest.approx(bar["value"] * scale, rel=0.02, abs=0.3)
        # one colour for loss, in every chart, as the CSS paints it
        loss_fills = {b["fill"] for c in charts for b in c["bars"]
                      if b["kind"] in ("lost", "failed", "stranded")}
        assert len(loss_fills) == 1
        other_fills = {b["fill"] for c in charts for b in c["bars"]
                       if b["kind"] not in ("lost", "failed", "stranded")}
        assert loss_fills.isdisjoint(other_fills)

        # readable: nothing wider than the screen, chart text not tiny
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
            '[data-chart] text')].map(t => t.getBoundingClientRect().height)
            .filter(h => h > 0))""")
        assert smallest >= 9, f"chart text only {smallest:.1f}px high"
        shot = tmp_path / f"{shape}_{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_report_dark_mode_and_hostile_names(browser, tmp_path):
    data = fx.hostile()
    path = write_html(data, tmp_path / "hostile.html")
    page, log = open_report(browser, path, 390, scheme="dark")
    try:
        assert log["errors"] == [] and log["requests"] == [path.as_uri()]
        # nothing from the data ran or was parsed as markup
        assert page.evaluate("document.scripts.length") == 1
        assert page.evaluate("document.images.length") == 0
        assert page.evaluate("typeof window.alert") == "function"
        assert fx.HOSTILE in page.title()
        assert page.locator("text=" + fx.HOSTILE).count() >= 1
        # dark background, light text
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        ink = page.evaluate("getComputedStyle(document.body).color")
        def lum(rgb: str) -> float:
            r, g, b = (int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
            return 0.2126 * r + 0.7152 * g + 0.0722 * b
        assert lum(bg) < 60 < 180 < lum(ink)
        charts = page.evaluate(MEASURE)
        assert len(charts) == 8 and all(c["width"] > 0 and c["height"] > 0 for c in charts)
        # long hostile names wrap or are cut; they do not push the page sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()


def test_evaluation_page_draws_the_calibration_in_chromium(browser, tmp_path):
    """The page of `lastmile evaluate --html`: offline, and the points where the numbers say."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "queue"))
    from queue_logs import AS_OF, JOURNEY, handmade

    from lastmile.queue import evaluate_model

    ev = evaluate_model(handmade(n=700, seed=3), JOURNEY, as_of=AS_OF).to_dict()
    path = write_html({"title": "Risk model evaluation", "risk": ev}, tmp_path / "e.html")
    for width in (390, 1280):
        page, log = open_report(browser, path, width)
        try:
            assert log["errors"] == [] and log["requests"] == [path.as_uri()]
            charts = page.evaluate(MEASURE)
            assert [c["chart"] for c in charts] == ["risk"]
            chart = charts[0]
            assert chart["width"] > 200 and chart["right"] <= width
            drawn = page.evaluate("""() => [...document.querySelectorAll(
                '[data-chart="risk"] circle[data-point]')].map(c => {
                const b = c.getBoundingClientRect();
                return {observed: Number(c.dataset.value), x: b.x + b.width / 2,
                        y: b.y + b.height / 2}; })""")
            rows = [r for r in ev["calibration"] if r["n"] > 0]
            assert len(drawn) == len(rows) > 1
            # higher observed failure rate, higher on the screen (smaller y)
            by_obs = sorted(drawn, key=lambda d: d["observed"])
            for lo, hi in itertools.pairwise(by_obs):
                if hi["observed"] > lo["observed"]:
                    assert hi["y"] < lo["y"]
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            page.close()
