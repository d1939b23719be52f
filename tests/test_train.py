"""Training runs on a tiny model and random data (full space, burn-in, subspace, lottery)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from dof_helpers import batched, optim, subspace, train


from _tiny import Tiny, tiny_data  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    model = Tiny()
    data = tiny_data()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 1)))["params"]
    return model, data, params


def test_full_training_records_epochs_and_improves(setup):
    model, data, params = setup
    r = train.train_full(model, data, key=jax.random.PRNGKey(1), epochs=3, batch_size=32, params=params,
                         eval_init=True)
    m = r.metrics
    assert m["status"] == "ok" and m["steps"] == 3 * (256 // 32) and m["epochs_done"] == 3
    assert len(m["train_acc"]) == len(m["test_loss"]) == 3
    assert m["best_train_acc"] == max(m["train_acc"]) and m["best_test_loss"] == min(m["test_loss"])
    assert m["best_train_loss"] < m["init_train_loss"]
    # same key, same numbers
    r2 = train.train_full(model, data, key=jax.random.PRNGKey(1), epochs=3, batch_size=32, params=params,
                          eval_init=True)
    assert r2.metrics["train_loss"] == m["train_loss"]


def test_one_step_run_and_chunked_eval(setup):
    model, data, params = setup
    r = train.train_full(model, data, key=jax.random.PRNGKey(2), epochs=1, batch_size=32, params=params,
                         max_steps=1, eval_chunk=37)
    assert r.metrics["steps"] == 1
    logits = model.apply({"params": r.params}, data.x_train)
    acc = float(np.mean(np.argmax(logits, -1) == data.y_train))
    loss = float(train.cross_entropy(logits, data.y_train))
    assert r.metrics["train_acc"][0] == pytest.approx(acc)
    assert r.metrics["train_loss"][0] == pytest.approx(loss, rel=1e-5)


def test_divergence_is_recorded(setup):
    model, data, params = setup
    r = train.train_full(model, data, key=jax.random.PRNGKey(3), epochs=3, batch_size=32, params=params,
                         optimizer=optim.momentum_sgd(lr=1e6))
    assert r.metrics["status"] == "diverged"
    assert r.metrics["epochs_done"] < 3


def test_burn_in_and_subspace(setup):
    model, data, params = setup
    assert train.burn_in(model, params, data, key=jax.random.PRNGKey(4), t=0) is params
    w_t = train.burn_in(model, params, data, key=jax.random.PRNGKey(4), t=4, batch_size=32)
    w0, layout = subspace.flatten_params(params)
    assert not np.allclose(layout.flatten(w_t), w0)
    for kind in ("dense", "fastfood"):
        basis = subspace.make_basis(kind, jax.random.PRNGKey(5), layout.D, 20)
        r = train.train_subspace(model, w_t, basis, data, key=jax.random.PRNGKey(6), d=20, epochs=2,
                                 batch_size=32, eval_init=True)
        m = r.metrics
        assert m["status"] == "ok" and m["d"] == 20 and m["D"] == layout.D
        full_init = train.evaluate(model, w_t, data.x_train, data.y_train)
        assert m["init_train_loss"] == pytest.approx(full_init[0], rel=1e-6)
        assert m["best_train_loss"] < m["init_train_loss"]
        # final params are w_t + A theta
        A = subspace.materialize(basis, layout.D, 20)
        np.testing.assert_allclose(layout.flatten(r.params), layout.flatten(w_t) + A @ r.theta, atol=1e-5)


def test_subspace_rejects_d_above_rank(setup):
    model, data, params = setup
    w0, layout = subspace.flatten_params(params)
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(layout.D, 5)))
    basis = subspace.orthonormal_basis(Q, 5)
    with pytest.raises(ValueError, match="rank"):
        train.train_subspace(model, params, basis, data, key=jax.random.PRNGKey(0), d=6, epochs=1)
    with pytest.raises(ValueError, match="d is required"):
        train.train_subspace(model, params, subspace.fastfood_basis(jax.random.PRNGKey(0), layout.D, 3),
                             data, key=jax.random.PRNGKey(0), epochs=1)


def test_lottery_subspace_is_orthonormal_nested_and_rewinds(setup):
    from dof_helpers import data as data_mod, engine
    from dof_helpers.engine.state import SeedState
    model, data, params = setup
    ds = data_mod.from_arrays(data.x_train, data.y_train, data.x_test, data.y_test, name="tiny", num_classes=10)
    cfg = engine.SweepConfig(methods=("lottery_subspace_t",), d_values=(6,), t_values=(4,), batch_size=32)
    state = SeedState(engine.make_context(model, ds), cfg, 7, [{"method": "lottery_subspace_t", "t": 4, "seed": 7}])
    Q, s = state.lottery()
    Q = np.asarray(Q)
    assert Q.shape[1] == 6
    np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-4)
    assert np.all(np.diff(np.asarray(s)) <= 1e-6)
    centre, basis = state.centre_and_basis({"method": "lottery_subspace_t", "d": 3, "t": 4, "seed": 7})
    np.testing.assert_array_equal(basis.Q, Q[:, :3])  # nested in d
    # the trajectory's w_4 is the burn-in point of the seed's trajectory key
    w4 = train.burn_in(model, state.w0, ds, key=engine.seed_keys(7)[1], t=4, batch_size=32)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), centre, w4)
    with pytest.raises(ValueError, match="beyond the lottery trajectory"):
        state.centre_and_basis({"method": "lottery_subspace_t", "d": 7, "t": 4, "seed": 7})


def _batched_setup(setup, kind, R=3, d=8):
    model, data, params = setup
    w0, layout = subspace.flatten_params(params)
    centres = [jax.tree_util.tree_map(lambda p: p + 0.01 * r, params) for r in range(R)]
    bases = [subspace.make_basis(kind, jax.random.PRNGKey(10 + r), layout.D, d) for r in range(R)]
    keys = [jax.random.PRNGKey(20 + r) for r in range(R)]
    return model, data, centres, bases, keys


@pytest.mark.parametrize("kind", ["dense", "fastfood"])
def test_loop_and_vmap_give_the_same_numbers(setup, kind):
    model, data, centres, bases, keys = _batched_setup(setup, kind)
    together = batched.train_subspace_batched(model, centres, bases, data, keys=keys, d=8, epochs=2, batch_size=32,
                                              eval_init=True)
    for c, b, k, rb in zip(centres, bases, keys, together):
        rl = train.train_subspace(model, c, b, data, key=k, d=8, epochs=2, batch_size=32, eval_init=True)
        for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
            np.testing.assert_allclose(rb.metrics[name], rl.metrics[name], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rb.theta, rl.theta, rtol=1e-3, atol=1e-5)
        assert rb.metrics["status"] == rl.metrics["status"] == "ok"


def test_pick_strategy():
    assert batched.pick_strategy("auto", backend="cpu") == "loop"
    assert batched.pick_strategy("auto", backend="gpu") == "vmap"
    assert batched.pick_strategy("vmap") == "vmap"
    with pytest.raises(ValueError, match="strategy="):
        batched.pick_strategy("pmap")


_SHARDED_SCRIPT = r"""
import sys, json, jax, numpy as np
sys.path.insert(0, {tests!r})
from test_train import Tiny, tiny_data
from dof_helpers import batched, subspace, train
assert len(jax.devices()) == 2, jax.devices()
model, data = Tiny(), tiny_data()
params = model.init(jax.random.PRNGKey(0), np.zeros((1, 6, 6, 1), np.float32))["params"]
w0, layout = subspace.flatten_params(params)
R = 3
centres = [jax.tree_util.tree_map(lambda p: p + 0.01 * r, params) for r in range(R)]
bases = [subspace.make_basis("fastfood", jax.random.PRNGKey(10 + r), layout.D, 8) for r in range(R)]
keys = [jax.random.PRNGKey(20 + r) for r in range(R)]
out = batched.train_subspace_batched(model, centres, bases, data, keys=keys, d=8, epochs=2, batch_size=32)
one = batched.train_subspace_batched(model, centres, bases, data, keys=keys, d=8, epochs=2, batch_size=32,
                                   devices=jax.devices()[:1])
