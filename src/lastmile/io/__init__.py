"""Reading and writing event logs: every entry point goes through :func:`read_log`.

>>> import pandas as pd
>>> from lastmile.io import read_log
>>> df = pd.DataFrame({"Case ID": ["1", "1", ""], "Activity": ["a", "b", "c"],
...                    "Complete Timestamp": ["2024-01-01T10:00:00Z", "not a time", "2024-01-02"]})
>>> log = read_log(df)
>>> log.accounting.loaded, log.accounting.quarantined, log.accounting.reasons
(1, 2, {'missing case id': 1, 'unparseable timestamp': 1})
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis

from lastmile.errors import LastmileError
from lastmile.io.database import open_database, save_log
from lastmile.io.normalize import Options, normalise
from lastmile.io.readers import read_raw
from lastmile.io.sources import Source, check_file
from lastmile.io.writers import write_log, write_quarantine
from lastmile.log import Log

__all__ = ["Options", "Source", "read_log", "save_log", "write_log", "write_quarantine"]


@contextlib.contextmanager
def _progress(enabled: bool, name: str) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _msg: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    steps = ["reading", "parsing timestamps", "checking rows", "filtering lifecycle",
             "typing attributes", "storing events"]
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} steps"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{name}: reading", total=len(steps))

        def step(msg: str) -> None:
            bar.update(task, description=f"{name}: {msg}",
                       completed=steps.index(msg) if msg in steps else None)

        yield step
        bar.update(task, completed=len(steps))


def read_log(
    source: Any,
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    resource: str | None = None,
    lifecycle_column: str | None = None,
    dayfirst: bool | None = None,
    tz: str = "UTC",
    lifecycle: str | Sequence[str] = "auto",
    dedupe: bool = False,
    quarantine: str | Path | None = None,
    db: str | Path | None = None,
    progress: bool = False,
) -> Log:
    """Read an event log from a file, a DataFrame, a ``.duckdb`` file or a database URL.

    Parameters
    ----------
    source
        Path (CSV/TSV, Parquet, XES, JSON lines; ``.gz`` read transparently), pandas or
        Polars DataFrame, ``.duckdb`` file written by ``lastmile load``, or a URL such as
        ``postgresql://user@host/db?table=events`` or ``duckdb:///file.duckdb?table=events``.
    case, activity, timestamp, resource, lifecycle_column
        Source columns for each role; detected from the usual names when not given.
    dayfirst
        Read ``01/02/2024`` as 1 February (``True``) or 2 January (``False``); by default
        the data decide.
    tz
        Time zone of times written without an offset (default UTC). Everything is stored
        in UTC.
    lifecycle
        ``"auto"`` keeps only ``complete`` events where the log uses the standard XES
        lifecycle transitions, ``"all"`` keeps every event, or a list of values to keep.
    dedupe
        Drop exact duplicate events (they are always counted and reported).
    quarantine
        Where to write unusable rows (in the input's format plus a ``reason`` column).
        Nothing is written when no row is quarantined.
    db
        Keep the loaded log in this DuckDB file instead of in memory.
    progress
        Show a progress bar on stderr.

    Returns
    -------
    Log
        ``log.table`` is an Ibis table; ``log.accounting`` says where every row went.

    See Also
    --------
    lastmile.io.write_log : write a log as CSV, Parquet, XES or JSON lines.
    """
    src = Source.of(source)
    opts = Options(case=case, activity=activity, timestamp=timestamp, resource=resource,
                   lifecycle_column=lifecycle_column, dayfirst=dayfirst, tz=tz,
                   lifecycle=lifecycle, dedupe=dedupe)
    if src.format in ("duckdb", "postgres"):
        log = open_database(src, opts)
    else:
        check_file(src)
        con = ibis.duckdb.connect(str(db) if db else ":memory:")
        raw_con = con.con
        large = src.path is not None and src.path.stat().st_size > 20_000_000
        with _progress(progress and (large or src.format == "xes"), src.name) as step:
            step("reading")
            raw = read_raw(raw_con, src)
            norm = normalise(raw_con, raw, opts, step)
        if norm.accounting.loaded == 0:
            a = norm.accounting
            reasons = ", ".join(f"{n:,} {r}" for r, n in a.reasons.items()) or "none"
            log = Log(con, con.table("events"), source=src.name, mapping=norm.mapping,
                      attributes=norm.attributes, accounting=a,
                      quarantine=con.table("quarantine"))
            written = write_quarantine(log, quarantine, src) if quarantine else None
            where = f"; quarantined rows are in {written}" if written else ""
            raise LastmileError(
                f"{src.name}: no usable events among {a.read:,} rows read "
                f"(quarantined: {reasons}; filtered: {a.filtered:,}){where}",
                hint="check the column mapping with --case/--activity/--timestamp",
            )
        log = Log(con, con.table("events"), source=src.name, mapping=norm.mapping,
                  attributes=norm.attributes, accounting=norm.accounting,
                  time_format=norm.time_format.describe(), warnings=norm.warnings,
                  quarantine=con.table("quarantine"))
        if db:
            save_log(log, db)
    if quarantine and log.accounting.quarantined:
        write_quarantine(log, quarantine, src)
    return log
