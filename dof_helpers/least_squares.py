"""Exact subspace minima of the linearised network's squared-error loss, every d at once.

For the linearised model f_lin (Appendix A.1) and the squared error, the training loss on
the affine subspace w_0 + A theta (eq. 2.2) is a least-squares problem:

    L(theta) = 1/(2N) || r_0 + B theta ||^2,     r_0 = f_lin(w_0, X) - Y,   B = J(w_opt) A,

(r_0 and B weighted by 1/sqrt(N) per example, rows over examples and classes). Its
minimum over a d-dimensional subspace needs no optimiser. If the columns of A are i.i.d.
Gaussian, the span of the first d of them is a uniformly random d-dimensional subspace
for every d, so one QR factorisation of the augmented matrix [B | r_0] gives the minimum
at every d <= d_max at once: with R its triangular factor, c = R[:d_max, -1] = Q^T r_0 and

    min_theta L at d = ( ||r_0||^2 - sum_{k <= d} c_k^2 ) / (2N).

:func:`nested_subspace_minima` returns these for one draw of A; repeated draws (seeds)
give the success probability at any loss level and any d, resolved to one dimension.
"""
from __future__ import annotations

import jax
import numpy as np

from .curvature import Subset, _check_subset, _flat, ggn_factor, jacobian_chunks, loss_and_gradient
from .linearised import Linearised
from .validation import check_int


def _check_lin(lin) -> Linearised:
    if not isinstance(lin, Linearised):
        raise ValueError(f"lin is not valid; expected a dof_helpers.linearised.Linearised, got {type(lin).__name__}")
    return lin


#: hold the weighted Jacobian in memory when it is at most this many bytes (else rebuild it
#: chunk by chunk for every product: Conv-2 at N = 1,024 holds 0.84 GB)
DEFAULT_MAX_JACOBIAN_BYTES = 2 ** 31


class LeastSquares:
    """The least-squares system of the linearised network's squared-error loss around w_0.

    Rows (example, class) weighted by sqrt(1/N): ``r0`` = f_lin(w_0, X) - Y (float64), and
    products ``B = J A`` (float64) for any (D, d) matrix A. The Jacobian J (N C x D, float32)
    is computed once and held when it fits in ``max_bytes``; otherwise every product
    recomputes it chunk by chunk (same numbers, more time).
    """

    def __init__(self, lin: Linearised, params0, subset: Subset, *, max_bytes: int = DEFAULT_MAX_JACOBIAN_BYTES):
        self.lin, self.subset = _check_lin(lin), _check_subset(subset)
        w_opt, self.layout = _flat(lin.params_opt)
        self.dw0 = np.asarray(self.layout.flatten(params0) - w_opt, np.float32)
        n_rows = subset.n * 10  # an upper bound before the class count is known
        self._held = None
        if n_rows * self.layout.D * 4 <= check_int("max_bytes", max_bytes, min_value=0):
            self._held = list(self._chunks())
        self.r0 = np.concatenate([r for _, r in (self._held or self._chunks())])

    def _chunks(self):
        """Yield (sqrt-weighted J rows float32 (rows, D), sqrt-weighted r0 float64), padding dropped."""
        for k, (logits, J, weight) in enumerate(jacobian_chunks(self.lin.model, self.lin.params_opt, self.subset)):
            J = np.asarray(J).reshape(-1, self.layout.D)
            C = logits.shape[-1]
            target = np.eye(C, dtype=np.float32)[np.asarray(self.subset.y[k])]
            r0 = (np.asarray(logits) - target).reshape(-1) + J @ self.dw0
            sw = np.repeat(np.sqrt(np.asarray(weight, np.float64)), C)
            keep = sw > 0  # padding rows carry no weight
            yield (sw[keep, None] * J[keep]).astype(np.float32), (sw * r0)[keep]

    def project(self, A) -> np.ndarray:
        """B = J A in float64 (rows weighted like ``r0``) for a (D, d) matrix ``A``."""
        A = np.asarray(A, np.float32)
        if A.ndim != 2 or A.shape[0] != self.layout.D:
            raise ValueError(f"A is not valid; expected a (D={self.layout.D}, d) matrix, got shape {A.shape}")
        return np.concatenate([(Jw @ A).astype(np.float64) for Jw, _ in (self._held or self._chunks())])

    def subspace_minimum(self, A) -> float:
        """min over theta of ||r0 + J A theta||^2 / 2: the exact squared-error minimum on w_0 + span(A)."""
        B = self.project(A)
        theta = np.linalg.lstsq(B, -self.r0, rcond=None)[0]
        res = self.r0 + B @ theta
        return 0.5 * float(res @ res)

    def nested_minima(self, key, d_max: int) -> np.ndarray:
        """The minimum at every d = 0..``d_max`` over nested Gaussian subspaces (module docstring)."""
        d_max = check_int("d_max", d_max, min_value=1)
        if d_max > self.r0.size:
            raise ValueError(f"d_max={d_max} is not valid; expected at most N C = {self.r0.size} (beyond it the "
                             "subspace minimum is the least-squares minimum over all w)")
        total = float(self.r0 @ self.r0)
        return 0.5 * np.maximum(total - _captured(self.project, self.r0, self.layout.D, key, d_max), 0.0)


