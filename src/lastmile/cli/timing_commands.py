"""``lastmile timing``: how long the last mile takes, and when a case goes cold."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
    open_log_and_journey,
)


def _write(text: str, target: str, what: str) -> None:
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {what} to {target}")


@app.command()
@friendly
def timing(
    log: LogArg,
    by: Annotated[str | None, typer.Option(
        "--by", help="a case attribute: one curve per segment as well (numbers are split into "
        "quartiles, times into months)")] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", help="going cold: when the chance of finishing falls below this share "
        "of the chance at entry", min=0.01, max=0.99)] = 0.5,
    json_out: Annotated[str | None, typer.Option(
        "--json", help="write the result as JSON (schema lastmile.timing/1); '-' for "
        "stdout")] = None,
    svg_out: Annotated[Path | None, typer.Option(
        "--svg", help="write the chart (inline SVG, no scripts) to this file")] = None,
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """How long cases take from entering the last mile to the finish, and when they go cold.

    The share finished by each time since entering the last mile, with a 95 % band.
    Open cases are censored at the end of the log (or --as-of), never counted as lost;
    failed ones can no longer finish (Aalen–Johansen, see docs/timing.md).

    Going cold: when a case still live (neither finished nor failed) has less than half
    (--threshold) of the chance of finishing that a case has on entering. Follow up before.

    Example: `lastmile timing bpic2012.xes.gz --last-mile O_SENT_BACK --fail
    A_DECLINED,A_CANCELLED --timeout 30d --stages
    A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED`
    """
    from lastmile.timing import timing as compute_timing

    the_log, the_journey = open_log_and_journey(
        log, quiet=False, case=case, activity=activity, timestamp=timestamp,
        resource=resource, dayfirst=dayfirst, tz=tz, lifecycle=lifecycle, dedupe=dedupe,
        quarantine=quarantine, journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value)
    result = compute_timing(the_log.table, the_journey, as_of=as_of, by=by,
                            threshold=threshold, validate=False)
    if svg_out is not None:
        from lastmile.timing import timing_chart_svg

        _write(timing_chart_svg(result), str(svg_out), "the chart")
    if json_out:
        _write(result.to_json(), json_out, "the timing")
        if json_out == "-":
            return
    console.print(result.summary, markup=False, highlight=False, soft_wrap=True)
