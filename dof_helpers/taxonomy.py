"""The taxonomy of Table 1: all eight ways of training in d dimensions, side by side.

Records of the engine's eight Table-1 methods (:data:`engine.TABLE1_METHODS`) become one
tidy frame (:func:`taxonomy_frame`: best metric against d and compression D/d), mean
curves, d* tables per method, and the pruning-specific summaries (layer collapse,
kept fraction per layer).
"""
from __future__ import annotations

import numpy as np

from .engine.methods import NESTED_METHODS, PRUNING_METHODS, TABLE1_METHODS
from .thresholds import default_delta, running_best, success_probability, threshold_dimension
from .validation import check_choice




def taxonomy_frame(subspace_records, pruning_records, *, t: int | None = None, metric: str = "train_acc",
                   running_max_nested: bool = True):
    """One tidy frame of all eight Table-1 methods: method, t, seed, D, d, compression, best metric.

    ``t`` keeps only that step for the four "at step t" methods (default: all). For the
    nested lottery subspaces the metric is the running best over d within a seed (the
    paper's convention, Appendix A.2) when ``running_max_nested``.
    """
    import pandas as pd
    col = "best_" + metric
    frames = []
    for recs in (subspace_records, pruning_records):
        f = pd.DataFrame(list(recs)) if not isinstance(recs, pd.DataFrame) else recs.copy()
        if len(f):
            frames.append(f)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["method"].isin(TABLE1_METHODS)]
    if t is not None:
        frame = frame[(frame["t"] == 0) | (frame["t"] == t)]
    if running_max_nested:
        nested = frame[frame["method"].isin(NESTED_METHODS)]
        if len(nested):
            nested = running_best(nested, metric)
            frame = pd.concat([frame[~frame["method"].isin(NESTED_METHODS)], nested], ignore_index=True)
    frame = frame.assign(compression=frame["D"] / frame["d"])
    keep = ["method", "t", "seed", "D", "d", "compression", col] + (["keep_fraction"] if "keep_fraction" in frame
                                                                    else [])
    return frame[keep].sort_values(["method", "t", "d", "seed"]).reset_index(drop=True)


def mean_curves(frame, metric: str = "train_acc"):
    """Per (method, t, d): mean and standard deviation of the best metric over seeds."""
    col = "best_" + metric
    g = frame.groupby(["method", "t", "d"], sort=True)[col]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["compression"] = frame.groupby(["method", "t", "d"], sort=True)["D"].first().to_numpy() / out["d"]
    return out


def threshold_table(frame, levels, *, metric: str = "train_acc", delta: float | None = None):
    """d* per (method, t) and accuracy level (rows: levels, columns: method labels).

    ``frame`` is from :func:`taxonomy_frame` (running max already applied to nested
    subspaces). ``delta`` defaults to :func:`thresholds.default_delta` of the number of seeds.
    """
    n = int(frame.groupby(["method", "t", "d"])["seed"].nunique().min())
    delta = default_delta(n) if delta is None else delta
    table = success_probability(frame, metric, levels, by=("method", "t"))
    ds = threshold_dimension(table, delta=delta)
    ds["curve"] = [curve_name(m, t) for m, t in zip(ds["method"], ds["t"])]
    return ds.pivot_table(index="level", columns="curve", values="d_star", aggfunc="first", dropna=False), delta


def curve_name(method: str, t: int) -> str:
    """The column name of a (method, t) curve in the d* tables: ``method`` or ``method (t=8)``."""
    return method if int(t) == 0 else f"{method} (t={int(t)})"


def threshold_bands(frame, levels, *, metric: str = "train_acc", delta: float | None = None, n_boot: int = 1000,
                    band: float = 0.9, seed: int = 0):
    """d* per (method, t) and level with a bootstrap band over seeds (:func:`thresholds.d_star_bootstrap`).

    ``frame`` is from :func:`taxonomy_frame` (running max already applied to nested
    subspaces); ``delta`` as in :func:`threshold_table`. Returns ``(bootstrap frame, delta)``.
    """
    from .thresholds import d_star_bootstrap
    n = int(frame.groupby(["method", "t", "d"])["seed"].nunique().min())
    delta = default_delta(n) if delta is None else delta
    frame = frame.assign(status="ok")
    return d_star_bootstrap(frame, metric, levels, delta=delta, n_boot=n_boot, band=band, seed=seed), delta


