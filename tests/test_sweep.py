"""Resumable sweeps: same records whether interrupted or not; validation; dense vs Fastfood."""
import dataclasses
from types import SimpleNamespace

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
import pytest

from dof_helpers import records, sweep, thresholds


from _tiny import Tiny, tiny_data  # noqa: E402


DATA = tiny_data()
CONFIG = sweep.SweepConfig(dataset="fashion_mnist", model="conv2", d_values=(2, 4), seeds=(0, 1),
                           methods=("random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t"),
                           t_values=(2,), epochs=2, batch_size=32, eval_init=True, strategy="loop")


def _strip(recs):
    return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in recs), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "full.jsonl"
    recs = sweep.run_sweep(CONFIG, path, progress=False, model=Tiny(), data=DATA)
    return path, recs


def test_sweep_writes_one_tidy_record_per_run(uninterrupted):
    path, recs = uninterrupted
    assert len(recs) == len(CONFIG.runs()) == 2 * (2 + 2 + 2 + 2)
    r = recs[0]
    for field in ("method", "dataset", "model", "D", "d", "t", "seed", "train_acc", "test_loss",
                  "best_train_acc", "best_test_loss", "init_train_acc", "wall_time", "status", "key"):
        assert field in r
    assert {r["status"] for r in recs} == {"ok"}
    assert {(r["method"], r["t"]) for r in recs} == {("random_affine", 0), ("burn_in", 2),
                                                     ("lottery_subspace", 0), ("lottery_subspace_t", 2)}
    # burn-in shared across d: both d of a seed start from the same w_t
    bi = [r for r in recs if r["method"] == "burn_in" and r["seed"] == 0]
    assert bi[0]["init_train_loss"] == bi[1]["init_train_loss"]
    # lottery at step t starts where burn-in t starts (same trajectory)
    lt = [r for r in recs if r["method"] == "lottery_subspace_t" and r["seed"] == 0]
    assert lt[0]["init_train_loss"] == pytest.approx(bi[0]["init_train_loss"], rel=1e-6)
    # rerun: nothing to do, same records
    again = sweep.run_sweep(CONFIG, path, progress=False, model=Tiny(), data=DATA)
    assert _strip(again) == _strip(recs) and len(records.load_records(path)) == len(recs)


def test_interrupted_sweep_resumes_to_identical_records(uninterrupted, tmp_path):
    _, full = uninterrupted
    path = tmp_path / "resumed.jsonl"
    sweep.run_sweep(CONFIG, path, progress=False, max_runs=3, model=Tiny(), data=DATA)
    assert len(records.load_records(path)) == 3

    class Boom(Exception):
        pass

    def crash(rec):
        if len(records.load_records(path)) == 9:
            raise Boom()

    with pytest.raises(Boom):
        sweep.run_sweep(CONFIG, path, progress=False, model=Tiny(), data=DATA, callback=crash)
    with open(path, "a") as fh:  # a torn line from a crash mid-write
        fh.write('{"key": "torn')
    resumed = sweep.run_sweep(CONFIG, path, progress=False, model=Tiny(), data=DATA)
    assert _strip(resumed) == _strip(full)


def test_config_validation():
    ok = dict(dataset="fashion_mnist", model="conv2", d_values=(4,))
    sweep.SweepConfig(**ok)
    with pytest.raises(ValueError, match="d=0"):
        sweep.SweepConfig(**dict(ok, d_values=(4, 0)))
    with pytest.raises(ValueError, match="method='lottery'"):
        sweep.SweepConfig(**ok, methods=("lottery",))
    with pytest.raises(ValueError, match="t_values"):
        sweep.SweepConfig(**ok, methods=("burn_in",))
    with pytest.raises(ValueError, match="basis="):
        sweep.SweepConfig(**ok, basis="sparse")
    with pytest.raises(ValueError, match="beyond the lottery trajectory"):
        sweep.SweepConfig(**ok, methods=("lottery_subspace_t",), t_values=(100,))
    with pytest.raises(ValueError, match="dataset="):
        sweep.SweepConfig(**dict(ok, dataset="mnst"))
    with pytest.raises(ValueError, match="strategy="):
        sweep.SweepConfig(**ok, strategy="pmap")
    # run keys are stable and depend on the run's fields only
    a = sweep.SweepConfig(**ok).runs()[0]["key"]
    b = dataclasses.replace(sweep.SweepConfig(**ok), strategy="vmap").runs()[0]["key"]
    assert a == b and a != sweep.SweepConfig(**dict(ok, epochs=4)).runs()[0]["key"]


