"""Timing in the last mile: how long cases take to finish, and when they go cold.

The clock starts when a case enters the last mile (``entered_last_mile_at`` of the case table).
Each case that entered has one outcome, or none yet:

- **finished** at ``finished_at`` (a reversed case did reach the finish: the reversal is a
  later, separate matter);
- **failed**, a competing outcome after which it can never finish: at its first failure
  activity, or — abandoned by the timeout — at ``last_event_at + timeout``, the moment it went
  silent for longer than the timeout;
- none yet: still **open** at the end of observation (``as_of``, or the last event of the
  log), where it is **censored** — never counted as lost.

:func:`timing` estimates **F(t) = P(finished by t)**, the cumulative incidence of finishing,
with the Aalen–Johansen estimator of ``lifelines`` (the Kaplan–Meier of the time to the first
outcome, times the share of those outcomes that are finishes), with a 95 % band; and **G(t)**,
the cumulative incidence of failure, the same way. lifelines' arithmetic runs here in numpy on
the same event table (``AalenJohansenFitter`` itself takes seconds per million cases);
``tests/timing`` shows the two equal. ``docs/timing.md`` explains why failures
are a competing outcome rather than censored.

The **going-cold point**: ``p0 = F(∞)`` (``F`` at the longest time observed) is the chance of
finishing at entry. A case still live after ``t`` (neither finished nor failed) finishes with
chance ``p(t) = (F(∞) - F(t)) / (1 - F(t) - G(t))``; the going-cold point is the first ``t``
with ``p(t) < threshold · p0`` while at least ``min_at_risk`` cases are still live. Without
failures (``G = 0``) this is ``(F(∞) - F(t)) / (1 - F(t))``.

>>> import pandas as pd
>>> from lastmile.journey import Journey
>>> from lastmile.io import read_log
>>> ev = pd.DataFrame({
...     "case": ["a", "a", "b", "b", "c", "d", "d"],
...     "activity": ["sent", "signed", "sent", "signed", "sent", "sent", "signed"],
...     "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-04",
...                             "2024-01-03", "2024-01-04", "2024-01-09"])})
>>> t = timing(read_log(ev).table, Journey.from_flags("sent,signed"), min_at_risk=1)
>>> t.curve_[["time", "finished", "at_risk"]].round(3).values.tolist()
[[0.0, 0.0, 4.0], [24.0, 0.25, 4.0], [72.0, 0.5, 3.0], [120.0, 0.75, 2.0], [144.0, 0.75, 1.0]]
>>> t.ever_finish_, t.median_, t.going_cold_
(0.75, 72.0, 120.0)
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from markupsafe import escape

from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.measures._expr import as_timestamp, epoch, literal_time
from lastmile.measures.cases import case_table

__all__ = [
    "SCHEMA",
    "Timing",
    "going_cold_point",
    "last_mile_durations",
    "timing",
    "timing_chart_svg",
]

SCHEMA = "lastmile.timing/1"

#: Time points (days) of the readable table; only those within the observed time are shown.
TABLE_DAYS: tuple[float, ...] = (1, 3, 7, 14, 30, 60, 90, 180, 365, 730)

#: At most this many segments; the smallest are pooled into ``(other)``.
MAX_SEGMENTS = 8
OTHER = "(other)"
MISSING = "(missing)"

_CURVE_COLUMNS = ["time", "finished", "lower", "upper", "at_risk", "failed", "chance"]


# ---------------------------------------------------------------------------------------------
# durations


def last_mile_durations(
    events: ir.Table, journey: Journey, as_of: Any = None, by: str | None = None,
    cases: ir.Table | None = None,
) -> pd.DataFrame:
    """One row per case that entered the last mile: how long until its outcome, and which.

    Parameters
    ----------
    events
        The event table (see ``docs/contracts.md``).
    journey
        The journey; its ``last_mile`` and ``finish`` start and stop the clock.
    as_of
        End of observation (default: the last event of the log); later events are ignored.
    by
        Optional case attribute to add as the column ``segment`` (raw values, not grouped).
    cases
        The case table of the same journey and ``as_of`` if the caller already has one (for
        instance materialised by ``compute_report``); built from ``events`` otherwise.

    Returns
    -------
    pandas.DataFrame
        ``case_id``, ``status`` (of the case table), ``entered_at``, ``outcome``
        (``finished``, ``failed`` or ``censored``), ``hours`` from entering the last mile to
        the outcome (to the finish; to the failure activity, or to ``last_event_at +
        timeout`` for an abandoned case; to the end of observation for an open one), and
        ``watched_hours`` (to the end of observation), plus ``segment`` with ``by``. Sorted by
        ``case_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> from lastmile.io import read_log
    >>> ev = pd.DataFrame({"case": ["a", "a", "b", "c", "c"],
    ...     "activity": ["sent", "signed", "sent", "sent", "lost"],
    ...     "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-02 12:00", "2024-01-02 00:00",
    ...                             "2024-01-01 00:00", "2024-01-01 06:00"])})
    >>> j = Journey.from_flags("sent,signed", fail="lost")
    >>> d = last_mile_durations(read_log(ev).table, j)
    >>> d[["case_id", "status", "outcome", "hours", "watched_hours"]].values.tolist()
    [['a', 'finished', 'finished', 36.0, 36.0], ['b', 'open', 'censored', 12.0, 12.0], \
['c', 'failed', 'failed', 6.0, 36.0]]
    """
    cut = as_timestamp(as_of)
    out = _durations_query(events, journey, cut, by, cases)
    if by is None:
        return _frame_from_arrow(out.to_pyarrow())
    df = out.to_pandas().sort_values("case_id", kind="stable").reset_index(drop=True)
    df["hours"] = _clipped(df["hours"])
    df["watched_hours"] = _clipped(df["watched_hours"])
    return df


def _durations_query(
    events: ir.Table, journey: Journey, cut: datetime | None, by: str | None,
    cases: ir.Table | None,
) -> ir.Table:
    """The query behind :func:`last_mile_durations` (hours not yet clipped at 0, any order)."""
    if by is not None and by not in events.columns:
        known = [c for c in events.columns if c not in ("case_id", "event_index")]
        near = difflib.get_close_matches(by, known, n=3, cutoff=0.5)
        raise LastmileError(
            f"the log has no attribute {by!r} to split by",
            hint=("did you mean " + " or ".join(repr(n) for n in near) + "?")
            if near
            else "the log has " + ", ".join(repr(c) for c in known[:12]),
        )
    if cases is None:  # the caller may pass the case table it already has (same as_of)
        cases = case_table(events, journey, as_of=cut)
    cases = cases.filter(cases.entered_last_mile)
    if cut is not None:
        end: ir.Value = literal_time(cut)
    else:
        end = events.timestamp.max().as_scalar()
    start = epoch(cases.entered_last_mile_at)
    reached = cases.status.isin(["finished", "reversed"])
    timeout = journey.timeout.total_seconds() if journey.timeout is not None else 0.0
    failed_at = ibis.cases(
        (cases.failure_kind == "explicit", epoch(cases.explicit_failure_at)),
        (cases.failure_kind == "abandoned", epoch(cases.last_event_at) + timeout),
        else_=ibis.null("float64"),
    )
    stop = ibis.cases(
        (reached, epoch(cases.finished_at)),
        (cases.status == "failed", failed_at),
        else_=epoch(end),
    )
    outcome = ibis.cases(
        (reached, "finished"), (cases.status == "failed", "failed"), else_="censored"
    )
    out = cases.select(
        "case_id",
        "status",
        entered_at=cases.entered_last_mile_at,
        outcome=outcome,
        hours=(stop - start) / 3600.0,
        watched_hours=(epoch(end) - start) / 3600.0,
    )
    if by is not None:
        ev = events.filter(events.timestamp <= literal_time(cut)) if cut is not None else events
        attr = ev.group_by("case_id").aggregate(segment=ev[by].max())
        out = out.left_join(attr, "case_id").select(*out.columns, "segment")
    return out


def _clipped(values: Any) -> np.ndarray:
    """Hours as float64, negative ones set to 0 (a failure activity before the case entered
    the last mile counts at entry); NaN stays NaN."""
    hours = np.asarray(values, dtype="float64")
    return np.where(hours < 0, 0.0, hours)


def _frame_from_arrow(table: Any) -> pd.DataFrame:
    """The :func:`last_mile_durations` frame from the fetched rows (a ``pyarrow.Table``)."""
    import pyarrow.compute as pc

    table = table.take(pc.sort_indices(table, sort_keys=[("case_id", "ascending")]))
    df = table.to_pandas()
    for name in ("hours", "watched_hours"):
        df[name] = _clipped(df[name])
    return df


def _segment_labels(
    values: pd.Series, max_segments: int = MAX_SEGMENTS
) -> tuple[pd.Series, list[str]]:
    """Group raw attribute values into at most ``max_segments`` readable labels, and order them.

    Numbers with more than ``max_segments`` distinct values become quartiles (``lo–hi``) and
    times become months, both in their natural order; other values keep their text, largest
    segment first, the smallest pooled into ``(other)``. ``(other)`` and ``(missing)`` (null
    values) come last.

    >>> labels, order = _segment_labels(pd.Series(["x", "y", None, "y"]))
    >>> labels.tolist(), order
    (['x', 'y', '(missing)', 'y'], ['y', 'x', '(missing)'])
    >>> labels, order = _segment_labels(pd.Series(range(100, 0, -1)))
    >>> order, labels.value_counts()[order].tolist()
    (['1–25', '26–50', '51–75', '76–100'], [25, 25, 25, 25])
    """
    s = values
    natural: list[str] | None = None
    if pd.api.types.is_datetime64_any_dtype(s):
        labels = s.dt.strftime("%Y-%m")
        natural = sorted(labels.dropna().unique())
    elif (
        pd.api.types.is_numeric_dtype(s)
        and not pd.api.types.is_bool_dtype(s)
        and s.nunique() > max_segments
    ):
        num = s.astype("float64")
        bins = pd.qcut(num, 4, duplicates="drop")
        labels = pd.Series(index=s.index, dtype="object")
        natural = []
        for interval in bins.cat.categories:
            inside = bins == interval
            lo, hi = num[inside].min(), num[inside].max()
            natural.append(f"{lo:,.6g}–{hi:,.6g}")
            labels[inside] = natural[-1]
    else:
        labels = s.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore")
    labels = labels.astype("object").where(s.notna(), MISSING)
    counts = labels.value_counts()
    if len(counts) > max_segments:
        keep = set(counts.index[: max_segments - 1])
        labels = labels.where(labels.isin(keep), OTHER)
        counts = labels.value_counts()
    present = set(counts.index)
    if natural is not None:
        order = [n for n in natural if n in present]
    else:
        order = [str(n) for n in counts.index if n not in (OTHER, MISSING)]
    order += [n for n in (OTHER, MISSING) if n in present]
    return labels, order


# ---------------------------------------------------------------------------------------------
# estimation


_OUTCOME_CODES = {"censored": 0, "finished": 1, "failed": 2}
_AT_ZERO = 1e-9  # hours: where outcomes at time 0 are computed (folded back to 0)


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    if len(values) == 0:
        return values, np.zeros(0, dtype="int64")
    start = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    return values[start], np.diff(np.append(start, len(values)))


def _event_table(hours: np.ndarray, code: np.ndarray) -> dict[str, np.ndarray]:
    """lifelines' event table of the time to the first outcome, ties separated.

    One row at time 0 (everyone at risk), then one per distinct time: ``removed``,
    ``observed`` (finishes and failures), ``observed_1`` (finishes), ``observed_2``
    (failures) and ``at_risk`` (cases without an outcome just before), as lifelines'
    ``AalenJohansenFitter.event_table`` has them for the same input.

    Failures tied with finishes are moved to the next representable time, just after them:
    counting a failure just after a finish at the same time gives exactly the Aalen–Johansen
    estimate with ties (the failing case is still in the risk set when the finish happens);
    lifelines would instead jitter tied times of different outcomes at random. lifelines also
    sets the estimate of its first time (0) to 0, which would drop outcomes at 0 h (a case
    that reached the finish the moment it entered the last mile): they are computed just after
    0 and folded back by :func:`_aj_curve`.

    >>> e = _event_table(np.array([0.0, 2.0, 2.0, 5.0]), np.array([1, 1, 2, 0]))
    >>> e["time"].tolist(), e["at_risk"].tolist(), e["observed_2"].tolist()
    ([0.0, 1e-09, 2.0, 2.0000000000000004, 5.0], [4, 4, 3, 2, 1], [0, 0, 0, 1, 0])
    """
    t = np.where(hours > 0, np.asarray(hours, dtype="float64"), _AT_ZERO)
    code = np.asarray(code)
    # the distinct times and how many cases each removes; then finishes and failures per time
    time, removed = _runs(np.sort(t))
    c1, c2 = (np.zeros(len(time), dtype="int64") for _ in range(2))
    for k, counts in ((1, c1), (2, c2)):
        values, n = _runs(np.sort(t[code == k]))
        counts[np.searchsorted(time, values)] = n
    c0 = removed - c1 - c2
    for _ in range(20):  # a moved failure can land on the time of another finish
        tied = np.flatnonzero((c1 > 0) & (c2 > 0))
        if not len(tied):
            break
        later = np.nextafter(time[tied], np.inf)
        moved = c2[tied]
        c2[tied] = 0
        at = np.searchsorted(time, later)
        known = (at < len(time)) & (time[np.minimum(at, len(time) - 1)] == later)
        np.add.at(c2, at[known], moved[known])
        new = ~known
        time = np.insert(time, at[new], later[new])
        c0 = np.insert(c0, at[new], 0)
        c1 = np.insert(c1, at[new], 0)
        c2 = np.insert(c2, at[new], moved[new])
    removed = np.concatenate([[0], c0 + c1 + c2])
    return {
        "time": np.concatenate([[0.0], time]),
        "removed": removed,
        "observed": np.concatenate([[0], c1 + c2]),
        "observed_1": np.concatenate([[0], c1]),
        "observed_2": np.concatenate([[0], c2]),
        "at_risk": len(t) - np.concatenate([[0], np.cumsum(removed)[:-1]]),
    }


def _aalen_johansen(table: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """F and G, the Aalen–Johansen cumulative incidences of finishing and failing.

    lifelines' ``AalenJohansenFitter`` computed on its event table with its own formulas (the
    Kaplan–Meier ``S`` of the time to the first outcome as lifelines' ``KaplanMeierFitter``
    forms it, a sum of logs; then ``F`` grows by ``S(t−) · finishes / at risk``, 0 at its first
    time), vectorised; ``tests/timing`` shows it equal to lifelines on hand-made, simulated and
    real logs. lifelines runs the same arithmetic through pandas group-bys and re-indexing,
    which takes seconds for a million cases.

    >>> e = _event_table(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 2, 0, 1]))
    >>> [v.round(3).tolist() for v in _aalen_johansen(e)]
    [[0.0, 0.25, 0.25, 0.25, 0.75], [0.0, 0.0, 0.25, 0.25, 0.25]]
    """
    n = np.asarray(table["at_risk"], dtype="float64")
    d = np.asarray(table["observed"], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.exp(np.cumsum(np.log(n - d) - np.log(n)))
    lag = np.concatenate([[0.0], surv[:-1]])  # the first row is set to 0 below
    out = []
    for column in ("observed_1", "observed_2"):
        step = np.asarray(table[column], dtype="float64") / n * lag
        step[0] = 0.0
        out.append(np.cumsum(step))
    return out[0], out[1]


def _ffill(values: np.ndarray, fill: float) -> np.ndarray:
    """NaN replaced by the last value before it, or ``fill`` when there is none."""
    seen = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(seen, out=seen)
    filled = values[seen]
    return np.where(np.isnan(filled), fill, filled)


def _aj_curve(hours: np.ndarray, code: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidences of finishing and failing, with the band.

    ``code`` is 0 for censored, 1 for finished, 2 for failed. The estimate is lifelines' (see
    :func:`_aalen_johansen`), the band its delta-method band (see :func:`_aj_band`).

    >>> _aj_curve(np.array([0.0, 2.0, 2.0, 5.0]), np.array([1, 1, 2, 0]))[
    ...     ["time", "finished", "failed", "at_risk"]].values.tolist()
    [[0.0, 0.25, 0.0, 4.0], [2.0, 0.5, 0.25, 3.0], [5.0, 0.5, 0.25, 1.0]]
    """
    table = _event_table(hours, code)
    f, g = _aalen_johansen(table)
    lower, upper = _aj_band(table, f, alpha)
    # the band is undefined where F = 0 (it is 0) and where every case still live finishes at
    # once (keep the last band); it always contains the estimate
    zero = f <= 0
    lower = np.minimum(_ffill(np.where(zero, 0.0, lower), 0.0), f)
    upper = np.maximum(_ffill(np.where(zero, 0.0, upper), 1.0), f)
    raw = table["time"]
    at_risk = table["at_risk"].astype("float64")
    # fold the tie-breaking steps back onto their time: risk set from the first, the rest
    # from the last row of each time
    key = np.where(raw < 10 * _AT_ZERO, 0.0, np.round(raw, 9))
    if len(key) > 1 and (key[1:] == key[:-1]).any():
        new = np.concatenate([[True], key[1:] != key[:-1]])
        first = np.flatnonzero(new)
        last = np.append(first[1:], len(key)) - 1
        raw, at_risk = raw[first], at_risk[first]
        f, lower, upper, g = f[last], lower[last], upper[last], g[last]
    time = np.where(raw < 10 * _AT_ZERO, 0.0, raw)
    return pd.DataFrame({"time": time, "finished": f, "lower": lower, "upper": upper,
                         "at_risk": at_risk, "failed": g})


