"""The numbers of the last-mile report, computed in two queries and kept as a small object.

:func:`compute_report` builds the case table (an Ibis expression), aggregates it once for the
counts, funnel, last mile and stranded investment, and once more for the monthly trend. The
result, :class:`Report`, prints a readable summary and converts to the versioned JSON schema
``lastmile.report/1`` that the HTML report reads (documented in ``docs/measures.md``).

>>> import ibis
>>> from lastmile.journey import Journey
>>> con = ibis.duckdb.connect()
>>> _ = con.con.execute('''CREATE TABLE ev AS SELECT * FROM (VALUES
...   ('c1', 'sent',   TIMESTAMP '2024-01-01', 0), ('c1', 'signed', TIMESTAMP '2024-01-03', 1),
...   ('c2', 'sent',   TIMESTAMP '2024-01-02', 2), ('c2', 'lost',   TIMESTAMP '2024-01-05', 3))
...   v(case_id, activity, timestamp, event_index)''')
>>> report = compute_report(con.table("ev"), Journey.from_flags("sent,signed", fail="lost"))
>>> report.last_mile["entered"], report.last_mile["finished"], report.last_mile["conversion"]
(2, 1, 0.5)
>>> report.to_dict()["schema"]
'lastmile.report/1'
>>> print(report.summary.splitlines()[0])
lastmile report: 2 cases, 4 events, last event 2024-01-05 00:00
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.measures._expr import STATUSES, as_timestamp, count
from lastmile.measures.cases import case_table
from lastmile.measures.funnel import funnel_aggregates, funnel_records
from lastmile.measures.lastmile import last_mile_aggregates, last_mile_record
from lastmile.measures.stranded import stranded_aggregates, stranded_record
from lastmile.measures.trend import trend

__all__ = ["SCHEMA", "Report", "compute_report"]

SCHEMA = "lastmile.report/1"
_DIGITS = 6


def _clean(value: Any) -> Any:
    """Plain Python numbers for JSON: numpy scalars unwrapped, NaN to None, floats rounded."""
    if value is None or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, _DIGITS) + 0.0
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class Report:
    """The last-mile report: where cases were lost and what the failures cost.

    Attributes mirror the keys of the JSON schema ``lastmile.report/1``; ``case_table`` is the
    lazy Ibis case table behind the numbers (for ``--csv``).
    """

    journey: Journey
    as_of: datetime | None
    log_end: datetime | None
    cases: int
    events: int
    status: dict[str, int]
    funnel: list[dict[str, Any]]
    last_mile: dict[str, Any]
    stranded: dict[str, Any]
    trend: list[dict[str, Any]]
    case_table: ir.Table | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as the versioned JSON-ready dict (schema ``lastmile.report/1``)."""
        return {
            "schema": SCHEMA,
            "journey": self.journey.to_dict(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "log_end": self.log_end.isoformat() if self.log_end else None,
            "cases": self.cases,
            "events": self.events,
            "status": dict(self.status),
            "funnel": [dict(r) for r in self.funnel],
            "last_mile": dict(self.last_mile),
            "stranded": dict(self.stranded),
            "trend": [dict(r) for r in self.trend],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text (schema ``lastmile.report/1``)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_frame(self) -> pd.DataFrame:
        """The funnel as a DataFrame, one row per stage (the case table is ``case_table``)."""
        return pd.DataFrame(self.funnel)

    @property
    def summary(self) -> str:
        """A readable text summary for a terminal."""
        lm, st = self.last_mile, self.stranded
        end = (
            (self.as_of or self.log_end).strftime("%Y-%m-%d %H:%M")
            if (self.as_of or self.log_end)
            else "-"
        )
        lines = [
            f"lastmile report: {self.cases:,} cases, {self.events:,} events, "
            + (f"as of {end}" if self.as_of else f"last event {end}"),
            "status: " + ", ".join(f"{self.status[s]:,} {s}" for s in STATUSES),
            "",
            f"{'stage':<28} {'reached':>9} {'moved on':>9} {'lost':>8} {'open':>8} "
            f"{'conversion':>10} {'median h':>9}",
        ]
        for row in self.funnel:
            lines.append(
                f"{row['stage'][:28]:<28} {row['reached']:>9,} {row['moved_on']:>9,} "
                f"{row['lost']:>8,} {row['open']:>8,} {_pct(row['conversion']):>10} "
                f"{_num(row['median_hours_to_next']):>9}"
            )
        lines += [
            "",
            f"last mile (from {lm['stage']!r} to {self.journey.finish!r}): "
            f"{lm['entered']:,} entered, {lm['finished']:,} finished, {lm['failed']:,} failed, "
            f"{lm['reversed']:,} reversed, {lm['open']:,} open; "
            f"conversion {_pct(lm['conversion'])}, {_pct(lm['share_of_failures'])} of all "
            "failures",
            f"stranded in last-mile failures: {st['events']:,} events "
            f"({_pct(st['share_of_events'])} of all), {st['case_days']:,.1f} case-days "
            f"({_pct(st['share_of_case_days'])})"
            + (
                f", cost {st['cost']:,.2f} ({_pct(st['share_of_cost'])})"
                if st["cost"] is not None
                else ""
            )
            + (f", value lost {st['value_lost']:,.2f}" if st["value_lost"] is not None else ""),
        ]
        if not self.journey.failure and self.journey.timeout is None:
            lines.append(
                "note: the journey has no failure activities and no timeout, so every "
                "unfinished case counts as open"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def activity_counts(events: ir.Table) -> dict[str, int]:
    """Number of events per activity (a small materialised result)."""
    df = events.group_by("activity").aggregate(n=events.count()).to_pandas()
    return {str(a): int(n) for a, n in zip(df["activity"], df["n"], strict=True)}


def compute_report(
    events: ir.Table, journey: Journey, as_of: Any = None, validate: bool = True
) -> Report:
    """Compute the last-mile report of an event table.

    Parameters
    ----------
    events
        The event table (see ``docs/contracts.md``), on any Ibis backend.
    journey
        The journey; checked against the log first unless ``validate`` is False.
    as_of
        Look at the log as it was at this time (text or datetime; UTC when it has no zone).

    Returns
    -------
    Report
        With ``.to_dict()``, ``.to_json()``, ``.to_frame()``, ``.summary`` and the lazy
        ``.case_table``.
    """
    cut = as_timestamp(as_of)
    if validate:
        journey.validate(activity_counts(events), columns=events.columns)
    # materialised once: the aggregates, the trend and the timing section all read it
    cases = case_table(events, journey, as_of=cut).cache()
    aggs: dict[str, ir.Scalar] = {
        "n_cases": cases.count(),
        "n_events": cases.events.sum().coalesce(0),
        "log_end": cases.last_event_at.max(),
    }
    for s in STATUSES:
        aggs[f"status_{s}"] = count(cases, cases.status == s)
    aggs |= funnel_aggregates(cases, journey)
    aggs |= last_mile_aggregates(cases, journey)
    aggs |= stranded_aggregates(cases, journey)
    frame = cases.aggregate(**aggs).to_pandas()
    if len(frame) != 1:  # pragma: no cover - an aggregate without keys has one row
        raise LastmileError("the report query returned no row")
    row = {k: _clean(v) for k, v in frame.iloc[0].to_dict().items()}
    log_end = frame["log_end"].iloc[0]
    trend_rows = trend(cases, journey).to_pandas().to_dict(orient="records")
    return Report(
        journey=journey,
        as_of=cut,
        log_end=None if pd.isna(log_end) else pd.Timestamp(log_end).to_pydatetime(),
        cases=int(row["n_cases"]),
        events=int(row["n_events"] or 0),
        status={s: int(row[f"status_{s}"]) for s in STATUSES},
        funnel=_clean(funnel_records(row, journey)),
        last_mile=_clean(last_mile_record(row, journey)),
        stranded=_clean(stranded_record(row, journey)),
        trend=_clean(trend_rows),
        case_table=cases,
    )
