"""Helpers for the measures tests: put a pandas frame into DuckDB or PostgreSQL, load real logs."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import ibis
import pandas as pd
from tests.conftest import shared_file

CANONICAL = ["case_id", "activity", "timestamp", "resource", "event_index"]


def duckdb_table(df: pd.DataFrame, name: str = "events") -> ibis.Table:
    """A new in-memory DuckDB table holding ``df``.

    (Goes through DuckDB's own connection: with the pinned ibis 12 / sqlglot 30,
    ``create_table(name, dataframe)`` emits an empty ``DROP VIEW IF EXISTS``.)
    """
    con = ibis.duckdb.connect()
    con.con.register("lm_source_frame", df)
    con.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM lm_source_frame')
    con.con.unregister("lm_source_frame")
    return con.table(name)


@contextmanager
def postgres_table(url: str, df: pd.DataFrame) -> Iterator[ibis.Table]:
    """A uniquely named PostgreSQL table holding ``df``, dropped afterwards."""
    con = ibis.connect(url)
    name = f"lm_measures_{uuid.uuid4().hex[:12]}"
    try:
        con.create_table(name, df)
        yield con.table(name)
    finally:
        with con.raw_sql(f'DROP TABLE IF EXISTS "{name}"'):
            pass
        con.disconnect()


def _via_read_log(path: str, extra: str) -> pd.DataFrame | None:
    """The log through ``lastmile.read_log`` once the readers exist (None until then)."""
    import lastmile

    read_log = getattr(lastmile, "read_log", None)
    if read_log is None:
        return None
    try:
        df = read_log(path).table.to_pandas()
    except Exception:  # the readers are still in progress: fall back to the direct read
        return None
    names = [c for c in df.columns if c == extra or c.endswith(":" + extra)]
    if not set(CANONICAL) <= set(df.columns) or not names:
        return None
    out = df[CANONICAL].copy()
    out[extra] = pd.to_numeric(df[names[0]], errors="coerce")
    out["timestamp"] = pd.to_datetime(out["timestamp"]).astype("datetime64[us]")
    return out.sort_values("event_index").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def _bpic2012_frame(path: str) -> pd.DataFrame:
    import rustxes

    via = _via_read_log(path, "AMOUNT_REQ")
    if via is not None and len(via) == 164506:
        return via

    df = rustxes.import_xes(path)[0].to_pandas()
    df = df[df["lifecycle:transition"].str.upper() == "COMPLETE"].reset_index(drop=True)
    ts = pd.to_datetime(df["time:timestamp"], utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "case_id": df["case:concept:name"].astype(str),
            "activity": df["concept:name"].astype(str),
            "timestamp": ts.astype("datetime64[us]"),
            "resource": df["org:resource"].astype(object),
            "event_index": pd.Series(range(len(df)), dtype="int64"),
            "AMOUNT_REQ": pd.to_numeric(df["case:AMOUNT_REQ"], errors="coerce"),
        }
    )


def bpic2012() -> pd.DataFrame:
    """BPI Challenge 2012, lifecycle COMPLETE events, canonical columns plus AMOUNT_REQ."""
    return _bpic2012_frame(str(shared_file("bpic2012/bpic2012.xes.gz"))).copy()


@functools.lru_cache(maxsize=1)
def _sepsis_frame(path: str) -> pd.DataFrame:
    via = _via_read_log(path, "age")
    if via is not None and len(via) == 15214:
        return via
    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    return pd.DataFrame(
        {
            "case_id": df["case_id"],
            "activity": df["activity"],
            "timestamp": pd.to_datetime(df["timestamp"]).astype("datetime64[us]"),
            "resource": df["resource"].replace("", None),
            "event_index": pd.Series(range(len(df)), dtype="int64"),
            "age": pd.to_numeric(df["age"].replace("", None), errors="coerce"),
        }
    )


def sepsis() -> pd.DataFrame:
    """The sepsis log (case "NA" is a real case), canonical columns plus age."""
    return _sepsis_frame(str(shared_file("sepsis/sepsis.csv.gz"))).copy()
