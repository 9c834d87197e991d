"""Is the new risk model better than the old one? Both judged on the same later cases.

A model retrained every month should rank live cases at least as well as the one it replaces,
and two AUCs measured on different test windows cannot say so. :func:`compare_models` takes two
last-mile risk models (:func:`lastmile.queue.train_risk_model` or saved ``.lm`` files) and one
log, and scores both on the same prediction points: those of the cases that closed after the
*later* of the two training moments (so neither model had seen how they ended), each model
with its own encoder. The difference of their AUCs gets a paired interval that draws whole
cases (:func:`lastmile.risk.evaluate.auc_difference_interval`): which cases happened to close
in the window moves both models together, and cancels.

``lastmile evaluate LOG --model new.lm --against old.lm`` prints it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.measures._expr import as_timestamp

__all__ = ["ModelComparison", "compare_models"]

#: The interval's level and number of draws of the test cases.
LEVEL = 0.9
RESAMPLES = 1000


@dataclass(repr=False)
class ModelComparison:
    """Two risk models on the same test prediction points: ``b`` (the new one) against ``a``.

    ``auc_a`` / ``auc_b`` are over all the points (weighted as in training), ``entry_*`` with
    one point per case at its entry into the last mile; each ``*_difference`` is AUC(b) −
    AUC(a) with a paired case-bootstrap ``(low, high)`` interval at ``level``.
    """

    name_a: str
    name_b: str
    trained_a: str | None
    trained_b: str | None
    test_from: str
    test_to: str
    test_cases: int
    points: int
    auc_a: float
    auc_b: float
    difference: tuple[float, float, float]
    entry_auc_a: float
    entry_auc_b: float
    entry_difference: tuple[float, float, float]
    level: float = LEVEL

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (schema ``lastmile.model-comparison/1``)."""
        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else round(float(x), 4)

        def diff(d: tuple[float, float, float]) -> dict[str, float | None]:
            return {"difference": num(d[0]), "low": num(d[1]), "high": num(d[2])}

        return {"schema": "lastmile.model-comparison/1", "a": self.name_a, "b": self.name_b,
                "trained_as_of_a": self.trained_a, "trained_as_of_b": self.trained_b,
                "test_from": self.test_from, "test_to": self.test_to,
                "test_cases": self.test_cases, "points": self.points,
                "interval_level": self.level,
                "auc_a": num(self.auc_a), "auc_b": num(self.auc_b), **diff(self.difference),
                "at_entry": {"auc_a": num(self.entry_auc_a), "auc_b": num(self.entry_auc_b),
                             **diff(self.entry_difference)}}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @property
    def summary(self) -> str:
        """Readable lines: the two AUCs, the difference and what its interval says."""
        def line(label: str, a: float, b: float, d: tuple[float, float, float]) -> str:
            if not (math.isfinite(a) and math.isfinite(b)):
                return f"{label}: not enough cases of both outcomes"
            text = f"{label}: {self.name_b} {b:.3f} against {self.name_a} {a:.3f}, {d[0]:+.3f}"
            if not (math.isfinite(d[1]) and math.isfinite(d[2])):
                return text
            verdict = ("better" if d[1] > 0 else "worse" if d[2] < 0
                       else "these cases cannot tell them apart")
            return f"{text} ({self.level:.0%} interval {d[1]:+.3f} to {d[2]:+.3f}: {verdict})"

        return "\n".join([
            f"compared on {self.test_cases:,} cases closed from {self.test_from} to "
            f"{self.test_to} ({self.points:,} prediction points), after both training moments",
            line("AUC", self.auc_a, self.auc_b, self.difference),
            line("AUC at entry into the last mile", self.entry_auc_a, self.entry_auc_b,
                 self.entry_difference)])


