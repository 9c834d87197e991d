"""Raw readers: bring the rows of a source into a DuckDB table, as they are.

Each reader creates the table ``__raw`` (one row per record, source columns, plus ``__row``,
the record's position in the source) and returns a :class:`Raw` that says what was read and
which records could not even be split into fields (wrong number of fields, broken JSON, bad
encoding). Those go to quarantine with the original text; nothing is dropped here.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from lastmile.errors import LastmileError
from lastmile.io.sources import Source, detect_delimiter, detect_encoding, read_sample

RAW = "__raw"


@dataclass
class Reject:
    """A record that could not be split into fields: where, why, and its original text."""

    line: int | None
    reason: str
    raw: str


@dataclass
class Raw:
    """What a raw reader produced."""

    columns: list[str]
    rejects: list[Reject] = field(default_factory=list)
    case_columns: set[str] = field(default_factory=set)  # known case-level (XES ``case:``)
    delimiter: str = ","
    encoding: str = "utf-8"
    row_expr: str = "__row"  # SQL for the record's position in the source
    # set when ``__raw`` reads the file lazily: the message that starts a read error
    scan_error: str | None = None

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def quote(name: str) -> str:
    """Quote an identifier for DuckDB SQL.

    >>> quote('time:timestamp')
    '"time:timestamp"'
    >>> quote('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Forget ``__raw``, whether it is a table or an Arrow table registered as a view."""
    kinds = con.execute("SELECT table_type FROM information_schema.tables "
                        f"WHERE table_name = '{RAW}'").fetchall()
    if not kinds:
        return
    if kinds[0][0] == "BASE TABLE":
        con.execute(f"DROP TABLE {RAW}").fetchall()
    else:  # an Arrow table registered as a view, or a view over a Parquet file
        con.unregister(RAW)
        con.execute(f"DROP VIEW IF EXISTS {RAW}").fetchall()


def _columns(con: duckdb.DuckDBPyConnection, row_column: str | None = "__row") -> list[str]:
    """The source's columns in ``__raw``: all but the row number the reader added."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {RAW}").fetchall()]
    return [c for c in cols if c != row_column]


def _numbered(con: duckdb.DuckDBPyConnection, table: pa.Table, **kwargs: Any) -> Raw:
    """Register an Arrow table as ``__raw`` (read in place, no copy) with its row numbers.

    The row-number column is ``__row``, or, if the source has a column of that name, a name
    with more leading underscores that it has not.

    >>> con = duckdb.connect()
    >>> raw = _numbered(con, pa.table({"__row": ["x", "y"]}))
    >>> raw.columns, raw.row_expr
    (['__row'], '"___row"')
    """
    name = "__row"
    while name in table.column_names:
        name = "_" + name
    table = table.append_column(name, pa.array(range(table.num_rows), pa.int64()))
    con.register(RAW, table)
    return Raw(_columns(con, name), row_expr=quote(name), **kwargs)


def read_raw(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """Dispatch on the source's format; the result is in table ``__raw``."""
    readers = {"csv": read_csv, "parquet": read_parquet, "xes": read_xes,
               "jsonl": read_jsonl, "frame": read_frame}
    return readers[src.format](con, src)


def read_csv(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """CSV/TSV with the delimiter and encoding detected; bad lines become rejects."""
    assert src.path is not None
    sample = read_sample(src.path, src.compressed)
    encoding = src.options.get("encoding") or detect_encoding(sample)
    text = sample.decode("utf-16" if encoding == "utf-16" else encoding, errors="replace")
    text = text.lstrip("\ufeff")
    delimiter = src.options.get("delimiter") or detect_delimiter(text)
    src.options.update(delimiter=delimiter, encoding=encoding)
    compression = "gzip" if src.compressed else "none"
    duck_encoding = {"utf-8": "utf-8", "latin-1": "latin-1", "utf-16": "utf-16"}[encoding]
    con.execute("DROP TABLE IF EXISTS __rejects; DROP TABLE IF EXISTS __reject_scans").fetchall()
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {RAW} AS
            SELECT * FROM read_csv(?, delim=?, all_varchar=true, quote='"',
                escape='"', encoding=?, compression=?, store_rejects=true,
                rejects_table='__rejects', rejects_scan='__reject_scans', auto_detect=false,
                columns=?, header=false, skip=1, null_padding=false)""",
            [str(src.path), delimiter, duck_encoding, compression,
             _header_columns(src, text, delimiter)],
        ).fetchall()
        rejects = con.execute(
            "SELECT line, error_type, any_value(csv_line), any_value(error_message) "
            "FROM __rejects GROUP BY line, error_type ORDER BY line"
        ).fetchall()
    except duckdb.Error as exc:
        raise _csv_error(src, exc) from None
    seen: set[int] = set()
    out: list[Reject] = []
    for line, kind, raw, message in rejects:
        if line in seen:
            continue
        seen.add(line)
        out.append(Reject(int(line), _reject_reason(kind, message), raw or ""))
    return Raw(_columns(con, None), out, delimiter=delimiter, encoding=encoding,
               row_expr="rowid")


def _header_columns(src: Source, text: str, delimiter: str) -> dict[str, str]:
    import csv
    import io

    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first or not any(h.strip() for h in first):
        raise LastmileError(f"{src.name}: the first line has no column names")
    names: dict[str, str] = {}
    for i, h in enumerate(first):
        name = h.strip() or f"column{i + 1}"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names[name] = "VARCHAR"
    return names


def _reject_reason(kind: str, message: str) -> str:
    kind = (kind or "").upper()
    if kind in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        found = message.rsplit("Found:", 1)[-1].strip() if "Found:" in message else "?"
        expected = message.split("Columns:", 1)[-1].split("Found")[0].strip()
        return f"wrong number of fields (expected {expected}, found {found})"
    if kind == "INVALID UNICODE":
        return "invalid text encoding"
    if kind == "UNQUOTED VALUE":
        return "badly quoted field"
    if kind == "LINE SIZE OVER MAXIMUM":
        return "line too long"
    return (kind or message or "unreadable line").lower()


def _csv_error(src: Source, exc: duckdb.Error) -> LastmileError:
    msg = str(exc).splitlines()[0]
    if "gzip" in msg.lower() or "GZIP" in msg:
        return LastmileError(f"{src.name}: the gzip file is truncated or corrupt ({msg})")
    return LastmileError(f"{src.name}: cannot read as CSV: {msg}")


def read_parquet(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """Parquet as typed columns, read in place through a view (no copy).

    The view numbers the rows in file order (``__row``), so the one scan that checks the
    rows also reads the file. A file with a column of that name is copied into a table.
    """
    path = "'" + str(src.path).replace("'", "''") + "'"
    try:
        names = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()]
        if "__row" in names or "file_row_number" in names:
            con.execute(f"CREATE OR REPLACE TABLE {RAW} AS SELECT * FROM read_parquet({path})"
                        ).fetchall()
            return Raw(_columns(con, None), row_expr="rowid")
        con.execute(
            f"CREATE OR REPLACE VIEW {RAW} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number AS __row FROM read_parquet({path}, file_row_number=true)"
        ).fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise LastmileError(f"{src.name}: cannot read as Parquet: {first}") from None
    return Raw(_columns(con), scan_error=f"{src.name}: cannot read as Parquet")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native code's own printing to stderr (rustxes prints its panics there)."""
    try:
        fd = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(fd, 2)
            os.close(fd)


def _xes_error(src: Source, exc: BaseException) -> LastmileError:
    text = str(exc)
    if "UnexpectedEof" in text:
        return LastmileError(f"{src.name}: the XES file ends too early (truncated)")
    if "NoTopLevelLog" in text:
        return LastmileError(f"{src.name}: not an XES file (no <log> element found)")
    if "XMLParsingError" in text or "Syntax" in text:
        detail = text.split("XMLParsingError", 1)[-1].strip("()")
        return LastmileError(f"{src.name}: malformed XML ({detail[:120]})")
    if "NotFound" in text:
        return LastmileError(f"{src.name}: no such file")
    return LastmileError(f"{src.name}: cannot read as XES ({text[:160]})")


def read_xes(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """XES / XES.gz through the Rust-based ``rustxes`` streaming parser."""
    import rustxes

    path = str(src.path)
    tmp: str | None = None
    if src.compressed and not path.lower().endswith(".gz"):
        # rustxes decides on compression by the name; give it one that says so
        fd, tmp = tempfile.mkstemp(suffix=".xes.gz")
        os.close(fd)
        Path(tmp).write_bytes(Path(path).read_bytes())
        path = tmp
    try:
        with _quiet_stderr():
            frame = rustxes.import_xes(path)[0]
    except BaseException as exc:  # rustxes raises a PanicException (a BaseException)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise _xes_error(src, exc) from None
    finally:
        if tmp:
            os.unlink(tmp)
    arrow = frame.to_arrow()
    # rustxes returns the columns in a different order on every run: make it reproducible
    arrow = arrow.select(sorted(arrow.column_names))
    return _numbered(con, arrow,
                     case_columns={c for c in arrow.column_names if c.startswith("case:")})


def _iter_lines(src: Source) -> Iterator[bytes]:
    assert src.path is not None
    opener: Any = gzip.open if src.compressed else open
    with opener(src.path, "rb") as fh:
        yield from fh


def read_jsonl(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """JSON lines: one object per line; lines that are not a JSON object are rejected."""
    rows: list[dict[str, str | None]] = []
    rejects: list[Reject] = []
    order: dict[str, None] = {}
    for n, line in enumerate(_iter_lines(src), start=1):
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(n, f"invalid JSON ({exc.msg})", text))
            continue
        if not isinstance(obj, dict):
            rejects.append(Reject(n, "not a JSON object", text))
            continue
        row: dict[str, str | None] = {}
        for k, v in obj.items():
            order.setdefault(k, None)
            if v is None:
                row[k] = None
            elif isinstance(v, str):
                row[k] = v
            elif isinstance(v, bool):
                row[k] = "true" if v else "false"
            elif isinstance(v, int | float):
                row[k] = repr(v)
            else:
                row[k] = json.dumps(v, ensure_ascii=False)
        rows.append(row)
    if not rows and not rejects:
        raise LastmileError(f"{src.name}: the file has no JSON records")
    names = list(order)
    table = pa.table({k: pa.array([r.get(k) for r in rows], pa.string()) for k in names})
    return _numbered(con, table, rejects=rejects)


def read_frame(con: duckdb.DuckDBPyConnection, src: Source) -> Raw:
    """A pandas or Polars DataFrame (or Arrow table) handed over in Python."""
    frame = src.frame
    mod = type(frame).__module__
    if mod.startswith("polars"):
        table = frame.to_arrow()
    elif mod.startswith("pyarrow"):
        table = frame
    else:
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda v: v if v is None or isinstance(v, str)
                                            else (None if v != v else str(v)))
        table = pa.Table.from_pandas(frame, preserve_index=False)
    if table.num_columns == 0:
        raise LastmileError("the DataFrame has no columns")
    return _numbered(con, table)
