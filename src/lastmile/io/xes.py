"""Write XES (and XES.gz): the standard event-log format of process mining.

Reading goes through ``rustxes`` (see :mod:`lastmile.io.readers`); writing is a small
streaming writer so that a log of any size is written batch by batch.

>>> import datetime as dt, io
>>> buf = io.StringIO()
>>> rows = [{"case_id": "c1", "activity": "A", "timestamp": dt.datetime(2020, 1, 1)}]
>>> write_xes_rows(rows, buf, case_key="case_id", case_attributes={})
1
>>> "<string key=\\"concept:name\\" value=\\"A\\"/>" in buf.getvalue()
True
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
from collections.abc import Iterable, Mapping
from typing import Any, TextIO
from xml.sax.saxutils import quoteattr

HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
"""
# canonical column -> XES key
XES_KEYS = {"activity": "concept:name", "timestamp": "time:timestamp", "resource": "org:resource"}


def _attr(key: str, value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    k = quoteattr(key)
    if isinstance(value, bool):
        return f"<boolean key={k} value=\"{'true' if value else 'false'}\"/>"
    if isinstance(value, int):
        return f"<int key={k} value=\"{value}\"/>"
    if isinstance(value, float):
        return f"<float key={k} value=\"{value!r}\"/>"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return f"<date key={k} value={quoteattr(value.isoformat(timespec='milliseconds'))}/>"
    if isinstance(value, dt.date):
        return f"<date key={k} value=\"{value.isoformat()}T00:00:00.000+00:00\"/>"
    return f"<string key={k} value={quoteattr(str(value))}/>"


def write_xes_rows(
    rows: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    case_key: str,
    case_attributes: Mapping[str, str],
    keys: Mapping[str, str] | None = None,
) -> int:
    """Write rows (already grouped by case) as XES traces; returns the number of events.

    ``case_attributes`` maps column -> XES key for trace-level attributes; ``keys`` renames
    event columns (default: the canonical columns to their XES keys).
    """
    keys = dict(XES_KEYS if keys is None else keys)
    out.write(HEADER)
    current: object = object()
    open_trace = False
    n = 0
    for row in rows:
        case = row.get(case_key)
        if case != current:
            if open_trace:
                out.write("\t</trace>\n")
            out.write("\t<trace>\n")
            line = _attr("concept:name", "" if case is None else str(case))
            out.write(f"\t\t{line}\n")
            for col, key in case_attributes.items():
                line = _attr(key, row.get(col))
                if line:
                    out.write(f"\t\t{line}\n")
            current, open_trace = case, True
        out.write("\t\t<event>\n")
        for col, value in row.items():
            if col == case_key or col in case_attributes:
                continue
            line = _attr(keys.get(col, col), value)
            if line:
                out.write(f"\t\t\t{line}\n")
        out.write("\t\t</event>\n")
        n += 1
    if open_trace:
        out.write("\t</trace>\n")
    out.write("</log>\n")
    return n


def open_text(path: str, compressed: bool) -> TextIO:
    """Open ``path`` for writing UTF-8 text, gzip-compressed when asked."""
    if compressed:
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=5)  # type: ignore[return-value]
    return open(path, "w", encoding="utf-8")
