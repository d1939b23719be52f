"""Chapter 06's grids (dof_helpers.chapters.lottery): the compute-matched lottery subspaces."""
import numpy as np
import pytest

from _tiny import Tiny, tiny_data
from dof_helpers import engine
from dof_helpers.chapters import lottery as ch06
from dof_helpers.chapters import lottery_records as rec06
from dof_helpers.engine.state import SeedState


def _params(**changes):
    p = ch06.chapter_parameters(ch06.CHAPTER)
    p.update(dict(n_train=256, epochs=2, lottery_d=[1, 2, 4, 8, 16], subspace_d=[2], keep_fractions=[1.0],
                  seeds=[0], t=2, pretrain_epochs=1))
    p.update(changes)
    return p


def test_full_cap_is_the_full_models_steps_and_keeps_the_d_it_has_directions_for():
    p = _params(lottery_steps_cap="full")  # 2 epochs x (256 // 128) = 4 steps: fewer than 5 x 16
    grids = ch06.chapter_grids(p)
    assert ch06.full_model_steps(p) == 4 and grids["trajectory"].lottery_length() == 80
    assert "matched" not in grids  # 4 steps give no direction (one per 5 steps)
    p = _params(lottery_steps_cap="full", n_train=1280)  # 2 x 10 = 20 steps, 4 directions
    m = ch06.chapter_grids(p)["matched"]
    assert m.lottery_length() == 20 and m.d_values == (1, 2, 4) and m.methods == ch06.LOTTERY_SUBSPACES
    assert ch06.trajectory_budget(p) == {"original": 80, "full_model": 20, "matched": 20,
                                         "matched_directions": 4, "matched_d": [1, 2, 4]}


def test_no_cap_or_a_cap_beyond_the_original_adds_no_grid():
    assert "matched" not in ch06.chapter_grids(_params(lottery_steps_cap=None))
    assert "matched" not in ch06.chapter_grids(_params(lottery_steps_cap=10_000))
    assert ch06.chapter_grids(_params(lottery_steps_cap=40))["matched"].lottery_length() == 40


@pytest.mark.parametrize("bad", ["half", 0, -3, 2.5])
def test_bad_cap_names_the_parameter_and_its_values(bad):
    with pytest.raises(ValueError, match="lottery_steps_cap=.*None, 'full'"):
        ch06.chapter_grids(_params(lottery_steps_cap=bad))


def test_the_cap_changes_lottery_keys_only_and_leaves_the_original_grid_alone():
    ctx = engine.make_context(Tiny(), tiny_data(n=1280))
    capped = ch06.chapter_grids(_params(lottery_steps_cap="full", n_train=1280))
    plain = ch06.chapter_grids(_params(lottery_steps_cap=None, n_train=1280))
    keys = lambda g: {(r["method"], r.get("d"), r.get("keep_fraction"), r["t"]): r["key"]  # noqa: E731
                      for r in engine.plan_runs(g, ctx)}
    assert keys(capped["trajectory"]) == keys(plain["trajectory"])  # committed records stay valid
    matched, original = keys(capped["matched"]), keys(plain["trajectory"])
    assert matched and all(matched[k] != original[k] for k in matched)
    assert {r["lottery_steps"] for r in engine.plan_runs(capped["matched"], ctx)} == {20}


