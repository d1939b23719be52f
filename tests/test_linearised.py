"""The linearised model f_lin(w) = f(w_opt) + J(w_opt)(w - w_opt) (Appendix A.1)."""
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import _curv
from dof_helpers import linearised as lin_mod
from dof_helpers import train
from dof_helpers.subspace import ParamLayout

CASES = {"mlp (forward mode)": (_curv.mlp, "jvp"), "fused conv (custom_vjp, transposed)": (_curv.fused, "transpose")}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    make, mode = CASES[request.param]
    model, shape = make()
    x, y = _curv.data(shape, n=24)
    p_opt = _curv.params(model, shape, seed=0)
    p_0 = _curv.params(model, shape, seed=1)
    lin = lin_mod.linearise(model, p_opt)
    return SimpleNamespace(model=model, shape=shape, x=x, y=y, p_opt=p_opt, p_0=p_0, mode=mode, lin=lin,
                           apply=jax.jit(lin.apply), layout=ParamLayout.of(p_opt))


def test_auto_picks_forward_mode_only_where_it_works(case):
    assert lin_mod.resolve_tangent(case.model, case.p_opt, case.x) == case.mode


def test_equals_the_network_at_the_optimum(case):
    f = case.model.apply({"params": case.p_opt}, case.x)
    f_lin = case.apply({"params": case.p_opt}, case.x)
    np.testing.assert_allclose(f_lin, f, rtol=0, atol=1e-6)


def test_exactly_affine_in_w(case):
    w_opt = case.layout.flatten(case.p_opt)
    v = jax.random.normal(jax.random.key(3), w_opt.shape)
    f_at = lambda a: np.asarray(case.apply({"params": case.layout.unravel(w_opt + a * v)}, case.x), np.float64)  # noqa: E731
    f0, f1 = f_at(0.0), f_at(1.0)
    scale = np.abs(f1 - f0).max()
    for a in (-2.0, 0.5, 3.0):
        np.testing.assert_allclose(f_at(a), f0 + a * (f1 - f0), rtol=0, atol=2e-5 * scale * max(1, abs(a)))


def test_gradient_matches_central_differences(case):
    w0 = case.layout.flatten(case.p_0)
    loss = jax.jit(lambda w: lin_mod.cross_entropy(case.lin.apply({"params": case.layout.unravel(w)}, case.x), case.y))
    g = jax.jit(jax.grad(loss))(w0)
    for seed in range(3):
        v = jax.random.normal(jax.random.key(10 + seed), w0.shape)
        v = v / jnp.linalg.norm(v)
        h = 1e-2
        fd = (float(loss(w0 + h * v)) - float(loss(w0 - h * v))) / (2 * h)
        assert float(g @ v) == pytest.approx(fd, rel=2e-3, abs=2e-4)


def test_jvp_and_transpose_modes_agree():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=16)
    p_opt, p_0 = _curv.params(model, shape, 0), _curv.params(model, shape, 1)
    a, b = (lin_mod.linearise(model, p_opt, tangent=t) for t in ("jvp", "transpose"))
    np.testing.assert_allclose(a.apply({"params": p_0}, x), b.apply({"params": p_0}, x), rtol=1e-5, atol=1e-5)
    ga = jax.grad(lambda p: lin_mod.squared_error(a.apply({"params": p}, x), y))(p_0)
    gb = jax.grad(lambda p: lin_mod.squared_error(b.apply({"params": p}, x), y))(p_0)
    for u, w in zip(jax.tree_util.tree_leaves(ga), jax.tree_util.tree_leaves(gb)):
        np.testing.assert_allclose(u, w, rtol=1e-4, atol=1e-6)


def test_model_protocol_and_fingerprint():
    model, shape = _curv.mlp()
    p_opt = _curv.params(model, shape, 0)
    lin, twin = lin_mod.linearise(model, p_opt), lin_mod.linearise(model, p_opt)
    assert hash(lin) != hash(twin) and lin != twin  # identity hashing (static jit argument)
    assert lin.fingerprint() == twin.fingerprint()  # same base model, same w_opt content
    moved = jax.tree_util.tree_map(lambda a: a.at[(0,) * a.ndim].add(1e-3), p_opt)
    assert lin_mod.linearise(model, moved).fingerprint() != lin.fingerprint()
    other = lin_mod.linearise(_curv.mlp()[0].clone(hidden=(16,), num_classes=10), p_opt)
    assert other.fingerprint() == lin.fingerprint()  # equal Flax modules, equal outputs
    x0 = jnp.zeros((1,) + shape)
    ref = model.init(jax.random.key(5), x0)["params"]
    got = lin.init(jax.random.key(5), x0)["params"]
    assert all(np.array_equal(u, w) for u, w in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got)))


def test_trains_with_the_engine():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=64)
    data = SimpleNamespace(x_train=x[:48], y_train=y[:48], x_test=x[48:], y_test=y[48:], num_classes=10)
    lin = lin_mod.linearise(model, _curv.params(model, shape, 0))
    res = train.train_full(lin, data, key=jax.random.key(0), epochs=3, batch_size=16, eval_init=True)
    assert res.metrics["status"] == "ok"
    assert res.metrics["train_loss"][-1] < res.metrics["init_train_loss"]


def test_squared_error_normalisation():
    logits = jnp.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]])
    y = jnp.array([1, 2])
    manual = (0.5 * ((1 - 0) ** 2 + (2 - 1) ** 2 + 0) + 0.5 * (0.25 + 1 + 4)) / 2
    assert float(lin_mod.squared_error(logits, y)) == pytest.approx(manual)


def test_bad_arguments_name_the_parameter():
    model, shape = _curv.mlp()
    p = _curv.params(model, shape)
    with pytest.raises(ValueError, match="tangent='fwd' is not valid; accepted values"):
        lin_mod.linearise(model, p, tangent="fwd")
    with pytest.raises(ValueError, match="model=.* is not valid"):
        lin_mod.linearise(object(), p)
    with pytest.raises(ValueError, match="params_opt is not valid"):
        lin_mod.linearise(model, {})
    with pytest.raises(ValueError, match="loss='mse' is not valid"):
        lin_mod.per_example_loss("mse", jnp.zeros((2, 3)), jnp.zeros(2, jnp.int32))
