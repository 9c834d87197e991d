"""`lastmile report --by ATTR`: the breakdown adds up to the whole and matches pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from lastmile.cli import app
from lastmile.demo import generate, write


def test_report_by_region_adds_up_and_matches_pandas(tmp_path: Path) -> None:
    folder = tmp_path / "telecom"
    write(generate("telecom", cases=1500, seed=5), folder)
    out = tmp_path / "r.json"
    html = tmp_path / "r.html"
    result = CliRunner().invoke(app, [
        "report", str(folder / "events.parquet"), "-j", str(folder / "journey.yaml"),
        "--by", "region", "--no-why", "--json", str(out), "-o", str(html)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    rows = data["by"]["rows"]
    # cases per region, counted independently from the raw events (first region of each case)
    ev = pd.read_parquet(folder / "events.parquet").sort_values(["case_id", "timestamp"])
    first = ev.dropna(subset=["region"]).groupby("case_id")["region"].first()
    expected = first.value_counts().to_dict()
    missing = ev["case_id"].nunique() - len(first)
    if missing:
        expected["(missing)"] = missing
    assert {r["region"]: r["cases"] for r in rows} == expected
    # the parts add up to the whole report
    for key in ("entered", "finished", "failed", "open"):
        assert sum(r[f"lm_{key}"] for r in rows) == data["last_mile"][key]
    assert sum(r["cases"] for r in rows) == data["cases"]
    assert "By segment" in html.read_text() and "why" not in data