print(json.dumps({{"sharded": [r.metrics["train_loss"] for r in out],
                  "single": [r.metrics["train_loss"] for r in one]}}))
"""


@pytest.mark.slow
def test_sharded_over_two_host_devices_matches(tmp_path):
    import json
    import os
    import subprocess
    import sys
    script = tmp_path / "sharded.py"
    script.write_text(_SHARDED_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip())
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(res["sharded"], res["single"], rtol=1e-4, atol=1e-5)


def test_cpu_compiler_options_are_local_and_accepted():
    assert train.compiler_options("gpu") == {}
    opts = train.compiler_options("cpu")
    assert opts in ({}, train.CPU_COMPILER_OPTIONS)   # {} only on an XLA without the option
    if jax.default_backend() == "cpu":
        assert opts == train.CPU_COMPILER_OPTIONS      # jaxlib pinned in requirements.txt knows it

        def conv(x, k):
            return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

        args = (jnp.ones((8, 14, 14, 16)), jnp.ones((3, 3, 16, 32)))   # Conv-2's second layer
        f = train.backend_jit()(conv)
        np.testing.assert_allclose(f(*args), conv(*args), rtol=1e-6)
        # the option takes effect for this function only: no YNNPACK fusion in its program
        assert "ynn_fusion" not in f.lower(*args).compile().as_text()
        default_hlo = jax.jit(conv).lower(*args).compile().as_text()
        if "ynn_fusion" not in default_hlo:
            pytest.skip("this XLA does not use YNNPACK fusions by default")


def test_full_space_steps_walk_the_burn_in_trajectory(setup):
    model, data, params = setup
    key = jax.random.PRNGKey(5)
    seen = [ravel_pytree(w)[0] for w in train.full_space_steps(model, params, data, key=key,
                                                                                  steps=3, batch_size=8)]
    assert len(seen) == 3 and not np.array_equal(seen[0], seen[1])
    w3 = train.burn_in(model, params, data, key=key, t=3, batch_size=8)
    np.testing.assert_array_equal(seen[-1], ravel_pytree(w3)[0])
    assert list(train.full_space_steps(model, params, data, key=key, steps=0)) == []
