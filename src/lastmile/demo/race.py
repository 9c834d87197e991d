"""The real counterpart of the marathon demo: ultramarathon split tables as an event log.

The results of a 100-mile race (one ``result_course_YYYY.csv`` per edition) list one row per
runner or relay team: rank (``DNF`` for non-finishers), start number, pseudonymised name,
nation, club, course, category, start and finish clock, running time, then one triple per
control — ``N.Kontrolle(Name)``, ``N.Laufzeit`` (the time of the leg since the previous
*recorded* control, ``H:MM:SS``) and ``N.Geschwindigkeit``; the last control is the finish
(``Ziel``). Files are ``;``-separated UTF-8 with CRLF line ends; one header is double-encoded.

:func:`convert_race` turns them into an event log: one case per runner (or relay team) per
edition, activities ``Start``, one per aid station (``VP07 Grenzturm Nieder Neuendorf (2015)``),
``Finish``, and ``DNF`` for the marked non-finishers (placed at their last recorded passage —
the results give no time for giving up). Nothing is dropped silently: rows with the wrong
number of fields, repeated header rows, repeated start numbers and non-starters (no passage,
no rank) go to the quarantine table with a ``reason`` and are counted in ``accounting``.

>>> from lastmile.demo.race import EXCERPT, convert_race
>>> race = convert_race([EXCERPT])
>>> race.accounting["rows"], race.accounting["loaded"], race.accounting["quarantined"]
(5, 3, 2)
>>> sorted(race.quarantine["reason"].str.split(":").str[0])
['repeated header row', 'wrong number of fields']
>>> race.events.groupby("case_id")["activity"].last().to_dict()
{'2013-221': 'Finish', '2013-73': 'DNF', '2013-75': 'DNF'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError

EXCERPT = Path(__file__).with_name("data") / "race_excerpt_2013.csv"

#: Race days of the editions whose files carry only clock times (the organiser's calendar:
#: the Saturday of the race weekend). Editions with full finish timestamps derive their own.
RACE_DAYS = {2011: "2011-08-13", 2012: "2012-08-11", 2013: "2013-08-18", 2014: "2014-08-16",
             2015: "2015-08-15", 2016: "2016-08-13", 2017: "2017-08-12", 2018: "2018-08-18"}
DEFAULT_START = "06:00:00"
MISSING = {"", "fehlt!", "00:00:00", "0:00:00", "---", "-"}
_TIME = re.compile(r"^(\d{1,3}):(\d{2}):(\d{2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$")
LAST_MILE_SHARE = 0.75


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as ISO-8859-15 and encoded again (the header's
    ``RÃŒckstand``); text that is not double-encoded is returned unchanged.

    >>> fix_mojibake("RÃŒckstand"), fix_mojibake("Rückstand")
    ('Rückstand', 'Rückstand')
    """
    try:
        return text.encode("iso8859_15").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def leg_seconds(text: str) -> int | None:
    """Seconds of an ``H:MM:SS`` leg time; None for a missing passage (``fehlt!``, zero).

    >>> leg_seconds("01:02:03"), leg_seconds("fehlt!  "), leg_seconds("00:00:00")
    (3723, None, None)
    """
    t = text.strip()
    if t in MISSING:
        return None
    m = _TIME.match(t)
    if not m:
        return None
    h, mi, s = (int(x) for x in m.groups())
    return h * 3600 + mi * 60 + s or None


def station_activity(year: int, position: int, name: str) -> str:
    """Activity of passing an aid station: number, name and edition (course layouts differ
    between editions, so ``VP10`` of 2013 is not ``VP10`` of 2016).

    >>> station_activity(2013, 7, "Gartenlaube Pletscher")
    'VP07 Gartenlaube Pletscher (2013)'
    """
    return f"VP{position:02d} {name} ({year})"


def station_name(cell: str, position: int) -> str:
    """Clean name of a control cell such as ``36((VP5 - Frohnau))`` or ``32((km 6,28 X))``.

    >>> station_name("36((VP5 - Frohnau))", 5), station_name("31()", 1)
    ('Frohnau', 'control 1')
    >>> station_name("33((km 11,32 Behmstraßenbrücke))", 2)
    'Behmstraßenbrücke'
    """
    m = re.match(r"^\s*\d*\(\((.*)\)\)\s*$", cell) or re.match(r"^\s*\w*\((.*)\)\s*$", cell)
    name = m.group(1) if m else cell
    name = re.sub(r"^VP\d+\s*-\s*", "", name.strip())
    name = re.sub(r"^km\s+[\d,\.]+\s*", "", name).strip()
    return name or f"control {position}"


