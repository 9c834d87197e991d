"""Shared machinery of the scenario simulators: calendar, resources, outcomes, event assembly.

Every scenario draws per-case arrays with numpy (no Python loop over cases or events), hands
them to an :class:`EventBuilder` one activity at a time, and gets back one pandas DataFrame with
the canonical columns ``case_id, activity, timestamp, resource`` plus attributes. Times are
int64 nanoseconds since the epoch (UTC) until the very end.

>>> import numpy as np
>>> cal = Calendar(open_hour=8, close_hour=17)
>>> saturday_noon = np.array([to_ns("2024-06-01T12:00:00")])
>>> from_ns(cal.shift(saturday_noon, np.random.default_rng(0), jitter_hours=0))[0]
'2024-06-03T08:00:00Z'
>>> lm_failure_probability(0.1, [(np.array([True, False]), 2.0)]).tolist()
[0.2, 0.1]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEKDAYS = (0, 1, 2, 3, 4)
ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def to_ns(text: str) -> int:
    """Nanoseconds since the epoch for an ISO time written in UTC.

    >>> to_ns("1970-01-02T00:00:00")
    86400000000000
    """
    return int(np.datetime64(text.rstrip("Z"), "ns").astype(np.int64))


def from_ns(values: np.ndarray | int) -> np.ndarray:
    """ISO 8601 strings with ``Z`` (second resolution) for int64 nanosecond times.

    >>> from_ns(np.array([0]))[0]
    '1970-01-01T00:00:00Z'
    """
    arr = np.atleast_1d(np.asarray(values, dtype=np.int64)).view("datetime64[ns]")
    arr = arr.astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(arr, unit="s"), "Z").astype(object)


def days(x: np.ndarray | float) -> np.ndarray:
    """Days as int64 nanoseconds.

    >>> int(days(1.5)) == 36 * HOUR
    True
    """
    return np.round(np.asarray(x, dtype=np.float64) * DAY).astype(np.int64)


def hours(x: np.ndarray | float) -> np.ndarray:
    """Hours as int64 nanoseconds.

    >>> int(hours(2)) == 2 * HOUR
    True
    """
    return np.round(np.asarray(x, dtype=np.float64) * HOUR).astype(np.int64)


def lognormal_days(rng: np.random.Generator, n: int, median: float, sigma: float = 0.5,
                   scale: np.ndarray | float = 1.0, cap: float | None = None) -> np.ndarray:
    """Lognormal durations in nanoseconds with the given median (days), scaled per case.

    >>> d = lognormal_days(np.random.default_rng(1), 1000, 2.0, 0.3)
    >>> bool(1.7 < np.median(d) / DAY < 2.3)
    True
    """
    x = median * np.exp(sigma * rng.standard_normal(n)) * scale
    if cap is not None:
        x = np.minimum(x, cap)
    return days(x)


@dataclass(frozen=True)
class Calendar:
    """Opening hours: events done by people at work are moved into them.

    ``weekdays`` uses Monday = 0. Times are UTC (the demo companies keep UTC clocks).
    """

    open_hour: float = 8.0
    close_hour: float = 17.0
    weekdays: tuple[int, ...] = WEEKDAYS

    def shift(self, ts: np.ndarray, rng: np.random.Generator,
              jitter_hours: float = 2.0) -> np.ndarray:
        """Move each time that falls outside opening hours to the next opening (plus jitter).

        Times inside opening hours are unchanged; the result is never earlier than the input.

        >>> cal = Calendar(9, 17, WEEKDAYS)
        >>> t = np.array([to_ns("2024-06-03T10:00:00"), to_ns("2024-06-03T18:00:00")])
        >>> from_ns(cal.shift(t, np.random.default_rng(0), 0)).tolist()
        ['2024-06-03T10:00:00Z', '2024-06-04T09:00:00Z']
        """
        ts = np.asarray(ts, dtype=np.int64)
        day = ts // DAY
        tod = ts - day * DAY
        allowed = np.zeros(7, dtype=bool)
        allowed[list(self.weekdays)] = True
        # offset (days) from weekday w to the next allowed weekday strictly after it
        nxt = np.array([next(k for k in range(1, 8) if allowed[(w + k) % 7]) for w in range(7)])
        wd = (day + 3) % 7  # 1970-01-01 was a Thursday
        open_ns, close_ns = int(self.open_hour * HOUR), int(self.close_hour * HOUR)
        ok_day = allowed[wd]
        inside = ok_day & (tod >= open_ns) & (tod < close_ns)
        early = ok_day & (tod < open_ns)
        target_day = np.where(early, day, day + nxt[wd])
        span = min(jitter_hours * HOUR, close_ns - open_ns - MINUTE)
        jitter = (rng.random(ts.shape[0]) * span).astype(np.int64) if span > 0 else 0
        moved = target_day * DAY + open_ns + jitter
        return np.where(inside, ts, moved)


@dataclass
class Pool:
    """A team of resources with individual differences (speed multiplier, weight of assignment).

    >>> p = Pool.make(["A", "B"], np.random.default_rng(0), speed_sigma=0.0)
    >>> p.speed.tolist()
    [1.0, 1.0]
    """

    names: list[str]
    speed: np.ndarray
    weight: np.ndarray

    @classmethod
    def make(cls, names: Sequence[str], rng: np.random.Generator, speed_sigma: float = 0.25,
             weight: Sequence[float] | None = None) -> Pool:
        n = len(names)
        speed = np.exp(speed_sigma * rng.standard_normal(n)) if speed_sigma else np.ones(n)
        w = np.asarray(weight if weight is not None else np.ones(n), dtype=float)
        return cls(list(names), speed, w / w.sum())

    def assign(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Index of the member assigned to each of ``n`` cases."""
        return rng.choice(len(self.names), size=n, p=self.weight)


