"""Chapter 05 at the paper's scale: the paper-protocol run, Fastfood beyond d = 4,096, dense vs Fastfood.

Two results folders of :mod:`.phase_transition` (each written by its own driver):

- ``results/05_phase_transition/paper``: preset ``paper-conv2-fashion_mnist`` (the paper's
  protocol with the dense Gaussian basis, d = 1 ... 4,096);
- ``results/05_phase_transition/paper-fastfood``: preset
  ``paper-conv2-fashion_mnist-fastfood`` (the same protocol with the Fastfood basis at
  d = 64, 512, 4,096 -- beside the dense runs -- and beyond, up to d = D).

Both may be partial (a sweep that takes CPU hours is committed as it goes); every function
here says how many runs stand behind each number.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.methods import curve_label


def load_if_present(folder):
    """``load_results(folder)`` of :mod:`.phase_transition`, or None when the folder has no settings."""
    from .phase_transition import load_results
    return load_results(folder) if (Path(folder) / "settings.json").exists() else None


def _cells(records, metric: str) -> dict:
    out: dict = {}
    for r in records:
        if r.get("status") == "ok":
            out.setdefault((curve_label(r["method"], r["t"]), int(r["d"])), []).append(float(r["best_" + metric]))
    return out


def basis_comparison(dense_records, fastfood_records, metric: str = "train_acc"):
    """Per (curve, d) present in both: runs, mean and standard deviation of the best ``metric``
    with the dense and the Fastfood basis, their difference and Welch's t-test p-value."""
    import pandas as pd
    from scipy import stats
    dense, fast = _cells(dense_records, metric), _cells(fastfood_records, metric)
    rows = []
    for key in sorted(set(dense) & set(fast), key=lambda k: (k[0], k[1])):
        a, b = np.array(dense[key]), np.array(fast[key])
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if min(a.size, b.size) > 1 else np.nan
        rows.append({"curve": key[0], "d": key[1], "runs (dense / fastfood)": f"{a.size} / {b.size}",
                     "dense": f"{a.mean():.4f} ± {a.std(ddof=1) if a.size > 1 else 0:.4f}",
                     "fastfood": f"{b.mean():.4f} ± {b.std(ddof=1) if b.size > 1 else 0:.4f}",
                     "fastfood - dense": round(float(b.mean() - a.mean()), 4), "Welch p": round(p, 3)})
    return pd.DataFrame(rows)


def accuracy_by_d(records, full_accuracy: float, metric: str = "train_acc"):
    """Per (curve, d): runs, mean and best of the best ``metric``, and the mean as a fraction of
    the full model's ``full_accuracy`` (how close a subspace of that d comes to all D)."""
    import pandas as pd
    rows = []
    for (curve, d), vals in sorted(_cells(records, metric).items(), key=lambda kv: (kv[0][0], kv[0][1])):
        v = np.array(vals)
        rows.append({"curve": curve, "d": d, "runs": v.size, "mean": round(float(v.mean()), 4),
                     "best": round(float(v.max()), 4), "mean / full model": round(float(v.mean() / full_accuracy), 3)})
    return pd.DataFrame(rows)
