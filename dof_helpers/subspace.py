"""Training inside an affine subspace: w(theta) = w_t + A theta (paper eq. 2.2).

The network's D parameters (any Flax parameter pytree) are flattened into one vector
``w`` (same order as :func:`jax.flatten_util.ravel_pytree`). A *basis* is the D x d
matrix A, represented by a small pytree of arrays so that it is passed into jitted code
as an argument (never closed over as a constant):

- :class:`DenseBasis` -- i.i.d. N(0, 1) entries, every column scaled to unit norm
  (Appendix A.4); generated on device from a key and stored transposed, as A^T (d, D).
  Memory D * d * 4 bytes.
- :class:`FastfoodBasis` -- Fastfood (Le, Sarlos & Smola 2013; Li et al. 2018):
  blocks ``V_b = s_b H G_b Pi_b H B_b`` of size L = 2**ceil(log2 D); O(L log L) per
  product and only O(d) numbers stored, so d can go up to D (and beyond).
- :class:`OrthonormalBasis` -- a given matrix with orthonormal columns (lottery
  subspaces: the top singular vectors of a training trajectory).

theta starts at 0, so ``w(0) = w_t`` exactly. Gradients in theta are ``A^T grad_w``,
computed by JAX autodiff (dense) or by an explicit transpose ``B H Pi^T G H`` (Fastfood,
through a ``custom_vjp`` so that the permutation's transpose is a gather, not a
scatter).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from .validation import check_choice, check_int

BASIS_KINDS = ("dense", "fastfood")
#: refuse dense bases larger than this (bytes) unless the caller raises the limit
DEFAULT_MAX_DENSE_BYTES = 4 * 2**30
#: size of the small dense Hadamard factors of the Kronecker Walsh-Hadamard transform
#: (16 was fastest on this 2-core CPU for L = 2**18; 8 and 16 were equal for L = 2**15)
FWHT_FACTOR = 16


# ----------------------------------------------------------------------------- layout
class ParamLayout:
    """Hashable description of a parameter pytree: flattens to and from one vector.

    ``flatten`` matches :func:`jax.flatten_util.ravel_pytree` order. The layout is
    hashable and compares by value, so jitted functions taking it as a static argument
    are compiled once per architecture, not once per run (``ravel_pytree``'s unravel
    closure is a new object each call).
    """

    def __init__(self, treedef, shapes, dtypes):
        self.treedef = treedef
        self.shapes = tuple(tuple(int(n) for n in s) for s in shapes)
        self.dtypes = tuple(np.dtype(d).name for d in dtypes)
        self.sizes = tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)
        self.D = int(sum(self.sizes))

    @classmethod
    def of(cls, params) -> "ParamLayout":
        leaves, treedef = jax.tree_util.tree_flatten(params)
        return cls(treedef, [jnp.shape(x) for x in leaves], [jnp.result_type(x) for x in leaves])

    def _key(self):
        return (self.treedef, self.shapes, self.dtypes)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ParamLayout) and self._key() == other._key()

    def __repr__(self):
        return f"ParamLayout(D={self.D}, leaves={len(self.shapes)})"

    def flatten(self, params) -> jax.Array:
        """The parameters as one float32 vector of length D."""
        leaves = jax.tree_util.tree_leaves(params)
        return jnp.concatenate([jnp.ravel(x).astype(jnp.float32) for x in leaves])

    def unravel(self, w: jax.Array):
        """The parameter pytree whose flattening is ``w`` (length D)."""
        out, start = [], 0
        for shape, size, dtype in zip(self.shapes, self.sizes, self.dtypes):
            out.append(w[start:start + size].reshape(shape).astype(dtype))
            start += size
        return jax.tree_util.tree_unflatten(self.treedef, out)


def flatten_params(params):
    """``(w, layout)``: the flat vector of D parameters and its :class:`ParamLayout`."""
    layout = ParamLayout.of(params)
    return layout.flatten(params), layout


# ----------------------------------------------------------------------------- bases
class DenseBasis(NamedTuple):
    """A^T (d, D): row j is column j of A, i.i.d. Gaussian scaled to unit norm (Appendix A.4).

    Stored transposed because then both products of a training step stream A through
    memory in order: A theta = theta @ A^T and A^T g = A^T @ g. With A stored (D, d),
    XLA's CPU ``g @ A`` ran at about half the memory bandwidth for the MLP at d = 256
    (14 vs 27-33 GB/s here), which put the step 1.4x above its bandwidth floor.
    ``basis.A`` gives the (D, d) view.
    """
    A_T: jax.Array

    @property
    def A(self) -> jax.Array:
        """A, shape (D, d) (a transposed view of the stored A^T; batched: (..., D, d))."""
        return jnp.swapaxes(self.A_T, -1, -2)


class OrthonormalBasis(NamedTuple):
    """Q (D, d) with orthonormal columns, e.g. a lottery subspace."""
    Q: jax.Array


class FastfoodBasis(NamedTuple):
    """Fastfood blocks (nb = ceil(d / L) of them, L = 2**ceil(log2 D)).

    Column block b is ``V_b = scale_b * H G_b Pi_b H B_b`` truncated to its first D rows;
    ``signs`` are B (nb, L) in {-1, +1}, ``perm`` is Pi ((Pi x)_i = x[perm_i]),
    ``inv_perm`` its inverse, ``gauss`` the diagonal G (nb, L), ``scale`` (nb,).
    """
    signs: jax.Array
    perm: jax.Array
    inv_perm: jax.Array
    gauss: jax.Array
    scale: jax.Array


Basis = Union[DenseBasis, OrthonormalBasis, FastfoodBasis]


def _check_d(d, D):
    check_int("D", D, min_value=1)
    return check_int("d", d, min_value=1)


def _unit_gaussian_rows(key, rows, D):
    """``rows`` x D i.i.d. N(0, 1), each row scaled to unit norm."""
    M = jax.random.normal(key, (rows, D), jnp.float32)
    return M / jnp.linalg.norm(M, axis=1, keepdims=True)


_unit_gaussian_rows_jit = jax.jit(_unit_gaussian_rows, static_argnums=(1, 2))


def dense_basis(key: jax.Array, D: int, d: int, *, max_bytes: int = DEFAULT_MAX_DENSE_BYTES,
                chunk_columns: int | None = None) -> DenseBasis:
    """A random D x d matrix A with N(0, 1) entries and unit-norm columns (Appendix A.4).

    Generated on the default device from ``key`` and stored as A^T (see
    :class:`DenseBasis`); in chunks of ``chunk_columns`` columns if given, chunk i from
    ``fold_in(key, i)``, to bound the temporary memory. Raises ``MemoryError`` naming
    the bytes needed when ``D * d * 4 > max_bytes``.
    """
    d = _check_d(d, D)
    need = D * d * 4
    if need > max_bytes:
        raise MemoryError(
            f"a dense basis with D={D}, d={d} needs {need / 2**30:.2f} GiB (D*d*4 bytes), more than "
            f"max_bytes={max_bytes / 2**30:.2f} GiB; use basis='fastfood' (O(D) memory) or raise max_bytes")
    if chunk_columns is not None:
        chunk_columns = check_int("chunk_columns", chunk_columns, min_value=1)
    if chunk_columns is None or chunk_columns >= d:
        return DenseBasis(_unit_gaussian_rows_jit(key, d, D))
    parts = [_unit_gaussian_rows_jit(jax.random.fold_in(key, i), min(chunk_columns, d - s), D)
             for i, s in enumerate(range(0, d, chunk_columns))]
    return DenseBasis(jnp.concatenate(parts, axis=0))


def fastfood_basis(key: jax.Array, D: int, d: int) -> FastfoodBasis:
    """Fastfood basis (Le et al. 2013; Li et al. 2018) of d columns in R^D.

    Per block: B random signs, Pi a random permutation, G i.i.d. N(0, 1), H the
    (unnormalised, entries +-1) Walsh-Hadamard matrix of size L = 2**ceil(log2 D).
    Column j of ``H G Pi H B`` has squared norm exactly ``L * ||G||^2`` in R^L; keeping
    its first D rows leaves ``D * ||G||^2`` on average, so ``scale = 1 / (||G|| sqrt(D))``
    makes the columns unit norm on average in R^D (exactly unit norm when D = L).
    d > L stacks ceil(d / L) independent blocks; theta is zero-padded to a multiple of L.
    """
    d = _check_d(d, D)
    L = 1 << max(0, math.ceil(math.log2(D)))
    nb = -(-d // L)
    k_sign, k_perm, k_gauss = jax.random.split(key, 3)
    signs = jnp.where(jax.random.bernoulli(k_sign, 0.5, (nb, L)), 1.0, -1.0).astype(jnp.float32)
    perm = jax.vmap(lambda k: jax.random.permutation(k, L))(jax.random.split(k_perm, nb)).astype(jnp.int32)
    inv_perm = jnp.argsort(perm, axis=1).astype(jnp.int32)
    gauss = jax.random.normal(k_gauss, (nb, L), jnp.float32)
    scale = 1.0 / (jnp.linalg.norm(gauss, axis=1) * jnp.sqrt(jnp.float32(D)))
    return FastfoodBasis(signs, perm, inv_perm, gauss, scale)


def orthonormal_basis(Q, d: int) -> OrthonormalBasis:
    """The first d columns of a given (D, r) matrix with orthonormal columns.

    Raises ``ValueError`` if ``d`` exceeds the number of columns (the basis's rank).
    """
    Q = jnp.asarray(Q, jnp.float32)
    if Q.ndim != 2:
        raise ValueError(f"Q must be a (D, r) matrix, got shape {Q.shape}")
    rank = Q.shape[1]
    d = check_int("d", d, min_value=1)
    if d > rank:
        raise ValueError(f"d={d} is not valid; the given basis has rank {rank}, so d must be in [1, {rank}]")
    return OrthonormalBasis(Q[:, :d])


def make_basis(kind: str, key: jax.Array, D: int, d: int, **kwargs) -> Basis:
    """``make_basis("dense" | "fastfood", key, D, d)``: a random basis of d columns in R^D."""
    check_choice("basis", kind, BASIS_KINDS)
    return dense_basis(key, D, d, **kwargs) if kind == "dense" else fastfood_basis(key, D, d)


def basis_dim(basis: Basis) -> int:
    """Number of columns the basis offers (for Fastfood: nb * L, of which the first d are used)."""
    if isinstance(basis, DenseBasis):
        return basis.A_T.shape[-2]
    if isinstance(basis, OrthonormalBasis):
        return basis.Q.shape[-1]
    return basis.signs.shape[-2] * basis.signs.shape[-1]


# ----------------------------------------------------------------------------- transforms
def fwht(x: jax.Array) -> jax.Array:
    """Unnormalised fast Walsh-Hadamard transform (entries +-1) along the last axis.

    Kronecker factorisation ``H_L = H_f (x) H_f (x) ...``: the vector is viewed as a
    tensor with axes of size f = FWHT_FACTOR and each axis is multiplied by a small dense
    Hadamard matrix (then rotated to the front). On this CPU that is 1.5-2x faster than
    log2(L) separate butterfly passes. H is symmetric, so ``fwht`` is its own transpose.
    """
    L = x.shape[-1]
    k = L.bit_length() - 1
    if 1 << k != L:
        raise ValueError(f"fwht needs a power-of-two length, got {L}")
    fk = FWHT_FACTOR.bit_length() - 1
    sizes, r = [], k
    while r > 0:
        s = min(fk, r)
        sizes.append(1 << s)
        r -= s
    lead = x.shape[:-1]
    for s in sizes:
        H = jnp.asarray(_hadamard(s), x.dtype)
        y = x.reshape(lead + (-1, s)) @ H
        x = jnp.swapaxes(y, -1, -2).reshape(lead + (L,))
    return x


def _hadamard(n: int) -> np.ndarray:
    H = np.ones((1, 1), np.float32)
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return H


def _fastfood_forward(basis: FastfoodBasis, theta: jax.Array, D: int) -> jax.Array:
    nb, L = basis.signs.shape
    d = theta.shape[0]
    x = jnp.pad(theta, (0, nb * L - d)).reshape(nb, L) * basis.signs          # B
    x = fwht(x)                                                               # H
    x = jnp.take_along_axis(x, basis.perm, axis=1)                            # Pi
    x = x * basis.gauss                                                       # G
    x = fwht(x) * basis.scale[:, None]                                        # s H
    return jnp.sum(x, axis=0)[:D]


def _fastfood_transpose(basis: FastfoodBasis, g: jax.Array, d: int) -> jax.Array:
    nb, L = basis.signs.shape
    y = fwht(jnp.pad(g, (0, L - g.shape[0])))                                 # H (shared)
    y = y[None, :] * (basis.gauss * basis.scale[:, None])                     # s G
    y = jnp.take_along_axis(y, basis.inv_perm, axis=1)                        # Pi^T
    y = fwht(y) * basis.signs                                                 # B H
    return y.reshape(-1)[:d]


def _fastfood_project(basis: FastfoodBasis, theta: jax.Array, D: int) -> jax.Array:
    # custom_vjp: the gradient in theta is V^T g computed with the inverse permutation as a
    # gather (autodiff would transpose the gather into a slow scatter-add on CPU).
    d = theta.shape[0]

    @jax.custom_vjp
    def f(th):
        return _fastfood_forward(basis, th, D)

    def f_fwd(th):
        return f(th), None

    def f_bwd(_, g):
        return (_fastfood_transpose(basis, g, d),)

    f.defvjp(f_fwd, f_bwd)
    return f(theta)


def project(basis: Basis, theta: jax.Array, D: int | None = None) -> jax.Array:
    """A theta, a vector in R^D (the displacement of eq. 2.2)."""
    if isinstance(basis, DenseBasis):
        d = theta.shape[-1]
        return theta @ (basis.A_T if basis.A_T.shape[0] == d else basis.A_T[:d])
    if isinstance(basis, OrthonormalBasis):
        M = basis.Q
        d = theta.shape[-1]
        return (M if M.shape[-1] == d else M[:, :d]) @ theta
    if isinstance(basis, FastfoodBasis):
        if D is None:
            raise ValueError("project(FastfoodBasis, theta) needs D")
        return _fastfood_project(basis, theta, D)
    raise TypeError(f"unknown basis type {type(basis).__name__}")


def project_transpose(basis: Basis, g: jax.Array, d: int) -> jax.Array:
    """A^T g, a vector in R^d (the chain rule: grad_theta = A^T grad_w)."""
    # a transposed view (``A.T @ g`` with A stored (D, d)) runs as a strided gemv on CPU,
    # ~15x slower than reading a row-major matrix in order: hence A^T stored, and g @ Q
    if isinstance(basis, DenseBasis):
        return basis.A_T[:d] @ g
    if isinstance(basis, OrthonormalBasis):
        return g @ basis.Q[:, :d]
    if isinstance(basis, FastfoodBasis):
        return _fastfood_transpose(basis, g, d)
    raise TypeError(f"unknown basis type {type(basis).__name__}")


def subspace_weights(w_t: jax.Array, basis: Basis, theta: jax.Array) -> jax.Array:
    """w(theta) = w_t + A theta (eq. 2.2), flat."""
    return w_t + project(basis, theta, w_t.shape[0])


def subspace_params(w_t: jax.Array, basis: Basis, theta: jax.Array, layout: ParamLayout):
    """The parameter pytree at w(theta) = w_t + A theta (eq. 2.2)."""
    return layout.unravel(subspace_weights(w_t, basis, theta))


def materialize(basis: Basis, D: int, d: int) -> jax.Array:
    """The explicit D x d matrix A (for tests and small problems only)."""
    if isinstance(basis, DenseBasis):
        return basis.A_T[:d].T
    if isinstance(basis, OrthonormalBasis):
        return basis.Q[:, :d]
    return jax.vmap(lambda e: _fastfood_forward(basis, e, D), out_axes=1)(jnp.eye(d, dtype=jnp.float32))
