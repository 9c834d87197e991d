"""Which column holds the case id, the activity, the timestamp and the resource.

Names are matched case-insensitively and ignoring punctuation, so ``Case ID``, ``case_id``,
``CaseID`` and ``case:concept:name`` all count as a case id. Every role can be overridden.

>>> m = detect_mapping(["Case ID", "Activity", "Complete Timestamp", "Resource", "amount"])
>>> (m.case, m.activity, m.timestamp, m.resource)
('Case ID', 'Activity', 'Complete Timestamp', 'Resource')
>>> detect_mapping(["case:concept:name", "concept:name", "time:timestamp"]).resource is None
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from lastmile.errors import LastmileError

# Candidate names per role, normalised (lower case, letters and digits only), best first.
CASE_NAMES = (
    "caseconceptname", "caseid", "case", "caseidentifier", "casenumber", "caseno", "traceid",
    "trace", "tracename", "processinstance", "processinstanceid", "instanceid", "ticketid",
    "orderid", "applicationid",
)
ACTIVITY_NAMES = (
    "conceptname", "activity", "activityname", "activityid", "activitytype", "eventname",
    "event", "action", "task", "taskname", "step", "operation",
)
TIMESTAMP_NAMES = (
    "timetimestamp", "completetimestamp", "timestamp", "endtimestamp", "endtime",
    "completetime", "completiontime", "eventtime", "datetime", "time", "date", "starttimestamp",
    "starttime", "ts",
)
RESOURCE_NAMES = (
    "orgresource", "resource", "user", "username", "userid", "actor", "performer", "agent",
    "employee", "owner", "orggroup", "executor", "worker", "assignee",
)
LIFECYCLE_NAMES = ("lifecycletransition", "lifecycle", "transition", "eventtype")

ROLES = ("case", "activity", "timestamp", "resource")
FLAGS = {"case": "--case", "activity": "--activity", "timestamp": "--timestamp",
         "resource": "--resource"}


def normalise_name(name: str) -> str:
    """Lower-case a column name and keep letters and digits only.

    >>> normalise_name("Complete Timestamp")
    'completetimestamp'
    >>> normalise_name("case:concept:name")
    'caseconceptname'
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """The source columns that play each role (``None`` where the log has no such column)."""

    case: str
    activity: str
    timestamp: str
    resource: str | None = None
    lifecycle: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The mapping as a plain dict (for JSON)."""
        return asdict(self)

    @property
    def used(self) -> set[str]:
        """Source columns that became core columns (not attributes)."""
        return {c for c in (self.case, self.activity, self.timestamp, self.resource) if c}


def _pick(columns: Sequence[str], candidates: Sequence[str], taken: set[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise_name(col), col)
    for cand in candidates:
        col = by_norm.get(cand)
        if col is not None and col not in taken:
            return col
    return None


def _check_given(role: str, given: str, columns: Sequence[str]) -> str:
    if given in columns:
        return given
    lowered = {c.lower(): c for c in columns}
    if given.lower() in lowered:
        return lowered[given.lower()]
    raise LastmileError(
        f"{FLAGS.get(role, role)} {given!r}: no such column; the log has: {_listing(columns)}"
    )


def _listing(columns: Sequence[str], limit: int = 25) -> str:
    shown = ", ".join(repr(c) for c in list(columns)[:limit])
    return shown + (f" … ({len(columns)} in all)" if len(columns) > limit else "")


def detect_mapping(
    columns: Sequence[str],
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    resource: str | None = None,
    lifecycle: str | None = None,
) -> ColumnMapping:
    """Find the columns for each role; explicit arguments win over detection.

    Raises :class:`~lastmile.errors.LastmileError` naming the columns found and the flag to
    use when a required role (case, activity, timestamp) cannot be found.

    >>> try:
    ...     detect_mapping(["id", "what", "when"])
    ... except LastmileError as err:
    ...     print(err.message)
    ...     print(err.hint)
    no case id / activity / timestamp column found; the log has: 'id', 'what', 'when'
    map them with --case COLUMN --activity COLUMN --timestamp COLUMN

    """
    taken: set[str] = set()
    chosen: dict[str, str | None] = {}
    given = {"case": case, "activity": activity, "timestamp": timestamp, "resource": resource}
    for role, value in given.items():
        if value:
            chosen[role] = _check_given(role, value, columns)
            taken.add(chosen[role])  # type: ignore[arg-type]
    candidates = {"case": CASE_NAMES, "activity": ACTIVITY_NAMES,
                  "timestamp": TIMESTAMP_NAMES, "resource": RESOURCE_NAMES}
    for role in ROLES:
        if role not in chosen:
            chosen[role] = _pick(columns, candidates[role], taken)
            if chosen[role]:
                taken.add(chosen[role])  # type: ignore[arg-type]
    missing = [r for r in ("case", "activity", "timestamp") if not chosen[r]]
    if missing:
        what = {"case": "case id", "activity": "activity", "timestamp": "timestamp"}
        flags = " ".join(f"{FLAGS[r]} COLUMN" for r in missing)
        raise LastmileError(
            f"no {' / '.join(what[r] for r in missing)} column found; "
            f"the log has: {_listing(columns)}",
            hint=f"map them with {flags}",
        )
    if lifecycle:
        life: str | None = _check_given("lifecycle", lifecycle, columns)
    else:
        life = _pick(columns, LIFECYCLE_NAMES, taken)
    return ColumnMapping(
        case=chosen["case"],  # type: ignore[arg-type]
        activity=chosen["activity"],  # type: ignore[arg-type]
        timestamp=chosen["timestamp"],  # type: ignore[arg-type]
        resource=chosen["resource"],
        lifecycle=life,
    )
