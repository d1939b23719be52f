"""Pruning masks, masked training, layer collapse, and the resumable pruning sweep."""
from types import SimpleNamespace

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dof_helpers import optim, pruning, records, sweep
from dof_helpers.train import train_full


from _tiny import Tiny, tiny_data  # noqa: E402


DATA = tiny_data()
MODEL = Tiny()
PARAMS = MODEL.init(jax.random.PRNGKey(0), DATA.x_train[:1])["params"]
D = sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(PARAMS))  # 4*9+4 + 144*10+10 = 1490


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_keep_fractions_constant():
    assert pruning.KEEP_FRACTIONS[0] == 1 and pruning.KEEP_FRACTIONS[-1] == 1e-4
    assert len(pruning.KEEP_FRACTIONS) == 13
    assert all(a > b for a, b in zip(pruning.KEEP_FRACTIONS, pruning.KEEP_FRACTIONS[1:]))


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.1, 0.01, 1e-4])
@pytest.mark.parametrize("scope", pruning.SCOPES)
def test_exact_kept_counts(fraction, scope):
    m = pruning.magnitude_mask(PARAMS, fraction, scope)
    r = pruning.random_mask(jax.random.PRNGKey(1), PARAMS, fraction, scope)
    if scope == "global":
        want = max(1, round(fraction * D))
    else:
        want = sum(max(1, round(fraction * np.size(w))) for w in jax.tree_util.tree_leaves(PARAMS))
    assert pruning.mask_count(m) == want
    assert pruning.mask_count(r) == want
    for leaf in _leaves(m) + _leaves(r):
        assert set(np.unique(leaf)) <= {0.0, 1.0}


def test_magnitude_mask_keeps_the_largest():
    m = pruning.magnitude_mask(PARAMS, 0.1, "global")
    w = np.concatenate([np.abs(x).ravel() for x in _leaves(PARAMS)])
    k = np.concatenate([x.ravel() for x in _leaves(m)]).astype(bool)
    assert w[k].min() >= w[~k].max()


def test_global_and_layerwise_differ():
    g = pruning.magnitude_mask(PARAMS, 0.05, "global")
    l = pruning.magnitude_mask(PARAMS, 0.05, "layerwise")
    assert any(not np.array_equal(a, b) for a, b in zip(_leaves(g), _leaves(l)))
    # layerwise keeps the same fraction in every array; global does not
    fr_l = pruning.layer_keep_fractions(l)
    fr_g = pruning.layer_keep_fractions(g)
    kernels = [k for k in fr_l if k.endswith("kernel")]
    assert max(fr_l[k] for k in kernels) - min(fr_l[k] for k in kernels) < 0.02
    assert max(fr_g[k] for k in kernels) - min(fr_g[k] for k in kernels) > 0.05


def test_layer_collapse_detected_on_a_constructed_case():
    # shrink the conv kernel so that global magnitude pruning removes it first
    params = jax.tree_util.tree_map(lambda x: x, PARAMS)
    params = {"Conv_0": {"kernel": PARAMS["Conv_0"]["kernel"] * 1e-6, "bias": PARAMS["Conv_0"]["bias"]},
              "Dense_0": PARAMS["Dense_0"]}
    m = pruning.magnitude_mask(params, 0.1, "global")
    assert pruning.collapsed_layers(m) == ["Conv_0"]
    assert pruning.collapsed_layers(pruning.magnitude_mask(params, 0.1, "layerwise")) == []
    assert pruning.collapsed_layers(pruning.magnitude_mask(PARAMS, 1.0)) == []


