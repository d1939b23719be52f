"""Local angular dimension (Definition 3.2) of a quadratic sublevel set, seen from w_0.

:func:`sublevel_cone` describes the cone K of directions from w_0 that reach
S(epsilon) = {w : L* + 1/2 sum lam_i z_i^2 <= epsilon} (zero eigenvalues make it a
cylinder K' x R^k); :func:`project_onto_ellipsoidal_cone` projects onto it exactly (a
monotone 1-D root find) and :func:`local_angular_dimension_quadratic` estimates d_local as
the statistical dimension E||Pi_K(g)||^2, which brackets the squared Gaussian width of the
projected set: w^2 <= delta(K) <= w^2 + 1 (Amelunxen et al. 2014, Prop. 10.2).
:func:`rank_one_update_eigenvalues` gives the cone's axes in O(D^2) for large D.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from .geometry import Estimate, _estimate, _rng, _vector
from .validation import check_float, check_int


@dataclass(frozen=True)
class EllipsoidalCone:
    """The convex cone K = {z : z1 >= ||Lambda z'||} in the rotated coordinates ``Q^T z``.

    ``Q`` (D, D) is orthogonal with first column the axis of the cone; ``lam`` holds the
    D - 1 semi-axis ratios. ``full`` marks the degenerate case K = R^D (w_0 inside the set).
    A ratio 0 is a flat axis: K is a cylinder K' x R^k there (no constraint along it).
    ``Q`` is None for a cone known only up to rotation (``axes_only``), which is all the
    statistical dimension needs: a Gaussian vector is rotation invariant.
    """

    Q: np.ndarray | None
    lam: np.ndarray
    full: bool = False


def sublevel_cone(lams, w0, epsilon: float, *, axes_only: bool = False) -> EllipsoidalCone:
    """Cone of directions z from ``w0`` along which the ray w0 + s z (s > 0) enters S(epsilon).

    S(epsilon) = {w : 1/2 w^T H w <= epsilon} with H = diag(``lams``) (any H after rotating
    to its eigenbasis). With a = H w0 and c = 2 (L(w0) - epsilon) > 0, the ray enters S
    iff the quadratic 1/2 s^2 z^T H z + s a^T z + c/2 <= 0 has a positive root, i.e.
    a^T z < 0 and (a^T z)^2 >= c z^T H z. So K = {z : z^T M z >= 0, a^T z <= 0} with
    M = a a^T - c H, a matrix with exactly one positive eigenvalue: an ellipsoidal cone.

    ``lams`` may contain zeros (flat directions, e.g. the null space of a Gauss-Newton
    matrix): S is then a cylinder, M vanishes on those coordinates and K = K' x R^k, with
    K' the cone of the positive block (flat axes get ratio 0). ``w0`` is any displacement
    from the minimum in the eigenbasis. ``axes_only=True`` skips the eigenvectors and gets
    the ratios from the eigenvalues of the diagonal-plus-rank-one M alone
    (:func:`rank_one_update_eigenvalues`, O(D^2) instead of O(D^3)); ``Q`` is then None.
    """
    lams = _vector("lams", lams)
    if np.any(lams < 0):
        raise ValueError(f"lams is not valid; expected eigenvalues >= 0 (0 = flat direction), min is {lams.min():g}")
    w0 = _vector("w0", w0)
    if w0.shape != lams.shape:
        raise ValueError(f"w0 is not valid; expected shape {lams.shape} to match lams, got {w0.shape}")
    epsilon = check_float("epsilon", epsilon, min_value=0.0, open_min=True)
    D = lams.size
    L0 = 0.5 * float(np.sum(lams * w0 ** 2))
    if L0 <= epsilon:
        return EllipsoidalCone(None if axes_only else np.eye(D), np.zeros(D - 1), full=True)
    pos = lams > 0
    c = 2.0 * (L0 - epsilon)
    if axes_only:
        m = rank_one_update_eigenvalues(-c * lams[pos], lams[pos] * w0[pos])  # ascending: positive one last
        return EllipsoidalCone(None, np.concatenate([np.sqrt(-m[:-1] / m[-1]), np.zeros(D - pos.sum())]))
    return _cone_with_axes(lams, w0, c, pos)


def _cone_with_axes(lams, w0, c: float, pos) -> EllipsoidalCone:
    """The cone with its eigenvectors: eigh of M = a a^T - c H on the positive block, identity on flats."""
    lp = lams[pos]
    a = lp * w0[pos]
    D = lams.size
    m, V = np.linalg.eigh(np.outer(a, a) - c * np.diag(lp))
    order = np.argsort(m)[::-1]  # positive eigenvalue first
    m, V = m[order], V[:, order]
    if m[0] <= 0 or np.any(m[1:] >= 0):
        raise RuntimeError("sublevel cone: M should have exactly one positive eigenvalue")
    if V[:, 0] @ a > 0:
        V[:, 0] = -V[:, 0]  # orient the axis into the nappe with a^T z <= 0
    Q = V if lp.size == D else np.zeros((D, D))
    if lp.size < D:  # flat coordinates: identity block after the positive block
        Q[np.ix_(pos, np.arange(lp.size))] = V
        Q[np.flatnonzero(~pos), np.arange(lp.size, D)] = 1.0
    return EllipsoidalCone(Q, np.concatenate([np.sqrt(-m[1:] / m[0]), np.zeros(D - lp.size)]))


def rank_one_update_eigenvalues(d, a) -> np.ndarray:
    """Eigenvalues (ascending) of diag(d) + a a^T from the secular equation 1 + sum_i a_i^2 / (d_i - m) = 0.

    Coordinates with a negligible a_i, and repeated d_i (all but one of each group),
    deflate to eigenvalues d_i. The remaining p poles, shifted to d_i - min(d) >= 0,
    go to LAPACK ``dlasd4`` (one root per call, O(p) each), whose distances to the
    nearest pole keep small eigenvalues accurate: m_j = d_j - delta_j (D_j + sigma_j).
    """
    d, a = _vector("d", d), _vector("a", a)
    if d.shape != a.shape:
        raise ValueError(f"a is not valid; expected shape {d.shape} to match d, got {a.shape}")
    order = np.argsort(d, kind="stable")
    d, a = d[order], a[order]
    eps = np.finfo(float).eps
    norm_a = float(np.linalg.norm(a))
    scale = max(float(np.abs(d).max()), norm_a ** 2, 1e-300)
    live = np.abs(a) * norm_a > 8 * eps * scale
    group = np.concatenate([[0], np.cumsum(np.diff(d) > 8 * eps * scale)])
    poles, inv = np.unique(group[live], return_inverse=True)
    if poles.size == 0:
        return d
    w = np.bincount(inv, weights=a[live] ** 2)
    first = np.flatnonzero(live)[np.unique(inv, return_index=True)[1]]
    pd = d[first]  # one pole per group, ascending
    keep = np.ones(d.size, bool)
    keep[first] = False
    if pd.size == 1:  # a single pole: m = d + ||a||^2
        return np.sort(np.concatenate([pd + w, d[keep]]))
    shift = pd[0]
    root_d = np.sqrt(np.maximum(pd - shift, 0.0))
    rho = float(w.sum())
    z = np.sqrt(w / rho)
    roots = np.empty(pd.size)
    for i in range(pd.size):
        delta, sigma, work, info = lapack.dlasd4(i, root_d, z, rho)
        if info != 0:
            raise RuntimeError(f"dlasd4 failed for root {i} (info={info})")
        roots[i] = pd[i] - delta[i] * work[i]
    return np.sort(np.concatenate([roots, d[keep]]))


def project_onto_ellipsoidal_cone(G: np.ndarray, cone: EllipsoidalCone, n_iter: int = 80) -> np.ndarray:
    """Squared norms ||Pi_K(g)||^2 for the rows g of ``G`` (exact up to bisection tolerance).

    In the cone's coordinates (g1, g') the projection is g if g is in K, 0 if g is in the
    polar cone {-g1 >= ||Lambda^{-1} g'||}, and otherwise the boundary point
    z1 = g1 + nu, z'_i = g'_i z1 / (z1 + nu lam_i^2) where nu > max(0, -g1) is the unique
    root of F(nu) = sum_i lam_i^2 g'_i^2 / (g1 + nu (1 + lam_i^2))^2 = 1 (F decreases
    strictly there), found by bisection. Flat axes (ratio 0) are kept unchanged (K = K' x R^k).
    """
    G = np.atleast_2d(np.asarray(G, dtype=float))
    if cone.full:
        return np.sum(G ** 2, axis=-1)
    Y = G if cone.Q is None else G @ cone.Q  # no Q: G is already in the cone's coordinates
    live = cone.lam > 0  # flat axes (ratio 0): K = K' x R^k, the projection keeps them as they are
    g1, gp = Y[:, 0], Y[:, 1:][:, live]
    l2 = cone.lam[live] ** 2
    flat_sq = np.sum(Y[:, 1:][:, ~live] ** 2, axis=-1)
    inside = (g1 >= 0) & (g1 ** 2 >= gp ** 2 @ l2)
    polar = (g1 <= 0) & (g1 ** 2 >= gp ** 2 @ (1.0 / np.maximum(l2, 1e-300)))
    lo = np.maximum(0.0, -g1)
    F = lambda nu: ((gp ** 2) * l2 / (g1[:, None] + nu[:, None] * (1.0 + l2)) ** 2).sum(-1)  # noqa: E731
    hi = lo + np.maximum(1.0, np.abs(g1))
    for _ in range(200):
        bad = F(hi) > 1.0
        if not bad.any():
            break
        hi = np.where(bad, lo + 2.0 * (hi - lo), hi)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        big = F(mid) > 1.0
        lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
    nu = 0.5 * (lo + hi)
    z1 = g1 + nu
    zp = gp * (z1[:, None] / (z1[:, None] + nu[:, None] * l2))
    sq = z1 ** 2 + np.sum(zp ** 2, axis=-1)
    return np.where(inside, np.sum(Y ** 2, axis=-1), np.where(polar, 0.0, sq) + flat_sq)


def local_angular_dimension_quadratic(lams, w0, epsilon: float, n_samples: int = 1000, seed=0,
                                      *, batch: int = 1000, axes_only: bool = False) -> Estimate:
    """Monte-Carlo local angular dimension d_local of S(epsilon) about ``w0`` (Definition 3.2).

    Estimated as the statistical dimension delta(K) = E||Pi_K(g)||^2 of the cone K spanned
    by the directions from w0 into S(epsilon); the squared Gaussian width of the projected
    set proj_{w0} S(epsilon) = K cap sphere satisfies w^2 <= delta(K) <= w^2 + 1.
    ``lams`` may hold zeros (a cylinder, see :func:`sublevel_cone`). ``axes_only=True``
    uses the O(D^2) cone (for large D) and :func:`cone_projection_samples`, which adds the
    flat axes exactly instead of sampling them.
    """
    n_samples = check_int("n_samples", n_samples, min_value=2)
    cone = sublevel_cone(lams, w0, epsilon, axes_only=axes_only)
    if axes_only:
        sq, n_flat = cone_projection_samples(cone, n_samples, seed, batch=batch)
        est = _estimate(sq)
        return Estimate(est.mean + n_flat, est.stderr, est.n)
    D = cone.Q.shape[0]
    rng = _rng(seed)
    vals = []
    for start in range(0, n_samples, batch):
        G = rng.standard_normal((min(batch, n_samples - start), D))
        vals.append(project_onto_ellipsoidal_cone(G, cone))
    return _estimate(np.concatenate(vals))


def cone_projection_samples(cone: EllipsoidalCone, n_samples: int, seed=0, *, batch: int = 1000,
                            with_norms: bool = False):
    """Samples of ||Pi_K'(g)||^2 in the cone's own coordinates, and the number k of flat axes.

    K = K' x R^k with K' the cone of the nonzero ratios, so ||Pi_K(g)||^2 = ||Pi_K'(g')||^2 +
    chi^2_k and delta(K) = E||Pi_K'(g')||^2 + k; sampling g' only (a Gaussian in K''s
    coordinates, rotation invariance) removes the chi^2_k noise. Returns (samples, k), and
    with ``with_norms`` also the samples' ||g'||^2 (for the polar-cone estimator:
    ||g'||^2 - ||Pi_K'(g')||^2 = ||Pi_K'polar(g')||^2, Moreau's decomposition).
    """
    n_samples = check_int("n_samples", n_samples, min_value=2)
    batch = check_int("batch", batch, min_value=1)
    rng = _rng(seed)
    if cone.full:
        return (np.zeros(n_samples), cone.lam.size + 1) + ((np.zeros(n_samples),) if with_norms else ())
    live = cone.lam > 0
    reduced = EllipsoidalCone(None, cone.lam[live])
    vals, norms = [], []
    for s in range(0, n_samples, batch):
        g = rng.standard_normal((min(batch, n_samples - s), 1 + live.sum()))
        vals.append(project_onto_ellipsoidal_cone(g, reduced))
        norms.append(np.sum(g * g, axis=1))
    out = (np.concatenate(vals), int((~live).sum()))
    return out + ((np.concatenate(norms),) if with_norms else ())
