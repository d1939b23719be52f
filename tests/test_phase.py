"""Chapter 05's logic (dof_helpers.chapters.phase_*): grids, P_s / d* tables, claims, centres."""
import math

import pytest

from dof_helpers import engine, thresholds, train
from dof_helpers.chapters import phase_claims as pc, phase_transition as ch05
from dof_helpers.engine.methods import curve_label


# ----------------------------------------------------------------------------- helpers
def synthetic_records(d_star_by_curve, seeds=(0, 1, 2), d_values=(1, 2, 4, 8, 16, 32, 64, 128), levels_acc=0.9):
    """Runs whose best accuracy is `levels_acc` when d >= the curve's threshold, else 0.1."""
    rows = []
    for (method, t), threshold in d_star_by_curve.items():
        for seed in seeds:
            for d in d_values:
                acc = levels_acc if d >= threshold else 0.1
                rows.append(dict(method=method, t=t, d=d, seed=seed, status="ok", best_train_acc=acc,
                                 best_test_acc=acc, D=1000))
    return rows


def graded_records(scale_by_curve, seeds=(0, 1, 2), d_values=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)):
    """Accuracy rising with log2(d), shifted left by a curve's `scale` (smaller d* for larger scale)."""
    rows = []
    for (method, t), scale in scale_by_curve.items():
        for seed in seeds:
            for d in d_values:
                acc = min(0.9, 0.1 + 0.08 * (math.log2(d) + scale) + 0.001 * seed)
                rows.append(dict(method=method, t=t, d=d, seed=seed, status="ok", best_train_acc=acc,
                                 best_test_acc=acc, D=1000))
    return rows


# ----------------------------------------------------------------------------- configuration
def _phase(**grid):
    p = ch05.chapter_parameters(ch05.CHAPTER)
    p.update(grid)
    return ch05.phase_from_parameters(p)


def test_coarse_to_fine_visits_every_d_once_and_spans_the_range_first():
    ds = tiny_data()
    ctx = engine.make_context(Tiny(), ds)
    for grid in ([1], [1, 2], [1, 2, 4], [2 ** k for k in range(13)], [3, 5, 9, 17]):
        cfg = engine.SweepConfig(d_values=tuple(grid), seeds=(0, 1))
        order = [r["d"] for r in engine.plan_runs(cfg, ctx, order="coarse_to_fine")]
        firsts = list(dict.fromkeys(order))
        assert sorted(firsts) == sorted(grid) and len(order) == 2 * len(grid)
        assert set(firsts[:2]) == {min(grid), max(grid)} or len(grid) <= 2 or firsts[0] == min(grid)
        assert max(grid) in firsts[:len(grid[::2]) + 1]


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_default_delta_needs_all_but_one_success_below_ten_runs(n):
    delta = thresholds.default_delta(n)
    assert (n - 1) / n >= 1 - delta - 1e-12
    assert (n - 2) / n < 1 - delta
    assert thresholds.default_delta(10) == 0.1 and thresholds.default_delta(1) == 0.5


def test_phase_rejects_bad_values_naming_the_parameter():
    with pytest.raises(ValueError, match="delta"):
        _phase(delta=1.0)
    with pytest.raises(ValueError, match="basis"):
        _phase(basis="sparse")
    with pytest.raises(ValueError, match="n_test"):
        _phase(n_test=0)
    with pytest.raises(ValueError, match="d_values"):
        _phase(d_values=[0, 4])
    with pytest.raises(ValueError, match="seeds=.*repeated"):
        _phase(seeds=[0, 0])
    with pytest.raises(ValueError, match="preset='huge' is not valid for 05_phase_transition; accepted values:"):
        ch05.preset_phase("huge")


