"""From raw rows to the event table: map columns, parse times, quarantine, type attributes.

This is the one validation path every file and DataFrame goes through (databases that
already hold a normalised table skip it). It runs as SQL inside DuckDB so that ten million
events never pass through Python one by one.

The result is the table ``events`` (see ``docs/contracts.md``) and the table ``quarantine``
(the unusable rows with their original values and a ``reason``), and an :class:`Accounting`
in which ``read == loaded + quarantined + filtered + deduplicated`` always holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from lastmile.errors import LastmileError
from lastmile.io.columns import ColumnMapping, detect_mapping
from lastmile.io.readers import RAW, Raw, drop_raw, quote
from lastmile.io.timestamps import TimeFormat, detect_format, parse_sql, utc_sql

CORE = ("case_id", "activity", "timestamp", "resource", "event_index")
STANDARD_LIFECYCLE = {
    "schedule", "assign", "reassign", "start", "suspend", "resume", "complete", "autoskip",
    "manualskip", "abort", "ate_abort", "pi_abort", "withdraw", "unknown",
}


@dataclass
class Attribute:
    """An attribute column of the event table."""

    name: str
    source: str
    kind: str  # 'case' or 'event'
    dtype: str  # 'number', 'category', 'bool' or 'time'
    cardinality: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Accounting:
    """Where every row read went: ``read == loaded + quarantined + filtered + deduplicated``."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    filtered: int = 0
    deduplicated: int = 0
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    filter_rule: str | None = None

    @property
    def balanced(self) -> bool:
        """True when every row read is accounted for."""
        return self.read == self.loaded + self.quarantined + self.filtered + self.deduplicated

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}


@dataclass
class Options:
    """How to read a log; every field has a command-line flag of the same name."""

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    resource: str | None = None
    lifecycle_column: str | None = None
    dayfirst: bool | None = None
    tz: str = "UTC"
    lifecycle: str | Sequence[str] = "auto"  # 'auto', 'all', or values to keep
    dedupe: bool = False


@dataclass
class Normalised:
    mapping: ColumnMapping
    time_format: TimeFormat
    attributes: dict[str, Attribute]
    accounting: Accounting
    warnings: list[str]


def _dtype_of(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith(("TIMESTAMP", "DATE", "TIME")):
        return "time"
    if t == "BOOLEAN":
        return "bool"
    if any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT",
                                      "DOUBLE", "DECIMAL", "REAL")):
        return "number"
    return "category"


def _time_sql(col: str, duck_type: str, fmt: TimeFormat, tz: str) -> str:
    q = quote(col)
    t = duck_type.upper()
    if t == "TIMESTAMP WITH TIME ZONE":
        return utc_sql(q)
    if t.startswith("TIMESTAMP") or t == "DATE":
        base = f"CAST({q} AS TIMESTAMP)"
        return base if tz.upper() == "UTC" else utc_sql(f"timezone('{tz}', {base})")
    if _dtype_of(t) == "number":
        if fmt.kind == "epoch_ms":
            return f"epoch_ms(CAST({q} AS BIGINT))"
        return utc_sql(f"to_timestamp(CAST({q} AS DOUBLE))")
    return parse_sql(q, fmt, tz)


def _blank_to_null(sql: str) -> str:
    """SQL for the value of ``sql`` as trimmed text, NULL when that is empty."""
    return f"NULLIF(trim(CAST({sql} AS VARCHAR)), '')"


def _text(col: str, duck_type: str = "VARCHAR") -> str:
    """SQL for a column's value as trimmed text, NULL when empty.

    Typed values (numbers, times, booleans) never have blanks to trim. Text is only trimmed
    when its first or last character is not printable ASCII other than a space: the same
    result as trimming every value (DuckDB's ``trim`` removes Unicode spaces only), without
    building a new string for nearly every value.
    """
    v = f"CAST({quote(col)} AS VARCHAR)"
    if _dtype_of(duck_type) != "category":
        return v
    return (f"CASE WHEN ascii({v}) BETWEEN 33 AND 126 AND ascii({v}[-1]) BETWEEN 33 AND 126 "
            f"THEN {v} ELSE {_blank_to_null(v)} END")


