"""High-dimensional geometry behind the threshold training dimension (paper Section 3).

Everything here is plain NumPy/SciPy with explicit ``numpy.random.Generator`` seeds, and
vectorised over Monte-Carlo samples so that a chapter's estimates take seconds.

Contents
--------
Gaussian width (Definition 3.1)
    :func:`gaussian_width` estimates w(S) = E sup_{x in S} <g, x> with a standard error from
    a *support function* h_S(g) = sup_{x in S} <g, x> evaluated on a batch of Gaussian
    vectors; ``form="half_mean_width"`` uses the equivalent 1/2 E sup_{x,y in S} <g, x - y>
    = 1/2 E[h_S(g) + h_S(-g)]. :func:`gaussian_width_from_maximiser` does the same from a
    function returning the maximising point x*(g). ``support_*`` build support functions of
    balls, ellipsoids, finite point sets, spherical caps and cones intersected with the
    sphere.
Closed forms
    :func:`expected_gaussian_norm` (E||g_k|| with the exact gamma-function constant),
    :func:`ellipsoid_width_bounds` (Lemma B.1, with the constants derived correctly).
Cones, random subspaces and Gordon's escape theorem (Theorem 3.1, Appendix B.3)
    are in :mod:`dof_helpers.escape`.
Local angular dimension (Definition 3.2)
    :func:`sublevel_cone` describes the cone of directions from w_0 that reach the
    quadratic sublevel set S(epsilon) = {w : 1/2 w^T H w <= epsilon};
    :func:`project_onto_ellipsoidal_cone` projects onto it exactly (a monotone 1-D root
    find) and :func:`local_angular_dimension_quadratic` estimates d_local as the
    statistical dimension E||Pi_K(g)||^2 of that cone, which brackets the squared Gaussian
    width of the projected set: w^2 <= delta(K) <= w^2 + 1 (Amelunxen et al. 2014, Prop. 10.2).
    Zero eigenvalues (flat directions) make S a cylinder and K = K' x R^k; with
    ``axes_only=True`` the cone's semi-axis ratios come from the eigenvalues of a
    diagonal-plus-rank-one matrix (:func:`rank_one_update_eigenvalues`, O(D^2)), enough for
    D in the tens of thousands (a real Gauss-Newton spectrum), and
    :func:`cone_projection_samples` gives the raw samples of ||Pi_K(g)||^2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special
from scipy.linalg import lapack

from .validation import check_choice, check_float, check_int

SupportFn = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------- helpers
def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, min_value=0))


def _vector(name: str, value, *, positive: bool = False, ndim: int = 1) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != ndim or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} is not valid; expected a non-empty finite {ndim}-d array, got shape {arr.shape}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} is not valid; expected strictly positive entries (min is {arr.min():g})")
    return arr


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate: ``mean`` with its standard error ``stderr`` from ``n`` samples."""

    mean: float
    stderr: float
    n: int

    def within(self, value: float, n_sigma: float = 4.0, slack: float = 0.0) -> bool:
        """True if ``value`` lies within ``n_sigma`` standard errors (plus ``slack``) of the mean."""
        return abs(self.mean - value) <= n_sigma * self.stderr + slack

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{self.mean:{spec}} ± {self.stderr:{spec}}"