def test_a_capped_trajectory_takes_only_the_capped_steps_and_its_records_are_told_apart(tmp_path):
    data = tiny_data(n=1280)
    p = _params(lottery_steps_cap="full", n_train=1280)
    m = ch06.chapter_grids(p)["matched"]
    ctx = engine.make_context(Tiny(), data)
    runs = [r for r in engine.plan_runs(m, ctx) if r["method"] == "lottery_subspace"]
    state = SeedState(ctx, m, 0, runs)
    Q, s = state.lottery()
    assert state._step == 20 and Q.shape[1] == 4 and s.shape == (4,)  # 20 steps, one direction per 5
    recs = engine.run_sweep(m.replace(d_values=(1,), methods=("lottery_subspace",)), Tiny(), data,
                            tmp_path / "r.jsonl", progress=False)
    orig = engine.run_sweep(ch06.chapter_grids(p)["trajectory"].replace(methods=("lottery_subspace",), d_values=(1, 16)),
                            Tiny(), data, tmp_path / "r.jsonl", progress=False)
    split = rec06.split_records(recs + orig)
    assert [r["lottery_steps"] for r in split["matched"]] == [20]
    assert sorted(r["d"] for r in split["subspaces"]) == [1, 16]
    table = ch06.compute_matched_table(split)
    assert table["d"].tolist() == [1] and table["gap"].iloc[0] == pytest.approx(
        split["matched"][0]["best_train_acc"] - max(r["best_train_acc"] for r in split["subspaces"] if r["d"] == 1))


def test_taxonomy_d_star_table_shows_each_threshold_with_its_band():
    import re

    from dof_helpers import taxonomy
    rows = []
    for seed in range(3):
        for d in (1, 2, 4, 8):
            acc = 0.5 + 0.1 * (d >= 4) + 0.1 * (d >= 8) + 0.01 * seed
            rows.append(dict(method="random_affine", t=0, seed=seed, d=d, D=100, best_train_acc=acc))
            rows.append(dict(method="lottery_subspace", t=0, seed=seed, d=d, D=100, best_train_acc=acc + 0.1))
    frame = taxonomy.taxonomy_frame(rows, [])
    table, delta = taxonomy.threshold_band_table(frame, [0.6, 0.7, 0.9], n_boot=200)
    plain, _ = taxonomy.threshold_table(frame, [0.6, 0.7, 0.9])
    assert list(table.columns) == ["lottery_subspace", "random_affine"]
    for col in table:
        for level, cell in table[col].items():
            d, low, high = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell).groups()
            want = plain.loc[level, col]
            assert d == ("none" if np.isnan(want) else f"{want:g}"), (col, level, cell)
    assert table.loc[0.9, "random_affine"] == "none [>8, >8]"  # never reached: band beyond the grid


def test_completion_counts_this_grids_runs_by_key_and_names_the_complete_seeds(tmp_path):
    import json

    from dof_helpers.records import append_record, load_records
    data = tiny_data(n=256)
    p = _params(seeds=[0, 1], lottery_d=[1, 2], subspace_d=[2], keep_fractions=[1.0], lottery_steps_cap=None,
                epochs=1, t=1)
    ctx = engine.make_context(Tiny(), data)
    path = tmp_path / "g_records.jsonl"
    grids = ch06.chapter_grids(p)
    assert set(grids) == {"trajectory", "subspaces"}
    for g in grids.values():  # seed 0 only: 2 lottery subspaces x 2 d + 4 pruning methods, 2 subspaces
        engine.run_sweep(g.replace(seeds=(0,)), Tiny(), data, path, progress=False)
    done = ch06.completion(p, load_records(path), ctx)
    assert (done["done"], done["expected"]) == (10, 20)
    assert done["per_grid"] == {"trajectory": "8/16", "subspaces": "2/4"} and done["seeds_complete"] == [0]
    assert done["reused"] == 0 and done["wall_s_trained"] > 0
    stale = {**load_records(path)[0], "key": "0" * 16, "epochs": 9}  # a run of another grid: never counted
    append_record(path, stale)
    assert ch06.completion(p, load_records(path), ctx)["done"] == 10
    assert ch06.completion(p, load_records(path), ctx)["wall_s_trained"] == done["wall_s_trained"]  # nor timed
    settings = tmp_path / "g_settings.json"
    info = ch06.refresh_settings(settings, p, path, ctx, preset="paper")
    assert info["state"] == "partial" and "--preset paper" in info["resume"]
    assert json.loads(settings.read_text())["completion"]["seeds_complete"] == [0]
    with pytest.raises(ValueError, match="state='finished'.*running"):
        ch06.refresh_settings(settings, p, path, ctx, state="finished")
    one_seed = {**p, "seeds": [0]}
    assert ch06.refresh_settings(settings, one_seed, path, ctx)["state"] == "complete"
    assert "resume" not in json.loads(settings.read_text())


