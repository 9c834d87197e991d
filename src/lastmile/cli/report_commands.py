"""``lastmile report`` (where cases fail and what it costs) and ``lastmile infer``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lastmile.cli.app import app, console, err_console, friendly
from lastmile.cli.options import (
    ActivityOpt,
    AsOfOpt,
    CaseOpt,
    DayfirstOpt,
    DedupeOpt,
    FailOpt,
    FinishOpt,
    JourneyOpt,
    LastMileOpt,
    LifecycleOpt,
    LogArg,
    QuarantineOpt,
    ResourceOpt,
    StagesOpt,
    TimeoutOpt,
    TimestampOpt,
    TzOpt,
    ValueOpt,
    open_log,
    open_log_and_journey,
    write_output,
)
from lastmile.reporting import report_data


def write_case_csv(result: Any, folder: Path) -> list[Path]:
    """Write the case table, the funnel and the trend as CSV files into ``folder``."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    cases = folder / "cases.csv"
    result.case_table.order_by("case_id").to_pandas().to_csv(cases, index=False)
    funnel = folder / "funnel.csv"
    pd.DataFrame(result.funnel).to_csv(funnel, index=False)
    trend = folder / "trend.csv"
    pd.DataFrame(result.trend).to_csv(trend, index=False)
    return [cases, funnel, trend]


@app.command()
@friendly
def report(
    log: LogArg,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="write the self-contained HTML report here")] = None,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="write the report data as JSON (schema lastmile.report/1); '-' for "
        "stdout")] = None,
    csv_dir: Annotated[Path | None, typer.Option(
        "--csv", help="write the case table, funnel and trend as CSV files into this folder")
    ] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="break the funnel and last-mile measures down by this attribute")] = None,
    no_why: Annotated[bool, typer.Option(
        "--no-why", help="leave out the drivers section (faster on very large logs)")] = False,
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Where cases are lost, how much is lost in the last mile, and what went down with it.

    Example: `lastmile report bpic2012.xes.gz -o report.html --stages
    A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED`
    """
    quiet = json_out == "-"
    the_log, the_journey = open_log_and_journey(
        log, quiet=False, case=case, activity=activity, timestamp=timestamp,
        resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle, dedupe=dedupe,
        quarantine=quarantine, journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value)
    data, result = report_data(the_log, the_journey, as_of, drivers=not no_why, by=by)
    if json_out:
        import json

        write_output(json.dumps(data, indent=2, ensure_ascii=False, default=str), json_out)
    if csv_dir:
        for path in write_case_csv(result, csv_dir):
            err_console.print(f"wrote {path}")
    if output:
        from lastmile.report import write_html

        write_html(data, output)
        err_console.print(f"wrote {output}")
    if not quiet:
        console.print(result.summary, markup=False, highlight=False)
        if by:
            show_by(data["by"])


def show_by(section: dict[str, Any]) -> None:
    """The per-value breakdown as a terminal table."""
    from rich.table import Table

    table = Table(title=f"by {section['attribute']}", title_justify="left", show_edge=False)
    table.add_column(section["attribute"])
    for col in ("cases", "last mile entered", "finished", "failed", "open", "conversion"):
        table.add_column(col, justify="right")
    for r in section["rows"][:30]:
        conv = r.get("lm_conversion")
        table.add_row(str(r[section["attribute"]]), f"{r['cases']:,}", f"{r['lm_entered']:,}",
                      f"{r['lm_finished']:,}", f"{r['lm_failed']:,}", f"{r['lm_open']:,}",
                      "–" if conv is None else f"{conv:.1%}")
    console.print(table)


@app.command()
@friendly
def infer(
    log: LogArg,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="write the journey YAML here (default: print it)")] = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Propose a journey (stages, finish, failures, timeout) from a log, with reasons.

    The choices are explained in comments in the YAML; edit it and pass it to
    `lastmile report LOG --journey journey.yaml`.
    """
    from lastmile.infer import infer_journey

    the_log = open_log(log, case=case, activity=activity, timestamp=timestamp,
                       resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle,
                       dedupe=dedupe, quarantine=quarantine)
    proposed = infer_journey(the_log.table)
    text = proposed.to_yaml(with_comments=True)
    if output:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}: " + " → ".join(s.name for s in proposed.stages))
    else:
        sys.stdout.write(text)
