"""Invariants of dof_helpers.quadratic: exact subspace minima, Adam, P_s, thresholds, eq. 3.4."""
import numpy as np
import pytest

from dof_helpers import quadratic as quad
from dof_helpers.chapters import theory


def test_spectra():
    b = quad.spectrum("bimodal", 7, lam_hi=2.0, lam_lo=0.01)
    assert list(b) == [2.0] * 4 + [0.01] * 3
    s = quad.spectrum("bulk", 5, lam_hi=1.0, lam_lo=1e-4)
    assert s[0] == pytest.approx(1.0) and s[-1] == pytest.approx(1e-4)
    assert np.allclose(np.diff(np.log(s)), np.log(1e-4) / 4)


def test_subspace_minimum_matches_least_squares_and_gradient():
    rng = np.random.default_rng(0)
    D, d = 30, 7
    lams = np.exp(rng.uniform(-4, 0, D))
    w0 = rng.standard_normal(D)
    A = rng.standard_normal((D, d))
    val, theta = quad.subspace_minimum(lams, w0, A)
    # brute force: least squares on H^{1/2}(w0 + A theta)
    sq = np.sqrt(lams)
    th_ls, *_ = np.linalg.lstsq(sq[:, None] * A, -sq * w0, rcond=None)
    assert np.allclose(theta, th_ls, atol=1e-8)
    assert val == pytest.approx(quad.loss(lams, w0 + A @ th_ls), rel=1e-10)
    # gradient in theta vanishes at the minimum
    grad = A.T @ (lams * (w0 + A @ theta))
    assert np.linalg.norm(grad) < 1e-8 * np.linalg.norm(A.T @ (lams * w0))


def test_nested_minima_match_direct_solves():
    rng = np.random.default_rng(1)
    D = 25
    lams = quad.spectrum("bulk", D)
    w0 = quad.init_points(D, 2.0, 1, seed=3)[0]
    G = rng.standard_normal((D, D))
    nested = quad.nested_min_losses(lams, w0, G)
    assert nested.shape == (D + 1,)
    assert nested[0] == pytest.approx(quad.loss(lams, w0))
    for d in (1, 5, 12, 24):
        assert nested[d] == pytest.approx(quad.subspace_minimum(lams, w0, G[:, :d])[0], rel=1e-8, abs=1e-14)
    assert nested[D] < 1e-12 * nested[0]
    assert np.all(np.diff(nested) <= 1e-15)


def test_init_points_have_length_R():
    W = quad.init_points(50, 3.0, 10, seed=0)
    assert np.allclose(np.linalg.norm(W, axis=1), 3.0)


def test_eq34_bound_hand_computed():
    # lams = (2, 0.5), R = 1, eps = 1: r^2 = (1, 4); d_local = 1/2 + 4/5 = 1.3; bound = 2 - 1.3 = 0.7
    lams = np.array([2.0, 0.5])
    assert quad.eq34_local_dimension(lams, 1.0, 1.0) == pytest.approx(1.3)
    assert quad.eq34_threshold_bound(lams, 1.0, 1.0) == pytest.approx(0.7)
    assert np.allclose(quad.eq34_threshold_bound(lams, 1.0, [1.0, 0.0]), [0.7, 2.0])
    assert np.allclose(quad.ellipsoid_radii(lams, 1.0), [1.0, 2.0])


def test_success_probability_and_threshold():
    ml = np.array([[3.0, 2.0, 1.0, 0.5], [3.0, 2.5, 0.8, 0.1]])
    P = quad.success_from_min_losses(ml, [0.9, 2.2])
    assert np.allclose(P, [[0, 0, 0.5, 1.0], [0, 0.5, 1.0, 1.0]])
    ds = quad.threshold_curve(P, np.arange(4), delta=0.1)
    assert np.allclose(ds, [3, 2])
    assert np.isnan(quad.threshold_curve(np.zeros((1, 3)), np.arange(3), 0.1)[0])