@pytest.mark.parametrize("only, match", [(["lottery"], r"\['lottery'\] not among the grids"),
                                         (["matched"], "has no such grid")])
def test_only_names_the_grids_it_accepts_before_any_work(tmp_path, only, match):
    p = _params(lottery_steps_cap=None)  # no compute-matched grid in this parameter set
    with pytest.raises(ValueError, match=f"only=.*{match}"):
        ch06.run_taxonomy(p, tmp_path / "r.jsonl", data=tiny_data(), only=only)
    assert not (tmp_path / "r.jsonl").exists()


def test_a_committed_grid_is_shown_with_its_complete_seeds_only(tmp_path):
    import json

    from dof_helpers.records import append_record
    assert rec06.load_committed(tmp_path, "paper") == (None, {"state": "not run", "tag": "paper"})
    p = _params(seeds=[0, 1, 2])
    for seed in (0, 1, 2):
        append_record(tmp_path / "paper_records.jsonl",
                      dict(method="random_affine", t=0, seed=seed, d=2, key=f"k{seed}", best_train_acc=0.5))
    (tmp_path / "paper_settings.json").write_text(json.dumps({"parameters": p}))
    with pytest.raises(ValueError, match="no 'completion'.*--preset paper --status"):
        rec06.load_committed(tmp_path, "paper")
    done = {"done": 5, "expected": 9, "per_grid": {"subspaces": "5/9"}, "seeds_complete": [0, 2],
            "reused": 2, "wall_s_trained": 7200.0}
    (tmp_path / "paper_settings.json").write_text(json.dumps({"parameters": p, "completion": done,
                                                              "state": "partial"}))
    grid, info = rec06.load_committed(tmp_path, "paper")
    assert sorted(r["seed"] for r in grid["subspaces"]) == [0, 2]  # seed 1 is incomplete: left out
    assert info["seeds"] == [0, 2] and info["seeds_planned"] == [0, 1, 2] and info["state"] == "partial"
    text = rec06.committed_sentence(info)
    assert "partial, 5 of 9 runs" in text and "2.0 h" in text and "(2 of 3 complete)" in text
    done["seeds_complete"] = []
    (tmp_path / "paper_settings.json").write_text(json.dumps({"parameters": p, "completion": done}))
    assert rec06.load_committed(tmp_path, "paper")[0] is None


def test_claims_side_by_side_refuses_tables_of_other_claims():
    import pandas as pd

    from dof_helpers.chapters import lottery_claims
    a = pd.DataFrame({"claim": ["x", "y"], "paper": ["p", "q"], "here": ["1", "2"], "holds": [True, False]})
    both = lottery_claims.claims_side_by_side({"cpu-large": a, "paper": a.assign(holds=[True, True])})
    assert list(both.columns) == ["claim", "paper", "here (cpu-large)", "holds (cpu-large)", "here (paper)",
                                  "holds (paper)"]
    with pytest.raises(ValueError, match=r"tables\['paper'\] checks other claims"):
        lottery_claims.claims_side_by_side({"cpu-large": a, "paper": a.iloc[:1]})
    with pytest.raises(ValueError, match="tables=.*at least one"):
        lottery_claims.claims_side_by_side({})


def test_claims_interpolate_in_log_compression_and_never_extrapolate():
    import pandas as pd

    from dof_helpers.chapters import lottery_claims
    means = pd.DataFrame({"method": ["random_affine"] * 2, "d": [10, 1000], "compression": [100.0, 1.0],
                          "mean": [0.4, 0.8]})
    assert lottery_claims.mean_at(means, "random_affine", 10.0) == pytest.approx(0.6)  # halfway in log(D/d)
    assert np.isnan(lottery_claims.mean_at(means, "random_affine", 1000.0))
    assert lottery_claims.first_d(means, "random_affine", 0.5) == 1000
    assert lottery_claims.first_d(means, "random_affine", 0.9) is None
