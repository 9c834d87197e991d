"""The journey: the ordered stages a case moves through to its finish.

A journey is a small YAML file (schema in ``docs/journey.md`` and ``docs/contracts.md``) or a
few command-line flags. It names the stages in order, each marked by one or more activities; the
finish; where the last mile begins; and, optionally, failure activities, a reversal with its
maintenance window, an inactivity timeout, a value and a cost.

>>> j = Journey.from_flags(stages="Order placed,Drop cable laid,Service activated", timeout="30d")
>>> j.stage_names
('Order placed', 'Drop cable laid', 'Service activated')
>>> j.finish, j.last_mile, j.timeout
('Service activated', 'Drop cable laid', datetime.timedelta(days=30))
>>> Journey.from_yaml(j.to_yaml()) == j
True
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from lastmile.errors import LastmileError

__all__ = [
    "Cost",
    "Journey",
    "Reversal",
    "Stage",
    "format_duration",
    "parse_duration",
]

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_TOP_KEYS = (
    "name",
    "stages",
    "finish",
    "last_mile",
    "failure",
    "reversal",
    "timeout",
    "value",
    "cost",
)


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse a duration written ``90d``, ``12h``, ``30m``, ``45s``, ``2w`` (or combined, ``1d12h``).

    A bare number is read as seconds; a :class:`~datetime.timedelta` passes through.

    >>> parse_duration("90d")
    datetime.timedelta(days=90)
    >>> parse_duration("2w") == parse_duration("14d")
    True
    >>> parse_duration("1d12h").total_seconds()
    129600.0
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    lastmile.errors.LastmileError: cannot read the duration 'soon' (write it as a number and a \
unit: 90d, 12h, 30m, 45s or 2w)
    """
    if isinstance(text, timedelta):
        result = text
    elif isinstance(text, bool):
        raise _bad_duration(text)
    elif isinstance(text, int | float):
        result = timedelta(seconds=float(text))
    else:
        raw = str(text).strip().lower()
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(raw):
            if raw[pos : match.start()].strip():
                raise _bad_duration(text)
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos == 0 or raw[pos:].strip():
            raise _bad_duration(text)
        result = timedelta(seconds=seconds)
    if result.total_seconds() <= 0:
        raise LastmileError(f"the duration {text!r} must be positive", hint="for example 30d")
    return result


def _bad_duration(text: object) -> LastmileError:
    return LastmileError(
        f"cannot read the duration {text!r}",
        hint="write it as a number and a unit: 90d, 12h, 30m, 45s or 2w",
    )


def format_duration(value: timedelta) -> str:
    """Write a duration in the largest unit that divides it exactly.

    >>> format_duration(timedelta(days=14)), format_duration(timedelta(hours=36))
    ('2w', '36h')
    >>> format_duration(timedelta(seconds=90))
    '90s'
    """
    seconds = value.total_seconds()
    for unit, size in _UNITS.items():
        count = seconds / size
        if count >= 1 and math.isclose(count, round(count), abs_tol=1e-9):
            return f"{round(count)}{unit}"
    return f"{seconds:g}s"


def _as_list(value: Any, what: str) -> tuple[str, ...]:
    """A YAML scalar or list of activity names as a tuple of non-empty strings."""
    if value is None:
        return ()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        raise LastmileError(f"{what} must be a list of activity names, not {value!r}")
    names = tuple(str(v).strip() for v in value)
    if any(not n for n in names):
        raise LastmileError(f"{what} has an empty activity name")
    return names


