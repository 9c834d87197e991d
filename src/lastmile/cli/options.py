"""Options shared by every command that reads a log, so that they behave the same everywhere.

A command declares ``case: CaseOpt = None`` and so on, then calls :func:`open_log` with them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lastmile.cli.app import err_console
from lastmile.io import read_log
from lastmile.log import Log

LOG_HELP = ("event log: .csv/.tsv, .parquet, .xes/.xes.gz, .jsonl (any .gz), a .duckdb file "
            "from `lastmile load`, or postgresql://…?table=NAME")

LogArg = Annotated[str, typer.Argument(help=LOG_HELP, show_default=False)]
CaseOpt = Annotated[str | None, typer.Option("--case", help="column with the case id",
                                             rich_help_panel="Column mapping")]
ActivityOpt = Annotated[str | None, typer.Option("--activity", help="column with the activity",
                                                 rich_help_panel="Column mapping")]
TimestampOpt = Annotated[str | None, typer.Option("--timestamp", help="column with the time",
                                                  rich_help_panel="Column mapping")]
ResourceOpt = Annotated[str | None, typer.Option("--resource", help="column with who did it",
                                                 rich_help_panel="Column mapping")]
DayfirstOpt = Annotated[bool | None, typer.Option(
    "--dayfirst/--monthfirst", help="read 01/02/2024 as 1 Feb (--dayfirst) or 2 Jan; "
    "default: decided from the data", rich_help_panel="Reading")]
TzOpt = Annotated[str, typer.Option("--tz", help="time zone of times without an offset",
                                    rich_help_panel="Reading")]
LifecycleOpt = Annotated[str, typer.Option(
    "--lifecycle", help="'auto': only 'complete' events where the log uses standard XES "
    "lifecycle transitions; 'all': every event; or comma-separated values to keep",
    rich_help_panel="Reading")]
DedupeOpt = Annotated[bool, typer.Option("--dedupe", help="drop exact duplicate events",
                                         rich_help_panel="Reading")]
QuarantineOpt = Annotated[Path | None, typer.Option(
    "--quarantine", help="where to write unusable rows "
    "(default: `./<name>.quarantine.<ext>`, only when there are any)",
    rich_help_panel="Reading")]


def open_log(
    log: str,
    *,
    case: str | None = None,
    activity: str | None = None,
    timestamp: str | None = None,
    resource: str | None = None,
    dayfirst: bool | None = None,
    tz: str = "UTC",
    lifecycle: str = "auto",
    dedupe: bool = False,
    quarantine: Path | None = None,
    db: str | None = None,
    quiet: bool = False,
) -> Log:
    """Read a log the way every command does, and print the data-quality line on stderr."""
    from lastmile.io.sources import Source
    from lastmile.io.writers import default_quarantine_path

    src = Source.of(log)
    target: Any = quarantine
    if target is None and src.format not in ("duckdb", "postgres"):
        target = default_quarantine_path(src)
    keep: Any = lifecycle if lifecycle in ("auto", "all") else \
        [v.strip() for v in lifecycle.split(",") if v.strip()]
    result = read_log(log, case=case, activity=activity, timestamp=timestamp,
                      resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=keep,
                      dedupe=dedupe, quarantine=target, db=db,
                      progress=sys.stderr.isatty())
    if not quiet:
        print_accounting(result)
    return result


def print_accounting(log: Log) -> None:
    """One line that accounts for every row read, then any warnings; on stderr."""
    a = log.accounting
    parts = [f"read {a.read:,}", f"loaded {a.loaded:,}"]
    if a.filtered:
        parts.append(f"filtered {a.filtered:,} ({a.filter_rule})")
    if a.deduplicated:
        parts.append(f"dropped {a.deduplicated:,} duplicates")
    colour = "yellow" if a.quarantined else "green"
    parts.append(f"[{colour}]quarantined {a.quarantined:,}[/]")
    err_console.print(f"[dim]{log.source}:[/] " + " · ".join(parts))
    for reason, n in a.reasons.items():
        err_console.print(f"  [yellow]{n:,}[/] {reason}")
    if log.quarantine_file:
        err_console.print(f"  quarantined rows with their reason: {log.quarantine_file}")
    for w in log.warnings:
        err_console.print(f"[yellow]warning:[/] {w}")


# ----------------------------------------------------------------------------- journey
JourneyOpt = Annotated[Path | None, typer.Option(
    "--journey", "-j", help="journey YAML (see docs/journey.md); `lastmile infer` proposes one",
    rich_help_panel="Journey")]
StagesOpt = Annotated[str | None, typer.Option(
    "--stages", help="ordered stages, comma-separated; '|' between several activities of one "
    "stage, e.g. 'Ordered,Surveyed,Drop laid,Activated'", rich_help_panel="Journey")]
FinishOpt = Annotated[str | None, typer.Option(
    "--finish", help="the finish stage or activity (default: the last stage)",
    rich_help_panel="Journey")]
FailOpt = Annotated[str | None, typer.Option(
    "--fail", help="comma-separated activities that mark an explicit failure",
    rich_help_panel="Journey")]
LastMileOpt = Annotated[str | None, typer.Option(
    "--last-mile", help="stage where the last mile begins (default: the stage before the "
    "finish)", rich_help_panel="Journey")]
TimeoutOpt = Annotated[str | None, typer.Option(
    "--timeout", help="silence after which an unfinished case counts as abandoned, e.g. 30d",
    rich_help_panel="Journey")]
ValueOpt = Annotated[str | None, typer.Option(
    "--value", help="case attribute with the value at stake", rich_help_panel="Journey")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="look at the log as it was at this time (ISO 8601; UTC without offset)",
    rich_help_panel="Journey")]


def resolve_journey(
    log: Log,
    journey: Path | None = None,
    *,
    stages: str | None = None,
    finish: str | None = None,
    fail: str | None = None,
    last_mile: str | None = None,
    timeout: str | None = None,
    value: str | None = None,
) -> Any:
    """The journey from ``--journey``, from ``--stages`` flags, or inferred from the log.

    Flags given next to ``--journey`` override the file's values. The journey is checked
    against the log (unknown activities get a did-you-mean).
    """
    from lastmile.errors import LastmileError
    from lastmile.journey import Journey, parse_duration

    if journey is not None and stages:
        raise LastmileError("give either --journey or --stages, not both")
    if journey is not None:
        j = Journey.from_yaml(journey)
        changes: dict[str, Any] = {}
        if finish:
            changes["finish"] = finish
        if last_mile:
            changes["last_mile"] = last_mile
        if timeout:
            changes["timeout"] = parse_duration(timeout)
        if value:
            changes["value"] = value
        if fail:
            changes["failure"] = tuple(a.strip() for a in fail.split(",") if a.strip())
        if changes:
            data = j.to_dict()
            data.update({k: v for k, v in changes.items() if k != "timeout"})
            if timeout:
                data["timeout"] = timeout
            j = Journey.from_dict(data)
    elif stages:
        j = Journey.from_flags(stages, finish=finish, fail=fail, last_mile=last_mile,
                               timeout=timeout, value=value)
    else:
        from lastmile.infer import infer_journey

        j = infer_journey(log.table)
        err_console.print(
            "[yellow]no journey given:[/] inferred "
            + " → ".join(s.name for s in j.stages)
            + f" (finish {j.finish!r}); write it out with `lastmile infer LOG -o journey.yaml`"
        )
    j.validate(log.activity_counts(), columns=log.table.columns)
    return j


READING = ("case", "activity", "timestamp", "resource", "dayfirst", "tz", "lifecycle", "dedupe",
           "quarantine")


def open_log_and_journey(log: str, quiet: bool = False, **options: Any) -> tuple[Log, Any]:
    """Read the log and resolve the journey from the options every analysis command takes.

    ``options`` are the reading options (:data:`READING`) plus ``journey`` and the journey
    flags of :func:`resolve_journey`.
    """
    reading = {k: options.pop(k) for k in READING if k in options}
    the_log = open_log(log, quiet=quiet, **reading)
    return the_log, resolve_journey(the_log, options.pop("journey", None), **options)


def write_output(text: str, target: str, what: str = "") -> None:
    """Write ``text`` to the file ``target``, or to stdout when it is ``-``."""
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {what + ' to ' if what else ''}{target}")