def lm_failure_probability(p0: float, causes: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Probability of last-mile failure: baseline times the factor of every cause a case has.

    The factors multiply, and the exposures are drawn independently of each other, so the risk
    ratio of each cause alone (exposed vs not) is exactly its factor.
    """
    n = len(causes[0][0])
    p = np.full(n, p0, dtype=np.float64)
    for exposed, factor in causes:
        p = np.where(exposed, p * factor, p)
    if p.max(initial=0.0) >= 1.0:
        raise ValueError("planted factors push a failure probability to 1; lower the baseline")
    return p


def pick(rng: np.random.Generator, options: Sequence[Any], n: int,
         p: Sequence[float] | None = None) -> np.ndarray:
    """``n`` draws from ``options`` as an object array (for string attributes)."""
    arr = np.asarray(options, dtype=object)
    idx = rng.choice(len(arr), size=n, p=None if p is None else np.asarray(p) / np.sum(p))
    return arr[idx]


def with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """A copy of ``values`` with about ``share`` missing (None or NaN): real data has gaps."""
    out = values.astype(object) if values.dtype.kind in "OUS" else values.astype(np.float64)
    gone = rng.random(values.shape[0]) < share
    out[gone] = None if out.dtype == object else np.nan
    return out


def _event_order(case: np.ndarray, ts: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Order of events by (case, time, block): one stable sort of a packed int64 key.

    Each block is already sorted by case, so the sort merges a few long runs; far faster
    than ``np.lexsort`` at 10 million events. Falls back to lexsort when the key does not fit.

    >>> _event_order(np.array([1, 0, 0]), np.array([0, 5 * NS, NS]), np.array([0, 0, 1])).tolist()
    [2, 1, 0]
    """
    secs = (ts - ts.min()) // NS
    if case.size == 0 or secs.max() >= 1 << 28 or case.max() >= 1 << 27 or seq.max() >= 1 << 8:
        return np.lexsort((seq, ts, case))
    key = (case.astype(np.int64) << 36) | (secs << 8) | seq.astype(np.int64)
    return np.argsort(key, kind="stable")


class EventBuilder:
    """Collects events activity by activity; :meth:`frame` sorts them into the event table.

    >>> b = EventBuilder(["c1", "c2"])
    >>> b.add("Start", np.array([0, 1]), np.array([2 * NS, NS]))
    >>> b.add("End", np.array([0]), np.array([3 * NS]), resource="Ann", note=np.array([1.5]))
    >>> f = b.frame({"size": np.array([10, 20])})
    >>> f[["case_id", "activity", "resource", "size", "note"]].values.tolist()
    [['c1', 'Start', <NA>, 10, nan], ['c1', 'End', 'Ann', 10, 1.5], ['c2', 'Start', <NA>, 20, nan]]
    """

    def __init__(self, case_ids: Sequence[str] | np.ndarray):
        self.case_ids = np.asarray(case_ids, dtype=object)
        self.activities: list[str] = []
        self.resources: list[str] = []
        self._res_index: dict[str, int] = {}
        self.blocks: list[tuple[np.ndarray, np.ndarray, int, np.ndarray,
                                dict[str, np.ndarray]]] = []

    def resource_codes(self, names: Sequence[str]) -> np.ndarray:
        """Codes for resource names (registering new ones)."""
        out = []
        for name in names:
            if name not in self._res_index:
                self._res_index[name] = len(self.resources)
                self.resources.append(name)
            out.append(self._res_index[name])
        return np.asarray(out, dtype=np.int64)

    def add(self, activity: str, cases: np.ndarray, ts: np.ndarray,
            resource: str | np.ndarray | None = None, **attrs: np.ndarray) -> None:
        """Add one event of ``activity`` for each case index in ``cases`` at times ``ts``.

        ``resource`` is a name for all, an int array of codes from :meth:`resource_codes`
        (-1 = none), or None.
        """
        cases = np.asarray(cases, dtype=np.int64)
        if cases.size == 0:
            return
        if activity not in self.activities:
            self.activities.append(activity)
        code = self.activities.index(activity)
        if resource is None:
            res = np.full(cases.size, -1, dtype=np.int64)
        elif isinstance(resource, str):
            res = np.full(cases.size, self.resource_codes([resource])[0], dtype=np.int64)
        else:
            res = np.asarray(resource, dtype=np.int64)
        self.blocks.append((cases, np.asarray(ts, dtype=np.int64), code, res, attrs))

    def frame(self, case_attrs: dict[str, Any], log_end: int | None = None) -> pd.DataFrame:
        """The event table, sorted by case, time and order of addition; events after
        ``log_end`` are cut off (those cases stay open).

        Text columns are Arrow-backed strings (``string[pyarrow]``): built from integer codes
        in C++, they cost no Python object per event.
        """
        case = np.concatenate([b[0] for b in self.blocks])
        ts = np.concatenate([b[1] for b in self.blocks])
        ts = ts - ts % NS  # whole seconds
        act = np.concatenate([np.full(b[0].size, b[2], dtype=np.int32) for b in self.blocks])
        res = np.concatenate([b[3] for b in self.blocks])
        seq = np.concatenate([np.full(b[0].size, i, dtype=np.int32)
                              for i, b in enumerate(self.blocks)])
        order = _event_order(case, ts, seq)
        if log_end is not None:
            order = order[ts[order] <= log_end]
        ev_case = case[order]
        data: dict[str, Any] = {
            "case_id": text_column(ev_case, self.case_ids),
            "activity": text_column(act[order], self.activities),
            "timestamp": pd.Series(ts[order].view("datetime64[ns]")).dt.tz_localize("UTC"),
            "resource": text_column(res[order], self.resources),
        }
        for name, values in case_attrs.items():
            if isinstance(values, pd.DatetimeIndex):
                data[name] = pd.Series(values.take(ev_case))
            elif np.asarray(values).dtype.kind in "OUS":
                codes, uniques = pd.factorize(np.asarray(values, dtype=object))
                data[name] = text_column(codes[ev_case], uniques)
            else:
                data[name] = np.asarray(values)[ev_case]
        names = sorted({k for b in self.blocks for k in b[4]})
        for name in names:
            kind = next(np.asarray(b[4][name]).dtype.kind for b in self.blocks if name in b[4])
            parts = []
            for b in self.blocks:
                if name in b[4]:
                    parts.append(np.asarray(b[4][name], dtype=object if kind in "OUS" else None))
                else:
                    parts.append(np.full(b[0].size, None if kind in "OUS" else np.nan,
                                         dtype=object if kind in "OUS" else np.float64))
            values = np.concatenate(parts)[order]
            if kind in "OUS":
                codes, uniques = pd.factorize(values)
                data[name] = text_column(codes, uniques)
            else:
                data[name] = values
        frame = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series)
                                  and not isinstance(v.dtype, pd.DatetimeTZDtype) else v)
                              for k, v in data.items()}, copy=False)
        return frame


