"""Charts of the report, as inline SVG written in Python: no JavaScript, no network.

Every chart is a function ``chart(data, uid) -> Markup | None`` that takes the whole report
dict (schema ``lastmile.report/1``) and returns one ``<svg>`` element, or ``None`` when the data
it needs is missing. Conventions shared by all charts:

- a ``viewBox`` and no fixed size, so the page's CSS scales it to a 375 px phone or a laptop;
- ``role="img"`` with a ``<title>`` and a ``<desc>`` that say what the chart shows in words;
- every bar is a ``<rect data-bar="KIND" data-value="N">`` with its own ``<title>``, every point
  a ``<circle data-point=... data-value=...>``: the numbers are in the markup, for tests and
  for screen readers;
- colour carries meaning and is the same in every chart: ``loss`` (failed, lost, stranded) is
  always the one warm colour; ``finished`` and ``moved on`` are blues; ``open`` is grey. The CSS
  variables ``--loss`` etc. override the fallback colours written here (and switch in dark
  mode);
- every piece of text from the data is escaped (a stage may be called ``<script>``).

The number formatters (:func:`fmt_int`, :func:`fmt_pct`, :func:`fmt_hours`) are also the
template's filters, so the tables and the charts print numbers the same way.

>>> from lastmile.report.charts import funnel_chart
>>> svg = funnel_chart({"funnel": [{"stage": "asked", "reached": 10, "moved_on": 6, "lost": 4},
...                                {"stage": "done", "reached": 6}]})
>>> svg.count('data-bar="lost"'), svg.count('data-bar="finished"')
(1, 1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

__all__ = [
    "CHARTS",
    "COLOURS",
    "finish_stage",
    "fmt_hours",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "funnel_chart",
    "last_mile_chart",
    "last_mile_stage",
    "month_label",
    "status_chart",
    "stranded_chart",
    "text_width",
    "trend_chart",
]

#: Fallback fill of each kind of mark; the page's CSS variables ``--<kind>`` take precedence.
COLOURS: dict[str, str] = {
    "moved_on": "#3f6fb0",
    "finished": "#0f6e8c",
    "lost": "#cc4a1f",
    "failed": "#cc4a1f",
    "stranded": "#cc4a1f",
    "reversed": "#8a5fbf",
    "open": "#a3acb6",
    "reached": "#7a8694",
    "entered": "#b9c6d6",
    "track": "#e8ecf0",
}

#: Words for each kind of mark, as printed in labels and legends.
WORDS: dict[str, str] = {
    "moved_on": "moved on",
    "finished": "finished",
    "lost": "lost",
    "failed": "failed",
    "reversed": "reversed",
    "open": "open",
    "reached": "reached",
}

WIDTH = 400  # width of every viewBox, in user units; text sizes below are in the same units
FONT = 16  # main label size
SMALL = 14  # secondary label size


# ---------------------------------------------------------------------------------------------
# numbers


def _num(value: Any) -> float | None:
    """A finite number, or None for anything else (None, NaN, strings, booleans).

    NumPy scalars and ``Decimal`` (as PostgreSQL returns) count as numbers.

    >>> from decimal import Decimal
    >>> _num(3), _num(2.5), _num(Decimal("1.5")), _num(None), _num(float("nan"))
    (3.0, 2.5, 1.5, None, None)
    >>> _num(True), _num("7")
    (None, None)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def fmt_int(value: Any) -> str:
    """A count with thousands separators; an en dash when missing.

    >>> fmt_int(13087), fmt_int(2246.0), fmt_int(None)
    ('13,087', '2,246', '–')
    """
    number = _num(value)
    return "–" if number is None else f"{round(number):,}"


def fmt_num(value: Any, digits: int = 1) -> str:
    """A quantity such as case-days or cost: separators, decimals only where they matter.

    >>> fmt_num(17123.46), fmt_num(12.345), fmt_num(0.25), fmt_num(None)
    ('17,123', '12.3', '0.25', '–')
    """
    number = _num(value)
    if number is None:
        return "–"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    if abs(number) >= 1:
        return f"{number:,.{digits}f}".rstrip("0").rstrip(".")
    return f"{number:.2f}".rstrip("0").rstrip(".") or "0"


