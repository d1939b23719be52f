"""P_s (eq. 2.3), d* (Definition 2.1) and d_int90 on hand-made records."""
import math

import numpy as np
import pandas as pd
import pytest

from dof_helpers import thresholds as th


def _records():
    # random affine, t = 0: run s at dimension d reaches accuracy acc[d][s]
    acc = {1: [0.1, 0.2, 0.3, 0.2], 2: [0.4, 0.5, 0.2, 0.6], 4: [0.7, 0.8, 0.75, 0.9], 8: [0.9, 0.95, 0.92, None]}
    out = []
    for d, vals in acc.items():
        for s, v in enumerate(vals):
            out.append(dict(method="random_affine", t=0, d=d, seed=s, best_train_acc=v,
                            best_train_loss=None if v is None else 1 - v, status="ok" if v else "diverged"))
    return out


def test_success_probability_by_hand():
    table = th.success_probability(_records(), "train_acc", levels=[0.5, 0.7])
    p = table.set_index(["level", "d"])["p_success"]
    assert p[(0.5, 1)] == 0 and p[(0.5, 2)] == 0.5 and p[(0.5, 4)] == 1 and p[(0.5, 8)] == 0.75
    assert p[(0.7, 4)] == 1.0 and p[(0.7, 2)] == 0
    assert set(table["n_runs"]) == {4}
    loss = th.success_probability(_records(), "train_loss", levels=[0.31])
    assert loss.set_index("d")["p_success"][4] == 1.0  # 1 - acc <= 0.31 for every d = 4 run


def test_threshold_dimension_and_running_max():
    table = th.success_probability(_records(), "train_acc", levels=[0.5, 0.7, 0.91, 0.99])
    ds = th.threshold_dimension(table, delta=0.3).set_index("level")["d_star"]
    assert ds[0.5] == 4 and ds[0.7] == 4 and math.isnan(ds[0.99])
    # only 2 of 4 runs reach 0.91 at d = 8 (one diverged): not enough
    assert math.isnan(ds[0.91])
    # with a running max the diverged run keeps its d = 4 value 0.9: all 4 reach 0.9 at d = 8
    table_rm = th.success_probability(_records(), "train_acc", levels=[0.9], running_max=True)
    assert table_rm.set_index("d")["p_success"][8] == 1.0
    rb = th.running_best(_records(), "train_acc")
    assert rb[(rb.seed == 3) & (rb.d == 8)]["best_train_acc"].item() == 0.9


def test_success_matrix_shape():
    table = th.success_probability(_records(), "train_acc", levels=[0.5, 0.7, 0.9])
    levels, d_values, P = th.success_matrix(table, method="random_affine", t=0)
    assert P.shape == (3, 4) and list(d_values) == [1, 2, 4, 8]


def test_d_int90():
    out = th.d_int90(_records(), full_accuracy=0.9, metric="train_acc")
    # mean accuracy per d: 0.2, 0.425, 0.7875, (0.9+0.95+0.92+0)/4 = 0.6925; target 0.81
    assert math.isnan(out["d_int90"].item())
    out = th.d_int90(_records(), full_accuracy=0.8, metric="train_acc")  # target 0.72
    assert out["d_int90"].item() == 4


def test_validation_errors():
    table = th.success_probability(_records(), "train_acc", levels=[0.5])
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="delta"):
            th.threshold_dimension(table, delta=bad)
    with pytest.raises(ValueError, match="metric"):
        th.success_probability(_records(), "val_acc", levels=[0.5])
    with pytest.raises(ValueError, match="levels are required"):
        th.success_probability(_records(), "train_loss")
    with pytest.raises(ValueError, match="metric"):
        th.d_int90(_records(), 0.9, metric="train_loss")
    assert isinstance(th.success_probability(pd.DataFrame(_records()), "train_acc", levels=[0.5]), pd.DataFrame)


def test_clopper_pearson_known_values_and_edges():
    lo, hi = th.clopper_pearson(9, 10)
    assert lo == pytest.approx(0.5550, abs=1e-4) and hi == pytest.approx(0.9975, abs=1e-4)
    assert th.clopper_pearson(0, 10)[0] == 0.0 and th.clopper_pearson(10, 10)[1] == 1.0
    assert th.clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** 0.1, abs=1e-9)  # (a/2)^(1/n) rule
    with pytest.raises(ValueError, match="k=11"):
        th.clopper_pearson(11, 10)
    table = th.success_probability(_records(), "train_acc", levels=[0.5])
    assert (table["p_low"] <= table["p_success"]).all() and (table["p_success"] <= table["p_high"]).all()


def test_d_star_bootstrap_brackets_d_star_and_is_exact_without_spread():
    rows = [dict(method="random_affine", t=0, seed=s, d=d, status="ok",
                 best_train_acc=0.9 if d >= (8 if s < 7 else 16) else 0.1)
            for s in range(10) for d in (2, 4, 8, 16, 32)]
    out = th.d_star_bootstrap(rows, "train_acc", [0.5], delta=0.1, n_boot=400, seed=1)
    row = out.iloc[0]
    assert row["d_star"] == 16 and row["d_low"] <= row["d_star"] <= row["d_high"]
    assert row["d_low"] == 8  # replicates that miss the three late seeds reach 9/10 at d = 8
    same = [dict(r, best_train_acc=0.9 if r["d"] >= 8 else 0.1) for r in rows]
    tight = th.d_star_bootstrap(same, "train_acc", [0.5], delta=0.1, n_boot=50).iloc[0]
    assert tight["d_low"] == tight["d_star"] == tight["d_high"] == 8
    never = th.d_star_bootstrap(rows, "train_acc", [0.95], delta=0.1, n_boot=50).iloc[0]
    assert np.isnan(never["d_star"]) and never["p_unreached"] == 1.0


