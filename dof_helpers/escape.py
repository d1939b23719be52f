"""Gordon's escape theorem: cones, random subspaces and when a subspace hits a set (Sec. 3.1, App. B).

- :func:`statistical_dimension` of orthants, subspaces, circular and Lorentz cones, and a
  Monte-Carlo version for any cone given its projector (:func:`statistical_dimension_mc`);
- :func:`random_subspace` samples orthonormal bases uniformly from the Grassmannian;
  ``subspace_hits_*`` decide whether a subspace meets a cap, an orthant or another
  subspace; :func:`cap_hit_probability` and :func:`orthant_hit_probability` are the exact
  answers (beta law and the conic kinematic formula); :func:`escape_bound` is the bound of
  Gordon's escape theorem (Theorem 3.1); :func:`affine_subspace_distance` the distance
  between two affine subspaces; :func:`empirical_threshold` reads a transition off a curve.

Plain NumPy/SciPy with explicit ``numpy.random.Generator`` seeds, like :mod:`geometry`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import integrate, optimize, special, stats

from .geometry import Estimate, _estimate, _rng, _vector
from .validation import check_choice, check_float, check_int


# ----------------------------------------------------------------------------- cones
CONE_KINDS = ("orthant", "subspace", "circular", "lorentz")


def statistical_dimension(kind: str, D: int, *, k: int | None = None, angle: float | None = None) -> float:
    """Statistical dimension delta(C) = E||Pi_C(g)||^2 of a closed convex cone in R^D.

    ``orthant``: D/2 (self-dual). ``subspace``: k. ``lorentz``: the circular cone with
    half-angle pi/4, D/2 (self-dual). ``circular``: half-angle ``angle``, by quadrature of
    D * E f(phi) over the angle phi of a uniform direction to the axis (density proportional
    to sin^{D-2} phi) with f = 1 inside the cone, cos^2(phi - angle) in the band
    angle < phi < angle + pi/2 and 0 beyond.
    """
    check_choice("kind", kind, CONE_KINDS)
    D = check_int("D", D, min_value=2)
    if kind == "orthant":
        return D / 2.0
    if kind == "subspace":
        if k is None:
            raise ValueError("k=None is not valid for kind='subspace'; expected an integer in [0, D]")
        return float(check_int("k", k, min_value=0, max_value=D))
    if kind == "lorentz":
        angle = np.pi / 4
    if angle is None:
        raise ValueError("angle=None is not valid for kind='circular'; expected a number in [0, pi/2]")
    angle = check_float("angle", angle, min_value=0.0, max_value=np.pi / 2)
    # log of the (unnormalised) angle density, shifted so its maximum (at pi/2) is 0
    logdens = lambda p: (D - 2) * np.log(np.maximum(np.sin(p), 1e-300))  # noqa: E731
    f = lambda p: 1.0 if p <= angle else (np.cos(p - angle) ** 2 if p < angle + np.pi / 2 else 0.0)  # noqa: E731
    pts = sorted({0.0, angle, min(angle + np.pi / 2, np.pi), np.pi, np.pi / 2})
    num = sum(integrate.quad(lambda p: f(p) * np.exp(logdens(p)), a, b, limit=200, epsabs=0, epsrel=1e-10)[0]
              for a, b in zip(pts[:-1], pts[1:]))
    den = sum(integrate.quad(lambda p: np.exp(logdens(p)), a, b, limit=200, epsabs=0, epsrel=1e-10)[0]
              for a, b in zip(pts[:-1], pts[1:]))
    return D * num / den


def circular_cone_approx(D: int, angle: float) -> float:
    """Amelunxen et al.'s approximation delta(Circ_D(angle)) ~ D sin^2(angle) + cos(2 angle)."""
    return D * np.sin(angle) ** 2 + np.cos(2 * angle)