@dataclass
class Scenario:
    """A simulated log with its journey and the planted truth.

    ``events`` is the event table, ``journey`` the journey YAML text, ``truth`` the planted
    causes (see :func:`lastmile.demo.write` for the files).
    """

    name: str
    events: pd.DataFrame
    journey: str
    truth: dict[str, Any]
    seed: int
    null: bool = False

    @property
    def journey_dict(self) -> dict[str, Any]:
        """The journey as a dict (parsed from the YAML)."""
        import yaml

        return yaml.safe_load(self.journey)

    @property
    def summary(self) -> str:
        """One line: name, cases, events, planted causes."""
        causes = ", ".join(f"{c['name']} ×{c['effect']:g}" for c in self.truth["causes"])
        return (f"{self.name}: {self.truth['n_cases']:,} cases, {len(self.events):,} events; "
                f"causes: {causes}")

    def __repr__(self) -> str:
        return f"<Scenario {self.summary}>"


@dataclass(frozen=True)
class ScenarioSpec:
    """What the registry knows about a scenario: its story and how to simulate it."""

    name: str
    title: str
    story: str
    stages: tuple[str, ...]
    causes: tuple[str, ...]
    default_cases: int
    simulate: Callable[[np.random.Generator, int, bool], tuple[pd.DataFrame, dict, dict]] = field(
        repr=False)


