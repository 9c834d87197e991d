"""Propose a journey from an event log: stage order, finish, failure, reversal and timeout.

The proposal is a starting point that a person edits: :func:`infer_journey` returns a
:class:`~lastmile.journey.Journey` whose ``notes`` explain each choice, and
``journey.to_yaml()`` writes them as comments. All statistics are computed as Ibis
aggregations; only per-activity and per-pair summaries are materialised.

How it decides (details in ``docs/journey.md``):

1. **Families.** Activities that differ only in a short last word (``Release A`` …
   ``Release E``, ``Admission NC`` / ``Admission IC``) are treated as one.
2. **Milestones** are activities (or families) that occur in at least 5 % of cases and at most
   at most twice per case on average, and whose names do not say failure or reversal.
3. **Finish**: the milestone that comes latest in its cases and most often ends them, with a
   bonus for names that say success (approved, activated, closed, released, billed, …).
4. **Stages**: milestones found in at least 80 % of the finished cases and before the finish in
   at least 80 % of the cases that have both, ordered by how often each precedes the others;
   milestones with (nearly) the same cases next to each other become one stage.
5. **Failure**: activities whose names say failure (cancel, decline, reject, delete, storno, …).
6. **Reversal**: activities whose names say reversal (return, reopen, revoke, …) and that come
   after the finish in most cases with both; the window covers 95 % of those returns.
7. **Timeout**: the longest silence within 95 % of the finished cases, rounded up.

>>> import ibis
>>> con = ibis.duckdb.connect()
>>> _ = con.con.execute('''CREATE TABLE ev AS SELECT * FROM (VALUES
...   ('1', 'Lead', TIMESTAMP '2024-01-01', 0), ('1', 'Offer', TIMESTAMP '2024-01-02', 1),
...   ('1', 'Won',  TIMESTAMP '2024-01-05', 2), ('2', 'Lead', TIMESTAMP '2024-01-01', 3),
...   ('2', 'Offer', TIMESTAMP '2024-01-03', 4), ('2', 'Cancelled', TIMESTAMP '2024-01-04', 5),
...   ('3', 'Lead', TIMESTAMP '2024-01-02', 6), ('3', 'Offer', TIMESTAMP '2024-01-03', 7),
...   ('3', 'Won',  TIMESTAMP '2024-01-04', 8)) v(case_id, activity, timestamp, event_index)''')
>>> j = infer_journey(con.table("ev"))
>>> j.stage_names, j.finish, j.failure
(('Lead', 'Offer', 'Won'), 'Won', ('Cancelled',))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

import ibis
import ibis.expr.types as ir

from lastmile.errors import LastmileError
from lastmile.journey import Journey, Reversal, Stage, format_duration

__all__ = ["infer_journey"]

_FAIL = (
    "cancel", "declin", "reject", "delet", "storno", "abort", "fail", "dnf", "lost",
    "withdr", "refus", "nok", "invalid", "duplicat", "expir", "denied", "deny", "void",
    "dropout", "unsuccess", "annul",
)  # fmt: skip
_REVERSE = (
    "return", "reopen", "revok", "revers", "undo", "regain", "refund", "relaps", "readmi",
    "chargeback", "churn", "rollback",
)  # fmt: skip
_SUCCESS = (
    "approv", "activat", "accept", "close", "complet", "finish", "releas", "bill", "paid",
    "won", "deliver", "sign", "done", "resolv", "success", "grant", "award", "ship",
    "install", "graduat", "decision", "determin",
)  # fmt: skip

MIN_COVERAGE = 0.05
MAX_REPEATS = 2.0
MIN_SHARE_OF_FINISHED = 0.8
MIN_PRECEDENCE = 0.8
SAME_CASES = 0.99
SAME_MOMENT = 3600.0


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def _says(name: str, stems: tuple[str, ...]) -> bool:
    return any(tok.startswith(stem) for tok in _tokens(name) for stem in stems)


def _families(activities: list[str]) -> dict[str, list[str]]:
    """Group names that differ only in a short last word: ``Release A`` … ``Release E``."""
    groups: dict[str, list[str]] = {}
    for a in activities:
        head, _, tail = a.rpartition(" ")
        key = head if head and 0 < len(tail) <= 2 else a
        groups.setdefault(key, []).append(a)
    out: dict[str, list[str]] = {}
    for key, members in groups.items():
        if len(members) > 1:
            out[key] = sorted(members)
        else:
            out[members[0]] = members
    return out


@dataclass
class _Act:
    name: str
    members: list[str]
    events: int
    cases: int
    rel: float
    last: int

    @property
    def repeats(self) -> float:
        return self.events / self.cases if self.cases else 0.0

    @property
    def last_share(self) -> float:
        return self.last / self.cases if self.cases else 0.0


def _nice_duration(seconds: float) -> timedelta:
    """Round a duration up to a whole number of minutes, hours or days (at least 1 minute)."""
    if seconds <= 0 or math.isnan(seconds):
        return timedelta(minutes=1)
    for unit, limit in ((60, 3600), (3600, 2 * 86400)):
        if seconds < limit:
            return timedelta(seconds=unit * math.ceil(seconds / unit))
    return timedelta(days=math.ceil(seconds / 86400))


def _sample_cases(events: ir.Table, n_cases: int, limit: int) -> ir.Table:
    """Events of every k-th case in case-id order, k chosen to keep about ``limit`` cases."""
    step = math.ceil(n_cases / limit)
    ids = events.select("case_id").distinct()
    ids = ids.mutate(_rn=ibis.row_number().over(order_by=ids.case_id))
    ids = ids.filter(ids._rn % step == 0).select("case_id")
    return events.semi_join(ids, "case_id")


def infer_journey(
    events: ir.Table,
    max_stages: int = 8,
    sample_cases: int | None = 100_000,
    *,
    _not_reversals: frozenset[str] = frozenset(),
    _all_cases: int | None = None,
) -> Journey:
    """Propose a journey for an event table, with the reasons in ``journey.notes``.

    Parameters
    ----------
    events
        The event table (``case_id``, ``activity``, ``timestamp``, ``event_index``).
    max_stages
        Most stages to propose, the finish included.
    sample_cases
        On logs with more cases, look at a systematic sample of about this many cases (every
        k-th case id); the proposal is a matter of proportions, which a sample keeps. None: all.

    Returns
    -------
    Journey
        Write it with ``journey.to_yaml()`` (comments explain each choice).
    """
    names = [
        str(a)
        for a in events.select("activity").distinct().to_pandas()["activity"]
        if a is not None
    ]
    if not names:
        raise LastmileError("the log has no events", hint="check the file and the filters")
    # (a second pass gets the sample already drawn, and the size of the whole log)
    all_cases = _all_cases or int(events.case_id.nunique().to_pandas())
    if sample_cases is not None and all_cases > sample_cases:
        events = _sample_cases(events, all_cases, sample_cases)
    families = _families(names)
    multi = {fam: members for fam, members in families.items() if len(members) > 1}
    fam_expr = events.activity
    if multi:
        fam_expr = ibis.cases(
            *[(events.activity.isin(m), ibis.literal(f)) for f, m in multi.items()],
            else_=events.activity,
        )
    order = [events.timestamp, events.event_index]
    whole = ibis.window(group_by=events.case_id)
    ev = events.mutate(
        lm_family=fam_expr,
        _pos=ibis.row_number().over(group_by=events.case_id, order_by=order),
        _n=events.count().over(whole),
        _prev=events.timestamp.lag().over(group_by=events.case_id, order_by=order),
    )
    ev = ev.mutate(_rel=ev._pos.cast("float64") / (ev._n - 1).cast("float64").nullif(0.0))
    n_cases = int(events.case_id.nunique().to_pandas())
    stats = (
        ev.group_by("lm_family")
        .aggregate(
            events=ev.count(),
            cases=ev.case_id.nunique(),
            rel=ev._rel.mean(),
            last=ev.count(where=ev._pos == ev._n - 1),
        )
        .to_pandas()
    )
    acts = {
        str(r.lm_family): _Act(
            str(r.lm_family),
            families.get(str(r.lm_family), [str(r.lm_family)]),
            int(r.events),
            int(r.cases),
            0.0 if r.rel is None or math.isnan(r.rel) else float(r.rel),
            int(r.last),
        )
        for r in stats.itertuples()
    }
    failure = sorted(a for a in names if _says(a, _FAIL))
    # named like a reversal ("Ballot returned" is not one: see below)
    reversal_words = [
        a for a in names if _says(a, _REVERSE) and a not in failure and a not in _not_reversals
    ]
    milestones = [
        a
        for a in acts.values()
        if a.cases >= MIN_COVERAGE * n_cases
        and a.repeats <= MAX_REPEATS
        and not any(_says(m, _FAIL) or m in reversal_words for m in a.members)
    ]
    if len(milestones) < 2:
        milestones = sorted(
            (a for a in acts.values() if not any(m in failure for m in a.members)),
            key=lambda a: -a.cases,
        )[:2]
    if len(milestones) < 2:
        raise LastmileError(
            "cannot propose a journey: the log needs at least two activities that are not failures",
            hint="write the journey by hand (see docs/journey.md)",
        )
    milestones = sorted(milestones, key=lambda a: -a.cases)[:40]

    def finish_score(a: _Act) -> float:
        success = any(_says(m, _SUCCESS) for m in a.members)
        return a.rel + 0.5 * a.last_share + (0.5 if success else 0.0)

    finish = max(milestones, key=finish_score)

    # pairwise: cases with both, and cases where a's first event comes before b's
    cand = [a.name for a in milestones]
    first = (
        ev.filter(ev.lm_family.isin(cand))
        .group_by(["case_id", "lm_family"])
        .aggregate(p=ev._pos.min(), t=ev.timestamp.min())
    )
    left = first.rename(a="lm_family", pa="p", ta="t")
    right = first.rename(b="lm_family", pb="p", tb="t", case_b="case_id")
    joined = left.join(right, left.case_id == right.case_b)
    apart = (joined.ta.epoch_seconds() - joined.tb.epoch_seconds()).cast("float64").abs()
    pairs = (
        joined.group_by(["a", "b"])
        .aggregate(
            both=joined.count(),
            before=joined.count(where=joined.pa < joined.pb),
            apart=apart.quantile(0.5),
        )
        .to_pandas()
    )
    both = {(str(r.a), str(r.b)): int(r.both) for r in pairs.itertuples()}
    before = {(str(r.a), str(r.b)): int(r.before) for r in pairs.itertuples()}
    apart_s = {(str(r.a), str(r.b)): float(r.apart) for r in pairs.itertuples()}

    def together(a: _Act, b: _Act) -> bool:
        """Nearly the same cases, and usually within the hour of each other: one milestone."""
        n = both.get((a.name, b.name), 0)
        union = a.cases + b.cases - n
        return (
            bool(union)
            and n / union >= SAME_CASES
            and (apart_s.get((a.name, b.name), math.inf) <= SAME_MOMENT)
        )

    finish_group = [finish] + [a for a in milestones if a is not finish and together(a, finish)]
    in_finish = {a.name for a in finish_group}
    stages_before = []
    for a in milestones:
        if a.name in in_finish:
            continue
        n = both.get((a.name, finish.name), 0)
        if n < MIN_SHARE_OF_FINISHED * finish.cases:
            continue
        if before.get((a.name, finish.name), 0) < MIN_PRECEDENCE * n:
            continue
        stages_before.append(a)

    def precedes(a: _Act) -> float:
        return sum(
            before.get((a.name, b.name), 0) / both[(a.name, b.name)]
            for b in stages_before
            if b is not a and both.get((a.name, b.name))
        )

    rank = {a.name: (-precedes(a), a.rel) for a in stages_before}
    stages_before.sort(key=lambda a: rank[a.name])
    groups: list[list[_Act]] = []
    for a in stages_before:
        if groups and together(groups[-1][-1], a):
            groups[-1].append(a)
        else:
            groups.append([a])
    dropped: list[str] = []
    if len(groups) > max_stages - 1:
        # keep the first stage and those after which the most cases drop out
        drops = [
            (groups[i][0].cases - groups[i + 1][0].cases if i + 1 < len(groups) else 0, i)
            for i in range(1, len(groups))
        ]
        keep = {0} | {i for _, i in sorted(drops, reverse=True)[: max_stages - 2]}
        dropped = [g[0].name for i, g in enumerate(groups) if i not in keep]
        groups = [g for i, g in enumerate(groups) if i in keep]
    finish_group = [finish, *sorted(finish_group[1:], key=lambda a: a.rel)]
    groups.append(finish_group)
    stages = []
    for i, g in enumerate(groups):
        members = [m for a in g for m in a.members]
        # a stage of several steps is named after its last step (the first stage after its
        # first, the finish after the chosen finish)
        name = g[0].name if i == 0 or g is finish_group else g[-1].name
        stages.append(Stage(name, tuple(members)))
    if len(stages) < 2:
        # nothing precedes the finish reliably: take the most common activity that is not it
        start = max((a for a in milestones if a.name not in in_finish), key=lambda a: a.cases)
        stages.insert(0, Stage(start.name, tuple(start.members)))

    finish_members = [m for a in finish_group for m in a.members]
    used = {m for s in stages for m in s.activities}
    failure = [a for a in failure if a not in used]

    # reversal: named like one, mostly after the finish
    reversal = None
    rev_note = "no activity named like a reversal (return, reopen, revoke, …) follows the finish"
    if reversal_words:
        fin_at = (
            ev.filter(ev.activity.isin(finish_members))
            .group_by("case_id")
            .aggregate(fp=ev._pos.min(), ft=ev.timestamp.min())
        )
        rv = ev.filter(ev.activity.isin(reversal_words))
        rv = rv.group_by(["case_id", "activity"]).aggregate(rp=rv._pos.max(), rt=rv.timestamp.max())
        j = rv.join(fin_at, "case_id")
        gap = (j.rt.epoch_seconds() - j.ft.epoch_seconds()).cast("float64")
        rstats = (
            j.group_by("activity")
            .aggregate(
                both=j.count(),
                after=j.count(where=j.rp > j.fp),
                p95=gap.quantile(0.95),
            )
            .to_pandas()
        )
        # a reversal undoes a finish, so it follows the finish in most of the cases it is in
        # and cannot be in more cases than the finish; one that is, and mostly comes without
        # the finish before it, may be a step of its own: the proposal is made again with it
        # among the milestones, and kept if it is a stage there
        own = rv.group_by("activity").aggregate(cases=rv.case_id.nunique()).to_pandas()
        after = dict(zip(rstats["activity"].astype(str), rstats["after"], strict=True))
        cases = dict(zip(own["activity"].astype(str), own["cases"], strict=True))
        steps = frozenset(
            a
            for a, n in cases.items()
            if after.get(a, 0) < 0.5 * n and n > finish.cases and n >= MIN_COVERAGE * n_cases
        )
        if steps:
            again = infer_journey(
                events,
                max_stages,
                sample_cases=None,
                _not_reversals=_not_reversals | steps,
                _all_cases=all_cases,
            )
            staged = sorted(steps & {m for st in again.stages for m in st.activities})
            if staged:
                for a in staged:
                    again.notes[""] += (
                        f"\n{a!r} is named like a reversal, but it follows {finish.name!r} in "
                        f"only {after.get(a, 0):,} of its {int(cases[a]):,} cases: taken as a "
                        "step."
                    )
                return again
        chosen = [
            r
            for r in rstats.itertuples()
            if r.after >= 0.5 * r.both and r.after >= 0.01 * finish.cases
        ]
        if chosen:
            window = _nice_duration(max(float(r.p95) for r in chosen))
            if window >= timedelta(days=2):
                window = timedelta(days=window.days)
            reversal = Reversal(tuple(sorted(str(r.activity) for r in chosen)), window)
            counts = ", ".join(f"{r.activity}: {r.after} of {finish.cases}" for r in chosen)
            rev_note = (
                "named like a reversal and found after the finish in finished cases "
                f"({counts});\nthe window covers 95% of the times from finish to reversal"
            )
            failure = [a for a in failure if a not in reversal.activities]

    # timeout: the longest silence inside 95% of the finished cases
    fin_pos = (
        ev.filter(ev.activity.isin(finish_members))
        .group_by("case_id")
        .aggregate(fin_pos=ev._pos.min())
    )
    gaps = ev.filter(ev._prev.notnull()).join(fin_pos, "case_id")
    gaps = gaps.filter(gaps._pos <= gaps.fin_pos)
    gaps = gaps.mutate(
        _gap=(gaps.timestamp.epoch_seconds() - gaps._prev.epoch_seconds()).cast("float64")
    )
    per_case = gaps.group_by("case_id").aggregate(g=gaps._gap.max())
    p95 = per_case.aggregate(q=per_case.g.quantile(0.95)).to_pandas()["q"].iloc[0]
    timeout = None
    timeout_note = "no finished case has two events, so no timeout is proposed"
    if p95 is not None and not (isinstance(p95, float) and math.isnan(p95)):
        timeout = _nice_duration(float(p95))
        timeout_note = (
            f"95% of the finished cases never went silent for longer than "
            f"{format_duration(timeout)};\nan unfinished case silent for longer counts as "
            "abandoned"
        )

    share = finish.cases / n_cases
    notes = {
        "": (
            f"Journey proposed by `lastmile infer` from {n_cases:,} cases"
            + (f" (a sample of the {all_cases:,})" if n_cases < all_cases else "")
            + f" and {len(names):,} activities.\n"
            "Check every choice below; edit the stages, finish and failures to match how you "
            "see the process."
        ),
        "stages": (
            "milestones (in >= 5% of cases, on average at most twice per case) found in\n"
            ">= 80% of the finished cases and before the finish in >= 80% of them, in their\n"
            "usual order; "
            "activities with (nearly) the same cases share a stage"
            + (
                f"\nleft out to stay within {max_stages} stages: {', '.join(dropped)}"
                if dropped
                else ""
            )
        ),
        "finish": (
            f"{finish.name!r} reached by {finish.cases:,} cases ({share:.0%}); it comes late "
            f"(on average at {finish.rel:.0%} of the case's events)"
            + (
                f", and ends {finish.last_share:.0%} of the cases that reach it"
                if finish.last_share >= 0.1
                else ""
            )
            + (
                ";\nits name says success"
                if any(_says(m, _SUCCESS) for m in finish.members)
                else ""
            )
        ),
        "last_mile": "the last mile begins at the stage right before the finish",
        "failure": (
            "activities whose names say failure (cancel, decline, reject, delete, …)"
            if failure
            else ""
        ),
        "reversal": rev_note if reversal else "",
        "timeout": timeout_note,
    }
    if not failure:
        notes[""] += "\nNo activity is named like a failure: failures come from the timeout."
    if reversal is None:
        notes[""] += f"\nNo reversal: {rev_note}."
    return Journey(
        stages=tuple(stages),
        finish=stages[-1].name,
        failure=tuple(failure),
        reversal=reversal,
        timeout=timeout,
        notes=notes,
    )
