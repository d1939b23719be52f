"""Pruning masks, masked training, layer collapse, and the pruning methods of the engine."""

import jax
import numpy as np
import pytest

from dof_helpers import engine, optim, pruning, taxonomy
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


CONFIG = engine.SweepConfig(keep_fractions=(1.0, 0.1, 0.01), seeds=(0, 1), methods=engine.PRUNING_METHODS,
                            t_values=(3,), epochs=1, batch_size=32, pretrain_epochs=1)


def test_rewind_points_are_the_trajectory_points_and_tickets_start_at_w_t_times_mask():
    """w_0 and w_t are the seed state's: same seed keys, the same walk as a burn-in."""
    from dof_helpers.engine.state import SeedState
    from dof_helpers.train import burn_in, init_model_params
    ctx = engine.make_context(MODEL, DATA)
    runs = [{"method": "lottery_ticket", "keep_fraction": 0.1, "t": 0, "seed": 0},
            {"method": "lottery_ticket_t", "keep_fraction": 0.1, "t": 3, "seed": 0}]
    state = SeedState(ctx, CONFIG, 0, runs)
    k_init, k_traj = engine.seed_keys(0)
    w0 = init_model_params(MODEL, k_init, DATA.x_train.shape[1:])
    for a, b in zip(_leaves(state.point(0)), _leaves(w0)):
        np.testing.assert_array_equal(a, b)
    wt = burn_in(MODEL, w0, DATA, key=k_traj, t=3, batch_size=32, optimizer=optim.momentum_sgd(0.05, 0.9))
    for a, b in zip(_leaves(state.point(3)), _leaves(wt)):
        np.testing.assert_array_equal(a, b)
    mask = state.mask(runs[0])
    for s, w, m in zip(_leaves(pruning.apply_mask(state.point(0), mask)), _leaves(w0), _leaves(mask)):
        np.testing.assert_array_equal(s, w * m)


def test_taxonomy_frame_and_threshold_table(tmp_path):
    recs = engine.run_sweep(CONFIG, MODEL, DATA, tmp_path / "r.jsonl", progress=False)
    frame = taxonomy.taxonomy_frame([], recs, t=3)
    assert set(frame["method"]) == set(engine.PRUNING_METHODS)
    assert np.allclose(frame["compression"], frame["D"] / frame["d"])
    assert {r["d"] for r in recs} == {D, round(0.1 * D), round(0.01 * D)}
    table, delta = taxonomy.threshold_table(frame, [0.1, 0.2])
    assert delta == pytest.approx(0.501) and table.shape[0] == 2  # all but one of the 2 seeds


def test_bad_mask_arguments_rejected():
    with pytest.raises(ValueError, match="keep_fraction"):
        pruning.magnitude_mask(PARAMS, 0.0)
    with pytest.raises(ValueError, match="scope.*'global', 'layerwise'"):
        pruning.random_mask(jax.random.PRNGKey(0), PARAMS, 0.5, "local")