def make_ids(prefix: str, n: int) -> np.ndarray:
    """Case ids such as ``T-0000001`` (object array; zero-padded so they sort as numbers).

    >>> make_ids("T", 2).tolist()
    ['T-0000001', 'T-0000002']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(7, len(str(n)))
    nums = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    ids = pc.binary_join_element_wise(prefix + "-", nums, "")
    return ids.to_numpy(zero_copy_only=False)


def text_column(codes: np.ndarray, labels: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    """An Arrow-backed string column from integer codes into ``labels`` (-1 = missing).

    >>> text_column(np.array([1, -1, 0]), ["a", "b"]).tolist()
    ['b', <NA>, 'a']
    """
    import pyarrow as pa

    codes = np.asarray(codes)
    dictionary = pa.array(np.asarray(labels, dtype=object), type=pa.string())
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    strings = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
    return pd.arrays.ArrowStringArray(pa.chunked_array([strings]))


def cause(name: str, kind: str, feature: str, value: Any, rule: dict[str, Any], effect: float,
          exposed: np.ndarray, population: np.ndarray, case_ids: np.ndarray, description: str,
          population_name: str = "entered_last_mile",
          population_rule: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of ``truth.json``: the cause, how to compute it from the log, whom it hit."""
    hit = exposed & population
    entry: dict[str, Any] = {
        "name": name, "kind": kind, "feature": feature, "value": value,
        "description": description, "rule": rule, "population": population_name,
        "effect": float(effect), "n_cases": int(hit.sum()),
    }
    if population_rule is not None:
        entry["population_rule"] = population_rule
    entry["cases"] = case_ids[hit].tolist()
    return entry


def truth_header(name: str, seed: int, null: bool, n: int, log_start: int, log_end: int,
                 complete_before: int, baseline: float, noise: Sequence[str],
                 **extra: Any) -> dict[str, Any]:
    """The top of ``truth.json``."""
    return {
        "scenario": name, "seed": int(seed), "null": bool(null), "n_cases": int(n),
        "log_start": str(from_ns(log_start)[0]), "log_end": str(from_ns(log_end)[0]),
        "follow_up_complete_before": str(from_ns(complete_before)[0]),
        "baseline_last_mile_failure": float(baseline),
        "irrelevant_attributes": list(noise),
        "effect_definition": ("multiplicative factor on the probability of last-mile failure "
                              "(entered the last mile and did not finish, or finished and "
                              "reversed within the window) among the cases of `population` "
                              "that entered the last mile before follow_up_complete_before"),
        **extra,
    }


def journey_yaml(spec: dict[str, Any]) -> str:
    """YAML text of a journey dict, keys in the contract's order."""
    import yaml

    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file (used by the determinism tests and the bench).

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"x")
    >>> file_digest(fh.name)[:8]
    '2d711642'
    >>> os.unlink(fh.name)
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dumps_truth(truth: dict[str, Any]) -> str:
    """``truth.json`` text: stable key order, one cause per block, case lists on one line.

    >>> print(dumps_truth({"causes": [{"name": "x", "cases": ["a", "b"]}]}))
    {
     "causes": [
      {
       "name": "x",
       "cases": ["a", "b"]
      }
     ]
    }
    <BLANKLINE>
    """
    causes = truth.get("causes", [])
    marked = {**truth, "causes": [{**c, "cases": f"@@cases{k}@@"} if "cases" in c else c
                                  for k, c in enumerate(causes)]}
    text = json.dumps(marked, indent=1, ensure_ascii=False)
    for k, c in enumerate(causes):
        if "cases" in c:
            text = text.replace(f'"@@cases{k}@@"', json.dumps(c["cases"], ensure_ascii=False))
    return text + "\n"
