"""``lastmile queue``, ``lastmile train`` and ``lastmile evaluate``: who needs follow-through now.

Thin commands over :mod:`lastmile.queue`: read the log, resolve the journey, call the library,
print or write the result.
"""

from __future__ import annotations

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
    open_log_and_journey,
    write_output,
)

ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="a model from `lastmile train` (default: train one on the spot on "
    "the cases closed by --as-of)")]
JsonOpt = Annotated[str | None, typer.Option(
    "--json", help="write the result as JSON; '-' for stdout")]


def _deadline_text(row: Any) -> str:
    from lastmile.queue import _dur

    if row["deadline"] is None or str(row["deadline"]) == "NaT":
        return "-"
    if row["overdue"]:
        return f"[red]overdue {_dur(-row['hours_to_deadline'])}[/]"
    return f"in {_dur(row['hours_to_deadline'])}"


#: The "why" column needs at least this many characters; on a narrower terminal the reasons
#: go under the table, one line per case, instead of being squeezed into a sliver.
WHY_MIN_WIDTH = 30


def _top_reasons(row: Any) -> str:
    return "; ".join(row["reasons"][:2])


def _queue_table(q: Any, *, why: bool) -> Any:
    from rich.table import Table

    from lastmile.queue import _dur, _num

    table = Table(show_lines=False, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("case", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("risk", justify="right", no_wrap=True)
    if q.has_value:
        table.add_column("value", justify="right", no_wrap=True)
    table.add_column("in last mile", justify="right", no_wrap=True)
    table.add_column("follow up", no_wrap=True)
    if why:
        table.add_column("why", overflow="fold", min_width=WHY_MIN_WIDTH)
    for _, row in q.queue_.iterrows():
        risk = row["risk"]
        colour = "red" if risk >= 0.5 else "yellow" if risk >= 0.2 else "default"
        shown = ">99%" if risk > 0.99 else "<1%" if risk < 0.01 else f"{risk:.0%}"
        cells = [str(row["rank"]), str(row["case"]), str(row["stage"]),
                 f"[{colour}]{shown}[/]"]
        if q.has_value:
            cells.append(_num(float(row["value"])))
        cells += [_dur(row["hours_in_last_mile"]), _deadline_text(row)]
        if why:
            cells.append(_top_reasons(row))
        table.add_row(*cells)
    return table


def print_queue(q: Any) -> None:
    """The queue as a rich table, with its summary above.

    The top two reasons of each case are the table's last column where the terminal is wide
    enough for them (:data:`WHY_MIN_WIDTH`), else a line per case under the table.
    """
    from rich.markup import escape
    from rich.measure import Measurement

    console.print(q.summary, markup=False, highlight=False, soft_wrap=True)
    if not len(q.queue_):
        console.print("no live case in the last mile needs follow-through now")
        return
    narrow = _queue_table(q, why=False)
    if not q.model_ranks:  # no reasons without a model that ranks
        console.print(narrow)
    elif (Measurement.get(console, console.options, narrow).maximum + 3 + WHY_MIN_WIDTH
          <= console.width):
        console.print(_queue_table(q, why=True))
    else:
        console.print(narrow)
        console.print("[bold]why[/]")
        for _, row in q.queue_.iterrows():
            console.print(f"{row['rank']:>3}  {escape(str(row['case']))}: "
                          f"{escape(_top_reasons(row))}", highlight=False,
                          soft_wrap=True)
    console.print("[dim]follow up: time left before the case goes cold (deadlines and all "
                  "reasons in --json / --csv)[/]")


@app.command()
@friendly
def queue(
    log: LogArg,
    model: ModelOpt = None,
    capacity: Annotated[int | None, typer.Option(
        "--capacity", "-n", help="how many cases the team can follow up: show the top N",
        min=1)] = None,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", help="write the queue (within capacity) as CSV")] = None,
    json_out: JsonOpt = None,
    use_weak_model: Annotated[bool, typer.Option(
        "--use-weak-model", help="rank by the model's risk even if it has not shown on its "
        "held-back cases that it ranks better than chance")] = False,
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Live cases in the last mile, in the order that saves the most, each with a deadline.

    Open cases that reached the last mile by --as-of (default: the end of the log), except
    stale ones (silent past the timeout or twice the going-cold point: abandoned, not
    queued). Ranked by risk × value (risk alone without --value), weighted by how close each
    is to its going-cold point; each with its top reasons and a follow-up deadline (entry +
    going-cold point, or the timeout if sooner; "overdue" once past).

    Without --model, a risk model is trained on the spot on the cases closed by --as-of,
    from events up to --as-of only: what you could have known that morning. A model that has
    not shown on its held-back cases that it ranks better than chance (too few failures to
    learn from) does not rank: every case gets the average risk, ordered by value and
    urgency, with a warning (--use-weak-model to rank by it anyway).

    Example: `lastmile queue events.csv --journey journey.yaml --as-of 2024-06-01 -n 20`
    """
    from lastmile.queue import follow_through_queue

    the_log, the_journey = open_log_and_journey(
        log, json_out == "-", journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value, case=case, activity=activity,
        timestamp=timestamp, resource=resource, dayfirst=dayfirst, tz=tz,
        lifecycle=lifecycle, dedupe=dedupe, quarantine=quarantine)
    if model is None and json_out != "-":
        err_console.print("[dim]training a risk model on the cases closed by then…[/]")
    result = follow_through_queue(the_log, the_journey, as_of=as_of,
                                  model=str(model) if model is not None else None,
                                  capacity=capacity, use_weak_model=use_weak_model)
    if csv_out is not None:
        result.to_frame().to_csv(csv_out, index=False)
        err_console.print(f"wrote the queue to {csv_out}")
    if json_out:
        write_output(result.to_json(), json_out, "the queue")
        if json_out == "-":
            return
    print_queue(result)


@app.command()
@friendly
def train(
    log: LogArg,
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="where to write the model (a zip: header.json + booster.txt)")],
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """Learn the risk of last-mile failure from the cases closed by --as-of; save the model.

    Label: a case that entered the last mile failed, was abandoned, or finished and was
    reversed. Each closed case is seen as it stood at several moments of its last mile,
    using only the events up to each moment; the finishing, failure and reversal activities
    are never features. The model file records the journey and a fingerprint of the training
    data; `lastmile queue --model` and `lastmile evaluate --model` refuse it for another
    journey.

    Example: `lastmile train events.csv --journey journey.yaml -o model.lm`
    """
    from lastmile.queue import train_risk_model, weak_model_reason

    the_log, the_journey = open_log_and_journey(
        log, False, journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value, case=case, activity=activity,
        timestamp=timestamp, resource=resource, dayfirst=dayfirst, tz=tz,
        lifecycle=lifecycle, dedupe=dedupe, quarantine=quarantine)
    model = train_risk_model(the_log, the_journey, as_of)
    model.save(output)
    d = model.metadata or {}
    console.print(
        f"trained on {model.n_train_cases_:,} cases closed by {d['as_of'][:16]} "
        f"({d['n_failed']:,} failed in the last mile), {model.n_train_rows_:,} prediction "
        f"points, {len(model.feature_names_)} features, {model.n_trees_} trees; "
        f"fingerprint {model.fingerprint_}", markup=False, highlight=False, soft_wrap=True)
    if d.get("screened_out"):
        console.print("case attributes left out (the drivers analysis links none of them to "
                      f"failure): {', '.join(d['screened_out'])}", markup=False,
                      highlight=False, soft_wrap=True)
    weak = weak_model_reason(model)
    if weak is not None:
        err_console.print(f"warning: this model will not rank a queue: {weak} "
                          "(`lastmile queue --use-weak-model` ranks by it anyway)",
                          markup=False, highlight=False, soft_wrap=True)
    err_console.print(f"wrote {output}")


@app.command()
@friendly
def evaluate(
    log: LogArg,
    model: ModelOpt = None,
    train_ratio: Annotated[float, typer.Option(
        "--train-ratio", help="without --model: the share of cases (by first event) before "
        "the training moment", min=0.05, max=0.95)] = 0.8,
    json_out: JsonOpt = None,
    html_out: Annotated[Path | None, typer.Option(
        "--html", help="write a self-contained page with the calibration chart and the "
        "tables")] = None,
    against: Annotated[Path | None, typer.Option(
        "--against", help="an older model: score both on the cases closed after both "
        "training moments and say whether --model ranks them better (paired interval)")] = None,
    journey: JourneyOpt = None, stages: StagesOpt = None, finish: FinishOpt = None,
    fail: FailOpt = None, last_mile: LastMileOpt = None, timeout: TimeoutOpt = None,
    value: ValueOpt = None, as_of: AsOfOpt = None,
    case: CaseOpt = None, activity: ActivityOpt = None, timestamp: TimestampOpt = None,
    resource: ResourceOpt = None, dayfirst: DayfirstOpt = None, tz: TzOpt = "UTC",
    lifecycle: LifecycleOpt = "auto", dedupe: DedupeOpt = False,
    quarantine: QuarantineOpt = None,
) -> None:
    """How well the risk model ranks later cases: AUC, Brier score, calibration.

    With --model, tested on the cases that closed after the moment it was trained as of (up
    to --as-of). Without, a temporal split: a model is trained as of the moment the last
    20 % of cases (--train-ratio) began, and tested on what came after.

    Example: `lastmile evaluate events.csv --journey journey.yaml --model model.lm`

    With --against old.lm, both models are also scored on the same prediction points, those of
    the cases closed after the later training moment, and the difference of their AUCs is given
    with a 90 % interval from drawing those cases again.
    """
    import json

    from rich.table import Table

    from lastmile.errors import LastmileError
    from lastmile.queue import evaluate_model

    if against is not None and model is None:
        raise LastmileError("--against needs --model: the new model to compare with it",
                            hint="lastmile evaluate LOG --model new.lm --against old.lm")

    the_log, the_journey = open_log_and_journey(
        log, json_out == "-", journey=journey, stages=stages, finish=finish, fail=fail,
        last_mile=last_mile, timeout=timeout, value=value, case=case, activity=activity,
        timestamp=timestamp, resource=resource, dayfirst=dayfirst, tz=tz,
        lifecycle=lifecycle, dedupe=dedupe, quarantine=quarantine)
    result = evaluate_model(the_log, the_journey, str(model) if model is not None else None,
                            as_of, train_ratio=train_ratio)
    comparison = None
    if against is not None:
        from lastmile.model_comparison import compare_models

        comparison = compare_models(the_log, the_journey, str(model), str(against), as_of)
    if html_out is not None:
        from lastmile.report import write_html

        page = write_html({"title": "Risk model evaluation"
                           + (f": {the_journey.name}" if the_journey.name else ""),
                           "source": Path(str(log)).name, "journey": the_journey.to_dict(),
                           "risk": result.to_dict()}, html_out)
        (err_console if json_out == "-" else console).print(f"wrote {page}")
    if json_out:
        data = result.to_dict()
        if comparison is not None:
            data["against"] = comparison.to_dict()
        write_output(json.dumps(data, indent=2, allow_nan=False), json_out, "the evaluation")
        if json_out == "-":
            return
    console.print(result.summary, markup=False, highlight=False, soft_wrap=True)
    if comparison is not None:
        console.print(comparison.summary, markup=False, highlight=False, soft_wrap=True)
    for title, frame, key in (("by stages to the finish", result.by_stages,
                               "stages_to_finish"),
                              ("by prefix length (events so far)",
                               result.evaluation.by_prefix, "prefix_length")):
        t = Table(title=f"AUC {title}", header_style="bold", title_justify="left")
        for col in (key, "n", "positives", "auc"):
            t.add_column(col.replace("_", " "), justify="right")
        shown = frame if len(frame) <= 15 else frame.head(15)
        for _, r in shown.iterrows():
            auc = "-" if r["auc"] != r["auc"] else f"{r['auc']:.3f}"
            t.add_row(str(int(r[key])), f"{int(r['n']):,}", f"{int(r['positives']):,}", auc)
        console.print(t)
    cal = Table(title="calibration: predicted against observed", header_style="bold",
                title_justify="left")
    for col in ("risk", "n", "predicted", "observed"):
        cal.add_column(col, justify="right")
    for _, r in result.evaluation.calibration.iterrows():
        cal.add_row(f"{r['lower']:.0%}–{r['upper']:.0%}", f"{int(r['n']):,}",
                    f"{r['predicted']:.1%}", f"{r['observed']:.1%}")
    console.print(cal)
