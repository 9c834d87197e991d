"""Risk: the chance that a live case fails, learned from closed cases without leakage.

- :mod:`lastmile.risk.encoding` — prefix encodings computed in the engine;
- :mod:`lastmile.risk.model` — a calibrated gradient-boosted :class:`RiskModel` with reasons,
  saved as a versioned artefact;
- :mod:`lastmile.risk.evaluate` — temporal split, AUC by prefix length, Brier score,
  calibration table.
"""

from __future__ import annotations

from lastmile.risk.encoding import PrefixEncoder, PrefixFeatures
from lastmile.risk.evaluate import Evaluation, evaluate, temporal_split
from lastmile.risk.model import RiskModel

__all__ = ["Evaluation", "PrefixEncoder", "PrefixFeatures", "RiskModel", "evaluate",
           "temporal_split"]
