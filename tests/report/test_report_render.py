"""The HTML page: headline in words, every section, tables, no outside references, escaping."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from lastmile import LastmileError
from lastmile.report import SECTIONS, headline, render_html, write_html
from lastmile.report.charts import CHARTS

_spec = importlib.util.spec_from_file_location(
    "lastmile_report_test_fixtures", Path(__file__).with_name("fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fx
_spec.loader.exec_module(fx)


class Page(HTMLParser):
    """Collects what the tests look at: tags with attributes, scripts, visible text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style", "title", "desc"):
            self._in.append(tag)
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        if self._in and self._in[-1] == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif not self._in:
            self.text.append(data)

    @property
    def words(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


@pytest.fixture
def data() -> dict:
    return fx.bpic2012()


def test_page_has_every_chart_once(data):
    page = Page(render_html(data))
    charts = [a["data-chart"] for _tag, a in page.tags if "data-chart" in a]
    assert sorted(charts) == sorted(CHARTS) == ["funnel", "last_mile", "risk", "status",
                                                "stranded", "timing", "trend", "why"]
    svgs = [a for tag, a in page.tags if tag == "svg"]
    assert len(svgs) == len(CHARTS)
    ids = [a["id"] for _tag, a in page.tags if a.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"


def test_headline_in_plain_words(data):
    words = Page(render_html(data)).words
    assert "13,087 cases set out; 2,246 finished (17 % of all), 10,590 failed" in words
    assert ("3,254 cases reached the last mile (O_SENT_BACK); 2,246 finished there: "
            "a last-mile conversion of 70 % (the 58 still open are left out).") in words
    assert "950 failed there: 9.0 % of all failures happened in the last mile." in words
    assert "36,100 events (14 % of all)" in words and "25,935 case-days (23 % of all)" in words
    assert "Value lost in the last mile: 15,580,250 (sum of AMOUNT_REQ)." in words


def test_headline_uses_the_journey_noun_and_skips_what_is_missing(data):
    data["journey"]["noun"] = "applications"
    del data["stranded"], data["status"]
    sentences = [str(s) for s in headline(data)]
    assert len(sentences) == 2
    assert sentences[0].startswith("<strong>3,254</strong> applications reached the last mile")


def test_tables_carry_the_numbers_behind_the_charts(data):
    text = render_html(data)
    funnel = re.search(r'<section id="funnel".*?</section>', text, re.S).group(0)
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>", funnel, re.S)
    assert [re.sub(r"<.*", "", r, flags=re.S).strip() for r in rows] == fx.STAGES
    assert re.search(r'<tr class="is-last-mile">\s*<th scope="row">O_SENT_BACK', funnel)
    for number in ("13,087", "7,367", "5,650", "1,700", "950", "57 %", "6.7 d · 19.2 d"):
        assert f">{number}<" in funnel
    trend = re.search(r'<section id="trend".*?</section>', text, re.S).group(0)
    assert trend.count("<tr>") == len(data["trend"]) + 1
    assert ">Mar 2012<" in trend and ">68 %<" in trend
    quarantine = re.search(r'<section id="quarantine".*?</section>', text, re.S).group(0)
    assert ">timestamp could not be parsed<" in quarantine and ">262,204<" in quarantine
    assert "4</strong> of 262,204 rows (&lt; 0.1 %) were quarantined" in quarantine


def test_loss_numbers_wear_the_loss_class_only_when_there_is_a_loss(data):
    text = render_html(data)
    funnel = re.search(r'<section id="funnel".*?</section>', text, re.S).group(0)
    assert '<td class="loss">5,650</td>' in funnel
    assert '<td class="loss">0</td>' not in text  # the finish loses nothing; no reversals


def test_journey_definition_is_shown(data):
    text = render_html(data)
    journey = re.search(r'<section id="journey".*?</section>', text, re.S).group(0)
    assert journey.count("<li") == 6
    assert "<code>A_DECLINED</code><code>A_CANCELLED</code>" in journey
    assert "30d of silence" in journey and "<code>AMOUNT_REQ</code>" in journey
    assert re.search(r'<li class="is-last-mile">\s*<span class="stage-name">O_SENT_BACK', journey)
    assert re.search(r'<li class="is-finish">\s*<span class="stage-name">A_APPROVED', journey)


def test_quarantine_all_clear(data):
    data["quarantine"] = {"read": 10, "loaded": 10, "quarantined": 0, "reasons": {}}
    words = Page(render_html(data)).words
    assert "All 10 rows read were loaded; none were quarantined." in words
    assert "Why rows were quarantined" not in words


def test_page_makes_no_outside_reference(data):
    text = render_html(data)
    page = Page(text)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "poster", "srcset", "data", "xlink:href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#"), (tag, name, value)
        assert tag not in ("link", "iframe", "img", "object", "embed", "base", "form")
    assert not re.search(r"https?:|//[a-z]|url\(|@import|@font-face", text, re.I)
    scripts = page.scripts
    assert len(scripts) == 1 and scripts[0][0] == {"type": "application/json",
                                                   "id": "lastmile-data"}


def test_embedded_data_round_trips(data):
    page = Page(render_html(data))
    assert json.loads(page.scripts[0][1]) == data


def test_hostile_text_is_escaped_everywhere():
    data = fx.hostile()
    text = render_html(data)
    page = Page(text)
    assert [t for t, _ in page.tags].count("script") == 1
    assert [t for t, _ in page.tags].count("img") == 0
    assert [t for t, _ in page.tags].count("style") == 1
    assert fx.HOSTILE not in text and fx.HOSTILE_2 not in text
    assert "<script>alert" not in text and "<img" not in text
    assert str(escape(fx.HOSTILE)) in text  # shown, as text
    assert fx.HOSTILE in page.words and fx.HOSTILE_2 in page.words
    assert json.loads(page.scripts[0][1]) == data  # the JSON copy is intact and inert
    assert "</script" not in page.scripts[0][1]


@pytest.mark.parametrize("key", ["schema", "title", "source", "generated_at", "journey",
                                 "as_of", "cases", "events", "status", "funnel", "last_mile",
                                 "stranded", "trend", "quarantine"])
def test_any_key_may_be_missing_or_null(data, key):
    for value in ("missing", None):
        variant = fx.bpic2012()
        if value == "missing":
            del variant[key]
        else:
            variant[key] = None
        text = render_html(variant)
        assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
        section = next((s for s in SECTIONS if s.key == key), None)
        if section is not None:
            assert f'<section id="{key}"' not in text
            assert f'data-chart="{key}"' not in text
        assert "Undefined" not in text and "None" not in text


def test_every_leaf_null_still_renders(data):
    def nullify(value):
        if isinstance(value, dict):
            return {k: nullify(v) if k != "schema" else v for k, v in value.items()}
        if isinstance(value, list):
            return [nullify(v) for v in value]
        return None

    text = render_html(nullify(data))
    words = Page(text).words
    assert "None" not in words and "NaN" not in words and "Undefined" not in words
    assert "data-chart" not in text  # nothing to draw
    assert "<h2" in text  # but the sections with rows are there, with dashes
    assert ">–<" in text


def test_empty_report_says_so():
    words = Page(render_html({})).words
    assert "This report has no numbers yet." in words


def test_not_a_report_is_refused():
    with pytest.raises(LastmileError, match="must be a dict"):
        render_html([1, 2])  # type: ignore[arg-type]
    with pytest.raises(LastmileError, match="not a lastmile report"):
        render_html({"schema": "something.else/1"})


def test_write_html(tmp_path, data):
    out = write_html(data, tmp_path / "deep" / "er" / "report.html")
    assert out == tmp_path / "deep" / "er" / "report.html"
    assert out.read_text(encoding="utf-8") == render_html(data)
    write_html({"cases": 1}, str(out))  # a str path works and overwrites
    assert "data-chart" not in out.read_text(encoding="utf-8")


def test_sections_are_one_macro_each():
    template = (Path(__file__).parents[2] / "src/lastmile/report/templates/report.html.j2")
    source = template.read_text()
    for section in SECTIONS:
        assert f"{{% macro {section.key}(s, d) %}}" in source
        assert f'"{section.key}": {section.key}' in source
        if section.chart is not None:
            assert CHARTS[section.key] is section.chart


def test_dark_mode_and_phone_rules_exist():
    css = (Path(__file__).parents[2] / "src/lastmile/report/static/report.css").read_text()
    assert "@media (prefers-color-scheme: dark)" in css
    assert re.search(r"svg\.chart\s*\{[^}]*width:\s*100%[^}]*height:\s*auto", css)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in \
        render_html({})


def test_numpy_and_decimal_numbers_render_like_python_numbers(data):
    np = pytest.importorskip("numpy")
    from decimal import Decimal

    def convert(value):
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return np.int64(value)
        if isinstance(value, float):
            return Decimal(repr(value)) if value > 1 else np.float64(value)
        return value

    converted = convert(data)
    assert isinstance(converted["cases"], np.int64)
    expected = render_html(data)
    assert render_html(converted) == expected
    assert json.loads(Page(expected).scripts[0][1]) == data


def test_trend_shows_reversals_only_when_there_are_some(data):
    trend = re.search(r'<section id="trend".*?</section>', render_html(data), re.S).group(0)
    assert ">Reversed<" not in trend  # BPIC 2012: none
    assert "last event 14 Mar 2012, 15:04" in Page(render_html(data)).words
    telecom = re.search(r'<section id="trend".*?</section>', render_html(fx.telecom()),
                        re.S).group(0)
    assert ">Reversed<" in telecom and '<td class="loss">6</td>' in telecom
    rows = re.findall(r"<tr>(.*?)</tr>", telecom, re.S)
    assert {len(re.findall(r"<t[hd][ >]", row)) for row in rows} == {7}