@dataclass
class RaceLog:
    """The converted race: ``events`` (event table), ``quarantine`` (rows not loaded, with
    ``reason``), ``accounting`` (counts) and ``journey`` (YAML text)."""

    events: pd.DataFrame
    quarantine: pd.DataFrame
    accounting: dict[str, Any]
    journey: str
    stations: dict[int, list[str]] = field(default_factory=dict)

    def last_mile_failures(self, share: float = LAST_MILE_SHARE) -> pd.DataFrame:
        """Cases marked DNF whose furthest recorded aid station is at least ``share`` of their
        edition's aid stations (e.g. station 21 of 27 for three quarters)."""
        cases = self.events.groupby("case_id").agg(
            status=("status", "first"), passed=("stations_passed", "first"),
            total=("stations_total", "first"), edition=("edition", "first"),
            relay=("relay", "first"))
        need = np.ceil(share * cases["total"])
        return cases[(cases["status"] == "DNF") & (cases["passed"] >= need)]

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``events.csv`` (ISO 8601 with ``Z``), ``events.parquet``, ``journey.yaml``
        and ``quarantine.csv``."""
        from lastmile.demo import csv_frame

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"csv": out / "events.csv", "parquet": out / "events.parquet",
                 "journey": out / "journey.yaml", "quarantine": out / "quarantine.csv"}
        csv_frame(self.events).to_csv(paths["csv"], index=False, lineterminator="\n")
        self.events.to_parquet(paths["parquet"], index=False)
        paths["journey"].write_text(self.journey, encoding="utf-8")
        self.quarantine.to_csv(paths["quarantine"], index=False, lineterminator="\n")
        return paths


def _edition(path: Path) -> int:
    m = re.search(r"(\d{4})", path.name)
    if not m:
        raise LastmileError(f"cannot tell the race year from the file name {path.name}",
                            hint="name the files result_course_YYYY.csv")
    return int(m.group(1))


def _start_clock(cell: str) -> str | None:
    m = _CLOCK.match(cell.strip())
    if not m or int(m.group(1)) < 4:  # 2013 writes "0:02" here
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}:{m.group(3) or '00'}"


def _read_file(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], list[dict]]:
    raw = path.read_bytes().decode("utf-8")
    lines = raw.replace("\r\n", "\n").split("\n")
    header = [fix_mojibake(h) for h in lines[0].split(";")]
    good, bad = [], []
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(";")
        reason = None
        if fields[0] == header[0]:
            reason = "repeated header row"
            if len(fields) != len(header):
                reason += f": {len(fields)} fields, the header has {len(header)}"
        elif len(fields) != len(header):
            reason = (f"wrong number of fields: {len(fields)} fields, the header has "
                      f"{len(header)}")
        elif fields[1] in seen:
            reason = f"repeated start number: {fields[1]} (the first row is kept)"
        if reason:
            bad.append({"file": path.name, "line": number, "reason": reason, "raw": line})
            continue
        seen.add(fields[1])
        good.append((number, fields))
    return header, good, bad


def convert_race(paths: Iterable[str | Path] | str | Path,
                 race_days: dict[int, str] | None = None) -> RaceLog:
    """Convert race result tables into an event log.

    Parameters
    ----------
    paths : a folder with ``result_course_YYYY.csv`` files, or a list of such files.
    race_days : ``{year: "YYYY-MM-DD"}`` for editions whose files give only clock times
        (default :data:`RACE_DAYS`).
    """
    if isinstance(paths, (str, Path)) and Path(paths).is_dir():
        files = sorted(Path(paths).glob("result_course_*.csv"))
    elif isinstance(paths, (str, Path)):
        files = [Path(paths)]
    else:
        files = [Path(p) for p in paths]
    if not files:
        raise LastmileError(f"no result_course_YYYY.csv files in {paths}")
    days = {**RACE_DAYS, **(race_days or {})}
    rows: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    stations: dict[int, list[str]] = {}
    acc: dict[str, Any] = {"files": len(files), "rows": 0, "loaded": 0, "quarantined": 0,
                           "reasons": {}, "editions": {}}
    for path in files:
        year = _edition(path)
        header, good, bad = _read_file(path)
        acc["rows"] += len(good) + len(bad)
        n_controls = (len(header) - 14) // 3
        n_stations = n_controls - 1  # the last control is the finish
        # the race day: from a full finish timestamp minus the running time, if any
        day, start_default = days.get(year), DEFAULT_START
        for _, f in good:
            m, run = _STAMP.match(f[10].strip()), leg_seconds(f[11])
            if m and run:
                t = pd.Timestamp(f"{m.group(1)} {m.group(2)}") - pd.Timedelta(seconds=run)
                day, start_default = t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S")
                break
        if day is None:
            raise LastmileError(f"no race day known for {year}", hint="pass race_days=")
        names = [station_name(good[0][1][14 + 3 * k], k + 1) if good else f"control {k + 1}"
                 for k in range(n_stations)]
        stations[year] = names
        ed = {"rows": len(good) + len(bad), "loaded": 0, "quarantined": len(bad),
              "stations": n_stations, "finished": 0, "dnf": 0}
        for number, f in good:
            legs = [leg_seconds(f[15 + 3 * k]) for k in range(n_controls)]
            passed = [k for k in range(n_stations) if legs[k] is not None]
            finished = legs[-1] is not None and f[0] != "DNF"
            if not passed and not finished and f[0] != "DNF":
                quarantine.append({"file": path.name, "line": number,
                                   "reason": "did not start: no passage and no rank",
                                   "raw": ";".join(f)})
                ed["quarantined"] += 1
                continue
            clock = _start_clock(f[9]) or start_default
            start = pd.Timestamp(f"{day} {clock}", tz="UTC")
            category = f[8].strip()
            relay = bool(re.search(r"staffel|relay|team", f"{category} {f[7]}", re.I))
            case = {"case_id": f"{year}-{f[1].strip()}", "edition": year,
                    "bib": f[1].strip(), "runner": f[3].strip(), "nation": f[4].strip() or None,
                    "club": f[5].strip() or None, "category": category, "relay": relay,
                    "status": "finished" if finished else ("DNF" if f[0] == "DNF" else "unknown"),
                    "stations_total": n_stations,
                    "stations_passed": max(passed) + 1 if passed else 0}
            elapsed = 0
            rows.append({**case, "activity": "Start", "timestamp": start, "station": None,
                         "leg_seconds": None})
            last = start
            for k in range(n_controls):
                if legs[k] is None:
                    continue
                elapsed += legs[k]
                last = start + pd.Timedelta(seconds=elapsed)
                if k < n_stations:
                    act, station = station_activity(year, k + 1, names[k]), names[k]
                elif finished:
                    act, station = "Finish", "Ziel"
                else:
                    continue
                rows.append({**case, "activity": act, "timestamp": last, "station": station,
                             "leg_seconds": legs[k]})
            if case["status"] == "DNF":
                rows.append({**case, "activity": "DNF", "timestamp": last, "station": None,
                             "leg_seconds": None})
            ed["loaded"] += 1
            ed["finished"] += finished
            ed["dnf"] += case["status"] == "DNF"
        quarantine.extend(bad)
        acc["loaded"] += ed["loaded"]
        acc["quarantined"] += ed["quarantined"]
        acc["editions"][year] = ed
    qdf = pd.DataFrame(quarantine, columns=["file", "line", "reason", "raw"])
    acc["reasons"] = {k.split(":")[0]: int(v) for k, v in
                      qdf["reason"].str.split(":").str[0].value_counts().sort_index().items()}
    assert acc["rows"] == acc["loaded"] + acc["quarantined"]
    events = pd.DataFrame(rows)
    events.insert(3, "resource", None)
    cols = ["case_id", "activity", "timestamp", "resource", "edition", "bib", "runner", "nation",
            "club", "category", "relay", "status", "stations_total", "stations_passed",
            "station", "leg_seconds"]
    events = events[cols]
    events["leg_seconds"] = events["leg_seconds"].astype("Float64")
    return RaceLog(events=events, quarantine=qdf, accounting=acc,
                   journey=race_journey(stations), stations=stations)


def race_journey(stations: dict[int, Sequence[str]], share: float = LAST_MILE_SHARE) -> str:
    """The journey of the converted race: start, first half of the aid stations, up to
    ``share`` of them, the last quarter (the last mile), finish.

    >>> print(race_journey({2020: ["A", "B", "C", "D"]}))  # doctest: +NORMALIZE_WHITESPACE
    name: 100-mile race
    stages:
    - name: start
      activities:
      - Start
    - name: first half
      activities:
      - VP01 A (2020)
    - name: second half
      activities:
      - VP02 B (2020)
    - name: last quarter
      activities:
      - VP03 C (2020)
      - VP04 D (2020)
    - name: finish
      activities:
      - Finish
    finish: finish
    last_mile: last quarter
    failure:
    - DNF
    timeout: 6h
    <BLANKLINE>
    """
    from lastmile.demo.engine import journey_yaml

    groups: dict[str, list[str]] = {"first half": [], "second half": [], "last quarter": []}
    for year, names in sorted(stations.items()):
        n = len(names)
        for k, name in enumerate(names, start=1):
            act = station_activity(year, k, name)
            g = ("last quarter" if k >= math.ceil(share * n) else
                 "second half" if k > math.ceil(n / 2) - 1 and k >= 2 else "first half")
            groups[g].append(act)
    spec = {"name": "100-mile race",
            "stages": [{"name": "start", "activities": ["Start"]},
                       *({"name": g, "activities": acts} for g, acts in groups.items()),
                       {"name": "finish", "activities": ["Finish"]}],
            "finish": "finish", "last_mile": "last quarter", "failure": ["DNF"],
            "timeout": "6h"}
    return journey_yaml(spec)
