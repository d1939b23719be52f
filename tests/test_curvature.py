"""Gauss-Newton matrix, matrix-free products and the exact least-squares subspace minimum."""
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import _curv
from dof_helpers import curvature as cur
from dof_helpers import linearised as lin_mod
from dof_helpers.subspace import ParamLayout, dense_basis

CASES = {"mlp": _curv.mlp, "fused conv": _curv.fused}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    model, shape = CASES[request.param]()
    x, y = _curv.data(shape, n=40)
    p_opt = _curv.params(model, shape, seed=0)
    layout = ParamLayout.of(p_opt)
    # reverse over reverse works for both (forward mode cannot enter the fused layer)
    dense_hessian = lambda f: np.asarray(jax.jit(jax.jacrev(jax.jacrev(f)))(layout.flatten(p_opt)), np.float64)  # noqa: E731
    return SimpleNamespace(model=model, x=x, y=y, p_opt=p_opt, layout=layout, hess=dense_hessian,
                           subset=cur.fixed_subset(x, y, chunk=16))  # 40 = 16 + 16 + 8 (padded)


def _loss_fn(case, model, loss):
    f = lin_mod.per_example_loss
    return jax.jit(lambda w: jnp.mean(f(loss, model.apply({"params": case.layout.unravel(w)}, case.x), case.y)))


@pytest.mark.parametrize("loss", lin_mod.LOSSES)
def test_exact_ggn_is_the_hessian_of_the_linearised_loss(case, loss):
    G = cur.gauss_newton_matrix(case.model, case.p_opt, case.subset, loss=loss)
    H_lin = case.hess(_loss_fn(case, lin_mod.linearise(case.model, case.p_opt), loss))
    assert np.array_equal(G, G.T)
    np.testing.assert_allclose(G, H_lin, rtol=0, atol=2e-6 * np.abs(H_lin).max())
    if loss == "squared_error":  # J^T J / N from the per-example Jacobians
        J = np.concatenate([np.asarray(j).reshape(-1, case.layout.D) for _, j, _ in
                            cur.jacobian_chunks(case.model, case.p_opt, case.subset)])[: 10 * 40]
        np.testing.assert_allclose(G, J.T @ J / 40, rtol=0, atol=1e-6 * np.abs(G).max())


def test_ggn_products_match_the_dense_matrix(case):
    G = cur.gauss_newton_matrix(case.model, case.p_opt, case.subset, dtype="float64")
    ggn = cur.ggn_operator(case.model, case.p_opt, case.subset)
    rng = np.random.default_rng(0)
    for _ in range(2):
        v = rng.standard_normal(case.layout.D)
        np.testing.assert_allclose(ggn(v), G @ v, rtol=0, atol=1e-5 * np.abs(G @ v).max())


def test_hessian_products_and_gradient_match_autodiff(case):
    f = _loss_fn(case, case.model, "cross_entropy")
    H = case.hess(f)
    hvp = cur.hessian_operator(case.model, case.p_opt, case.subset)
    v = np.random.default_rng(0).standard_normal(case.layout.D)
    np.testing.assert_allclose(hvp(v), H @ v, rtol=0, atol=1e-5 * np.abs(H @ v).max())
    val, g = cur.loss_and_gradient(case.model, case.p_opt, case.subset)
    assert val == pytest.approx(float(f(case.layout.flatten(case.p_opt))), rel=1e-5)
    np.testing.assert_allclose(g, jax.jit(jax.grad(f))(case.layout.flatten(case.p_opt)), rtol=1e-4, atol=1e-6)


def test_dense_spectrum_is_descending_and_reconstructs():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((30, 20)).astype(np.float32)
    G = np.asfortranarray(B.T @ B)
    lams, V = cur.dense_spectrum(G)
    assert np.all(np.diff(lams) <= 0)
    np.testing.assert_allclose((V * lams) @ V.T, G, atol=1e-4 * lams[0])
    np.testing.assert_allclose(cur.dense_spectrum(G, vectors=False), lams, rtol=1e-5, atol=1e-5 * lams[0])


