"""Figure types of the pruning taxonomy (Figures 3, 6, 10, 11 of the paper): accuracy against
compression, lottery-subspace spectra, per-layer kept fractions."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..engine.methods import NESTED_METHODS
from .style import method_color, method_label
from .thresholds import log2_dimension_axis


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


def lottery_seed_curves(frame, metric: str, t: int, few: int = 4) -> tuple[dict, dict]:
    """Per (method, seed) of the lottery subspaces in ``frame`` (columns method, seed, d and
    ``best_<metric>``): ``(accuracy, styles)`` for :func:`accuracy_against_d`.

    Up to ``few`` seeds, each seed has its own line style and legend entry; with more, all
    seeds of a method share one thin style and one legend entry (the other labels start
    with "_", which matplotlib leaves out of legends)."""
    acc, styles = {}, {}
    many = frame["seed"].nunique() > few
    for (m, sd), run in frame[frame["method"].isin(NESTED_METHODS)].groupby(["method", "seed"]):
        label = f"{method_label(m, t)}, seed {sd}"
        if many:
            first = run["seed"].iloc[0] == frame["seed"].min()
            label = f"{method_label(m, t)}, {frame['seed'].nunique()} seeds" if first else "_" + label
        acc[label] = (run["d"].to_numpy(), run[f"best_{metric}"].to_numpy())
        styles[label] = {"color": method_color(m), "alpha": 0.5 if many else 0.8, "lw": 0.9 if many else 1.5,
                         "ls": "-" if many else ("-", "--", ":", "-.")[int(sd) % 4]}
    return acc, styles


def lottery_spectrum_rows(fig, spectra: Sequence[Mapping], summary: Mapping, *, t: int, name: str,
                          few: int = 4):
    """One grid of Figures 10-11 in ``fig`` (a figure or subfigure): three rows -- each seed's
    trajectory spectrum, best training accuracy and best test accuracy of the lottery
    subspaces against d -- in two columns, as recorded and as a running maximum over d,
    with one legend under them.

    ``spectra``: one ``{"seed", "singular_values"}`` per seed (the ``spectra`` of
    :func:`chapters.lottery_records.split_records`); ``summary``: the frames ``raw``,
    ``frame``, ``raw_test``, ``frame_test`` and the full model's ``full``, ``full_test``
    (:func:`chapters.lottery_claims.grid_summary`)."""
    axes = fig.subplots(3, 2, sharex=True, gridspec_kw={"height_ratios": [1, 1.3, 1.3]})
    spec = {f"seed {r['seed']}": r["singular_values"] for r in spectra}
    for col, key in enumerate(("raw", "frame")):
        acc, styles = lottery_seed_curves(summary[key], "train_acc", t, few)
        spectrum_and_accuracy(axes[0, col], axes[1, col], spec, acc, styles=styles, baseline=summary["full"])
        acc, styles = lottery_seed_curves(summary[key + "_test"], "test_acc", t, few)
        accuracy_against_d(axes[2, col], acc, styles=styles, ylabel="best test accuracy",
                           baseline=summary["full_test"])
        axes[0, col].set_title(f"{name}: " + ("as recorded" if key == "raw" else "running max over d"))
        axes[1, col].set_xlabel("")
    handles, labels = axes[2, 1].get_legend_handles_labels()
    for ax in (axes[1, 0], axes[1, 1], axes[2, 0], axes[2, 1]):
        ax.get_legend().remove()
    if len(spec) <= few:  # with more seeds a legend of spectra would tell nothing apart
        axes[0, 1].legend(title="spectrum", title_fontsize=8)
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    return axes


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