def _captured(project, r, D: int, key, d_max: int) -> np.ndarray:
    """sum_{k <= d} c_k^2 for d = 0..d_max, c = Q^T r from one QR of [project(A) | r] with A a
    (D, d_max) standard Gaussian matrix from ``key``: how much of ||r||^2 the best point of
    span(A_d) removes (nested over d: the span of the first d columns is uniformly random)."""
    A = np.asarray(jax.random.normal(key, (D, d_max), jax.numpy.float32))
    R = np.linalg.qr(np.column_stack([project(A), r]), mode="r")
    return np.concatenate([[0.0], np.cumsum(R[:d_max, -1] ** 2)])


class GaussNewtonModel:
    """The Gauss-Newton quadratic model of a network's loss centred at a point w_0 (not at an
    optimum), and its exact minima over random affine subspaces w_0 + A theta (eq. 2.2):

        q(w_0 + dw) = L_0 + g^T dw + dw^T G dw / 2,   G = M^T M,   g = grad L(w_0)

    with M from :func:`curvature.ggn_factor` at w_0 (G the Gauss-Newton matrix, the second
    order of the paper's Section 3 taken where training starts). For cross-entropy and squared
    error g = J^T (dL/dlogits) / N lies in the row space of M, g = M^T b, so

        q = L_0 - ||b||^2 / 2 + ||M dw + b||^2 / 2,

    and the minimum over w_0 + span(A) is a least-squares problem whose value at every
    d <= d_max comes from one QR factorisation (as for :class:`LeastSquares`). b is solved
    through the kernel K = M M^T = U Lambda U^T in float64 (eigenvalues below ``rtol``
    lambda_max dropped: k are kept); ``residual`` = ||M^T b - g|| / ||g|| checks that g is in
    the row space. :meth:`nested_minima` never forms A: with M = U Sigma V^T, q on
    w_0 + span(A) depends on A only through M A = U Sigma (V^T A), and for A with i.i.d.
    standard Gaussian entries Z = V^T A (k x d) has i.i.d. standard Gaussian entries too, so
    drawing Z gives exactly the distribution of Gaussian subspaces at a cost free of D
    (one QR of a k x (d_max + 1) matrix per draw). Memory: M in float32 and float64, K and U
    (Conv-2 at N = 1,024: 0.75 + 1.5 + 0.7 + 0.7 GB).
    """

    def __init__(self, model, params0, subset: Subset, *, loss: str = "cross_entropy", rtol: float = 1e-10):
        subset = _check_subset(subset)
        self.M = ggn_factor(model, params0, subset, loss=loss)
        self.L0, self.g = loss_and_gradient(model, params0, subset, loss=loss)
        M64 = self.M.astype(np.float64)
        lam, U = np.linalg.eigh(M64 @ M64.T)
        keep = lam > rtol * lam.max()
        self.U, self.sigma = U[:, keep], np.sqrt(lam[keep])
        self.b_coords = (self.U.T @ (M64 @ self.g)) / lam[keep]  # U_k^T b
        self.b = self.U @ self.b_coords
        self.residual = float(np.linalg.norm(M64.T @ self.b - self.g) / np.linalg.norm(self.g))
        self.D = self.M.shape[1]

    def row_space_basis(self) -> np.ndarray:
        """V_k = M^T U_k / sigma_k (D x k, orthonormal columns): A = V_k Z is a subspace whose
        :meth:`subspace_minimum` the draw Z of :meth:`nested_minima` gives exactly."""
        return (self.M.astype(np.float64).T @ self.U) / self.sigma

    @property
    def full_minimum(self) -> float:
        """The model's minimum over all w: L_0 - ||b||^2 / 2 (it can lie below any attainable loss)."""
        return self.L0 - 0.5 * float(self.b @ self.b)

    def value(self, dw) -> float:
        """q(w_0 + dw) for a flat displacement ``dw`` (length D)."""
        dw = np.asarray(dw, np.float64)
        Mdw = self.M.astype(np.float64) @ dw
        return self.L0 + float(self.g @ dw) + 0.5 * float(Mdw @ Mdw)

    def project(self, A) -> np.ndarray:
        """M A in float64 for a (D, d) matrix ``A``."""
        A = np.asarray(A, np.float32)
        if A.ndim != 2 or A.shape[0] != self.D:
            raise ValueError(f"A is not valid; expected a (D={self.D}, d) matrix, got shape {A.shape}")
        return (self.M @ A).astype(np.float64)

    def subspace_minimum(self, A) -> float:
        """min over theta of q(w_0 + A theta)."""
        B = self.project(A)
        theta = np.linalg.lstsq(B, -self.b, rcond=None)[0]
        res = self.b + B @ theta
        return self.full_minimum + 0.5 * float(res @ res)

    def nested_minima(self, key, d_max: int) -> np.ndarray:
        """The model's minimum at every d = 0..``d_max`` over nested Gaussian subspaces (entry 0:
        L_0), from Z = V^T A (k x d_max, standard Gaussian, drawn from ``key``; class docstring)."""
        d_max = check_int("d_max", d_max, min_value=1)
        k = self.sigma.size
        if d_max >= k:
            raise ValueError(f"d_max={d_max} is not valid; expected less than the rank k = {k} of M (beyond it "
                             "every subspace reaches the full minimum)")
        R = np.linalg.qr(np.column_stack([self.sigma[:, None] * self.draw(key, d_max), self.b_coords]), mode="r")
        return self.L0 - 0.5 * np.concatenate([[0.0], np.cumsum(R[:d_max, -1] ** 2)])

    def draw(self, key, d: int) -> np.ndarray:
        """Z (k x d) as :meth:`nested_minima` draws it from ``key`` (its first d columns)."""
        return np.asarray(jax.random.normal(key, (self.sigma.size, d), jax.numpy.float32), np.float64)


def weighted_residual(lin: Linearised, params0, subset: Subset) -> np.ndarray:
    """r_0 = f_lin(w_0, X) - Y in float64, rows (example, class) weighted by sqrt(1/N): the
    squared-error loss at w_0 is ||r_0||^2 / 2, and r_0 lines up with the rows of
    ``curvature.ggn_factor(..., loss="squared_error")``."""
    return LeastSquares(lin, params0, subset, max_bytes=0).r0


def nested_subspace_minima(lin: Linearised, params0, subset: Subset, *, key, d_max: int) -> np.ndarray:
    """Exact minimum of the squared-error loss of ``lin`` on w_0 + A_d theta for d = 0..``d_max``.

    A is a (D, d_max) standard Gaussian matrix drawn from ``key`` and A_d its first d
    columns (module docstring). Returns an array of length d_max + 1: entry d is the
    minimum loss in the d-dimensional subspace (entry 0: the loss at w_0).
    """
    return LeastSquares(lin, params0, subset).nested_minima(key, d_max)
