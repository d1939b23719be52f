"""Invariants of dof_helpers.geometry: closed forms, bounds, exact hitting laws, argument checks."""
import numpy as np
import pytest
from scipy import optimize, special

from dof_helpers import angular
from dof_helpers import geometry as geo
from dof_helpers import escape as esc
from dof_helpers.chapters import theory


def test_expected_gaussian_norm_exact_constant():
    # sqrt(2) Gamma((k+1)/2) / Gamma(k/2): k = 1 gives sqrt(2/pi), k = 2 gives sqrt(pi/2)
    assert geo.expected_gaussian_norm(1) == pytest.approx(np.sqrt(2 / np.pi), rel=1e-12)
    assert geo.expected_gaussian_norm(2) == pytest.approx(np.sqrt(np.pi / 2), rel=1e-12)
    for D in (3, 10, 100, 1000):
        e = geo.expected_gaussian_norm(D)
        assert D / np.sqrt(D + 1) <= e <= np.sqrt(D)  # the factor of the paper's Figure 4 caption
    assert geo.expected_gaussian_norm(1000) ** 2 == pytest.approx(1000 - 0.5, abs=0.01)


@pytest.mark.parametrize("d", [1, 4, 25])
def test_ball_in_subspace_width_matches_gamma_formula(d):
    D, r = 60, 1.7
    U = esc.random_subspace(D, d, seed=d)
    est = geo.gaussian_width(geo.support_ball(r, U), D, 20000, seed=1)
    assert est.within(r * np.sqrt(2) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)), 4.0)
    assert est.within(geo.ball_width(r, d), 4.0)
    if d == 1:  # r sqrt(d) overestimates at small d by far more than the error bar
        assert not est.within(r * np.sqrt(d), 4.0)


def test_width_forms_agree_on_asymmetric_set():
    D = 20
    X = np.random.default_rng(0).standard_normal((30, D))
    a = geo.gaussian_width(geo.support_points(X), D, 20000, seed=1)
    b = geo.gaussian_width(geo.support_points(X), D, 20000, seed=2, form="half_mean_width")
    assert abs(a.mean - b.mean) <= 4 * np.hypot(a.stderr, b.stderr)


def test_maximiser_form_matches_support_and_maximiser_is_feasible():
    D = 15
    r = np.linspace(2.0, 0.1, D)
    G = np.random.default_rng(3).standard_normal((100, D))
    xs = geo.maximiser_ellipsoid(r)(G)
    assert np.allclose(np.sum(xs ** 2 / r ** 2, axis=1), 1.0)
    assert np.allclose(np.einsum("nd,nd->n", G, xs), geo.support_ellipsoid(r)(G))


@pytest.mark.parametrize("radii", [np.ones(40), np.arange(1, 41) ** -1.0, np.r_[1.0, np.full(39, 1e-6)]])
def test_ellipsoid_width_between_corrected_bounds(radii):
    est = geo.gaussian_width(geo.support_ellipsoid(radii), radii.size, 20000, seed=5)
    lo, hi = geo.ellipsoid_width_bounds(radii)
    assert lo - 4 * est.stderr <= est.mean <= hi + 4 * est.stderr
    assert lo == pytest.approx(np.sqrt(2 / np.pi) * np.sqrt(np.sum(radii ** 2)))


def test_needle_ellipsoid_breaks_printed_squared_lower_bound():
    r = np.r_[1.0, np.full(29, 1e-6)]
    est = geo.gaussian_width(geo.support_ellipsoid(r), 30, 40000, seed=2)
    w2, se2 = est.mean ** 2, 2 * est.mean * est.stderr
    assert abs(w2 - 2 / np.pi) < 4 * se2 + 1e-4
    assert w2 + 4 * se2 < np.sqrt(2 / np.pi)  # the bound as printed in Lemma B.1 fails


def test_statistical_dimensions():
    assert esc.statistical_dimension("orthant", 37) == 18.5
    assert esc.statistical_dimension("subspace", 37, k=5) == 5
    assert esc.statistical_dimension("lorentz", 37) == pytest.approx(18.5, rel=1e-8)
    # circular cone: quadrature against Monte Carlo and against the approximation
    D, a = 40, 0.5
    exact = esc.statistical_dimension("circular", D, angle=a)
    mc = esc.statistical_dimension_mc(lambda G: esc.project_circular(G, np.eye(D)[0], a), D, 40000, seed=0)
    assert mc.within(exact, 4.0)
    assert abs(exact - esc.circular_cone_approx(D, a)) < 0.1
    mc_orth = esc.statistical_dimension_mc(esc.project_orthant, 50, 40000, seed=1)
    assert mc_orth.within(25.0, 4.0)


