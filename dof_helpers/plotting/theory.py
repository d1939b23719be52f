"""Figure types of the theory chapters (02 Gaussian width, 03 escape theorem, 04 quadratic
well), in the house style of :mod:`dof_helpers.plotting`."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .style import METHOD_COLORS

THEORY_STYLES = {
    "simulation": {"color": "#1f5fbf", "marker": "o", "ms": 3.5, "lw": 1.2},
    "exact": {"color": "black", "ls": "-", "lw": 1.2},
    "bound": {"color": METHOD_COLORS["theory"], "ls": "--", "lw": 1.5},
    "threshold": {"color": "#7b3fa0", "ls": ":", "lw": 1.5},
}


def estimates_with_references(ax, x, estimates: Mapping[str, tuple], *, xlabel: str, ylabel: str,
                              references: Mapping[str, np.ndarray] | None = None,
                              styles: Mapping | None = None, n_se: float = 2.0,
                              log_x: bool = False, log_y: bool = False):
    """Monte-Carlo estimates with error bars beside exact values or bounds.

    ``estimates`` maps a legend label to ``(mean, stderr)`` arrays over ``x`` (bars are
    ``n_se`` standard errors); ``references`` maps a label to exact values or bounds over
    ``x``, drawn as lines (styles default to dashed). ``styles`` maps labels to matplotlib
    keyword arguments.
    """
    styles = styles or {}
    x = np.asarray(x, dtype=float)
    for label, y in (references or {}).items():
        kw = {"ls": "--", "lw": 1.3}
        kw.update(styles.get(label, {}))
        ax.plot(x, np.asarray(y, dtype=float), label=label, **kw)
    for label, (mean, se) in estimates.items():
        kw = {"fmt": "o", "ms": 4, "capsize": 2, "lw": 1.0}
        kw.update(styles.get(label, {}))
        ax.errorbar(x, np.asarray(mean, dtype=float), yerr=n_se * np.asarray(se, dtype=float),
                    label=f"{label} (±{n_se:g} s.e.)", **kw)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()


def hit_probability_curves(ax, curves: Mapping[str, tuple], *, bounds: Mapping[str, tuple] | None = None,
                           thresholds: Mapping[str, float] | None = None, styles: Mapping | None = None,
                           xlabel: str = "subspace dimension $d$",
                           ylabel: str = "probability the subspace hits the set"):
    """Probability that a random d-dimensional subspace meets a set, against d.

    ``curves`` maps a label to ``(d_values, prob)`` (simulated: markers and line, or exact:
    pass a style without markers); ``bounds`` maps a label to ``(d_values, value)`` drawn
    dashed (e.g. Gordon's bound); ``thresholds`` maps a label to a dimension drawn as a
    dotted vertical line (e.g. d* = D - w(S)^2).
    """
    styles = styles or {}
    for label, (d, p) in curves.items():
        kw = {"marker": "o", "ms": 3, "lw": 1.2}
        kw.update(styles.get(label, {}))
        ax.plot(np.asarray(d, dtype=float), np.asarray(p, dtype=float), label=label, **kw)
    for label, (d, p) in (bounds or {}).items():
        kw = dict(THEORY_STYLES["bound"])
        kw.update(styles.get(label, {}))
        ax.plot(np.asarray(d, dtype=float), np.asarray(p, dtype=float), label=label, **kw)
    for label, d0 in (thresholds or {}).items():
        kw = dict(THEORY_STYLES["threshold"])
        kw.update(styles.get(label, {}))
        ax.axvline(float(d0), label=label, **kw)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()


def predicted_vs_simulated(ax, predictions: Mapping[str, tuple], *, xlabel: str = "simulated threshold $d^*$",
                           ylabel: str = "predicted threshold", styles: Mapping | None = None):
    """Scatter of predicted against simulated thresholds with the diagonal y = x.

    ``predictions`` maps a label (a prediction method) to ``(simulated, predicted)`` arrays.
    """
    styles = styles or {}
    lo, hi = np.inf, -np.inf
    for label, (sim, pred) in predictions.items():
        sim = np.asarray(sim, dtype=float)
        pred = np.asarray(pred, dtype=float)
        ok = np.isfinite(sim) & np.isfinite(pred)
        kw = {"marker": "o", "ls": "none", "ms": 4, "alpha": 0.8}
        kw.update(styles.get(label, {}))
        ax.plot(sim[ok], pred[ok], label=label, **kw)
        if ok.any():
            lo, hi = min(lo, sim[ok].min(), pred[ok].min()), max(hi, sim[ok].max(), pred[ok].max())
    if np.isfinite(lo):
        ax.plot([lo, hi], [lo, hi], color="black", lw=1.0, ls="-", label="$y = x$")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()


def projection_sketch(ax, R_values: Sequence[float], radius: float = 0.6):
    """2-D picture of Definition 3.2: a disk of ``radius`` at distance R from the init (origin).

    For each R the disk's directions from the origin form an arc of the unit circle of
    half-angle arcsin(radius / R): the closer the disk, the larger the arc it projects to.
    """
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), color="black", lw=1.0, label="unit circle around $w_0$")
    ax.plot([0], [0], "k+", ms=10)
    ax.annotate("$w_0$", (0.05, -0.2))
    colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(R_values)))
    for R, col in zip(R_values, colors):
        ax.fill(R + radius * np.cos(t), radius * np.sin(t), color=col, alpha=0.25, lw=0)
        ax.plot(R + radius * np.cos(t), radius * np.sin(t), color=col, lw=1.0)
        half = np.arcsin(min(radius / R, 1.0))
        for s in (-1, 1):
            ax.plot([0, R * np.cos(half) ** 2 * 1.0 / np.cos(half)], [0, s * R * np.cos(half) * np.sin(half) / np.cos(half)],
                    color=col, lw=0.8, ls=":")
        arc = np.linspace(-half, half, 60)
        ax.plot(np.cos(arc), np.sin(arc), color=col, lw=4, solid_capstyle="butt",
                label=f"R = {R:g}: projected arc, half-angle {np.degrees(half):.0f}°")
    ax.set_aspect("equal")
    ax.set_xlabel("direction along $w^* - w_0$ (length units)")
    ax.set_ylabel("orthogonal direction (length units)")
    ax.legend(loc="upper left", fontsize=7)


def image_grid(fig, images: np.ndarray, titles: Sequence[str], *, ncols: int = 10):
    """Show a row-major grid of images (NHWC, any normalisation) with a title above each.

    Each image is rescaled to [0, 1] on its own, so mean-subtracted inputs display well.
    """
    images = np.asarray(images, dtype=float)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="Greys_r" if img.shape[-1] == 1 else None)
        ax.set_title(titles[i], fontsize=8)
    return axes