def test_phase_grid_and_methods():
    c = _phase(d_values=[4, 2], seeds=[0, 1], t_values=[4, 8])
    assert c.config.n_runs() == 2 * 2 * 3  # seeds x d x (random + 2 burn-in)
    assert _phase(t_values=[]).methods == ("random_affine",)
    assert ch05.Phase.from_dict(c.as_dict()) == c


# ----------------------------------------------------------------------------- tables
def test_phase_tables_recover_known_thresholds_and_p_s_falls_with_level():
    truth = {("random_affine", 0): 64, ("burn_in", 4): 16, ("burn_in", 16): 2}
    table, dstar = thresholds.curve_tables(synthetic_records(truth), delta=0.34, levels=[0.5, 0.9])
    for (m, t), d in truth.items():
        assert thresholds.d_star_curve(dstar, m, t, [0.5, 0.9]).tolist() == [d, d]
    assert math.isnan(thresholds.d_star_curve(dstar, "random_affine", 0, [0.95])[0])  # level not in the table
    tab = table.sort_values(["method", "t", "d", "level"])
    assert (tab.groupby(["method", "t", "d"])["p_success"].diff().dropna() <= 0).all()


def test_diverged_runs_count_as_failures_and_delta_sets_how_many_must_succeed():
    rows = synthetic_records({("random_affine", 0): 8})
    for r in rows:  # seed 2 diverges at d = 8: only 2 of 3 succeed there
        if r["seed"] == 2 and r["d"] == 8:
            r["status"] = "diverged"
    _, strict = thresholds.curve_tables(rows, delta=0.1, levels=[0.5])
    _, lenient = thresholds.curve_tables(rows, delta=0.34, levels=[0.5])
    assert strict["d_star"].iloc[0] == 16 and lenient["d_star"].iloc[0] == 8


def test_local_dimension_is_D_minus_d_star():
    truth = {("random_affine", 0): 64, ("burn_in", 8): 4}
    _, dstar = thresholds.curve_tables(synthetic_records(truth), delta=0.34, levels=[0.5])
    local = pc.local_dimension_table(dstar, 1000, [0.5]).set_index("method")
    assert local.loc["random_affine", "d_local = D - d*"] == 936
    assert local.loc["burn_in", "d_local / D"] == pytest.approx(0.996)


def test_transition_width_is_one_octave_for_a_step_and_absent_when_never_reached():
    table, _ = thresholds.curve_tables(synthetic_records({("random_affine", 0): 32}), delta=0.34, levels=[0.5, 0.95])
    w = pc.transition_widths(table)
    assert w["octaves"].tolist() == [1.0] and w["d_high"].tolist() == [32.0]


# ----------------------------------------------------------------------------- claims
def test_claims_hold_when_burn_in_shifts_the_curve_and_fail_when_it_hurts():
    good = graded_records({("random_affine", 0): 0.0, ("burn_in", 4): 1.0, ("burn_in", 16): 2.0})
    table, dstar = thresholds.curve_tables(good, delta=0.34)
    c = pc.claims(table, dstar, above=0.3)
    assert c["holds_1"] and c["holds_2"] and c["holds_3"], c
    bad = graded_records({("random_affine", 0): 2.0, ("burn_in", 4): 1.0, ("burn_in", 16): 0.0})
    table, dstar = thresholds.curve_tables(bad, delta=0.34)
    c = pc.claims(table, dstar, above=0.3)
    assert not c["holds_3"] and c["share_longest_beats_random"] == 0.0


def test_claim_2_fails_when_d_star_barely_moves():
    rows = synthetic_records({("random_affine", 0): 16})  # one step: the same d* at every level
    table, dstar = thresholds.curve_tables(rows, delta=0.34, levels=[0.3, 0.6, 0.9])
    assert not pc.claims(table, dstar)["holds_2"]


# ----------------------------------------------------------------------------- burn-in centres
from _tiny import Tiny, tiny_data  # noqa: E402


