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


def test_intrinsic_dimension_mean_and_success_probability_differ():
    # full model 0.9; level 0.81 at f = 0.9. d = 64: mean 0.80 (no), d = 512: mean 0.82 but one
    # seed of three below (P_s = 2/3), d = 4096: all above.
    accs = {64: (0.79, 0.80, 0.81), 512: (0.80, 0.83, 0.83), 4096: (0.85, 0.86, 0.87)}
    recs = [_rec("random_affine", 0, d, s, a) for d, v in accs.items() for s, a in enumerate(v)]
    recs.append(_rec("random_affine", 0, 8192, 0, 0.99))  # one seed only: not a complete d
    table = phase_scale.intrinsic_dimension(recs, 0.9, fractions=(0.9, 1.0), delta=0.1)
    row = table[table["fraction of full"] == 0.9].iloc[0]
    assert row["d_int"] == 512 and row["d*"] == 4096 and row["d_max"] == 4096 and row["seeds"] == 3
    top = table[table["fraction of full"] == 1.0].iloc[0]
    assert math.isinf(top["d_int"]) and math.isinf(top["d*"])
    loose = phase_scale.intrinsic_dimension(recs, 0.9, fractions=(0.9,), delta=0.34)
    assert loose.iloc[0]["d*"] == 512


def test_intrinsic_dimension_rejects_bad_parameters():
    with pytest.raises(ValueError, match="full_accuracy"):
        phase_scale.intrinsic_dimension([], 0.0)
    with pytest.raises(ValueError, match="delta"):
        phase_scale.intrinsic_dimension([], 0.9, delta=1.5)


REPORT = """# Subspace engine benchmark (2026-11-25 08:31 UTC)
## conv2: D = 20,490
basis            d   step ms  / full compile s   A GiB
fastfood        16      8.97    1.02      0.70   0.000
dense         4096     32.72    3.54      1.18   0.313      24.64             0.97     27.2
## mlp: D = 199,210
dense           16      1.45    1.66      0.36   0.012       0.66             0.94     38.4
"""


def test_basis_step_costs_reads_one_section():
    costs, date = phase_scale.basis_step_costs(REPORT, "conv2")
    assert date.startswith("2026-11-25")
    assert list(costs["basis"]) == ["fastfood", "dense"] and list(costs["d"]) == [16, 4096]
    assert costs["step / full"].tolist() == [1.02, 3.54]
    with pytest.raises(ValueError, match="model='resnet20'.*conv2"):
        phase_scale.basis_step_costs(REPORT, "resnet20")


def test_intrinsic_dimension_table_and_basis_summary_say_what_the_records_say():
    accs = {64: (0.79, 0.80, 0.81), 512: (0.80, 0.83, 0.83)}
    recs = [_rec("random_affine", 0, d, s, a) for d, v in accs.items() for s, a in enumerate(v)]
    tab = phase_scale.intrinsic_dimension_table({"dense, train": phase_scale.intrinsic_dimension(recs, 0.9)})
    assert tab.loc[("random affine", 0.9)].iloc[0] == "512 / > 512"
    assert tab.loc[("random affine", 1.0)].iloc[0] == "> 512 / > 512"
    dense = [_rec("random_affine", 0, 64, s, 0.70 + 0.01 * s) for s in range(4)]
    fast = [_rec("random_affine", 0, 64, s, 0.90 + 0.01 * s) for s in range(4)]
    text = phase_scale.basis_summary(phase_scale.basis_comparison(dense, fast))
    assert "Of the 1 cell with" in text and "1 differ" in text and "+0.2000" in text
    assert "No" in phase_scale.basis_summary(phase_scale.basis_comparison(dense, []))


def test_scale_takeaways_read_every_number_from_their_inputs():
    import pandas as pd
    accs = {64: (0.79, 0.80, 0.81), 512: (0.80, 0.83, 0.83)}
    recs = [_rec("random_affine", 0, d, s, a) for d, v in accs.items() for s, a in enumerate(v)]
    ids = {"dense, train": phase_scale.intrinsic_dimension(recs, 0.9, fractions=(0.9,))}
    bands = {"train": pd.DataFrame({"random affine": ["64 [64, 512]"]}, index=pd.Index([0.7], name="accuracy level"))}
    text = phase_scale.scale_takeaways({"done": 6, "expected": 8}, {"train": 0.9, "test": 0.85}, bands, ids, {},
                                       extra={"Beyond": "it falls"})
    assert "6 of 8 dense runs" in text and "0.900 train and 0.850 test" in text
    assert "train accuracy 0.70: d* [band] random affine 64 [64, 512]" in text
    assert "90% of the full model's accuracy is reached by the mean over seeds at d = 512" in text
    assert "runs not by d = 512" in text and "Fastfood" not in text and "- **Beyond**: it falls" in text
    assert "- **dense, random affine" in text


def test_peak_and_fall_and_comparisons_under_other_labels():
    accs = {4096: (0.85, 0.86), 20490: (0.10, 0.78)}
    recs = [_rec("random_affine", 0, d, s, a) for d, v in accs.items() for s, a in enumerate(v)]
    text = phase_scale.peak_and_fall(recs)
    assert "highest mean 0.855 at d = 4,096" in text and "0.440 at d = 20,490 (1 of 2 runs there at chance)" in text
    other = [_rec("random_affine", 0, 20490, s, a) for s, a in enumerate((0.88, 0.89))]
    table = phase_scale.basis_comparison(recs, other, labels=("Adam 0.05", "Adam 0.01"))
    assert "Adam 0.01 - Adam 0.05" in table.columns and table.iloc[0]["d"] == 20490
    assert "Adam 0.01 minus Adam 0.05, is +0.4450" in phase_scale.basis_summary(table)


def test_differing_cells_counts_what_basis_summary_reports():
    same = [_rec("random_affine", 0, 64, s, 0.70 + 0.01 * s) for s in range(4)]
    shifted = [_rec("random_affine", 0, 64, s, 0.90 + 0.01 * s) for s in range(4)]
    close = [_rec("random_affine", 0, 512, s, 0.80 + 0.01 * (s % 2)) for s in range(4)]
    close_b = [_rec("random_affine", 0, 512, s, 0.801 + 0.01 * ((s + 1) % 2)) for s in range(4)]
    table = phase_scale.basis_comparison(same + close, shifted + close_b)
    cells = phase_scale.differing_cells(table)
    assert cells["cells"] == 2 and cells["differ"] == 1 and cells["differ_bonferroni"] == 1
    assert cells["largest"] == pytest.approx(0.2, abs=1e-4) and cells["largest_at"] == ("random affine", 64)
    assert cells["column"] == "fastfood - dense"
    text = phase_scale.basis_summary(table)
    assert "Of the 2 cells with runs of both, 1 differ" in text and "+0.2000" in text
    empty = phase_scale.differing_cells(phase_scale.basis_comparison(same, []))
    assert empty["cells"] == 0 and empty["differ"] == 0 and math.isnan(empty["largest"])
    with pytest.raises(ValueError, match="alpha"):
        phase_scale.differing_cells(table, alpha=1.5)


def test_is_complete_reads_a_completion_count():
    from dof_helpers.chapters.common import is_complete
    assert is_complete({"done": 520, "expected": 520}) and not is_complete({"done": 519, "expected": 520})
    with pytest.raises(ValueError, match="done"):
        is_complete({"expected": 3})
