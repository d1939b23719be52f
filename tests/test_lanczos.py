"""Lanczos with full reorthogonalisation and stochastic Lanczos quadrature."""
import jax
import numpy as np
import pytest

import _curv
from dof_helpers import curvature as cur
from dof_helpers import lanczos as lz


@pytest.fixture(scope="module")
def ggn():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=64)
    p = _curv.params(model, shape)
    subset = cur.fixed_subset(x, y, chunk=32)
    G = cur.gauss_newton_matrix(model, p, subset, dtype="float64")
    return G, cur.ggn_operator(model, p, subset)


def test_lanczos_finds_the_top_20_eigenvalues_of_the_exact_ggn(ggn):
    G, op = ggn
    lams = cur.dense_spectrum(G, vectors=False)
    top, U = lz.top_eigenpairs(op, op.D, 20, key=jax.random.key(0), vectors=True)
    np.testing.assert_allclose(top, lams[:20], rtol=1e-2)
    assert np.max(np.abs(top - lams[:20]) / lams[:20]) < 1e-4  # in fact far better than 1%
    resid = np.linalg.norm(G @ U[:, :5] - U[:, :5] * top[:5], axis=0)
    assert np.all(resid < 1e-3 * top[0])


def test_lanczos_basis_is_orthonormal_and_tridiagonalises():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 60))
    A = A + A.T
    res = lz.lanczos(lambda v: A @ v, 60, 30, key=jax.random.key(1))
    np.testing.assert_allclose(res.V @ res.V.T, np.eye(30), atol=1e-12)
    np.testing.assert_allclose(res.V @ A @ res.V.T, lz.tridiagonal(res), atol=1e-10)


def test_lanczos_stops_on_an_invariant_subspace():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((50, 4))
    res = lz.lanczos(lambda v: B @ (B.T @ v), 50, 20, key=jax.random.key(0))
    assert res.alpha.size <= 5  # rank 4 plus the null direction of the start vector
    np.testing.assert_allclose(np.sort(lz.ritz_pairs(res))[-4:], np.sort(np.linalg.eigvalsh(B.T @ B)), rtol=1e-9)


def test_slq_density_integrates_to_one_and_its_mean_is_trace_over_d(ggn):
    G, op = ggn
    D = op.D
    lams = cur.dense_spectrum(G, vectors=False)
    n_probes = 8
    nodes, weights = lz.slq(op, D, order=40, n_probes=n_probes, key=jax.random.key(3))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-10)
    sigma = 0.01 * lams[0]
    grid = lz.density_grid(nodes, sigma, n=4000)
    dens = lz.spectral_density(nodes, weights, grid, sigma)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-3)
    assert np.trapezoid(grid * dens, grid) == pytest.approx(lz.slq_mean(nodes, weights), rel=1e-3)
    # v^T G v for a uniform unit v has mean tr(G)/D and variance 2 (m2 - m1^2) / (D + 2)
    m1, m2 = lams.mean(), (lams ** 2).mean()
    sd = np.sqrt(2 * (m2 - m1 ** 2) / (D + 2) / n_probes)
    assert abs(lz.slq_mean(nodes, weights) - np.trace(G) / D) < 4 * sd


def test_bad_arguments_name_the_parameter():
    f = lambda v: v  # noqa: E731
    with pytest.raises(ValueError, match="order=11 is not valid"):
        lz.lanczos(f, 10, 11, key=jax.random.key(0))
    with pytest.raises(ValueError, match="key is required"):
        lz.lanczos(f, 10, 3)
    with pytest.raises(ValueError, match="v0 is not valid"):
        lz.lanczos(f, 10, 3, v0=np.zeros(10))
    with pytest.raises(ValueError, match="sigma=0.0 is not valid"):
        lz.spectral_density(np.zeros((1, 3)), np.ones((1, 3)) / 3, np.linspace(-1, 1, 5), 0.0)
    with pytest.raises(ValueError, match="n_probes=0 is not valid"):
        lz.slq(f, 10, order=3, n_probes=0, key=jax.random.key(0))
