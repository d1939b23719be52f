"""Chapter 07's figures, assembled from a results folder's arrays and records (house style)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import plotting

CURVE_STYLES = {"network": {"color": plotting.METHOD_COLORS["random_affine"], "ls": "-"},
                "linearised": {"color": plotting.METHOD_COLORS["linearised"], "ls": "--"},
                "linearised_se": {"color": "#7f7f7f", "ls": ":"}}
CURVE_LABELS = {"network": "network", "linearised": "linearised (cross-entropy)",
                "linearised_se": "linearised (squared error)"}
CASE_STYLES = {"(i) linearised, squared error": {"color": "#7f7f7f"},
               "(ii) linearised, cross-entropy": {"color": plotting.METHOD_COLORS["linearised"]},
               "(iii) network, cross-entropy": {"color": plotting.METHOD_COLORS["random_affine"]},
               "(iv) network, cross-entropy, Gauss-Newton model at w_0": {"color": "#2e8b57"}}


def figure_planes(plane: dict):
    """Figure 9, first two columns: test loss on the plane through w_0, opt1, opt2, for the
    network and for its linearisation around opt1 (one colour scale, from the network)."""
    from matplotlib.colors import LogNorm
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.9), constrained_layout=True)
    net = plane["network_loss"]
    levels = np.geomspace(np.nanmin(net), np.nanpercentile(net, 95), 15)  # loss spans decades: log spacing
    for ax, name, title in zip(axes, ("network", "linearised"), ("network", "linearised around opt 1")):
        cs = plotting.plane_contours(ax, plane["a"], plane["b"], plane[name + "_loss"], plane["coords"],
                                     levels=levels, title=title, colorbar=False, norm=LogNorm(levels[0], levels[-1]))
    bar = fig.colorbar(cs, ax=list(axes), label="test loss (top colour: this value or more)", fraction=0.04,
                       shrink=0.8)
    bar.set_ticks(levels[::2])
    bar.set_ticklabels([f"{v:.3g}" for v in levels[::2]])
    bar.minorticks_off()
    return fig


def accuracy_tables(records: dict, split: str, delta: float):
    """Per curve: ``(P_s table, d* table)`` on ``split`` accuracy (:func:`thresholds.curve_tables`)."""
    from ..thresholds import curve_tables
    return {stem: curve_tables(recs, f"{split}_acc", delta=delta) for stem, recs in records.items() if recs}


def panel_levels(tables: dict) -> list[float]:
    """Three accuracy levels for the P_s panels: 80%, 90% and 97% of the best accuracy seen."""
    top = max(float(t["level"].max()) for t, _ in tables.values())
    return sorted({round(top * f, 2) for f in (0.8, 0.9, 0.97)})


def figure_curves(records: dict, delta: float, stems=("network", "linearised")):
    """Figure 9, last column, train and test: P_s against d at three accuracy levels (top)
    and d* against the accuracy level (bottom), for the network and the linearised network.
    Returns ``(figure, {split: {stem: d* table}})``."""
    from ..thresholds import d_star_curve
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.6), constrained_layout=True)
    dstars = {}
    for col, split in enumerate(("train", "test")):
        tables = accuracy_tables({s: records[s] for s in stems}, split, delta)
        dstars[split] = {s: d for s, (_, d) in tables.items()}
        levels = panel_levels(tables)
        shades = dict(zip(levels, (0.35, 0.65, 1.0)))
        ax = axes[0, col]
        for stem, (table, _) in tables.items():
            for lv in levels:
                sub = table[np.isclose(table["level"], lv)].sort_values("d")
                ax.plot(sub["d"], sub["p_success"], alpha=shades[lv], label=f"{CURVE_LABELS[stem]}, {lv:.2f}",
                        **CURVE_STYLES[stem])
        plotting.log2_dimension_axis(ax, sorted({d for t, _ in tables.values() for d in t["d"]}))
        ax.set_xlabel("training dimension $d$")
        ax.set_ylabel(f"$P_s$ ({split} accuracy $\\geq$ level)")
        ax.axhline(1 - delta, color="black", lw=0.8, ls=":")
        ax.legend(fontsize=7, title="curve, level", title_fontsize=8)
        ax = axes[1, col]
        curves = {}
        for stem, (table, dstar) in tables.items():
            lv = np.sort(table["level"].unique())
            curves[CURVE_LABELS[stem]] = (lv, d_star_curve(dstar, "random_affine", 0, lv))
        plotting.threshold_curves(ax, curves, level_label=f"{split} accuracy level",
                                  styles={CURVE_LABELS[s]: CURVE_STYLES[s] for s in stems})
    return fig, dstars


def figure_spectra(curv: dict, sigma_fraction: float = 0.01):
    """Left: every eigenvalue of G (cross-entropy) and of J^T J / N (squared error) by rank,
    with the Lanczos estimates of G's top 20. Right: the SLQ density of the true Hessian H
    beside G's exact eigenvalue density, smoothed with the same Gaussian."""
    from ..lanczos import spectral_density
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.6), constrained_layout=True)
    plotting.eigenvalue_profile(left, {"G (cross-entropy)": curv["ce_lams"], "$J^T J / N$ (squared error)":
                                       curv["se_lams"]},
                                markers={"Lanczos on G, top 20": curv["lanczos_g_top"]},
                                styles={"G (cross-entropy)": {"color": plotting.METHOD_COLORS["linearised"]},
                                        "$J^T J / N$ (squared error)": {"color": "#7f7f7f"},
                                        "Lanczos on G, top 20": {"color": "black"}})
    lam_max = float(curv["ce_lams"][0])
    sigma = sigma_fraction * lam_max
    nodes = curv["slq_nodes"]
    grid = np.linspace(min(nodes.min(), 0.0) - 5 * sigma, max(nodes.max(), lam_max) + 5 * sigma, 1500)
    g = np.asarray(curv["ce_lams"], float)
    dens = {"H, stochastic Lanczos quadrature": spectral_density(nodes, curv["slq_weights"], grid, sigma),
            "G, exact eigenvalues": spectral_density(g[None], np.full((1, g.size), 1.0 / g.size), grid, sigma)}
    plotting.spectral_densities(right, grid, dens, styles={"H, stochastic Lanczos quadrature": {"color": "black"},
                                                          "G, exact eigenvalues": {
                                                              "color": plotting.METHOD_COLORS["linearised"],
                                                              "ls": "--"}})
    right.set_title(f"smoothed with a Gaussian of width {sigma_fraction:g} $\\lambda_{{max}}(G)$", fontsize=9)
    return fig