def project_orthant(G: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the nonnegative orthant (row-wise)."""
    return np.maximum(G, 0.0)


def project_circular(G: np.ndarray, axis, angle: float) -> np.ndarray:
    """Euclidean projection of the rows of ``G`` onto the circular cone {x : angle(x, axis) <= angle}."""
    c = _vector("axis", axis)
    c = c / np.linalg.norm(c)
    angle = check_float("angle", angle, min_value=0.0, max_value=np.pi / 2)
    t = G @ c
    perp = G - t[:, None] * c
    rho = np.linalg.norm(perp, axis=-1)
    phi = np.arctan2(rho, t)
    inside = phi <= angle
    polar = phi >= angle + np.pi / 2
    # boundary case: project onto the ray at angle `angle` in the plane of (c, perp)
    u = np.where(rho[:, None] > 0, perp / np.maximum(rho, 1e-300)[:, None], 0.0)
    ray = np.cos(angle) * c + np.sin(angle) * u
    length = np.linalg.norm(G, axis=-1) * np.cos(phi - angle)
    out = length[:, None] * ray
    out = np.where(inside[:, None], G, out)
    return np.where(polar[:, None], 0.0, out)


def statistical_dimension_mc(projector: Callable[[np.ndarray], np.ndarray], D: int,
                             n_samples: int = 2000, seed=0) -> Estimate:
    """Monte-Carlo E||Pi_C(g)||^2 from a row-wise projector onto the cone C."""
    D = check_int("D", D, min_value=1)
    n_samples = check_int("n_samples", n_samples, min_value=2)
    G = _rng(seed).standard_normal((n_samples, D))
    return _estimate(np.sum(projector(G) ** 2, axis=-1))


# ----------------------------------------------------------------------------- random subspaces
def random_subspace(D: int, d: int, n: int | None = None, seed=0) -> np.ndarray:
    """Orthonormal basis of a uniformly random d-dimensional subspace of R^D (Grassmannian).

    QR of a Gaussian (D, d) matrix with the signs of R's diagonal moved into Q (Haar on the
    Stiefel manifold, so the span is uniform). Returns (D, d), or (n, D, d) if ``n`` given.
    """
    D = check_int("D", D, min_value=1)
    d = check_int("d", d, min_value=0, max_value=D)
    rng = _rng(seed)
    shape = (1 if n is None else check_int("n", n, min_value=1), D, d)
    G = rng.standard_normal(shape)
    if d == 0:
        return G[0] if n is None else G
    Q, R = np.linalg.qr(G)
    signs = np.sign(np.diagonal(R, axis1=-2, axis2=-1))
    signs[signs == 0] = 1.0
    Q = Q * signs[:, None, :]
    return Q[0] if n is None else Q


def subspace_hits_cap(Q: np.ndarray, axis, angle: float) -> np.ndarray:
    """Does span(Q) meet the cap {u : angle(u, axis) <= angle}? Exactly when ||Q^T c|| >= cos(angle).

    (The closest direction of the subspace to the axis c makes angle arccos ||Q^T c||; a
    subspace is symmetric, so meeting the cap or its antipode is the same event.)
    """
    c = _vector("axis", axis)
    c = c / np.linalg.norm(c)
    angle = check_float("angle", angle, min_value=0.0, max_value=np.pi / 2)
    return np.linalg.norm(np.einsum("...dk,d->...k", Q, c), axis=-1) >= np.cos(angle)


def subspace_hits_orthant(Q: np.ndarray) -> np.ndarray:
    """Does span(Q) meet the nonnegative orthant outside 0? A linear-programming feasibility test.

    span(Q) contains x = Q theta != 0 with x >= 0 iff the LP {Q theta >= 0, 1^T Q theta = 1}
    is feasible (scale any such x so its entries sum to one).
    """
    Qs = np.asarray(Q, dtype=float)
    single = Qs.ndim == 2
    Qs = Qs[None] if single else Qs
    out = np.zeros(Qs.shape[0], dtype=bool)
    for i, q in enumerate(Qs):
        D, d = q.shape
        if d == 0:
            continue
        res = optimize.linprog(np.zeros(d), A_ub=-q, b_ub=np.zeros(D), A_eq=q.sum(0, keepdims=True),
                               b_eq=[1.0], bounds=[(None, None)] * d, method="highs")
        out[i] = res.status == 0
    return out[0] if single else out


def subspaces_intersect(Q1: np.ndarray, Q2: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Do span(Q1) and span(Q2) (orthonormal columns) share a nonzero vector?

    They do exactly when the largest singular value of Q1^T Q2 (the cosine of the smallest
    principal angle) equals 1.
    """
    s = np.linalg.svd(np.swapaxes(Q1, -1, -2) @ Q2, compute_uv=False)
    if s.shape[-1] == 0:
        return np.zeros(s.shape[:-1], dtype=bool)
    return s[..., 0] >= 1.0 - tol


