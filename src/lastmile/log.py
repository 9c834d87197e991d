"""The :class:`Log`: an event table on an engine, with what is known about how it was read.

>>> import pandas as pd, lastmile
>>> df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["start", "end", "start"],
...                    "timestamp": ["2024-01-01 09:00", "2024-01-02 10:00", "2024-01-01"]})
>>> log = lastmile.read_log(df)
>>> info = log.inspect()
>>> info.cases, info.events, info.activities
(2, 3, {'start': 2, 'end': 1})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from lastmile.io.columns import ColumnMapping
from lastmile.io.normalize import Accounting, Attribute


@dataclass
class Inspection:
    """What ``lastmile inspect`` shows: sizes, activities, time span, mapping, attributes."""

    source: str
    cases: int
    events: int
    activities: dict[str, int]
    start: str | None
    end: str | None
    mapping: dict[str, str | None]
    time_format: str
    attributes: list[dict[str, Any]]
    accounting: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    quarantine_file: str | None = None

    SCHEMA = "lastmile.inspect/1"

    def to_dict(self) -> dict[str, Any]:
        """Plain data with the documented keys (``docs/inspect.md``)."""
        return {
            "schema": self.SCHEMA,
            "source": self.source,
            "cases": self.cases,
            "events": self.events,
            "activities": self.activities,
            "time_span": {"start": self.start, "end": self.end},
            "mapping": self.mapping,
            "time_format": self.time_format,
            "attributes": self.attributes,
            "read": self.accounting.get("read"),
            "loaded": self.accounting.get("loaded"),
            "quarantined": self.accounting.get("quarantined"),
            "filtered": self.accounting.get("filtered"),
            "duplicates": self.accounting.get("duplicates"),
            "accounting": self.accounting,
            "quarantine_file": self.quarantine_file,
            "warnings": self.warnings,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The inspection as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def to_frame(self) -> pd.DataFrame:
        """Activities with their event counts, most frequent first."""
        return pd.DataFrame(
            {"activity": list(self.activities), "events": list(self.activities.values())}
        )

    @property
    def summary(self) -> str:
        """A short plain-text summary."""
        a = self.accounting
        return (
            f"{self.source}: {self.cases:,} cases, {self.events:,} events, "
            f"{len(self.activities)} activities, {self.start} – {self.end}; "
            f"read {a.get('read', 0):,}, quarantined {a.get('quarantined', 0):,}, "
            f"filtered {a.get('filtered', 0):,}"
        )


class Log:
    """An event log on an engine: ``table`` (Ibis) plus mapping, attributes and accounting.

    Create one with :func:`lastmile.read_log`. The table has the columns ``case_id``,
    ``activity``, ``timestamp`` (UTC), ``resource``, ``event_index`` and the attributes.
    """

    def __init__(
        self,
        con: Any,
        table: ibis.Table,
        *,
        source: str,
        mapping: ColumnMapping | dict[str, Any],
        attributes: dict[str, Attribute],
        accounting: Accounting,
        time_format: str = "ISO 8601",
        warnings: list[str] | None = None,
        quarantine: ibis.Table | None = None,
    ) -> None:
        self.con = con
        self.table = table
        self.source = source
        self.mapping = mapping if isinstance(mapping, ColumnMapping) else ColumnMapping(**mapping)
        self.attributes = attributes
        self.accounting = accounting
        self.time_format = time_format
        self.warnings = list(warnings or [])
        self.quarantine = quarantine
        self.quarantine_file: Path | None = None

    def __repr__(self) -> str:
        return (f"<Log {self.source}: {self.accounting.loaded:,} events, "
                f"{len(self.attributes)} attributes>")

    @property
    def case_attributes(self) -> list[str]:
        """Attributes that are constant within every case."""
        return [a.name for a in self.attributes.values() if a.kind == "case"]

    @property
    def event_attributes(self) -> list[str]:
        """Attributes that vary within a case."""
        return [a.name for a in self.attributes.values() if a.kind == "event"]

    def activity_counts(self) -> dict[str, int]:
        """Events per activity, most frequent first (ties by name)."""
        t = self.table
        df = (t.group_by("activity").aggregate(n=t.count())
              .order_by([ibis.desc("n"), "activity"]).to_pandas())
        return {str(a): int(n) for a, n in zip(df["activity"], df["n"], strict=True)}

    def inspect(self) -> Inspection:
        """Sizes, activities, time span, mapping, attributes and the quarantine summary."""
        t = self.table
        agg = t.aggregate(
            cases=t.case_id.nunique(), events=t.count(),
            start=t.timestamp.min(), end=t.timestamp.max(),
        ).to_pandas().iloc[0]

        def iso(v: Any) -> str | None:
            return None if pd.isna(v) else pd.Timestamp(v).isoformat()

        return Inspection(
            source=self.source,
            cases=int(agg["cases"]),
            events=int(agg["events"]),
            activities=self.activity_counts(),
            start=iso(agg["start"]),
            end=iso(agg["end"]),
            mapping=self.mapping.to_dict(),
            time_format=self.time_format,
            attributes=[a.to_dict() for a in self.attributes.values()],
            accounting=self.accounting.to_dict(),
            warnings=self.warnings,
            quarantine_file=str(self.quarantine_file) if self.quarantine_file else None,
        )

    def to_pandas(self) -> pd.DataFrame:
        """The whole event table as a pandas DataFrame, in case and time order."""
        return self.table.order_by(["case_id", "timestamp", "event_index"]).to_pandas()

    def quarantined(self) -> pd.DataFrame:
        """The quarantined rows with their original values and ``reason``."""
        if self.quarantine is None:
            return pd.DataFrame(columns=["reason"])
        return self.quarantine.to_pandas()
