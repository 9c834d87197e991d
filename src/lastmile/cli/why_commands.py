"""``lastmile why``: the drivers of last-mile failure, ranked, in the terminal or as JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
    open_log_and_journey,
)


def drivers_table(result: Any, limit: int = 15, show_all: bool = False) -> Table:
    """The ranked drivers as a rich table: significant ones, or all tested with ``show_all``.

    Fits an 80-column terminal: the interval sits under the rate, the confounders are named in
    the last column.
    """
    rows = [d for d in result.drivers if d["significant"] or show_all][:limit]
    title = "Drivers of last-mile failure"
    if result.baseline is not None:
        title += f" (baseline {result.baseline:.1%} of {result.population:,} cases)"
    table = Table(title=title, title_justify="left", header_style="bold", padding=(0, 1),
                  show_lines=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("driver", overflow="fold", ratio=3)
    table.add_column("fail (95 % CI)", justify="right", no_wrap=True)
    table.add_column("lift", justify="right", no_wrap=True)
    table.add_column("cases", justify="right", no_wrap=True)
    table.add_column("q", justify="right", style="dim", no_wrap=True)
    table.add_column("check", overflow="fold", ratio=2)
    for i, d in enumerate(rows, 1):
        risk = d["lift"] is not None and d["lift"] >= 1
        colour = "red" if risk else "cyan"
        if not d["significant"]:
            verdict = "[dim]not significant[/]"
        elif d.get("duplicate_of"):
            verdict = f"[dim]same cases as {d['duplicate_of']}[/]"
        elif d["holds_up"]:
            verdict = "[green]holds up[/]"
        elif d.get("confounder"):
            verdict = f"[yellow]explained by {d['confounder']}[/]"
        else:
            verdict = "[yellow]does not hold up[/]"
        table.add_row(
            str(i), f"{d['feature']} = [bold]{d['value']}[/]",
            f"[{colour}]{d['failure_rate']:.1%}[/]\n[dim]{d['ci_low']:.0%}–{d['ci_high']:.0%}[/]",
            f"[{colour}]×{d['lift']:.2f}[/]", f"{d['cases']:,}", f"{d['q_value']:.1g}",
            verdict)
    return table


@app.command()
@friendly
def why(
    log: LogArg,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="write the drivers as JSON (schema lastmile.why/1); '-' for stdout")
    ] = None,
    min_support: Annotated[int, typer.Option(
        "--min-support", help="driver values with fewer cases are not tested")] = 30,
    fdr: Annotated[float, typer.Option(
        "--fdr", help="false-discovery rate: features first (Simes + Benjamini–Hochberg), then "
        "values within the selected features (Benjamini–Bogomolov)")
    ] = 0.05,
    limit: Annotated[int, typer.Option("--top", help="rows to show in the table")] = 15,
    show_all: Annotated[bool, typer.Option(
        "--all", help="show the best values tested even when not significant")] = False,
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Why the last mile fails: the segments, people, paths and timings that drive failure.

    Compares the cases that entered the last mile and finished with those that failed there,
    value by value, with 95 % intervals, two-stage false-discovery q-values and a multivariate check
    ("holds up" or "explained by ...").

    Example: `lastmile why bpic2012.xes.gz --fail A_DECLINED,A_CANCELLED --stages
    A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED`
    """
    from lastmile.why import why as find_drivers

    quiet = json_out == "-"
    the_log, the_journey = open_log_and_journey(
        log, quiet=quiet, case=case, activity=activity, timestamp=timestamp,
        resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle, dedupe=dedupe,
        quarantine=quarantine, journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value)
    if sys.stderr.isatty() and not quiet:
        with err_console.status("comparing finished and failed cases…"):
            result = find_drivers(the_log, the_journey, as_of=as_of, min_support=min_support,
                                  fdr=fdr)
    else:
        result = find_drivers(the_log, the_journey, as_of=as_of, min_support=min_support,
                              fdr=fdr)
    if json_out:
        text = result.to_json()
        if json_out == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(json_out).write_text(text + "\n", encoding="utf-8")
            err_console.print(f"wrote {json_out}")
    if quiet:
        return
    console.print(result.summary.split("\n")[0], markup=False, highlight=False)
    for line in result.summary.split("\n")[1:]:
        if not line.startswith("  "):
            console.print(line, markup=False, highlight=False, style="dim")
    if result.drivers and (show_all or any(d["significant"] for d in result.drivers)):
        console.print(drivers_table(result, limit=limit, show_all=show_all))
    else:
        console.print("No driver passes the false-discovery rate: the failures in the last "
                      "mile are not explained by any single attribute, resource, path or "
                      "timing tested (try --all to see the closest).")
