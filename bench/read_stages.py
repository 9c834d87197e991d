"""Time ``lastmile.read_log(PATH)`` per loading stage (wall and CPU) in this process; print JSON.

Used for the old-against-new loader comparison in RESULTS.md ("Typed-input loader"). To time
an older commit's code, unpack its sources and put them first on the path, e.g.::

    git archive OLD src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/read_stages.py events.parquet   # old
    .venv/bin/python bench/read_stages.py events.parquet                           # new

Alternate old and new in fresh processes. ``--dump DIR`` also writes the events and
quarantine tables (Parquet) for a table-by-table comparison.
"""
import contextlib
import json
import os
import resource
import sys
import time

import lastmile
import lastmile.io as lio

marks: dict[str, float] = {}
cpu: dict[str, float] = {}


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextlib.contextmanager
def progress(_enabled, _name):
    def step(msg):
        marks.setdefault(msg, time.perf_counter())
        cpu.setdefault(msg, _cpu())
    yield step
    marks["done"] = time.perf_counter()
    cpu["done"] = _cpu()


lio._progress = progress
path = sys.argv[1]
load0 = os.getloadavg()
t0 = time.perf_counter()
c0 = _cpu()
lg = lastmile.read_log(path, progress=True)
t1 = time.perf_counter()


def split(start: float, points: dict[str, float], end: float | None = None) -> dict[str, float]:
    """Durations between consecutive progress marks (the first from ``start``)."""
    names = list(points)
    values = [start, *points.values()]
    out = {"setup": values[1] - values[0]}
    for i, name in enumerate(names[:-1]):
        out[name] = values[i + 2] - values[i + 1]
    if end is not None:
        out["log object"] = end - points.get("done", end)
    return out


stages = split(t0, marks, t1)
cstages = split(c0, cpu)
c1 = _cpu()
out = {"code": lastmile.__file__, "path": path, "read_s": round(t1 - t0, 2),
       "stages": {k: round(v, 2) for k, v in stages.items()},
       "cpu_s": round(c1 - c0, 2), "cpu_stages": {k: round(v, 2) for k, v in cstages.items()},
       "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
       "load_before": load0, "load_after": os.getloadavg(),
       "accounting": lg.accounting.to_dict(),
       "attributes": {k: a.to_dict() for k, a in lg.attributes.items()},
       "schema": {k: str(v) for k, v in lg.table.schema().items()}}
if "--dump" in sys.argv:
    d = sys.argv[sys.argv.index("--dump") + 1]
    os.makedirs(d, exist_ok=True)
    lg.con.con.execute(f"COPY events TO '{d}/events.parquet' (FORMAT parquet)")
    lg.con.con.execute(f"COPY quarantine TO '{d}/quarantine.parquet' (FORMAT parquet)")
    with open(f"{d}/meta.json", "w") as fh:
        json.dump(out, fh, indent=1, default=str)
print(json.dumps(out, default=str))