def test_random_subspace_is_orthonormal_and_uniform():
    Q = esc.random_subspace(12, 4, n=3000, seed=0)
    assert np.allclose(np.swapaxes(Q, 1, 2) @ Q, np.eye(4), atol=1e-10)
    # ||Q^T e_1||^2 ~ Beta(d/2, (D-d)/2), mean d/D
    v = np.sum(Q[:, 0, :] ** 2, axis=1)
    assert abs(v.mean() - 4 / 12) < 4 * v.std() / np.sqrt(v.size)


def test_cap_hits_match_beta_law():
    D, a = 30, np.radians(50)
    for d in (5, 12, 20):
        hits = esc.subspace_hits_cap(esc.random_subspace(D, d, n=4000, seed=d), np.eye(D)[0], a)
        p = esc.cap_hit_probability(D, d, a)
        assert abs(hits.mean() - p) <= 4 * np.sqrt(p * (1 - p) / hits.size) + 1e-3


def test_orthant_hits_match_kinematic_formula():
    D = 16
    assert esc.orthant_hit_probability(D, D) == pytest.approx(1.0)
    assert esc.orthant_hit_probability(D, 0) == 0.0
    assert esc.orthant_hit_probability(D, D // 2) == pytest.approx(0.5, abs=1e-12)  # self-dual cone
    for d in (5, 8, 11):
        hits = esc.subspace_hits_orthant(esc.random_subspace(D, d, n=300, seed=d))
        p = esc.orthant_hit_probability(D, d)
        assert abs(hits.mean() - p) <= 4 * np.sqrt(p * (1 - p) / hits.size) + 1e-3


def test_subspaces_and_affine_subspaces_meet_when_dimensions_add_up():
    D = 20
    for d, n in [(5, 10), (10, 10), (12, 9)]:
        Q1 = esc.random_subspace(D, d, seed=1)
        Q2 = esc.random_subspace(D, n, seed=2)
        assert bool(esc.subspaces_intersect(Q1, Q2)) == (d + n > D)
        rng = np.random.default_rng(3)
        dist = esc.affine_subspace_distance(rng.standard_normal(D), Q1, rng.standard_normal(D), Q2)
        assert (dist < 1e-8) == (d + n >= D)


def test_escape_bound_values():
    # hand-computed: D = 100, d = 20, w = 3: k = 80, k/sqrt(81) = 8.888..., gap 5.888...
    k = 80
    expected = 3.5 * np.exp(-(k / 9 - 3) ** 2 / 18)
    assert esc.escape_bound(100, 20, 3.0) == pytest.approx(expected, rel=1e-12)
    assert esc.escape_bound(100, 99, 3.0) == 1.0  # k / sqrt(k+1) < w: vacuous
    b = esc.escape_bound(100, np.arange(0, 101), 3.0)
    assert np.all(np.diff(b) >= -1e-15)


def test_ellipsoidal_cone_membership_and_projection():
    rng = np.random.default_rng(0)
    D = 12
    lams = np.exp(rng.uniform(-3, 0, D))
    w0 = 2 * rng.standard_normal(D)
    L0 = 0.5 * np.sum(lams * w0 ** 2)
    eps = 0.3 * L0
    cone = angular.sublevel_cone(lams, w0, eps)
    # every point of S(eps) seen from w0 is a direction in the cone
    X = rng.standard_normal((500, D))
    X *= (rng.uniform(0, 1, (500, 1)) / np.sqrt(np.sum(lams * X ** 2, axis=1) / (2 * eps))[:, None])
    Z = (X - w0) @ cone.Q
    assert np.all(Z[:, 0] >= np.sqrt(Z[:, 1:] ** 2 @ cone.lam ** 2) - 1e-9)
    # projection agrees with a generic constrained solver
    G = rng.standard_normal((4, D))
    sq = angular.project_onto_ellipsoidal_cone(G, cone)
    for i in range(4):
        y = G[i] @ cone.Q
        con = {"type": "ineq", "fun": lambda z: z[0] - np.sqrt(np.sum((z[1:] * cone.lam) ** 2) + 1e-16)}
        res = optimize.minimize(lambda z: np.sum((z - y) ** 2), np.r_[1.0, np.zeros(D - 1)], constraints=[con],
                                method="SLSQP", options={"ftol": 1e-13, "maxiter": 500})
        assert sq[i] == pytest.approx(np.sum(res.x ** 2), rel=1e-5, abs=1e-8)


def test_local_angular_dimension_of_ball_is_circular_cone():
    # S(eps) with H = I is a ball of radius sqrt(2 eps); seen from distance R it spans a circular
    # cone of half-angle arcsin(sqrt(2 eps) / R)
    D, R, eps = 40, 2.0, 0.5
    w0 = np.r_[R, np.zeros(D - 1)]
    est = angular.local_angular_dimension_quadratic(np.ones(D), w0, eps, 20000, seed=0)
    exact = esc.statistical_dimension("circular", D, angle=np.arcsin(np.sqrt(2 * eps) / R))
    assert est.within(exact, 4.0)
    # inside the set the cone is everything
    assert angular.local_angular_dimension_quadratic(np.ones(D), 0.1 * w0, eps, 100).mean == pytest.approx(D, rel=0.5)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="form='max' is not valid; accepted values"):
        geo.gaussian_width(geo.support_ball(1.0), 3, 10, form="max")
    with pytest.raises(ValueError, match="kind='simplex' is not valid"):
        esc.statistical_dimension("simplex", 10)
    with pytest.raises(ValueError, match="d=11 is not valid"):
        esc.random_subspace(10, 11)
    with pytest.raises(ValueError, match="radii is not valid"):
        geo.support_ellipsoid([1.0, -1.0])
    with pytest.raises(ValueError, match="n_samples=1 is not valid"):
        geo.gaussian_width(geo.support_ball(1.0), 3, 1)
    with pytest.raises(ValueError, match="angle=None is not valid"):
        esc.statistical_dimension("circular", 10)
    with pytest.raises(ValueError, match="R_values=.* is not valid"):
        theory.escape_config(D=50, n_trials=100, cap_angle_deg=30.0, n_caps=3, D_orthant=20, orthant_dims=[10],
                          affine_n=10, ball_radius=1.0, R_values=[0.5, 2.0], n_width_samples=100, seed=0)
    with pytest.raises(ValueError, match=r"ball_dims\[1\]=0 is not valid"):
        theory.gaussian_width_config(D=10, n_samples=100, radius=1.0, ball_dims=[1, 0], power_exponents=[0.0],
                                  cap_angles_deg=[10.0], n_points=[2], seed=0)


