"""Write a log (``lastmile convert``) or its quarantined rows, in the format a path names.

CSV, TSV, Parquet and JSON lines are written by DuckDB; XES by :mod:`lastmile.io.xes`.
Times are written in UTC as ISO 8601 with a ``Z``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from lastmile.errors import LastmileError
from lastmile.io.readers import quote
from lastmile.io.sources import Source
from lastmile.io.xes import open_text, write_xes_rows

if TYPE_CHECKING:
    from lastmile.log import Log

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".xes": "xes", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def output_format(path: Path) -> tuple[str, bool]:
    """The format a path names, and whether it is gzip-compressed.

    >>> output_format(Path("out.xes.gz"))
    ('xes', True)
    >>> output_format(Path("out.parquet"))
    ('parquet', False)
    """
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None or (compressed and fmt == "parquet"):
        raise LastmileError(
            f"{path.name}: cannot tell the output format from the name",
            hint="end it in .csv, .tsv, .parquet, .xes, .xes.gz, .jsonl (or .csv.gz, .jsonl.gz)",
        )
    return fmt, compressed


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path, fmt: str, gz: bool,
          delimiter: str = ",") -> None:
    comp = ", COMPRESSION gzip" if gz else ""
    if fmt in ("csv", "tsv"):
        delim = "\t" if fmt == "tsv" else delimiter
        opts = f"FORMAT csv, HEADER, DELIMITER '{delim}'{comp}"
    elif fmt == "parquet":
        opts = "FORMAT parquet"
    else:
        opts = f"FORMAT json{comp}"
    con.execute(f"COPY ({query}) TO '{str(path).replace(chr(39), chr(39) * 2)}' ({opts})")


def _as_arrow(log: Log) -> pa.Table:
    t = log.table.order_by(["case_id", "timestamp", "event_index"])
    return t.to_pyarrow()


def write_log(log: Log, path: str | Path) -> Path:
    """Write the normalised log to ``path`` (format from the extension); returns the path.

    Column names are the canonical ones (``case_id``, ``activity``, ``timestamp``,
    ``resource``) plus the attributes; XES uses the standard keys
    (``case:concept:name``, ``concept:name``, ``time:timestamp``, ``org:resource``) and puts
    case attributes on the trace.
    """
    path = Path(path)
    fmt, gz = output_format(path)
    if path.parent and not path.parent.exists():
        raise LastmileError(f"{path.parent}: no such folder")
    arrow = _as_arrow(log)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("ev", arrow)
    attrs = [quote(a) for a in log.attributes]
    if fmt == "xes":
        case_attrs = {a: a for a in log.case_attributes}
        cols = ["case_id", "activity", "timestamp", "resource", *log.attributes]
        with open_text(str(path), gz) as out:
            rows = (dict(zip(cols, r, strict=True))
                    for batch in arrow.select(cols).to_batches(50_000)
                    for r in zip(*(c.to_pylist() for c in batch.columns), strict=True))
            write_xes_rows(rows, out, case_key="case_id", case_attributes=case_attrs)
        return path
    if fmt == "parquet":
        query = "SELECT * EXCLUDE (event_index) FROM ev"
    else:
        ts = "strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp"
        others = [f"strftime({a}, '%Y-%m-%dT%H:%M:%S.%fZ') AS {a}"
                  if log.attributes[a.strip('"').replace('""', '"')].dtype == "time" else a
                  for a in attrs]
        query = f"SELECT case_id, activity, {ts}, resource{', ' if others else ''}" \
                f"{', '.join(others)} FROM ev"
    _copy(con, query, path, fmt, gz)
    return path


def default_quarantine_path(src: Source) -> Path:
    """``<stem>.quarantine.<ext>`` in the current folder (the input may be read-only)."""
    name = src.path.name if src.path else "log.csv"
    stem = name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".parquet", ".xes", ".jsonl", ".ndjson",
                   ".json"):
        stem = stem.removesuffix(suffix)
    ext = {"csv": ".csv", "parquet": ".parquet", "xes": ".xes", "jsonl": ".jsonl"}.get(
        src.format, ".csv")
    return Path(f"{stem}.quarantine{ext}")


def write_quarantine(log: Log, path: str | Path | None, src: Source | None = None) -> Path | None:
    """Write the quarantined rows (original values, ``reason``) in the input's format.

    Returns the path, or ``None`` when there is nothing to write.
    """
    if log.quarantine is None or not log.accounting.quarantined:
        return None
    src = src or Source("csv")
    target = Path(path) if path else default_quarantine_path(src)
    arrow = log.quarantine.to_pyarrow()
    con = duckdb.connect()
    con.register("q", arrow)
    fmt = src.format if src.format in ("parquet", "jsonl", "xes") else "csv"
    if fmt == "xes":
        case_key = log.mapping.case
        case_cols: dict[str, Any] = {c: c.removeprefix("case:") for c in arrow.column_names
                                     if c.startswith("case:") and c != case_key}
        keys = {c: c for c in arrow.column_names}
        rows = (dict(zip(arrow.column_names, r, strict=True))
                for r in zip(*(c.to_pylist() for c in arrow.columns), strict=True))
        with open_text(str(target), target.suffix == ".gz") as out:
            write_xes_rows(rows, out, case_key=case_key, case_attributes=case_cols, keys=keys)
    else:
        delimiter = getattr(src, "options", {}).get("delimiter", ",")
        _copy(con, "SELECT * FROM q", target, fmt, False, delimiter)
    log.quarantine_file = target
    return target