def test_centres_are_the_seed_states_own_points(tmp_path):
    from dof_helpers.engine.centres import run_centres
    from dof_helpers.engine.state import SeedState
    data, model = tiny_data(), Tiny()
    cfg = engine.SweepConfig(methods=("burn_in",), d_values=(2,), seeds=(1,), t_values=(3,), batch_size=32)
    recs = run_centres(cfg, model, data, tmp_path / "centres.jsonl")
    state = SeedState(engine.make_context(model, data), cfg, 1, [{"method": "burn_in", "t": 3, "seed": 1}])
    for r in recs:
        _, acc = train.evaluate(model, state.point(r["t"]), data.x_train, data.y_train)
        assert r["train_acc"] == pytest.approx(acc, abs=1e-6), r["t"]
    again = run_centres(cfg, model, data, tmp_path / "centres.jsonl")  # cached, not appended
    assert len(again) == len(recs) == 2


def test_load_results_names_the_command_when_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="dof_helpers.chapters.phase_transition run"):
        ch05.load_results(tmp_path)


def test_complete_cells_drops_d_with_missing_seeds():
    c = _phase(d_values=[2, 4, 8], seeds=[0, 1], t_values=[4])
    ctx = engine.make_context(Tiny(), tiny_data())
    recs = [dict(r, status="ok", best_train_acc=0.5) for r in engine.plan_runs(c.config, ctx)
            if not (r["d"] == 4 and r["seed"] == 1 and r["method"] == "burn_in")]
    kept, dropped = ch05.complete_cells(c, recs)
    assert dropped == [4] and {r["d"] for r in kept} == {2, 8} and len(kept) == 8


def test_burn_in_ordering_has_its_columns_even_when_empty():
    _, dstar = thresholds.curve_tables(synthetic_records({("random_affine", 0): 8, ("burn_in", 4): 2}), delta=0.34,
                                  levels=[0.5])
    empty = pc.burn_in_ordering(dstar, [])
    assert len(empty) == 0 and {"ordered", "strict_random_vs_longest"} <= set(empty.columns)
    full = pc.burn_in_ordering(dstar, [0.5])
    assert full["ordered"].tolist() == [True] and full["strict_random_vs_longest"].tolist() == [True]


def test_claims_split_high_levels_into_mid_and_top():
    good = graded_records({("random_affine", 0): 0.0, ("burn_in", 4): 1.0, ("burn_in", 16): 2.0})
    table, dstar = thresholds.curve_tables(good, delta=0.34)
    c = pc.claims(table, dstar, above=0.3, top_margin=0.05)
    assert sorted(c["levels_mid"] + c["levels_top"]) == c["high_levels"]
    assert all(lv >= c["top_common_level"] - 0.05 - 1e-9 for lv in c["levels_top"])
    assert c["share_beats_mid"] == 1.0


def test_a_tie_between_burn_in_steps_is_not_ordered():
    # t = 4 needs the same d* as random affine: no effect of t there, so the level is not ordered
    rows = synthetic_records({("random_affine", 0): 8, ("burn_in", 4): 8, ("burn_in", 16): 2})
    _, dstar = thresholds.curve_tables(rows, delta=0.34, levels=[0.5])
    order = pc.burn_in_ordering(dstar, [0.5])
    assert order["ordered"].tolist() == [False]
    assert order["strict_random_vs_longest"].tolist() == [True]


def test_claim_3_uses_one_share_threshold_for_both_comparisons():
    # ties at every level: the longest burn-in beats random everywhere, but d* never falls at every step of t
    rows = synthetic_records({("random_affine", 0): 8, ("burn_in", 4): 8, ("burn_in", 16): 2})
    table, dstar = thresholds.curve_tables(rows, delta=0.34, levels=[0.5, 0.6, 0.7])
    c = pc.claims(table, dstar, above=0.3, min_share=0.9)
    assert c["share_longest_beats_random"] == 1.0 and c["share_ordered"] == 0.0
    assert c["min_share"] == 0.9 and not c["holds_3"]
    assert c["holds_3_beats"] and not c["holds_3_ordered"]