def test_simulated_transition_matches_numerical_local_angular_dimension():
    D = 120
    lams = quad.spectrum("bimodal", D)
    ml, w0s = quad.simulate_min_losses(lams, 3.0, 40, seed=0)
    eps = np.array([0.01, 0.1])
    P = quad.success_from_min_losses(ml, eps)
    assert np.all(np.diff(P, axis=1) >= 0)  # nested subspaces: monotone in d
    d_half = quad.threshold_curve(P, np.arange(D + 1), 0.5)
    pred, se = quad.local_angular_threshold(lams, w0s[:1], eps, 400, seed=1)
    assert np.all(np.abs(pred - d_half) <= np.sqrt(D)), (pred, d_half)
    # eq. 3.4's local dimension is a lower estimate of the numerical one
    assert np.all(quad.eq34_local_dimension(lams, 3.0, eps) <= D - pred + 4 * se + 1)


def test_adam_never_beats_exact_minimum_and_gets_close():
    D = 60
    lams = quad.spectrum("bulk", D)
    w0s = quad.init_points(D, 2.0, 4, seed=0)
    best, exact = quad.adam_min_losses(lams, w0s, [10, 30], steps=300, seed=1)
    assert best.shape == exact.shape == (4, 2)
    assert np.all(best >= exact * (1 - 1e-3) - 1e-6)
    assert np.all(best <= quad.loss(lams, w0s)[:, None] + 1e-6)
    assert np.median(best[:, 0] / exact[:, 0]) < 1.05  # small d: Adam essentially converges


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="kind='flat' is not valid; accepted values"):
        quad.spectrum("flat", 10)
    with pytest.raises(ValueError, match="lam_lo=2.0 is not valid"):
        quad.spectrum("bulk", 10, lam_hi=1.0, lam_lo=2.0)
    with pytest.raises(ValueError, match="R=0.0 is not valid"):
        quad.eq34_threshold_bound(np.ones(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="delta=1.5 is not valid"):
        quad.threshold_curve(np.zeros((1, 2)), [0, 1], delta=1.5)
    with pytest.raises(ValueError, match="A is not valid"):
        quad.subspace_minimum(np.ones(3), np.ones(3), np.ones((4, 2)))
    good = dict(D=50, lam_hi=1.0, lam_lo=0.01, R_values=[1.0], eps_min=0.01, eps_max=1.0, n_eps=5, n_runs=10,
                delta=0.1, adam_runs=2, adam_steps=10, adam_lr=0.05, adam_n_d=2, n_width_samples=10, n_width_eps=2,
                n_width_inits=3, seed=0)
    theory.quadratic_well_config(**good)
    with pytest.raises(ValueError, match="R_values=.* is not valid"):
        theory.quadratic_well_config(**{**good, "R_values": [1.0, -2.0]})
    with pytest.raises(ValueError, match="adam_runs=20 is not valid"):
        theory.quadratic_well_config(**{**good, "adam_runs": 20})
    with pytest.raises(ValueError, match="eps_max=0.001 is not valid"):
        theory.quadratic_well_config(**{**good, "eps_max": 0.001})


def test_fixed_start_minima_with_flat_directions_reach_zero_at_the_rank():
    D, n_flat = 40, 10
    lams = np.r_[quad.spectrum("bulk", D - n_flat), np.zeros(n_flat)]
    w0 = quad.init_points(D, 2.0, 1, seed=0)[0]
    ml = quad.fixed_start_min_losses(lams, w0, 5, seed=1)
    assert ml.shape == (5, D + 1) and np.allclose(ml[:, 0], quad.loss(lams, w0))
    assert np.all(np.diff(ml, axis=1) <= 1e-12)
    # w0 + span(A) meets the affine set of minima {z : z_i = 0 where lambda_i > 0} iff d + n_flat >= D
    assert np.all(ml[:, D - n_flat:] <= 1e-12 * ml[:, :1])
    assert np.all(ml[:, D - n_flat - 1] > 1e-6 * ml[:, 0])


def test_eq34_flat_directions_count_one():
    lams = np.r_[1.0, 0.1, 0.0, 0.0]
    got = quad.eq34_local_dimension(lams, 2.0, [0.0, 0.5])
    np.testing.assert_allclose(got, [2.0, 2.0 + 1.0 / 5.0 + 1.0 / 1.4])
    with pytest.raises(ValueError, match="lams is not valid"):
        quad.eq34_local_dimension(-lams, 2.0, 0.1)
