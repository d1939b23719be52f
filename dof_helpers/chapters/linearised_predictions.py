"""Chapter 07, steps 5 and 6: exact least-squares subspace minima of the linearised network
and the table of predicted against measured threshold dimensions.

The prediction (Section 3.2 of the paper, the cone of eq. 3.3 and the bound eq. 3.4) uses
the quadratic model of :mod:`.linearised_curvature`; the measurement uses Definition 2.1
(d* at success probability 1 - delta) on the sweep records, and for the squared-error
case also the exact minima of :class:`dof_helpers.least_squares.LeastSquares`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .common import StepClock
from .linearised_curvature import FLAT_RTOL

if TYPE_CHECKING:
    from .linearised import Linearisation

#: the three sweep curves: records file stem -> (model, loss)
CURVES = {"network": ("network", "cross_entropy"), "linearised": ("linearised", "cross_entropy"),
          "linearised_se": ("linearised", "squared_error")}
#: comparisons of the prediction: case -> (records curve, curvature matrix the prediction uses)
CASES = {"(i) linearised, squared error": ("linearised_se", "se"),
         "(ii) linearised, cross-entropy": ("linearised", "ce"),
         "(iii) network, cross-entropy": ("network", "ce")}
#: the case predicted by the Gauss-Newton model centred at w_0 (:func:`start_model_minima`)
START_CASE = "(iv) network, cross-entropy, Gauss-Newton model at w_0"


# ----------------------------------------------------------------------------- step 5: least squares
def least_squares_system(exp: Linearisation, optima: dict, data, timings: dict):
    """The squared-error least-squares system of the linearised network around w_0 on the
    training set (:class:`least_squares.LeastSquares`; its Jacobian is built once)."""
    from .. import curvature
    from ..least_squares import LeastSquares
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    with StepClock(timings, "least squares: the weighted Jacobian J (N C x D)"):
        return LeastSquares(Linearised(module, optima["opt1"]), optima["w_0"],
                            curvature.fixed_subset(data.x_train, data.y_train))


def lstsq_minima(exp: Linearisation, system, timings: dict) -> np.ndarray:
    """(draws, d_max + 1): exact squared-error subspace minima of the linearised network on
    nested Gaussian subspaces, one draw per key (:meth:`least_squares.LeastSquares.nested_minima`)."""
    import jax
    d_max = min(exp.lstsq_d_max, system.r0.size)
    root = jax.random.fold_in(jax.random.PRNGKey(exp.seed), 13)
    with StepClock(timings, f"exact least-squares minima ({exp.lstsq_draws} draws, d <= {d_max})"):
        rows = [system.nested_minima(jax.random.fold_in(root, k), d_max) for k in range(exp.lstsq_draws)]
    return np.stack(rows)


def adam_vs_exact(exp: Linearisation, system, se_records, timings: dict) -> np.ndarray:
    """(runs, 4) rows (d, seed, Adam's best training loss, exact minimum) for every squared-error
    sweep run with d <= ``lstsq_d_max``: the exact minimum in the very subspace Adam trained in
    (the engine's basis of that run, :func:`engine.state.random_basis`)."""
    from ..engine.state import random_basis
    from ..subspace import materialize
    D = system.layout.D
    rows = []
    with StepClock(timings, f"exact minima in the squared-error runs' own subspaces (d <= {exp.lstsq_d_max})"):
        for r in sorted(se_records, key=lambda r: (r["d"], r["seed"])):
            if r["d"] > exp.lstsq_d_max or r.get("status") != "ok":
                continue
            A = materialize(random_basis(exp.se_config(), r["seed"], "random_affine", r["d"], 0, D), D, r["d"])
            rows.append((r["d"], r["seed"], r["best_train_loss"], system.subspace_minimum(A)))
    return np.array(rows, float).reshape(-1, 4)


def start_model_minima(exp: Linearisation, optima: dict, data, timings: dict) -> dict:
    """Case (iv): the Gauss-Newton quadratic model of the network's cross-entropy centred at
    w_0 (:class:`least_squares.GaussNewtonModel`) and its exact minima over nested Gaussian
    subspaces, ``exp.lstsq_draws`` draws up to ``exp.lstsq_d_max``: the second-order model
    taken where training starts instead of at an optimum."""
    import jax
    from .. import curvature
    from ..least_squares import GaussNewtonModel
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    subset = curvature.fixed_subset(data.x_train, data.y_train)
    with StepClock(timings, "Gauss-Newton model at w_0 (factor M, gradient, kernel in float64)"):
        q = GaussNewtonModel(module, optima["w_0"], subset)
    d_max = min(exp.lstsq_d_max, q.sigma.size - 1)
    root = jax.random.fold_in(jax.random.PRNGKey(exp.seed), 17)
    with StepClock(timings, f"its exact subspace minima ({exp.lstsq_draws} draws, d <= {d_max})"):
        minima = np.stack([q.nested_minima(jax.random.fold_in(root, k), d_max) for k in range(exp.lstsq_draws)])
    return {"minima": minima, "L0": q.L0, "full_minimum": q.full_minimum, "residual": q.residual,
            "rank": q.sigma.size}


# ----------------------------------------------------------------------------- step 6: predictions
def loss_levels(L_star: float, loss_w0: float, fractions) -> np.ndarray:
    """epsilon_k = L* + f_k (L_q(w_0) - L*): loss levels a fraction f_k of the way up from the minimum."""
    return L_star + np.asarray(fractions, float) * (loss_w0 - L_star)


def quadratic_model(curv: dict, which: str) -> dict:
    """The quadratic well of a case: cleaned eigenvalues, z0, L* and its loss at w_0."""
    from ..basin import clean_spectrum
    lams = np.asarray(curv[which + "_lams"], float)
    clean = clean_spectrum(np.where(np.abs(lams) <= FLAT_RTOL * lams[0], 0.0, lams))
    z0 = np.where(clean > 0, np.asarray(curv[which + "_z0"], float), 0.0)
    L_star = float(curv["ce_L_star"] if which == "ce" else curv["se_L_star"])
    return {"lams": clean, "z0": z0, "L_star": L_star, "loss_w0": L_star + 0.5 * float(np.sum(clean * z0 ** 2)),
            "n_flat": int(np.sum(clean == 0))}


def measured_d_star(records, levels, delta: float) -> np.ndarray:
    """d*(epsilon) of Definition 2.1 from sweep records on training-loss levels (NaN: no d of the grid)."""
    from ..thresholds import success_probability, threshold_dimension
    ok = [r for r in records if r.get("status") == "ok"]
    table = success_probability(ok if ok else records, "train_loss", levels=list(levels), running_max=False)
    dstar = threshold_dimension(table, delta)
    by_level = {round(float(lv), 9): float(ds) for lv, ds in zip(dstar["level"], dstar["d_star"])}
    return np.array([by_level.get(round(float(lv), 9), np.nan) for lv in levels])


def lstsq_d_star(minima: np.ndarray, levels, delta: float) -> np.ndarray:
    """d*(epsilon) at unit resolution from exact nested minima (draws x (d_max + 1)): the smallest
    d at which a fraction >= 1 - delta of the draws reach the level (NaN beyond d_max)."""
    out = []
    for eps in levels:
        p = np.mean(minima <= eps, axis=0)
        hit = np.nonzero(p >= 1.0 - delta - 1e-12)[0]
        out.append(float(hit[0]) if hit.size else np.nan)
    return np.array(out)


#: where a case's loss levels come from: fractions of the way from L* up to the quadratic
#: model's value at w_0 ("quadratic"), or up to the model's true training loss at w_0 ("true")
LEVEL_SOURCES = ("quadratic", "true")


def losses_at_w0(exp: Linearisation, optima: dict, data) -> dict:
    """The true training loss at w_0 of each curve's model (network and linearised network,
    cross-entropy; linearised network, squared error): what the loss levels are measured against."""
    from .. import curvature
    from ..linearised import Linearised
    from ..models import model_for
    module, _ = model_for(exp.model, exp.data.dataset)
    subset = curvature.fixed_subset(data.x_train, data.y_train)
    lin = Linearised(module, optima["opt1"])
    out = {}
    for stem, (model_name, loss) in CURVES.items():
        model = module if model_name == "network" else lin
        out[stem] = float(curvature.loss_and_gradient(model, optima["w_0"], subset, loss=loss)[0])
    return out


def predictions(exp: Linearisation, curv: dict, records: dict, minima: np.ndarray | None, timings: dict,
                true_w0: dict | None = None, start: dict | None = None):
    """The comparison table: per case (:data:`CASES`), level source (:data:`LEVEL_SOURCES`) and
    loss level, eq. 3.4, the cone prediction (its centre, the 50% point, and its 1 - delta
    threshold), the measured d at P_s >= 1/2 and d* at 1 - delta (Adam sweeps; case (i) also
    exact least squares), and the median best loss the sweep reached at its largest d. ``true_w0``: :func:`losses_at_w0` (without it, only the
    quadratic levels). For case (i) the quadratic is exact, so its true levels are the same
    and are not repeated. ``start``: :func:`start_model_minima`; it adds case (iv) at the
    true-loss levels of the network, predicted by that model's exact subspace minima
    (``predicted by`` names the method of every row)."""
    import pandas as pd
    from ..basin import angular_threshold
    rows = []
    with StepClock(timings, "predictions (cones, all cases)"):
        for case, (curve, which) in CASES.items():
            q = quadratic_model(curv, which)
            d_max = max(r["d"] for r in records[curve])
            reached = float(np.median([r["best_train_loss"] for r in records[curve] if r["d"] == d_max]))
            sources = {"quadratic": q["loss_w0"]}
            if true_w0 is not None and which != "se":
                sources["true"] = true_w0[curve]
            for source, top in sources.items():
                eps = loss_levels(q["L_star"], top, exp.level_fractions)
                pred = angular_threshold(q["lams"], q["z0"], q["L_star"], eps, delta=exp.delta,
                                         n_samples=exp.cone_samples, seed=exp.seed)
                meas = measured_d_star(records[curve], eps, exp.delta)
                meas50 = measured_d_star(records[curve], eps, 0.5)
                has_exact = which == "se" and minima is not None
                exact = lstsq_d_star(minima, eps, exp.delta) if has_exact else np.full(len(eps), np.nan)
                exact50 = lstsq_d_star(minima, eps, 0.5) if has_exact else np.full(len(eps), np.nan)
                for k, f in enumerate(exp.level_fractions):
                    rows.append({"case": case, "levels from": source, "predicted by": "cone (eq. 3.3)",
                                 "fraction": f, "epsilon": float(eps[k]),
                                 "L_star": q["L_star"], "loss_w0_quadratic": q["loss_w0"],
                                 "loss_w0_true": true_w0[curve] if true_w0 is not None else np.nan,
                                 "eq34": float(pred.eq34[k]), "predicted_centre": float(pred.centre[k]),
                                 "predicted_d_star": float(pred.d_star[k]), "sigma": float(pred.sigma[k]),
                                 "measured_d_star": float(meas[k]), "exact_d_star": float(exact[k]),
                                 "measured_median_d": float(meas50[k]), "exact_median_d": float(exact50[k]),
                                 "loss_reached_at_d_max": reached, "d_max": d_max, "n_flat": q["n_flat"]})
        if start is not None and true_w0 is not None:
            rows += _start_rows(exp, curv, records["network"], start, true_w0["network"])
    return pd.DataFrame(rows)


def _start_rows(exp: Linearisation, curv: dict, records, start: dict, loss_w0: float) -> list[dict]:
    """Case (iv)'s rows: the same true-loss levels as case (iii), the model's exact d* (1 - delta
    and 50% of the draws) against the network's measured d*."""
    L_star = float(curv["ce_L_star"])
    eps = loss_levels(L_star, loss_w0, exp.level_fractions)
    pred, pred50 = lstsq_d_star(start["minima"], eps, exp.delta), lstsq_d_star(start["minima"], eps, 0.5)
    meas, meas50 = measured_d_star(records, eps, exp.delta), measured_d_star(records, eps, 0.5)
    d_max = max(r["d"] for r in records)
    reached = float(np.median([r["best_train_loss"] for r in records if r["d"] == d_max]))
    return [{"case": START_CASE, "levels from": "true", "predicted by": "exact minima of the model",
             "fraction": f, "epsilon": float(eps[k]), "L_star": L_star, "loss_w0_quadratic": float(start["L0"]),
             "loss_w0_true": loss_w0, "eq34": np.nan, "predicted_centre": float(pred50[k]),
             "predicted_d_star": float(pred[k]), "sigma": np.nan, "measured_d_star": float(meas[k]),
             "exact_d_star": np.nan, "measured_median_d": float(meas50[k]), "exact_median_d": np.nan,
             "loss_reached_at_d_max": reached, "d_max": d_max, "n_flat": np.nan}
            for k, f in enumerate(exp.level_fractions)]
