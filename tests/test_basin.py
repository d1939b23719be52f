"""Threshold predictions from a spectrum with flat directions, against exact subspace minima."""
import numpy as np
import pytest

from dof_helpers import basin
from dof_helpers import angular
from dof_helpers import geometry as geo
from dof_helpers import quadratic as quad


def _well(D=120, n_flat=30, kind="bulk", R=3.0, seed=0):
    lams = quad.spectrum(kind, D, lam_hi=1.0, lam_lo=1e-3)
    lams[D - n_flat:] = 0.0
    z0 = np.random.default_rng(seed).standard_normal(D)
    return lams, z0 * R / np.linalg.norm(z0)


@pytest.mark.parametrize("kind", quad.SPECTRA)
def test_prediction_matches_exact_subspace_minima(kind):
    lams, z0 = _well(D=80, n_flat=20, kind=kind)
    D, L_star, delta = lams.size, 0.2, 0.1
    min_losses = L_star + quad.fixed_start_min_losses(lams, z0, 200, seed=1)
    L0 = min_losses[0, 0]
    eps = L_star + np.array([0.02, 0.2, 0.5]) * (L0 - L_star)
    P = quad.success_from_min_losses(min_losses, eps)
    d_all = np.arange(D + 1)
    sim_star, sim_half = quad.threshold_curve(P, d_all, delta), quad.threshold_curve(P, d_all, 0.5)
    pred = basin.angular_threshold(lams, z0, L_star, eps, delta=delta, n_samples=3000, seed=2)
    # chapter 04's band is sqrt(D) for the 50% point and 2 sqrt(D) for d*; with the spread
    # term the prediction lands within a few dimensions
    sq = np.sqrt(D)
    assert np.all(np.abs(pred.centre - sim_half) <= 0.3 * sq), (pred.centre, sim_half)
    assert np.all(np.abs(pred.d_star - sim_star) <= 0.4 * sq), (pred.d_star, sim_star)
    assert np.all(pred.eq34 <= D) and pred.n_flat == 20


def test_cylinder_limit_and_trivial_levels():
    lams, z0 = _well()
    L_star = 0.1
    pred = basin.angular_threshold(lams, z0, L_star, [L_star - 0.01, L_star + 1e-9, 1e6], n_samples=500)
    assert np.isnan(pred.d_star[0]) and np.isnan(pred.eq34[0])  # below the minimum: never
    # just above L*: the cone is a half-line times the flat directions, delta = n_flat + 1/2,
    # so the 50% point is D - n_flat: an affine subspace meets the set of minima at d >= D - n_flat
    assert pred.d_local[1] == pytest.approx(30.5, abs=0.1)
    assert pred.centre[1] == pytest.approx(lams.size - 30, abs=0.1)
    assert pred.d_star[2] == 0.0 and pred.centre[2] == 0.0  # w_0 already inside


def test_eq34_counts_flat_directions_once():
    lams, z0 = _well(D=50, n_flat=10)
    pos = lams > 0
    R = np.linalg.norm(z0[pos])  # the distance to the set of minima: flat components do not count
    got = basin.eq34_threshold(lams, z0, 0.0, [0.1, 1.0])
    ref = lams.size - 10 - quad.eq34_local_dimension(lams[pos], R, np.array([0.1, 1.0]))
    np.testing.assert_allclose(got, ref)
    np.testing.assert_allclose(quad.eq34_threshold_bound(lams[pos], R, [0.1]),
                               basin.eq34_threshold(lams[pos], z0[pos], 0.0, [0.1]))


def test_quadratic_from_gradient_recovers_the_minimum():
    rng = np.random.default_rng(3)
    lams = np.r_[np.exp(rng.uniform(-4, 0, 20)), np.zeros(5)]
    z0 = rng.standard_normal(25) * (lams > 0)
    L_star = 0.7
    grad = lams * z0  # gradient at w_0 of L* + 1/2 sum lambda z^2
    z_hat, L_hat = basin.quadratic_from_gradient(lams, grad, L_star + 0.5 * np.sum(lams * z0 ** 2))
    np.testing.assert_allclose(z_hat, z0, atol=1e-12)
    assert L_hat == pytest.approx(L_star)


def test_float32_noise_is_flattened_by_flat_tol():
    lams = np.r_[1.0, 0.5, 3e-8, -2e-8]
    assert list(basin.clean_spectrum(lams, flat_tol=1e-7)) == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="lams is not valid"):
        basin.clean_spectrum(lams)


def test_axes_only_cone_agrees_with_the_eigenvector_cone():
    lams, z0 = _well(D=40, n_flat=8)
    full = angular.sublevel_cone(lams, z0, 0.05)
    fast = angular.sublevel_cone(lams, z0, 0.05, axes_only=True)
    np.testing.assert_allclose(np.sort(fast.lam), np.sort(full.lam), rtol=1e-8, atol=1e-12)
    Q = full.Q
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), atol=1e-12)
    a = angular.local_angular_dimension_quadratic(lams, z0, 0.05, 4000, seed=0)
    b = angular.local_angular_dimension_quadratic(lams, z0, 0.05, 4000, seed=1, axes_only=True)
    assert abs(a.mean - b.mean) < 4 * np.hypot(a.stderr, b.stderr)
    assert b.stderr < a.stderr  # the flat axes are added exactly, not sampled


def test_bad_arguments_name_the_parameter():
    lams, z0 = _well(D=20, n_flat=2)
    with pytest.raises(ValueError, match="z0 is not valid"):
        basin.angular_threshold(lams, z0[:5], 0.0, 0.1)
    with pytest.raises(ValueError, match="delta=1.5 is not valid"):
        basin.angular_threshold(lams, z0, 0.0, 0.1, delta=1.5)
    with pytest.raises(ValueError, match="L_star=nan is not valid"):
        basin.eq34_threshold(lams, z0, float("nan"), 0.1)
    with pytest.raises(ValueError, match="grad is not valid"):
        basin.quadratic_from_gradient(lams, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="lams is not valid"):
        angular.sublevel_cone(-lams, z0, 0.1)


def test_d_local_noise_scales_with_the_threshold_not_with_d():
    """Near-full cones (small thresholds in large D) are estimated through the polar cone, whose
    Monte-Carlo error scales with D - d_local: at D = 3,000 and a threshold near 140, 500 samples
    give a standard error near one dimension, where the direct estimator's would be
    sqrt(2 * 2,860 / 500) ~ 3.4."""
    rng = np.random.default_rng(0)
    D = 3000
    lams = np.sort(rng.gamma(0.5, 1.0, D))[::-1]
    z0 = rng.normal(size=D) / np.sqrt(lams)  # every direction carries loss
    L0 = 0.5 * float(np.sum(lams * z0 ** 2))
    pred = basin.angular_threshold(lams, z0, 0.0, [0.95 * L0], n_samples=500, seed=1)
    assert 0 < pred.centre[0] < 0.1 * D
    assert pred.d_local_se[0] < 1.5
    again = basin.angular_threshold(lams, z0, 0.0, [0.95 * L0], n_samples=500, seed=2)
    assert abs(again.centre[0] - pred.centre[0]) < 6