def _in_order(
    con: duckdb.DuckDBPyConnection, case_sql: str, ts_sql: str, row: str, batch_rows: int = 1 << 20
) -> bool:
    """True when the source already lists its rows by case id, then time (no NULLs).

    Checked batch by batch on the derived values in scan order, stopping at the first row
    out of order, so an unordered source costs little. Text is compared byte by byte, as
    DuckDB's ``ORDER BY`` does, and the row numbers must increase, so that a source that
    passes is exactly in the order ``ORDER BY case_id, timestamp, event_index`` gives.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    reader = con.execute(f"SELECT {case_sql} AS c, {ts_sql} AS t, {row} AS r FROM {RAW}"
                         ).fetch_record_batch(batch_rows)
    prev: list[Any] | None = None
    try:
        for batch in reader:
            cols = [batch.column(i) for i in range(3)]
            if any(x.null_count for x in cols):
                return False
            if prev is not None:  # the previous batch's last row goes first
                cols = [pa.concat_arrays([p, x]) for p, x in zip(prev, cols, strict=True)]
            n = len(cols[0])
            if n == 0:
                continue
            prev = [x.slice(n - 1, 1) for x in cols]
            a, b = [x.slice(0, n - 1) for x in cols], [x.slice(1) for x in cols]
            later = pc.less(a[2], b[2])
            later = pc.or_(pc.less(a[1], b[1]), pc.and_(pc.equal(a[1], b[1]), later))
            later = pc.or_(pc.less(a[0], b[0]), pc.and_(pc.equal(a[0], b[0]), later))
            if not pc.all(later).as_py():
                return False
    finally:
        reader.close()
    return True


CHECKED = "__checked"  # every row read, checked and sorted; becomes ``events``


def normalise(
    con: duckdb.DuckDBPyConnection,
    raw: Raw,
    opts: Options,
    step: Callable[[str], None] = lambda _: None,
) -> Normalised:
    """Build ``events`` and ``quarantine`` from ``__raw``; see the module docstring.

    One scan of the source derives the core columns and each row's quarantine reason and
    writes every row, in the event table's order, to ``__checked`` (sorted only when the
    source is not in that order already). The later checks read that table (the reasons,
    the distinct values of each attribute, hashes of neighbouring rows) and ``__checked``
    becomes ``events`` in place when few rows have to go.
    """
    warnings: list[str] = []
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {RAW})").fetchall())
    mapping = detect_mapping(
        raw.columns, case=opts.case, activity=opts.activity, timestamp=opts.timestamp,
        resource=opts.resource, lifecycle=opts.lifecycle_column,
    )
    con.execute(f"SET TimeZone='{opts.tz}'").fetchall()
    step("parsing timestamps")
    ts_type = types[mapping.timestamp].upper()
    if _dtype_of(ts_type) == "category":
        sample = [r[0] for r in con.execute(
            f"SELECT DISTINCT {_text(mapping.timestamp, ts_type)} FROM "
            f"(SELECT * FROM {RAW} LIMIT 20000) "
            f"WHERE {_text(mapping.timestamp, ts_type)} IS NOT NULL LIMIT 1000").fetchall()]
        fmt = detect_format(sample, dayfirst=opts.dayfirst)
        if fmt.ambiguous:
            warnings.append(
                f"timestamps like {sample[0]!r} fit both day-first and month-first; read them "
                f"month-first ({fmt.strptime}); pass --dayfirst if the day comes first"
            )
        # the text itself: 'missing' when empty, and kept for the quarantine
        ts_raw = _text(mapping.timestamp, ts_type)
    else:
        if _dtype_of(ts_type) == "number":
            ts_col = quote(mapping.timestamp)
            biggest = con.execute(f"SELECT max(abs({ts_col})) FROM {RAW}").fetchall()[0]
            fmt = TimeFormat("epoch_ms" if biggest and (biggest[0] or 0) > 1e11 else "epoch_s")
        else:
            fmt = TimeFormat("native")
        # a typed value is missing only when NULL; its text is needed for quarantined rows only
        ts_raw = quote(mapping.timestamp)
    ts_sql = _time_sql(mapping.timestamp, ts_type, fmt, opts.tz)

    attr_sources = [c for c in raw.columns if c not in mapping.used]
    names = _attribute_names(attr_sources, raw.case_columns)
    row = raw.row_expr
    select_attrs = "".join(f", {quote(src)} AS {quote(dst)}" for src, dst in names.items())
    keep_attrs = "".join(f", {quote(dst)}" for dst in names.values())
    res = _text(mapping.resource, types[mapping.resource]) if mapping.resource \
        else "CAST(NULL AS VARCHAR)"
    case_sql = _text(mapping.case, types[mapping.case])
    try:
        # a source already in the event table's order is not sorted again
        order = "" if _in_order(con, case_sql, ts_sql, row) \
            else "ORDER BY case_id, timestamp, event_index"
        con.execute(f"""
            CREATE OR REPLACE TABLE {CHECKED} AS
            SELECT case_id, activity, timestamp, resource, event_index{keep_attrs}, __ts_raw,
                CASE
                  WHEN case_id IS NULL THEN 'missing case id'
                  WHEN activity IS NULL THEN 'missing activity'
                  WHEN __ts_raw IS NULL THEN 'missing timestamp'
                  WHEN timestamp IS NULL THEN 'unparseable timestamp'
                END AS __reason
            FROM (
                SELECT {row} AS event_index, {case_sql} AS case_id,
                       {_text(mapping.activity, types[mapping.activity])} AS activity,
                       {ts_sql} AS timestamp,
                       {res} AS resource, {ts_raw} AS __ts_raw{select_attrs}
                FROM {RAW})
            {order}
        """).fetchall()
    except duckdb.Error as exc:
        if raw.scan_error is None:
            raise
        first = str(exc).splitlines()[0]
        raise LastmileError(f"{raw.scan_error}: {first}") from None

    step("checking rows")
    raw_rows = con.execute(f"SELECT count(*) FROM {CHECKED}").fetchall()[0][0]  # type: ignore[index]
    drop_raw(con)
    _build_quarantine(con, raw, names, mapping)
    reasons = dict(con.execute(
        "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC, 1").fetchall())
    quarantined = sum(reasons.values())
    acc = Accounting(read=raw_rows + raw.rejected, quarantined=quarantined, reasons=reasons)

    step("filtering lifecycle")
    keep_sql, rule = _lifecycle_filter(con, mapping, names, opts.lifecycle)
    acc.filter_rule = rule
    where = "__reason IS NULL" + (f" AND ({keep_sql})" if keep_sql else "")
    if keep_sql:
        acc.filtered = con.execute(  # type: ignore[index]
            f"SELECT count(*) FROM {CHECKED} WHERE __reason IS NULL AND NOT ({keep_sql})"
        ).fetchall()[0][0]

    step("typing attributes")
    attrs = _type_attributes(con, names, types, raw.case_columns, where)
    step("storing events")
    key = ", ".join(["case_id", "activity", "timestamp", "resource",
                     *[quote(a) for a in attrs]])
    acc.duplicates = _count_duplicates(con, key, where)
    if opts.dedupe and acc.duplicates:
        acc.deduplicated = acc.duplicates
    _store_events(con, attrs, types, where, key if acc.deduplicated else None,
                  removed=quarantined + acc.filtered + acc.deduplicated, rows=raw_rows)
    acc.loaded = con.execute("SELECT count(*) FROM events").fetchall()[0][0]  # type: ignore[index]
    assert acc.balanced, acc
    if acc.duplicates and not opts.dedupe:
        warnings.append(f"{acc.duplicates:,} events are exact duplicates of another "
                        "(kept; pass --dedupe to drop them)")
    return Normalised(mapping, fmt, attrs, acc, warnings)


def _count_duplicates(con: duckdb.DuckDBPyConnection, key: str, where: str) -> int:
    """Events that repeat another one exactly (all columns but ``event_index``).

    Two equal events have the same case and time, so in ``__checked`` (sorted by case, time
    and position) they lie in one run of rows that share case and time. Such runs show up
    as neighbours with the same hash of (case, time), found in one pass over the hashes in
    table order; only the rows of those runs are then compared column by column, so a hash
    collision can only add rows to compare, never change the count.
    """
    import numpy as np
    import pyarrow as pa

    hashes = con.execute(f"SELECT hash(case_id, timestamp) AS h FROM {CHECKED} WHERE {where}"
                         ).fetch_arrow_table().column(0).to_numpy()
    same = hashes[1:] == hashes[:-1]
    if not same.any():
        return 0
    con.register("__ties", pa.table({"h": np.unique(hashes[1:][same])}))
    try:
        return int(con.execute(f"""
            SELECT coalesce(sum(n - 1), 0) FROM (
                SELECT count(*) AS n FROM {CHECKED}
                WHERE {where} AND hash(case_id, timestamp) IN (SELECT h FROM __ties)
                GROUP BY {key} HAVING count(*) > 1)
        """).fetchall()[0][0])  # type: ignore[index]
    finally:
        con.unregister("__ties")


def _store_events(
    con: duckdb.DuckDBPyConnection,
    attrs: dict[str, Attribute],
    types: dict[str, str],
    where: str,
    dedupe_key: str | None,
    removed: int,
    rows: int,
) -> None:
    """Turn ``__checked`` into ``events``: drop the unusable rows, type the attributes.

    ``__checked`` is already in the event table's order. When few rows go (the usual case)
    they are deleted and the table is renamed, which copies nothing; otherwise the kept rows
    are copied (a filter keeps the order). Dropping duplicates re-sorts.
    """
    convert = {name: c for name, a in attrs.items()
               if (c := _conversion(a, types[a.source])) is not None}
    con.execute("DROP TABLE IF EXISTS events").fetchall()
    if dedupe_key is None and removed <= rows // 10:
        if removed:
            con.execute(f"DELETE FROM {CHECKED} WHERE ({where}) IS NOT TRUE").fetchall()
        for name, (sql, duck_type) in convert.items():
            q = quote(name)
            con.execute(f"ALTER TABLE {CHECKED} ALTER COLUMN {q} TYPE {duck_type} "
                        f"USING {sql}").fetchall()
        con.execute(f"ALTER TABLE {CHECKED} DROP COLUMN __ts_raw").fetchall()
        con.execute(f"ALTER TABLE {CHECKED} DROP COLUMN __reason").fetchall()
        con.execute(f"ALTER TABLE {CHECKED} RENAME TO events").fetchall()
        return
    cols = ", ".join(["case_id", "activity", "timestamp", "resource", "event_index",
                      *[f"{convert[n][0]} AS {quote(n)}" if n in convert else quote(n)
                        for n in attrs]])
    body = f"SELECT {cols} FROM {CHECKED} WHERE {where}"
    if dedupe_key is not None:
        body += (f" QUALIFY row_number() OVER (PARTITION BY {dedupe_key} "
                 "ORDER BY event_index) = 1 ORDER BY case_id, timestamp, event_index")
    con.execute(f"CREATE TABLE events AS {body}").fetchall()
    con.execute(f"DROP TABLE {CHECKED}").fetchall()


def _attribute_names(sources: list[str], case_columns: set[str]) -> dict[str, str]:
    """Source column -> attribute name (``case:`` prefix dropped, clashes renamed)."""
    out: dict[str, str] = {}
    used = set(CORE)
    plain = {s for s in sources if not s.startswith("case:")}
    for src in sources:
        name = src
        if src.startswith("case:") and src in case_columns:
            stripped = src[len("case:"):]
            if stripped and stripped not in plain:
                name = stripped
        base, n = name, 1
        while name in used or name.startswith("__"):
            n += 1
            name = f"{base.lstrip('_')}_{n}"
        used.add(name)
        out[src] = name
    return out


def _build_quarantine(
    con: duckdb.DuckDBPyConnection, raw: Raw, names: dict[str, str], mapping: ColumnMapping
) -> None:
    """Table ``quarantine``: original columns as text, ``reason``, and ``line``/``raw_line``."""
    src_cols = list(raw.columns)
    # the original values, by source column name, as text
    exprs = []
    for col in src_cols:
        if col in names:
            exprs.append(f"CAST({quote(names[col])} AS VARCHAR) AS {quote(col)}")
    core = {mapping.case: "case_id", mapping.activity: "activity",
            mapping.timestamp: "__ts_raw"}
    if mapping.resource:
        core[mapping.resource] = "resource"
    for src, dst in core.items():
        exprs.append(f"CAST({dst} AS VARCHAR) AS {quote(src)}")
    ordered = ", ".join(quote(c) for c in src_cols)
    extra = ", CAST(NULL AS BIGINT) AS line, CAST(NULL AS VARCHAR) AS raw_line" \
        if raw.rejects else ""
    con.execute(f"""CREATE OR REPLACE TABLE quarantine AS
        SELECT {ordered}, reason{extra} FROM (
            SELECT {', '.join(exprs)}, __reason AS reason, event_index
            FROM {CHECKED} WHERE __reason IS NOT NULL) ORDER BY event_index""").fetchall()
    if raw.rejects:
        import pyarrow as pa

        tbl = pa.table({
            "reason": [r.reason for r in raw.rejects],
            "line": pa.array([r.line for r in raw.rejects], pa.int64()),
            "raw_line": [r.raw for r in raw.rejects],
        })
        con.register("__rej", tbl)
        con.execute("INSERT INTO quarantine BY NAME SELECT * FROM __rej").fetchall()
        con.unregister("__rej")


def _lifecycle_filter(
    con: duckdb.DuckDBPyConnection,
    mapping: ColumnMapping,
    names: dict[str, str],
    mode: str | Sequence[str],
) -> tuple[str | None, str | None]:
    """SQL condition that keeps the wanted lifecycle transitions, and a description of it."""
    if not mapping.lifecycle or mode == "all":
        return None, None
    col = quote(names[mapping.lifecycle])
    low = f"lower(trim(CAST({col} AS VARCHAR)))"
    if mode != "auto":
        wanted = [mode] if isinstance(mode, str) else list(mode)
        vals = ", ".join("'" + w.lower().replace("'", "''") + "'" for w in wanted)
        return f"{col} IS NULL OR {low} IN ({vals})", f"lifecycle in ({', '.join(wanted)})"
    values = {r[0] for r in con.execute(
        f"SELECT DISTINCT {low} FROM {CHECKED} WHERE __reason IS NULL AND {col} IS NOT NULL"
    ).fetchall()}
    if "complete" in values and values <= STANDARD_LIFECYCLE and len(values) > 1:
        return f"{col} IS NULL OR {low} = 'complete'", "lifecycle = complete"
    return None, None


def _value_stats(
    con: duckdb.DuckDBPyConnection, table: str, where: str, cols: dict[str, str],
    types: dict[str, str],
) -> dict[str, tuple[int, ...]]:
    """Per column of ``table`` (SQL -> source column): distinct values and how they read.

    Gives ``(cardinality, text, number, integer, bool, time)``: the numbers of distinct
    non-NULL values, and of those that are non-empty text, read as a number, are whole
    numbers, are true/false, and are ISO dates. All columns' distinct values come from one
    scan (grouping sets); each distinct value is on exactly one row of that result.
    """
    if not cols:
        return {}
    sets = ", ".join(f"({c})" for c in cols)
    distinct = (f"SELECT {', '.join(cols)} FROM {table} WHERE {where} "
                f"GROUP BY GROUPING SETS ({sets})")
    parts: list[str] = []
    for c, src in cols.items():
        parts.append(f"count({c})")
        if _dtype_of(types[src]) == "category":
            text = _blank_to_null(c)
            parts += [
                f"count({text})",
                f"count(TRY_CAST({text} AS DOUBLE))",
                f"count(CASE WHEN regexp_full_match({text}, '[+-]?[0-9]{{1,18}}') "
                f"THEN 1 END)",
                f"count(CASE WHEN lower({text}) IN ('true', 'false') THEN 1 END)",
                f"count(CASE WHEN regexp_matches({text}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}') "
                f"THEN TRY_CAST({text} AS TIMESTAMPTZ) END)",
            ]
        else:
            parts += ["0", "0", "0", "0", "0"]
    stats = con.execute(f"SELECT {', '.join(parts)} FROM ({distinct})").fetchall()[0]
    assert stats is not None
    return {c: tuple(int(v or 0) for v in stats[i * 6: i * 6 + 6]) for i, c in enumerate(cols)}


def _type_attributes(
    con: duckdb.DuckDBPyConnection,
    names: dict[str, str],
    types: dict[str, str],
    case_columns: set[str],
    where: str,
) -> dict[str, Attribute]:
    """Infer each attribute's type and whether it is constant within every case.

    A typed column (number, bool, time) keeps its type. A text column becomes a number, a
    bool or a time when every one of its values reads as one. Both questions are answered
    on distinct values, which gives the same answer as looking at every row at a fraction
    of the cost: one grouping by case gives each attribute's smallest and largest value per
    case (equal in every case: constant); a constant attribute's values are then exactly
    its per-case values, so its distinct values are read from the cases, not the events.
    """
    if not names:
        return {}
    # known case attributes (XES trace attributes) are not checked
    srcs = [s for s in names if s not in case_columns]
    constant: dict[str, bool] = {}
    try:
        if srcs:
            minmax = ", ".join(f"min({quote(names[s])}) AS __min{i}, "
                               f"max({quote(names[s])}) AS __max{i}"
                               for i, s in enumerate(srcs))
            con.execute(f"CREATE OR REPLACE TEMP TABLE __cases AS SELECT {minmax} "
                        f"FROM {CHECKED} WHERE {where} GROUP BY case_id").fetchall()
            same = ", ".join(f"bool_and(__min{i} IS NOT DISTINCT FROM __max{i})"
                             for i in range(len(srcs)))
            got = con.execute(f"SELECT {same} FROM __cases").fetchall()[0]
            # no case at all (NULL): constant, as there is no case to disagree
            constant = {s: bool(ok) if ok is not None else True
                        for s, ok in zip(srcs, got, strict=True)}
        per_case = {f"__min{i}": s for i, s in enumerate(srcs) if constant[s]}
        per_row = {quote(d): s for s, d in names.items() if not constant.get(s, False)}
        stats = {per_case[c]: v for c, v in
                 _value_stats(con, "__cases", "true", per_case, types).items()}
        stats |= {per_row[c]: v for c, v in
                  _value_stats(con, CHECKED, where, per_row, types).items()}
    finally:
        con.execute("DROP TABLE IF EXISTS __cases").fetchall()
    out: dict[str, Attribute] = {}
    for src, dst in names.items():
        card, nn, num, integer, boolean, time = stats[src]
        native = _dtype_of(types[src])
        if native != "category":
            dtype = native
        elif nn and integer == nn:
            dtype = "integer"
        elif nn and num == nn:
            dtype = "number"
        elif nn and boolean == nn:
            dtype = "bool"
        elif nn and time == nn:
            dtype = "time"
        else:
            dtype = "category"
        kind = "case" if src in case_columns or constant[src] else "event"
        out[dst] = Attribute(dst, src, kind, dtype, card)
    return out


def _conversion(attr: Attribute, native_type: str) -> tuple[str, str] | None:
    """SQL and DuckDB type that give the attribute its inferred type, or None to keep it.

    Text columns only are converted (and time zone aware times to UTC wall times).
    """
    q = quote(attr.name)
    t = native_type.upper()
    if t == "TIMESTAMP WITH TIME ZONE":
        return utc_sql(q), "TIMESTAMP"
    if _dtype_of(t) != "category":
        return None
    text = _blank_to_null(q)
    if attr.dtype == "integer":
        attr.dtype = "number"
        return f"CAST({text} AS BIGINT)", "BIGINT"
    if attr.dtype == "number":
        return f"CAST({text} AS DOUBLE)", "DOUBLE"
    if attr.dtype == "bool":
        return f"CAST({text} AS BOOLEAN)", "BOOLEAN"
    if attr.dtype == "time":
        return utc_sql(f"CAST({text} AS TIMESTAMPTZ)"), "TIMESTAMP"
    return None