def _suggest(name: str, choices: Iterable[str]) -> str | None:
    """The nearest names in ``choices`` as a did-you-mean hint, or None."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    near = [lowered[name.lower()]] if name.lower() in lowered else []
    near += [c for c in difflib.get_close_matches(name, choices, n=3, cutoff=0.6) if c not in near]
    if not near:
        near = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
    return "did you mean " + " or ".join(repr(c) for c in near[:3]) + "?" if near else None


@dataclass(frozen=True)
class Stage:
    """One milestone of a journey, reached when the case has an event of any of its activities."""

    name: str
    activities: tuple[str, ...]


@dataclass(frozen=True)
class Reversal:
    """Activities that undo a finish when they happen within ``window`` after it (None: ever)."""

    activities: tuple[str, ...]
    window: timedelta | None = None


@dataclass(frozen=True)
class Cost:
    """The effort sunk into a case: one of a cost per event, per activity, or an event attribute.

    ``attribute`` is a numeric column summed over the case's events (nulls count as 0).
    """

    per_event: float | None = None
    per_activity: Mapping[str, float] | None = None
    attribute: str | None = None

    def __post_init__(self) -> None:
        given = [
            k
            for k, v in (
                ("per_event", self.per_event),
                ("per_activity", self.per_activity),
                ("attribute", self.attribute),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise LastmileError(
                "cost needs exactly one of per_event, per_activity or attribute"
                + (f" (got {', '.join(given)})" if given else ""),
                hint="for example  cost: {per_event: 1.0}",
            )

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form."""
        if self.per_event is not None:
            return {"per_event": self.per_event}
        if self.per_activity is not None:
            return {"per_activity": dict(self.per_activity)}
        return {"attribute": self.attribute}