def figure_predictions(table):
    """Predicted against measured d* per case and loss level: the cone's 1 - delta threshold
    (filled circles) and eq. 3.4 (open) at the quadratic model's levels, the cone at levels
    from the true loss at w_0 (triangles), and case (i) against its exact least-squares d*
    (squares); case (iv), the exact minima of the Gauss-Newton model at w_0, as diamonds.
    Points whose measured d* lies beyond the grid, or whose prediction is 0 (w_0 already
    inside the level set), cannot be drawn on log axes: the table lists them."""
    fig, ax = plt.subplots(figsize=(5.8, 4.6), constrained_layout=True)
    lo, hi = np.inf, 0.0
    for case, sub in table.groupby("case", sort=False):
        style = CASE_STYLES.get(case, {})
        by = sub["predicted by"] if "predicted by" in sub else "cone (eq. 3.3)"
        cone = sub[by != "exact minima of the model"]
        quad, true = cone[cone["levels from"] == "quadratic"], cone[cone["levels from"] == "true"]
        start = sub[by == "exact minima of the model"]
        pairs = [(quad, "measured_d_star", "predicted_d_star", "o", "full", "cone"),
                 (quad, "measured_d_star", "eq34", "o", "none", "eq. 3.4"),
                 (true, "measured_d_star", "predicted_d_star", "^", "full", "cone, true-loss levels"),
                 (quad, "exact_d_star", "predicted_d_star", "s", "full", "cone vs exact least squares"),
                 (start, "measured_d_star", "predicted_d_star", "D", "full", "true-loss levels")]
        for frame, xcol, ycol, marker, fill, what in pairs:
            x, y = frame[xcol].to_numpy(float), frame[ycol].to_numpy(float)
            ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
            if not ok.any():
                continue
            ax.plot(x[ok], y[ok], ls="none", marker=marker, ms=6, fillstyle=fill, label=f"{case}: {what}", **style)
            lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
    if np.isfinite(lo):
        ax.plot([lo / 2, hi * 2], [lo / 2, hi * 2], color="black", lw=0.8, label="$y = x$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured $d^*$ (training loss level)")
    ax.set_ylabel("predicted $d^*$")
    ax.legend(fontsize=7, loc="upper left")
    return fig
