"""Scenario simulators: six stories of the last mile, simulated with known causes.

Each scenario is a realistic event log with causes of last-mile failure planted in it, the
journey that describes it, and the truth (which causes, which cases, how strong), so that a new
user sees lastmile work in their own field within a minute and our analyses can be tested
against a known answer.

>>> from lastmile.demo import SCENARIOS, generate
>>> sorted(SCENARIOS)
['campaign', 'carsales', 'marathon', 'school', 'telecom', 'weightloss']
>>> s = generate("carsales", cases=200, seed=7)
>>> list(s.events.columns[:4])
['case_id', 'activity', 'timestamp', 'resource']
>>> s.truth["seed"], s.truth["null"]
(7, False)
>>> generate("carsales", cases=200, seed=7).events.equals(s.events)
True
>>> all(c["effect"] == 1.0 for c in generate("carsales", cases=200, null=True).truth["causes"])
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lastmile.demo import campaign, carsales, marathon, school, telecom, weightloss
from lastmile.demo.engine import Scenario, ScenarioSpec, dumps_truth
from lastmile.errors import LastmileError

_MODULES = (telecom, marathon, campaign, carsales, school, weightloss)
_DEFAULT_CASES = {"telecom": 5000, "marathon": 8000, "campaign": 10000, "carsales": 6000,
                  "school": 5000, "weightloss": 5000}

SCENARIOS: dict[str, ScenarioSpec] = {
    m.NAME: ScenarioSpec(name=m.NAME, title=m.TITLE, story=m.STORY, stages=tuple(m.STAGES),
                         causes=tuple(m.CAUSES), default_cases=_DEFAULT_CASES[m.NAME],
                         simulate=m.simulate)
    for m in _MODULES
}

# a different stream per scenario for the same seed
_SALT = {name: k + 1 for k, name in enumerate(sorted(SCENARIOS))}


def generate(name: str, cases: int | None = None, seed: int = 0, null: bool = False) -> Scenario:
    """Simulate scenario ``name`` with ``cases`` cases.

    Parameters
    ----------
    name : one of :data:`SCENARIOS`.
    cases : number of cases (default: the scenario's demo size).
    seed : the same seed gives the same log, byte for byte.
    null : keep the structure but remove every planted cause (all factors 1).

    Returns
    -------
    Scenario with ``events`` (DataFrame), ``journey`` (YAML text) and ``truth`` (dict).
    """
    if name not in SCENARIOS:
        raise LastmileError(f"no demo scenario named {name!r}",
                            hint="choose one of: " + ", ".join(sorted(SCENARIOS)))
    spec = SCENARIOS[name]
    n = spec.default_cases if cases is None else int(cases)
    if n < 10:
        raise LastmileError(f"--cases must be at least 10, got {n}")
    if seed < 0:
        raise LastmileError(f"--seed must be zero or positive, got {seed}")
    rng = np.random.Generator(np.random.PCG64([int(seed), _SALT[name]]))
    events, journey, truth = spec.simulate(rng, n, bool(null))
    truth["seed"] = int(seed)
    truth["n_events"] = len(events)
    return Scenario(name=name, events=events, journey=journey, truth=truth, seed=int(seed),
                    null=bool(null))


def csv_frame(events: pd.DataFrame) -> pd.DataFrame:
    """The event table as written to CSV: timestamps as ISO 8601 text with ``Z``."""
    out = events.copy(deep=False)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            values = out[col].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]")
            text = np.char.add(np.datetime_as_string(values, unit="s"), "Z").astype(object)
            text[pd.isna(out[col]).to_numpy()] = None
            out[col] = text
    return out


def iso_text_times(table: Any) -> Any:
    """An Arrow table with every timestamp column as ISO 8601 text with ``Z`` (for CSV).

    >>> import pyarrow as pa
    >>> t = pa.table({"t": pa.array([0], pa.timestamp("ns", tz="UTC"))})
    >>> iso_text_times(t)["t"].to_pylist()
    ['1970-01-01T00:00:00Z']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            secs = pc.cast(table.column(i), pa.timestamp("s", tz="UTC"), safe=False)
            text = pc.strftime(secs, format="%Y-%m-%dT%H:%M:%SZ")
            table = table.set_column(i, f.name, text)
    return table


def write(scenario: Scenario, out_dir: str | Path) -> dict[str, Path]:
    """Write ``events.csv``, ``events.parquet``, ``journey.yaml`` and ``truth.json`` into
    ``out_dir`` (created if needed); returns the paths by name.

    >>> import tempfile
    >>> from lastmile.demo import generate
    >>> paths = write(generate("school", cases=50), tempfile.mkdtemp())
    >>> sorted(paths)
    ['csv', 'journey', 'parquet', 'truth']
    >>> open(paths["csv"]).readline().startswith("case_id,activity,timestamp,resource")
    True
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "events.csv", "parquet": out / "events.parquet",
             "journey": out / "journey.yaml", "truth": out / "truth.json"}
    table = pa.Table.from_pandas(scenario.events, preserve_index=False)
    table = table.replace_schema_metadata(None)  # no pandas/version metadata: stable bytes
    pq.write_table(table, paths["parquet"], compression="zstd")
    csv_table = iso_text_times(table)
    try:  # plain CSV; values with a delimiter or quote (none in the scenarios) get quoted
        pacsv.write_csv(csv_table, paths["csv"], write_options=pacsv.WriteOptions(
            quoting_style="none", quoting_header="none"))
    except pa.ArrowInvalid:
        pacsv.write_csv(csv_table, paths["csv"], write_options=pacsv.WriteOptions(
            quoting_style="needed", quoting_header="none"))
    paths["journey"].write_text(scenario.journey, encoding="utf-8")
    paths["truth"].write_text(dumps_truth(scenario.truth), encoding="utf-8")
    return paths


def write_report(out_dir: str | Path) -> Path:
    """Write ``OUT/report.html``: the last-mile report of a written demo folder.

    Reads the folder's ``events.parquet`` with its ``journey.yaml`` through the same path as
    ``lastmile report``.
    """
    from lastmile.reporting import build_report

    out = Path(out_dir)
    target = out / "report.html"
    build_report(out / "events.parquet", out / "journey.yaml", target)
    return target


__all__ = ["SCENARIOS", "Scenario", "ScenarioSpec", "generate", "write", "write_report"]
