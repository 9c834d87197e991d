"""The self-contained HTML report: one file, no network, readable on a phone and a laptop.

The report renders a dict in the versioned schema ``lastmile.report/1``, which the report
measures compute: ``schema``, ``title``, ``source``, ``generated_at``, ``journey`` (``name``,
``stages`` [{``name``, ``activities``}], ``finish``, ``last_mile``, ``failure``, ``timeout``,
``value``; optional ``noun``, the plural word for a case), ``as_of``, ``cases``, ``events``,
``status``, ``funnel`` (a row per stage), ``last_mile``, ``stranded``, ``trend`` (a row per
month) and ``quarantine``; optionally ``why``, ``by``, ``timing`` and ``risk`` (the dict of
``lastmile evaluate --json``: its calibration chart and tables). Any key may be missing or
null: the report shows what is there.
Numbers may be Python, NumPy or ``Decimal``. Charts are inline SVG written in Python
(:mod:`lastmile.report.charts`), the CSS is inlined, and the data itself is embedded as JSON
(``<script type="application/json" id="lastmile-data">``) so the file is its own record.

Adding a section (say ``"why"``) is three small steps: a chart function in ``charts.py``
(``why_chart(data, uid) -> Markup | None``), a macro ``why(s, d)`` in
``templates/report.html.j2`` (and its entry in ``section_macros`` there), and a
:class:`Section` in :data:`SECTIONS`.

>>> html = render_html({"schema": "lastmile.report/1", "cases": 3,
...                     "status": {"finished": 2, "reversed": 0, "failed": 1, "open": 0}})
>>> html.startswith("<!doctype html>"), 'data-chart="status"' in html, "http://" in html
(True, True, False)
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from lastmile.errors import LastmileError
from lastmile.report import charts
from lastmile.report.charts import fmt_hours, fmt_int, fmt_num, fmt_pct, month_label

__all__ = ["SCHEMA", "SECTIONS", "Section", "fmt_when", "headline", "render_html", "write_html"]

#: The schema this renderer was written for.
SCHEMA = "lastmile.report/1"

ChartFn = Callable[[Mapping[str, Any], str], Markup | None]


@dataclass(frozen=True)
class Section:
    """One section of the page: the data key it reads, its heading, its chart (if any).

    The template renders it with the macro named ``key``; the chart, when there is one, sits in
    an element with ``data-chart="<key>"``.

    >>> Section("funnel", "Where cases are lost", charts.funnel_chart).present({"funnel": []})
    False
    """

    key: str
    title: str
    chart: ChartFn | None = None

    def present(self, data: Mapping[str, Any]) -> bool:
        """Whether the data has anything for this section."""
        value = data.get(self.key)
        return value not in (None, {}, [], "")


#: The sections, in page order.
SECTIONS: tuple[Section, ...] = (
    Section("funnel", "Where cases are lost", charts.funnel_chart),
    Section("last_mile", "The last mile", charts.last_mile_chart),
    Section("stranded", "Stranded investment", charts.stranded_chart),
    Section("trend", "Last-mile conversion over time", charts.trend_chart),
    Section("why", "Why the last mile fails", charts.why_chart),
    Section("by", "By segment"),
    Section("timing", "Time in the last mile", charts.timing_chart),
    Section("risk", "How well the risk model ranks later cases", charts.risk_chart),
    Section("status", "How all cases ended", charts.status_chart),
    Section("journey", "The journey"),
    Section("quarantine", "Data quality"),
)


_num = charts._num


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _b(text: str) -> Markup:
    return Markup("<strong>{}</strong>").format(text)


_noun = charts._noun


def headline(data: Mapping[str, Any]) -> list[Markup]:
    """The top of the report in plain sentences, numbers in bold; only what the data has.

    >>> [str(s) for s in headline({"last_mile": {"stage": "O_SENT_BACK", "entered": 3254,
    ...      "finished": 2246, "failed": 950, "open": 58, "conversion": 0.7028,
    ...      "share_of_failures": 0.0897}})]  # doctest: +NORMALIZE_WHITESPACE
    ['<strong>3,254</strong> cases reached the last mile (O_SENT_BACK); <strong>2,246</strong>
      finished there: a last-mile conversion of <strong>70 %</strong> (the 58 still open are
      left out).',
     '<strong>950</strong> failed there: <strong>9.0 %</strong> of all failures happened in
      the last mile.']
    """
    noun = _noun(data)
    out: list[Markup] = []
    cases, status = _num(data.get("cases")), _dict(data.get("status"))
    finished, failed = _num(status.get("finished")), _num(status.get("failed"))
    opened, reversed_ = _num(status.get("open")), _num(status.get("reversed"))
    if cases is not None and finished is not None:
        parts = [Markup("{} {} set out; {} finished").format(_b(fmt_int(cases)), noun,
                                                             _b(fmt_int(finished)))]
        if cases > 0:
            parts.append(Markup(" ({} of all)").format(fmt_pct(finished / cases)))
        rest = []
        if reversed_:
            rest.append(Markup("{} finished and were then reversed").format(
                _b(fmt_int(reversed_))))
        if failed is not None:
            rest.append(Markup("{} failed").format(_b(fmt_int(failed))))
        if opened:
            rest.append(Markup("{} are still open").format(fmt_int(opened)))
        if rest:
            joined = rest[0] if len(rest) == 1 else (
                Markup(", ").join(rest[:-1]) + Markup(" and ") + rest[-1])
            parts.append(Markup(", ") + joined)
        out.append(Markup("").join(parts) + ".")
    lm = _dict(data.get("last_mile"))
    stage = lm.get("stage") or charts.last_mile_stage(data)
    entered, lm_finished = _num(lm.get("entered")), _num(lm.get("finished"))
    if entered is not None:
        where = Markup(" ({})").format(stage) if stage else ""
        sentence = Markup("{} {} reached the last mile{}").format(_b(fmt_int(entered)), noun,
                                                                   where)
        if lm_finished is not None:
            sentence += Markup("; {} finished there").format(_b(fmt_int(lm_finished)))
            conversion = _num(lm.get("conversion"))
            if conversion is not None:
                sentence += Markup(": a last-mile conversion of {}").format(
                    _b(fmt_pct(conversion)))
                if _num(lm.get("open")):
                    sentence += Markup(" (the {} still open are left out)").format(
                        fmt_int(lm["open"]))
        out.append(sentence + ".")
    lm_failed, share = _num(lm.get("failed")), _num(lm.get("share_of_failures"))
    if lm_failed is not None:
        sentence = Markup("{} failed there").format(_b(fmt_int(lm_failed)))
        if _num(lm.get("reversed")):
            sentence += Markup(" and {} were reversed after finishing").format(
                _b(fmt_int(lm["reversed"])))
        if share is not None:
            sentence += Markup(": {} of all failures happened in the last mile").format(
                _b(fmt_pct(share)))
        out.append(sentence + ".")
    stranded = _dict(data.get("stranded"))
    pieces = []
    for key, words, share_key, fmt in (
        ("events", "events", "share_of_events", fmt_int),
        ("case_days", "case-days", "share_of_case_days", fmt_num),
        ("cost", "of cost", "share_of_cost", fmt_num),
    ):
        amount = _num(stranded.get(key))
        if amount is None:
            continue
        piece = Markup("{} {}").format(_b(fmt(amount)), words)
        if _num(stranded.get(share_key)) is not None:
            piece += Markup(" ({} of all)").format(fmt_pct(stranded[share_key]))
        pieces.append(piece)
    if pieces:
        joined = pieces[0] if len(pieces) == 1 else (
            Markup(", ").join(pieces[:-1]) + Markup(" and ") + pieces[-1])
        out.append(Markup("The {} that failed in the last mile had taken {}.").format(
            noun, joined))
    value_lost = _num(stranded.get("value_lost"))
    if value_lost is not None:
        column = _dict(data.get("journey")).get("value")
        what = Markup(" (sum of {})").format(column) if column else ""
        out.append(Markup("Value lost in the last mile: {}{}.").format(
            _b(fmt_num(value_lost)), what))
    return out


def _tiles(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The big numbers at the top: (value, words, whether it is a loss)."""
    tiles: list[dict[str, Any]] = []
    cases = _num(data.get("cases"))
    status, lm = _dict(data.get("status")), _dict(data.get("last_mile"))
    stranded = _dict(data.get("stranded"))
    if cases is not None:
        tiles.append({"value": fmt_int(cases), "words": f"{_noun(data)} set out", "loss": False})
    if cases and _num(status.get("finished")) is not None:
        tiles.append({"value": fmt_pct(status["finished"] / cases), "words": "finished",
                      "loss": False})
    if _num(lm.get("conversion")) is not None:
        tiles.append({"value": fmt_pct(lm["conversion"]), "words": "last-mile conversion",
                      "loss": False})
    if _num(lm.get("failed")) is not None:
        tiles.append({"value": fmt_int(lm["failed"]), "words": "failed in the last mile",
                      "loss": True})
    if _num(lm.get("share_of_failures")) is not None:
        tiles.append({"value": fmt_pct(lm["share_of_failures"]),
                      "words": "of all failures are last-mile", "loss": True})
    if _num(stranded.get("share_of_events")) is not None:
        tiles.append({"value": fmt_pct(stranded["share_of_events"]),
                      "words": "of all events stranded", "loss": True})
    return tiles


def _by_count(counts: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Items of a {reason: count} mapping, biggest count first, non-numbers last.

    >>> _by_count({"a": 1, "b": None, "c": 5})
    [('c', 5), ('a', 1), ('b', None)]
    """
    return sorted(counts.items(), key=lambda kv: -(_num(kv[1]) if _num(kv[1]) is not None
                                                   else -math.inf))


def fmt_when(value: Any) -> str:
    """An ISO timestamp as a person reads it; anything else unchanged.

    >>> fmt_when("2026-11-25T14:30:00Z"), fmt_when("2012-03-14T00:00:00"), fmt_when("soon")
    ('25 Nov 2026, 14:30 UTC', '14 Mar 2012', 'soon')
    """
    from datetime import datetime

    if value is None:
        return "–"
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    text = f"{when.day} {when:%b %Y}"
    if (when.hour, when.minute, when.second) != (0, 0, 0):
        text += f", {when:%H:%M}"
    if when.tzinfo is not None and when.utcoffset() is not None:
        offset = when.utcoffset().total_seconds()
        text += " UTC" if offset == 0 else f" {when:%z}"
    return text


def _jsonable(value: Any) -> Any:
    """The data as plain JSON values: NumPy and Decimal numbers as int/float, NaN as null.

    >>> from decimal import Decimal
    >>> _jsonable({"a": [float("nan"), Decimal("2.5"), True], 3: None})
    {'a': [None, 2.5, True], '3': None}
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real | Decimal):
        return _num(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _embedded_json(data: Mapping[str, Any]) -> Markup:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` written as escapes."""
    text = json.dumps(_jsonable(dict(data)), ensure_ascii=False, default=str, indent=None)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                       ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return Markup(text)


def _fixed(value: Any, digits: int = 3) -> str:
    """A score such as an AUC, with a fixed number of decimals.

    >>> _fixed(0.5468), _fixed(0.55012, 4), _fixed(None)
    ('0.547', '0.5501', '–')
    """
    number = _num(value)
    return "–" if number is None else f"{number:.{digits}f}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("lastmile.report") / "templates")),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=lambda value: "–" if value is None else value,
    )
    env.filters.update(int=fmt_int, pct=fmt_pct, num=fmt_num, hours=fmt_hours,
                       month=month_label, when=fmt_when, fixed=_fixed)
    env.globals.update(isnum=lambda v: _num(v) is not None, by_count=_by_count)
    env.tests["isnum_pos"] = lambda v: (_num(v) or 0) > 0
    return env


_ENV: jinja2.Environment | None = None


def render_html(data: Mapping[str, Any]) -> str:
    """Render a report dict (schema ``lastmile.report/1``) as one self-contained HTML page.

    Parameters
    ----------
    data : dict
        The numbers; any key may be missing or null, the page shows what is there.

    Returns
    -------
    str
        The HTML document. It loads nothing: CSS, charts (inline SVG) and data are inside.

    Raises
    ------
    LastmileError
        When ``data`` is not a dict, or declares a schema that is not a ``lastmile.report``.

    Examples
    --------
    >>> html = render_html({"funnel": [{"stage": "<script>", "reached": 5, "moved_on": 2,
    ...                                 "lost": 3}, {"stage": "done", "reached": 2}]})
    >>> "<script>alert" in html, "&lt;script&gt;" in html, html.count('data-chart="funnel"')
    (False, True, 1)
    """
    global _ENV
    if not isinstance(data, Mapping):
        raise LastmileError(f"report data must be a dict, not {type(data).__name__}",
                            hint="pass the dict produced by the report measures")
    schema = data.get("schema")
    if schema is not None and not str(schema).startswith("lastmile.report/"):
        raise LastmileError(f"not a lastmile report: schema {schema!r}",
                            hint=f"expected {SCHEMA!r}")
    if _ENV is None:
        _ENV = _environment()
    css = (resources.files("lastmile.report") / "static" / "report.css").read_text("utf-8")
    sections = []
    for section in SECTIONS:
        if not section.present(data):
            continue
        chart = section.chart(data, section.key) if section.chart else None
        sections.append({"key": section.key, "title": section.title, "chart": chart})
    journey = _dict(data.get("journey"))
    title = data.get("title") or (
        f"Last-mile report: {journey['name']}" if journey.get("name") else "Last-mile report")
    from lastmile import __version__

    html = _ENV.get_template("report.html.j2").render(
        d=data,
        title=title,
        css=Markup(css.replace("</", "<\\/")),
        sections=sections,
        headline=headline(data),
        tiles=_tiles(data),
        last_mile_stage=charts.last_mile_stage(data),
        finish_stage=charts.finish_stage(data),
        noun=_noun(data),
        data_json=_embedded_json(data),
        version=__version__,
        schema=schema or SCHEMA,
    )
    return html.lstrip()


def write_html(data: Mapping[str, Any], path: str | Path) -> Path:
    """Render the report and write it to ``path`` (UTF-8; parent folders are created).

    >>> import tempfile, pathlib
    >>> out = write_html({"cases": 1}, pathlib.Path(tempfile.mkdtemp()) / "r" / "report.html")
    >>> out.name, out.read_text("utf-8").count("<html")
    ('report.html', 1)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path
