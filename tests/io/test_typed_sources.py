"""Typed sources (Parquet, DataFrames) take shortcuts; the results must not depend on them.

A typed timestamp is not turned into text and back, a Parquet file is read in place, types
are inferred from distinct values and duplicates are found through hashes. Each test here
reads the same events once through a typed source and once as text (or in a form that
takes the long way) and expects the same event table, quarantine and accounting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lastmile


def _frame(n_cases: int = 30, seed: int = 0) -> pd.DataFrame:
    """A small typed log: text, numbers, booleans, times; case and event attributes."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cases):
        start = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=int(c))
        for k, act in enumerate(["open", "work", "close"][: 1 + c % 3]):
            rows.append({
                "case_id": f"c{c:03d}", "activity": act,
                "timestamp": start + pd.Timedelta(minutes=int(rng.integers(0, 3)) + 10 * k),
                "resource": ["ann", "bob", None][k],
                "region": ["north", "south", None][c % 3],          # case, text
                "amount": float(c % 7) + 0.5,                        # case, number
                "vip": bool(c % 2),                                  # case, bool
                "cost": float(rng.normal()),                         # event, number
                "channel": ["web", "phone"][int(rng.integers(0, 2))],  # event, text
            })
    return pd.DataFrame(rows)


def _broken(df: pd.DataFrame) -> pd.DataFrame:
    """The log with NULL and blank case ids, a missing activity and missing times."""
    df = df.copy()
    df["case_id"] = df["case_id"].astype(object)
    df.loc[1, "case_id"] = None
    df.loc[2, "case_id"] = "   "
    df.loc[4, "activity"] = None
    df.loc[[6, 9], "timestamp"] = pd.NaT
    return df


def _as_text_csv(df: pd.DataFrame, path: Path) -> Path:
    out = df.copy()
    utc = out["timestamp"].dt.tz is not None
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S" + ("Z" if utc else ""))
    out.to_csv(path, index=False)
    return path


def _events(log: lastmile.Log) -> pd.DataFrame:
    return log.to_pandas().reset_index(drop=True)


def test_typed_parquet_quarantines_like_the_csv_route(tmp_path: Path) -> None:
    df = _broken(_frame())
    df.to_parquet(tmp_path / "l.parquet")
    typed = lastmile.read_log(tmp_path / "l.parquet")
    text = lastmile.read_log(_as_text_csv(df, tmp_path / "l.csv"))
    assert typed.accounting.reasons == text.accounting.reasons == {
        "missing case id": 2, "missing timestamp": 2, "missing activity": 1}
    assert typed.accounting.to_dict() == text.accounting.to_dict()
    assert typed.accounting.balanced
    tq, xq = typed.quarantined(), text.quarantined()
    assert list(tq["reason"]) == list(xq["reason"])
    assert list(tq["activity"]) == list(xq["activity"])
    # a row with a good time but no case keeps its time (as text) in the quarantine
    assert tq["timestamp"].notna().sum() == xq["timestamp"].notna().sum() == 3


def test_typed_and_text_inputs_give_equal_event_tables(tmp_path: Path) -> None:
    df = _broken(_frame())
    df.to_parquet(tmp_path / "l.parquet")
    typed = lastmile.read_log(tmp_path / "l.parquet")
    text = lastmile.read_log(_as_text_csv(df, tmp_path / "l.csv"))
    frame = lastmile.read_log(df)
    a, b, c = _events(typed), _events(text), _events(frame)
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    kinds = {n: (at.kind, at.dtype) for n, at in typed.attributes.items()}
    assert kinds == {n: (at.kind, at.dtype) for n, at in text.attributes.items()}
    assert kinds == {"region": ("case", "category"), "amount": ("case", "number"),
                     "vip": ("case", "bool"), "cost": ("event", "number"),
                     "channel": ("event", "category")}
    assert [at.cardinality for at in typed.attributes.values()] == \
        [at.cardinality for at in text.attributes.values()]


def test_blanks_are_trimmed_as_before() -> None:
    # DuckDB's trim removes Unicode spaces (not tabs); values are trimmed only when needed
    df = pd.DataFrame({
        "case": [" a", "a\u00a0", "\u3000a ", "\tb", "b", " ", "\u2003"],
        "activity": ["x", " y ", "z\u2009", "x", "y\t", "x", "x"],
        "timestamp": pd.date_range("2024-01-01", periods=7, freq="h"),
    })
    log = lastmile.read_log(df)
    got = sorted(zip(_events(log)["case_id"], _events(log)["activity"], strict=True))
    assert got == [("\tb", "x"), ("a", "x"), ("a", "y"), ("a", "z"), ("b", "y\t")]
    assert log.accounting.reasons == {"missing case id": 2}


