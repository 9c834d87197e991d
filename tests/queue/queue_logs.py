"""A small handmade last-mile log for the queue tests, with known special cases.

Cases start over 200 days; each is ``start`` then ``sent`` (the last mile) 1–3 days later,
maybe a ``call``, then ``signed`` (finish), ``lost`` (explicit failure) or silence (abandoned
after the 30-day timeout). Segment ``risky`` fails half the time, ``safe`` one time in ten.
``AS_OF`` is day 150; the special cases around it are listed in ``SPECIAL``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.journey import Journey

T0 = pd.Timestamp("2024-01-01")
AS_OF = T0 + pd.Timedelta(days=150)
JOURNEY = Journey.from_flags("start,sent,signed", fail="lost", timeout="30d", value="amount")
NO_VALUE = Journey.from_flags("start,sent,signed", fail="lost", timeout="30d")
SPECIAL = {
    "stale": "went silent 29 days ago, right after entering the last mile",
    "fresh": "entered the last mile one hour before AS_OF",
    "done": "finished two days before AS_OF",
    "lost": "lost three days before AS_OF",
    "later": "enters the last mile only after AS_OF",
}


def handmade(n: int = 500, seed: int = 1) -> pd.DataFrame:
    """The event table (case, activity, time, segment, amount)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple] = []
    for i in range(n):
        case = f"c{i:04d}"
        risky = rng.random() < 0.4
        seg = "risky" if risky else "safe"
        amount = float(rng.choice([100.0, 1000.0, 5000.0]))
        t = T0 + pd.Timedelta(days=float(rng.uniform(0, 200)))
        rows.append((case, "start", t, seg, amount))
        t = t + pd.Timedelta(days=float(rng.uniform(1, 3)))
        rows.append((case, "sent", t, seg, amount))
        fail = rng.random() < (0.5 if risky else 0.1)
        if rng.random() < 0.5:
            rows.append((case, "call", t + pd.Timedelta(hours=float(rng.uniform(2, 30))),
                         seg, amount))
        if not fail:
            rows.append((case, "signed", t + pd.Timedelta(days=float(rng.exponential(3)) + 0.1),
                         seg, amount))
        elif rng.random() < 0.5:
            rows.append((case, "lost", t + pd.Timedelta(days=float(rng.exponential(5)) + 0.1),
                         seg, amount))
    d = pd.Timedelta
    special = [
        ("stale", "start", AS_OF - d(days=30)), ("stale", "sent", AS_OF - d(days=29)),
        ("fresh", "start", AS_OF - d(days=2)), ("fresh", "sent", AS_OF - d(hours=1)),
        ("done", "start", AS_OF - d(days=6)), ("done", "sent", AS_OF - d(days=5)),
        ("done", "signed", AS_OF - d(days=2)),
        ("lost", "start", AS_OF - d(days=6)), ("lost", "sent", AS_OF - d(days=5)),
        ("lost", "lost", AS_OF - d(days=3)),
        ("later", "start", AS_OF - d(days=1)), ("later", "sent", AS_OF + d(days=1)),
    ]
    rows += [(c, a, t, "risky", 1000.0) for c, a, t in special]
    df = pd.DataFrame(rows, columns=["case", "activity", "time", "segment", "amount"])
    df["time"] = df["time"].dt.floor("s")
    return df.sort_values(["time", "case"], kind="mergesort").reset_index(drop=True)
