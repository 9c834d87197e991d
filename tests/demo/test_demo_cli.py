"""``lastmile demo`` from the command line: list, write, null, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lastmile.cli import app

runner = CliRunner()


def test_list_shows_every_scenario_with_its_causes():
    result = runner.invoke(app, ["demo", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("telecom", "marathon", "campaign", "carsales", "school", "weightloss"):
        assert name in result.output
    assert "SubCo B" in result.output and "Mark T." in result.output


def test_demo_writes_the_files(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "school", "--cases", "300", "--seed", "2", "-o",
                                 str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("events.csv", "events.parquet", "journey.yaml", "truth.json"):
        assert (out / name).stat().st_size > 0
    truth = json.loads((out / "truth.json").read_text())
    assert truth["n_cases"] == 300 and truth["seed"] == 2 and not truth["null"]
    assert "Mr. Keller" in result.output


def test_demo_null(tmp_path):
    result = runner.invoke(app, ["demo", "campaign", "-n", "300", "--null", "-o",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["null"] and {c["effect"] for c in truth["causes"]} == {1.0}


def test_unknown_scenario_is_one_red_line():
    result = runner.invoke(app, ["demo", "rocket"])
    assert result.exit_code == 2
    assert "no demo scenario named 'rocket'" in result.output
    assert "Traceback" not in result.output


def test_race_only_with_marathon(tmp_path):
    result = runner.invoke(app, ["demo", "telecom", "--race", str(tmp_path)])
    assert result.exit_code == 2 and "marathon demo only" in result.output


def test_marathon_writes_the_real_race_and_its_report(tmp_path):
    import json

    from tests.conftest import shared_file

    races = shared_file("ultramarathon/vp_list.yaml").parent
    out = tmp_path / "m"
    result = runner.invoke(app, ["demo", "marathon", "--cases", "800", "-o", str(out),
                                 "--race", str(races)])
    assert result.exit_code == 0, result.output
    html = (out / "race" / "report.html").read_text()
    assert "data-chart=\"funnel\"" in html
    data = json.loads(html.split('id="lastmile-data">', 1)[1].split("</script>", 1)[0])
    # the report of the real race counts the runners that failed in the last quarter
    assert data["last_mile"]["failed"] + data["last_mile"]["reversed"] == 90
    assert data["cases"] == 2295
