"""`lastmile report` from a real log to the page in Chromium: every section's chart drawn."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from tests.conftest import shared_file
from typer.testing import CliRunner

from lastmile.cli import app

_spec = importlib.util.spec_from_file_location(
    "lastmile_report_browser_helpers", Path(__file__).with_name("test_report_browser.py"))
helpers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = helpers
_spec.loader.exec_module(helpers)
browser = helpers.browser  # the fixture

BPIC_STAGES = "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED"


@pytest.mark.browser
def test_bpic2012_report_end_to_end(browser, tmp_path: Path) -> None:
    src = shared_file("bpic2012/bpic2012.xes.gz")
    html, data = tmp_path / "bpic.html", tmp_path / "bpic.json"
    result = CliRunner().invoke(app, [
        "report", str(src), "--stages", BPIC_STAGES, "--fail", "A_DECLINED,A_CANCELLED",
        "--timeout", "30d", "-o", str(html), "--json", str(data)])
    assert result.exit_code == 0, result.output
    d = json.loads(data.read_text())
    assert [r["reached"] for r in d["funnel"]] == [13087, 7367, 5113, 5015, 3254, 2246]
    assert (d["last_mile"]["entered"], d["last_mile"]["finished"]) == (3254, 2246)
    page, log = helpers.open_report(browser, html, 1280)
    try:
        charts = page.evaluate(helpers.MEASURE)
        assert log["errors"] == [] and log["failed"] == []
        assert log["requests"] == [html.as_uri()]
        drawn = {c["chart"] for c in charts if c["svgs"] == 1 and c["width"] > 0
                 and c["height"] > 0}
        assert drawn == {"funnel", "last_mile", "stranded", "trend", "timing", "status", "why"}
        # the going-cold line sits where the data says
        cold = page.get_attribute("[data-chart=timing] [data-going-cold]", "data-going-cold")
        assert cold is not None
        assert float(cold) == pytest.approx(d["timing"]["going_cold_hours"], abs=0.01)
    finally:
        page.close()
