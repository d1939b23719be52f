"""Chapter 07's claims: the comparisons and checks the chapter prints and asserts, from its results."""
from __future__ import annotations

import numpy as np

from .linearised_predictions import CASES, START_CASE

#: case (i)'s prediction must lie within this many dimensions, or this fraction, of the
#: exact least-squares d* (whichever is larger): the band the chapter asserts
SE_BAND_DIMS, SE_BAND_FRACTION = 8, 0.3


def describe_comparison(table) -> str:
    """One line per case, level source and level: predicted vs measured d*, the gap in dimensions
    and as a ratio; where the sweep never reached the level, the loss it did reach."""
    lines = []
    for r in table.to_dict("records"):
        exact = "" if np.isnan(r["exact_d_star"]) else f", exact {r['exact_d_star']:.0f}"
        meas = (f"beyond the grid (median best loss at d = {r['d_max']:,}: {r['loss_reached_at_d_max']:.4g})"
                if np.isnan(r["measured_d_star"]) else f"{r['measured_d_star']:.0f}")
        ref = r["exact_d_star"] if not np.isnan(r["exact_d_star"]) else r["measured_d_star"]
        gap = "" if np.isnan(ref) else (f"; predicted - {'exact' if exact else 'measured'} = "
                                        f"{r['predicted_d_star'] - ref:+.0f}")
        mid = "" if np.isnan(r["exact_median_d"]) else (f"; 50% points: predicted {r['predicted_centre']:.0f}, "
                                                         f"exact {r['exact_median_d']:.0f}")
        eq34 = "" if np.isnan(r["eq34"]) else f" (eq. 3.4: {r['eq34']:.0f})"
        lines.append(f"{r['case']}, {r['levels from']} levels, f = {r['fraction']:g} (epsilon {r['epsilon']:.4g}): "
                     f"predicted {r['predicted_d_star']:.0f}{eq34}, measured {meas}{exact}{gap}{mid}")
    return "\n".join(lines)


def model_heights(table) -> str:
    """Per case: L*, the quadratic model's loss at w_0 and the model's true loss there."""
    out = []
    for case, sub in table.groupby("case", sort=False):
        r = sub.iloc[0]
        true = "" if np.isnan(r["loss_w0_true"]) else f", true loss at w_0 {r['loss_w0_true']:.4g}"
        out.append(f"{case}: L* {r['L_star']:.4g}, quadratic model at w_0 {r['loss_w0_quadratic']:.4g}{true}")
    return "\n".join(out)


def threshold_agreement(dstars: dict) -> str:
    """How close the linearised network's d* is to the network's, per split, over the accuracy
    levels where both are defined (``dstars`` from :func:`linearised_figures.figure_curves`)."""
    from ..thresholds import d_star_curve
    lines = []
    for split, tables in dstars.items():
        levels = np.sort(np.unique(np.concatenate([t["level"].to_numpy() for t in tables.values()])))
        net, lin = (d_star_curve(tables[s], "random_affine", 0, levels) for s in ("network", "linearised"))
        both = np.isfinite(net) & np.isfinite(lin)
        only_net = int(np.sum(np.isfinite(net) & ~np.isfinite(lin)))
        if not both.any():
            lines.append(f"{split}: no accuracy level reached by both models ({only_net} by the network alone)")
            continue
        ratio = np.log2(lin[both] / net[both])
        lines.append(f"{split}: {int(both.sum())} levels reached by both (up to {levels[both].max():.2f}), "
                     f"{only_net} by the network alone; linearised d* = network d* at {int(np.sum(ratio == 0))}, "
                     f"within a factor 2 at {int(np.sum(np.abs(ratio) <= 1))}; median log2(linearised / network) "
                     f"{np.median(ratio):+.1f}")
    return "\n".join(lines)


def se_within_band(table, point: str = "centre") -> np.ndarray:
    """Per loss level of case (i): is the cone's centre (its 50% point) within the band of the
    exact 50% point of the least-squares draws?

    ``point="threshold"`` compares the 1 - delta threshold with the exact d* instead.
    """
    sub = table[(table["case"] == next(iter(CASES))) & (table["levels from"] == "quadratic")]
    cols = {"centre": ("predicted_centre", "exact_median_d"), "threshold": ("predicted_d_star", "exact_d_star")}
    p_col, e_col = cols[point]
    pred, exact = sub[p_col].to_numpy(float), sub[e_col].to_numpy(float)
    return np.abs(pred - exact) <= np.maximum(SE_BAND_DIMS, SE_BAND_FRACTION * exact)


def lanczos_error(curv: dict) -> float:
    """Largest relative error of the Lanczos estimates of G's top eigenvalues against the exact ones."""
    top = np.asarray(curv["lanczos_g_top"], float)
    exact = np.asarray(curv["ce_lams"], float)[: top.size]
    return float(np.max(np.abs(top - exact) / exact))


