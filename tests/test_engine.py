"""The engine: tidy records, resumes to identical records, every method, validation, vectors."""
import numpy as np
import pytest

from dof_helpers import data, engine, records, thresholds

from _tiny import Tiny, TinyMLP, blobs, tiny_data

DATA = tiny_data()
CONFIG = engine.SweepConfig(methods=engine.TABLE1_METHODS + ("full",), d_values=(2, 4), keep_fractions=(1.0, 0.1),
                            seeds=(0, 1), t_values=(2,), epochs=2, batch_size=32, eval_init=True, strategy="loop",
                            pretrain_epochs=1)


def _strip(recs):
    return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in recs), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "full.jsonl"
    return path, engine.run_sweep(CONFIG, Tiny(), DATA, path, progress=False)


def test_one_tidy_record_per_run_of_every_method(uninterrupted):
    path, recs = uninterrupted
    assert len(recs) == CONFIG.n_runs() == 2 * (2 * 4 + 2 * 4 + 1)
    for field in ("method", "dataset", "model", "model_fingerprint", "data_fingerprint", "D", "d", "t", "seed",
                  "train_acc", "best_train_acc", "best_test_loss", "init_train_acc", "wall_time", "status", "key"):
        assert all(field in r for r in recs), field
    assert {r["status"] for r in recs} == {"ok"} and {r["dataset"] for r in recs} == {"tiny"}
    by = lambda **kw: [r for r in recs if all(r[k] == v for k, v in kw.items())]  # noqa: E731
    # the four methods at step t start from the same w_t (one trajectory per seed)
    starts = {m: by(method=m, seed=0)[0]["init_train_loss"] for m in ("burn_in", "lottery_subspace_t")}
    assert starts["burn_in"] == pytest.approx(starts["lottery_subspace_t"], rel=1e-6)
    # a ticket keeping everything, rewound to w_0, is the full model's start
    assert by(method="lottery_ticket", keep_fraction=1.0, seed=0)[0]["init_train_loss"] == pytest.approx(
        by(method="full", seed=0)[0]["init_train_loss"], rel=1e-6)
    assert by(method="random_pruning", keep_fraction=0.1, seed=0)[0]["d"] == round(0.1 * recs[0]["D"])
    assert len(by(method="lottery_subspace", d=4, seed=1)[0]["singular_values"]) == 4
    assert {r["method"]: r["basis"] for r in recs} == {"random_affine": "dense", "burn_in": "dense",
                                                      "lottery_subspace": "lottery", "lottery_subspace_t": "lottery",
                                                      "lottery_ticket": "mask", "lottery_ticket_t": "mask",
                                                      "random_pruning": "mask", "random_pruning_t": "mask",
                                                      "full": "none"}
    again = engine.run_sweep(CONFIG, Tiny(), DATA, path, progress=False)
    assert _strip(again) == _strip(recs) and len(records.load_records(path)) == len(recs)


def test_interrupted_sweep_resumes_to_identical_records(uninterrupted, tmp_path):
    _, full = uninterrupted
    path = tmp_path / "resumed.jsonl"
    engine.run_sweep(CONFIG, Tiny(), DATA, path, progress=False, max_runs=3)
    assert len(records.load_records(path)) == 3

    class Boom(Exception):
        pass

    def crash(rec):
        if len(records.load_records(path)) == 11:
            raise Boom()

    with pytest.raises(Boom):
        engine.run_sweep(CONFIG, Tiny(), DATA, path, progress=False, callback=crash)
    with open(path, "a") as fh:  # a torn line from a crash mid-write
        fh.write('{"key": "torn')
    resumed = engine.run_sweep(CONFIG, Tiny(), DATA, path, progress=False, order="coarse_to_fine")
    assert _strip(resumed) == _strip(full)


def test_train_run_is_one_cell_of_the_sweep(uninterrupted):
    _, full = uninterrupted
    rec = engine.train_run(Tiny(), DATA, method="burn_in", d=4, t=2, seed=1, epochs=2, batch_size=32,
                           eval_init=True, pretrain_epochs=1)
    ref = next(r for r in full if r["key"] == rec["key"])
    assert rec["best_train_acc"] == ref["best_train_acc"] and rec["train_loss"] == ref["train_loss"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(d_values=(4, 0)), "d_values=0"),
    (dict(methods=("lottery",)), "methods='lottery'"),
    (dict(methods=("burn_in",)), "t_values=()"),
    (dict(methods=("lottery_ticket",)), "keep_fractions=()"),
    (dict(basis="sparse"), "basis="),
    (dict(strategy="pmap"), "strategy="),
    (dict(seeds=(0, 0)), r"seeds=\[0, 0\].*repeated"),
    (dict(d_values=(4, 8, 4)), r"d_values=\[4, 8, 4\].*repeated"),
    (dict(keep_fractions=(0.5, 1.5), methods=("random_pruning",)), "keep_fractions=1.5"),
    (dict(loss="hinge"), "loss="),
    (dict(momentum=1.0), "momentum="),
])
def test_bad_configuration_is_rejected_at_once_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        engine.SweepConfig(**{"d_values": (4,), **kwargs})


