"""The race converter: hand counts on the shipped excerpt, and the full split tables against
the MANIFEST (runs only where ../shared/data is present)."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
import yaml

from lastmile.demo.race import EXCERPT, convert_race, fix_mojibake, leg_seconds


@pytest.fixture(scope="module")
def excerpt():
    return convert_race([EXCERPT])


def test_excerpt_accounting_and_quarantine(excerpt):
    acc = excerpt.accounting
    assert (acc["rows"], acc["loaded"], acc["quarantined"]) == (5, 3, 2)
    q = excerpt.quarantine
    assert list(q.columns) == ["file", "line", "reason", "raw"]
    assert q["line"].tolist() == [5, 6]
    assert q["reason"].tolist()[0].startswith("repeated header row: 63 fields, the header has 57")
    assert q["reason"].tolist()[1] == "wrong number of fields: 63 fields, the header has 57"
    raw_lines = EXCERPT.read_bytes().decode("utf-8").split("\r\n")
    assert q["raw"].tolist() == [raw_lines[4], raw_lines[5]]  # kept verbatim


def test_excerpt_hand_counts(excerpt):
    ev = excerpt.events.set_index(["case_id", "activity"])["timestamp"]
    # finisher 221: Start 06:00 (finish stamp 21:53:45 minus running time 15:53:45)
    assert ev[("2013-221", "Start")] == pd.Timestamp("2013-08-18 06:00:00", tz="UTC")
    assert ev[("2013-221", "VP01 Gedenkstätte Litfin (2013)")] == pd.Timestamp(
        "2013-08-18 06:36:22", tz="UTC")  # first leg 00:36:22
    assert ev[("2013-221", "Finish")] == pd.Timestamp("2013-08-18 21:53:45", tz="UTC")
    # runner 75: legs 45:14, 37:06, 1:23:42, 1:25:05, 1:39:34, 1:47:40, 2:16:23 then missing;
    # by hand: 35,684 s = 9:54:44 after 06:00
    r75 = excerpt.events[excerpt.events["case_id"] == "2013-75"]
    assert r75["activity"].tolist()[0] == "Start" and r75["activity"].tolist()[-1] == "DNF"
    assert len(r75) == 1 + 7 + 1
    assert r75["timestamp"].iloc[-1] == pd.Timestamp("2013-08-18 15:54:44", tz="UTC")
    # runner 73 passed all 13 aid stations (26:21:52 in all) and did not finish
    r73 = excerpt.events[excerpt.events["case_id"] == "2013-73"]
    assert r73["activity"].iloc[-2] == "VP13 Test (2013)"
    assert r73["timestamp"].iloc[-2] == pd.Timestamp("2013-08-19 08:21:52", tz="UTC")
    assert "Finish" not in set(r73["activity"])
    lm = excerpt.last_mile_failures()
    assert lm.index.tolist() == ["2013-73"]  # 75 stopped at 7 of 13: before the last quarter


def test_parsers():
    assert fix_mojibake("RÃŒckstand") == "Rückstand"
    assert leg_seconds("26:21:52") == 94912
    assert leg_seconds("fehlt!") is None and leg_seconds("00:00:00") is None


@pytest.fixture(scope="module")
def full(shared_data):
    folder = shared_data / "ultramarathon"
    if not folder.is_dir():
        pytest.skip("no ultramarathon folder")
    return folder, convert_race(folder)


@pytest.mark.shared
def test_full_rows_are_all_accounted_for(full):
    folder, race = full
    lines, wrong = 0, 0
    for path in sorted(folder.glob("result_course_*.csv")):
        text = path.read_bytes().decode("utf-8").split("\r\n")
        width = len(text[0].split(";"))
        body = [x for x in text[1:] if x]
        lines += len(body)
        wrong += sum(len(x.split(";")) != width for x in body)
    assert lines == 2362 == race.accounting["rows"]  # MANIFEST: 2,362 rows
    assert race.accounting["loaded"] + race.accounting["quarantined"] == lines
    assert wrong == 26  # all in 2013
    q = race.quarantine
    with_count = q["reason"].str.contains(r"63 fields, the header has 57")
    assert with_count.sum() == wrong and set(q.loc[with_count, "file"]) == {
        "result_course_2013.csv"}
    assert race.events["case_id"].nunique() == race.accounting["loaded"]


@pytest.mark.shared
def test_full_finish_times_equal_the_published_running_times(full):
    folder, race = full
    ev = race.events
    start = ev[ev["activity"] == "Start"].set_index("case_id")["timestamp"]
    finish = ev[ev["activity"] == "Finish"].set_index("case_id")["timestamp"]
    checked = 0
    for path in sorted(folder.glob("result_course_*.csv")):
        year = int(re.search(r"\d{4}", path.name).group())
        text = path.read_bytes().decode("utf-8").split("\r\n")
        width = len(text[0].split(";"))
        for line in text[1:]:
            f = line.split(";")
            if len(f) != width or f[0] in ("DNF", "", "Platz/Punkte"):
                continue
            case = f"{year}-{f[1]}"
            if case not in finish.index or not re.fullmatch(r"\d+:\d\d:\d\d", f[11]):
                continue
            h, m, s = (int(x) for x in f[11].split(":"))
            legs_ok = (finish[case] - start[case]).total_seconds()
            if legs_ok == h * 3600 + m * 60 + s:
                checked += 1
    assert checked > 1800  # nearly all of the 1,908 finishers (a few legs do not add up)
    first = ev[ev["case_id"] == "2011-13"].set_index("activity")["timestamp"]
    assert first["Finish"] == pd.Timestamp("2011-08-13 22:22:17", tz="UTC")  # Zielzeit


@pytest.mark.shared
def test_full_last_mile_failures_match_the_manifest(full):
    _, race = full
    lm = race.last_mile_failures()
    # MANIFEST: "about 100 runners passed three quarters of the aid stations and did not finish"
    assert 80 <= len(lm) <= 120
    assert len(lm) == 90
    assert (lm["status"] == "DNF").all()
    assert (lm["passed"] >= (0.75 * lm["total"]).apply(math.ceil)).all()


@pytest.mark.shared
def test_full_journey_puts_each_station_in_its_editions_quarter(full):
    _, race = full
    j = yaml.safe_load(race.journey)
    stage_of = {a: s["name"] for s in j["stages"] for a in s["activities"]}
    assert j["last_mile"] == "last quarter" and j["failure"] == ["DNF"]
    ev = race.events[race.events["activity"].str.match(r"VP\d\d .* \(\d{4}\)$")]
    assert len(ev) > 40000
    pairs = ev[["activity", "stations_total"]].drop_duplicates()
    for act, total in pairs.itertuples(index=False):
        k = int(act[2:4])
        in_lm = k >= math.ceil(0.75 * total)
        assert (stage_of[act] == "last quarter") == in_lm, (act, total)


def test_write_race(excerpt, tmp_path):
    paths = excerpt.write(tmp_path)
    assert pd.read_csv(paths["quarantine"])["reason"].str.len().gt(0).all()
    csv = pd.read_csv(paths["csv"])
    assert csv["timestamp"].str.endswith("Z").all() and len(csv) == len(excerpt.events)