def test_pruned_weights_stay_exactly_zero_and_kept_ones_move():
    mask = pruning.magnitude_mask(PARAMS, 0.1)
    start = pruning.apply_mask(PARAMS, mask)
    opt = pruning.masked_optimizer(optim.momentum_sgd(0.05, 0.9), mask)
    res = train_full(MODEL, DATA, key=jax.random.PRNGKey(3), epochs=2, batch_size=32, optimizer=opt, params=start)
    moved = 0
    for w, m, w0 in zip(_leaves(res.params), _leaves(mask), _leaves(start)):
        assert np.all(w[m == 0] == 0.0), "a pruned weight moved"
        moved += int(np.sum(w[m == 1] != w0[m == 1]))
    assert moved > 0.9 * pruning.mask_count(mask)
    assert res.metrics["status"] == "ok"


def test_masked_optimizers_compare_equal_so_the_step_compiles_once():
    base = optim.momentum_sgd(0.05, 0.9)
    a = pruning.masked_optimizer(base, pruning.magnitude_mask(PARAMS, 0.5))
    b = pruning.masked_optimizer(base, pruning.magnitude_mask(PARAMS, 0.1))
    assert a == b and hash(a) == hash(b)
    assert a != pruning.masked_optimizer(optim.momentum_sgd(0.01, 0.9), pruning.magnitude_mask(PARAMS, 0.5))


CONFIG = pruning.PruningConfig(dataset="fashion_mnist", model="conv2", keep_fractions=(1.0, 0.1, 0.01),
                               seeds=(0, 1), methods=pruning.PRUNING_METHODS, t_values=(3,), epochs=1,
                               batch_size=32, pretrain_epochs=1)


