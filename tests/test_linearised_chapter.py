"""Chapter 07's pieces: a fixed start, landscape planes, nested least squares, the chapter config."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import _curv
from dof_helpers import curvature as cur
from dof_helpers import data as data_mod
from dof_helpers import engine, landscape, least_squares
from dof_helpers import linearised as lin_mod
from dof_helpers.chapters import linearised as ch07
from dof_helpers.chapters import linearised_predictions as predictions07
from dof_helpers.engine.state import SeedState, random_basis
from dof_helpers.engine.keys import make_context
from dof_helpers.fixed_start import FixedStart
from dof_helpers.subspace import ParamLayout, materialize


def _dataset(shape, n=48):
    x, y = _curv.data(shape, n=n)
    xt, yt = _curv.data(shape, n=24, seed=1)
    return data_mod.from_arrays(x, y, xt, yt, name="tiny", num_classes=10)


def test_fixed_start_gives_every_seed_the_same_w0_and_its_own_key():
    model, shape = _curv.mlp()
    p0 = _curv.params(model, shape, seed=3)
    ds = _dataset(shape)
    fixed = FixedStart(model, p0)
    recs = [engine.train_run(fixed, ds, d=8, seed=s, epochs=1, batch_size=16, eval_init=True) for s in (0, 1)]
    # same start: the same loss before training; different subspaces: different results after
    assert recs[0]["init_train_loss"] == pytest.approx(recs[1]["init_train_loss"], rel=1e-6)
    assert recs[0]["best_train_loss"] != recs[1]["best_train_loss"]
    plain = engine.train_run(model, ds, d=8, seed=0, epochs=1, batch_size=16, eval_init=True)
    assert plain["init_train_loss"] != pytest.approx(recs[0]["init_train_loss"], rel=1e-3)
    # another w_0 is another model: another fingerprint, so no shared run key
    other = FixedStart(model, _curv.params(model, shape, seed=4))
    assert make_context(other, ds).model_fingerprint != make_context(fixed, ds).model_fingerprint
    assert make_context(FixedStart(model, p0), ds).model_fingerprint == make_context(fixed, ds).model_fingerprint


def test_fixed_start_rejects_bad_arguments():
    model, shape = _curv.mlp()
    with pytest.raises(ValueError, match="model="):
        FixedStart(object(), _curv.params(model, shape))
    with pytest.raises(ValueError, match="params0"):
        FixedStart(model, {})
    wrong = FixedStart(model, {"Dense_0": {"kernel": jnp.zeros((3, 3))}})
    with pytest.raises(ValueError, match="params0 is not valid"):
        wrong.init(jax.random.key(0), jnp.zeros((1,) + shape))


def test_plane_through_three_points():
    model, shape = _curv.mlp()
    p = [_curv.params(model, shape, seed=s) for s in range(3)]
    plane = landscape.plane_through(*p)
    layout = ParamLayout.of(p[0])
    assert abs(plane.u @ plane.v) < 1e-12 and np.linalg.norm(plane.u) == pytest.approx(1.0)
    for (a, b), w in zip(plane.coords, p):  # every point is where its coordinates say
        np.testing.assert_allclose(plane.point(a, b), np.asarray(layout.flatten(w)), atol=1e-5)
    a, b = landscape.plane_grid(plane, 5, 0.5)
    assert a.min() < 0 < plane.coords[1, 0] < a.max() and b.min() < 0 < plane.coords[2, 1] < b.max()
    x, y = _curv.data(shape, n=20)
    loss, acc = landscape.plane_losses(model, plane, [plane.coords[1, 0]], [0.0], x, y, chunk=7)
    ref = lin_mod.cross_entropy(model.apply({"params": p[1]}, x), y)
    assert loss[0, 0] == pytest.approx(float(ref), rel=1e-5) and 0 <= acc[0, 0] <= 1
    with pytest.raises(ValueError, match="collinear"):
        landscape.plane_through(p[0], p[1], jax.tree_util.tree_map(lambda a, b: 2 * b - a, p[0], p[1]))
    with pytest.raises(ValueError, match="plane_points"):
        landscape.plane_grid(plane, 2)


def test_nested_minima_match_the_exact_solver_at_every_d():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=30)
    p_opt, p_0 = _curv.params(model, shape, 0), _curv.params(model, shape, 1)
    lin = lin_mod.linearise(model, p_opt)
    subset = cur.fixed_subset(x, y, chunk=16)
    key = jax.random.key(5)
    minima = least_squares.nested_subspace_minima(lin, p_0, subset, key=key, d_max=40)
    D = ParamLayout.of(p_opt).D
    A = np.asarray(jax.random.normal(key, (D, 40), jnp.float32))
    for d in (1, 7, 25, 40):
        exact, _ = cur.lstsq_subspace_minimum(lin, p_0, A[:, :d], subset)
        assert minima[d] == pytest.approx(exact, rel=1e-6, abs=1e-9)
    assert minima[0] == pytest.approx(float(lin_mod.squared_error(lin.apply({"params": p_0}, x), y)), rel=1e-5)
    assert np.all(np.diff(minima) <= 1e-12)  # more directions never hurt
    with pytest.raises(ValueError, match="d_max"):
        least_squares.nested_subspace_minima(lin, p_0, subset, key=key, d_max=301)


@pytest.mark.parametrize("max_bytes", [0, 2 ** 31], ids=["rebuilt per product", "held"])
def test_least_squares_system_matches_the_chunked_solver(max_bytes):
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=30)
    p_opt, p_0 = _curv.params(model, shape, 0), _curv.params(model, shape, 1)
    lin = lin_mod.linearise(model, p_opt)
    subset = cur.fixed_subset(x, y, chunk=16)
    system = least_squares.LeastSquares(lin, p_0, subset, max_bytes=max_bytes)
    assert (system._held is None) == (max_bytes == 0)
    A = np.asarray(jax.random.normal(jax.random.key(3), (ParamLayout.of(p_opt).D, 12), jnp.float32))
    exact, _ = cur.lstsq_subspace_minimum(lin, p_0, A, subset)
    assert system.subspace_minimum(A) == pytest.approx(exact, rel=1e-6)
    assert 0.5 * float(system.r0 @ system.r0) == pytest.approx(
        float(lin_mod.squared_error(lin.apply({"params": p_0}, x), y)), rel=1e-5)
    with pytest.raises(ValueError, match="A is not valid"):
        system.project(A[:5])


def test_random_basis_is_the_one_the_engine_trains_in():
    model, shape = _curv.mlp()
    ds = _dataset(shape)
    config = engine.SweepConfig(methods=("random_affine",), d_values=(8,), seeds=(2,))
    ctx = make_context(model, ds)
    state = SeedState(ctx, config, 2, [])
    _, basis = state.centre_and_basis({"method": "random_affine", "d": 8, "t": 0})
    mine = random_basis(config, 2, "random_affine", 8, 0, ctx.D)
    np.testing.assert_array_equal(np.asarray(materialize(basis, ctx.D, 8)), np.asarray(materialize(mine, ctx.D, 8)))


def _params(**over):
    p = dict(dataset="fashion_mnist", model="conv2", n_train=256, n_test=100, seed=0, opt_epochs=1, opt_lr=0.05,
             d_values=[4], seeds=[0], epochs=1, batch_size=64, basis="dense", lr=0.05, se_lr=0.2,
             plane_points=5, plane_margin=0.2, route="auto", lanczos_order=30, slq_probes=1, slq_order=5,
             lstsq_draws=2, lstsq_d_max=16, level_fractions=[0.1, 0.5], delta=0.5, cone_samples=20)
    p.update(over)
    return p


@pytest.mark.parametrize("name, value, match", [
    ("route", "lanczos", "route"), ("level_fractions", [0.1, 1.5], "level_fractions"),
    ("lanczos_order", 5, "lanczos_order"), ("n_train", None, "n_train"), ("plane_points", 2, "plane_points"),
    ("se_lr", 0.0, "se_lr"), ("model", "vgg", "model")])
def test_chapter_parameters_are_validated(name, value, match):
    with pytest.raises(ValueError, match=match):
        ch07.from_parameters(_params(**{name: value}))


def test_chapter_experiment_round_trips_and_presets_load():
    exp = ch07.from_parameters(_params())
    assert ch07.Linearisation.from_dict(exp.as_dict()) == exp
    assert exp.se_config().loss == "squared_error" and exp.se_config().lr == 0.2
    assert exp.digest() != ch07.from_parameters(_params(seed=1)).digest()
    for preset in ("ci", "cpu-large", "paper", "paper-fashion_mnist"):
        assert ch07.preset_experiment(preset).config.n_runs() > 0


def test_loss_levels_and_lstsq_threshold():
    eps = predictions07.loss_levels(1.0, 3.0, [0.1, 0.5])
    np.testing.assert_allclose(eps, [1.2, 2.0])
    minima = np.array([[5, 3, 2, 1.0], [5, 4, 1.5, 1.0], [5, 2.5, 2.5, 0.5]])  # 3 draws, d = 0..3
    # level 2.5: draws reach it at d = 2, 2, 1 -> all three by d = 2; two of three by d = 2 as well
    assert predictions07.lstsq_d_star(minima, [2.5], 0.1)[0] == 2
    assert predictions07.lstsq_d_star(minima, [3.0], 0.5)[0] == 1  # 2 of 3 at d = 1
    assert np.isnan(predictions07.lstsq_d_star(minima, [0.1], 0.1)[0])


def test_gauss_newton_model_at_the_start_is_the_quadratic_it_claims_and_its_nested_minima_are_exact():
    model, shape = _curv.mlp()
    x, y = _curv.data(shape, n=30)
    p_0 = _curv.params(model, shape, 1)
    subset = cur.fixed_subset(x, y, chunk=16)
    q = least_squares.GaussNewtonModel(model, p_0, subset)
    assert q.residual < 1e-5  # the gradient lies in the row space of M
    G = np.asarray(cur.gauss_newton_matrix(model, p_0, subset), np.float64)
    L0, g = cur.loss_and_gradient(model, p_0, subset)
    dw = np.asarray(jax.random.normal(jax.random.key(2), (q.D,)), np.float64) * 0.1
    assert q.value(np.zeros(q.D)) == pytest.approx(L0, rel=1e-6)
    assert q.value(dw) == pytest.approx(L0 + g @ dw + 0.5 * dw @ G @ dw, rel=1e-4)
    key = jax.random.key(7)
    minima = q.nested_minima(key, 40)
    A = q.row_space_basis() @ q.draw(key, 40)  # the subspaces the draw stands for
    assert np.allclose(q.row_space_basis().T @ q.row_space_basis(), np.eye(q.sigma.size), atol=1e-6)
    for d in (1, 7, 25, 40):
        Ad = A[:, :d]
        h = Ad.T @ g
        brute = L0 - 0.5 * h @ np.linalg.solve(Ad.T @ G @ Ad, h)  # Newton step in the subspace
        assert minima[d] == pytest.approx(brute, rel=1e-3, abs=1e-6)
        assert q.subspace_minimum(Ad) == pytest.approx(minima[d], rel=1e-6, abs=1e-9)
    assert minima[0] == pytest.approx(L0) and np.all(np.diff(minima) <= 1e-12)
    assert q.full_minimum <= minima[-1]
    with pytest.raises(ValueError, match="d_max"):
        q.nested_minima(key, q.sigma.size)
    # Gaussian subspaces in all of R^D give the same distribution of minima as the draws of Z
    D_draws = [q.subspace_minimum(np.asarray(jax.random.normal(jax.random.key(100 + i), (q.D, 25)), np.float64))
               for i in range(60)]
    Z_draws = [q.nested_minima(jax.random.key(200 + i), 25)[25] for i in range(60)]
    assert np.mean(D_draws) == pytest.approx(np.mean(Z_draws), rel=0.05)


def test_case_iv_check_and_summary_read_the_table():
    import pandas as pd
    from dof_helpers.chapters import linearised_claims as claims07
    from dof_helpers.chapters.linearised_predictions import CASES, START_CASE
    grid = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    row = dict(case=START_CASE, **{"levels from": "true"}, fraction=0.1, epsilon=0.23, loss_w0_quadratic=2.3,
               predicted_centre=380.0)
    iii = dict(case=list(CASES)[2], **{"levels from": "true"}, fraction=0.1, predicted_d_star=0.0)

    def table(pred, meas):
        return pd.DataFrame([dict(row, predicted_d_star=pred, measured_d_star=meas), iii])
    assert claims07.start_within_a_grid_step(table(391.0, 1024.0), grid)  # (256, 2048]
    assert not claims07.start_within_a_grid_step(table(200.0, 1024.0), grid)
    assert not claims07.start_within_a_grid_step(table(2100.0, 1024.0), grid)
    assert not claims07.start_within_a_grid_step(table(391.0, float("nan")), grid)  # nothing measured
    text = claims07.start_summary(table(391.0, 1024.0), {"full_minimum": -2.27, "residual": 4e-8, "rank": 9216})
    assert "predicts 391" in text and "measured 1,024" in text and "the cone from G at the optimum 0" in text
    assert "-2.27" in text and "9,216" in text
