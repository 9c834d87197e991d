#!/usr/bin/env python3
"""Where does ``lastmile.read_log`` spend its time? Every SQL statement of the reader, timed.

Runs the same steps as ``read_log`` (``read_raw`` then ``normalise``) on a DuckDB connection
wrapped so that each ``execute`` is timed, and prints the statements by time taken:

    bench/.venv/bin/python bench/profile_load.py bench/out/synthetic_10M.csv
    bench/.venv/bin/python bench/profile_load.py ../shared/data/bpic2012/bpic2012.xes.gz

It reads the package's internals (``lastmile.io.readers``, ``lastmile.io.normalize``) and
changes nothing in them; if their signatures move, adapt the two calls below.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any


class TimedConnection:
    """A DuckDB connection whose ``execute`` calls are timed (statement text kept short)."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.log: list[tuple[float, str]] = []

    def execute(self, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        res = self._con.execute(sql, *args)
        self.log.append((time.perf_counter() - t0, re.sub(r"\s+", " ", sql).strip()))
        return res

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main(path: str) -> None:
    import ibis

    from lastmile.io.normalize import Options, normalise
    from lastmile.io.readers import read_raw
    from lastmile.io.sources import Source, check_file

    src = Source.of(path)
    check_file(src)
    con = TimedConnection(ibis.duckdb.connect(":memory:").con)
    t0 = time.perf_counter()
    marks: list[tuple[str, float]] = []
    raw = read_raw(con, src)  # type: ignore[arg-type]
    marks.append(("read_raw", time.perf_counter()))
    norm = normalise(con, raw, Options(),  # type: ignore[arg-type]
                     lambda m: marks.append((m, time.perf_counter())))
    t1 = time.perf_counter()
    print(f"{path}: {t1 - t0:.2f}s in total; {norm.accounting.loaded:,} events loaded")
    prev = t0
    for name, t in [*marks, ("end", t1)]:
        print(f"  until '{name}': {t - prev:.2f}s")
        prev = t
    sql_total = sum(t for t, _ in con.log)
    print(f"\n{len(con.log)} statements, {sql_total:.2f}s in SQL; slowest first:")
    for t, sql in sorted(con.log, reverse=True)[:15]:
        print(f"  {t:7.2f}s  {sql[:150]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
