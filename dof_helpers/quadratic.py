"""The quadratic-well experiments of paper Section 3.2 (Figure 5).

The loss is L(w) = 1/2 w^T H w with minimum 0 at w = 0. A uniformly random subspace is
rotation invariant, so we work in H's eigenbasis: H = diag(lambda_i), and the
initialisation w_0 is a uniformly random direction scaled to length R.

* :func:`spectrum` builds the two Hessian spectra (``bimodal``: half the eigenvalues at
  ``lam_hi``, half at ``lam_lo``; ``bulk``: log-uniformly spaced between them).
* :func:`subspace_minimum` minimises L exactly on w_0 + span(A): the small linear solve
  (A^T H A) theta = -A^T H w_0. :func:`nested_min_losses` gets the exact minimum for every
  d = 0..d_max at once from one QR factorisation of H^{1/2} G (the leading d columns of a
  Gaussian G span a uniform d-dimensional subspace; Q's leading columns span the same
  subspaces, so the residuals come from one reverse cumulative sum).
  :func:`fixed_start_min_losses` does the same from one fixed displacement (flat
  directions, lambda_i = 0, allowed).
* :func:`adam_min_losses` runs Adam (b1 0.9, b2 0.999, eps 1e-7 as in the paper's
  Appendix A.4) on theta for comparison, batched with ``jax.vmap``; it records the best loss
  seen, as the paper does.
* :func:`success_from_min_losses`, :func:`threshold_curve` give P_s(d, epsilon, R) and
  d*(epsilon) (Definition 2.1); :func:`eq34_threshold_bound` the paper's analytic bound
  D - sum_i r_i^2 / (R^2 + r_i^2) with r_i = sqrt(2 epsilon / lambda_i) (eq. 3.4);
  :func:`local_angular_threshold` our numerical D - d_local from
  :func:`dof_helpers.angular.local_angular_dimension_quadratic`.
"""
from __future__ import annotations

import numpy as np

from .angular import local_angular_dimension_quadratic
from .validation import check_choice, check_float, check_int

SPECTRA = ("bimodal", "bulk")
ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-7


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, min_value=0))


def spectrum(kind: str, D: int, *, lam_hi: float = 1.0, lam_lo: float = 1e-3) -> np.ndarray:
    """Hessian eigenvalues lambda_i (descending), the paper's two cases.

    ``bimodal``: ceil(D/2) eigenvalues ``lam_hi`` (short, steep directions) and the rest
    ``lam_lo`` (long, shallow directions). ``bulk``: D values log-uniformly spaced from
    ``lam_hi`` down to ``lam_lo`` (a continuous spectrum).
    """
    check_choice("kind", kind, SPECTRA)
    D = check_int("D", D, min_value=2)
    lam_hi = check_float("lam_hi", lam_hi, min_value=0.0, open_min=True)
    lam_lo = check_float("lam_lo", lam_lo, min_value=0.0, max_value=lam_hi, open_min=True)
    if kind == "bimodal":
        n_hi = (D + 1) // 2
        return np.concatenate([np.full(n_hi, lam_hi), np.full(D - n_hi, lam_lo)])
    return np.geomspace(lam_hi, lam_lo, D)


def loss(lams, w) -> np.ndarray:
    """L(w) = 1/2 sum_i lambda_i w_i^2 (row-wise for a batch of w)."""
    return 0.5 * np.sum(np.asarray(lams) * np.asarray(w) ** 2, axis=-1)


def ellipsoid_radii(lams, epsilon: float) -> np.ndarray:
    """Radii r_i = sqrt(2 epsilon / lambda_i) of the sublevel set S(epsilon)."""
    epsilon = check_float("epsilon", epsilon, min_value=0.0)
    return np.sqrt(2.0 * epsilon / np.asarray(lams, dtype=float))


def init_points(D: int, R: float, n: int, seed=0) -> np.ndarray:
    """``n`` initialisations w_0 of length R in uniformly random directions, shape (n, D)."""
    D = check_int("D", D, min_value=2)
    R = check_float("R", R, min_value=0.0, open_min=True)
    n = check_int("n", n, min_value=1)
    W = _rng(seed).standard_normal((n, D))
    return R * W / np.linalg.norm(W, axis=1, keepdims=True)


