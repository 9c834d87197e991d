"""The risk model's calibration chart, as inline SVG (no JavaScript, no network).

:func:`calibration_chart` draws the reliability diagram of ``lastmile evaluate``: for each bin of
predicted risk, the share of test cases that actually failed against the mean predicted risk,
with the diagonal of a perfectly calibrated model. It follows the report's conventions
(``viewBox`` only, ``role="img"`` with a ``<title>`` and ``<desc>``, numbers in ``data-*``
attributes, every data text escaped).

>>> svg = calibration_chart({"calibration": [
...     {"lower": 0.0, "upper": 0.1, "n": 80, "predicted": 0.05, "observed": 0.04},
...     {"lower": 0.5, "upper": 0.6, "n": 20, "predicted": 0.55, "observed": 0.70}]})
>>> svg.count('data-point="bin"'), 'data-value="0.7"' in svg, 'data-predicted="0.55"' in svg
(2, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from lastmile.report.charts import COLOURS, WIDTH, _f

__all__ = ["calibration_chart"]

FONT = 13
RISK, GREY, TRACK = COLOURS["failed"], COLOURS["open"], COLOURS["track"]
INK = "#5b6673"


def _bins(data: Mapping[str, Any]) -> list[dict[str, float]]:
    out = []
    for r in data.get("calibration") or []:
        try:
            n, p, o = int(r["n"]), float(r["predicted"]), float(r["observed"])
        except (KeyError, TypeError, ValueError):
            continue
        if n > 0 and math.isfinite(p) and math.isfinite(o):
            out.append({"n": n, "predicted": p, "observed": o})
    return out


def calibration_chart(data: Mapping[str, Any], uid: str = "risk-calibration") -> Markup | None:
    """Observed failure rate against predicted risk, one point per bin (area ∝ cases).

    ``data`` is the evaluation dict of ``lastmile evaluate --json`` (its ``calibration`` rows:
    ``n``, ``predicted``, ``observed``). Both axes share one scale, from 0 to the largest
    predicted or observed rate rounded up to a tenth, so that the diagonal is the line of a
    perfectly calibrated model. ``None`` without a usable bin.
    """
    bins = _bins(data)
    if not bins:
        return None
    top = max(max(b["predicted"], b["observed"]) for b in bins)
    top = min(1.0, max(0.1, math.ceil(top * 10 - 1e-9) / 10))
    left, upper = 54.0, 14.0
    size = WIDTH - left - 16.0  # 16 units of margin on the right
    bottom = upper + size

    def x(v: float) -> float:
        return left + size * min(v, top) / top

    def y(v: float) -> float:
        return bottom - size * min(v, top) / top

    body = [f'<rect x="{_f(left)}" y="{_f(upper)}" width="{_f(size)}" height="{_f(size)}" '
            f'fill="none" stroke="{TRACK}"/>']
    steps = 5 if round(top * 10) % 5 == 0 else round(top * 10)
    for k in range(steps + 1):
        v = top * k / steps
        body.append(f'<line x1="{_f(left)}" x2="{_f(left + size)}" y1="{_f(y(v))}" '
                    f'y2="{_f(y(v))}" stroke="{TRACK}"/>')
        body.append(f'<text x="{_f(left - 6)}" y="{_f(y(v) + 4)}" text-anchor="end" '
                    f'font-size="{FONT - 1}" fill="{INK}">{v:.0%}</text>')
        body.append(f'<text x="{_f(x(v))}" y="{_f(bottom + 17)}" text-anchor="middle" '
                    f'font-size="{FONT - 1}" fill="{INK}">{v:.0%}</text>')
    body.append(f'<line x1="{_f(x(0))}" y1="{_f(y(0))}" x2="{_f(x(top))}" y2="{_f(y(top))}" '
                f'stroke="{GREY}" stroke-dasharray="5 4" data-line="perfect"/>')
    body.append(f'<text x="{_f(left + size / 2)}" y="{_f(bottom + 36)}" text-anchor="middle" '
                f'font-size="{FONT}" fill="{INK}">predicted risk (mean of the bin)</text>')
    body.append(f'<text x="14" y="{_f(upper + size / 2)}" text-anchor="middle" '
                f'font-size="{FONT}" fill="{INK}" transform="rotate(-90 14 '
                f'{_f(upper + size / 2)})">failed, observed</text>')
    most = max(b["n"] for b in bins)
    pts = sorted(bins, key=lambda b: b["predicted"])
    body.append('<polyline fill="none" stroke="' + RISK + '" stroke-width="1.5" points="'
                + " ".join(f"{_f(x(b['predicted']))},{_f(y(b['observed']))}" for b in pts)
                + '"/>')
    for b in pts:
        r = 3.0 + 9.0 * math.sqrt(b["n"] / most)
        label = (f"predicted {b['predicted']:.1%}, observed {b['observed']:.1%} "
                 f"({b['n']:,} prediction points)")
        body.append(f'<circle cx="{_f(x(b["predicted"]))}" cy="{_f(y(b["observed"]))}" '
                    f'r="{_f(r)}" fill="{RISK}" fill-opacity="0.75" data-point="bin" '
                    f'data-value="{_f(b["observed"])}" data-predicted="{_f(b["predicted"])}" '
                    f'data-n="{b["n"]}"><title>{escape(label)}</title></circle>')
    height = bottom + 46
    worst = max(bins, key=lambda b: abs(b["observed"] - b["predicted"]))
    desc = (f"{len(bins)} bins of predicted risk; the largest gap between predicted and "
            f"observed is {abs(worst['observed'] - worst['predicted']):.1%} at a predicted "
            f"{worst['predicted']:.1%}. Points on the dashed diagonal are calibrated.")
    return Markup(
        f'<svg class="chart chart-{escape(uid)}" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'role="img" aria-labelledby="{escape(uid)}-t {escape(uid)}-d" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{escape(uid)}-t">Calibration: predicted risk against the share that '
        f'failed</title><desc id="{escape(uid)}-d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")