def test_rank_one_update_eigenvalues_match_eigh_with_deflation():
    rng = np.random.default_rng(4)
    for d, a in [(-np.exp(rng.uniform(-9, 0, 300)), rng.standard_normal(300)),
                 (np.r_[-np.ones(6), -0.1 * np.ones(4), -np.exp(rng.uniform(-3, 0, 5))], rng.standard_normal(15)),
                 (np.array([-2.0]), np.array([0.5]))]:
        a[::7] = 0.0  # decoupled coordinates deflate
        ref = np.linalg.eigvalsh(np.diag(d) + np.outer(a, a))
        got = angular.rank_one_update_eigenvalues(d, a)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    with pytest.raises(ValueError, match="a is not valid"):
        angular.rank_one_update_eigenvalues(np.ones(3), np.ones(2))


def test_sublevel_cone_with_flat_directions_is_a_cylinder():
    rng = np.random.default_rng(5)
    lams = np.r_[np.exp(rng.uniform(-3, 0, 10)), np.zeros(4)]
    w0 = rng.standard_normal(14)
    cone = angular.sublevel_cone(lams, w0, 0.1)
    assert np.sum(cone.lam == 0) == 4
    # directions into the set plus any flat direction stay in the cone
    x = np.r_[0.3 * rng.standard_normal(10) / np.sqrt(lams[:10]) * np.sqrt(0.2 / 10), 50 * rng.standard_normal(4)]
    assert 0.5 * np.sum(lams * x ** 2) <= 0.1
    z = (x - w0) @ cone.Q
    assert z[0] >= np.sqrt(np.sum((z[1:] * cone.lam) ** 2)) - 1e-9
    # the projection keeps the flat part: delta(K' x R^4) = delta(K') + 4
    est = angular.local_angular_dimension_quadratic(lams, w0, 0.1, 4000, seed=1, axes_only=True)
    red = angular.local_angular_dimension_quadratic(lams[:10], w0[:10], 0.1 - 0.0, 4000, seed=1, axes_only=True)
    assert est.mean == pytest.approx(red.mean + 4, abs=1e-12)
