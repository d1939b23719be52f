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

from .curvature import Subset, _check_subset, _flat, jacobian_chunks
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
        A = np.asarray(jax.random.normal(key, (self.layout.D, d_max), jax.numpy.float32))
        R = np.linalg.qr(np.column_stack([self.project(A), self.r0]), mode="r")
        c = R[:d_max, -1]
        total = float(self.r0 @ self.r0)
        return 0.5 * np.maximum(total - np.concatenate([[0.0], np.cumsum(c ** 2)]), 0.0)


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
