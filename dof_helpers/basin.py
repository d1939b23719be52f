"""Threshold training dimensions predicted from a real curvature spectrum (beyond the paper).

Around a minimum, the loss is modelled as a quadratic in the eigenbasis of a positive
semi-definite curvature matrix (the Gauss-Newton matrix of :mod:`dof_helpers.curvature`,
exactly the Hessian of the linearised model of Appendix A.1):

    L(w) = L* + 1/2 sum_i lambda_i z_i^2,      z = V^T (w - w*),

with ``z0`` the displacement of the initialisation w_0 from the minimum w*. Its sublevel
set S(epsilon) = {L <= epsilon} is the ellipsoid of Section 3.2 with radii
r_i = sqrt(2 (epsilon - L*) / lambda_i); zero eigenvalues (flat directions: a Gauss-Newton
matrix of N examples and C classes has rank at most N (C - 1), often below D) make it a
cylinder, infinitely long along them.

- :func:`eq34_threshold` -- the paper's eq. 3.4, D - sum_i r_i^2 / (R^2 + r_i^2), with R
  the distance from w_0 to the set of minima (the flat components of z0 do not count);
  flat directions contribute 1 each (``quadratic.eq34_local_dimension``).
- :func:`angular_threshold` -- D - d_local with d_local the statistical dimension of the
  cone K of directions from w_0 into S(epsilon) (Definition 3.2; the cone of
  :func:`dof_helpers.angular.sublevel_cone`, O(D^2) for D ~ 20,000), estimated through the
  polar cone where that is the quieter one: d_local = D - E||Pi_polar(g)||^2, whose
  Monte-Carlo noise scales with D - d_local (the threshold) instead of d_local (about D).
  The spread of the
  transition comes from the same samples: the intrinsic-volume variable V_K of the conic
  kinematic formula has Var V_K = Var ||Pi_K(g)||^2 - 2 delta(K) (McCoy & Tropp 2014),
  equal to Var ||Pi_polar(g)||^2 - 2 delta(polar),
  and a uniformly random d-dimensional subspace meets K (Crofton formula) with
  probability ~ P(V_K >= D - d + 1/2). With V_K ~ N(delta, sigma^2) the 50% point is
  D - delta + 1/2 and the threshold of Definition 2.1 at 1 - delta_P is
  D - delta + 1/2 + z_{1 - delta_P} sigma.
- :func:`quadratic_from_gradient` -- (z0, L*) of an exactly quadratic loss (the
  squared-error loss of the linearised model) from its value and gradient at w_0.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from .angular import cone_projection_samples, sublevel_cone
from .quadratic import eq34_local_dimension
from .validation import check_float, check_int


class BasinPrediction(NamedTuple):
    """Per loss level ``epsilon``: eq. 3.4, our centre and 1 - delta threshold, and their ingredients.

    ``d_local`` (statistical dimension of the cone), ``d_local_se`` (its Monte-Carlo
    standard error) and ``sigma`` (standard deviation of the intrinsic-volume variable);
    ``centre`` = D - d_local + 1/2 and ``d_star`` = centre + z_{1-delta} sigma, clipped to
    [0, D] (0 where w_0 is already in S). NaN where epsilon <= L* (S empty or of measure 0).
    """
    epsilon: np.ndarray
    eq34: np.ndarray
    centre: np.ndarray
    d_star: np.ndarray
    d_local: np.ndarray
    d_local_se: np.ndarray
    sigma: np.ndarray
    n_flat: int


def clean_spectrum(lams, flat_tol: float = 0.0) -> np.ndarray:
    """Eigenvalues with |lambda_i| <= ``flat_tol`` set to exactly 0 (flat); negatives below it rejected.

    A float32 ``eigh`` of a rank-deficient matrix returns its zeros as +-1e-7 lambda_max
    or so; pass that scale as ``flat_tol``. A true Hessian with negative curvature has no
    quadratic minimum: use the Gauss-Newton spectrum instead.
    """
    lams = np.asarray(lams, dtype=float)
    flat_tol = check_float("flat_tol", flat_tol, min_value=0.0)
    if lams.ndim != 1 or lams.size < 2 or not np.all(np.isfinite(lams)):
        raise ValueError(f"lams is not valid; expected a 1-d array of >= 2 finite eigenvalues, got shape {lams.shape}")
    if np.any(lams < -flat_tol):
        raise ValueError(f"lams is not valid; expected eigenvalues >= -flat_tol={flat_tol:g} (min is {lams.min():g}); "
                         "a quadratic basin needs a positive semi-definite curvature matrix")
    return np.where(lams <= flat_tol, 0.0, lams)


def _displacement(lams, z0) -> np.ndarray:
    z0 = np.asarray(z0, dtype=float)
    if z0.shape != lams.shape or not np.all(np.isfinite(z0)):
        raise ValueError(f"z0 is not valid; expected a finite displacement of shape {lams.shape} "
                         f"(w_0 - w* in the eigenbasis), got {z0.shape}")
    return np.where(lams > 0, z0, 0.0)  # flat components change nothing


def _levels(epsilon, L_star: float) -> tuple[np.ndarray, float]:
    L_star = check_float("L_star", L_star)
    eps = np.atleast_1d(np.asarray(epsilon, dtype=float))
    if eps.ndim != 1 or not np.all(np.isfinite(eps)):
        raise ValueError("epsilon is not valid; expected a finite loss level or 1-d array of them")
    return eps, L_star


def eq34_threshold(lams, z0, L_star: float, epsilon, *, flat_tol: float = 0.0) -> np.ndarray:
    """The paper's eq. 3.4 at each level: D - sum_i r_i^2 / (R^2 + r_i^2), r_i^2 = 2 (epsilon - L*) / lambda_i.

    R = ||z0|| over the non-flat directions (the distance to the nearest minimum); flat
    directions count 1 each. NaN where epsilon <= L*.
    """
    lams = clean_spectrum(lams, flat_tol)
    z0 = _displacement(lams, z0)
    eps, L_star = _levels(epsilon, L_star)
    R = float(np.linalg.norm(z0))
    if R == 0:
        return np.where(eps > L_star, 0.0, np.nan)
    d_loc = eq34_local_dimension(lams, R, np.maximum(eps - L_star, 0.0))
    return np.where(eps > L_star, lams.size - d_loc, np.nan)


def angular_threshold(lams, z0, L_star: float, epsilon, *, delta: float = 0.1, n_samples: int = 2000,
                      seed=0, flat_tol: float = 0.0) -> BasinPrediction:
    """D - d_local and the 1 - ``delta`` threshold d* of Definition 2.1 from the spectrum (module docstring).

    For each level epsilon > L*, the cone of directions from z0 into
    {L* + 1/2 sum lambda_i z_i^2 <= epsilon} is built from its axes alone
    (``sublevel_cone(..., axes_only=True)``) and ``n_samples`` Gaussian vectors give
    d_local = E||Pi_K(g)||^2 and sigma^2 = Var ||Pi_K(g)||^2 - 2 d_local (clipped at 0).
    ``seed``: an integer or ``numpy.random.Generator``.
    """
    lams = clean_spectrum(lams, flat_tol)
    z0 = _displacement(lams, z0)
    eps, L_star = _levels(epsilon, L_star)
    delta = check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    n_samples = check_int("n_samples", n_samples, min_value=10)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_int("seed", seed, min_value=0))
    D = lams.size
    out = np.full((4, eps.size), np.nan)  # d_local, se, sigma, full
    for j, e in enumerate(eps):
        if e <= L_star:
            continue
        cone = sublevel_cone(lams, z0, float(e - L_star), axes_only=True)
        sq, k, norms = cone_projection_samples(cone, n_samples, rng, with_norms=True)
        # polar-cone estimator: d_local = m - E||Pi_polar g'||^2 + k with m = dim g' (E||g'||^2 = m
        # exactly), and Var V = Var||Pi_polar g'||^2 - 2 E||Pi_polar g'||^2 (V_K and V_polar = D - V_K
        # share a variance): its noise scales with the polar cone's dimension, D - d_local, not with
        # d_local itself (at D ~ 20,000 the direct estimator cannot resolve sigma at all)
        polar = np.maximum(norms - sq, 0.0)
        m = 0 if cone.full else int(np.sum(cone.lam > 0)) + 1
        # both estimators are unbiased; take the one with the smaller sample error (the direct
        # one when the cone is thin, the polar one when it is nearly everything)
        use = polar if polar.std(ddof=1) < sq.std(ddof=1) else sq
        var_v = max(float(np.var(use, ddof=1)) - 2.0 * float(use.mean()), 0.0)
        mean = m - polar.mean() if use is polar else sq.mean()
        out[:, j] = mean + k, use.std(ddof=1) / np.sqrt(use.size), np.sqrt(var_v), float(cone.full)
    d_local, se, sigma, full = out
    centre = np.where(full == 1, 0.0, np.clip(D - d_local + 0.5, 0.0, D))
    d_star = np.where(full == 1, 0.0, np.clip(D - d_local + 0.5 + stats.norm.ppf(1 - delta) * sigma, 0.0, D))
    return BasinPrediction(eps, eq34_threshold(lams, z0, L_star, eps), centre, d_star, d_local, se, sigma,
                           int(np.sum(lams == 0)))


def quadratic_from_gradient(lams, grad, loss0: float, *, flat_tol: float = 0.0) -> tuple[np.ndarray, float]:
    """(z0, L*) of L(w_0 + u) = L0 + g^T u + 1/2 u^T H u from g and H's eigenvalues (eigenbasis).

    Minimising over u along each direction with lambda_i > 0: z0_i = (w_0 - w*)_i = g_i / lambda_i
    and L* = L0 - 1/2 sum_i g_i^2 / lambda_i. Along flat directions the gradient is dropped
    (z0_i = 0): for a least-squares loss (the squared error of the linearised model) g lies
    in the range of H = J^T J / N exactly, so only rounding is dropped. ``grad`` = V^T grad L(w_0).
    """
    lams = clean_spectrum(lams, flat_tol)
    g = np.asarray(grad, dtype=float)
    if g.shape != lams.shape or not np.all(np.isfinite(g)):
        raise ValueError(f"grad is not valid; expected a finite gradient of shape {lams.shape} in the eigenbasis")
    loss0 = check_float("loss0", loss0)
    pos = lams > 0
    z0 = np.where(pos, g / np.where(pos, lams, 1.0), 0.0)
    return z0, loss0 - 0.5 * float(np.sum(g[pos] * z0[pos]))
