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

from lastmile.report.charts import COLOURS, WIDTH, _f, _svg, _text

__all__ = ["calibration_chart"]

FONT = 13


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
            f'fill="none" class="grid" stroke="{COLOURS["track"]}"/>']
    steps = 5 if round(top * 10) % 5 == 0 else round(top * 10)
    for k in range(steps + 1):
        v = top * k / steps
        body.append(f'<line x1="{_f(left)}" x2="{_f(left + size)}" y1="{_f(y(v))}" '
                    f'y2="{_f(y(v))}" class="grid" stroke="{COLOURS["track"]}"/>')
        body.append(_text(left - 6, y(v) + 4, f"{v:.0%}", "t muted", FONT - 1,
                          text_anchor="end"))
        body.append(_text(x(v), bottom + 17, f"{v:.0%}", "t muted", FONT - 1,
                          text_anchor="middle"))
    body.append(f'<line x1="{_f(x(0))}" y1="{_f(y(0))}" x2="{_f(x(top))}" y2="{_f(y(top))}" '
                f'class="ref" stroke="{COLOURS["open"]}" stroke-dasharray="5 4" '
                'data-line="perfect"/>')
    body.append(_text(left + size / 2, bottom + 36, "predicted risk (mean of the bin)",
                      "t muted", FONT, text_anchor="middle"))
    mid = upper + size / 2
    body.append(_text(14, mid, "failed, observed", "t muted", FONT, text_anchor="middle",
                      transform=f"rotate(-90 14 {_f(mid)})"))
    most = max(b["n"] for b in bins)
    pts = sorted(bins, key=lambda b: b["predicted"])
    body.append(f'<polyline fill="none" stroke="{COLOURS["failed"]}" stroke-width="1.5" '
                'points="' + " ".join(f"{_f(x(b['predicted']))},{_f(y(b['observed']))}"
                                      for b in pts) + '"/>')
    for b in pts:
        r = 3.0 + 9.0 * math.sqrt(b["n"] / most)
        label = (f"predicted {b['predicted']:.1%}, observed {b['observed']:.1%} "
                 f"({b['n']:,} prediction points)")
        body.append(f'<circle cx="{_f(x(b["predicted"]))}" cy="{_f(y(b["observed"]))}" '
                    f'r="{_f(r)}" class="fill-failed" fill="{COLOURS["failed"]}" '
                    f'fill-opacity="0.75" data-point="bin" data-value="{_f(b["observed"])}" '
                    f'data-predicted="{_f(b["predicted"])}" data-n="{b["n"]}">'
                    f'<title>{escape(label)}</title></circle>')
    worst = max(bins, key=lambda b: abs(b["observed"] - b["predicted"]))
    desc = (f"{len(bins)} bins of predicted risk; the largest gap between predicted and "
            f"observed is {abs(worst['observed'] - worst['predicted']):.1%} at a predicted "
            f"{worst['predicted']:.1%}. Points on the dashed diagonal are calibrated.")
    return _svg(uid, bottom + 46, "Calibration: predicted risk against the share that failed",
                desc, body)
