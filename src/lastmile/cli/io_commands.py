"""Commands that read and write logs: ``inspect``, ``load``, ``convert``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lastmile.cli.app import app, console, friendly
from lastmile.cli.options import (
    ActivityOpt,
    CaseOpt,
    DayfirstOpt,
    DedupeOpt,
    LifecycleOpt,
    LogArg,
    QuarantineOpt,
    ResourceOpt,
    TimestampOpt,
    TzOpt,
    open_log,
    write_output,
)
from lastmile.io import save_log, write_log
from lastmile.log import Inspection


def show_inspection(info: Inspection) -> None:
    """Print an inspection as tables that fit the terminal."""
    head = Table.grid(padding=(0, 2))
    head.add_row("[bold]cases[/]", f"{info.cases:,}")
    head.add_row("[bold]events[/]", f"{info.events:,}")
    head.add_row("[bold]activities[/]", f"{len(info.activities):,}")
    head.add_row("[bold]time span[/]", f"{info.start} → {info.end} (UTC)")
    m = info.mapping
    head.add_row("[bold]mapping[/]", ", ".join(f"{k}={v!r}" for k, v in m.items() if v))
    head.add_row("[bold]time format[/]", info.time_format)
    console.print(head)
    acts = Table(title="activities", title_justify="left", show_edge=False)
    acts.add_column("activity")
    acts.add_column("events", justify="right")
    acts.add_column("share", justify="right")
    for name, n in list(info.activities.items())[:40]:
        acts.add_row(name, f"{n:,}", f"{n / max(info.events, 1):.1%}")
    if len(info.activities) > 40:
        acts.add_row(f"… {len(info.activities) - 40} more", "", "")
    console.print(acts)
    if info.attributes:
        attrs = Table(title="attributes", title_justify="left", show_edge=False)
        for col in ("attribute", "level", "type", "distinct values"):
            attrs.add_column(col, justify="right" if col == "distinct values" else "left")
        for a in info.attributes:
            attrs.add_row(a["name"], a["kind"], a["dtype"], f"{a['cardinality']:,}")
        console.print(attrs)


@app.command()
@friendly
def inspect(
    log: LogArg,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="write the inspection as JSON to a file, or '-' for stdout")] = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Show what a log holds: cases, events, activities, time span, mapping, attributes.

    Every row read is accounted for: loaded, filtered (lifecycle), or quarantined with a
    reason in a file next to where you run the command.
    """
    result = open_log(log, case=case, activity=activity, timestamp=timestamp,
                      resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle,
                      dedupe=dedupe, quarantine=quarantine)
    info = result.inspect()
    if json_out:
        write_output(info.to_json(), json_out)
        if json_out == "-":
            return
    show_inspection(info)


@app.command()
@friendly
def load(
    log: LogArg,
    db: Annotated[str, typer.Option(
        "--db", help="DuckDB file (events.duckdb) or postgresql://…?table=NAME to keep the "
        "log in")],
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Read a log once and keep it in a database; later commands accept the database.

    Example: `lastmile load bpic2012.xes.gz --db events.duckdb`, then
    `lastmile inspect events.duckdb`.
    """
    result = open_log(log, case=case, activity=activity, timestamp=timestamp,
                      resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle,
                      dedupe=dedupe, quarantine=quarantine)
    where = save_log(result, db)
    console.print(f"loaded {result.accounting.loaded:,} events into {where}")


@app.command()
@friendly
def convert(
    log: LogArg,
    out: Annotated[Path, typer.Argument(help="output file: .csv, .tsv, .parquet, .xes, "
                                              ".xes.gz, .jsonl (or .csv.gz, .jsonl.gz)")],
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Write the normalised log (UTC times, standard column names) in another format."""
    from lastmile.io.writers import output_format

    output_format(out)  # fail on a bad name before reading anything
    result = open_log(log, case=case, activity=activity, timestamp=timestamp,
                      resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle,
                      dedupe=dedupe, quarantine=quarantine)
    path = write_log(result, out)
    console.print(f"wrote {result.accounting.loaded:,} events to {path}")