@dataclass(frozen=True)
class Journey:
    """The ordered stages from start to finish, and what counts as failure.

    Parameters
    ----------
    stages
        Stages in order; each is reached by an event of any of its activities.
    finish
        Name of the finish stage (default: the last stage).
    last_mile
        Name of the stage where the last mile begins (default: the stage before the finish).
    failure
        Activities that mark an explicit failure.
    reversal
        Activities that undo a finish within a maintenance window.
    timeout
        Silence after which an unfinished case counts as abandoned.
    value
        Case attribute with the value at stake.
    cost
        The effort sunk into a case.
    name
        A title for reports.
    notes
        Explanations per key (``"stages"``, ``"finish"``, …, ``""`` for a header), written as
        YAML comments by :meth:`to_yaml`; :func:`lastmile.infer.infer_journey` fills them.

    Examples
    --------
    >>> j = Journey(stages=(Stage("sent", ("O_SENT",)), Stage("approved", ("A_APPROVED",))))
    >>> j.finish_index, j.last_mile_index
    (1, 0)
    >>> j.stage_of["A_APPROVED"]
    1
    """

    stages: tuple[Stage, ...]
    finish: str = ""
    last_mile: str = ""
    failure: tuple[str, ...] = ()
    reversal: Reversal | None = None
    timeout: timedelta | None = None
    value: str | None = None
    cost: Cost | None = None
    name: str | None = None
    notes: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    stage_of: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        object.__setattr__(self, "stages", stages)
        if len(stages) < 2:
            raise LastmileError(
                "a journey needs at least two stages (one before the finish, and the finish)",
                hint="list the stages in order, for example  --stages 'Offer sent,Offer signed'",
            )
        names = [s.name for s in stages]
        for s in stages:
            if not s.name:
                raise LastmileError("every stage needs a name")
            if not s.activities:
                raise LastmileError(f"stage {s.name!r} has no activities")
            if names.count(s.name) > 1:
                raise LastmileError(f"the stage name {s.name!r} is used twice")
        stage_of: dict[str, int] = {}
        for i, s in enumerate(stages):
            for a in s.activities:
                if a in stage_of and stage_of[a] != i:
                    raise LastmileError(
                        f"activity {a!r} marks two stages "
                        f"({stages[stage_of[a]].name!r} and {s.name!r})",
                        hint="each activity can mark only one stage",
                    )
                stage_of[a] = i
        object.__setattr__(self, "stage_of", stage_of)
        finish = self.finish or names[-1]
        if finish not in names:
            raise LastmileError(
                f"the finish {finish!r} is not one of the stages", hint=_suggest(finish, names)
            )
        object.__setattr__(self, "finish", finish)
        fi = names.index(finish)
        if fi == 0:
            raise LastmileError(
                f"the finish {finish!r} is the first stage; it needs a stage before it"
            )
        last_mile = self.last_mile or names[fi - 1]
        if last_mile not in names:
            raise LastmileError(
                f"the last mile {last_mile!r} is not one of the stages",
                hint=_suggest(last_mile, names),
            )
        if names.index(last_mile) >= fi:
            raise LastmileError(
                f"the last mile must begin before the finish, but {last_mile!r} does not "
                f"come before {finish!r}"
            )
        object.__setattr__(self, "last_mile", last_mile)
        object.__setattr__(self, "failure", tuple(self.failure))
        for a in self.failure:
            if a in stage_of:
                raise LastmileError(
                    f"activity {a!r} is both a failure and a mark of stage "
                    f"{stages[stage_of[a]].name!r}"
                )
        if self.reversal is not None:
            for a in self.reversal.activities:
                if a in stage_of:
                    raise LastmileError(f"activity {a!r} is both a reversal and a stage mark")
        if self.timeout is not None and self.timeout.total_seconds() <= 0:
            raise LastmileError("the timeout must be positive")

    # ----------------------------------------------------------------- derived properties
    @property
    def stage_names(self) -> tuple[str, ...]:
        """Stage names in order."""
        return tuple(s.name for s in self.stages)

    @property
    def finish_index(self) -> int:
        """0-based index of the finish stage."""
        return self.stage_names.index(self.finish)

    @property
    def last_mile_index(self) -> int:
        """0-based index of the stage where the last mile begins."""
        return self.stage_names.index(self.last_mile)

    @property
    def activities(self) -> tuple[str, ...]:
        """Every activity the journey names (stages, failure, reversal, cost), without repeats."""
        names = [a for s in self.stages for a in s.activities] + list(self.failure)
        if self.reversal is not None:
            names += self.reversal.activities
        if self.cost is not None and self.cost.per_activity is not None:
            names += list(self.cost.per_activity)
        return tuple(dict.fromkeys(names))

    # ------------------------------------------------------------------------ readers
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Journey:
        """Build a journey from its YAML/JSON form (see ``docs/journey.md``).

        >>> Journey.from_dict({"stages": ["A", {"name": "b", "activities": "B"}]}).stage_names
        ('A', 'b')
        >>> Journey.from_dict({"stages": ["A", "B"], "timout": "3d"})
        Traceback (most recent call last):
        ...
        lastmile.errors.LastmileError: unknown journey key 'timout' (did you mean 'timeout'?)
        """
        if not isinstance(data, Mapping):
            raise LastmileError(
                "a journey must be a mapping with at least 'stages'",
                hint="see docs/journey.md for an example",
            )
        for key in data:
            if key not in _TOP_KEYS:
                raise LastmileError(
                    f"unknown journey key {key!r}", hint=_suggest(str(key), _TOP_KEYS)
                )
        raw_stages = data.get("stages")
        if not isinstance(raw_stages, list) or not raw_stages:
            raise LastmileError(
                "the journey needs 'stages': a list of stages in order",
                hint="each is a name with its activities, or just an activity name",
            )
        stages = []
        for i, item in enumerate(raw_stages):
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                stages.append(Stage(str(item), (str(item),)))
                continue
            if not isinstance(item, Mapping):
                raise LastmileError(f"stage {i + 1} must be a name or a mapping, not {item!r}")
            for key in item:
                if key not in ("name", "activities"):
                    raise LastmileError(
                        f"unknown key {key!r} in stage {i + 1}",
                        hint=_suggest(str(key), ("name", "activities")),
                    )
            acts = _as_list(item.get("activities"), f"stage {i + 1}")
            name = str(item.get("name") or (acts[0] if len(acts) == 1 else "")).strip()
            if not name:
                raise LastmileError(f"stage {i + 1} needs a name")
            stages.append(Stage(name, acts))
        reversal = None
        if data.get("reversal") is not None:
            rev = data["reversal"]
            if isinstance(rev, Mapping):
                for key in rev:
                    if key not in ("activities", "window"):
                        raise LastmileError(
                            f"unknown key {key!r} in reversal",
                            hint=_suggest(str(key), ("activities", "window")),
                        )
                acts = _as_list(rev.get("activities"), "reversal")
                window = rev.get("window")
            else:
                acts, window = _as_list(rev, "reversal"), None
            if not acts:
                raise LastmileError("the reversal needs activities")
            reversal = Reversal(acts, parse_duration(window) if window is not None else None)
        cost = None
        if data.get("cost") is not None:
            raw = data["cost"]
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                raw = {"per_event": raw}
            if not isinstance(raw, Mapping):
                raise LastmileError("cost must be a mapping", hint="for example  per_event: 1.0")
            for key in raw:
                if key not in ("per_event", "per_activity", "attribute"):
                    raise LastmileError(
                        f"unknown cost key {key!r}",
                        hint=_suggest(str(key), ("per_event", "per_activity", "attribute")),
                    )
            try:
                per_activity = raw.get("per_activity")
                if per_activity is not None:
                    per_activity = {str(k): float(v) for k, v in dict(per_activity).items()}
                per_event = raw.get("per_event")
                cost = Cost(
                    per_event=float(per_event) if per_event is not None else None,
                    per_activity=per_activity,
                    attribute=str(raw["attribute"]) if raw.get("attribute") else None,
                )
            except (TypeError, ValueError) as exc:
                raise LastmileError(f"cannot read the cost: {exc}") from None
        timeout = data.get("timeout")
        return cls(
            stages=tuple(stages),
            finish=str(data.get("finish") or ""),
            last_mile=str(data.get("last_mile") or ""),
            failure=_as_list(data.get("failure"), "failure"),
            reversal=reversal,
            timeout=parse_duration(timeout) if timeout is not None else None,
            value=str(data["value"]) if data.get("value") else None,
            cost=cost,
            name=str(data["name"]) if data.get("name") else None,
        )

    @classmethod
    def from_yaml(cls, source: str | Path) -> Journey:
        """Read a journey from a YAML file path or from YAML text.

        >>> Journey.from_yaml("stages: [Offer sent, Offer signed]").finish
        'Offer signed'
        """
        text = source
        if isinstance(source, Path) or ("\n" not in source and ":" not in source):
            path = Path(source)
            if not path.exists():
                raise LastmileError(f"no such journey file: {path}", hint="check the path")
            text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(str(text))
        except yaml.YAMLError as exc:
            raise LastmileError(
                f"the journey is not valid YAML: {exc}".replace("\n", " "),
                hint="see docs/journey.md for an example",
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_flags(
        cls,
        stages: str | Sequence[str],
        finish: str | None = None,
        fail: str | Sequence[str] | None = None,
        last_mile: str | None = None,
        timeout: str | timedelta | None = None,
        value: str | None = None,
    ) -> Journey:
        """Build a journey from command-line flags.

        ``stages`` is comma-separated, with ``|`` between several activities of one stage; a
        stage of several activities is named after its first. ``finish`` and ``last_mile`` may
        name a stage or one of its activities; a finish that is not among the stages is added
        as the last stage. ``fail`` is a comma-separated list of failure activities.

        >>> j = Journey.from_flags("A,B|C,D", fail="X,Y", timeout="2w")
        >>> [(s.name, s.activities) for s in j.stages]
        [('A', ('A',)), ('B', ('B', 'C')), ('D', ('D',))]
        >>> j.failure, j.last_mile
        (('X', 'Y'), 'B')
        >>> Journey.from_flags("A,B", finish="C").stage_names
        ('A', 'B', 'C')
        """
        parts = stages.split(",") if isinstance(stages, str) else list(stages)
        stage_list = []
        for part in parts:
            acts = tuple(a.strip() for a in str(part).split("|") if a.strip())
            if acts:
                stage_list.append(Stage(acts[0], acts))
        if not stage_list:
            raise LastmileError("--stages is empty", hint="for example  --stages 'A,B|C,D'")

        def resolve(name: str | None) -> str:
            if not name:
                return ""
            name = name.strip()
            for s in stage_list:
                if name == s.name or name in s.activities:
                    return s.name
            return name

        finish_name = resolve(finish)
        if finish_name and finish_name not in [s.name for s in stage_list]:
            stage_list.append(Stage(finish_name, (finish_name,)))
        failure: tuple[str, ...] = ()
        if fail:
            items = fail.split(",") if isinstance(fail, str) else list(fail)
            failure = tuple(a.strip() for a in items if a.strip())
        return cls(
            stages=tuple(stage_list),
            finish=finish_name,
            last_mile=resolve(last_mile),
            failure=failure,
            timeout=parse_duration(timeout) if timeout else None,
            value=value or None,
        )

    # ------------------------------------------------------------------------ writers
    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON form: plain dicts, lists, strings and numbers.

        >>> Journey.from_flags("A,B", timeout="30d").to_dict()
        {'stages': [{'name': 'A', 'activities': ['A']}, {'name': 'B', 'activities': ['B']}], \
'finish': 'B', 'last_mile': 'A', 'timeout': '30d'}
        """
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        out["stages"] = [{"name": s.name, "activities": list(s.activities)} for s in self.stages]
        out["finish"] = self.finish
        out["last_mile"] = self.last_mile
        if self.failure:
            out["failure"] = list(self.failure)
        if self.reversal is not None:
            rev: dict[str, Any] = {"activities": list(self.reversal.activities)}
            if self.reversal.window is not None:
                rev["window"] = format_duration(self.reversal.window)
            out["reversal"] = rev
        if self.timeout is not None:
            out["timeout"] = format_duration(self.timeout)
        if self.value:
            out["value"] = self.value
        if self.cost is not None:
            out["cost"] = self.cost.to_dict()
        return out

    def to_yaml(self, with_comments: bool = True) -> str:
        """The journey as YAML text that :meth:`from_yaml` reads back.

        With ``with_comments`` the :attr:`notes` are written as comments above their keys.

        >>> j = Journey.from_flags("a,b")
        >>> print(j.to_yaml(), end="")
        stages:
        - name: a
          activities: [a]
        - name: b
          activities: [b]
        finish: b
        last_mile: a
        """
        text = yaml.safe_dump(
            self.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
        )
        notes = self.notes if with_comments else {}
        if not notes:
            return text
        parts = [_comment(notes[""])] if notes.get("") else []
        for line in text.splitlines(keepends=True):
            key = line.split(":", 1)[0] if line[:1].isalpha() else ""
            if key and notes.get(key):
                parts.append(_comment(notes[key]))
            parts.append(line)
        return "".join(parts)

    # --------------------------------------------------------------------- validation
    def validate(
        self, activities: Mapping[str, int], columns: Iterable[str] | None = None
    ) -> Journey:
        """Check the journey against a log; raise :class:`LastmileError` if it does not fit.

        ``activities`` maps each activity of the log to its number of events; ``columns``
        (optional) lists the event table's columns, to check ``value`` and ``cost.attribute``.
        Every activity the journey names must occur in the log; the error lists each missing
        name with the nearest names that do occur.

        >>> j = Journey.from_flags("Order placed,Service activated")
        >>> j.validate({"Order placed": 10, "Service activated": 4}) is j
        True
        >>> j.validate({"Order placed": 10, "service activated": 4})
        Traceback (most recent call last):
        ...
        lastmile.errors.LastmileError: activity 'Service activated' (stage 'Service activated') \
never occurs in the log (did you mean 'service activated'?)
        """
        missing = []
        roles: dict[str, str] = {}
        for s in self.stages:
            for a in s.activities:
                roles.setdefault(a, f"stage {s.name!r}")
        for a in self.failure:
            roles.setdefault(a, "failure")
        if self.reversal is not None:
            for a in self.reversal.activities:
                roles.setdefault(a, "reversal")
        if self.cost is not None and self.cost.per_activity is not None:
            for a in self.cost.per_activity:
                roles.setdefault(a, "cost")
        for a in self.activities:
            if not activities.get(a):
                missing.append(a)
        if missing:
            known = list(activities)
            parts = [f"activity {a!r} ({roles[a]}) never occurs in the log" for a in missing]
            hints = [h for h in (_suggest(a, known) for a in missing) if h]
            if len(missing) == 1:
                raise LastmileError(parts[0], hint=hints[0] if hints else _few(known))
            raise LastmileError(
                "; ".join(parts),
                hint="; ".join(f"{a!r}: {_suggest(a, known) or 'no close match'}" for a in missing),
            )
        if columns is not None:
            cols = list(columns)
            for what, col in (
                ("value", self.value),
                ("cost attribute", self.cost.attribute if self.cost else None),
            ):
                if col and col not in cols:
                    raise LastmileError(
                        f"the {what} column {col!r} is not in the log",
                        hint=_suggest(col, cols) or _few(cols),
                    )
        return self


def _comment(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines())


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in sorted(names)[:8])
    more = f" and {len(names) - 8} more" if len(names) > 8 else ""
    return f"the log has {shown}{more}"