def _aj_band(
    table: Mapping[str, Any], f: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The pointwise band of lifelines' Aalen–Johansen estimate, vectorised.

    The same delta-method variance (Aalen & Johansen; as lifelines computes it row by row) on
    the log(−log) scale, from the event table (lifelines' own, or :func:`_event_table`'s);
    equal to lifelines' band to floating-point precision (``tests/timing``).
    """
    n = np.asarray(table["at_risk"], dtype="float64")
    d = np.asarray(table["observed"], dtype="float64")
    d1 = np.asarray(table["observed_1"], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0))
        lag = np.concatenate([[1.0], surv[:-1]])
        a = np.where(n - d > 0, d / n / (n - d), 0.0)
        first = (np.cumsum(a) * f * f - 2 * np.cumsum(a * f) * f + np.cumsum(a * f * f))
        second = np.cumsum(np.where(n > 0, lag**2 * d1 * (n - d1) / n**3, 0.0))
        c = np.where(n > 0, lag * d1 / n**2, 0.0)
        third = f * np.cumsum(c) - np.cumsum(c * f)
        var = first + second - 2 * third
        z = NormalDist().inv_cdf(1 - alpha / 2)  # = scipy norm.ppf to 1e-15, without scipy
        loglog = np.log(-np.log(f))
        se = np.sqrt(var) / (f * np.abs(np.log(f)))
        one = np.exp(-np.exp(loglog + z * se))
        two = np.exp(-np.exp(loglog - z * se))
    return np.fmin(one, two), np.fmax(one, two)


def _chance(f: np.ndarray, g: np.ndarray, p0: float) -> np.ndarray:
    """``p(t) = (p0 - F(t)) / (1 - F(t) - G(t))``, in [0, 1]; NaN where no case is live."""
    live = 1.0 - f - g
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(live > 1e-12, np.clip(p0 - f, 0.0, None) / live, np.nan)
    return np.clip(p, 0.0, 1.0)


def going_cold_point(
    curve: pd.DataFrame, threshold: float = 0.5, min_at_risk: float = 0
) -> float | None:
    """The first time at which a case still live has less than ``threshold`` of its chance at entry.

    ``curve`` has ``time``, ``finished`` (F) and optionally ``failed`` (G, default 0) and
    ``at_risk`` (live cases; times with fewer than ``min_at_risk`` are not considered).
    ``p0 = F(∞)`` is the curve's last value and ``p(t) = (F(∞) - F(t)) / (1 - F(t) - G(t))``.
    None when no case finishes, or ``p(t)`` never falls that low while enough cases are live.

    >>> c = pd.DataFrame({"time": [0.0, 1, 2, 3], "finished": [0.0, 0.2, 0.3, 0.4]})
    >>> going_cold_point(c)  # p0 = 0.4; p = 0.4, 0.25, 0.14, 0: below 0.2 at t = 2
    2.0
    >>> going_cold_point(c.assign(failed=[0.0, 0.3, 0.5, 0.6]))  # p = 0.4, 0.4, 0.5, -
    """
    f = curve["finished"].to_numpy(dtype="float64")
    if len(f) == 0 or f[-1] <= 0:
        return None
    p0 = float(f[-1])
    g = curve["failed"].to_numpy(dtype="float64") if "failed" in curve else np.zeros_like(f)
    chance = _chance(f, g, p0)
    ok = curve["at_risk"].to_numpy() >= min_at_risk if "at_risk" in curve else True
    below = np.flatnonzero(ok & (chance < threshold * p0 - 1e-12))
    return float(curve["time"].iloc[below[0]]) if len(below) else None


def _first_time(curve: pd.DataFrame, level: float) -> float | None:
    """The first time the curve reaches ``level`` (None if it never does)."""
    hit = np.flatnonzero(curve["finished"].to_numpy() >= level - 1e-12)
    return float(curve["time"].iloc[hit[0]]) if len(hit) and level > 0 else None


def _label_days(days: float) -> str:
    return f"{days:g}d"


# ---------------------------------------------------------------------------------------------
# the per-case input of an estimate


class _Cases:
    """The per-case durations behind a :class:`Timing`.

    The estimate and the readings need only numbers: ``hours`` and the ``outcome`` code (0
    censored, 1 finished, 2 failed) of each case, in any order, and the counts by status. The
    frame of :func:`last_mile_durations` (a Python string per case id) is built from the
    fetched rows (``frame``: a DataFrame, or the ``pyarrow.Table`` of the query) the first
    time it is read: for a million cases that alone would take longer than the estimate.

    >>> c = _Cases(pd.DataFrame({"status": ["open", "finished"],
    ...                          "outcome": ["censored", "finished"], "hours": [5.0, 2.0]}))
    >>> c.outcome.tolist(), c.sorted_hours.tolist(), c.status["open"], len(c)
    ([0, 1], [2.0, 5.0], 1, 2)
    """

    def __init__(
        self,
        frame: Any,
        hours: np.ndarray | None = None,
        outcome: np.ndarray | None = None,
        status: dict[str, int] | None = None,
    ) -> None:
        self._frame = frame
        self._hours = hours
        self._outcome = outcome
        self._status = status
        self._sorted: np.ndarray | None = None

    @classmethod
    def fetch(cls, query: ir.Table) -> _Cases:
        """Run the durations query (:func:`_durations_query`, without ``by``) once, as Arrow;
        the numbers come from its columns without going through Python objects."""
        import pyarrow as pa
        import pyarrow.compute as pc

        table = query.to_pyarrow()
        hours = _clipped(table["hours"].to_numpy())
        known = pa.array(list(_OUTCOME_CODES))  # in the order of their codes
        outcome = pc.index_in(table["outcome"], value_set=known).to_numpy()
        status = {
            row["values"]: int(row["counts"])
            for row in pc.value_counts(table["status"]).to_pylist()
        }
        return cls(table, hours, outcome, status)

    @property
    def frame(self) -> pd.DataFrame:
        """The :func:`last_mile_durations` frame (built on first use)."""
        if not isinstance(self._frame, pd.DataFrame):
            self._frame = _frame_from_arrow(self._frame)
        return self._frame

    def with_frame(self, frame: pd.DataFrame) -> _Cases:
        """The same cases (same rows, same order) with another frame (segment labels)."""
        return _Cases(frame, self._hours, self._outcome, self._status)

    @property
    def hours(self) -> np.ndarray:
        if self._hours is None:
            self._hours = self.frame["hours"].to_numpy(dtype="float64")
        return self._hours

    @property
    def outcome(self) -> np.ndarray:
        if self._outcome is None:
            outcome = self.frame["outcome"].map(_OUTCOME_CODES)
            self._outcome = outcome.to_numpy(dtype="int64")
        return self._outcome

    @property
    def status(self) -> dict[str, int]:
        if self._status is None:
            counts = self.frame["status"].value_counts()
            self._status = {str(k): int(v) for k, v in counts.items()}
        return self._status

    @property
    def sorted_hours(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self.hours)
        return self._sorted

    def __len__(self) -> int:
        return len(self._hours) if self._hours is not None else len(self.frame)


class _DurationsField:
    """``Timing.durations_``: given a frame or :class:`_Cases`, read as a frame."""

    def __get__(self, obj: Any, owner: type | None = None) -> pd.DataFrame:
        if obj is None:  # on the class: a dataclass field without a default
            raise AttributeError("durations_")
        return obj._cases.frame

    def __set__(self, obj: Any, value: pd.DataFrame | _Cases) -> None:
        obj._cases = value if isinstance(value, _Cases) else _Cases(value)


# ---------------------------------------------------------------------------------------------
# the result object


@dataclass(repr=False)
class Timing:
    """Time from entering the last mile to finishing: curve, median and going-cold point.

    Build it with :func:`timing`. Times are in hours. Learned quantities end in ``_``:

    Attributes
    ----------
    curve_
        DataFrame, one row per time at which something happened: ``time`` (hours since
        entering the last mile), ``finished`` (F(t) = P(finished by t), Aalen–Johansen),
        ``lower``/``upper`` (its 95 % band), ``at_risk`` (cases still live — neither finished
        nor failed, and still watched — just before t), ``failed`` (G(t) = P(failed by t)),
        ``chance`` (``p(t)``: the chance that a case still live after t ever finishes).
    ever_finish_
        ``p0 = F(∞)``: the share of entering cases that finish, estimated with censoring.
    median_
        Median time to finish *of the cases that finish*: first t with F(t) ≥ F(∞)/2.
    half_finished_
        First t with F(t) ≥ 1/2: half of all entrants finished; None when fewer ever do.
    going_cold_
        The going-cold point (see :func:`going_cold_point`); None if not reached.
    durations_
        The per-case input (:func:`last_mile_durations`; ``segment`` holds the segment names),
        built when first read (the estimate needs only its numbers).
    segments_
        One :class:`Timing` per segment (with ``by``), largest first.
    logrank_p_
        p-value of the test that the segments have the same cumulative incidence of finishing:
        the log-rank test with failed cases kept at risk until the end of observation (the
        Fine–Gray score test when, as here, every case's censoring time is known); None
        without ``by`` or with a single segment.
    """

    journey: Journey
    as_of: datetime | None
    by: str | None
    threshold: float
    alpha: float
    min_at_risk: int
    log_end: datetime | None
    durations_: pd.DataFrame = _DurationsField()  # type: ignore[assignment]
    curve_: pd.DataFrame
    ever_finish_: float | None
    median_: float | None
    half_finished_: float | None
    going_cold_: float | None
    segments_: dict[str, Timing] = field(default_factory=dict)
    logrank_p_: float | None = None
    name: str = "all"

    # ---------------------------------------------------------------- counts
    @property
    def counts(self) -> dict[str, int]:
        """Cases that entered the last mile, by status (``entered`` is their total)."""
        status = self._cases.status
        out = {"entered": len(self._cases)}
        for s in ("finished", "reversed", "failed", "open"):
            out[s] = int(status.get(s, 0))
        return out

    def at(self, hours: float | Sequence[float]) -> pd.DataFrame:
        """The curve read at given times (hours): one row each, ``time`` as asked.

        ``at_risk`` counts the cases still live (no outcome, still watched) just before ``t``.

        >>> c = pd.DataFrame({"time": [0.0, 2.0], "finished": [0.0, 0.5], "lower": [0.0, 0.1],
        ...                   "upper": [0.0, 0.9], "at_risk": [2.0, 2.0], "failed": [0.0, 0.0],
        ...                   "chance": [0.5, 0.0]})
        >>> d = pd.DataFrame({"hours": [2.0, 3.0], "outcome": ["finished", "censored"]})
        >>> t = Timing(None, None, None, 0.5, 0.05, 10, None, d, c, 0.5, 2.0, 2.0, 2.0)
        >>> t.at([1, 2.5])[["time", "finished", "at_risk"]].values.tolist()
        [[1.0, 0.0, 2.0], [2.5, 0.5, 1.0]]
        """
        times = np.atleast_1d(np.asarray(hours, dtype="float64"))
        if self.curve_.empty:
            empty = pd.DataFrame({c: np.full(len(times), np.nan) for c in _CURVE_COLUMNS})
            return empty.assign(time=times, at_risk=0.0)
        idx = np.searchsorted(self.curve_["time"].to_numpy(), times, side="right") - 1
        rows = self.curve_.iloc[np.clip(idx, 0, None)].reset_index(drop=True).copy()
        rows["time"] = times
        watched = self._cases.sorted_hours
        rows["at_risk"] = (len(watched) - np.searchsorted(watched, times, side="left")).astype(
            "float64"
        )
        return rows[_CURVE_COLUMNS]

    def table(self, days: Sequence[float] = TABLE_DAYS) -> pd.DataFrame:
        """The curve at readable time points (days), those within the time observed.

        Columns ``after`` (``"7d"``), then those of :attr:`curve_`.
        """
        longest = float(self.curve_["time"].max()) if len(self.curve_) else 0.0
        kept = [d for d in days if d * 24 <= longest] or list(days[:1])
        rows = self.at([d * 24.0 for d in kept])
        rows.insert(0, "after", [_label_days(d) for d in kept])
        return rows

    # ---------------------------------------------------------------- outputs
    def to_frame(self) -> pd.DataFrame:
        """The readable table (:meth:`table`), overall and per segment, in long form.

        Column ``segment`` is ``"all"`` for the whole last mile, then each segment's name.
        """
        parts = [self.table().assign(segment="all")]
        for name, seg in self.segments_.items():
            parts.append(seg.table().assign(segment=name))
        frame = pd.concat(parts, ignore_index=True)
        return frame[["segment", *[c for c in frame.columns if c != "segment"]]]

    def _cold_at_risk(self) -> int | None:
        """Cases still live at the going-cold point: the evidence behind it."""
        if self.going_cold_ is None:
            return None
        row = self.curve_[self.curve_["time"] == self.going_cold_]
        return int(row["at_risk"].iloc[0]) if len(row) else None

    def _body(self, curve_points: int | None = None) -> dict[str, Any]:
        counts = self.counts
        return {
            "cases": counts["entered"],
            "status": {k: v for k, v in counts.items() if k != "entered"},
            "ever_finish": _round(self.ever_finish_),
            "median_hours": _round(self.median_),
            "half_finished_hours": _round(self.half_finished_),
            "going_cold_hours": _round(self.going_cold_),
            "going_cold_at_risk": self._cold_at_risk(),
            "table": _records(self.table()),
            "curve": _records(_thinned(self.curve_, curve_points)),
        }

    def to_dict(self, curve_points: int | None = None) -> dict[str, Any]:
        """The JSON form, schema ``lastmile.timing/1`` (documented in ``docs/timing.md``).

        With ``curve_points``, each curve keeps at most that many of its rows, evenly spread
        (the first and the last always kept), as the report embeds it; by default all.
        """
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "journey": {"last_mile": self.journey.last_mile, "finish": self.journey.finish},
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "log_end": self.log_end.isoformat() if self.log_end else None,
            "threshold": self.threshold,
            "min_at_risk": self.min_at_risk,
            "confidence": round(1 - self.alpha, 6),
            "time_unit": "hours",
        }
        out.update(self._body(curve_points))
        out["by"] = self.by
        out["logrank_p"] = _round(self.logrank_p_)
        out["segments"] = [
            {"segment": name, **seg._body(curve_points)}
            for name, seg in self.segments_.items()
        ]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (no NaN: undefined numbers are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_svg(self) -> str:
        """The chart: see :func:`timing_chart_svg`."""
        return timing_chart_svg(self)

    @property
    def summary(self) -> str:
        """A readable text summary for a terminal."""
        c = self.counts
        end = self.as_of or self.log_end
        when = (
            ("as of " if self.as_of else "last event ") + end.strftime("%Y-%m-%d %H:%M")
            if end
            else ""
        )
        lines = [
            f"lastmile timing: time in the last mile, from {self.journey.last_mile!r} to "
            f"{self.journey.finish!r}" + (f"; {when}" if when else ""),
            f"{c['entered']:,} cases entered the last mile: {c['finished'] + c['reversed']:,} "
            f"finished, {c['failed']:,} failed, {c['open']:,} still open (censored)",
        ]
        if c["entered"] == 0:
            return "\n".join(lines)
        lines.append(
            f"will ever finish: {_pct(self.ever_finish_)}; median time to finish (of those "
            f"that finish): {_dur(self.median_)}; half of all entrants finished by "
            f"{_dur(self.half_finished_) if self.half_finished_ is not None else 'never'}"
        )
        if self.going_cold_ is not None:
            chance = float(self.at(self.going_cold_)["chance"].iloc[0])
            lines.append(
                f"going cold after {_dur(self.going_cold_)}: a case still live then finishes "
                f"with {_pct(chance)}, less than {self.threshold:.0%} of the "
                f"{_pct(self.ever_finish_)} at entry ({self._cold_at_risk():,} cases still live "
                "then); follow up before"
            )
        else:
            lines.append("going cold: not reached within the time observed")
        lines += ["", f"{'after':>6} {'finished':>9} {'95 % band':>15} {'failed':>8} "
                  f"{'still live':>11} {'chance if live':>15}"]
        for row in self.table().itertuples():
            band = f"{_pct(row.lower)}–{_pct(row.upper)}"
            lines.append(
                f"{row.after:>6} {_pct(row.finished):>9} {band:>15} {_pct(row.failed):>8} "
                f"{int(row.at_risk):>11,} {_pct(row.chance):>15}"
            )
        lines.append(
            "finished, failed: share of all entrants by then; still live: cases watched that "
            "long with no outcome yet; chance if live: that such a case ever finishes"
        )
        if self.segments_:
            lines += [
                "",
                f"by {self.by}"
                + (f" (log-rank test that the segments finish alike: {_p(self.logrank_p_)})"
                   if self.logrank_p_ is not None else ""),
                f"{'segment':<24} {'cases':>7} {'ever finish':>12} {'median':>9} "
                f"{'going cold':>11}",
            ]
            for name, seg in self.segments_.items():
                lines.append(
                    f"{name[:24]:<24} {seg.counts['entered']:>7,} "
                    f"{_pct(seg.ever_finish_):>12} {_dur(seg.median_):>9} "
                    f"{_dur(seg.going_cold_):>11}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary

    def __repr__(self) -> str:
        def num(v: float | None) -> str:
            return "None" if v is None else f"{v:.4g}"

        return (
            f"<Timing {self.journey.last_mile!r} → {self.journey.finish!r}: "
            f"{len(self.durations_):,} cases, ever_finish={num(self.ever_finish_)}, "
            f"median_hours={num(self.median_)}, going_cold_hours={num(self.going_cold_)}"
            + (f", {len(self.segments_)} segments by {self.by!r}" if self.segments_ else "")
            + ">"
        )


def _round(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None


def _thinned(frame: pd.DataFrame, most: int | None) -> pd.DataFrame:
    """At most ``most`` rows of a step curve, evenly spread (first and last always kept).

    >>> _thinned(pd.DataFrame({"t": range(10)}), 4)["t"].tolist()
    [0, 3, 6, 9]
    """
    if most is None or len(frame) <= most:
        return frame
    step = (len(frame) - 1) / (most - 1)
    return frame.iloc[[round(i * step) for i in range(most)]]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        rec: dict[str, Any] = {}
        for key, value in row.items():
            if key == "at_risk":
                rec[key] = int(value)
            elif isinstance(value, str):
                rec[key] = value
            else:
                rec[key] = _round(value)
        out.append(rec)
    return out


def _p(value: float) -> str:
    """A p-value as text.

    >>> _p(0.0312), _p(1e-12)
    ('p = 0.0312', 'p < 0.0001')
    """
    return "p < 0.0001" if value < 1e-4 else f"p = {value:.3g}"


def _pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.1f}%"


def _dur(hours: float | None) -> str:
    """Hours as a duration a person reads: ``45 min``, ``20 h``, ``3.1 d``.

    >>> _dur(0.5), _dur(20.2), _dur(75.0), _dur(None)
    ('30 min', '20 h', '3.1 d', '-')
    """
    if hours is None or not math.isfinite(hours):
        return "-"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} d"


# ---------------------------------------------------------------------------------------------
# the entry point


def _fit(
    cases: _Cases,
    journey: Journey,
    as_of: datetime | None,
    log_end: datetime | None,
    threshold: float,
    alpha: float,
    min_at_risk: int,
    by: str | None = None,
    name: str = "all",
) -> Timing:
    if len(cases):
        curve = _aj_curve(cases.hours, cases.outcome, alpha=alpha)
        ever = float(curve["finished"].iloc[-1])
        curve["chance"] = _chance(curve["finished"].to_numpy(), curve["failed"].to_numpy(), ever)
        median = _first_time(curve, ever / 2) if ever > 0 else None
        half = _first_time(curve, 0.5)
        cold = going_cold_point(curve, threshold, min_at_risk=min_at_risk)
    else:
        curve = pd.DataFrame({c: pd.Series(dtype="float64") for c in _CURVE_COLUMNS})
        ever = median = half = cold = None
    return Timing(
        journey=journey,
        as_of=as_of,
        by=by,
        threshold=threshold,
        alpha=alpha,
        min_at_risk=min_at_risk,
        log_end=log_end,
        durations_=cases,
        curve_=curve,
        ever_finish_=ever,
        median_=median,
        half_finished_=half,
        going_cold_=cold,
        name=name,
    )


def timing(
    events: ir.Table,
    journey: Journey,
    as_of: Any = None,
    by: str | None = None,
    threshold: float = 0.5,
    alpha: float = 0.05,
    min_at_risk: int = 10,
    validate: bool = True,
    cases: ir.Table | None = None,
) -> Timing:
    """Time from entering the last mile to finishing, with censoring; the going-cold point.

    Parameters
    ----------
    events
        The event table (``lastmile.read_log(...).table``).
    journey
        The journey: the clock starts at its ``last_mile`` stage and stops at its ``finish``.
    as_of
        End of observation: the log is seen as it was then (later events ignored), and open
        cases are censored there. Default: the last event of the log.
    by
        A case attribute: one curve per segment as well (numbers with many values are split
        into quartiles, times into months; at most eight segments, the rest pooled as
        ``(other)``).
    threshold
        The going-cold point is where the chance of finishing falls below this share of the
        chance at entry (default one half).
    alpha
        ``1 - alpha`` is the confidence level of the bands (default 95 %).
    min_at_risk
        The going-cold point is only looked for while at least this many cases are still live
        (fewer make the chance of finishing too noisy to read).
    validate
        Check the journey against the log first (as ``compute_report`` does): an activity it
        names that never occurs is an error with a did-you-mean.
    cases
        The case table of the same journey and ``as_of``, if already built (see
        :func:`last_mile_durations`).

    Returns
    -------
    Timing
        ``.curve_``, ``.median_``, ``.going_cold_``, ``.segments_``, ``.summary``,
        ``.to_dict()``, ``.to_json()``, ``.to_frame()``; the chart is :func:`timing_chart_svg`.

    See Also
    --------
    last_mile_durations : the per-case durations it is estimated from.

    Examples
    --------
    >>> import pandas as pd
    >>> from lastmile.io import read_log
    >>> ev = pd.DataFrame({
    ...     "case": ["a", "a", "b", "b", "c", "c"], "region": ["N", "N", "S", "S", "S", "S"],
    ...     "activity": ["sent", "signed", "sent", "signed", "sent", "called"],
    ...     "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03",
    ...                             "2024-01-01", "2024-01-05"])})
    >>> t = timing(read_log(ev).table, Journey.from_flags("sent,signed"), by="region")
    >>> t.counts["finished"], t.counts["open"], round(t.ever_finish_, 3)  # c censored at 4 d
    (2, 1, 0.667)
    >>> sorted(t.segments_), t.segments_["N"].median_
    (['N', 'S'], 24.0)
    >>> t.to_dict()["schema"]
    'lastmile.timing/1'
    """
    if not 0 < float(threshold) < 1:
        raise LastmileError(
            f"the threshold must be between 0 and 1, not {threshold!r}", hint="for example 0.5"
        )
    if not 0 < float(alpha) < 1:
        raise LastmileError(f"alpha must be between 0 and 1, not {alpha!r}", hint="e.g. 0.05")
    if validate:
        from lastmile.measures.report_data import activity_counts

        journey.validate(activity_counts(events), columns=events.columns)
    cut = as_timestamp(as_of)
    if by is None:  # numbers only; the per-case frame is built if read
        data = _Cases.fetch(_durations_query(events, journey, cut, None, cases))
    else:
        data = _Cases(last_mile_durations(events, journey, as_of=cut, by=by, cases=cases))
    if cut is not None:
        log_end: datetime | None = cut
    else:
        last = events.timestamp.max().to_pandas()
        log_end = None if last is None or pd.isna(last) else pd.Timestamp(last).to_pydatetime()
    settings = (float(threshold), float(alpha), int(min_at_risk))
    result = _fit(data, journey, cut, log_end, *settings, by=by)
    if by is not None and len(data):
        labels, order = _segment_labels(data.frame["segment"])
        durations = data.frame.assign(segment=labels)
        result.durations_ = data.with_frame(durations)
        for name in order:
            part = durations[labels == name].reset_index(drop=True)
            result.segments_[str(name)] = _fit(
                _Cases(part), journey, cut, log_end, *settings, name=str(name)
            )
        if len(result.segments_) > 1:
            from lifelines.statistics import multivariate_logrank_test

            # on the censoring-complete data (failed cases at risk until the end of
            # observation): compares the cumulative incidence of finishing (Gray-type test)
            done = durations["outcome"] == "finished"
            test = multivariate_logrank_test(
                durations["hours"].where(done, durations["watched_hours"]),
                durations["segment"],
                done,
            )
            result.logrank_p_ = float(test.p_value)
    return result


# ---------------------------------------------------------------------------------------------
# the chart

_W, _H = 400.0, 240.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 44.0, 20.0, 28.0, 36.0
_FINISHED = "var(--finished, #0f6e8c)"
_LOSS = "var(--loss, #cc4a1f)"
_MUTED = "var(--muted, #7a8694)"
_SEGMENT_COLOURS = ("#8a5fbf", "#c98a00", "#3f6fb0", "#2e8b57", "#b0417a", "#5b6b7b",
                    "#6b7a2a", "#d35f8d")


def _n(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _step_points(times: Sequence[float], values: Sequence[float], xs: Any, ys: Any) -> list[str]:
    """Points of a right-continuous step function (horizontal, then vertical).

    Coordinates are rounded to 0.1 unit (a tenth of a pixel when the 400-unit chart is shown
    400 px wide), so that thousands of steps collapse into the few the eye can see.

    >>> _step_points([0, 1, 1.001, 2], [0, 0.5, 0.6, 0.6], lambda t: t * 10,
    ...              lambda v: 100 - v * 100)
    ['0,100', '10,100', '10,40', '20,40']
    """
    pts: list[str] = []
    prev_y: float | None = None
    for t, v in zip(times, values, strict=True):
        x, y = round(xs(t), 1), round(ys(v), 1)
        if prev_y is not None:
            pts.append(f"{_n(x)},{_n(prev_y)}")
        pts.append(f"{_n(x)},{_n(y)}")
        prev_y = y
    # drop repeats and the middle of runs on one horizontal or vertical line (same picture)
    out: list[str] = []
    for p in pts:
        if out and out[-1] == p:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = (q.split(",") for q in out[-2:])
            cx, cy = p.split(",")
            if (ay == by == cy) or (ax == bx == cx):
                out[-1] = p
                continue
        out.append(p)
    return out


def _nice_days(max_days: float) -> list[float]:
    """Tick positions in days for an axis up to ``max_days``.

    >>> _nice_days(40)
    [0, 10, 20, 30, 40]
    >>> _nice_days(3)
    [0, 1, 2, 3]
    """
    step = 365.0
    for step in (0.25, 0.5, 1, 2, 5, 7, 10, 14, 30, 60, 90, 180, 365):
        if math.ceil(max_days / step - 1e-9) <= 5:
            break
    count = max(1, math.ceil(max_days / step - 1e-9))
    ticks: list[float] = []
    for i in range(count + 1):
        d = i * step
        ticks.append(int(d) if float(d).is_integer() else d)
    return ticks


def _clip_curve(rows: Sequence[Mapping[str, Any]], x_max: float) -> list[dict[str, Any]]:
    """Curve rows up to ``x_max`` hours, ending with a point at ``x_max`` (step held)."""
    out: list[dict[str, Any]] = []
    for r in rows:
        t = float(r["time"])
        if t > x_max:
            break
        f = float(r["finished"])
        out.append({
            "time": t,
            "finished": f,
            "lower": float(r["lower"]) if r.get("lower") is not None else f,
            "upper": float(r["upper"]) if r.get("upper") is not None else f,
            "failed": float(r["failed"]) if r.get("failed") is not None else None,
            "chance": float(r["chance"]) if r.get("chance") is not None else None,
            "at_risk": float(r.get("at_risk") or 0),
        })
    if out and out[-1]["time"] < x_max:
        out.append({**out[-1], "time": x_max})
    return out


def _chart_span(curve: Sequence[Mapping[str, Any]], cold: float | None) -> float:
    """Hours shown on the x axis: until the curve is within 1 % of its plateau (and past the
    going-cold point), never beyond the longest time observed."""
    longest = float(curve[-1]["time"])
    ever = float(curve[-1]["finished"])
    near = next(
        (float(r["time"]) for r in curve if float(r["finished"]) >= 0.99 * ever - 1e-12),
        longest,
    )
    span = max(near * 1.25, 1.2 * float(cold or 0.0))
    return min(longest, span) if span > 0 else max(longest, 1.0)


def _path(kind: str, points: list[str], colour: str, width: float, dash: str | None,
          title: str) -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<path data-curve="{escape(kind)}" d="M{" L".join(points)}" fill="none" '
        f'stroke="{colour}" stroke-width="{_n(width)}"{dashes}><title>{escape(title)}</title>'
        "</path>"
    )


def timing_chart_svg(
    timing: Timing | Mapping[str, Any], segments: bool = True, uid: str | None = None
) -> str:
    """The curve of P(finished by t) with its band and the going-cold point, as inline SVG.

    Takes a :class:`Timing` or its :meth:`~Timing.to_dict` form. No JavaScript, no network: one
    ``<svg>`` element with a ``viewBox`` (scales to its container), ``role="img"``, a
    ``<title>`` and a ``<desc>`` in words, and a legend. Marks, with their numbers in
    attributes for tests and screen readers:

    - ``<path data-curve="all">``: F(t), the share finished, with ``<path data-band="all">``;
    - ``<path data-curve="failed">``: G(t), the share failed;
    - ``<path data-curve="chance">``: the chance that a case still live ever finishes (drawn
      while at least ``min_at_risk`` cases are live), and ``<line data-cold-level="P">`` at
      ``threshold · p0``, the level at which it goes cold;
    - ``<line data-going-cold="HOURS">``: the going-cold point; ``<line
      data-ever-finish="SHARE">``: the plateau F(∞);
    - with ``segments``, each segment's F(t) as ``<path data-curve="NAME">`` (no band).

    With ``uid`` the title and description get the ids ``UID-title`` and ``UID-desc`` and the
    ``<svg>`` names them in ``aria-labelledby`` (for a page with several charts).

    The x axis (days) stops where the curve has levelled off. Text from the data is escaped.
    Empty string without a curve.

    >>> svg = timing_chart_svg({"curve": [
    ...     {"time": 0, "finished": 0, "lower": 0, "upper": 0, "at_risk": 3},
    ...     {"time": 24, "finished": 0.5, "lower": 0.2, "upper": 0.8, "at_risk": 3},
    ...     {"time": 72, "finished": 0.6, "lower": 0.3, "upper": 0.9, "at_risk": 1}],
    ...     "going_cold_hours": 24, "ever_finish": 0.6, "cases": 3})
    >>> svg.startswith("<svg") and 'data-going-cold="24"' in svg and "<script" not in svg
    True
    """
    data = timing.to_dict() if isinstance(timing, Timing) else dict(timing)
    raw = list(data.get("curve") or [])
    if not raw:
        return ""
    cold = data.get("going_cold_hours")
    span = _chart_span(raw, cold)
    ticks = _nice_days(span / 24.0)
    x_max = max(float(ticks[-1]) * 24.0, span)
    curve = _clip_curve(raw, x_max)
    times = [r["time"] for r in curve]
    segs = [g for g in (data.get("segments") or []) if g.get("curve")] if segments else []
    has_failed = any(r["failed"] for r in curve)
    ever = data.get("ever_finish")
    legend: list[tuple[str, str, float, str | None]] = [
        (f"finished ({_pct(ever)} in all)", _FINISHED, 2.5, None)
    ]
    if has_failed:
        legend.append(("failed", _LOSS, 1.5, None))
    legend.append(("chance if still live", _MUTED, 1.5, "1 3"))
    for i, seg in enumerate(segs):
        colour = _SEGMENT_COLOURS[i % len(_SEGMENT_COLOURS)]
        legend.append((f"{_short(str(seg.get('segment')), 22)} "
                       f"({_pct(seg.get('ever_finish'))})", colour, 1.5, "4 2"))
    legend_rows = math.ceil(len(legend) / 2)
    height = _H + legend_rows * 18 + 6
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def xs(t: float) -> float:
        return _LEFT + plot_w * (t / x_max if x_max > 0 else 0.0)

    def ys(v: float) -> float:
        return _TOP + plot_h * (1.0 - v)

    median = data.get("median_hours")
    threshold = float(data.get("threshold") or 0.5)
    desc = (
        f"Share of {data.get('cases', 0):,} cases that finished, by time since entering the "
        f"last mile. {_pct(ever)} finish in all"
        + (f"; half of those within {_dur(median)}" if median is not None else "")
        + (f"; going cold after {_dur(cold)}: a case still live then has less than "
           f"{threshold:.0%} of its chance at entry." if cold is not None
           else "; not going cold within the time observed.")
    )
    labelled = f' aria-labelledby="{uid}-title {uid}-desc"' if uid else ""
    title_id = f' id="{uid}-title"' if uid else ""
    desc_id = f' id="{uid}-desc"' if uid else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(_W)} {_n(height)}" '
        f'role="img" class="chart timing-chart" font-family="sans-serif"{labelled}>',
        f"<title{title_id}>Time to finish after entering the last mile</title>",
        f"<desc{desc_id}>{escape(desc)}</desc>",
    ]
    # grid and axes
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = ys(v)
        parts.append(f'<line x1="{_n(_LEFT)}" y1="{_n(y)}" x2="{_n(_W - _RIGHT)}" y2="{_n(y)}" '
                     f'stroke="var(--track, #e8ecf0)" stroke-width="1"/>')
        parts.append(f'<text x="{_n(_LEFT - 4)}" y="{_n(y + 4)}" font-size="11" '
                     f'text-anchor="end" fill="{_MUTED}">{int(v * 100)} %</text>')
    for d in ticks:
        x = xs(float(d) * 24.0)
        parts.append(f'<text x="{_n(x)}" y="{_n(_H - _BOTTOM + 14)}" font-size="11" '
                     f'text-anchor="middle" fill="{_MUTED}">{escape(str(d))}</text>')
    parts.append(f'<text x="{_n(_LEFT + plot_w / 2)}" y="{_n(_H - 6)}" font-size="12" '
                 f'text-anchor="middle" fill="{_MUTED}">days since entering the last mile</text>')
    # band
    top = _step_points(times, [r["upper"] for r in curve], xs, ys)
    bottom = _step_points(times, [r["lower"] for r in curve], xs, ys)
    parts.append(
        f'<path data-band="all" d="M{" L".join(top + bottom[::-1])} Z" fill="{_FINISHED}" '
        f'fill-opacity="0.18" stroke="none"><title>95 % band</title></path>'
    )
    # segment curves
    for i, seg in enumerate(segs):
        seg_curve = _clip_curve(seg["curve"], x_max)
        pts = _step_points([r["time"] for r in seg_curve], [r["finished"] for r in seg_curve],
                           xs, ys)
        name = str(seg.get("segment"))
        parts.append(_path(name, pts, _SEGMENT_COLOURS[i % len(_SEGMENT_COLOURS)], 1.5, "4 2",
                           f"{name}: {seg.get('cases', 0):,} cases, "
                           f"{_pct(seg.get('ever_finish'))} finish"))
    # failed, and the chance of a live case
    if has_failed:
        pts = _step_points(times, [r["failed"] or 0.0 for r in curve], xs, ys)
        parts.append(_path("failed", pts, _LOSS, 1.5, None, "share failed"))
    min_live = float(data.get("min_at_risk") or 0)
    live = [r for r in curve if r["chance"] is not None and r["at_risk"] >= min_live]
    if live:
        pts = _step_points([r["time"] for r in live], [r["chance"] for r in live], xs, ys)
        parts.append(_path("chance", pts, _MUTED, 1.5, "1 3",
                           "chance that a case still live ever finishes"))
    # the overall curve on top
    pts = _step_points(times, [r["finished"] for r in curve], xs, ys)
    parts.append(_path("all", pts, _FINISHED, 2.5, None, "share finished"))
    if ever is not None:
        y = ys(float(ever))
        parts.append(f'<line data-ever-finish="{_n(float(ever))}" x1="{_n(_LEFT)}" y1="{_n(y)}" '
                     f'x2="{_n(_W - _RIGHT)}" y2="{_n(y)}" stroke="{_MUTED}" '
                     f'stroke-dasharray="2 3"/>')
        level = threshold * float(ever)
        y = ys(level)
        parts.append(f'<line data-cold-level="{_n(level)}" x1="{_n(_LEFT)}" y1="{_n(y)}" '
                     f'x2="{_n(_W - _RIGHT)}" y2="{_n(y)}" stroke="{_LOSS}" stroke-width="0.75" '
                     f'stroke-dasharray="1 3"><title>going cold below {_pct(level)}</title>'
                     "</line>")
    if cold is not None and float(cold) <= x_max:
        x = round(xs(float(cold)), 1)
        parts.append(
            f'<line data-going-cold="{_n(float(cold))}" x1="{_n(x)}" y1="{_n(_TOP)}" '
            f'x2="{_n(x)}" y2="{_n(_TOP + plot_h)}" stroke="{_LOSS}" stroke-width="2" '
            f'stroke-dasharray="5 3"><title>going cold after {_dur(float(cold))}</title></line>'
        )
        anchor = "start" if x < _LEFT + plot_w * 0.6 else "end"
        dx = 4 if anchor == "start" else -4
        parts.append(f'<text x="{_n(x + dx)}" y="{_n(_TOP - 8)}" font-size="12" '
                     f'text-anchor="{anchor}" fill="{_LOSS}">going cold: '
                     f"{escape(_dur(float(cold)))}</text>")
    # legend
    for i, (label, colour, width, dash) in enumerate(legend):
        lx = _LEFT + (i % 2) * (plot_w / 2)
        ly = _H + 6 + (i // 2) * 18
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{_n(lx)}" y1="{_n(ly + 6)}" x2="{_n(lx + 16)}" '
                     f'y2="{_n(ly + 6)}" stroke="{colour}" stroke-width="{_n(width)}"'
                     f"{dashes}/>")
        parts.append(f'<text x="{_n(lx + 20)}" y="{_n(ly + 10)}" font-size="11" '
                     f'fill="currentColor">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"