def test_lstsq_subspace_minimum_is_exact():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=30)
    p_opt, p_0 = _curv.params(model, shape, 0), _curv.params(model, shape, 1)
    lin = lin_mod.linearise(model, p_opt)
    subset = cur.fixed_subset(x, y, chunk=16)
    layout = ParamLayout.of(p_opt)
    basis = dense_basis(jax.random.key(2), layout.D, 25)
    val, theta = cur.lstsq_subspace_minimum(lin, p_0, basis, subset, d=25)
    A = np.asarray(basis.A, np.float64)
    w0 = np.asarray(layout.flatten(p_0), np.float64)
    loss = jax.jit(lambda th: lin_mod.squared_error(lin.apply({"params": layout.unravel(w0 + A @ th)}, x), y))
    assert float(loss(jnp.asarray(theta, jnp.float32))) == pytest.approx(val, rel=1e-4)
    g = jax.grad(loss)(jnp.asarray(theta, jnp.float32))
    assert float(jnp.linalg.norm(g)) < 1e-3 * float(jnp.linalg.norm(jax.grad(loss)(jnp.zeros(25))))
    # a raw (D, d) matrix gives the same; more columns can only lower the minimum
    val2, _ = cur.lstsq_subspace_minimum(lin, p_0, A, subset)
    assert val2 == pytest.approx(val, rel=1e-6)
    assert cur.lstsq_subspace_minimum(lin, p_0, A[:, :10], subset)[0] >= val - 1e-9


def test_bad_arguments_name_the_parameter():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=8)
    p = _curv.params(model, shape)
    sub = cur.fixed_subset(x, y)
    with pytest.raises(ValueError, match="loss='hinge' is not valid"):
        cur.gauss_newton_matrix(model, p, sub, loss="hinge")
    with pytest.raises(ValueError, match="dtype='float16' is not valid"):
        cur.gauss_newton_matrix(model, p, sub, dtype="float16")
    with pytest.raises(ValueError, match="subset is not valid"):
        cur.ggn_operator(model, p, (x, y))
    with pytest.raises(ValueError, match="chunk=0 is not valid"):
        cur.fixed_subset(x, y, chunk=0)
    with pytest.raises(ValueError, match="y is not valid"):
        cur.fixed_subset(x, y.astype(float))
    with pytest.raises(ValueError, match="A is not valid"):
        cur.lstsq_subspace_minimum(lin_mod.linearise(model, p), p, np.zeros((3, 2)), sub)
    with pytest.raises(ValueError, match="lin is not valid"):
        cur.lstsq_subspace_minimum(model, p, np.zeros((3, 2)), sub)
    with pytest.raises(ValueError, match="G is not valid"):
        cur.dense_spectrum(np.zeros((3, 4)))


@pytest.mark.parametrize("loss", lin_mod.LOSSES)
def test_kernel_route_gives_the_spectrum_and_coordinates_of_g(loss):
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=24)  # R = 24 * 9 or 24 * 10 rows < D = 442
    p_opt, p_0 = _curv.params(model, shape, 0), _curv.params(model, shape, 1)
    subset = cur.fixed_subset(x, y, chunk=16)
    G = cur.gauss_newton_matrix(model, p_opt, subset, loss=loss, dtype="float64")
    M = cur.ggn_factor(model, p_opt, subset, loss=loss)
    assert M.shape == (24 * (9 if loss == "cross_entropy" else 10), 442)
    np.testing.assert_allclose(M.T.astype(np.float64) @ M, G, rtol=0, atol=1e-6 * np.abs(G).max())
    spec = cur.kernel_spectrum(M)
    lams = cur.dense_spectrum(G, vectors=False)
    np.testing.assert_allclose(spec.lams, lams, rtol=0, atol=1e-5 * lams[0])
    layout = ParamLayout.of(p_opt)
    dw = np.asarray(layout.flatten(p_0) - layout.flatten(p_opt), np.float64)
    z = cur.eigen_coordinates(spec, dw)
    # the coordinates reproduce the quadratic forms dw^T G dw and ||G dw||^2
    assert np.sum(spec.lams * z ** 2) == pytest.approx(dw @ G @ dw, rel=1e-4)
    assert np.sum(spec.lams ** 2 * z ** 2) == pytest.approx(np.sum((G @ dw) ** 2), rel=1e-4)
    assert np.sum(z ** 2) <= dw @ dw * (1 + 1e-6)
    with pytest.raises(ValueError, match="dw is not valid"):
        cur.eigen_coordinates(spec, dw[:5])
    with pytest.raises(ValueError, match="M is not valid"):
        cur.kernel_spectrum(M.T)
