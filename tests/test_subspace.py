"""Subspace parameterisation w(theta) = w_t + A theta (eq. 2.2) with dense, Fastfood and orthonormal bases."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from dof_helpers import subspace as sub


class Tiny(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(3, (3, 3))(x))
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


@pytest.fixture(scope="module")
def tiny():
    model = Tiny()
    x = jax.random.normal(jax.random.PRNGKey(0), (16, 6, 6, 1))
    y = jax.random.randint(jax.random.PRNGKey(1), (16,), 0, 10)
    params = model.init(jax.random.PRNGKey(2), x[:1])["params"]
    return model, params, x, y


def _bases(D, d):
    return {"dense": sub.dense_basis(jax.random.PRNGKey(3), D, d),
            "fastfood": sub.fastfood_basis(jax.random.PRNGKey(4), D, d)}


def test_layout_matches_ravel_pytree(tiny):
    _, params, _, _ = tiny
    w, layout = sub.flatten_params(params)
    ref, unravel = ravel_pytree(params)
    np.testing.assert_array_equal(w, ref)
    back = layout.unravel(w)
    jax.tree_util.tree_map(np.testing.assert_array_equal, back, unravel(ref))
    assert layout == sub.ParamLayout.of(params) and hash(layout) == hash(sub.ParamLayout.of(params))
    assert layout.D == w.shape[0]


@pytest.mark.parametrize("kind", ["dense", "fastfood"])
def test_theta_zero_reproduces_w_t_exactly(tiny, kind):
    _, params, _, _ = tiny
    w, layout = sub.flatten_params(params)
    basis = _bases(layout.D, 7)[kind]
    p = sub.subspace_params(w, basis, jnp.zeros(7), layout)
    jax.tree_util.tree_map(np.testing.assert_array_equal, p, params)


@pytest.mark.parametrize("kind", ["dense", "fastfood"])
def test_gradient_in_theta_is_A_transpose_grad_w(tiny, kind):
    model, params, x, y = tiny
    w, layout = sub.flatten_params(params)
    d = 9
    basis = _bases(layout.D, d)[kind]
    A = sub.materialize(basis, layout.D, d)

    def loss_w(wf):
        logits = model.apply({"params": layout.unravel(wf)}, x)
        return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0])

    theta = 0.1 * jax.random.normal(jax.random.PRNGKey(5), (d,))
    g_theta = jax.jit(jax.grad(lambda th: loss_w(sub.subspace_weights(w, basis, th))))(theta)
    g_w = jax.grad(loss_w)(w + A @ theta)
    np.testing.assert_allclose(g_theta, A.T @ g_w, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(sub.project_transpose(basis, g_w, d), A.T @ g_w, rtol=2e-4, atol=2e-6)


def test_fwht_matches_hadamard_matrix():
    from scipy.linalg import hadamard
    for L in (1, 2, 8, 64, 512):
        x = jax.random.normal(jax.random.PRNGKey(L), (3, L))
        np.testing.assert_allclose(sub.fwht(x), x @ hadamard(L).T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("D,d", [(300, 50), (1000, 1000), (256, 600)])
def test_fastfood_columns_unit_norm_and_near_orthogonal(D, d):
    basis = sub.fastfood_basis(jax.random.PRNGKey(0), D, d)
    A = np.asarray(sub.materialize(basis, D, d))
    norms = np.linalg.norm(A, axis=0)
    assert abs(norms.mean() - 1) < 0.02 and norms.std() < 0.1
    cos = (A / norms).T @ (A / norms)
    off = cos[~np.eye(d, dtype=bool)]
    # like random Gaussian columns: |cos| ~ 1/sqrt(D)
    assert abs(off.mean()) < 0.01 and off.std() < 2.0 / np.sqrt(D)
    theta = np.random.default_rng(0).normal(size=d).astype(np.float32)
    np.testing.assert_allclose(sub.project(basis, jnp.asarray(theta), D), A @ theta, rtol=1e-3, atol=1e-4)


def test_dense_basis_unit_columns_and_keyed():
    a = sub.dense_basis(jax.random.PRNGKey(0), 500, 20)
    b = sub.dense_basis(jax.random.PRNGKey(0), 500, 20)
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_allclose(np.linalg.norm(a.A, axis=0), 1, rtol=1e-5)
    c = sub.dense_basis(jax.random.PRNGKey(0), 500, 20, chunk_columns=7)
    np.testing.assert_allclose(np.linalg.norm(c.A, axis=0), 1, rtol=1e-5)


def test_orthonormal_basis_nested_and_rank_checked():
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 6)))
    b = sub.orthonormal_basis(Q, 4)
    np.testing.assert_allclose(sub.materialize(b, 40, 4), Q[:, :4], rtol=1e-6)
    with pytest.raises(ValueError, match="rank 6"):
        sub.orthonormal_basis(Q, 7)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="d=0"):
        sub.dense_basis(jax.random.PRNGKey(0), 10, 0)
    with pytest.raises(ValueError, match="d=-3"):
        sub.fastfood_basis(jax.random.PRNGKey(0), 10, -3)
    with pytest.raises(ValueError, match="basis="):
        sub.make_basis("sparse", jax.random.PRNGKey(0), 10, 2)
    with pytest.raises(MemoryError, match="fastfood"):
        sub.dense_basis(jax.random.PRNGKey(0), 199_210, 100_000)


def test_dense_basis_is_stored_transposed():
    b = sub.dense_basis(jax.random.PRNGKey(0), 300, 7)
    assert b.A_T.shape == (7, 300) and b.A.shape == (300, 7)
    np.testing.assert_array_equal(b.A, b.A_T.T)
    theta = jax.random.normal(jax.random.PRNGKey(1), (5,))
    g = jax.random.normal(jax.random.PRNGKey(2), (300,))
    # nested: the first d columns serve a smaller d
    np.testing.assert_allclose(sub.project(b, theta, 300), np.asarray(b.A)[:, :5] @ np.asarray(theta), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(sub.project_transpose(b, g, 5), np.asarray(g) @ np.asarray(b.A)[:, :5], rtol=1e-5,
                               atol=1e-5)
    assert sub.basis_dim(b) == 7


def test_dense_basis_rejects_bad_chunk_columns():
    with pytest.raises(ValueError, match="chunk_columns=0"):
        sub.dense_basis(jax.random.PRNGKey(0), 10, 4, chunk_columns=0)
