"""Curvature of the training loss at an optimum: Jacobians, Gauss-Newton matrix, Hessian products.

Everything is computed on a fixed training subset (:func:`fixed_subset`: N examples in
equal chunks, the last one padded with zero-weight rows), so that products and matrices
refer to the same loss L(w) = (1/N) sum_i l(f(w, x_i), y_i). Parameters are flattened to
one vector of length D (:class:`dof_helpers.subspace.ParamLayout` order).

- :func:`jacobian_chunks` yields per-example logits Jacobians J_i (C x D), one chunk at a
  time (vmap over examples of ``jax.jacrev``), never all of J (N C x D) at once.
- :func:`gauss_newton_matrix` assembles the exact generalised Gauss-Newton matrix
      G = (1/N) sum_i J_i^T H_i J_i,  H_i = diag(p_i) - p_i p_i^T (softmax cross-entropy),
  or G = J^T J / N for :func:`dof_helpers.linearised.squared_error`. G is the Hessian of the
  loss of the *linearised* model at w_opt (paper Appendix A.1) and the PSD part of the
  true Hessian. With H_i = L_i L_i^T, L_i = diag(sqrt p) - p sqrt(p)^T, each chunk adds
  M^T M (M = rows L_i^T J_i / sqrt N, C - 1 of them per example after one Householder
  reflection) by a BLAS rank-k update (``syrk``) into one D x D array.
  :func:`dense_spectrum` diagonalises it (LAPACK ``syevd``).
- :func:`ggn_factor`, :func:`kernel_spectrum`, :func:`eigen_coordinates`: the same
  spectrum from the R x R Gram matrix K = M M^T (R = N (C - 1), the loss-weighted
  empirical NTK), cheaper when R < D, and the coordinates V^T (w_0 - w_opt) of a
  displacement without forming G's D x D eigenvectors.
- :func:`ggn_operator` (v -> G v) and :func:`hessian_operator` (v -> H v, the true
  Hessian: ``jax.jvp`` of ``jax.grad``; reverse-over-reverse for models with
  ``jax.custom_vjp`` layers) are matrix-free, for :mod:`dof_helpers.lanczos`.
- :func:`loss_and_gradient`, and :func:`lstsq_subspace_minimum`: the exact minimum of the
  squared-error loss of the linearised model on an affine subspace w_0 + span(A) (eq. 2.2),
  a least-squares problem in theta.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from scipy.linalg import blas

from .linearised import LOSSES, Linearised, logits_linearisation, per_example_loss, resolve_tangent
from .subspace import Basis, ParamLayout, materialize
from .validation import check_choice, check_float, check_int

FLOAT_DTYPES = ("float32", "float64")


class Subset(NamedTuple):
    """N examples in equal chunks: ``x`` (n_chunks, chunk, ...), ``y`` (n_chunks, chunk),
    ``weight`` (n_chunks, chunk) = 1/N for real examples and 0 for the padding."""
    x: jax.Array
    y: jax.Array
    weight: jax.Array
    n: int


def fixed_subset(x, y, chunk: int = 128) -> Subset:
    """Split ``(x, y)`` (N examples, integer labels) into chunks of ``chunk`` (padding the last)."""
    x, y = np.asarray(x, np.float32), np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"x, y are not valid; expected x (N, ...) and integer labels y (N,) with N >= 1, "
                         f"got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y is not valid; expected integer class labels, got dtype {y.dtype}")
    n = x.shape[0]
    chunk = min(check_int("chunk", chunk, min_value=1), n)
    n_chunks = -(-n // chunk)
    pad = n_chunks * chunk - n
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = np.concatenate([y.astype(np.int32), np.zeros(pad, np.int32)])
    wp = np.concatenate([np.full(n, 1.0 / n, np.float32), np.zeros(pad, np.float32)])
    shape = (n_chunks, chunk)
    return Subset(jnp.asarray(xp.reshape(shape + x.shape[1:])), jnp.asarray(yp.reshape(shape)),
                  jnp.asarray(wp.reshape(shape)), n)


def _check_subset(subset) -> Subset:
    if not isinstance(subset, Subset):
        raise ValueError(f"subset is not valid; expected a Subset from fixed_subset(x, y, chunk), "
                         f"got {type(subset).__name__}")
    return subset


def _flat(params):
    layout = ParamLayout.of(params)
    return layout.flatten(params), layout


# ----------------------------------------------------------------------------- Jacobians, G
@functools.partial(jax.jit, static_argnames=("model", "layout"))
def _chunk_jacobian(w, xc, *, model, layout):
    """Logits (n, C) and per-example Jacobians J_i = d f(w, x_i) / d w, shape (n, C, D)."""
    f1 = lambda v, xi: model.apply({"params": layout.unravel(v)}, xi[None])[0]  # noqa: E731
    J = jax.vmap(lambda xi: jax.jacrev(f1)(w, xi))(xc)
    return model.apply({"params": layout.unravel(w)}, xc), J


def jacobian_chunks(model, params, subset: Subset):
    """Yield ``(logits, J, weight)`` per chunk: logits (n, C), J (n, C, D) float32, weight (n,)."""
    subset = _check_subset(subset)
    w, layout = _flat(params)
    for k in range(subset.x.shape[0]):
        logits, J = _chunk_jacobian(w, subset.x[k], model=model, layout=layout)
        yield logits, J, subset.weight[k]


@functools.partial(jax.jit, static_argnames=("loss",))
def _ggn_rows(logits, J, weight, *, loss):
    """Rows M with sum_i weight_i J_i^T H_i J_i = M^T M (H_i the loss Hessian in the logits).

    Squared error: J_i itself (C rows). Cross-entropy: with s = sqrt(p_i), the C rows
    s_c (J_ic - p_i^T J_i) satisfy sum_c s_c row_c = 0; a Householder reflection that maps
    s to -e_1 keeps M^T M and zeroes the first row, which is dropped (C - 1 rows).
    """
    if loss == "cross_entropy":
        p = jax.nn.softmax(logits)
        s = jnp.sqrt(p)
        R = s[:, :, None] * (J - jnp.einsum("nc,ncd->nd", p, J)[:, None, :])  # L_i^T J_i
        v = s.at[:, 0].add(1.0)  # s + e_1 (s_0 >= 0: no cancellation)
        R = R - (2.0 / jnp.sum(v * v, axis=1))[:, None, None] * v[:, :, None] * jnp.einsum("nc,ncd->nd", v, R)[:, None, :]
        J = R[:, 1:, :]
    return (jnp.sqrt(weight)[:, None, None] * J).reshape(-1, J.shape[-1])


def gauss_newton_matrix(model, params, subset: Subset, *, loss: str = "cross_entropy",
                        dtype: str = "float32") -> np.ndarray:
    """The exact Gauss-Newton matrix G = (1/N) sum_i J_i^T H_i J_i, a dense (D, D) array.

    H_i = diag(p_i) - p_i p_i^T (softmax of the logits) for cross-entropy, the identity for
    squared error (G = J^T J / N). G is the Hessian at w_opt of the loss of the linearised
    model (Appendix A.1). Accumulated chunk by chunk with ``syrk`` in ``dtype``
    (:data:`FLOAT_DTYPES`; the Jacobians themselves are float32), symmetrised at the end.
    Memory: the D x D result plus one chunk of rows (chunk C x D).
    """
    check_choice("loss", loss, LOSSES)
    check_choice("dtype", dtype, FLOAT_DTYPES)
    D = ParamLayout.of(params).D
    G = np.zeros((D, D), dtype=dtype, order="F")
    syrk = blas.ssyrk if dtype == "float32" else blas.dsyrk
    for logits, J, weight in jacobian_chunks(model, params, subset):
        M = np.asarray(_ggn_rows(logits, J, weight, loss=loss), dtype=dtype)
        out = syrk(1.0, M.T, beta=1.0, c=G, trans=0, lower=0, overwrite_c=1)  # upper triangle += M^T M
        if out is not G:
            G = out
    symmetrise_upper(G)
    return G


def symmetrise_upper(G: np.ndarray, block: int = 1024) -> np.ndarray:
    """Copy the upper triangle of square ``G`` onto its lower triangle, in place, block by block."""
    D = G.shape[0]
    for s in range(0, D, block):
        e = min(s + block, D)
        G[e:, s:e] = G[s:e, e:].T
        blk = G[s:e, s:e]
        G[s:e, s:e] = np.triu(blk) + np.triu(blk, 1).T
    return G


def dense_spectrum(G: np.ndarray, *, vectors: bool = True, overwrite: bool = False):
    """Eigenvalues (descending) and, if ``vectors``, eigenvectors (columns) of a symmetric matrix.

    LAPACK divide and conquer (``syevd``; on this machine 12x faster than ``syevr`` at
    n = 3000). ``overwrite=True`` lets LAPACK destroy ``G`` (saves one D x D copy when G
    is Fortran-ordered, as :func:`gauss_newton_matrix` returns it). Workspace: about
    2 n^2 more floats. On a CPU shared with other jobs set ``OPENBLAS_NUM_THREADS=1``
    before numpy loads: with more BLAS threads than free cores ``syevd`` slowed down ~9x
    here (``benchmarks/curvature_cost.py``).
    """
    G = np.asarray(G)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.dtype not in (np.float32, np.float64):
        raise ValueError(f"G is not valid; expected a square float32/float64 matrix, got {G.shape} {G.dtype}")
    out = scipy.linalg.eigh(G, eigvals_only=not vectors, overwrite_a=overwrite, check_finite=False, driver="evd")
    if not vectors:
        return out[::-1].copy()
    lams, V = out
    return lams[::-1].copy(), V[:, ::-1]


# ----------------------------------------------------------------------------- via the kernel M M^T
def ggn_factor(model, params, subset: Subset, *, loss: str = "cross_entropy") -> np.ndarray:
    """The factor M (R, D), float32, with G = M^T M: R = N (C - 1) rows for cross-entropy, N C for squared error.

    Holds R x D floats (0.7 GiB for Conv-2 at N = 1,024); see :func:`kernel_spectrum`.
    """
    check_choice("loss", loss, LOSSES)
    subset = _check_subset(subset)
    M = np.concatenate([np.asarray(_ggn_rows(logits, J, w, loss=loss)) for logits, J, w in
                        jacobian_chunks(model, params, subset)])
    per_example = M.shape[0] // subset.weight.size
    return M[: subset.n * per_example]  # the padding (zero rows) is at the end


class KernelSpectrum(NamedTuple):
    """Spectrum of G = M^T M (D x D) from the Gram matrix K = M M^T (R x R), for R <= D.

    ``lams`` (D,) descending: the R eigenvalues of K (those of G on its range), then the
    D - R zeros of G's null space; ``U`` (R, R) the eigenvectors of K (columns, same order);
    ``M`` the factor. G's eigenvectors on its range are v_j = M^T u_j / sqrt(lambda_j).
    """
    lams: np.ndarray
    U: np.ndarray
    M: np.ndarray


def kernel_spectrum(M: np.ndarray) -> KernelSpectrum:
    """Eigen-decompose G = M^T M through K = M M^T: O(R^2 D + R^3) instead of O(D^2 R + D^3).

    For the Gauss-Newton matrix K is the (loss-Hessian weighted) empirical neural tangent
    kernel of the N examples; with R = N (C - 1) < D it is the cheaper matrix to diagonalise.
    """
    M = np.asarray(M)
    if M.ndim != 2 or M.shape[0] > M.shape[1] or M.dtype not in (np.float32, np.float64):
        raise ValueError(f"M is not valid; expected a float32/float64 (R, D) factor with R <= D, got {M.shape} {M.dtype}")
    syrk = blas.ssyrk if M.dtype == np.float32 else blas.dsyrk
    K = symmetrise_upper(syrk(1.0, M.T, trans=1, lower=0))  # (M^T)^T M^T = M M^T, M.T is Fortran-ordered: no copy
    lams, U = dense_spectrum(K, overwrite=True)
    return KernelSpectrum(np.concatenate([lams, np.zeros(M.shape[1] - M.shape[0], lams.dtype)]), U, M)


def eigen_coordinates(spec: KernelSpectrum, dw, *, rtol: float | None = None) -> np.ndarray:
    """V^T dw (D,) in the order of ``spec.lams``: u_j^T (M dw) / sqrt(lambda_j) on G's range, 0 elsewhere.

    Eigenvalues below ``rtol`` * lambda_max (default R * float32 eps) count as null space,
    where coordinates are not defined by G (and irrelevant to a quadratic model: 0 there).
    """
    R, D = spec.M.shape
    dw = np.asarray(dw, np.float64).reshape(-1)
    if dw.size != D:
        raise ValueError(f"dw is not valid; expected a vector of length D={D}, got {dw.size}")
    tol = (R * np.finfo(np.float32).eps if rtol is None else check_float("rtol", rtol, min_value=0.0)) * spec.lams[0]
    lam = spec.lams[:R].astype(np.float64)
    c = (spec.U.T @ (spec.M @ dw.astype(spec.M.dtype))).astype(np.float64)  # float32 products: no D x R copy
    out = np.zeros(D)
    out[:R] = np.where(lam > tol, c / np.sqrt(np.where(lam > tol, lam, 1.0)), 0.0)
    return out


# ----------------------------------------------------------------------------- matrix-free products
def _logits_hessian_apply(loss, logits, u):
    """H_i u_i per example: p * (u - <p, u>) for softmax cross-entropy, u for squared error."""
    if loss == "squared_error":
        return u
    p = jax.nn.softmax(logits)
    return p * (u - jnp.sum(p * u, axis=-1, keepdims=True))


@functools.partial(jax.jit, static_argnames=("model", "layout", "loss", "mode"))
def _chunk_ggn_vp(w, v, xc, wc, *, model, layout, loss, mode):
    f0, jvp_fn, vjp_fn = logits_linearisation(model, layout.unravel(w), xc, mode)
    hu = _logits_hessian_apply(loss, f0, jvp_fn(layout.unravel(v))) * wc[:, None]
    return layout.flatten(vjp_fn(hu))


def _chunk_loss(w, xc, yc, wc, model, layout, loss):
    logits = model.apply({"params": layout.unravel(w)}, xc)
    return jnp.sum(wc * per_example_loss(loss, logits, yc))


@functools.partial(jax.jit, static_argnames=("model", "layout", "loss", "mode"))
def _chunk_hvp(w, v, xc, yc, wc, *, model, layout, loss, mode):
    grad = jax.grad(_chunk_loss)
    if mode == "jvp":  # forward over reverse
        return jax.jvp(lambda u: grad(u, xc, yc, wc, model, layout, loss), (w,), (v,))[1]
    return jax.grad(lambda u: jnp.vdot(grad(u, xc, yc, wc, model, layout, loss), v))(w)


def _operator(kernel, model, params, subset, loss, tangent, with_labels):
    check_choice("loss", loss, LOSSES)
    subset = _check_subset(subset)
    w, layout = _flat(params)
    mode = resolve_tangent(model, params, subset.x[0], tangent)

    def matvec(v):
        v = jnp.asarray(np.asarray(v, np.float32).reshape(layout.D))
        out = jnp.zeros((layout.D,), jnp.float32)
        for k in range(subset.x.shape[0]):
            args = (subset.x[k], subset.y[k], subset.weight[k]) if with_labels else (subset.x[k], subset.weight[k])
            out = out + kernel(w, v, *args, model=model, layout=layout, loss=loss, mode=mode)
        return np.asarray(out, np.float64)

    matvec.D = layout.D
    return matvec


def ggn_operator(model, params, subset: Subset, *, loss: str = "cross_entropy", tangent: str = "auto"):
    """v -> G v = (1/N) sum_i J_i^T H_i (J_i v), matrix-free (one linearisation per chunk).

    Returns a function of a length-D vector giving a float64 numpy vector (computed in
    float32); its attribute ``D`` is the dimension. ``tangent``: see
    :func:`dof_helpers.linearised.resolve_tangent`.
    """
    return _operator(_chunk_ggn_vp, model, params, subset, loss, tangent, with_labels=False)


def plain_layers(model):
    """The same network with plain (non-fused) layers where it has them (``conv_impl="reference"``):
    same parameters, same function, but forward-mode differentiable, so Hessian-vector products
    run forward over reverse (2.7x faster here than reverse over reverse through fused stages)."""
    return model.clone(conv_impl="reference") if hasattr(model, "conv_impl") else model


def hessian_operator(model, params, subset: Subset, *, loss: str = "cross_entropy", tangent: str = "auto"):
    """v -> H v, the true Hessian of L(w) = (1/N) sum_i l(f(w, x_i), y_i) at ``params``.

    ``jax.jvp`` of ``jax.grad`` (forward over reverse) per chunk; models whose layers
    forward mode cannot enter (``jax.custom_vjp``) get ``jax.grad`` of <grad L, v>
    (reverse over reverse), the same product. Float64 numpy output, attribute ``D``.
    For the book's Conv-2 / Conv-3 pass the same network with ``conv_impl="reference"``
    (same parameters, same function): forward over reverse was 2.7x faster here than
    reverse over reverse through the fused stages.
    """
    return _operator(_chunk_hvp, model, params, subset, loss, tangent, with_labels=True)


@functools.partial(jax.jit, static_argnames=("model", "layout", "loss"))
def _chunk_value_and_grad(w, xc, yc, wc, *, model, layout, loss):
    return jax.value_and_grad(_chunk_loss)(w, xc, yc, wc, model, layout, loss)


def loss_and_gradient(model, params, subset: Subset, *, loss: str = "cross_entropy"):
    """``(L(w), grad L(w))`` on the subset: a float and a float64 vector of length D."""
    check_choice("loss", loss, LOSSES)
    subset = _check_subset(subset)
    w, layout = _flat(params)
    val, g = 0.0, np.zeros(layout.D)
    for k in range(subset.x.shape[0]):
        lk, gk = _chunk_value_and_grad(w, subset.x[k], subset.y[k], subset.weight[k], model=model,
                                       layout=layout, loss=loss)
        val, g = val + float(lk), g + np.asarray(gk, np.float64)
    return val, g


# ----------------------------------------------------------------------------- least squares
def _basis_matrix(A, D: int, d: int | None) -> np.ndarray:
    if isinstance(A, tuple) and hasattr(A, "_fields"):  # a dof_helpers.subspace basis
        if d is None:
            raise ValueError("d is required with a subspace basis; expected the number of columns to use")
        return np.asarray(materialize(A, D, check_int("d", d, min_value=1)), np.float32)
    A = np.asarray(A, np.float32)
    if A.ndim != 2 or A.shape[0] != D or A.shape[1] == 0:
        raise ValueError(f"A is not valid; expected a (D={D}, d) matrix or a subspace basis, got shape {A.shape}")
    return A if d is None else A[:, :check_int("d", d, min_value=1, max_value=A.shape[1])]


def lstsq_subspace_minimum(lin: Linearised, params0, A, subset: Subset, *, d: int | None = None):
    """Exact min over theta of the squared-error loss of f_lin on w_0 + A theta (eq. 2.2).

    With r_0 = f_lin(w_0, x) - onehot(y) (N C) and B = J A (N C x d), the loss is
    L(theta) = (1/N) 1/2 ||r_0 + B theta||^2, minimised by the normal equations
    (B^T B) theta = -B^T r_0 (float64, pseudo-inverse if B is rank deficient), so
    min L = (1/N) 1/2 (r_0^T r_0 + r_0^T B theta*). J comes chunk by chunk
    (:func:`jacobian_chunks`); only d x d is kept. ``A``: a (D, d) array or a
    :mod:`dof_helpers.subspace` basis (then ``d`` is required). Returns (min loss, theta*).
    """
    if not isinstance(lin, Linearised):
        raise ValueError(f"lin is not valid; expected a dof_helpers.linearised.Linearised, got {type(lin).__name__}")
    w_opt, layout = _flat(lin.params_opt)
    A = _basis_matrix(A, layout.D, d)
    dw0 = np.asarray(layout.flatten(params0) - w_opt, np.float32)
    MtM, Mtr, rtr = np.zeros((A.shape[1],) * 2), np.zeros(A.shape[1]), 0.0
    for k, (logits, J, weight) in enumerate(jacobian_chunks(lin.model, lin.params_opt, subset)):
        J = np.asarray(J).reshape(-1, layout.D)
        target = np.eye(logits.shape[-1], dtype=np.float32)[np.asarray(subset.y[k])]
        r0 = (np.asarray(logits) - target).reshape(-1) + J @ dw0
        sw = np.repeat(np.sqrt(np.asarray(weight, np.float64)), logits.shape[-1])
        B, r0 = sw[:, None] * (J @ A).astype(np.float64), sw * r0
        MtM, Mtr, rtr = MtM + B.T @ B, Mtr + B.T @ r0, rtr + r0 @ r0
    theta = -np.linalg.pinv(MtM, rcond=1e-10, hermitian=True) @ Mtr
    return 0.5 * (rtr + Mtr @ theta), theta
