"""bench/outcome/compare.py: two runs' test risks, lined up and compared on the same cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compare():
    return load_script("bench_outcome_compare", ROOT / "bench" / "outcome" / "compare.py")


def save(path: Path, cases, lengths, y, risk) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, case_id=np.asarray(cases, dtype=str), prefix_length=lengths,
                        y=y, risk=risk)


def test_two_runs_are_lined_up_by_case_and_prefix(compare, tmp_path, capsys) -> None:
    rng = np.random.default_rng(3)
    cases = np.repeat([f"c{i}" for i in range(30)], 2)
    k = np.tile([1, 2], 30)
    y = np.repeat(rng.random(30) < 0.5, 2).astype(int)
    a = rng.random(60)
    b = a + 0.8 * y  # run B separates the failures better
    save(tmp_path / "a" / "test_scores_t.npz", cases, k, y, a)
    order = rng.permutation(60)  # run B saved its rows in another order
    save(tmp_path / "b" / "test_scores_t.npz", cases[order], k[order], y[order], b[order])
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "b"), "--resamples", "200",
                         "--write", str(tmp_path / "t.md")]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| t "))
    cells = [c.strip() for c in row.strip("|").split("|")]

    def weighted(s):  # both lengths have 30 prefixes: the plain mean of their AUCs
        return np.mean([roc_auc_score(y[k == v], s[k == v]) for v in (1, 2)])

    assert float(cells[1]) == pytest.approx(weighted(a), abs=5e-4)
    assert float(cells[2]) == pytest.approx(weighted(b), abs=5e-4)
    assert float(cells[3]) == pytest.approx(weighted(b) - weighted(a), abs=5e-4)
    low, high = (float(x) for x in cells[4].split(" to "))
    assert 0 < low <= float(cells[3]) <= high and cells[5] == "30"
    assert (tmp_path / "t.md").read_text().count("| t |") == 1


def test_runs_of_different_prefixes_are_refused(compare, tmp_path) -> None:
    save(tmp_path / "a" / "test_scores_t.npz", ["x", "y"], [1, 1], [0, 1], [0.2, 0.8])
    save(tmp_path / "b" / "test_scores_t.npz", ["x", "z"], [1, 1], [0, 1], [0.2, 0.8])
    with pytest.raises(SystemExit, match="same test prefixes"):
        compare.main([str(tmp_path / "a"), str(tmp_path / "b")])
    # nothing in common: a clear message and exit code 2
    assert compare.main([str(tmp_path / "a"), str(tmp_path / "nothing")]) == 2
