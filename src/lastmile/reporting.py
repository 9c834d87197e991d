"""From a log and a journey to the full report: the numbers, and the HTML page.

This is what ``lastmile report`` does, as a library call:

>>> import pandas as pd, lastmile
>>> from lastmile.journey import Journey
>>> df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["sent", "signed", "sent"],
...                    "timestamp": ["2024-01-01", "2024-01-03", "2024-01-02"]})
>>> data, result = report_data(lastmile.read_log(df), Journey.from_flags("sent,signed"))
>>> data["last_mile"]["entered"], data["last_mile"]["finished"], data["source"]
(2, 1, 'DataFrame')
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lastmile.journey import Journey
from lastmile.log import Log


def report_data(
    log: Log, journey: Journey, as_of: Any = None, *, drivers: bool = True,
    by: str | None = None,
) -> tuple[dict[str, Any], Any]:
    """Everything the HTML report shows (a ``lastmile.report/1`` dict) and the Report.

    ``drivers=False`` leaves out the "why" section (the slowest part on large logs); ``by``
    adds the funnel and last-mile measures per value of that attribute.
    """
    from lastmile.measures import compute_report

    result = compute_report(log.table, journey, as_of=as_of, validate=False)
    data = result.to_dict()
    a = log.accounting
    data.update(
        title=journey.name or f"Last-mile report: {log.source}",
        source=log.source,
        generated_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        quarantine={"read": a.read, "loaded": a.loaded, "quarantined": a.quarantined,
                    "filtered": a.filtered, "filter_rule": a.filter_rule,
                    "duplicates": a.duplicates, "reasons": dict(a.reasons),
                    "file": str(log.quarantine_file) if log.quarantine_file else None},
    )
    data["timing"] = timing_section(log, journey, as_of, cases=result.case_table)
    if drivers:
        data["why"] = why_section(log, journey, as_of)
    if by:
        data["by"] = by_section(log, journey, by, as_of)
    return data, result


def by_section(log: Log, journey: Journey, by: str, as_of: Any = None) -> dict[str, Any]:
    """Funnel and last-mile measures per value of the attribute ``by`` (largest groups first)."""
    import math

    from lastmile.why import breakdown

    frame = breakdown(log.table, journey, by, as_of=as_of).sort_values(
        "cases", ascending=False, kind="stable")
    rows = []
    for rec in frame.to_dict(orient="records"):
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else
                         (v.item() if hasattr(v, "item") else v)) for k, v in rec.items()})
    return {"attribute": by, "stages": [s.name for s in journey.stages], "rows": rows}


def _section(build: Any) -> dict[str, Any]:
    """Run one optional section; a user-facing problem is shown in its place, not fatal."""
    from lastmile.errors import LastmileError

    try:
        return build()
    except LastmileError as exc:
        return {"error": str(exc)}


def why_section(log: Log, journey: Journey, as_of: Any = None, top: int = 25) -> dict[str, Any]:
    """The drivers of last-mile failure, best first (the top ``top``), for the page."""
    from lastmile.why import why

    def build() -> dict[str, Any]:
        d = why(log.table, journey, as_of=as_of).to_dict()
        d["drivers"] = d.get("drivers", [])[:top]
        d.pop("curves", None)
        d.pop("features", None)
        return d

    return _section(build)


def timing_section(
    log: Log, journey: Journey, as_of: Any = None, cases: Any = None
) -> dict[str, Any]:
    """The survival curve in the last mile, compact enough to embed in the page.

    ``cases`` is the case table of the same journey and ``as_of``, when the caller has it.
    The curve keeps at most 400 of its points (the same rows as thinning its full JSON form:
    only those are turned into Python numbers).
    """
    from lastmile.timing import timing

    def build() -> dict[str, Any]:
        t = timing(log.table, journey, as_of=as_of, validate=False, cases=cases)
        data = t.to_dict(curve_points=400)
        data["segments"] = []
        return data

    return _section(build)


def build_report(
    source: Any,
    journey: Journey | str | Path,
    output: str | Path | None = None,
    *,
    as_of: Any = None,
    **read_options: Any,
) -> dict[str, Any]:
    """Read ``source``, compute the report for ``journey`` (a Journey or a YAML path) and,
    when ``output`` is given, write the self-contained HTML page there. Returns the data."""
    from lastmile.io import read_log

    log = source if isinstance(source, Log) else read_log(source, **read_options)
    j = journey if isinstance(journey, Journey) else Journey.from_yaml(journey)
    j.validate(log.activity_counts(), columns=log.table.columns)
    data, _ = report_data(log, j, as_of)
    if output is not None:
        from lastmile.report import write_html

        write_html(data, output)
    return data