def test_bad_model_data_and_run_arguments_are_rejected_by_name(tmp_path):
    with pytest.raises(ValueError, match="model='conv9'"):
        engine.run_sweep(engine.SweepConfig(d_values=(2,)), "conv9", DATA, tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="data=SimpleNamespace"):
        from types import SimpleNamespace
        engine.run_sweep(engine.SweepConfig(d_values=(2,)), Tiny(), SimpleNamespace(), tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="d=None"):
        engine.train_run(Tiny(), DATA, method="random_affine")
    with pytest.raises(ValueError, match="t=3 is not valid for method 'random_affine'"):
        engine.train_run(Tiny(), DATA, method="random_affine", d=2, t=3)
    with pytest.raises(ValueError, match="t_values .* lottery_ticket_t"):
        engine.run_sweep(engine.SweepConfig(methods=("lottery_ticket_t",), keep_fractions=(0.5,), t_values=(999,),
                                            batch_size=32, pretrain_epochs=1), Tiny(), DATA, tmp_path / "r.jsonl")


def test_vector_inputs_train_and_learn():
    ds = data.from_arrays(*blobs(), name="blobs")
    rec = engine.train_run(TinyMLP(), ds, method="random_affine", d=32, epochs=5, batch_size=32)
    assert rec["status"] == "ok" and rec["D"] == 20 * 16 + 16 + 16 * 3 + 3
    assert rec["best_test_acc"] > 0.8  # well-separated blobs: a 32-dim subspace is plenty
    full = engine.train_run(TinyMLP(), ds, method="full", epochs=3, batch_size=32, full_lr=0.1)
    assert full["best_train_acc"] > 0.9 and full["d"] == full["D"]


def test_squared_error_loss_trains_and_is_recorded_as_such():
    ds = data.from_arrays(*blobs(), name="blobs")
    rec = engine.train_run(TinyMLP(), ds, method="random_affine", d=32, epochs=3, batch_size=32, loss="squared_error",
                           eval_init=True)
    assert rec["loss"] == "squared_error" and rec["best_train_loss"] < rec["init_train_loss"]


def test_dense_basis_too_large_is_recorded_as_error(tmp_path):
    cfg = engine.SweepConfig(methods=("random_affine",), d_values=(100_000,), epochs=1, batch_size=8)
    x = np.zeros((8, 28, 28, 1), np.float32)
    y = np.arange(8) % 10
    recs = engine.run_sweep(cfg, "mlp", data.from_arrays(x, y, x, y, name="zeros", num_classes=10),
                            tmp_path / "r.jsonl", progress=False)
    assert recs[0]["status"] == "error" and "fastfood" in recs[0]["error"]


def test_diverged_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    cfg = engine.SweepConfig(d_values=(2, 4), epochs=2, batch_size=32, lr=1e30)
    recs = engine.run_sweep(cfg, Tiny(), DATA, tmp_path / "div.jsonl", progress=False)
    assert len(recs) == 2 and {r["status"] for r in recs} == {"diverged"}


@pytest.mark.slow
def test_vmap_sweep_matches_loop_sweep(uninterrupted, tmp_path):
    _, full = uninterrupted
    recs = engine.run_sweep(CONFIG.replace(strategy="vmap"), Tiny(), DATA, tmp_path / "vmap.jsonl", progress=False)
    by_key = {r["key"]: r for r in full}
    assert len(recs) == len(full)
    for r in recs:
        for name in ("train_loss", "test_acc", "init_train_loss"):
            np.testing.assert_allclose(r[name], by_key[r["key"]][name], rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_dense_and_fastfood_agree_on_success_probability(tmp_path):
    """Near the threshold, P_s (eq. 2.3) from Fastfood and dense bases should agree."""
    tables, means = {}, {}
    for basis in ("dense", "fastfood"):
        cfg = engine.SweepConfig(d_values=(2, 8, 32), seeds=tuple(range(8)), epochs=2, batch_size=32, basis=basis)
        recs = engine.run_sweep(cfg, Tiny(), DATA, tmp_path / f"{basis}.jsonl", progress=False)
        tables[basis] = thresholds.success_probability(recs, "train_acc", levels=np.arange(0.1, 0.95, 0.05))
        means[basis] = {d: np.mean([r["best_train_acc"] for r in recs if r["d"] == d]) for d in cfg.d_values}
    pd_, pf = tables["dense"]["p_success"].to_numpy(), tables["fastfood"]["p_success"].to_numpy()
    assert np.mean(np.abs(pd_ - pf)) < 0.15, means
    for d in (2, 8, 32):
        assert abs(means["dense"][d] - means["fastfood"][d]) < 0.1
