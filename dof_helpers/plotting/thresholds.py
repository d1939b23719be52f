"""Figure types over the subspace dimension d: success-probability heatmaps and curves,
threshold-dimension curves (Definition 2.1 of the paper), metrics against d."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np


def log2_dimension_axis(ax, values: Sequence[float], axis: str = "x") -> None:
    """Log-2 scale with ticks at the powers of two in ``values`` (training dimensions d)."""
    values = np.asarray([v for v in values if v > 0])
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    setter("log", base=2)
    if values.size:
        lo, hi = np.floor(np.log2(values.min())), np.ceil(np.log2(values.max()))
        step = max(1, int(np.ceil((hi - lo + 1) / 6)))  # at most 6 labels: "16,384" needs room
        ticks = 2.0 ** np.arange(lo, hi + 1, step)
        (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks)
        (ax.set_xticklabels if axis == "x" else ax.set_yticklabels)([f"{int(t):,}" for t in ticks])
    # a log-2 axis over a short range labels its minor ticks too, on top of the major ones
    (ax.xaxis if axis == "x" else ax.yaxis).set_minor_formatter(matplotlib.ticker.NullFormatter())
    (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(matplotlib.ticker.NullLocator())


def success_heatmap(ax, d_values: Sequence[float], levels: Sequence[float], prob: np.ndarray, *,
                    level_label: str = "training accuracy threshold", d_star=None,
                    d_star_color: str = "#c0392b", baseline: float | None = None,
                    log_d: bool = True, title: str | None = None, colorbar: bool = True):
    """Black-and-white map of a success probability ``prob[level, d]`` (paper eq. 2.3).

    White is P_s = 0 and black P_s = 1, as in the paper's Figures 2 and 5. ``d_star``
    (one threshold dimension per level, NaN where never reached) is drawn as a curve and
    ``baseline`` (the full model's value) as a dashed horizontal line.
    """
    d_values = np.asarray(d_values, dtype=float)
    levels = np.asarray(levels, dtype=float)
    prob = np.asarray(prob, dtype=float)
    if prob.shape != (levels.size, d_values.size):
        raise ValueError(f"prob has shape {prob.shape}; expected (len(levels), len(d_values)) = "
                         f"{(levels.size, d_values.size)}")
    x_edges = _edges(np.log2(d_values) if log_d else d_values)
    if log_d:
        x_edges = 2.0 ** x_edges
    y_edges = _edges(levels)
    mesh = ax.pcolormesh(x_edges, y_edges, prob, cmap="Greys", vmin=0.0, vmax=1.0, shading="flat")
    if log_d:
        log2_dimension_axis(ax, d_values)
    if d_star is not None:
        d_star = np.asarray(d_star, dtype=float)
        ok = np.isfinite(d_star)
        ax.plot(d_star[ok], levels[ok], color=d_star_color, lw=2.0, label="$d^*$")
    if baseline is not None:
        ax.axhline(baseline, color="black", ls="--", lw=1.2, label="full model")
    ax.set_xlabel("training dimension $d$")
    ax.set_ylabel(level_label)
    ax.grid(False)
    if title:
        ax.set_title(title)
    if colorbar:
        plt.colorbar(mesh, ax=ax, label="$P_s$", fraction=0.05)
    return mesh


def threshold_curves(ax, curves: Mapping[str, tuple], *, level_label: str = "accuracy threshold",
                     log_d: bool = True, baseline: float | None = None, styles: Mapping | None = None,
                     bands: Mapping[str, tuple] | None = None):
    """Superimpose threshold-dimension curves d*(level) for several methods (Figure 2, last column).

    ``curves`` maps a legend label to ``(levels, d_star)``; ``styles`` optionally maps the
    same label to matplotlib keyword arguments (colour, line style). ``bands`` optionally
    maps a label to ``(levels, d_low, d_high)``, e.g. the bootstrap band of
    :func:`thresholds.d_star_bootstrap`, shaded in the curve's colour at the levels where the
    curve itself is defined; an infinite upper bound (replicates that never reach the level)
    is drawn to the right edge of the axis.
    """
    styles, bands = styles or {}, bands or {}
    all_d, lines = [], {}
    for label, (levels, d_star) in curves.items():
        levels = np.asarray(levels, dtype=float)
        d_star = np.asarray(d_star, dtype=float)
        ok = np.isfinite(d_star)
        (lines[label],) = ax.plot(d_star[ok], levels[ok], label=label, **dict(styles.get(label, {})))
        all_d.extend(d_star[ok].tolist())
    for label, (levels, lo, hi) in bands.items():
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        all_d.extend(lo[np.isfinite(lo)].tolist() + hi[np.isfinite(hi)].tolist())
    edge = 2.0 * max(all_d) if all_d else 1.0
    for label, (levels, lo, hi) in bands.items():
        levels, lo, hi = (np.asarray(v, dtype=float) for v in (levels, lo, hi))
        keep = np.isfinite(lo)
        if label in curves:  # shade around the curve only: not at levels where its d* is undefined
            c_lv, c_d = (np.asarray(v, dtype=float) for v in curves[label])
            defined = {round(float(x), 6) for x, y in zip(c_lv, c_d) if np.isfinite(y)}
            keep &= np.array([round(float(x), 6) in defined for x in levels], dtype=bool)
        colour = lines[label].get_color() if label in lines else styles.get(label, {}).get("color")
        ax.fill_betweenx(levels[keep], lo[keep], np.where(np.isfinite(hi), hi, edge)[keep],
                         color=colour, alpha=0.15, lw=0)
    if log_d and all_d:
        log2_dimension_axis(ax, all_d)
        if bands:
            ax.set_xlim(right=min(ax.get_xlim()[1], edge))
    if baseline is not None:
        ax.axhline(baseline, color="black", ls=":", lw=1.2, label="full model")
    ax.set_xlabel("threshold training dimension $d^*$")
    ax.set_ylabel(level_label)
    ax.legend()


def success_curves(ax, curves: Mapping[str, tuple], *, styles: Mapping | None = None, log_d: bool = True,
                   ylabel: str = "success probability $P_s$"):
    """P_s against d with exact binomial (Clopper-Pearson) error bars, one line per curve.

    ``curves`` maps a legend label to ``(d_values, p, p_low, p_high)`` (the columns
    ``p_success``, ``p_low``, ``p_high`` of :func:`thresholds.success_probability` at one level).
    The curves are drawn side by side, a few percent apart in d, so their bars do not hide
    one another.
    """
    styles = styles or {}
    all_d = []
    n = len(curves)
    for i, (label, (d, p, lo, hi)) in enumerate(curves.items()):
        d, p, lo, hi = (np.asarray(v, dtype=float) for v in (d, p, lo, hi))
        kw = {"marker": "o", "ms": 3, "capsize": 2, "lw": 1.4}
        kw.update(styles.get(label, {}))
        shift = 2.0 ** (0.06 * (i - (n - 1) / 2))  # curves side by side at each d, bars apart
        ax.errorbar(d * shift, p, yerr=np.vstack([p - lo, hi - p]), label=label, **kw)
        all_d.extend(d.tolist())
    if log_d and all_d:
        log2_dimension_axis(ax, all_d)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("training dimension $d$")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def metric_curves(ax, x, series: Mapping[str, np.ndarray], *, xlabel: str, ylabel: str,
                  styles: Mapping | None = None, band: Mapping[str, np.ndarray] | None = None):
    """Lines of a metric against ``x`` (epochs, d, compression ratio), one per label.

    ``band`` optionally maps a label to the half-width of a shaded band (e.g. one standard
    deviation over seeds).
    """
    styles = styles or {}
    x = np.asarray(x, dtype=float)
    for label, y in series.items():
        y = np.asarray(y, dtype=float)
        (line,) = ax.plot(x, y, label=label, **dict(styles.get(label, {})))
        if band is not None and label in band:
            half = np.asarray(band[label], dtype=float)
            ax.fill_between(x, y - half, y + half, color=line.get_color(), alpha=0.15, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted centres, extended by half a step at the ends."""
    centres = np.asarray(centres, dtype=float)
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[centres[0] - (mid[0] - centres[0])], mid, [centres[-1] + (centres[-1] - mid[-1])]])