def test_phase_title_names_delta_and_how_many_runs_must_succeed():
    title = ch05.phase_title(_phase(seeds=[0, 1, 2], delta=0.34), "train")
    assert "$\\delta$ = 0.34" in title and "2 of 3 runs must succeed" in title
    assert "n_train = 5,120" in title
    assert "n_train = all," in ch05.phase_title(_phase(n_train=None), "train")  # the whole set, not "None"


def test_slice_level_picks_a_level_where_every_transition_lies_inside_the_grid():
    rows = graded_records({("random_affine", 0): 0.0, ("burn_in", 16): 2.0})
    _, dstar = thresholds.curve_tables(rows, delta=0.34)
    lv = ch05.slice_level(dstar)
    at = dstar[(dstar["level"] - lv).abs() < 1e-9]["d_star"]
    assert at.notna().all() and (at > dstar["d_star"].min()).all()


def test_settings_follow_the_records_partial_then_complete(tmp_path):
    """A sweep ended from outside used to leave settings that said nothing (or a hand-written
    note that went stale); refresh_settings reads the state from the records."""
    import json
    from dof_helpers.records import append_record
    phase = _phase(d_values=[2, 4], seeds=[0, 1], t_values=[4])
    (tmp_path / ch05.SETTINGS_FILE).write_text(json.dumps({"phase": phase.as_dict(), "preset": "mine"}))
    runs = [dict(method=m, t=t, d=d, seed=s, wall_time=1.5) for m, t in (("random_affine", 0), ("burn_in", 4))
            for d in (2, 4) for s in (0, 1)]
    for r in runs[:3]:
        append_record(tmp_path / ch05.SWEEP_FILE, r)
    s = ch05.refresh_settings(tmp_path)
    assert s["state"] == "partial" and s["completion"]["done"] == 3 and s["completion"]["expected"] == 8
    assert s["wall_s_total"] == 4.5 and "--preset mine" in s["resume"]
    # d with some runs is not d complete on every curve (settings used to say "d_done" for the former)
    assert s["completion"]["d_started"] == [2, 4] and s["completion"]["d_complete"] == []
    assert "d_done" not in s["completion"]
    assert json.loads((tmp_path / ch05.SETTINGS_FILE).read_text())["state"] == "partial"
    for r in runs[3:]:
        append_record(tmp_path / ch05.SWEEP_FILE, r)
    s = ch05.refresh_settings(tmp_path)
    assert s["state"] == "complete" and "resume" not in s and s["completion"]["d_complete"] == [2, 4]
    assert ch05.refresh_settings(tmp_path, state="running")["state"] == "running"
    with pytest.raises(ValueError, match="state"):
        ch05.refresh_settings(tmp_path, state="done")


def test_claims_bullet_reads_its_numbers_from_the_claims():
    good = graded_records({("random_affine", 0): 0.0, ("burn_in", 4): 1.0, ("burn_in", 16): 2.0})
    c = pc.claims(*thresholds.curve_tables(good, delta=0.34), above=0.3)
    text = pc.claims_bullet({"train": c}, name="paper protocol", t_max=16)
    assert text.startswith("- **The paper's claims, paper protocol**: train: claim 1 holds")
    assert f"median band {c['median_octaves']:g} octaves" in text
    assert f"rises {c['d_star_range_ratio'][curve_label('random_affine', 0)]:.0f}-fold" in text
    assert f"{c['share_longest_beats_random']:.0%} of {len(c['high_levels'])} high levels" in text
    bad = dict(c, holds_3=False, holds_3_beats_mid=False)
    assert "claim 3 in its full form does not hold" in pc.claims_bullet({"test": bad}, name="x", t_max=16)
    assert "its weak form does not hold" in pc.claims_bullet({"test": bad}, name="x", t_max=16)