def fmt_pct(value: Any) -> str:
    """A share (0..1) as a percentage: whole numbers from 10 %, one decimal below.

    >>> fmt_pct(0.7028), fmt_pct(0.0897), fmt_pct(0.0), fmt_pct(1), fmt_pct(0.00002)
    ('70 %', '9.0 %', '0 %', '100 %', '< 0.1 %')
    >>> fmt_pct(None)
    '–'
    """
    number = _num(value)
    if number is None:
        return "–"
    pct = 100 * number
    if pct == 0 or abs(pct) >= 9.95:
        return f"{pct:.0f} %"
    if abs(pct) < 0.05:
        return "< 0.1 %" if pct > 0 else "> -0.1 %"
    return f"{pct:.1f} %"


def fmt_hours(value: Any) -> str:
    """A duration given in hours, in the unit a person would use.

    >>> fmt_hours(0.5), fmt_hours(20.26), fmt_hours(75), fmt_hours(None)
    ('30 min', '20 h', '3.1 d', '–')
    """
    hours = _num(value)
    if hours is None:
        return "–"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} d"


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def month_label(month: Any, with_year: bool = True) -> str:
    """``"2011-10"`` as ``"Oct 2011"`` (or ``"Oct"``); other text is returned unchanged.

    >>> month_label("2011-10"), month_label("2012-01", with_year=False), month_label("Q3")
    ('Oct 2011', 'Jan', 'Q3')
    """
    text = "" if month is None else str(month)
    year, _, mon = text.partition("-")
    if len(year) == 4 and year.isdigit() and mon[:2].isdigit() and 1 <= int(mon[:2]) <= 12:
        name = _MONTHS[int(mon[:2]) - 1]
        return f"{name} {year}" if with_year else name
    return text


# ---------------------------------------------------------------------------------------------
# SVG building blocks


def _f(x: float) -> str:
    """A coordinate, short.

    >>> _f(12.0), _f(3.14159), _f(-0.5)
    ('12', '3.14', '-0.5')
    """
    return f"{x:.2f}".rstrip("0").rstrip(".")


def text_width(text: str, size: float = FONT, bold: bool = False) -> float:
    """A generous estimate of the width of ``text`` in a sans-serif font (DejaVu-like widths).

    Used to place a tag after a name and to shorten names that would not fit; it errs wide.

    >>> round(text_width("O_SENT_BACK", 16, bold=True))
    142
    """
    em = 0.0
    for char in text:
        if char.isupper() or char in "%_@&MW":
            em += 0.72
        elif char.isdigit():
            em += 0.64
        elif char in " .,:;·'|!ilIjft()[]":
            em += 0.34
        else:
            em += 0.6
    return em * size * (1.12 if bold else 1.0)


def _fit(text: str, room: float, size: float = FONT, bold: bool = False) -> str:
    """``text``, cut with an ellipsis so that it fits in ``room``.

    >>> _fit("short", 400), _fit("a rather long stage name indeed", 120)
    ('short', 'a rather long…')
    """
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _attrs(attrs: Mapping[str, Any]) -> str:
    return "".join(
        f' {key.rstrip("_").replace("_", "-")}="{escape(value)}"'
        for key, value in attrs.items()
        if value is not None
    )


def _text(
    x: float, y: float, content: Any, cls: str = "t", size: float = FONT, **attrs: Any
) -> str:
    """A ``<text>`` element; the content is escaped."""
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" class="{cls}" font-size="{_f(size)}"{_attrs(attrs)}>'
        f"{escape(content)}</text>"
    )


def _rect(
    x: float, y: float, w: float, h: float, kind: str, label: str, value: float | None,
    cls: str = "bar", **attrs: Any,
) -> str:
    """A bar: ``data-bar`` is its kind, ``data-value`` its number, ``<title>`` its words."""
    data_value = "" if value is None else _f(value)
    return (
        f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(max(w, 0.0))}" height="{_f(h)}"'
        f' class="{cls} fill-{kind}" fill="{COLOURS.get(kind, "#888")}" data-bar="{kind}"'
        f' data-value="{data_value}"{_attrs(attrs)}><title>{escape(label)}</title></rect>'
    )


def _swatch(x: float, y: float, kind: str) -> str:
    return (f'<rect x="{_f(x)}" y="{_f(y)}" width="12" height="12" rx="2"'
            f' class="swatch fill-{kind}" fill="{COLOURS.get(kind, "#888")}"/>')