def _estimate(samples: np.ndarray) -> Estimate:
    samples = np.asarray(samples, dtype=float)
    n = samples.size
    se = float(samples.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return Estimate(float(samples.mean()), se, int(n))


# ----------------------------------------------------------------------------- Gaussian width
def gaussian_width(support: SupportFn, D: int, n_samples: int = 2000, seed=0, *,
                   form: str = "sup", batch: int = 4096) -> Estimate:
    """Monte-Carlo Gaussian width w(S) (Definition 3.1) with its standard error.

    ``support(G)`` maps a batch ``G`` of shape (n, D) of standard Gaussian vectors to the
    support function values sup_{x in S} <g, x>, shape (n,). ``form="sup"`` averages
    h_S(g); ``form="half_mean_width"`` averages 1/2 (h_S(g) + h_S(-g)), half the width of
    S - S in direction g, which has the same expectation (the Gaussian is symmetric).
    """
    D = check_int("D", D, min_value=1)
    n_samples = check_int("n_samples", n_samples, min_value=2)
    check_choice("form", form, ("sup", "half_mean_width"))
    batch = check_int("batch", batch, min_value=1)
    rng = _rng(seed)
    out = []
    for start in range(0, n_samples, batch):
        G = rng.standard_normal((min(batch, n_samples - start), D))
        h = np.asarray(support(G), dtype=float)
        if form == "half_mean_width":
            h = 0.5 * (h + np.asarray(support(-G), dtype=float))
        out.append(h)
    return _estimate(np.concatenate(out))


def gaussian_width_from_maximiser(maximiser: Callable[[np.ndarray], np.ndarray], D: int,
                                  n_samples: int = 2000, seed=0, *, batch: int = 4096) -> Estimate:
    """Gaussian width from a function returning the maximising point x*(g) in S, shape (n, D)."""
    return gaussian_width(lambda G: np.einsum("nd,nd->n", G, maximiser(G)), D, n_samples, seed, batch=batch)


def support_ball(radius: float, basis: np.ndarray | None = None) -> SupportFn:
    """Support function of a centred ball of ``radius`` in span(``basis``) (all of R^D if None).

    ``basis`` is a (D, k) matrix with orthonormal columns; h(g) = radius * ||basis^T g||.
    """
    radius = check_float("radius", radius, min_value=0.0)
    if basis is None:
        return lambda G: radius * np.linalg.norm(G, axis=-1)
    basis = np.asarray(basis, dtype=float)
    return lambda G: radius * np.linalg.norm(G @ basis, axis=-1)


def support_ellipsoid(radii, axes: np.ndarray | None = None) -> SupportFn:
    """Support function of {x : sum_i (u_i . x)^2 / r_i^2 <= 1}: h(g) = sqrt(sum_i r_i^2 (u_i . g)^2).

    ``axes`` (D, D) holds the principal axes u_i as columns (identity if None).
    """
    r = _vector("radii", radii, positive=True)
    if axes is None:
        return lambda G: np.sqrt((G ** 2) @ (r ** 2))
    axes = np.asarray(axes, dtype=float)
    return lambda G: np.sqrt(((G @ axes) ** 2) @ (r ** 2))


def maximiser_ellipsoid(radii) -> Callable[[np.ndarray], np.ndarray]:
    """Maximiser of <g, x> over the axis-aligned ellipsoid: x* = r^2 g / sqrt(sum r_i^2 g_i^2)."""
    r2 = _vector("radii", radii, positive=True) ** 2
    return lambda G: (G * r2) / np.sqrt((G ** 2) @ r2)[:, None]


def support_points(X: np.ndarray) -> SupportFn:
    """Support function of a finite set of points, the rows of ``X`` (m, D): max_j <g, x_j>."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X is not valid; expected an (m, D) array, got shape {X.shape}")
    return lambda G: (G @ X.T).max(axis=-1)


def support_cap(axis, angle: float) -> SupportFn:
    """Support function of the spherical cap {u : ||u|| = 1, angle(u, axis) <= angle}.

    With phi the angle between g and the axis, h(g) = ||g|| cos(max(phi - angle, 0)) when
    phi - angle <= pi, which always holds for angle >= 0.
    """
    c = _vector("axis", axis)
    c = c / np.linalg.norm(c)
    angle = check_float("angle", angle, min_value=0.0, max_value=np.pi)

    def h(G):
        norm = np.linalg.norm(G, axis=-1)
        phi = np.arccos(np.clip(G @ c / np.maximum(norm, 1e-300), -1.0, 1.0))
        return norm * np.cos(np.maximum(phi - angle, 0.0))

    return h


def support_orthant_sphere(G: np.ndarray) -> np.ndarray:
    """Support function of the nonnegative orthant intersected with the unit sphere.

    h(g) = ||g_+|| if some g_i > 0 (the normalised positive part is the maximiser), else
    max_i g_i (the best single coordinate vector).
    """
    pos = np.linalg.norm(np.maximum(G, 0.0), axis=-1)
    return np.where(pos > 0, pos, G.max(axis=-1))


def support_union(*supports: SupportFn) -> SupportFn:
    """Support function of a union of sets: the maximum of their support functions."""
    if not supports:
        raise ValueError("supports is not valid; expected at least one support function")
    return lambda G: np.max(np.stack([s(G) for s in supports]), axis=0)


def expected_gaussian_norm(k) -> np.ndarray | float:
    """E||g|| for g ~ N(0, I_k): sqrt(2) Gamma((k+1)/2) / Gamma(k/2) (exact; ~ sqrt(k - 1/2))."""
    k_arr = np.asarray(k, dtype=float)
    if np.any(k_arr < 1) or np.any(k_arr != np.round(k_arr)):
        raise ValueError(f"k={k!r} is not valid; expected integer dimension(s) >= 1")
    val = np.sqrt(2.0) * np.exp(special.gammaln((k_arr + 1) / 2) - special.gammaln(k_arr / 2))
    return float(val) if np.ndim(val) == 0 else val


def ball_width(radius: float, k: int) -> float:
    """Exact Gaussian width of a radius-``radius`` ball inside a k-dimensional subspace."""
    radius = check_float("radius", radius, min_value=0.0)
    return radius * expected_gaussian_norm(check_int("k", k, min_value=1))


def ellipsoid_width_bounds(radii) -> tuple[float, float]:
    """Bounds of Lemma B.1 on the Gaussian width (not squared) of an ellipsoid with ``radii``.

    sqrt(2/pi) * sqrt(sum r_i^2) <= w(E) <= sqrt(sum r_i^2). The lower constant is
    E|g_1| = sqrt(2/pi); squaring gives (2/pi) sum r_i^2 <= w(E)^2 <= sum r_i^2.
    """
    s = float(np.sqrt(np.sum(_vector("radii", radii, positive=True) ** 2)))
    return float(np.sqrt(2.0 / np.pi)) * s, s


# ----------------------------------------------------------------------------- local angular dimension
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


def cone_projection_samples(cone: EllipsoidalCone, n_samples: int, seed=0, *, batch: int = 1000):
    """Samples of ||Pi_K'(g)||^2 in the cone's own coordinates, and the number k of flat axes.

    K = K' x R^k with K' the cone of the nonzero ratios, so ||Pi_K(g)||^2 = ||Pi_K'(g')||^2 +
    chi^2_k and delta(K) = E||Pi_K'(g')||^2 + k; sampling g' only (a Gaussian in K''s
    coordinates, rotation invariance) removes the chi^2_k noise. Returns (samples, k).
    """
    n_samples = check_int("n_samples", n_samples, min_value=2)
    batch = check_int("batch", batch, min_value=1)
    rng = _rng(seed)
    if cone.full:
        return np.zeros(n_samples), cone.lam.size + 1
    live = cone.lam > 0
    reduced = EllipsoidalCone(None, cone.lam[live])
    vals = [project_onto_ellipsoidal_cone(rng.standard_normal((min(batch, n_samples - s), 1 + live.sum())), reduced)
            for s in range(0, n_samples, batch)]
    return np.concatenate(vals), int((~live).sum())