def affine_subspace_distance(x0: np.ndarray, A: np.ndarray, y0: np.ndarray, B: np.ndarray) -> float:
    """Distance between the affine subspaces x0 + span(A) and y0 + span(B) (least squares)."""
    M = np.concatenate([A, -B], axis=1)
    sol, *_ = np.linalg.lstsq(M, y0 - x0, rcond=None)
    return float(np.linalg.norm(M @ sol - (y0 - x0)))


def cap_hit_probability(D: int, d, angle: float):
    """Exact probability that a uniform d-dim subspace of R^D meets a cap of half-angle ``angle``.

    ||Q^T c||^2 for a uniform subspace and fixed unit c is Beta(d/2, (D - d)/2), so the
    probability is the beta survival function at cos^2(angle).
    """
    D = check_int("D", D, min_value=2)
    angle = check_float("angle", angle, min_value=0.0, max_value=np.pi / 2)
    d = np.asarray(d, dtype=float)
    x = np.cos(angle) ** 2
    inner = (d > 0) & (d < D)
    p = np.where(d >= D, 1.0, 0.0)
    p = np.where(inner, stats.beta.sf(x, np.maximum(d, 1e-9) / 2, np.maximum(D - d, 1e-9) / 2), p)
    return float(p) if p.ndim == 0 else p


def orthant_hit_probability(D: int, d):
    """Exact probability that a uniform d-dim subspace meets the orthant R^D_+ outside 0.

    Conic kinematic (Crofton) formula: P = 2 (v_{D-d+1} + v_{D-d+3} + ...), with the
    orthant's intrinsic volumes v_k = C(D, k) / 2^D.
    """
    D = check_int("D", D, min_value=1)
    k = np.arange(D + 1)
    logv = special.gammaln(D + 1) - special.gammaln(k + 1) - special.gammaln(D - k + 1) - D * np.log(2.0)
    v = np.exp(logv)

    def one(dd):
        dd = int(dd)
        if dd <= 0:
            return 0.0
        return float(min(1.0, 2.0 * v[D - dd + 1::2].sum()))

    d_arr = np.asarray(d)
    out = np.array([one(x) for x in d_arr.ravel()]).reshape(d_arr.shape)
    return float(out) if out.ndim == 0 else out


def escape_bound(D: int, d, width: float):
    """Upper bound on the probability that a uniform d-dim subspace meets S (Theorem 3.1).

    Gordon's escape theorem: with k = D - d, if k / sqrt(k + 1) > w(S) then
    P(miss) >= 1 - 3.5 exp(-(k / sqrt(k + 1) - w(S))^2 / 18), i.e.
    P(hit) <= min(1, 3.5 exp(...)). Where the condition fails the bound is vacuous (1).
    """
    D = check_int("D", D, min_value=1)
    width = check_float("width", width, min_value=0.0)
    k = D - np.asarray(d, dtype=float)
    if np.any(k < 0):
        raise ValueError(f"d is not valid; expected values in [0, D={D}]")
    gap = k / np.sqrt(k + 1) - width
    p = np.where(gap > 0, np.minimum(1.0, 3.5 * np.exp(-np.maximum(gap, 0) ** 2 / 18.0)), 1.0)
    return float(p) if p.ndim == 0 else p


def empirical_threshold(d_values, prob, level: float = 0.5) -> float:
    """Smallest d at which an increasing probability curve reaches ``level`` (linear interpolation)."""
    level = check_float("level", level, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    d_values = np.asarray(d_values, dtype=float)
    prob = np.asarray(prob, dtype=float)
    above = np.nonzero(prob >= level)[0]
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(d_values[0])
    x0, x1, p0, p1 = d_values[i - 1], d_values[i], prob[i - 1], prob[i]
    return float(x0 + (level - p0) * (x1 - x0) / (p1 - p0)) if p1 > p0 else float(x1)
