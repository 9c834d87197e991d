"""Logs kept in DuckDB files and PostgreSQL tables read back identically."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from tests.conftest import shared_file
from typer.testing import CliRunner

import lastmile
from lastmile.cli import app

runner = CliRunner()


def test_load_into_duckdb_file_then_inspect_it(tmp_path: Path) -> None:
    src = shared_file("sepsis/sepsis.csv.gz")
    db = tmp_path / "events.duckdb"
    result = runner.invoke(app, ["load", str(src), "--db", str(db)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "i.json"
    result = runner.invoke(app, ["inspect", str(db), "--json", str(out)])
    assert result.exit_code == 0, result.output
    info = pd.read_json(out, typ="series")
    direct = lastmile.read_log(src).inspect()
    assert (info["cases"], info["events"]) == (direct.cases, direct.events) == (1050, 15214)
    assert info["activities"] == direct.activities
    # what was known at load time is kept with the table
    assert info["accounting"]["read"] == 15214
    assert {a["name"] for a in info["attributes"]} == {a["name"] for a in direct.attributes}


def test_duckdb_url_with_a_table_name(tmp_path: Path) -> None:
    df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["x", "y", "x"],
                       "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    where = lastmile.save_log(lastmile.read_log(df), f"duckdb://{tmp_path}/x.duckdb?table=mine")
    assert where.endswith("?table=mine")
    assert lastmile.read_log(where).inspect().activities == {"x": 2, "y": 1}
    with pytest.raises(lastmile.LastmileError, match="no table 'other'"):
        lastmile.read_log(f"duckdb://{tmp_path}/x.duckdb?table=other")


@pytest.mark.postgres
def test_postgres_round_trip_gives_the_same_counts(pg_url: str) -> None:
    src = shared_file("helpdesk/helpdesk.xes.gz")
    table = f"lm_test_{uuid.uuid4().hex[:8]}"
    original = lastmile.read_log(src)
    try:
        url = lastmile.save_log(original, f"{pg_url}?table={table}")
        back = lastmile.read_log(url)
        assert back.con.name == "postgres"  # analysed in place, on the server
        a, b = original.inspect(), back.inspect()
        assert (b.cases, b.events) == (a.cases, a.events) == (4580, 21348)
        assert b.activities == a.activities
        assert b.start == a.start and b.end == a.end
        # the CLI reads the same URL
        result = runner.invoke(app, ["inspect", url, "--json", "-"])
        assert result.exit_code == 0, result.output
        assert '"events": 21348' in result.output
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            conn.execute("DELETE FROM lastmile_meta WHERE name = %s", (table,))


@pytest.mark.postgres
def test_a_plain_postgres_table_is_validated_like_a_file(pg_url: str) -> None:
    table = f"lm_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{table}" (ticket text, step text, at text, who text)')
        conn.execute(f'INSERT INTO "{table}" VALUES (%s,%s,%s,%s), (%s,%s,%s,%s), '
                     "(%s,%s,%s,%s)",
                     ("t1", "open", "2024-01-01 10:00", "ann", "t1", "close",
                      "2024-01-02 10:00", "bob", "t2", "open", "soon", "ann"))
    try:
        log = lastmile.read_log(f"{pg_url}?table={table}", case="ticket", activity="step",
                                timestamp="at", resource="who")
        assert (log.accounting.read, log.accounting.loaded, log.accounting.quarantined) == (3, 2, 1)
        assert list(log.quarantined()["reason"]) == ["unparseable timestamp"]
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def test_bad_database_url_is_one_clear_error() -> None:
    result = runner.invoke(app, ["inspect", "postgresql://nobody@127.0.0.1:1/none?table=x"])
    assert result.exit_code == 2
    assert "cannot connect" in result.output and "Traceback" not in result.output
