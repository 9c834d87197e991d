"""``lastmile demo``: write one of the six simulated scenarios (and, for the marathon, the
real race next to it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lastmile.cli.app import app, console, friendly
from lastmile.errors import LastmileError


def _list() -> None:
    from lastmile.demo import SCENARIOS

    table = Table(title="Demo scenarios", show_lines=True, title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("story")
    table.add_column("stages (→ finish)")
    table.add_column("planted causes")
    for spec in SCENARIOS.values():
        table.add_row(spec.name, f"{spec.title}: {spec.story}", " → ".join(spec.stages),
                      "\n".join(spec.causes))
    console.print(table)
    console.print("Run one: [bold]lastmile demo telecom -o demo-output[/]", markup=True)


@app.command()
@friendly
def demo(
    name: Annotated[str | None, typer.Argument(
        help="Scenario: telecom, marathon, campaign, carsales, school or weightloss.",
        show_default=False)] = None,
    cases: Annotated[int | None, typer.Option(
        "--cases", "-n", help="Number of cases (default: the scenario's demo size).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Same seed, same bytes.")] = 0,
    null: Annotated[bool, typer.Option(
        "--null", help="Keep the structure, remove every planted cause (all factors 1).")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder to write into (default: demo-NAME).",
        show_default=False)] = None,
    race: Annotated[Path | None, typer.Option(
        "--race", help="marathon only: a folder of real result_course_YYYY.csv split tables "
        "to convert and write next to the simulation (into OUT/race).",
        show_default=False)] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the scenarios and exit.")] = False,
) -> None:
    """Simulate a realistic event log with known causes of last-mile failure.

    Writes events.csv, events.parquet, journey.yaml, truth.json (the planted causes: which
    cases, how strong) and the HTML report into OUT.
    """
    if list_ or name is None:
        _list()
        return
    from lastmile.demo import generate, write, write_report

    if race is not None and name != "marathon":
        raise LastmileError("--race goes with the marathon demo only",
                            hint=f"drop --race or run: lastmile demo marathon --race {race}")
    folder = out if out is not None else Path(f"demo-{name}")
    started = time.perf_counter()
    with console.status(f"simulating {name} …"):
        scenario = generate(name, cases=cases, seed=seed, null=null)
        paths = write(scenario, folder)
        report = write_report(folder)
    elapsed = time.perf_counter() - started
    t = scenario.truth
    console.print(f"[bold]{name}[/]: {t['n_cases']:,} cases, {t['n_events']:,} events "
                  f"(seed {seed}{', null: no planted causes' if null else ''}) "
                  f"in {elapsed:.1f} s", markup=True)
    table = Table(show_header=True, header_style="bold")
    table.add_column("planted cause")
    table.add_column("kind")
    table.add_column("feature = value")
    table.add_column("cases", justify="right")
    table.add_column("effect", justify="right")
    for c in t["causes"]:
        table.add_row(c["name"], c["kind"], f"{c['feature']} = {c['value']}",
                      f"{c['n_cases']:,}", f"×{c['effect']:g}")
    console.print(table)
    for label, path in paths.items():
        console.print(f"  {label:<8} {path}")
    if report is not None:
        console.print(f"  report   {report}")
    if race is not None:
        from lastmile.demo.race import convert_race

        real = convert_race(race)
        rpaths = real.write(folder / "race")
        rpaths["report"] = write_report(folder / "race")  # the real race, read like any log
        acc = real.accounting
        console.print(f"[bold]real race[/]: {acc['loaded']:,} runners loaded from "
                      f"{acc['files']} editions, {acc['quarantined']} rows quarantined "
                      f"({', '.join(f'{k}: {v}' for k, v in acc['reasons'].items())}); "
                      f"{len(real.last_mile_failures())} DNF in the last quarter",
                      markup=True)
        for label, path in rpaths.items():
            console.print(f"  {label:<10} {path}")