def test_duplicates_and_ties(tmp_path: Path) -> None:
    t = pd.Timestamp("2024-01-01 10:00")
    df = pd.DataFrame({
        "case": ["a", "a", "a", "a", "b", "b", "b"],
        "activity": ["x", "y", "x", "x", "x", "x", "y"],
        "timestamp": [t, t, t, t + pd.Timedelta(hours=1), t, t, t],
        "cost": [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 2.0],
    })
    df.to_parquet(tmp_path / "d.parquet")
    for source in (df, tmp_path / "d.parquet"):
        kept = lastmile.read_log(source)
        assert kept.accounting.duplicates == 1          # a/x/t twice; b/x differ in cost
        assert list(_events(kept)["activity"]) == ["x", "y", "x", "x", "x", "x", "y"]
        dropped = lastmile.read_log(source, dedupe=True)
        assert dropped.accounting.deduplicated == 1 and dropped.accounting.balanced
        assert list(_events(dropped)["event_index"]) == [0, 1, 3, 4, 5, 6]


@pytest.mark.parametrize("share", [0.02, 0.5])
def test_few_or_many_rows_removed_give_the_same_events(share: float, tmp_path: Path) -> None:
    # few unusable rows are deleted in place, many make a copy: the same table either way
    df = _frame(n_cases=200, seed=1)
    bad = df.sample(frac=share, random_state=2).index
    broken = df.copy()
    broken.loc[bad, "timestamp"] = pd.NaT
    broken.to_parquet(tmp_path / "b.parquet")
    log = lastmile.read_log(tmp_path / "b.parquet")
    assert log.accounting.quarantined == len(bad)
    clean = lastmile.read_log(df.drop(index=bad))
    a = _events(log).drop(columns="event_index")
    b = _events(clean).drop(columns="event_index")
    pd.testing.assert_frame_equal(a, b)
    assert sorted(_events(log)["event_index"]) == sorted(set(range(len(df))) - set(bad))
    assert log.attributes == clean.attributes


def test_parquet_with_a_column_named_like_the_row_number(tmp_path: Path) -> None:
    df = _frame(n_cases=5)
    df.to_parquet(tmp_path / "plain.parquet")
    df.assign(file_row_number=7, __row="x").to_parquet(tmp_path / "r.parquet")
    log = lastmile.read_log(tmp_path / "r.parquet")
    plain = lastmile.read_log(tmp_path / "plain.parquet")
    pd.testing.assert_frame_equal(_events(log)[_events(plain).columns], _events(plain))
    assert {"file_row_number", "__row"} <= {a.source for a in log.attributes.values()}


@pytest.mark.parametrize("fmt", ["frame", "jsonl", "xes"])
def test_other_sources_with_a_column_named_like_the_row_number(tmp_path: Path,
                                                                fmt: str) -> None:
    df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["x", "y", "x"],
                       "timestamp": ["2024-01-01T00:00:00", "2024-01-02T00:00:00", "bad"],
                       "__row": ["r5", "r6", "r7"], "___row": ["s5", "s6", "s7"]})
    if fmt == "frame":
        src: object = df
    elif fmt == "jsonl":
        src = tmp_path / "l.jsonl"
        src.write_text(df.to_json(orient="records", lines=True).rstrip("\n")
                       + "\nnot json\n")
    else:
        src = tmp_path / "l.xes"
        traces = []
        for case, g in df.groupby("case"):
            evs = "".join(
                f'<event><string key="concept:name" value="{r["activity"]}"/>'
                f'<date key="time:timestamp" value="{r["timestamp"]}"/>'
                f'<string key="__row" value="{r["__row"]}"/>'
                f'<string key="___row" value="{r["___row"]}"/></event>'
                for r in g.to_dict("records") if r["timestamp"] != "bad")
            traces.append(f'<trace><string key="concept:name" value="{case}"/>{evs}</trace>')
        src.write_text('<?xml version="1.0"?><log xes.version="1.0">' + "".join(traces)
                       + "</log>")
    log = lastmile.read_log(src)
    ev = _events(log)
    assert ev["case_id"].tolist() == ["a", "a"]
    # the source's own columns are kept as attributes, values intact
    kept = {a.source: name for name, a in log.attributes.items()}
    assert {"__row", "___row"} <= set(kept)
    assert ev[kept["__row"]].tolist() == ["r5", "r6"]
    assert ev[kept["___row"]].tolist() == ["s5", "s6"]
    if fmt != "xes":  # the bad rows are quarantined, not lost
        bad = {"frame": 1, "jsonl": 2}[fmt]  # the bad timestamp (and the line not JSON)
        assert log.accounting.quarantined == bad and log.accounting.loaded == 2
        assert log.accounting.balanced


