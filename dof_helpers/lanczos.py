"""Lanczos iteration and stochastic Lanczos quadrature (SLQ) for large symmetric operators.

The operator is any function ``matvec(v) -> A v`` on vectors of length D (e.g.
:func:`dof_helpers.curvature.hessian_operator`); the iteration runs on the host in
float64 and keeps every Lanczos vector (m x D), re-orthogonalising each new vector
against all previous ones twice (classical Gram-Schmidt, "twice is enough"), so the
tridiagonal matrix T_m = V^T A V stays exact to working precision and no spurious
copies of converged eigenvalues appear.

- :func:`lanczos` -- T_m (alphas, betas) and V for one start vector;
- :func:`ritz_pairs`, :func:`top_eigenpairs` -- Ritz values theta_j (eigenvalues of T_m)
  and vectors V^T s_j: the extreme eigenvalues converge first;
- :func:`slq` / :func:`spectral_density` -- the spectral density
  phi(x) = (1/D) sum_i delta(x - lambda_i) estimated as in google/spectral-density
  (Ghorbani, Krishnan & Xiao 2019): for random unit probes v, the Gauss quadrature nodes
  theta_j (Ritz values) with weights tau_j = s_j[0]^2 (squared first components of T's
  eigenvectors) satisfy sum_j tau_j g(theta_j) ~ v^T g(A) v, whose mean over v is
  tr g(A) / D; each node is broadened to a Gaussian of width ``sigma`` and the probes
  are averaged. The weights of one probe sum to 1, so the density integrates to 1, and
  its mean sum_j tau_j theta_j = v^T A v estimates tr(A) / D (:func:`slq_mean`).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import numpy as np

from .validation import check_float, check_int


class LanczosResult(NamedTuple):
    """``alpha`` (m,), ``beta`` (m - 1,) of T_m, and the Lanczos vectors ``V`` (m, D) (rows)."""
    alpha: np.ndarray
    beta: np.ndarray
    V: np.ndarray


def _unit_probe(key, D: int) -> np.ndarray:
    v = np.asarray(jax.random.normal(key, (D,)), np.float64)
    return v / np.linalg.norm(v)


def lanczos(matvec: Callable, D: int, order: int, *, key=None, v0=None, tol: float = 1e-10) -> LanczosResult:
    """``order`` Lanczos steps with full reorthogonalisation from v0 (or a Gaussian from ``key``).

    Three-term recurrence beta_j v_{j+1} = A v_j - alpha_j v_j - beta_{j-1} v_{j-1},
    alpha_j = v_j^T A v_j, followed by two passes of v_{j+1} -= V^T (V v_{j+1}). Stops
    early (returning fewer steps) when beta_j < ``tol`` * max |T| (an invariant subspace).
    """
    D = check_int("D", D, min_value=1)
    order = check_int("order", order, min_value=1, max_value=D)
    tol = check_float("tol", tol, min_value=0.0)
    if v0 is None:
        if key is None:
            raise ValueError("key is required when v0 is not given (a jax.random key for the start vector)")
        v = _unit_probe(key, D)
    else:
        v = np.asarray(v0, np.float64).reshape(-1)
        if v.size != D or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
            raise ValueError(f"v0 is not valid; expected a finite nonzero vector of length D={D}")
        v = v / np.linalg.norm(v)
    V = np.zeros((order, D))
    alpha, beta = np.zeros(order), np.zeros(max(order - 1, 0))
    V[0] = v
    for j in range(order):
        w = np.asarray(matvec(V[j]), np.float64).reshape(D)
        alpha[j] = V[j] @ w
        for _ in range(2):  # full reorthogonalisation, twice
            w -= V[: j + 1].T @ (V[: j + 1] @ w)
        if j == order - 1:
            break
        beta[j] = np.linalg.norm(w)
        if beta[j] <= tol * max(np.abs(alpha[: j + 1]).max(), beta[: j + 1].max(), 1e-300):
            return LanczosResult(alpha[: j + 1], beta[:j], V[: j + 1])
        V[j + 1] = w / beta[j]
    return LanczosResult(alpha, beta, V)


def tridiagonal(res: LanczosResult) -> np.ndarray:
    """T_m as a dense (m, m) matrix."""
    return np.diag(res.alpha) + np.diag(res.beta, 1) + np.diag(res.beta, -1)


def ritz_pairs(res: LanczosResult, vectors: bool = False):
    """Ritz values (descending) and, if ``vectors``, Ritz vectors V^T s_j as columns (D, m)."""
    theta, S = np.linalg.eigh(tridiagonal(res))
    theta, S = theta[::-1], S[:, ::-1]
    return (theta, res.V.T @ S) if vectors else theta


def top_eigenpairs(matvec: Callable, D: int, k: int, *, key, order: int | None = None, vectors: bool = False):
    """The ``k`` largest eigenvalues (and vectors) of A from ``order`` Lanczos steps (default 4k + 20)."""
    k = check_int("k", k, min_value=1, max_value=D)
    order = min(D, 4 * k + 20) if order is None else check_int("order", order, min_value=k, max_value=D)
    res = lanczos(matvec, D, order, key=key)
    if vectors:
        theta, U = ritz_pairs(res, vectors=True)
        return theta[:k], U[:, :k]
    return ritz_pairs(res)[:k]


def slq(matvec: Callable, D: int, *, order: int, n_probes: int, key):
    """Gauss quadrature nodes and weights of ``n_probes`` random unit probes, each (n_probes, order).

    Probe p gives the Ritz values theta_j of its T_m and weights tau_j = s_j[0]^2; a run
    that stops early is padded with weight-0 nodes.
    """
    n_probes = check_int("n_probes", n_probes, min_value=1)
    order = check_int("order", order, min_value=1, max_value=D)
    nodes, weights = np.zeros((n_probes, order)), np.zeros((n_probes, order))
    for p, k in enumerate(jax.random.split(key, n_probes)):
        res = lanczos(matvec, D, order, key=k)
        theta, S = np.linalg.eigh(tridiagonal(res))
        m = theta.size
        nodes[p, :m], weights[p, :m] = theta, S[0] ** 2
        nodes[p, m:] = theta[-1]
    return nodes, weights


def spectral_density(nodes, weights, grid, sigma: float) -> np.ndarray:
    """phi(x) = mean over probes of sum_j tau_j N(x; theta_j, sigma^2) on ``grid`` (SLQ)."""
    nodes, weights = np.atleast_2d(nodes), np.atleast_2d(weights)
    if nodes.shape != weights.shape:
        raise ValueError(f"weights is not valid; expected the shape of nodes {nodes.shape}, got {weights.shape}")
    sigma = check_float("sigma", sigma, min_value=0.0, open_min=True)
    grid = np.asarray(grid, np.float64)
    z = (grid[:, None, None] - nodes[None]) / sigma
    kern = np.exp(-0.5 * z ** 2) / (sigma * np.sqrt(2 * np.pi))
    return np.einsum("gpj,pj->g", kern, weights) / nodes.shape[0]


def slq_mean(nodes, weights) -> float:
    """Mean of the SLQ density, sum_j tau_j theta_j averaged over probes: an estimate of tr(A) / D."""
    return float(np.mean(np.sum(np.atleast_2d(nodes) * np.atleast_2d(weights), axis=-1)))


def density_grid(nodes, sigma: float, n: int = 2000) -> np.ndarray:
    """A grid from min(nodes) - 5 sigma to max(nodes) + 5 sigma with ``n`` points."""
    sigma = check_float("sigma", sigma, min_value=0.0, open_min=True)
    n = check_int("n", n, min_value=2)
    return np.linspace(np.min(nodes) - 5 * sigma, np.max(nodes) + 5 * sigma, n)
