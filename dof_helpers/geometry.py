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
    is in :mod:`dof_helpers.angular`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

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
