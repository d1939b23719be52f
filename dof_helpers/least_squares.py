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


def weighted_residual(lin: Linearised, params0, subset: Subset) -> np.ndarray:
    """r_0 = f_lin(w_0, X) - Y in float64, rows (example, class) weighted by sqrt(1/N): the
    squared-error loss at w_0 is ||r_0||^2 / 2, and r_0 lines up with the rows of
    ``curvature.ggn_factor(..., loss="squared_error")``."""
    _, r0 = weighted_system(lin, params0, subset, None)
    return r0


def weighted_system(lin: Linearised, params0, subset: Subset, A) -> tuple[np.ndarray | None, np.ndarray]:
    """``(B, r_0)`` in float64, rows weighted by sqrt(1/N) (module docstring): B = J A, r_0 = f_lin(w_0) - Y.

    ``A`` None skips B (returns None for it).
    """
    lin, subset = _check_lin(lin), _check_subset(subset)
    w_opt, layout = _flat(lin.params_opt)
    if A is not None:
        A = np.asarray(A, np.float32)
        if A.ndim != 2 or A.shape[0] != layout.D:
            raise ValueError(f"A is not valid; expected a (D={layout.D}, d) matrix, got shape {A.shape}")
    dw0 = np.asarray(layout.flatten(params0) - w_opt, np.float32)
    Bs, rs = [], []
    for k, (logits, J, weight) in enumerate(jacobian_chunks(lin.model, lin.params_opt, subset)):
        J = np.asarray(J).reshape(-1, layout.D)
        C = logits.shape[-1]
        target = np.eye(C, dtype=np.float32)[np.asarray(subset.y[k])]
        r0 = (np.asarray(logits) - target).reshape(-1) + J @ dw0
        sw = np.repeat(np.sqrt(np.asarray(weight, np.float64)), C)
        keep = sw > 0  # padding rows carry no weight
        if A is not None:
            Bs.append((sw[:, None] * (J @ A).astype(np.float64))[keep])
        rs.append((sw * r0)[keep])
    return (np.concatenate(Bs) if A is not None else None), np.concatenate(rs)


def nested_subspace_minima(lin: Linearised, params0, subset: Subset, *, key, d_max: int) -> np.ndarray:
    """Exact minimum of the squared-error loss of ``lin`` on w_0 + A_d theta for d = 0..``d_max``.

    A is a (D, d_max) standard Gaussian matrix drawn from ``key`` and A_d its first d
    columns (module docstring). Returns an array of length d_max + 1: entry d is the
    minimum loss in the d-dimensional subspace (entry 0: the loss at w_0).
    """
    d_max = check_int("d_max", d_max, min_value=1)
    _, layout = _flat(_check_lin(lin).params_opt)
    A = np.asarray(jax.random.normal(key, (layout.D, d_max), jax.numpy.float32))
    B, r0 = weighted_system(lin, params0, subset, A)
    if d_max > B.shape[0]:
        raise ValueError(f"d_max={d_max} is not valid; expected at most N C = {B.shape[0]} (beyond it the "
                         "subspace minimum is the least-squares minimum over all w)")
    R = np.linalg.qr(np.column_stack([B, r0]), mode="r")
    c = R[:d_max, -1]
    total = float(r0 @ r0)
    return 0.5 * np.maximum(total - np.concatenate([[0.0], np.cumsum(c ** 2)]), 0.0)
