"""Chapter 05's figures (Figures 2, 3 and 12 of the paper), drawn from records alone."""
from __future__ import annotations

import numpy as np

from ..engine.methods import curve_label
from ..thresholds import curves_of, d_star_curve, success_matrix


def figure_phase_row(table, dstar, *, baseline: float | None = None, metric: str = "train_acc",
                     title: str | None = None, ncols: int | None = None):
    """Figure 2, one row: a P_s heat map per curve with d* drawn on it, then all d* superimposed.

    White is P_s = 0, black P_s = 1; the coloured curve is d*(level); the dashed line the
    full model's accuracy (``baseline``). ``ncols`` wraps the panels into rows of that many
    (default: one row); a spare panel at the end then holds the legend of the last one.
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    curves = curves_of(table)
    split = metric.split("_")[0]
    n_panels = len(curves) + 1
    ncols = min(ncols or n_panels, n_panels)
    nrows = -(-n_panels // ncols)
    ratios = ([1.12 if i == len(curves) - 1 else 1 for i in range(len(curves))] + [1.05]
              if nrows == 1 else None)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.2 * nrows), squeeze=False,
                             gridspec_kw={"width_ratios": ratios} if ratios else None)
    axes = list(axes.ravel())
    superimposed, styles = {}, {}
    for i, (ax, (method, t)) in enumerate(zip(axes, curves)):
        levels, d_values, P = success_matrix(table, method=method, t=int(t))
        ds = d_star_curve(dstar, method, t, levels)
        last_in_row = i == len(curves) - 1 or (nrows > 1 and (i + 1) % ncols == 0)
        plotting.success_heatmap(ax, d_values, levels, P, d_star=ds, baseline=baseline,
                                 d_star_color=plotting.method_color(method, t), colorbar=last_in_row,
                                 level_label=f"{split} accuracy threshold" if i % ncols == 0 else "",
                                 title=curve_label(method, t))
        _pow2_ticks(ax, d_values)
        lab = curve_label(method, t)
        superimposed[lab] = (levels, ds)
        styles[lab] = {"color": plotting.method_color(method, t)}
    ax_all, spare = axes[len(curves)], axes[len(curves) + 1:]
    plotting.threshold_curves(ax_all, superimposed, level_label="", baseline=baseline, styles=styles)
    ax_all.set_title("all $d^*$ curves")
    if spare:  # the legend goes into the first spare panel, off the curves
        handles, labels = ax_all.get_legend_handles_labels()
        ax_all.get_legend().remove()
        spare[0].legend(handles, labels, loc="center left", title="$d^*$ curves")
        for ax in spare:
            ax.axis("off")
    else:
        ax_all.legend(loc="lower right", fontsize=7)
    _pow2_ticks(ax_all, table["d"].unique())
    ax_all.set_ylim(axes[0].get_ylim())
    if title:
        fig.suptitle(title, y=1.03 if nrows == 1 else 1.01, fontsize=10)
    fig.tight_layout()
    return fig


def figure_thresholds(dstars: dict, *, baselines: dict | None = None, max_level: float | None = None,
                      bands: dict | None = None, band: float | None = None):
    """Figure 3 (random and burn-in curves): d* against the accuracy asked for, one panel per split.

    ``dstars`` maps a panel name (e.g. "train", "test") to a d* table; ``baselines`` the same
    names to the full model's accuracy (dotted line); ``bands`` the same names to
    :func:`thresholds.d_star_bootstrap` frames, shaded around each curve (``band``: the
    share of replicates the band covers, named in the legend).
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    baselines, bands = baselines or {}, bands or {}
    fig, axes = plt.subplots(1, len(dstars), figsize=(4.6 * len(dstars), 3.4 + 0.4 * bool(bands)), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, dstar) in zip(axes, dstars.items()):
        curves, styles, shaded = {}, {}, {}
        for method, t in curves_of(dstar):
            sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)].sort_values("level")
            if max_level is not None:
                sub = sub[sub["level"] <= max_level + 1e-9]
            lab = curve_label(method, t)
            curves[lab] = (sub["level"].to_numpy(), sub["d_star"].to_numpy(dtype=float))
            styles[lab] = {"color": plotting.method_color(method, t), "marker": "o", "ms": 2.5}
            if name in bands:
                b = bands[name]
                b = b[(b["method"] == method) & (b["t"] == t)].sort_values("level")
                if max_level is not None:
                    b = b[b["level"] <= max_level + 1e-9]
                shaded[lab] = (b["level"].to_numpy(), b["d_low"].to_numpy(float), b["d_high"].to_numpy(float))
        plotting.threshold_curves(ax, curves, level_label=f"{name} accuracy threshold",
                                  baseline=baselines.get(name), styles=styles, bands=shaded)
        ax.set_title(f"$d^*$ against {name} accuracy")
        _pow2_ticks(ax, dstar["d_star"].dropna().unique())
    if bands:
        handles, labels = axes[0].get_legend_handles_labels()
        for ax in axes:
            ax.get_legend().remove()
        note = f"shaded: {band:.0%} bootstrap band over seeds" if band is not None else "shaded: bootstrap band"
        fig.tight_layout(rect=(0, 0.14, 1, 1))
        fig.legend(handles, labels, loc="lower center", ncol=3, title=note, title_fontsize=8)
    else:
        fig.tight_layout()
    return fig


