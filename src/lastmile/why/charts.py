"""Charts of the drivers, as inline SVG (no JavaScript, no network) for the report's "Why".

:func:`lift_chart` ranks the drivers by lift with their 95 % intervals against the baseline;
:func:`curve_chart` draws the failure rate across the quantile bins of one numeric feature with
its interval band. Both follow the report's conventions (``viewBox`` only, ``role="img"`` with a
``<title>`` and ``<desc>``, numbers in ``data-*`` attributes, every data text escaped).

>>> d = {"baseline": 0.1, "drivers": [
...     {"feature": "crew", "value": "B", "failure_rate": 0.2, "ci_low": 0.15, "ci_high": 0.26,
...      "lift": 2.0, "cases": 300, "significant": True, "holds_up": True}]}
>>> svg = lift_chart(d)
>>> svg.count('data-point="driver"'), 'data-value="2.00"' in svg
(1, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

__all__ = ["curve_chart", "lift_chart", "why_charts"]

WIDTH = 400
FONT = 13
RISK = "#cc4a1f"
SAFE = "#0f6e8c"
GREY = "#a3acb6"
TRACK = "#e8ecf0"


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(uid: str, height: float, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart chart-{escape(uid)}" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'role="img" aria-labelledby="{escape(uid)}-t {escape(uid)}-d" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f'<title id="{escape(uid)}-t">{escape(title)}</title>'
        f'<desc id="{escape(uid)}-d">{escape(desc)}</desc>' + "".join(body) + "</svg>")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def lift_chart(data: Mapping[str, Any], uid: str = "why-lift", top: int = 12) -> Markup | None:
    """Failure rate of the top drivers with 95 % intervals, against the baseline (a line).

    Red points fail more often than the baseline, blue ones less; hollow points did not pass
    the false-discovery rate; a ring marks those that do not hold up in the multivariate check.
    """
    rows = [d for d in data.get("drivers", []) if d.get("failure_rate") is not None][:top]
    base = data.get("baseline")
    if not rows or base is None:
        return None
    hi_all = max(max(d["ci_high"] for d in rows), base) * 1.08 or 1.0
    left, right, row_h, top_pad = 170.0, WIDTH - 50.0, 26.0, 30.0
    height = top_pad + row_h * len(rows) + 26

    def x(v: float) -> float:
        return left + (right - left) * v / hi_all

    body = [f'<line x1="{_f(x(base))}" x2="{_f(x(base))}" y1="{_f(top_pad - 6)}" '
            f'y2="{_f(height - 22)}" stroke="{GREY}" stroke-dasharray="4 3" data-baseline='
            f'"{base:.4f}"/>',
            f'<text x="{_f(x(base))}" y="{_f(top_pad - 10)}" font-size="{FONT - 2}" '
            f'text-anchor="middle" fill="#555">baseline {base:.1%}</text>']
    for i, d in enumerate(rows):
        y = top_pad + row_h * i + row_h / 2
        risk = d["failure_rate"] >= base
        colour = RISK if risk else SAFE
        label = f"{d['feature']} = {d['value']}"
        sig = bool(d.get("significant"))
        holds = bool(d.get("holds_up"))
        tip = (f"{label}: {d['failure_rate']:.1%} fail (95 % CI {d['ci_low']:.1%}–"
               f"{d['ci_high']:.1%}), lift {d['lift']:.2f}, {d['cases']:,} cases"
               + ("" if sig else ", not significant")
               + ("" if holds or not sig else ", does not hold up"))
        body.append(f'<rect x="0" y="{_f(y - row_h / 2)}" width="{WIDTH}" '
                    f'height="{_f(row_h)}" fill="{TRACK if i % 2 else "none"}" '
                    'fill-opacity="0.5"/>')
        body.append(f'<text x="4" y="{_f(y + 4)}" font-size="{FONT - 1}">'
                    f'{escape(_clip(label, 30))}<title>{escape(label)}</title></text>')
        body.append(f'<line x1="{_f(x(d["ci_low"]))}" x2="{_f(x(d["ci_high"]))}" '
                    f'y1="{_f(y)}" y2="{_f(y)}" stroke="{colour}" stroke-width="2" '
                    'data-interval="driver"/>')
        fill = colour if sig else "white"
        body.append(f'<circle cx="{_f(x(d["failure_rate"]))}" cy="{_f(y)}" r="5" '
                    f'fill="{fill}" stroke="{colour}" stroke-width="2" data-point="driver" '
                    f'data-value="{d["lift"]:.2f}"><title>{escape(tip)}</title></circle>')
        if sig and not holds:
            body.append(f'<circle cx="{_f(x(d["failure_rate"]))}" cy="{_f(y)}" r="8.5" '
                        f'fill="none" stroke="{GREY}" stroke-width="1.5"/>')
        body.append(f'<text x="{WIDTH - 4}" y="{_f(y + 4)}" font-size="{FONT - 1}" '
                    f'text-anchor="end" fill="{colour}">×{d["lift"]:.2f}</text>')
    body.append(f'<text x="{_f(left)}" y="{_f(height - 6)}" font-size="{FONT - 2}" '
                f'fill="#555">failure rate in the last mile, 95 % interval</text>')
    desc = "; ".join(f"{d['feature']} = {d['value']}: {d['failure_rate']:.1%} fail, lift "
                     f"{d['lift']:.2f}" for d in rows[:5])
    return _svg(uid, height, "Drivers of last-mile failure", desc, body)


def curve_chart(curve: Mapping[str, Any], uid: str = "why-curve") -> Markup | None:
    """Failure rate across the quantile bins of a numeric feature, with its 95 % band."""
    bins = [b for b in curve.get("bins", []) if b.get("failure_rate") is not None]
    if len(bins) < 2:
        return None
    base = curve.get("baseline") or 0.0
    left, right, top_pad, bottom = 40.0, WIDTH - 10.0, 14.0, 150.0
    height = bottom + 40
    hi_all = max(max(b["ci_high"] for b in bins), base) * 1.1 or 1.0
    n = len(bins)

    def x(i: int) -> float:
        return left + (right - left) * (i + 0.5) / n

    def y(v: float) -> float:
        return bottom - (bottom - top_pad) * v / hi_all

    band = " ".join(f"{_f(x(i))},{_f(y(b['ci_high']))}" for i, b in enumerate(bins))
    band += " " + " ".join(f"{_f(x(i))},{_f(y(b['ci_low']))}"
                           for i, b in reversed(list(enumerate(bins))))
    line = " ".join(f"{_f(x(i))},{_f(y(b['failure_rate']))}" for i, b in enumerate(bins))
    body = [f'<polygon points="{band}" fill="{RISK}" fill-opacity="0.15" data-band="ci"/>',
            f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(y(base))}" y2="{_f(y(base))}" '
            f'stroke="{GREY}" stroke-dasharray="4 3" data-baseline="{base:.4f}"/>',
            f'<polyline points="{line}" fill="none" stroke="{RISK}" stroke-width="2"/>',
            f'<text x="4" y="{_f(y(hi_all / 1.1) + 4)}" font-size="{FONT - 2}" fill="#555">'
            f'{hi_all / 1.1:.0%}</text>',
            f'<text x="4" y="{_f(bottom)}" font-size="{FONT - 2}" fill="#555">0%</text>']
    for i, b in enumerate(bins):
        tip = (f"{curve['feature']} {b['value']}: {b['failure_rate']:.1%} fail "
               f"({b['ci_low']:.1%}–{b['ci_high']:.1%}), {b['cases']:,} cases")
        body.append(f'<circle cx="{_f(x(i))}" cy="{_f(y(b["failure_rate"]))}" r="4" '
                    f'fill="{RISK}" data-point="bin" data-value="{b["failure_rate"]:.4f}">'
                    f'<title>{escape(tip)}</title></circle>')
        body.append(f'<text x="{_f(x(i))}" y="{_f(bottom + 16)}" font-size="{FONT - 3}" '
                    f'text-anchor="middle">{escape(_clip(str(b["value"]), 14))}</text>')
    body.append(f'<text x="{_f(left)}" y="{_f(height - 6)}" font-size="{FONT - 1}" '
                f'font-weight="bold">{escape(_clip(str(curve["feature"]), 50))}</text>')
    desc = (f"failure rate by {curve['feature']}: "
            + ", ".join(f"{b['value']} {b['failure_rate']:.1%}" for b in bins))
    return _svg(uid, height, f"Failure rate by {curve['feature']}", desc, body)


def why_charts(data: Mapping[str, Any], uid: str = "why", top: int = 12,
               curves: int = 4) -> Markup:
    """The "Why" section's charts: the lift chart, then curves of the numeric drivers that
    rank highest (up to ``curves``). Empty markup when there is nothing to draw.

    >>> why_charts({"drivers": [], "baseline": None})
    Markup('')
    """
    parts: list[str] = []
    lift = lift_chart(data, uid=f"{uid}-lift", top=top)
    if lift is not None:
        parts.append(lift)
    shown: list[str] = []
    all_curves = data.get("curves", {}) or {}
    for d in data.get("drivers", []):
        name = d["feature"]
        if name in all_curves and name not in shown and d.get("significant"):
            shown.append(name)
        if len(shown) >= curves:
            break
    for k, name in enumerate(shown):
        svg = curve_chart(all_curves[name], uid=f"{uid}-curve-{k}")
        if svg is not None:
            parts.append(svg)
    return Markup("".join(parts))
