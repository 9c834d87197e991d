"""Measures of the last mile, as Ibis expressions over the event table.

:func:`case_table` turns events into one row per case; :func:`funnel`, :func:`last_mile`,
:func:`stranded` and :func:`trend` aggregate the case table; :func:`compute_report` runs them
all and returns a :class:`Report` (JSON schema ``lastmile.report/1``). Definitions of every
measure: ``docs/measures.md``.

>>> from lastmile.measures import compute_report, Report
>>> Report.__name__
'Report'
"""

from __future__ import annotations

from lastmile.measures.cases import case_table
from lastmile.measures.funnel import funnel
from lastmile.measures.lastmile import last_mile
from lastmile.measures.report_data import SCHEMA, Report, activity_counts, compute_report
from lastmile.measures.stranded import stranded
from lastmile.measures.trend import trend

__all__ = [
    "SCHEMA",
    "Report",
    "activity_counts",
    "case_table",
    "compute_report",
    "funnel",
    "last_mile",
    "stranded",
    "trend",
]