def check_results(plane: dict, curv: dict, table, optima_metrics: dict) -> dict:
    """The chapter's assertions on one run's results (live or from a results folder), each a
    named boolean with its tolerance in the name."""
    a, b, c = plane["a"], plane["b"], plane["coords"]
    inside = bool(np.all((c[:, 0] >= a.min()) & (c[:, 0] <= a.max()) & (c[:, 1] >= b.min()) & (c[:, 1] <= b.max())))
    lams = np.asarray(curv["ce_lams"], float)
    case_i = se_within_band(table)
    k = len(curv["lanczos_g_top"])
    se = table[table["case"] == next(iter(CASES))].iloc[0]
    return {
        "case (i) is exactly quadratic: its model's loss at w_0 equals the true one (relative 1e-3)":
            abs(se["loss_w0_quadratic"] / se["loss_w0_true"] - 1) < 1e-3,
        "both planes contain w_0, opt 1, opt 2 (grid covers their coordinates)": inside,
        "the models agree at opt 1 on the plane (test loss within 1e-4)":
            abs(plane["network_points_loss"][1] - plane["linearised_points_loss"][1]) < 1e-4,
        "opt 1 and opt 2 are distinct points (plane spans two directions)": bool(c[2, 1] > 0),
        "G is positive semi-definite (smallest eigenvalue > -1e-5 lambda_max)": bool(lams.min() > -1e-5 * lams[0]),
        f"Lanczos reproduces G's top {k} eigenvalues within 1%": lanczos_error(curv) < 0.01,
        "the true Hessian's largest eigenvalue is within 5% of G's": abs(curv["ritz_h"][0] / lams[0] - 1) < 0.05,
        f"case (i): the cone's 50% point within max({SE_BAND_DIMS}, {SE_BAND_FRACTION:g} d) of the exact one at every level":
            bool(case_i.size and np.all(case_i)),
        f"case (i): the cone's 1 - delta threshold within max({SE_BAND_DIMS}, {SE_BAND_FRACTION:g} d*) of the exact d*":
            bool(np.all(se_within_band(table, "threshold"))),
        "the optima fit the training data better than w_0 (train loss below ln C)":
            all(optima_metrics[k]["train_loss"] < np.log(10) for k in ("opt1", "opt2")),
    }


START_CHECK = ("case (iv): the Gauss-Newton model at w_0 predicts the network's d* within one grid step of the "
               "measured interval at every true-loss level the sweep reached")


def start_within_a_grid_step(table, d_values) -> bool:
    """Case (iv)'s check: at every level where the sweep measured d* = d_k (a grid value; the
    threshold itself lies in (d_{k-1}, d_k] since Adam's d* is an upper bound on the grid),
    the prediction lies in (d_{k-2}, d_{k+1}]: one grid step beyond the interval either way.
    False when there is no such level."""
    grid = sorted(float(d) for d in d_values)
    rows = table[(table["case"] == START_CASE) & np.isfinite(table["measured_d_star"].astype(float))]
    if not len(rows):
        return False
    ok = []
    for r in rows.to_dict("records"):
        k = grid.index(float(r["measured_d_star"]))
        lo = grid[k - 2] if k >= 2 else 0.0
        hi = grid[k + 1] if k + 1 < len(grid) else np.inf
        ok.append(lo < r["predicted_d_star"] <= hi)
    return bool(all(ok))


def start_summary(table, start: dict | None = None) -> str:
    """Markdown: case (iv) against case (iii) at the true-loss levels, every number from ``table``
    (and from ``start``, :func:`.linearised_predictions.start_model_minima`, when given)."""
    iv = table[table["case"] == START_CASE]
    iii = table[(table["case"] == list(CASES)[2]) & (table["levels from"] == "true")]
    if not len(iv):
        return "No case (iv) rows in this table (a results folder from before the Gauss-Newton model at w_0)."
    def fmt(x):
        return "beyond the grid" if np.isnan(x) else f"{x:,.0f}"
    parts = []
    for r in iv.to_dict("records"):
        other = iii[np.isclose(iii["fraction"], r["fraction"])]
        cone = fmt(float(other["predicted_d_star"].iloc[0])) if len(other) else "not computed"
        parts.append(f"at ε = {r['epsilon']:.3g} (f = {r['fraction']:g}) the model at w_0 predicts "
                     f"{fmt(r['predicted_d_star'])} (50% of draws: {fmt(r['predicted_centre'])}), the network "
                     f"measured {fmt(r['measured_d_star'])}, the cone from G at the optimum {cone}")
    r0 = iv.iloc[0]
    extra = ""
    if start is not None:
        extra = (f" Its minimum over all D directions is {float(start['full_minimum']):.3g} (the loss itself "
                 f"is never below 0), the gradient lies in the row space of M to a relative "
                 f"{float(start['residual']):.1e}, and M has rank {int(start['rank']):,}.")
    return ("**Case (iv), the Gauss-Newton model at w_0** (its value at w_0 is the true loss, "
            f"{r0['loss_w0_quadratic']:.3g}): " + "; ".join(parts) + "." + extra)
