"""Counts on the real public logs are exactly right, and survive a round trip through convert."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import shared_file

import lastmile

# (file, cases, events) as published in ../shared/data/MANIFEST.md
PUBLISHED = [
    ("bpic2012/bpic2012.xes.gz", 13_087, 164_506),  # lifecycle complete (the default)
    ("helpdesk/helpdesk.xes.gz", 4_580, 21_348),
    ("sepsis/sepsis.csv.gz", 1_050, 15_214),
    ("receipt/receipt.xes.gz", 1_434, 8_577),
]


@pytest.mark.parametrize(("name", "cases", "events"), PUBLISHED)
def test_published_counts(name: str, cases: int, events: int) -> None:
    info = lastmile.read_log(shared_file(name)).inspect()
    assert (info.cases, info.events) == (cases, events)
    assert sum(info.activities.values()) == events
    assert info.accounting["balanced"]


def test_bpic2012_all_lifecycle_events() -> None:
    path = shared_file("bpic2012/bpic2012.xes.gz")
    every = lastmile.read_log(path, lifecycle="all")
    assert every.accounting.loaded == 262_200
    default = lastmile.read_log(path)
    assert default.accounting.read == 262_200
    assert default.accounting.filtered == 262_200 - 164_506
    assert default.accounting.filter_rule == "lifecycle = complete"


def _xes_counts(path: Path) -> tuple[int, Counter[str]]:
    """Independent count with the standard library's XML parser."""
    traces, acts = 0, Counter()
    with gzip.open(path) as fh:
        for _, el in ET.iterparse(fh):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "event":
                for child in el:
                    if child.get("key") == "concept:name":
                        acts[child.get("value")] += 1
                el.clear()
            elif tag == "trace":
                traces += 1
                el.clear()
    return traces, acts


def test_helpdesk_activity_counts_match_an_independent_parser() -> None:
    path = shared_file("helpdesk/helpdesk.xes.gz")
    traces, acts = _xes_counts(path)
    info = lastmile.read_log(path).inspect()
    assert info.cases == traces
    assert info.activities == dict(acts)


def test_sepsis_matches_pandas_and_keeps_case_NA() -> None:
    path = shared_file("sepsis/sepsis.csv.gz")
    df = pd.read_csv(path, keep_default_na=False, dtype=str)
    log = lastmile.read_log(path)
    info = log.inspect()
    assert info.activities == df["activity"].value_counts().to_dict()
    assert info.cases == df["case_id"].nunique()
    cases = set(log.table.case_id.to_pandas())
    assert "NA" in cases
    # the earliest and latest times are the file's (all naive UTC)
    assert pd.Timestamp(info.start) == pd.to_datetime(df["timestamp"]).min()
    assert pd.Timestamp(info.end) == pd.to_datetime(df["timestamp"]).max()
    attrs = {a["name"]: a for a in info.attributes}
    assert attrs["age"]["kind"] == "case" and attrs["age"]["dtype"] == "number"
    assert attrs["crp"]["kind"] == "event"
    assert attrs["diagnosticblood"]["dtype"] == "bool"


def _signature(log: lastmile.Log) -> tuple[int, int, dict[str, int], pd.DataFrame]:
    info = log.inspect()
    per_case = (log.table.group_by("case_id").aggregate(n=log.table.count(),
                                                        first=log.table.timestamp.min())
                .to_pandas().sort_values("case_id").reset_index(drop=True))
    return info.cases, info.events, info.activities, per_case


@pytest.mark.parametrize("name", ["bpic2012/bpic2012.xes.gz", "helpdesk/helpdesk.xes.gz",
                                  "sepsis/sepsis.csv.gz"])
@pytest.mark.parametrize("ext", [".csv", ".parquet", ".xes.gz"])
def test_round_trip_through_convert(name: str, ext: str, tmp_path: Path) -> None:
    original = lastmile.read_log(shared_file(name))
    out = lastmile.write_log(original, tmp_path / f"log{ext}")
    again = lastmile.read_log(out)
    a, b = _signature(original), _signature(again)
    assert a[:3] == b[:3]
    pd.testing.assert_frame_equal(a[3], b[3], check_dtype=False)
    assert again.accounting.quarantined == 0
    assert set(again.case_attributes) == set(original.case_attributes)