def compare_models(events: Any, journey: Journey, model_b: Any, model_a: Any,
                   as_of: Any = None, *, level: float = LEVEL, n_boot: int = RESAMPLES,
                   ) -> ModelComparison:
    """Score two risk models on the same later cases; ``model_b`` (new) against ``model_a``.

    Both are :class:`~lastmile.risk.RiskModel` objects from
    :func:`lastmile.queue.train_risk_model` or paths of saved models (each checked against
    ``journey``). The test cases are those that closed after the later of the two training
    moments, up to ``as_of`` (default: the end of the log), at their prediction points after
    that moment — the same points for both models.

    >>> from lastmile.demo import generate
    >>> from lastmile.queue import train_risk_model
    >>> demo = generate("carsales", cases=1500, seed=1)
    >>> journey = Journey.from_yaml(demo.journey)
    >>> old = train_risk_model(demo.events, journey, "2024-03-01")
    >>> new = train_risk_model(demo.events, journey, "2024-06-01")
    >>> c = compare_models(demo.events, journey, new, old)
    >>> c.test_from.startswith("2024-06-01"), c.points > 0
    (True, True)
    >>> bool(c.difference[1] <= c.difference[0] <= c.difference[2])
    True
    """
    from lastmile.queue import (
        _as_log,
        _end_of,
        _metadata,
        entry_points,
        load_model,
        training_set,
    )
    from lastmile.risk.evaluate import auc_difference_interval, evaluate

    names = []
    models = []
    for m in (model_a, model_b):
        names.append(Path(str(m)).name if isinstance(m, (str, Path)) else "the model")
        models.append(load_model(m, journey) if isinstance(m, (str, Path)) else m)
    if names[0] == names[1]:
        names = ["A", "B"]
    moments = [as_timestamp(_metadata(m).get("as_of")) for m in models]
    if any(t is None for t in moments):
        raise LastmileError("a model without its training moment cannot be compared",
                            hint="use models saved by `lastmile train`")
    start = max(moments)
    log = _as_log(events)
    end = _end_of(log.table, as_of)
    if start >= end:
        raise LastmileError(f"no case can have closed after both training moments: the later "
                            f"is {start:%Y-%m-%d %H:%M}, the log (or --as-of) ends "
                            f"{end:%Y-%m-%d %H:%M}", hint="use a longer log")
    # the same points for both, encoded by each model's own encoder (the stale limit, which
    # needs the timing of the log, is computed once)
    first, _ = training_set(log, journey, end, start=start, encoder=models[0].encoder)
    second, _ = training_set(log, journey, end, start=start, encoder=models[1].encoder,
                             stale_hours=first.stale_hours)
    sets = [first, second]
    keys = [s.rows[["case_id", "t"]].reset_index(drop=True) for s in sets]
    if not keys[0].equals(keys[1]):  # the points come from the log, not the encoder
        raise LastmileError("the two models' test points differ; compare models of one journey")
    test = sets[0]
    if len(np.unique(test.y)) < 2:
        raise LastmileError(f"the {test.n_cases} cases closed after {start:%Y-%m-%d} all "
                            "ended the same way: nothing to rank", hint="use a longer log")
    risks = [m.predict_risk(s.X.reindex(columns=m.feature_names_))
             for m, s in zip(models, sets, strict=True)]
    cases = test.rows["case_id"].to_numpy()
    w = test.weight
    both = auc_difference_interval(test.y, risks[0], risks[1], cases, sample_weight=w,
                                   level=level, n_boot=n_boot)
    entry = entry_points(test)
    entry_aucs = [float("nan"), float("nan")]
    entry_d = (float("nan"), float("nan"), float("nan"))
    if entry.sum() > 1 and 0 < test.y[entry].sum() < entry.sum():
        entry_aucs = [evaluate(test.y[entry], r[entry]).auc for r in risks]
        entry_d = auc_difference_interval(test.y[entry], risks[0][entry], risks[1][entry],
                                          cases[entry], level=level, n_boot=n_boot)
    aucs = [evaluate(test.y, r, sample_weight=w).auc for r in risks]
    return ModelComparison(
        name_a=names[0], name_b=names[1],
        trained_a=_metadata(models[0]).get("as_of"), trained_b=_metadata(models[1]).get("as_of"),
        test_from=pd.Timestamp(start).isoformat(), test_to=pd.Timestamp(end).isoformat(),
        test_cases=test.n_cases, points=len(test.y), auc_a=aucs[0], auc_b=aucs[1],
        difference=both, entry_auc_a=entry_aucs[0], entry_auc_b=entry_aucs[1],
        entry_difference=entry_d, level=level)
