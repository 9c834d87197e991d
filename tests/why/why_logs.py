"""Small hand-made logs for the drivers tests, built row by row so every count is known."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

T0 = datetime(2024, 1, 1, 9, 0)


def team_log(groups: dict[str, tuple[int, int]], open_cases: int = 3) -> pd.DataFrame:
    """Cases ``Start → Offer → Signed`` (finish) or ``Start → Offer → Lost`` (failure).

    ``groups`` maps a team (case attribute ``team``) to ``(cases, failures)``; the resource of
    ``Offer`` is ``rep-<team>``. ``open_cases`` more cases stop at ``Offer`` right at the end of
    the log (open, so left out). Entries are spread over 40 days; outcomes 2 days later.
    """
    rows: list[dict] = []
    order = sorted(((i, team) for team, (n, _) in groups.items() for i in range(n)))
    for k, (i, team) in enumerate(order):  # teams interleaved in time
        failures = groups[team][1]
        t = T0 + timedelta(hours=7 * k)
        cid = f"{team}{i:03d}"
        rows.append(dict(case_id=cid, activity="Start", timestamp=t, team=team,
                         resource="web"))
        rows.append(dict(case_id=cid, activity="Offer", timestamp=t + timedelta(days=1),
                         team=team, resource=f"rep-{team}"))
        n = groups[team][0]
        lost = ((i + 1) * failures) // n > (i * failures) // n  # failures spread evenly
        last = "Lost" if lost else "Signed"
        rows.append(dict(case_id=cid, activity=last, timestamp=t + timedelta(days=3),
                         team=team, resource=None))
    end = max(r["timestamp"] for r in rows)
    for i in range(open_cases):
        cid = f"open{i}"
        rows.append(dict(case_id=cid, activity="Start", timestamp=end - timedelta(hours=3),
                         team="A", resource="web"))
        rows.append(dict(case_id=cid, activity="Offer", timestamp=end - timedelta(hours=2),
                         team="A", resource="rep-A"))
    df = pd.DataFrame(rows)
    df["event_index"] = range(len(df))
    return df
