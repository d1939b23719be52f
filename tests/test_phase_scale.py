"""Chapter 05 at paper scale: dense vs Fastfood and accuracy beyond the paper's grid, from records."""
import math

import pytest

from dof_helpers.chapters import phase_scale


def _rec(method, t, d, seed, acc, status="ok"):
    return {"method": method, "t": t, "d": d, "seed": seed, "best_train_acc": acc, "status": status}


def test_basis_comparison_pairs_cells_and_counts_runs():
    dense = [_rec("random_affine", 0, 64, s, 0.70 + 0.01 * s) for s in range(4)]
    dense += [_rec("random_affine", 0, 128, 0, 0.8)]  # no Fastfood partner: left out
    fast = [_rec("random_affine", 0, 64, s, 0.72 + 0.01 * s) for s in range(3)]
    fast += [_rec("random_affine", 0, 64, 9, float("nan"), status="diverged")]  # not ok: not counted
    table = phase_scale.basis_comparison(dense, fast)
    assert list(table["d"]) == [64]
    row = table.iloc[0]
    assert row["runs (dense / fastfood)"] == "4 / 3"
    # means 0.715 and 0.73
    assert row["fastfood - dense"] == pytest.approx(0.015, abs=1e-4)
    assert 0 < row["Welch p"] < 1


def test_accuracy_by_d_relative_to_the_full_model():
    recs = [_rec("burn_in", 16, 8192, s, a) for s, a in enumerate((0.8, 0.9))]
    table = phase_scale.accuracy_by_d(recs, 0.9)
    row = table.iloc[0]
    assert row["curve"].startswith("burn-in") and row["d"] == 8192 and row["runs"] == 2
    assert row["mean"] == pytest.approx(0.85) and row["best"] == pytest.approx(0.9)
    assert row["mean / full model"] == pytest.approx(round(0.85 / 0.9, 3))
    assert math.isnan(phase_scale.basis_comparison([_rec("random_affine", 0, 1, 0, 0.5)],
                                                   [_rec("random_affine", 0, 1, 0, 0.6)])["Welch p"].iloc[0])
