"""Chapter 05's figures (Figures 2, 3 and 12 of the paper), drawn from records alone."""
from __future__ import annotations

import numpy as np

from ..engine.methods import curve_label
from ..thresholds import curves_of, d_star_curve, success_matrix


def figure_phase_row(table, dstar, *, baseline: float | None = None, metric: str = "train_acc",
                     title: str | None = None):
    """Figure 2, one row: a P_s heat map per curve with d* drawn on it, then all d* superimposed.

    White is P_s = 0, black P_s = 1; the coloured curve is d*(level); the dashed line the
    full model's accuracy (``baseline``).
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    curves = curves_of(table)
    split = metric.split("_")[0]
    fig, axes = plt.subplots(1, len(curves) + 1, figsize=(3.3 * (len(curves) + 1), 3.2),
                             gridspec_kw={"width_ratios": [1.12 if i == len(curves) - 1 else 1
                                                           for i in range(len(curves))] + [1.05]})
    superimposed, styles = {}, {}
    for i, (ax, (method, t)) in enumerate(zip(axes, curves)):
        levels, d_values, P = success_matrix(table, method=method, t=int(t))
        ds = d_star_curve(dstar, method, t, levels)
        plotting.success_heatmap(ax, d_values, levels, P, d_star=ds, baseline=baseline,
                                 d_star_color=plotting.method_color(method, t), colorbar=i == len(curves) - 1,
                                 level_label=f"{split} accuracy threshold" if i == 0 else "",
                                 title=curve_label(method, t))
        _pow2_ticks(ax, d_values)
        lab = curve_label(method, t)
        superimposed[lab] = (levels, ds)
        styles[lab] = {"color": plotting.method_color(method, t)}
    plotting.threshold_curves(axes[-1], superimposed, level_label="", baseline=baseline, styles=styles)
    axes[-1].set_title("all $d^*$ curves")
    axes[-1].legend(loc="lower right", fontsize=7)
    _pow2_ticks(axes[-1], table["d"].unique())
    axes[-1].set_ylim(axes[0].get_ylim())
    if title:
        fig.suptitle(title, y=1.03, fontsize=10)
    fig.tight_layout()
    return fig


def figure_thresholds(dstars: dict, *, baselines: dict | None = None, max_level: float | None = None):
    """Figure 3 (random and burn-in curves): d* against the accuracy asked for, one panel per split.

    ``dstars`` maps a panel name (e.g. "train", "test") to a d* table; ``baselines`` the same
    names to the full model's accuracy (dotted line).
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    baselines = baselines or {}
    fig, axes = plt.subplots(1, len(dstars), figsize=(4.6 * len(dstars), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, dstar) in zip(axes, dstars.items()):
        curves, styles = {}, {}
        for method, t in curves_of(dstar):
            sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)].sort_values("level")
            if max_level is not None:
                sub = sub[sub["level"] <= max_level + 1e-9]
            lab = curve_label(method, t)
            curves[lab] = (sub["level"].to_numpy(), sub["d_star"].to_numpy(dtype=float))
            styles[lab] = {"color": plotting.method_color(method, t), "marker": "o", "ms": 2.5}
        plotting.threshold_curves(ax, curves, level_label=f"{name} accuracy threshold",
                                  baseline=baselines.get(name), styles=styles)
        ax.set_title(f"$d^*$ against {name} accuracy")
        _pow2_ticks(ax, dstar["d_star"].dropna().unique())
    fig.tight_layout()
    return fig


def figure_dimension_zero(zero_tables: dict, *, baselines: dict | None = None):
    """Figure 12: accuracy against d from d = 0 (the accuracy of w_0 or of the burn-in point w_t).

    ``zero_tables`` maps a panel name ("train", "test") to :func:`dimension_zero_table`. The
    d axis is linear near 0 and logarithmic beyond 1 (symlog), so d = 0 shows.
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    baselines = baselines or {}
    fig, axes = plt.subplots(1, len(zero_tables), figsize=(4.6 * len(zero_tables), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, z) in zip(axes, zero_tables.items()):
        for method, t in curves_of(z):
            sub = z[(z["method"] == method) & (z["t"] == t)].sort_values("d")
            col = plotting.method_color(method, t)
            ax.errorbar(sub["d"], sub["mean"], yerr=sub["std"], color=col, marker="o", ms=3, capsize=2,
                        label=curve_label(method, t))
        if baselines.get(name) is not None:
            ax.axhline(baselines[name], color="black", ls="--", lw=1.2, label="full model")
        ax.set_xscale("symlog", linthresh=1, linscale=0.6)
        ticks = [0] + [int(x) for x in sorted(set(z["d"])) if x >= 1]
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(x) for x in ticks], fontsize=7)
        ax.set_xlim(-0.25, max(ticks) * 1.3)
        ax.set_xlabel("training dimension $d$ (0: the centre $w_t$ itself)")
        ax.set_ylabel(f"best {name} accuracy")
        ax.legend()
    fig.tight_layout()
    return fig


def _pow2_ticks(ax, d_values, max_ticks: int = 7):
    """Ticks at powers of two spanning ``d_values``, labelled 2^k, at most ``max_ticks`` of them."""
    d = np.asarray([float(x) for x in d_values if np.isfinite(x) and x > 0])
    if d.size == 0:
        return
    lo, hi = int(np.floor(np.log2(d.min()))), int(np.ceil(np.log2(d.max())))
    step = max(1, -(-(hi - lo + 1) // max_ticks))
    ks = list(range(lo, hi + 1, step))
    ax.set_xticks([2.0 ** k for k in ks])
    ax.set_xticklabels([f"$2^{{{k}}}$" for k in ks])
    ax.minorticks_off()