def _strip(recs):
    return sorted(({k: v for k, v in r.items() if k != "wall_time"} for r in recs), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    path = tmp_path_factory.mktemp("pruning") / "full.jsonl"
    return path, pruning.run_pruning(CONFIG, path, progress=False, model=MODEL, data=DATA)


def test_sweep_records_have_the_sweep_fields(uninterrupted):
    _, recs = uninterrupted
    assert len(recs) == len(CONFIG.runs()) == 2 * 4 * 3
    for field in ("method", "dataset", "model", "D", "d", "t", "seed", "train_acc", "test_acc", "best_train_acc",
                  "best_test_loss", "wall_time", "status", "key", "keep_fraction", "collapsed_layers", "basis"):
        assert field in recs[0], field
    assert {r["D"] for r in recs} == {D}
    assert {r["d"] for r in recs} == {D, round(0.1 * D), round(0.01 * D)}
    assert {(r["method"], r["t"]) for r in recs} == {("lottery_ticket", 0), ("lottery_ticket_t", 3),
                                                     ("random_pruning", 0), ("random_pruning_t", 3)}
    full = [r for r in recs if r["keep_fraction"] == 1.0 and r["t"] == 0]
    assert all(r["best_train_acc"] > 0.3 for r in full), "the unpruned network should learn the tiny task"


def test_rewind_points_are_the_sweeps(uninterrupted):
    """w_0 and w_t are the sweep's: same seed keys, same trajectory as burn_in."""
    from dof_helpers.train import burn_in, init_model_params
    state = pruning._SeedState(CONFIG, MODEL, DATA, 0)
    k_init, k_traj = sweep.seed_keys(0)
    w0 = init_model_params(MODEL, k_init, DATA.x_train.shape[1:])
    for a, b in zip(_leaves(state.point(0)), _leaves(w0)):
        np.testing.assert_array_equal(a, b)
    wt = burn_in(MODEL, w0, DATA, key=k_traj, t=3, batch_size=32, optimizer=optim.momentum_sgd(0.05, 0.9))
    for a, b in zip(_leaves(state.point(3)), _leaves(wt)):
        np.testing.assert_array_equal(a, b)
    # a ticket rewound to init starts at w_0 * mask exactly
    mask = state.mask("lottery_ticket", 0.1, 0)
    for s, w, m in zip(_leaves(pruning.apply_mask(state.point(0), mask)), _leaves(w0), _leaves(mask)):
        np.testing.assert_array_equal(s, w * m)


def test_resume_gives_identical_records(uninterrupted, tmp_path):
    _, full = uninterrupted
    path = tmp_path / "resumed.jsonl"
    first = pruning.run_pruning(CONFIG, path, progress=False, model=MODEL, data=DATA, max_runs=7)
    assert len(first) == 7
    rest = pruning.run_pruning(CONFIG, path, progress=False, model=MODEL, data=DATA)
    assert len(rest) == len(full)
    assert _strip(rest) == _strip(full)
    again = pruning.run_pruning(CONFIG, path, progress=False, model=MODEL, data=DATA)
    assert len(records.load_records(path)) == len(full) and _strip(again) == _strip(full)


@pytest.mark.parametrize("kwargs, name", [
    (dict(keep_fractions=(0.5, 0.0)), "keep_fraction"),
    (dict(keep_fractions=(1.5,)), "keep_fraction"),
    (dict(keep_fractions=()), "keep_fractions"),
    (dict(methods=("lottery_tickets",)), "method"),
    (dict(methods=("lottery_ticket_t",)), "t_values"),
    (dict(scope="per-layer"), "scope"),
    (dict(pretrain_epochs=0), "pretrain_epochs"),
])
def test_bad_config_rejected_with_names(kwargs, name):
    base = dict(dataset="fashion_mnist", model="conv2")
    with pytest.raises(ValueError, match=name) as err:
        pruning.PruningConfig(**{**base, **kwargs})
    if name == "method":
        assert "lottery_ticket" in str(err.value) and "random_pruning_t" in str(err.value)
    if name == "scope":
        assert "'global'" in str(err.value) and "'layerwise'" in str(err.value)


def test_bad_mask_arguments_rejected():
    with pytest.raises(ValueError, match="keep_fraction"):
        pruning.magnitude_mask(PARAMS, 0.0)
    with pytest.raises(ValueError, match="scope.*'global', 'layerwise'"):
        pruning.random_mask(jax.random.PRNGKey(0), PARAMS, 0.5, "local")


def test_rewind_step_beyond_pretraining_rejected(tmp_path):
    cfg = pruning.PruningConfig(dataset="fashion_mnist", model="conv2", keep_fractions=(0.5,),
                                methods=("lottery_ticket_t",), t_values=(10_000,), epochs=1, batch_size=32)
    with pytest.raises(ValueError, match="t_values"):
        pruning.run_pruning(cfg, tmp_path / "x.jsonl", progress=False, model=MODEL, data=DATA)


def test_taxonomy_frame_and_threshold_table(uninterrupted):
    _, recs = uninterrupted
    frame = pruning.taxonomy_frame([], recs, t=3)
    assert set(frame["method"]) == set(pruning.PRUNING_METHODS)
    assert np.allclose(frame["compression"], frame["D"] / frame["d"])
    table, delta = pruning.threshold_table(frame, [0.1, 0.2])
    assert delta == 0.5 and table.shape[0] == 2
    assert pruning.paper_delta(10) == 0.1 and pruning.paper_delta(3) == pytest.approx(1 / 3)


def test_chapter_presets_name_known_parameters_only():
    from dof_helpers import runner
    from dof_helpers.paths import repo_root
    defaults = pruning.chapter_parameters()
    for path in sorted((repo_root() / "presets" / "06_lottery").glob("*.yaml")):
        lines = path.read_text().splitlines()
        assert lines[0].startswith("# "), f"{path.name}: first line must say hardware and time"
        preset = runner.load_preset(path)
        assert set(preset) <= set(defaults), f"{path.name}: unknown {set(preset) - set(defaults)}"
        assert all(preset[k] != defaults[k] for k in preset), f"{path.name} repeats a default"
        params = {**defaults, **preset}
        cfgs = pruning.chapter_configs(**{k: params[k] for k in pruning.CHAPTER_CONFIG_KEYS})
        assert {m for c in cfgs for m in c.methods} == set(pruning.TABLE1_METHODS)
