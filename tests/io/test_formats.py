"""Formats, delimiters, encodings, column names, timestamps and attributes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import lastmile

ROWS = [("c1", "start", "2024-03-01 09:00:00"), ("c1", "end", "2024-03-02 10:30:00"),
        ("c2", "start", "2024-03-05 08:00:00")]


def events(log: lastmile.Log) -> list[tuple[str, str, pd.Timestamp]]:
    df = log.to_pandas()
    return list(zip(df["case_id"], df["activity"], df["timestamp"], strict=True))


def expected(rows: list[tuple[str, str, str]] = ROWS, shift_h: float = 0):
    return [(c, a, pd.Timestamp(t) - pd.Timedelta(hours=shift_h)) for c, a, t in rows]


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters(delim: str, tmp_path: Path) -> None:
    text = delim.join(["Case ID", "Activity", "Complete Timestamp"]) + "\n"
    text += "".join(delim.join(r) + "\n" for r in ROWS)
    (tmp_path / "l.csv").write_text(text)
    assert events(lastmile.read_log(tmp_path / "l.csv")) == expected()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_encodings(encoding: str, tmp_path: Path) -> None:
    rows = [("c1", "Prüfung bestätigt", "2024-03-01 09:00:00"), ("c2", "Café", "2024-03-01")]
    text = "case,activity,timestamp\n" + "".join(",".join(r) + "\n" for r in rows)
    (tmp_path / "l.csv").write_bytes(text.encode(encoding))
    log = lastmile.read_log(tmp_path / "l.csv")
    assert sorted(log.inspect().activities) == ["Café", "Prüfung bestätigt"]


def test_gzip_csv_and_crlf(tmp_path: Path) -> None:
    text = "case_id,activity,timestamp\r\n" + "".join(",".join(r) + "\r\n" for r in ROWS)
    (tmp_path / "l.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert events(lastmile.read_log(tmp_path / "l.csv.gz")) == expected()


@pytest.mark.parametrize(("case", "act", "ts", "res"), [
    ("Case ID", "Activity", "Complete Timestamp", "Resource"),
    ("case_id", "activity_name", "timestamp", "resource"),
    ("CaseID", "ACTIVITY", "Time", "user"),
    ("case:concept:name", "concept:name", "time:timestamp", "org:resource"),
])
def test_usual_column_names(case: str, act: str, ts: str, res: str) -> None:
    df = pd.DataFrame(ROWS, columns=[case, act, ts]).assign(**{res: "ann"})
    log = lastmile.read_log(df)
    assert (log.mapping.case, log.mapping.activity, log.mapping.timestamp,
            log.mapping.resource) == (case, act, ts, res)
    assert events(log) == expected()


def test_mixed_offsets_are_normalised_to_utc() -> None:
    df = pd.DataFrame({"case": ["a", "a", "a"], "activity": ["x", "y", "z"],
                       "timestamp": ["2024-03-01T10:00:00+02:00", "2024-03-01T10:00:00Z",
                                     "2024-03-01T10:00:00-05:00"]})
    got = [t for *_, t in events(lastmile.read_log(df))]
    assert got == [pd.Timestamp("2024-03-01 08:00"), pd.Timestamp("2024-03-01 10:00"),
                   pd.Timestamp("2024-03-01 15:00")]


def test_naive_times_read_in_the_given_zone() -> None:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "timestamp"])
    # Amsterdam is UTC+1 in early March
    assert events(lastmile.read_log(df, tz="Europe/Amsterdam")) == expected(shift_h=1)


def test_day_first_decided_by_the_data() -> None:
    df = pd.DataFrame({"case": ["a", "a"], "activity": ["x", "y"],
                       "timestamp": ["03/02/2024 10:00", "25/02/2024 11:00"]})
    got = [t for *_, t in events(lastmile.read_log(df))]
    assert got == [pd.Timestamp("2024-02-03 10:00"), pd.Timestamp("2024-02-25 11:00")]


def test_ambiguous_day_month_follows_the_flag_and_warns_without_it() -> None:
    df = pd.DataFrame({"case": ["a"], "activity": ["x"], "timestamp": ["03/02/2024 10:00"]})
    plain = lastmile.read_log(df)
    assert [t for *_, t in events(plain)] == [pd.Timestamp("2024-03-02 10:00")]
    assert any("--dayfirst" in w for w in plain.warnings)
    day = lastmile.read_log(df, dayfirst=True)
    assert [t for *_, t in events(day)] == [pd.Timestamp("2024-02-03 10:00")]


@pytest.mark.parametrize(("values", "unit"), [([1709283600, 1709370000], "s"),
                                              ([1709283600000, 1709370000000], "ms")])
def test_epoch_seconds_and_milliseconds(values: list[int], unit: str) -> None:
    for as_text in (False, True):
        df = pd.DataFrame({"case": ["a", "a"], "activity": ["x", "y"],
                           "timestamp": [str(v) if as_text else v for v in values]})
        got = [t for *_, t in events(lastmile.read_log(df))]
        assert got == [pd.Timestamp(v, unit=unit) for v in values]


def test_ties_keep_file_order() -> None:
    df = pd.DataFrame({"case": ["a"] * 3, "activity": ["third?", "first", "second"],
                       "timestamp": ["2024-01-01 10:00", "2024-01-01 09:00", "2024-01-01 10:00"]})
    assert [a for _, a, _ in events(lastmile.read_log(df))] == ["first", "third?", "second"]


def test_case_and_event_attributes_and_types() -> None:
    df = pd.DataFrame({
        "case": ["a", "a", "b", "b"], "activity": ["x", "y", "x", "y"],
        "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
        "region": ["north", "north", "south", None],          # case, category
        "amount": ["100", "100", "250.5", "250.5"],          # case, number
        "vip": ["true", "true", "false", "false"],            # case, bool
        "due": ["2024-02-01", "2024-02-01", "2024-03-01", "2024-03-01"],  # case, time
        "step_cost": ["1", "2", "3", "4"],                   # event, number
        "channel": ["web", "phone", "web", "web"],           # event, category
    })
    log = lastmile.read_log(df)
    got = {a.name: (a.kind, a.dtype) for a in log.attributes.values()}
    assert got == {"region": ("case", "category"), "amount": ("case", "number"),
                   "vip": ("case", "bool"), "due": ("case", "time"),
                   "step_cost": ("event", "number"), "channel": ("event", "category")}
    assert log.table.amount.type().is_numeric()
    assert log.table.vip.type().is_boolean()
    assert log.table.due.type().is_timestamp()


def test_decimals_are_not_truncated_and_integers_stay_whole() -> None:
    df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["x", "y", "x"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "lactic": ["2.2", "1", "0.5"], "count": ["3", "-4", "12"]})
    got = lastmile.read_log(df).to_pandas()
    assert sorted(got["lactic"]) == [0.5, 1.0, 2.2]
    assert sorted(got["count"]) == [-4, 3, 12]
    assert str(got["count"].dtype).lower().startswith("int")


def test_lifecycle_with_non_standard_values_keeps_every_event() -> None:
    df = pd.DataFrame({"case": ["a", "a", "a"], "activity": ["x", "y", "z"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "lifecycle": ["open", "in progress", "complete"]})
    log = lastmile.read_log(df)
    assert log.accounting.loaded == 3 and log.accounting.filtered == 0


def test_standard_lifecycle_keeps_complete_or_what_is_asked() -> None:
    df = pd.DataFrame({"case": ["a"] * 4, "activity": ["x", "x", "y", "y"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
                       "lifecycle:transition": ["start", "complete", "start", "complete"]})
    assert lastmile.read_log(df).accounting.loaded == 2
    assert lastmile.read_log(df, lifecycle="all").accounting.loaded == 4
    assert lastmile.read_log(df, lifecycle=["start"]).accounting.loaded == 2


def test_polars_frame_and_parquet_and_jsonl(tmp_path: Path) -> None:
    pdf = pd.DataFrame(ROWS, columns=["case_id", "activity", "timestamp"])
    pdf["timestamp"] = pd.to_datetime(pdf["timestamp"])
    assert events(lastmile.read_log(pl.from_pandas(pdf))) == expected()
    pdf.to_parquet(tmp_path / "l.parquet")
    assert events(lastmile.read_log(tmp_path / "l.parquet")) == expected()
    pdf.assign(timestamp=pdf["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")).to_json(
        tmp_path / "l.jsonl", orient="records", lines=True)
    assert events(lastmile.read_log(tmp_path / "l.jsonl")) == expected()


def test_xes_case_attributes_go_on_the_trace(tmp_path: Path) -> None:
    df = pd.DataFrame({"case_id": ["a", "a", "b"], "activity": ["x", "y", "x"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
                       "region": ["n", "n", "s"], "note": ["p", "q", "r"]})
    out = lastmile.write_log(lastmile.read_log(df), tmp_path / "l.xes")
    text = out.read_text()
    assert text.count("<trace>") == 2 and text.count("<event>") == 3
    back = lastmile.read_log(out)
    assert back.case_attributes == ["region"] and back.event_attributes == ["note"]
    assert events(back) == events(lastmile.read_log(df))