def figure_success_slices(tables: dict, levels: dict, *, confidence: float = 0.95):
    """P_s against d at one accuracy level per panel, with exact (Clopper-Pearson) error bars.

    ``tables`` maps a panel name ("train", "test") to a :func:`thresholds.success_probability`
    table, ``levels`` the same names to the level shown. ``confidence`` only labels the
    axis: the intervals are the table's ``p_low`` / ``p_high``.
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    fig, axes = plt.subplots(1, len(tables), figsize=(4.6 * len(tables), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, table) in zip(axes, tables.items()):
        lv = levels[name]
        at = table[np.isclose(table["level"], lv)]
        curves, styles = {}, {}
        for method, t in curves_of(at):
            sub = at[(at["method"] == method) & (at["t"] == t)].sort_values("d")
            lab = curve_label(method, t)
            curves[lab] = (sub["d"], sub["p_success"], sub["p_low"], sub["p_high"])
            styles[lab] = {"color": plotting.method_color(method, t)}
        plotting.success_curves(ax, curves, styles=styles,
                                ylabel=f"$P_s$ ({confidence:.0%} Clopper-Pearson interval)")
        ax.set_title(f"{name} accuracy level {lv:.2f}")
        _pow2_ticks(ax, at["d"].unique())
        if ax is not axes[0]:
            ax.set_ylabel("")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes:
        ax.get_legend().remove()
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
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
        ax.set_xticklabels([str(x) for x in ticks], fontsize=8)
        ax.set_xlim(-0.25, max(ticks) * 1.3)
        ax.set_xlabel("training dimension $d$ (0: the centre $w_t$ itself)")
        ax.set_ylabel(f"best {name} accuracy")
    # one legend below the panels: inside, it covered the d = 0 points or the rising curves
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    return fig


def figure_beyond_grid(by_basis: dict, full: dict, *, fraction: float = 0.9):
    """Mean best accuracy (+- one standard deviation over seeds) against d, one panel per split,
    one line per (curve, basis): how close each subspace comes to the full model, up to d = D.

    ``by_basis`` maps a basis name to its records (dense: the paper's grid; Fastfood: beyond
    it); ``full`` maps a split ("train", "test") to the full model's accuracy, drawn dashed,
    with ``fraction`` of it dotted (the level of Li et al.'s d_int90). Only complete cells are
    expected (:func:`.phase_transition.complete_cells`). Each set of records after the first has
    its own line style (dashed, dotted, dash-dotted) and marker.
    Only the curves (method, t) present under every basis are drawn, so that each has a partner.
    """
    import matplotlib.pyplot as plt
    from .. import plotting
    fig, axes = plt.subplots(1, len(full), figsize=(5.0 * len(full), 3.8), sharey=False)
    axes = np.atleast_1d(axes)
    all_d = []
    common = set.intersection(*({(r["method"], int(r["t"])) for r in recs} for recs in by_basis.values()))
    for ax, (split, acc_full) in zip(axes, full.items()):
        for i, (basis, records) in enumerate(by_basis.items()):
            cells: dict = {}
            for r in records:
                if r.get("status") == "ok" and (r["method"], int(r["t"])) in common:
                    cells.setdefault((r["method"], int(r["t"])), {}).setdefault(int(r["d"]), []).append(
                        float(r[f"best_{split}_acc"]))
            for (method, t), by_d in sorted(cells.items()):
                d = np.array(sorted(by_d))
                mean = np.array([np.mean(by_d[x]) for x in d])
                sd = np.array([np.std(by_d[x], ddof=1) if len(by_d[x]) > 1 else 0.0 for x in d])
                ax.errorbar(d, mean, yerr=sd, color=plotting.method_color(method, t), ls=("-", "--", ":", "-.")[i % 4],
                            marker="osD^"[i % 4], ms=3, capsize=2, label=f"{curve_label(method, t)}, {basis}")
                all_d.extend(d.tolist())
        ax.axhline(acc_full, color="black", ls="--", lw=1.2, label="full model")
        ax.axhline(fraction * acc_full, color="0.4", ls=":", lw=1.0, label=f"{fraction:.0%} of the full model")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training dimension $d$")
        ax.set_ylabel(f"best {split} accuracy")
        ax.set_title(f"{split} accuracy")
        _pow2_ticks(ax, all_d)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
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


def figure_placeholder(message: str):
    """A small figure that says, in words, why a figure cannot be drawn yet (e.g. a sweep that
    has not reached two complete d): the book shows the reason instead of a missing image."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.0, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    return fig
