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


def _text(col: str) -> str:
    return f"NULLIF(trim(CAST({quote(col)} AS VARCHAR)), '')"


def normalise(
    con: duckdb.DuckDBPyConnection,
    raw: Raw,
    opts: Options,
    step: Callable[[str], None] = lambda _: None,
) -> Normalised:
    """Build ``events`` and ``quarantine`` from ``__raw``; see the module docstring."""
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
            f"SELECT DISTINCT {_text(mapping.timestamp)} FROM (SELECT * FROM {RAW} LIMIT 20000) "
            f"WHERE {_text(mapping.timestamp)} IS NOT NULL LIMIT 1000").fetchall()]
        fmt = detect_format(sample, dayfirst=opts.dayfirst)
        if fmt.ambiguous:
            warnings.append(
                f"timestamps like {sample[0]!r} fit both day-first and month-first; read them "
                f"month-first ({fmt.strptime}); pass --dayfirst if the day comes first"
            )
    elif _dtype_of(ts_type) == "number":
        ts_col = quote(mapping.timestamp)
        biggest = con.execute(f"SELECT max(abs({ts_col})) FROM {RAW}").fetchall()[0]
        fmt = TimeFormat("epoch_ms" if biggest and (biggest[0] or 0) > 1e11 else "epoch_s")
    else:
        fmt = TimeFormat("native")
    ts_sql = _time_sql(mapping.timestamp, ts_type, fmt, opts.tz)

    attr_sources = [c for c in raw.columns if c not in mapping.used]
    names = _attribute_names(attr_sources, raw.case_columns)
    row = raw.row_expr
    select_attrs = ", ".join(f"{quote(src)} AS {quote(dst)}" for src, dst in names.items())
    res = f"{_text(mapping.resource)}" if mapping.resource else "CAST(NULL AS VARCHAR)"
    ts_raw = _text(mapping.timestamp)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __checked AS
        SELECT *, CASE
              WHEN case_id IS NULL THEN 'missing case id'
              WHEN activity IS NULL THEN 'missing activity'
              WHEN __ts_raw IS NULL THEN 'missing timestamp'
              WHEN timestamp IS NULL THEN 'unparseable timestamp'
            END AS __reason
        FROM (
            SELECT {row} AS event_index, {_text(mapping.case)} AS case_id,
                   {_text(mapping.activity)} AS activity, {ts_sql} AS timestamp,
                   {res} AS resource, {ts_raw} AS __ts_raw
                   {", " + select_attrs if select_attrs else ""}
            FROM {RAW})
    """).fetchall()

    step("checking rows")
    raw_rows = con.execute(f"SELECT count(*) FROM {RAW}").fetchall()[0][0]  # type: ignore[index]
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
            f"SELECT count(*) FROM __checked WHERE __reason IS NULL AND NOT ({keep_sql})"
        ).fetchall()[0][0]

    step("typing attributes")
    attrs = _type_attributes(con, names, types, raw.case_columns, where)
    cols = ["case_id", "activity", "timestamp", "resource", "event_index"]
    attr_select = ", ".join(_cast(a, types[a.source]) for a in attrs.values())
    body = f"SELECT {', '.join(cols)}{', ' + attr_select if attr_select else ''} " \
           f"FROM __checked WHERE {where}"
    step("storing events")
    key = ", ".join(["case_id", "activity", "timestamp", "resource",
                     *[quote(a) for a in attrs]])
    acc.duplicates = int(con.execute(  # type: ignore[index]
        f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM __checked "
        f"WHERE {where} GROUP BY {key} HAVING count(*) > 1)").fetchall()[0][0])
    dedupe = ""
    if opts.dedupe and acc.duplicates:
        dedupe = f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY event_index) = 1"
        acc.deduplicated = acc.duplicates
    con.execute(f"""CREATE OR REPLACE TABLE events AS
        {body} {dedupe} ORDER BY case_id, timestamp, event_index""").fetchall()
    acc.loaded = con.execute("SELECT count(*) FROM events").fetchall()[0][0]  # type: ignore[index]
    con.execute("DROP TABLE IF EXISTS __checked").fetchall()
    assert acc.balanced, acc
    if acc.duplicates and not opts.dedupe:
        warnings.append(f"{acc.duplicates:,} events are exact duplicates of another "
                        "(kept; pass --dedupe to drop them)")
    return Normalised(mapping, fmt, attrs, acc, warnings)


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
            FROM __checked WHERE __reason IS NOT NULL) ORDER BY event_index""").fetchall()
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
        f"SELECT DISTINCT {low} FROM __checked WHERE __reason IS NULL AND {col} IS NOT NULL"
    ).fetchall()}
    if "complete" in values and values <= STANDARD_LIFECYCLE and len(values) > 1:
        return f"{col} IS NULL OR {low} = 'complete'", "lifecycle = complete"
    return None, None


def _type_attributes(
    con: duckdb.DuckDBPyConnection,
    names: dict[str, str],
    types: dict[str, str],
    case_columns: set[str],
    where: str,
) -> dict[str, Attribute]:
    """Infer each attribute's type and whether it is constant within every case."""
    if not names:
        return {}
    parts: list[str] = []
    for src, dst in names.items():
        q = quote(dst)
        text = f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"
        if _dtype_of(types[src]) == "category":
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
            parts += [f"count({q})", "0", "0", "0", "0"]
        parts.append(f"count(DISTINCT {q})")
    stats = con.execute(f"SELECT {', '.join(parts)} FROM __checked WHERE {where}").fetchall()[0]
    assert stats is not None
    todo = [(i, dst) for i, (src, dst) in enumerate(names.items()) if src not in case_columns]
    constant: list[bool] = [True] * len(names)
    if todo:
        per_case = ", ".join(f"bool_and(c{i})" for i, _ in todo)
        same = ", ".join(f"min({quote(dst)}) IS NOT DISTINCT FROM max({quote(dst)}) AS c{i}"
                         for i, dst in todo)
        got = con.execute(
            f"SELECT {per_case} FROM (SELECT case_id, {same} FROM __checked WHERE {where} "
            "GROUP BY case_id)").fetchall()[0]
        for (i, _), ok in zip(todo, got, strict=True):
            constant[i] = bool(ok) if ok is not None else True
    out: dict[str, Attribute] = {}
    for i, (src, dst) in enumerate(names.items()):
        nn, num, integer, boolean, time, card = stats[i * 6: i * 6 + 6]
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
        kind = "case" if src in case_columns or bool(constant[i]) else "event"
        out[dst] = Attribute(dst, src, kind, dtype, int(card or 0))
    return out


def _cast(attr: Attribute, native_type: str) -> str:
    """SQL that gives the attribute its inferred type (text columns only are converted)."""
    q = quote(attr.name)
    t = native_type.upper()
    if t == "TIMESTAMP WITH TIME ZONE":
        return f"{utc_sql(q)} AS {q}"
    if _dtype_of(t) != "category":
        return q
    text = f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"
    if attr.dtype == "integer":
        attr.dtype = "number"
        return f"CAST({text} AS BIGINT) AS {q}"
    if attr.dtype == "number":
        return f"CAST({text} AS DOUBLE) AS {q}"
    if attr.dtype == "bool":
        return f"CAST({text} AS BOOLEAN) AS {q}"
    if attr.dtype == "time":
        return f"{utc_sql(f'CAST({text} AS TIMESTAMPTZ)')} AS {q}"
    return q