def threshold_band_table(frame, levels, **kwargs):
    """Like :func:`threshold_table`, but every cell is ``"d* [low, high]"`` (the bootstrap band
    of :func:`threshold_bands`; ``>d_max`` where replicates never reach the level within the
    grid). Rows: levels, columns: :func:`curve_name`. Returns ``(table, delta)``."""
    from .thresholds import d_star_band_table
    boot, delta = threshold_bands(frame, levels, **kwargs)
    tables = []
    for (m, t), sub in boot.groupby(["method", "t"], sort=True):
        d_max = float(frame[(frame["method"] == m) & (frame["t"] == t)]["d"].max())
        tables.append(d_star_band_table(sub, levels, label=curve_name, d_max=d_max))
    import pandas as pd
    return pd.concat(tables, axis=1), delta


# ----------------------------------------------------------------------------- the chapter's grid


def unpruned_accuracy(pruning_records, metric: str = "train_acc") -> float:
    """Mean best ``metric`` of the unpruned network (``lottery_ticket`` at keep fraction 1:
    all D parameters trained from w_0 by momentum SGD for the same epochs), or NaN."""
    vals = [r["best_" + metric] for r in pruning_records
            if r["method"] == "lottery_ticket" and r["keep_fraction"] == 1.0 and r.get("best_" + metric) is not None]
    return float(np.mean(vals)) if vals else float("nan")


def collapse_table(pruning_records):
    """Per (method, t, keep fraction): d, D/d, mean best train accuracy, and how many seeds
    had a collapsed layer (which layers, over all seeds)."""
    import pandas as pd
    f = pd.DataFrame(list(pruning_records))
    rows = []
    for (m, t, kf), g in f.groupby(["method", "t", "keep_fraction"], sort=True):
        layers = sorted({name for ls in g["collapsed_layers"] for name in ls})
        rows.append(dict(method=m, t=t, keep_fraction=kf, d=int(g["d"].iloc[0]),
                         compression=float(g["D"].iloc[0] / g["d"].iloc[0]),
                         train_acc=float(g["best_train_acc"].mean()),
                         seeds_collapsed=int((g["n_collapsed"] > 0).sum()), n_seeds=len(g),
                         collapsed_layers=", ".join(layers) or "-"))
    out = pd.DataFrame(rows)
    return out.sort_values(["method", "t", "keep_fraction"], ascending=[True, True, False]).reset_index(drop=True)


def first_collapse(pruning_records, method: str = "lottery_ticket") -> dict:
    """The largest keep fraction at which ``method`` collapsed a layer in some seed:
    ``{"keep_fraction", "compression", "layers"}`` (NaN / empty if it never did)."""
    check_choice("method", method, PRUNING_METHODS)
    tab = collapse_table(pruning_records)
    hit = tab[(tab["method"] == method) & (tab["seeds_collapsed"] > 0)]
    if not len(hit):
        return {"keep_fraction": float("nan"), "compression": float("nan"), "layers": ""}
    row = hit.sort_values("keep_fraction", ascending=False).iloc[0]
    return {"keep_fraction": float(row["keep_fraction"]), "compression": float(row["compression"]),
            "layers": row["collapsed_layers"]}


def layer_keep_table(pruning_records, method: str = "lottery_ticket", seed: int = 0, kernels_only: bool = True):
    """``(keep_fractions, {layer: kept fraction at each})`` of one seed's masks."""
    check_choice("method", method, PRUNING_METHODS)
    recs = sorted((r for r in pruning_records if r["method"] == method and r["seed"] == seed and "layer_keep" in r),
                  key=lambda r: -r["keep_fraction"])
    if not recs:
        raise ValueError(f"no {method} records of seed {seed} with layer_keep")
    names = [n for n in recs[0]["layer_keep"] if not kernels_only or n.endswith("kernel")]
    return ([r["keep_fraction"] for r in recs],
            {n.rsplit("/", 1)[0] if kernels_only else n: [r["layer_keep"][n] for r in recs] for n in names})