def test_dense_basis_too_large_is_recorded_as_error(tmp_path):
    cfg = sweep.SweepConfig(dataset="fashion_mnist", model="mlp", d_values=(100_000,), epochs=1, strategy="loop")
    from dof_helpers.models import build_model
    recs = sweep.run_sweep(cfg, tmp_path / "r.jsonl", progress=False, model=build_model("mlp"),
                           data=SimpleNamespace(x_train=np.zeros((8, 28, 28, 1), np.float32),
                                                y_train=np.zeros(8, np.int32),
                                                x_test=np.zeros((8, 28, 28, 1), np.float32),
                                                y_test=np.zeros(8, np.int32)))
    assert recs[0]["status"] == "error" and "fastfood" in recs[0]["error"]


@pytest.mark.slow
def test_dense_and_fastfood_agree_on_success_probability(tmp_path):
    """Near the threshold, P_s (eq. 2.3) from Fastfood and dense bases should agree."""
    tables = {}
    for basis in ("dense", "fastfood"):
        cfg = sweep.SweepConfig(dataset="fashion_mnist", model="conv2", d_values=(2, 8, 32), seeds=tuple(range(8)),
                                epochs=2, batch_size=32, basis=basis, strategy="loop")
        recs = sweep.run_sweep(cfg, tmp_path / f"{basis}.jsonl", progress=False, model=Tiny(), data=DATA)
        tables[basis] = thresholds.success_probability(recs, "train_acc", levels=np.arange(0.1, 0.95, 0.05))
        means = {d: np.mean([r["best_train_acc"] for r in recs if r["d"] == d]) for d in cfg.d_values}
        tables[basis + "_means"] = means
    pd_, pf = tables["dense"]["p_success"].to_numpy(), tables["fastfood"]["p_success"].to_numpy()
    assert np.mean(np.abs(pd_ - pf)) < 0.15, (tables["dense_means"], tables["fastfood_means"])
    for d in (2, 8, 32):
        assert abs(tables["dense_means"][d] - tables["fastfood_means"][d]) < 0.1


@pytest.mark.slow
def test_vmap_sweep_matches_loop_sweep(uninterrupted, tmp_path):
    _, full = uninterrupted
    cfg = dataclasses.replace(CONFIG, strategy="vmap")
    recs = sweep.run_sweep(cfg, tmp_path / "vmap.jsonl", progress=False, model=Tiny(), data=DATA)
    by_key = {r["key"]: r for r in full}
    assert len(recs) == len(full)
    for r in recs:
        ref = by_key[r["key"]]
        for name in ("train_loss", "test_acc", "init_train_loss"):
            np.testing.assert_allclose(r[name], ref[name], rtol=1e-4, atol=1e-4)


def test_diverged_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    cfg = sweep.SweepConfig(dataset="fashion_mnist", model="conv2", d_values=(2, 4), seeds=(0,), epochs=2,
                            batch_size=32, lr=1e30, strategy="loop")
    recs = sweep.run_sweep(cfg, tmp_path / "div.jsonl", progress=False, model=Tiny(), data=DATA)
    assert len(recs) == 2 and {r["status"] for r in recs} == {"diverged"}
    assert all(r["best_train_acc"] is None or r["epochs_done"] < 2 for r in recs)


def test_lottery_run_key_depends_on_trajectory_length():
    """Lottery bases come from a trajectory of max(d_values) * every steps: a grid with
    another d_max must not reuse records; random affine keys are unaffected."""
    from dof_helpers.sweep import SweepConfig

    def keys(d_values):
        cfg = SweepConfig(dataset="fashion_mnist", model="conv2", d_values=d_values,
                          methods=("random_affine", "lottery_subspace"))
        return {(r["method"], r["d"]): r["key"] for r in cfg.runs()}

    small, large = keys((1, 2, 4)), keys((1, 2, 4, 8))
    assert small[("random_affine", 2)] == large[("random_affine", 2)]
    assert small[("lottery_subspace", 2)] != large[("lottery_subspace", 2)]
