"""The book's one plotting package: a house style and the figure types every chapter uses.

Every figure in the book is drawn by a function here from tidy records or arrays that
code computed beside it. The theory chapters' figure types live in :mod:`.theory`, the
linearised-network chapter's (landscape cuts, spectra) in :mod:`.curvature`; both are
re-exported here, so ``plotting.<name>`` reaches all of them. Colours follow the method (random affine blue, burn-in reds that
darken with t, lottery subspaces purple, lottery tickets green, random pruning grey), so a
method looks the same in every chapter.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HOUSE_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (6.0, 3.8),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "image.cmap": "Greys",
}

METHOD_COLORS = {
    "full": "black",
    "random_affine": "#1f5fbf",
    "burn_in": "#c0392b",
    "lottery_subspace": "#7b3fa0",
    "lottery_subspace_t": "#b07cc6",
    "lottery_ticket": "#2e8b57",
    "lottery_ticket_t": "#7fbf7f",
    "random_pruning": "#7f7f7f",
    "random_pruning_t": "#b5b5b5",
    "linearised": "#e67e22",
    "theory": "#d35400",
}

METHOD_LABELS = {
    "full": "full model",
    "random_affine": "random affine",
    "burn_in": "burn-in",
    "lottery_subspace": "lottery subspace (rewind to init)",
    "lottery_subspace_t": "lottery subspace (rewind to step t)",
    "lottery_ticket": "lottery ticket (rewind to init)",
    "lottery_ticket_t": "lottery ticket (rewind to step t)",
    "random_pruning": "random pruning at init",
    "random_pruning_t": "random pruning at step t",
    "linearised": "linearised network",
}

_BURN_IN_SHADES = {4: "#f1948a", 8: "#e74c3c", 16: "#922b21", 32: "#641e16"}


def use_house_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter).

    In a notebook it also makes every figure's PNG record the size of its smallest text in
    pixels (PNG text chunk ``dof:min_text_px``), which the browser check
    (``tools/browser_check.py``) turns into the size a reader sees at page width.
    """
    plt.rcParams.update(HOUSE_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    ip = get_ipython()
    if ip is not None and hasattr(ip, "display_formatter"):
        from matplotlib.figure import Figure
        plt.close(plt.figure())  # load the inline backend now: it registers its own PNG formatter on load
        ip.display_formatter.formatters["image/png"].for_type(Figure, _png_with_text_size)


def min_text_px(fig) -> float | None:
    """Size in pixels (at the figure's dpi) of the smallest visible, non-empty text of ``fig``."""
    from matplotlib.text import Text
    fig.draw_without_rendering()  # tick labels get their text only when the figure is drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * fig.dpi / 72 if sizes else None


def _png_with_text_size(fig):
    """The inline backend's PNG (tight bounding box), with ``dof:min_text_px`` in its metadata."""
    from IPython.core.pylabtools import print_figure
    if not fig.axes and not fig.lines and not fig.images:
        return None
    size = min_text_px(fig)
    meta = {"dof:min_text_px": f"{size:.2f}"} if size else {}
    return print_figure(fig, "png", bbox_inches="tight", base64=True, metadata=meta)


def glue_figure(name: str, fig) -> None:
    """Hand ``fig`` to the book under ``name`` (myst-nb ``glue``) instead of showing it in place.

    The markdown cell that follows shows it with a caption and alt text::

        ```{glue:figure} name
        :alt: what the figure shows, in words
        :name: name

        Caption.
        ```

    Outside a notebook the figure is simply closed.
    """
    try:
        from myst_nb import glue
        glue(name, fig, display=False)
    finally:
        plt.close(fig)


def method_color(method: str, t: int = 0) -> str:
    """Colour of a method; burn-in subspaces darken as the burn-in time ``t`` grows."""
    if method == "burn_in":
        if t in _BURN_IN_SHADES:
            return _BURN_IN_SHADES[t]
        return METHOD_COLORS["burn_in"]
    return METHOD_COLORS.get(method, "#333333")


def method_label(method: str, t: int = 0) -> str:
    """Legend text of a method, with its burn-in / rewind step where it has one."""
    base = METHOD_LABELS.get(method, method.replace("_", " "))
    if method == "burn_in" or (method.endswith("_t") and t):
        return f"{base}, t = {t}"
    return base


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


def save_figure(fig, path: str | Path) -> Path:
    """Save ``fig`` as PNG at ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted centres, extended by half a step at the ends."""
    centres = np.asarray(centres, dtype=float)
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[centres[0] - (mid[0] - centres[0])], mid, [centres[-1] + (centres[-1] - mid[-1])]])