def _svg(uid: str, height: float, title: str, desc: str, body: Iterable[str]) -> Markup:
    """Wrap marks into an accessible, scalable ``<svg>``."""
    uid = str(escape(uid))
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {_f(height)}" role="img"'
        f' aria-labelledby="{uid}-title {uid}-desc" font-size="{FONT}">'
        f'<title id="{uid}-title">{escape(title)}</title>'
        f'<desc id="{uid}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _legend(y: float, items: Sequence[tuple[str, str]]) -> tuple[list[str], float]:
    """A row (wrapping) of colour swatches with words; returns marks and the height used."""
    marks: list[str] = []
    x, row = 0.0, 0
    for kind, words in items:
        width = 18 + text_width(words, SMALL)
        if x > 0 and x + width > WIDTH:
            x, row = 0.0, row + 1
        top = y + row * 22
        marks.append(_swatch(x, top + 3, kind))
        marks.append(_text(x + 17, top + 14, words, "t", SMALL))
        x += width + 14
    return marks, (row + 1) * 22


def _stages(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = data.get("funnel")
    if not isinstance(rows, list):
        return []
    return [row for row in rows if isinstance(row, dict)]


def _journey(data: Mapping[str, Any]) -> dict[str, Any]:
    journey = data.get("journey")
    return journey if isinstance(journey, dict) else {}


def _noun(data: Mapping[str, Any]) -> str:
    """What a case is called (``journey.noun``, plural), by default "cases"."""
    noun = _journey(data).get("noun")
    return str(noun) if noun else "cases"


def last_mile_stage(data: Mapping[str, Any]) -> str | None:
    """Name of the stage where the last mile begins: from ``last_mile``, the journey, or the
    funnel (the stage before the last).

    >>> last_mile_stage({"funnel": [{"stage": "a"}, {"stage": "b"}, {"stage": "c"}]})
    'b'
    """
    last_mile = data.get("last_mile")
    if isinstance(last_mile, dict) and last_mile.get("stage"):
        return str(last_mile["stage"])
    if _journey(data).get("last_mile"):
        return str(_journey(data)["last_mile"])
    stages = _stages(data)
    name = stages[-2].get("stage") if len(stages) >= 2 else None
    return None if name is None else str(name)


def finish_stage(data: Mapping[str, Any]) -> str | None:
    """Name of the finish stage: from the journey, or the last stage of the funnel.

    >>> finish_stage({"journey": {"finish": "signed"}}), finish_stage({"funnel": [{"stage": "x"}]})
    ('signed', 'x')
    """
    if _journey(data).get("finish"):
        return str(_journey(data)["finish"])
    stages = _stages(data)
    name = stages[-1].get("stage") if stages else None
    return None if name is None else str(name)


# ---------------------------------------------------------------------------------------------
# charts


def funnel_chart(data: Mapping[str, Any], uid: str = "funnel") -> Markup | None:
    """The funnel: one row per stage, a bar as long as the cases that reached it, split into
    those that moved on, were lost there and are still open there. The finish stage is drawn
    as finished; the stage where the last mile begins is highlighted.

    All bars share one scale (the largest ``reached``), so widths are proportional to counts.

    >>> svg = funnel_chart({"funnel": [{"stage": "<b>", "reached": 8, "moved_on": 4,
    ...                                 "lost": 3, "open": 1}, {"stage": "end", "reached": 4}]})
    >>> "&lt;b&gt;" in svg and "<b>" not in svg
    True
    >>> funnel_chart({}) is None
    True
    """
    stages = _stages(data)
    top = max((r for r in (_num(s.get("reached")) for s in stages) if r is not None),
              default=None)
    if not stages or top is None or top <= 0:
        return None
    lm_name, finish_name = last_mile_stage(data), finish_stage(data)
    kinds_used: list[str] = []
    marks: list[str] = []
    legend_top, y = 0.0, 34.0  # the legend is drawn last, when we know which kinds appear
    row_h, bar_h = 74.0, 20.0
    for index, stage in enumerate(stages):
        name = "" if stage.get("stage") is None else str(stage.get("stage"))
        reached = _num(stage.get("reached"))
        is_lm = lm_name is not None and name == lm_name
        is_finish = name == finish_name if finish_name is not None else index == len(stages) - 1
        x0 = 6.0 if is_lm else 0.0
        if is_lm:
            marks.append(
                f'<rect x="-6" y="{_f(y - 6)}" width="{WIDTH + 12}" height="{_f(row_h - 6)}"'
                f' rx="6" class="band-last-mile" fill="#fcefe9"/>'
                f'<rect x="-6" y="{_f(y - 6)}" width="4" height="{_f(row_h - 6)}"'
                f' class="fill-lost" fill="{COLOURS["lost"]}"/>'
            )
        # line 1: the name (and the last-mile tag) on the left, the number reached on the right
        right = "" if reached is None else f"{fmt_int(reached)} reached"
        room = WIDTH - x0 - text_width(right, FONT, bold=is_lm) - 16 - (96 if is_lm else 0)
        label = _fit(name, room, FONT, bold=True)
        marks.append(_text(x0, y + 15, label, "t strong", FONT, data_stage=name))
        if is_lm:
            tag_x = x0 + text_width(label, FONT, bold=True) + 10
            marks.append(
                f'<rect x="{_f(tag_x)}" y="{_f(y + 1)}" width="82" height="18" rx="9"'
                f' class="tag-box" fill="none" stroke="{COLOURS["lost"]}"/>'
            )
            marks.append(_text(tag_x + 41, y + 14, "LAST MILE", "t tag-lost", 11,
                               text_anchor="middle"))
        if right:
            marks.append(_text(WIDTH, y + 15, right, "t strong" if is_lm else "t", FONT,
                               text_anchor="end"))
        # the bar
        bar_y = y + 23
        parts: list[tuple[str, float]] = []
        if is_finish and reached:
            parts = [("finished", reached)]
        else:
            for kind in ("moved_on", "lost", "open"):
                value = _num(stage.get(kind))
                if value is not None and value > 0:
                    parts.append((kind, value))
            if not parts and reached:
                parts = [("reached", reached)]
        x = 0.0
        for kind, value in parts:
            width = value / top * WIDTH
            marks.append(_rect(x, bar_y, width, bar_h, kind,
                               f"{name}: {fmt_int(value)} {WORDS[kind]}", value,
                               data_stage=name))
            x += width
            if kind not in kinds_used:
                kinds_used.append(kind)
        # line 2: what happened there, in the colours of the bar
        words: list[tuple[str, str]] = []
        if is_finish and reached is not None:
            words.append(("finished", f"{fmt_int(reached)} finished"))
        else:
            for kind in ("lost", "open"):
                value = _num(stage.get(kind))
                if value is not None:
                    words.append((kind, f"{fmt_int(value)} {WORDS[kind]}"))
            conversion = _num(stage.get("conversion"))
            if conversion is not None:
                words.append(("moved_on", f"{fmt_pct(conversion)} moved on"))
            elif _num(stage.get("moved_on")) is not None:
                words.append(("moved_on", f"{fmt_int(stage.get('moved_on'))} moved on"))
        spans = '<tspan class="sep"> · </tspan>'.join(
            f'<tspan class="w-{kind}">{escape(text)}</tspan>' for kind, text in words
        )
        if spans:
            marks.append(f'<text x="{_f(x0)}" y="{_f(bar_y + bar_h + 18)}" class="t"'
                         f' font-size="{SMALL}">{spans}</text>')
        y += row_h
    order = ("moved_on", "lost", "open", "finished", "reached")
    legend, _legend_h = _legend(legend_top, [(k, WORDS[k]) for k in order if k in kinds_used])
    first, last = stages[0], stages[-1]
    desc = (
        f"{fmt_int(first.get('reached'))} cases reached {first.get('stage') or 'the first stage'};"
        f" {fmt_int(last.get('reached'))} reached {last.get('stage') or 'the last stage'}."
    )
    lm = next((s for s in stages if lm_name is not None and str(s.get("stage")) == lm_name), None)
    if lm is not None:
        desc += (
            f" The last mile begins at {lm_name}: {fmt_int(lm.get('reached'))} reached it,"
            f" {fmt_int(lm.get('lost'))} were lost there."
        )
    return _svg(uid, y - 12, "Where cases are lost, stage by stage", desc, [*legend, *marks])


def _breakdown_chart(
    uid: str, title: str, counts: Mapping[str, Any], order: Sequence[str], total: float | None,
    noun: str,
) -> Markup | None:
    """One bar of 100 %: the share of each outcome, with a legend that gives each number."""
    values = {kind: _num(counts.get(kind)) for kind in order}
    known = {k: v for k, v in values.items() if v is not None}
    if total is None or total <= 0:
        total = sum(known.values())
    if not known or total <= 0:
        return None
    marks: list[str] = []
    x, bar_h = 0.0, 30.0
    for kind in order:
        value = values[kind]
        if value is None or value <= 0:
            continue
        width = value / total * WIDTH
        marks.append(_rect(x, 0, width, bar_h, kind,
                           f"{fmt_int(value)} {WORDS[kind]} ({fmt_pct(value / total)})", value))
        x += width
    # legend in two columns: swatch, count, words, share
    y = bar_h + 14
    col_w = WIDTH / 2
    for i, kind in enumerate(k for k in order if k in known):
        value = known[kind]
        cx, cy = (i % 2) * col_w, y + (i // 2) * 28
        marks.append(_swatch(cx, cy + 4, kind))
        marks.append(
            f'<text x="{_f(cx + 18)}" y="{_f(cy + 15)}" class="t" font-size="{FONT}">'
            f'<tspan class="strong">{escape(fmt_int(value))}</tspan> {escape(WORDS[kind])}'
            f' <tspan class="muted">{escape(fmt_pct(value / total))}</tspan></text>'
        )
    rows = (len(known) + 1) // 2
    desc = f"Of {fmt_int(total)} {noun}: " + ", ".join(
        f"{fmt_int(v)} {WORDS[k]} ({fmt_pct(v / total)})" for k, v in known.items()
    ) + "."
    return _svg(uid, y + rows * 28 - 6, title, desc, marks)


def status_chart(data: Mapping[str, Any], uid: str = "status") -> Markup | None:
    """How all cases ended: finished, reversed, failed, open, as one bar of 100 %.

    >>> svg = status_chart({"status": {"finished": 3, "reversed": 0, "failed": 1, "open": 0}})
    >>> svg.count("data-bar="), '3 finished (75 %)' in svg
    (2, True)
    """
    status = data.get("status")
    if not isinstance(status, dict):
        return None
    return _breakdown_chart(uid, "How all cases ended", status,
                            ("finished", "reversed", "failed", "open"), _num(data.get("cases")),
                            "cases")


def last_mile_chart(data: Mapping[str, Any], uid: str = "last_mile") -> Markup | None:
    """How the cases that entered the last mile ended, as one bar of 100 %.

    >>> svg = last_mile_chart({"last_mile": {"stage": "s", "entered": 4, "finished": 2,
    ...                                      "failed": 1, "reversed": 0, "open": 1}})
    >>> svg.count('data-bar="failed"'), svg.count('data-bar="reversed"')
    (1, 0)
    """
    last_mile = data.get("last_mile")
    if not isinstance(last_mile, dict):
        return None
    stage = last_mile.get("stage") or last_mile_stage(data) or "the last mile"
    return _breakdown_chart(uid, f"How the cases that reached {stage} ended", last_mile,
                            ("finished", "reversed", "failed", "open"),
                            _num(last_mile.get("entered")), "cases in the last mile")


_STRANDED = (
    ("events", "Events", "share_of_events", fmt_int),
    ("case_days", "Case-days", "share_of_case_days", fmt_num),
    ("cost", "Cost", "share_of_cost", fmt_num),
)


def stranded_chart(data: Mapping[str, Any], uid: str = "stranded") -> Markup | None:
    """Stranded investment: for events, case-days and cost, a bar of all effort spent (100 %)
    with the part sunk into cases that failed in the last mile in the loss colour.

    >>> svg = stranded_chart({"stranded": {"events": 25, "share_of_events": 0.25}})
    >>> 'data-bar="stranded"' in svg and "25 %" in svg
    True
    """
    stranded = data.get("stranded")
    if not isinstance(stranded, dict):
        return None
    marks: list[str] = []
    y = 0.0
    bar_h = 20.0
    for key, words, share_key, fmt in _STRANDED:
        share = _num(stranded.get(share_key))
        amount = _num(stranded.get(key))
        if share is None:
            continue
        share = min(max(share, 0.0), 1.0)
        total = amount / share if amount is not None and share > 0 else None
        marks.append(_text(0, y + 15, words, "t strong"))
        marks.append(_text(WIDTH, y + 15, f"{fmt_pct(share)} stranded", "t strong w-lost",
                           text_anchor="end"))
        all_words = f"all {words.lower()}" + (f": {fmt(total)}" if total is not None else "")
        marks.append(_rect(0, y + 23, WIDTH, bar_h, "track", all_words, total,
                           cls="bar track"))
        marks.append(_rect(0, y + 23, share * WIDTH, bar_h, "stranded",
                           f"{words}: {fmt(amount)} sunk into last-mile failures "
                           f"({fmt_pct(share)} of all)", amount, data_share=_f(share)))
        detail = f"{fmt(amount)} of {fmt(total)}" if total is not None else fmt(amount)
        marks.append(_text(0, y + 23 + bar_h + 18, detail, "t muted", SMALL))
        y += 74
    if not marks:
        return None
    legend, legend_h = _legend(y - 4, [("stranded", "sunk into last-mile failures"),
                                       ("track", "all effort")])
    desc = "; ".join(
        f"{words}: {fmt_pct(stranded.get(share_key))} of all"
        for _key, words, share_key, _fmt in _STRANDED
        if _num(stranded.get(share_key)) is not None
    )
    return _svg(uid, y - 4 + legend_h, "Effort sunk into cases that failed in the last mile",
                desc + ".", [*marks, *legend])


def trend_chart(data: Mapping[str, Any], uid: str = "trend") -> Markup | None:
    """Last-mile conversion by the month cases entered the last mile (a line with points on a
    0-100 % scale), above the number of cases that entered each month (bars).

    A point is hollow when more than a tenth of that month's cases are still open: its
    conversion may still change.

    >>> svg = trend_chart({"trend": [{"month": "2012-01", "entered": 10, "conversion": 0.5},
    ...                              {"month": "2012-02", "entered": 5, "conversion": None}]})
    >>> svg.count("data-point="), svg.count('data-bar="entered"')
    (1, 2)
    """
    rows = [r for r in data.get("trend") or [] if isinstance(r, dict)]
    if not rows:
        return None
    convs = [_num(r.get("conversion")) for r in rows]
    entered = [_num(r.get("entered")) for r in rows]
    if all(c is None for c in convs) and all(e is None for e in entered):
        return None
    n = len(rows)
    left, right = 46.0, 8.0
    plot_w = WIDTH - left - right
    step = plot_w / n
    xs = [left + step * (i + 0.5) for i in range(n)]
    line_top, line_h = 50.0, 150.0  # the conversion panel
    vol_title = line_top + line_h + 34
    vol_top, vol_h = vol_title + 26, 64.0  # the entered panel
    marks: list[str] = []

    def y_of(share: float) -> float:
        return line_top + line_h * (1 - min(max(share, 0.0), 1.0))

    marks.append(_text(0, 15, "Last-mile conversion", "t strong", SMALL))
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        ty = y_of(tick)
        marks.append(f'<line x1="{_f(left)}" x2="{_f(WIDTH - right)}" y1="{_f(ty)}"'
                     f' y2="{_f(ty)}" class="grid" stroke="#d0d7de"/>')
        marks.append(_text(left - 7, ty + 5, fmt_pct(tick), "t muted", SMALL,
                           text_anchor="end"))
    last_mile = data.get("last_mile")
    overall = _num(last_mile.get("conversion")) if isinstance(last_mile, dict) else None
    if overall is not None:
        oy = y_of(overall)
        marks.append(f'<line x1="{_f(left)}" x2="{_f(WIDTH - right)}" y1="{_f(oy)}"'
                     f' y2="{_f(oy)}" class="ref" stroke="#59636e" stroke-dasharray="5 4"/>')
        words = f"overall {fmt_pct(overall)}"
        lx = WIDTH - text_width(words, SMALL) - 2
        marks.append(f'<line x1="{_f(lx - 26)}" x2="{_f(lx - 6)}" y1="10" y2="10" class="ref"'
                     ' stroke="#59636e" stroke-dasharray="5 4"/>')
        marks.append(_text(WIDTH, 15, words, "t muted", SMALL, text_anchor="end"))
    # the line, broken where a month has no conversion
    segments: list[list[tuple[float, float]]] = [[]]
    for x, c in zip(xs, convs, strict=True):
        if c is None:
            segments.append([])
        else:
            segments[-1].append((x, y_of(c)))
    for seg in segments:
        if len(seg) >= 2:
            path = "M" + " L".join(f"{_f(px)} {_f(py)}" for px, py in seg)
            marks.append(f'<path d="{path}" class="line" fill="none" data-line="conversion"'
                         f' stroke="{COLOURS["finished"]}" stroke-width="2.5"'
                         ' stroke-linejoin="round"/>')
    labelled = _label_indices(convs, limit=8)
    radius = min(5.0, max(2.5, step * 0.28))
    any_provisional = False
    for i, (row, x, c) in enumerate(zip(rows, xs, convs, strict=True)):
        if c is None:
            continue
        open_ = _num(row.get("open")) or 0.0
        ent = entered[i]
        provisional = bool(ent and open_ / ent > 0.1)
        any_provisional = any_provisional or provisional
        month = month_label(row.get("month"))
        words = f"{month}: {fmt_pct(c)} finished"
        if ent is not None:
            words += f" of {fmt_int(ent)} that entered"
        if provisional:
            words += f" ({fmt_int(open_)} still open)"
        cls = "point provisional" if provisional else "point"
        marks.append(
            f'<circle cx="{_f(x)}" cy="{_f(y_of(c))}" r="{_f(radius)}" class="{cls}"'
            f' fill="{"#ffffff" if provisional else COLOURS["finished"]}"'
            f' stroke="{COLOURS["finished"]}" stroke-width="2.5" data-point="conversion"'
            f' data-value="{_f(c)}" data-month="{escape(row.get("month") or "")}">'
            f"<title>{escape(words)}</title></circle>"
        )
        if i in labelled:
            below = c > 0.9  # no room above the 100 % line
            text = fmt_pct(c)
            lx, anchor = _label_x(x, text_width(text, SMALL, bold=True), left, WIDTH)
            marks.append(_text(lx, y_of(c) + (22 if below else -11), text, "t strong", SMALL,
                               text_anchor=anchor))
    # the entered panel
    top_entered = max((e for e in entered if e is not None), default=0.0)
    marks.append(_text(0, vol_title, f"{_noun(data).capitalize()} that entered the last mile",
                       "t strong", SMALL))
    bar_w = max(min(step * 0.62, 40.0), 1.0)
    vol_labelled = _label_indices(entered, limit=8) if step >= 40 else {
        max(((i, e) for i, e in enumerate(entered) if e is not None),
            key=lambda ie: ie[1], default=(-1, 0))[0]}
    for i, (row, x, e) in enumerate(zip(rows, xs, entered, strict=True)):
        if e is None:
            continue
        h = e / top_entered * vol_h if top_entered > 0 else 0.0
        marks.append(_rect(x - bar_w / 2, vol_top + vol_h - h, bar_w, h, "entered",
                           f"{month_label(row.get('month'))}: {fmt_int(e)} entered", e))
        if i in vol_labelled:
            lx, anchor = _label_x(x, text_width(fmt_int(e), SMALL), left, WIDTH)
            marks.append(_text(lx, vol_top + vol_h - h - 5, fmt_int(e), "t muted", SMALL,
                               text_anchor=anchor))
    base = vol_top + vol_h
    marks.append(f'<line x1="{_f(left)}" x2="{_f(WIDTH - right)}" y1="{_f(base)}"'
                 f' y2="{_f(base)}" class="axis" stroke="#59636e"/>')
    # month labels (thinned to fit), with the year under the first month and each January
    every = max(1, math.ceil(n / max(1, int(plot_w // 44))))
    last_year = None
    for i in range(0, n, every):
        month = str(rows[i].get("month") or "")
        year = month[:4] if month_label(month) != month else None
        marks.append(_text(xs[i], base + 18, _fit(month_label(month, with_year=False), step *
                                                  every - 2, SMALL), "t muted", SMALL,
                           text_anchor="middle"))
        if year and year != last_year:
            marks.append(_text(xs[i], base + 35, year, "t muted", SMALL - 1,
                               text_anchor="middle"))
            last_year = year
    height = base + 40
    if any_provisional:
        marks.append(
            f'<circle cx="8" cy="{_f(height + 10)}" r="5" class="point provisional"'
            f' fill="#ffffff" stroke="{COLOURS["finished"]}" stroke-width="2.5"/>'
        )
        marks.append(_text(20, height + 15, "more than 10 % still open: may change",
                           "t muted", SMALL))
        height += 24
    known = [(r, c) for r, c in zip(rows, convs, strict=True) if c is not None]
    desc = f"{n} months"
    if known:
        lo = min(known, key=lambda rc: rc[1])
        hi = max(known, key=lambda rc: rc[1])
        desc += (
            f"; conversion from {fmt_pct(lo[1])} ({month_label(lo[0].get('month'))})"
            f" to {fmt_pct(hi[1])} ({month_label(hi[0].get('month'))})"
        )
    return _svg(uid, height, "Last-mile conversion by month of entry", desc + ".", marks)


def _label_x(x: float, width: float, lo: float, hi: float) -> tuple[float, str]:
    """Where and how to anchor a label of ``width`` centred on ``x`` so it stays in [lo, hi].

    >>> _label_x(100, 30, 46, 400), _label_x(50, 30, 46, 400), _label_x(395, 30, 46, 400)
    ((100, 'middle'), (46, 'start'), (400, 'end'))
    """
    if x - width / 2 < lo:
        return lo, "start"
    if x + width / 2 > hi:
        return hi, "end"
    return x, "middle"


def _label_indices(values: Sequence[float | None], limit: int) -> set[int]:
    """Which points get a number printed: all when few, else the first, last, lowest, highest.

    >>> sorted(_label_indices([1, 2, 3], limit=5))
    [0, 1, 2]
    >>> sorted(_label_indices([5, 1, 9, 2, 3, 4], limit=3))
    [0, 1, 2, 5]
    """
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) <= limit:
        return {i for i, _ in known}
    return {
        known[0][0], known[-1][0],
        min(known, key=lambda iv: iv[1])[0], max(known, key=lambda iv: iv[1])[0],
    }


#: Chart function for each chart name; ``data-chart`` on the page uses the same names.
CHARTS: dict[str, Callable[..., Markup | None]] = {
    "funnel": funnel_chart,
    "last_mile": last_mile_chart,
    "stranded": stranded_chart,
    "trend": trend_chart,
    "status": status_chart,
}


def _inline(svg: str) -> Markup:
    """A standalone SVG made ready to sit inside the page: HTML needs no SVG namespace, and the
    page must not contain any URL at all."""
    return Markup(svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1))


def timing_chart(data: Mapping[str, Any], uid: str = "t") -> Markup | None:
    """The share finished over time in the last mile, with the going-cold point.

    Drawn by :func:`lastmile.timing.timing_chart_svg` from the ``timing`` section.

    >>> timing_chart({}) is None
    True
    """
    section = data.get("timing")
    if not isinstance(section, Mapping):
        return None
    rows = [r for r in section.get("curve") or [] if isinstance(r, Mapping)
            and _num(r.get("time")) is not None and _num(r.get("finished")) is not None]
    if len(rows) < 2:
        return None
    from lastmile.timing import timing_chart_svg

    return _inline(timing_chart_svg({**section, "curve": rows}, segments=False, uid=uid))


def why_chart(data: Mapping[str, Any], uid: str = "w") -> Markup | None:
    """Failure rate of the top drivers with their intervals, against the baseline.

    Drawn by :func:`lastmile.why.charts.lift_chart` from the ``why`` section.

    >>> why_chart({}) is None
    True
    """
    section = data.get("why")
    if not isinstance(section, Mapping):
        return None
    rows = [d for d in section.get("drivers") or [] if isinstance(d, Mapping)
            and _num(d.get("failure_rate")) is not None]
    if not rows:
        return None
    from lastmile.why.charts import lift_chart

    svg = lift_chart({**section, "drivers": rows}, uid=f"{uid}-lift")
    return None if svg is None else _inline(str(svg))


def risk_chart(data: Mapping[str, Any], uid: str = "r") -> Markup | None:
    """The risk model's calibration: predicted risk against the share that failed.

    Drawn by :func:`lastmile.risk.charts.calibration_chart` from the ``risk`` section (the
    dict of ``lastmile evaluate --json``).

    >>> risk_chart({}) is None
    True
    """
    section = data.get("risk")
    if not isinstance(section, Mapping):
        return None
    from lastmile.risk.charts import calibration_chart

    return calibration_chart(section, uid=f"{uid}-calibration")


CHARTS["timing"] = timing_chart
CHARTS["why"] = why_chart
CHARTS["risk"] = risk_chart