def test_running_best_keeps_runs_whose_group_field_is_missing():
    """Lottery-subspace records have no ``basis``: the running best must not turn them into NaN."""
    rows = [dict(method="lottery_subspace", t=0, seed=0, d=d, basis=float("nan"), status="ok", best_train_acc=a)
            for d, a in [(2, 0.5), (8, 0.4), (32, 0.6)]]
    best = th.running_best(rows, "train_acc")
    assert best.sort_values("d")["best_train_acc"].tolist() == [0.5, 0.5, 0.6]


def test_d_star_band_table_shows_d_star_with_its_band_and_names_unreached_bounds():
    boot = pd.DataFrame([dict(method="random_affine", t=0, level=0.5, d_star=4.0, d_low=2.0, d_high=8.0),
                         dict(method="random_affine", t=0, level=0.9, d_star=8.0, d_low=8.0, d_high=np.inf),
                         dict(method="random_affine", t=0, level=0.95, d_star=np.nan, d_low=8.0, d_high=np.inf)])
    tab = th.d_star_band_table(boot, [0.5, 0.9, 0.95], d_max=8)
    col = tab.iloc[:, 0].tolist()
    assert col == ["4 [2, 8]", "8 [8, >8]", "none [8, >8]"]
    with pytest.raises(ValueError, match="d_low"):
        th.d_star_band_table(boot.drop(columns=["d_low"]), [0.5])


def test_d_star_band_table_never_shows_an_empty_cell():
    """A level the bands were not computed at used to give a blank row; now it is an error, or left out."""
    boot = pd.DataFrame([dict(method="random_affine", t=0, level=0.5, d_star=4.0, d_low=2.0, d_high=8.0),
                         dict(method="burn_in", t=16, level=0.5, d_star=2.0, d_low=2.0, d_high=4.0),
                         dict(method="burn_in", t=16, level=0.8, d_star=8.0, d_low=4.0, d_high=8.0)])
    with pytest.raises(ValueError, match=r"levels=\[0.8, 0.9\].*missing='skip'"):
        th.d_star_band_table(boot, [0.5, 0.8, 0.9])
    tab = th.d_star_band_table(boot, [0.5, 0.8, 0.9], missing="skip")
    assert tab.index.tolist() == [0.5] and "" not in tab.to_numpy().ravel()
    with pytest.raises(ValueError, match="missing"):
        th.d_star_band_table(boot, [0.5], missing="blank")


def test_d_star_band_table_from_records_brackets_d_star():
    boot = th.d_star_bootstrap(_records(), levels=[0.5, 0.7], delta=0.26, n_boot=200)
    tab = th.d_star_band_table(boot, [0.5, 0.7])
    for cell, (_, row) in zip(tab.iloc[:, 0], boot.iterrows()):
        d, rest = cell.split(" [")
        lo, hi = rest.rstrip("]").split(", ")
        assert float(d) == row["d_star"] and float(lo) <= float(d) <= float(hi.lstrip(">"))


def test_p_s_at_threshold_gives_exact_intervals_at_d_star_and_below():
    table = th.success_probability(_records(), "train_acc", levels=[0.5])
    dstar = th.threshold_dimension(table, delta=0.26)
    out = th.p_s_at_threshold(table, dstar, [0.5]).iloc[0]
    lo, hi = th.clopper_pearson(4, 4)
    assert out["d*"] == "4" and out["P_s at d*"] == f"4/4 = 1.00 [{lo:.2f}, {hi:.2f}]"
    lo, hi = th.clopper_pearson(2, 4)
    assert out["P_s one step below"] == f"2/4 = 0.50 [{lo:.2f}, {hi:.2f}]"
    none = th.p_s_at_threshold(table, th.threshold_dimension(table, delta=0.01), [0.5]).iloc[0]
    assert none["d*"] == "4"  # 4/4 still passes with delta = 0.01
    high = th.success_probability(_records(), "train_acc", levels=[0.99])
    miss = th.p_s_at_threshold(high, th.threshold_dimension(high, delta=0.26), [0.99]).iloc[0]
    assert miss["d*"] == "none" and miss["P_s at d*"].startswith("at d = 8: 0/4")


def test_d_star_bootstrap_band_is_on_the_grid_and_infinite_when_replicates_never_reach():
    # seed 0 reaches 0.8 at d = 4, the other three never: most replicates are unreached
    rows = [dict(method="random_affine", t=0, d=d, seed=s, best_train_acc=(0.9 if (s == 0 and d >= 4) else 0.5),
                 status="ok") for d in (1, 2, 4, 8) for s in range(4)]
    boot = th.d_star_bootstrap(rows, levels=[0.8], delta=0.26, n_boot=300).iloc[0]
    assert math.isnan(boot["d_star"]) and boot["d_high"] == np.inf  # was NaN: quantile between two infinities
    graded = th.d_star_bootstrap(_records(), levels=[0.5, 0.7], delta=0.26, n_boot=300)
    assert set(graded["d_low"]) | set(graded["d_high"]) <= {1.0, 2.0, 4.0, 8.0, np.inf}