def test_typed_naive_timestamps_in_another_zone(tmp_path: Path) -> None:
    df = _frame(n_cases=10)
    naive = df.assign(timestamp=df["timestamp"].dt.tz_localize(None))
    naive.to_parquet(tmp_path / "n.parquet")
    typed = lastmile.read_log(tmp_path / "n.parquet", tz="Europe/Amsterdam")
    text = lastmile.read_log(_as_text_csv(naive, tmp_path / "n.csv"), tz="Europe/Amsterdam")
    pd.testing.assert_frame_equal(_events(typed), _events(text), check_dtype=False)
    first = naive.sort_values(["case_id", "timestamp"])["timestamp"].iloc[0]
    assert _events(typed)["timestamp"].iloc[0] == first - pd.Timedelta(hours=1)  # UTC+1


def test_truncated_parquet_is_one_clear_error(tmp_path: Path) -> None:
    _frame().to_parquet(tmp_path / "t.parquet")
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(lastmile.LastmileError, match="cannot read as Parquet"):
        lastmile.read_log(tmp_path / "t.parquet")


@pytest.mark.parametrize(("rows", "ordered"), [
    ([("a", 1), ("a", 1), ("a", 2), ("b", 0), ("c", 5)], True),
    ([("a", 1), ("a", 2), ("b", 0), ("a", 3)], False),      # a case comes back
    ([("a", 2), ("a", 1)], False),                          # time goes back within a case
    ([("b", 1), ("a", 2)], False),                          # across a batch boundary
    ([("B", 1), ("a", 1), ("\u00e9", 1)], True),            # byte order, as ORDER BY
])
def test_sources_already_in_order_are_recognised(rows: list[tuple[str | None, int]],
                                                 ordered: bool) -> None:
    import duckdb

    from lastmile.io.normalize import _in_order

    con = duckdb.connect()
    con.execute("CREATE TABLE __raw (c VARCHAR, t BIGINT, __row BIGINT)")
    con.executemany("INSERT INTO __raw VALUES (?, ?, ?)",
                    [(c, t, i) for i, (c, t) in enumerate(rows)])
    assert _in_order(con, "c", "t", "__row", batch_rows=2) is ordered
    sorted_rows = con.execute("SELECT c, t FROM __raw ORDER BY c, t, __row").fetchall()
    assert (sorted_rows == [tuple(r) for r in rows]) is ordered


def test_rows_with_nulls_are_always_sorted() -> None:
    import duckdb

    from lastmile.io.normalize import _in_order

    con = duckdb.connect()
    con.execute("CREATE TABLE __raw AS SELECT * FROM (VALUES ('a', 1, 0), (NULL, 2, 1)) "
                "t(c, t, __row)")
    assert not _in_order(con, "c", "t", "__row")


def test_ordered_and_shuffled_sources_give_the_same_events(tmp_path: Path) -> None:
    df = _frame(n_cases=40, seed=3).sort_values(["case_id", "timestamp"], kind="stable")
    df = df.reset_index(drop=True)
    shuffled = df.sample(frac=1.0, random_state=4).reset_index(drop=True)
    df.to_parquet(tmp_path / "o.parquet")
    shuffled.to_parquet(tmp_path / "s.parquet")
    a = _events(lastmile.read_log(tmp_path / "o.parquet")).drop(columns="event_index")
    b = _events(lastmile.read_log(tmp_path / "s.parquet")).drop(columns="event_index")
    # ties in time keep file order, which differs between the two files: compare as sets
    key = ["case_id", "timestamp", "activity", "cost"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                  b.sort_values(key).reset_index(drop=True))
    assert a["case_id"].is_monotonic_increasing and b["case_id"].is_monotonic_increasing
