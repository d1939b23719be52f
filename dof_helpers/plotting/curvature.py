"""Figure types of the linearised-network chapter: landscape cuts and curvature spectra."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

POINT_STYLE = {"marker": "o", "ms": 6, "mec": "white", "mew": 1.0, "ls": "none"}
POINT_COLORS = ("#1f5fbf", "#c0392b", "#2e8b57")


def plane_contours(ax, a, b, values, coords, *, labels: Sequence[str] = ("$w_0$", "opt 1", "opt 2"),
                   levels=None, title: str | None = None, cbar_label: str = "test loss", colorbar: bool = True,
                   norm=None):
    """Filled contours of ``values`` (len(b), len(a)) over the plane coordinates (a, b), with
    the points ``coords`` (k, 2) marked and labelled (the paper's Figure 9, left columns).

    ``levels``: contour levels (default: 14 levels between the smallest value and its
    95th percentile, so a far-off blow-up does not flatten the picture; larger values
    share the top colour). ``norm``: a matplotlib colour norm (e.g. ``LogNorm``).
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(b), len(a)):
        raise ValueError(f"values has shape {values.shape}; expected (len(b), len(a)) = {(len(b), len(a))}")
    if levels is None:
        finite = values[np.isfinite(values)]
        levels = np.linspace(finite.min(), np.percentile(finite, 95), 15)
    cs = ax.contourf(a, b, np.clip(values, None, levels[-1]), levels=levels, cmap="viridis", extend="neither",
                     norm=norm)
    ax.contour(a, b, np.clip(values, None, levels[-1]), levels=levels, colors="white", linewidths=0.4, alpha=0.5)
    for (x, y), label, color in zip(np.asarray(coords), labels, POINT_COLORS):
        ax.plot([x], [y], color=color, **POINT_STYLE)
        ax.annotate(label, (x, y), xytext=(4, 4), textcoords="offset points", color="white", fontsize=9,
                    fontweight="bold")
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel("direction to opt 1")
    ax.set_ylabel("orthogonal direction to opt 2")
    if title:
        ax.set_title(title)
    if colorbar:
        plt.colorbar(cs, ax=ax, label=cbar_label, fraction=0.046, pad=0.03)
    return cs


def eigenvalue_profile(ax, spectra: Mapping[str, np.ndarray], *, markers: Mapping[str, np.ndarray] | None = None,
                       floor: float = 1e-8, styles: Mapping | None = None):
    """Eigenvalues against their rank on log-log axes, one line per matrix; values below
    ``floor`` times the largest are cut (flat directions, counted in the legend).

    ``markers`` maps a label to a few eigenvalues (e.g. Lanczos estimates of the top ones)
    drawn as points at ranks 1, 2, ...
    """
    styles = styles or {}
    for label, lams in spectra.items():
        lams = np.sort(np.asarray(lams, dtype=float))[::-1]
        keep = lams > floor * lams[0]
        ranks = np.arange(1, lams.size + 1)
        ax.plot(ranks[keep], lams[keep], label=f"{label} ({int((~keep).sum()):,} below {floor:g} $\\lambda_{{max}}$)",
                **dict(styles.get(label, {})))
    for label, vals in (markers or {}).items():
        vals = np.asarray(vals, dtype=float)
        ax.plot(np.arange(1, vals.size + 1), vals, ls="none", marker="x", ms=5, label=label,
                **dict(styles.get(label, {})))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank $i$")
    ax.set_ylabel("eigenvalue $\\lambda_i$")
    ax.legend(loc="lower left")


def spectral_densities(ax, grid, densities: Mapping[str, np.ndarray], *, styles: Mapping | None = None,
                       xlabel: str = "eigenvalue $\\lambda$"):
    """Smoothed spectral densities on ``grid`` (log density axis), one line per matrix."""
    styles = styles or {}
    for label, dens in densities.items():
        ax.plot(grid, np.maximum(np.asarray(dens, dtype=float), 1e-12), label=label, **dict(styles.get(label, {})))
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