def subspace_minimum(lams, w0, A) -> tuple[float, np.ndarray]:
    """Exact min over theta of L(w0 + A theta): solve (A^T H A) theta = -A^T H w0.

    Returns (minimum loss, theta*). ``A`` is (D, d) with independent columns.
    """
    lams = np.asarray(lams, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != lams.size or w0.shape != lams.shape:
        raise ValueError(f"A is not valid; expected shape (D, d) with D={lams.size} matching lams and w0, "
                         f"got A {A.shape}, w0 {w0.shape}")
    if A.shape[1] == 0:
        return float(loss(lams, w0)), np.zeros(0)
    HA = A * lams[:, None]
    theta = np.linalg.solve(A.T @ HA, -(HA.T @ w0))
    return float(loss(lams, w0 + A @ theta)), theta


def nested_min_losses(lams, w0, G) -> np.ndarray:
    """Exact minimum of L on w0 + span(G[:, :d]) for every d = 0..G.shape[1]; shape (d_max + 1,).

    With B = H^{1/2} G = Q R and b = H^{1/2} w0, the minimum over span(G[:, :d]) is
    1/2 ||b - Q_d Q_d^T b||^2 = 1/2 (||b||^2 - sum_{j<=d} (q_j . b)^2), evaluated as a
    reverse cumulative sum so that tiny losses near d = D keep their precision.
    """
    lams = np.asarray(lams, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    G = np.asarray(G, dtype=float)
    sq = np.sqrt(lams)
    b = sq * w0
    Q, _ = np.linalg.qr(sq[:, None] * G)
    c2 = (Q.T @ b) ** 2
    rest = max(float(b @ b - c2.sum()), 0.0)  # part of b outside span(B)
    tail = np.concatenate([np.cumsum(c2[::-1])[::-1], [0.0]]) + rest
    return 0.5 * tail


def simulate_min_losses(lams, R: float, n_runs: int, seed=0, d_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact subspace minima for ``n_runs`` random (w_0, subspace) pairs at every d = 0..d_max.

    Each run draws w_0 (length R, random direction) and a Gaussian D x d_max matrix whose
    leading d columns give the d-dimensional subspace. Returns (min_losses (n_runs, d_max+1),
    w0s (n_runs, D)).
    """
    lams = np.asarray(lams, dtype=float)
    D = lams.size
    d_max = D if d_max is None else check_int("d_max", d_max, min_value=1, max_value=D)
    n_runs = check_int("n_runs", n_runs, min_value=1)
    rng = _rng(seed)
    w0s = init_points(D, R, n_runs, rng)
    out = np.empty((n_runs, d_max + 1))
    for i in range(n_runs):
        out[i] = nested_min_losses(lams, w0s[i], rng.standard_normal((D, d_max)))
    return out, w0s


def fixed_start_min_losses(lams, w0, n_runs: int, seed=0, d_max: int | None = None) -> np.ndarray:
    """Exact subspace minima from one fixed displacement ``w0`` for ``n_runs`` random subspaces.

    Like :func:`simulate_min_losses`, but every run starts at the same ``w0`` (any vector in
    the eigenbasis; ``lams`` may contain zeros, flat directions), so only the subspace is
    random, as when one network's w_0 is trained in many random subspaces (Appendix A.1).
    Returns min_losses (n_runs, d_max + 1) of 1/2 sum_i lambda_i w_i^2.
    """
    lams = np.asarray(lams, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    if lams.ndim != 1 or w0.shape != lams.shape or np.any(lams < 0):
        raise ValueError(f"w0 is not valid; expected a vector of the shape of lams {lams.shape} (lams >= 0), "
                         f"got {w0.shape}")
    D = lams.size
    d_max = D if d_max is None else check_int("d_max", d_max, min_value=1, max_value=D)
    n_runs = check_int("n_runs", n_runs, min_value=1)
    rng = _rng(seed)
    return np.stack([nested_min_losses(lams, w0, rng.standard_normal((D, d_max))) for _ in range(n_runs)])


def adam_min_losses(lams, w0s, d_values, *, steps: int = 1000, lr: float = 5e-2, seed=0,
                    b1: float = ADAM_B1, b2: float = ADAM_B2, eps: float = ADAM_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Best loss reached by Adam on L(w0 + A theta), theta_0 = 0, for each run and each d.

    A is a Gaussian (D, d) matrix with columns normalised to 1 (the paper's random
    subspace). Adam works on the reduced quadratic L0 + b^T theta + 1/2 theta^T M theta
    with M = A^T H A, b = A^T H w0 (exactly L(w0 + A theta)), vectorised over runs with
    ``jax.vmap`` and stepped with ``jax.lax.scan``. Returns ``(adam, exact)``, both of shape
    (n_runs, len(d_values)): Adam's best loss and the exact minimum on the *same* subspaces
    (L0 - 1/2 b^T M^{-1} b, the small linear solve), so the two can be compared run by run.
    """
    import jax
    import jax.numpy as jnp

    lams = np.asarray(lams, dtype=float)
    w0s = np.atleast_2d(np.asarray(w0s, dtype=float))
    D = lams.size
    steps = check_int("steps", steps, min_value=1)
    lr = check_float("lr", lr, min_value=0.0, open_min=True)
    d_values = [check_int("d", int(d), min_value=1, max_value=D) for d in d_values]
    rng = _rng(seed)
    L0 = loss(lams, w0s)

    def run_one(M, b, l0):
        def step(carry, t):
            theta, m, v, best = carry
            g = b + M @ theta
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1 ** t)
            vhat = v / (1 - b2 ** t)
            theta = theta - lr * mhat / (jnp.sqrt(vhat) + eps)
            val = l0 + b @ theta + 0.5 * theta @ (M @ theta)
            return (theta, m, v, jnp.minimum(best, val)), None

        z = jnp.zeros_like(b)
        (_, _, _, best), _ = jax.lax.scan(step, (z, z, z, l0), jnp.arange(1, steps + 1, dtype=b.dtype))
        return best

    batched = jax.jit(jax.vmap(run_one))
    out = np.empty((w0s.shape[0], len(d_values)))
    exact = np.empty_like(out)
    for j, d in enumerate(d_values):
        A = rng.standard_normal((w0s.shape[0], D, d))
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        HA = A * lams[None, :, None]
        M = np.einsum("nDi,nDj->nij", A, HA)
        b = np.einsum("nDi,nD->ni", HA, w0s)
        out[:, j] = np.asarray(batched(jnp.asarray(M, jnp.float32), jnp.asarray(b, jnp.float32),
                                       jnp.asarray(L0, jnp.float32)))
        theta = np.linalg.solve(M, -b[..., None])[..., 0]
        exact[:, j] = np.maximum(L0 + 0.5 * np.einsum("ni,ni->n", b, theta), 0.0)
    return out, exact


def success_from_min_losses(min_losses: np.ndarray, epsilons) -> np.ndarray:
    """P_s(d, epsilon): fraction of runs whose minimum loss is <= epsilon; shape (n_eps, n_d)."""
    min_losses = np.asarray(min_losses, dtype=float)
    eps = np.asarray(epsilons, dtype=float)
    return (min_losses[None, :, :] <= eps[:, None, None]).mean(axis=1)


def threshold_curve(prob: np.ndarray, d_values, delta: float = 0.1) -> np.ndarray:
    """d*(epsilon): smallest d with P_s >= 1 - delta for each row of ``prob`` (NaN if never)."""
    delta = check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    prob = np.asarray(prob, dtype=float)
    d_values = np.asarray(d_values, dtype=float)
    ok = prob >= 1.0 - delta - 1e-12
    first = np.argmax(ok, axis=1)
    return np.where(ok.any(axis=1), d_values[first], np.nan)


def eq34_local_dimension(lams, R: float, epsilon) -> np.ndarray:
    """The paper's lower estimate of d_local: sum_i r_i^2 / (R^2 + r_i^2), r_i^2 = 2 epsilon / lambda_i.

    Written as sum_i 2 epsilon / (R^2 lambda_i + 2 epsilon), so a zero eigenvalue (a flat
    direction, r_i infinite) contributes 1 for every epsilon >= 0.
    """
    R = check_float("R", R, min_value=0.0, open_min=True)
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or not np.all(np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError("lams is not valid; expected a 1-d array of finite eigenvalues >= 0 (0 = flat direction)")
    eps = np.atleast_1d(np.asarray(epsilon, dtype=float))
    if np.any(eps < 0):
        raise ValueError("epsilon is not valid; expected values >= 0")
    two_eps = 2.0 * eps[:, None]
    flat = lams[None, :] == 0
    out = np.sum(np.where(flat, 1.0, two_eps / np.where(flat, 1.0, R ** 2 * lams[None, :] + two_eps)), axis=1)
    return out if np.ndim(epsilon) else float(out[0])


def eq34_threshold_bound(lams, R: float, epsilon) -> np.ndarray:
    """The paper's analytic bound on the threshold dimension (eq. 3.4): D - sum_i r_i^2 / (R^2 + r_i^2)."""
    return np.asarray(lams).size - eq34_local_dimension(lams, R, epsilon)


def local_angular_threshold(lams, w0s, epsilons, n_samples: int = 400, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Predicted centre of the transition, D - d_local(epsilon), from the initialisations ``w0s``.

    d_local is the statistical dimension of the cone of directions from w0 into S(epsilon)
    (:func:`dof_helpers.angular.local_angular_dimension_quadratic`), computed for each row
    of ``w0s``; the prediction is the median over rows of D - d_local, which estimates the
    d where half of the runs hit (L(w0) varies from run to run, and near epsilon ~ L(w0)
    d_local is very sensitive to it). Returns (median, largest Monte-Carlo standard error),
    each of shape (len(epsilons),). Where L(w0) <= epsilon, d_local = D.
    """
    per_init, ses = local_angular_dimensions(lams, w0s, epsilons, n_samples, seed)
    D = np.asarray(lams).size
    return np.median(D - per_init, axis=0), ses.max(axis=0)


def local_angular_dimensions(lams, w0s, epsilons, n_samples: int = 400, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """d_local(epsilon) about each initialisation: (means, standard errors), shape (n_inits, n_eps)."""
    lams = np.asarray(lams, dtype=float)
    w0s = np.atleast_2d(np.asarray(w0s, dtype=float))
    eps = np.asarray(epsilons, dtype=float)
    rng = _rng(seed)
    means = np.empty((w0s.shape[0], eps.size))
    ses = np.empty_like(means)
    for i, w0 in enumerate(w0s):
        for j, e in enumerate(eps):
            est = local_angular_dimension_quadratic(lams, w0, float(e), n_samples, rng)
            means[i, j], ses[i, j] = est.mean, est.stderr
    return means, ses