# ----------------------------------------------------------------------------- lottery chapter (Figures 3, 6, 10, 11)
def compression_curves(ax, curves: Mapping[str, tuple], *, styles: Mapping | None = None,
                       baseline: float | None = None, chance: float | None = None,
                       ylabel: str = "best training accuracy"):
    """Accuracy against the compression ratio D/d on a log axis, one line per method (Figure 6).

    ``curves`` maps a legend label to ``(compression, mean)`` or ``(compression, mean,
    half_band)``; each curve is drawn in order of increasing compression, with a shaded
    band where ``half_band`` is given. ``baseline`` (the full model) is a dotted line and
    ``chance`` a thin grey one.
    """
    styles = styles or {}
    for label, curve in curves.items():
        x = np.asarray(curve[0], dtype=float)
        y = np.asarray(curve[1], dtype=float)
        order = np.argsort(x)
        x, y = x[order], y[order]
        kw = {"marker": "o", "ms": 3.5}
        kw.update(styles.get(label, {}))
        (line,) = ax.plot(x, y, label=label, **kw)
        if len(curve) > 2 and curve[2] is not None:
            half = np.nan_to_num(np.asarray(curve[2], dtype=float)[order])
            ax.fill_between(x, y - half, y + half, color=line.get_color(), alpha=0.12, lw=0)
    ax.set_xscale("log")
    if baseline is not None:
        ax.axhline(baseline, color="black", ls=":", lw=1.2, label="full model")
    if chance is not None:
        ax.axhline(chance, color="0.6", ls="-", lw=0.8, label="chance")
    ax.set_xlabel("compression ratio $D/d$")
    ax.set_ylabel(ylabel)
    ax.legend(ncol=2, fontsize=7)


def spectrum_and_accuracy(ax_spec, ax_acc, spectra: Mapping[str, np.ndarray], accuracy: Mapping[str, tuple], *,
                          styles: Mapping | None = None, ylabel: str = "best training accuracy",
                          baseline: float | None = None):
    """Singular values of a trajectory (top) aligned with accuracy against d (bottom), Figures 10-11.

    ``spectra`` maps a label to the singular values in descending order: the k-th value
    belongs to the k-th direction added, so it is drawn at d = k on the same log-2 axis
    as ``accuracy`` (label -> ``(d_values, accuracy)``).
    """
    styles = styles or {}
    all_d = []
    for label, s in spectra.items():
        s = np.asarray(s, dtype=float)
        k = np.arange(1, s.size + 1)
        ax_spec.plot(k, s, label=label, **dict(styles.get(label, {})))
        all_d.extend(k.tolist())
    ax_spec.set_yscale("log")
    ax_spec.set_ylabel("singular value $s_k$")
    all_d.extend(accuracy_against_d(ax_acc, accuracy, styles=styles, ylabel=ylabel, baseline=baseline))
    log2_dimension_axis(ax_spec, all_d)
    log2_dimension_axis(ax_acc, all_d)


def accuracy_against_d(ax, accuracy: Mapping[str, tuple], *, styles: Mapping | None = None,
                       ylabel: str = "best training accuracy", baseline: float | None = None) -> list:
    """Accuracy against d on a log-2 axis, one line per label (``label -> (d_values, accuracy)``),
    the full model dotted: the lower panels of Figures 10-11, for any split. Returns the d drawn."""
    styles = styles or {}
    all_d = []
    for label, (d, acc) in accuracy.items():
        kw = {"marker": "o", "ms": 3}
        kw.update(styles.get(label, {}))
        ax.plot(np.asarray(d, dtype=float), np.asarray(acc, dtype=float), label=label, **kw)
        all_d.extend(list(d))
    if baseline is not None:
        ax.axhline(baseline, color="black", ls=":", lw=1.2, label="full model")
    log2_dimension_axis(ax, all_d)
    ax.set_xlabel("training dimension $d$ (index $k$ of the direction added)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return all_d


def layer_keep_curves(ax, keep_fractions: Sequence[float], layers: Mapping[str, Sequence[float]], *,
                      floor: float = 1e-5, styles: Mapping | None = None):
    """Fraction of every layer kept against the overall keep fraction (log-log), for layer collapse.

    ``layers`` maps a layer name to its kept fraction at each of ``keep_fractions``; a
    fraction of 0 (a collapsed layer) is drawn at ``floor`` with a cross.
    """
    styles = styles or {}
    x = np.asarray(keep_fractions, dtype=float)
    for label, fr in layers.items():
        fr = np.asarray(fr, dtype=float)
        shown = np.where(fr > 0, fr, floor)
        (line,) = ax.plot(x, shown, marker="o", ms=3.5, label=label, **dict(styles.get(label, {})))
        dead = fr <= 0
        if dead.any():
            ax.plot(x[dead], shown[dead], ls="none", marker="x", ms=9, mew=2, color=line.get_color())
    ax.plot(x, x, color="0.6", lw=0.8, ls="--", label="kept fraction (all layers alike)")
    ax.axhline(floor, color="0.8", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("fraction of all D parameters kept")
    ax.set_ylabel("fraction of the layer kept (x: collapsed)")
    ax.legend(fontsize=7)


from .theory import (THEORY_STYLES, estimates_with_references, hit_probability_curves,  # noqa: E402,F401
                     image_grid, predicted_vs_simulated, projection_sketch)
from .curvature import eigenvalue_profile, plane_contours, spectral_densities  # noqa: E402,F401
