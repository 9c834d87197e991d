"""Logs kept in a database: ``lastmile load LOG --db …`` and reading them back.

A table written by lastmile (the canonical event table plus a row in ``lastmile_meta``) is
analysed *in place*: on PostgreSQL the measures run as SQL on the server. Any other table is
read into the embedded engine and validated exactly like a file.

URLs: ``postgresql://user@host:5432/db?table=events`` and ``duckdb:///path/file.duckdb?table=events``
(a plain ``file.duckdb`` path means table ``events``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv

from lastmile.errors import LastmileError
from lastmile.io.normalize import Accounting, Attribute, Options
from lastmile.io.sources import Source

if TYPE_CHECKING:
    from lastmile.log import Log

META = "lastmile_meta"
CANONICAL = ("case_id", "activity", "timestamp", "resource", "event_index")


def _meta(log: Log, table: str) -> dict[str, Any]:
    return {
        "version": 1,
        "table": table,
        "source": log.source,
        "mapping": log.mapping.to_dict(),
        "time_format": log.time_format,
        "attributes": {k: a.to_dict() for k, a in log.attributes.items()},
        "accounting": log.accounting.to_dict(),
        "warnings": log.warnings,
    }


def _pg_connect(url: str) -> Any:
    base = url.split("?", 1)[0]
    try:
        return ibis.connect(base.replace("postgres://", "postgresql://", 1))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LastmileError(f"cannot connect to {Source.of(url).name}: {first}") from None


def save_log(log: Log, db: str | Path) -> str:
    """Persist the log's event table (and how it was read) in a DuckDB file or PostgreSQL.

    Returns the location as a URL that :func:`lastmile.read_log` accepts.
    """
    target = Source.of(str(db)) if "://" in str(db) else Source("duckdb", path=Path(db))
    table = target.table or "events"
    meta = json.dumps(_meta(log, table))
    if target.format == "postgres":
        con = _pg_connect(target.url or "")
        _copy_to_postgres(con, log, table)
        raw = con.con
        with raw.cursor() as cur:
            cur.execute(f'CREATE TABLE IF NOT EXISTS "{META}" (name TEXT PRIMARY KEY, meta TEXT)')
            cur.execute(f'DELETE FROM "{META}" WHERE name = %s', (table,))
            cur.execute(f'INSERT INTO "{META}" VALUES (%s, %s)', (table, meta))
        raw.commit()
        return (target.url or "").split("?", 1)[0] + f"?table={table}"
    path = target.path
    if path is None:
        raise LastmileError("a DuckDB target needs a file path")
    same = getattr(log.con, "name", None) == "duckdb" and _duck_path(log.con) == path.resolve()
    con = log.con if same else ibis.duckdb.connect(str(path))
    raw = con.con
    if not same:
        con.create_table(table, log.table.to_pyarrow(), overwrite=True)
    elif table != "events":
        raw.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM events').fetchall()
    raw.execute(f'CREATE TABLE IF NOT EXISTS "{META}" (name VARCHAR PRIMARY KEY, meta VARCHAR)'
                ).fetchall()
    raw.execute(f'INSERT OR REPLACE INTO "{META}" VALUES (?, ?)', [table, meta]).fetchall()
    raw.execute("CHECKPOINT").fetchall()
    return f"duckdb:///{path.resolve()}?table={table}"


def _duck_path(con: Any) -> Path | None:
    try:
        rows = con.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                               "current_database()").fetchall()
        row = rows[0] if rows else None
    except Exception:  # pragma: no cover
        return None
    return Path(row[0]).resolve() if row and row[0] else None


def _copy_to_postgres(con: Any, log: Log, table: str) -> None:
    """Create ``table`` on PostgreSQL and COPY the events in, batch by batch."""
    t = log.table
    schema = t.schema()
    raw = con.con
    cols = ", ".join(f'"{c}"' for c in schema.names)
    ddl = ", ".join(f'"{name}" {_pg_type(dtype)}' for name, dtype in schema.items())
    with raw.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{table}"')
        cur.execute(f'CREATE TABLE "{table}" ({ddl})')
    arrow = t.to_pyarrow()
    with raw.cursor() as cur, cur.copy(
        f'COPY "{table}" ({cols}) FROM STDIN WITH (FORMAT csv, HEADER false)'
    ) as copy:
        for batch in arrow.to_batches(100_000):
            buf = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch]), buf,
                            pacsv.WriteOptions(include_header=False))
            copy.write(buf.getvalue())
    raw.commit()


def _pg_type(dtype: Any) -> str:
    """PostgreSQL column type for an Ibis type (the types the event table uses)."""
    if dtype.is_timestamp():
        return "TIMESTAMP"
    if dtype.is_boolean():
        return "BOOLEAN"
    if dtype.is_integer():
        return "BIGINT"
    if dtype.is_floating() or dtype.is_decimal():
        return "DOUBLE PRECISION"
    if dtype.is_date():
        return "DATE"
    return "TEXT"


def open_database(src: Source, opts: Options) -> Log:
    """Open a table in DuckDB or PostgreSQL as a :class:`Log`."""
    from lastmile.log import Log

    table = src.table or "events"
    if src.format == "postgres":
        con = _pg_connect(src.url or "")
    else:
        if src.path is None or not src.path.exists():
            raise LastmileError(f"{src.path}: no such DuckDB file")
        try:
            con = ibis.duckdb.connect(str(src.path), read_only=True)
        except Exception as exc:
            raise LastmileError(f"{src.path.name}: cannot open as DuckDB "
                                f"({str(exc).splitlines()[0]})") from None
    tables = con.list_tables()
    if table not in tables:
        shown = ", ".join(t for t in tables if t != META) or "none"
        raise LastmileError(f"{src.name}: no table {table!r} (tables: {shown})",
                            hint="name one with ?table=NAME")
    meta = _read_meta(con, table) if META in tables else None
    t = con.table(table)
    if meta and set(CANONICAL) <= set(t.columns):
        attrs = {k: Attribute(**v) for k, v in meta["attributes"].items()}
        acc = {k: v for k, v in meta["accounting"].items() if k != "balanced"}
        return Log(con, t, source=meta.get("source", src.name), mapping=meta["mapping"],
                   attributes=attrs, accounting=Accounting(**acc),
                   time_format=meta.get("time_format", "native"),
                   warnings=meta.get("warnings", []))
    # any other table: bring it into the embedded engine and validate it like a file
    from lastmile.io import read_log

    frame = t.to_pyarrow()
    log = read_log(frame, case=opts.case, activity=opts.activity, timestamp=opts.timestamp,
                   resource=opts.resource, lifecycle_column=opts.lifecycle_column,
                   dayfirst=opts.dayfirst, tz=opts.tz, lifecycle=opts.lifecycle,
                   dedupe=opts.dedupe)
    log.source = f"{src.name} (table {table})"
    return log


def _read_meta(con: Any, table: str) -> dict[str, Any] | None:
    m = con.table(META)
    df = m.filter(m.name == table).to_pandas()
    return json.loads(df["meta"].iloc[0]) if len(df) else None
