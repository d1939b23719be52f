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


def basis_comparison(dense_records, fastfood_records, metric: str = "train_acc", labels=("dense", "fastfood")):
    """Per (curve, d) present in both: runs, mean and standard deviation of the best ``metric``
    in the two sets of records (named by ``labels``: by default the dense and the Fastfood
    basis), their difference (column ``"<second> - <first>"``) and Welch's t-test p-value."""
    import pandas as pd
    from scipy import stats
    first, second = labels
    dense, fast = _cells(dense_records, metric), _cells(fastfood_records, metric)
    rows = []
    for key in sorted(set(dense) & set(fast), key=lambda k: (k[0], k[1])):
        a, b = np.array(dense[key]), np.array(fast[key])
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if min(a.size, b.size) > 1 else np.nan
        rows.append({"curve": key[0], "d": key[1], f"runs ({first} / {second})": f"{a.size} / {b.size}",
                     first: f"{a.mean():.4f} ± {a.std(ddof=1) if a.size > 1 else 0:.4f}",
                     second: f"{b.mean():.4f} ± {b.std(ddof=1) if b.size > 1 else 0:.4f}",
                     f"{second} - {first}": round(float(b.mean() - a.mean()), 4), "Welch p": round(p, 3)})
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


def intrinsic_dimension(records, full_accuracy: float, *, fractions=(0.9, 1.0), metric: str = "train_acc",
                        delta: float = 0.1):
    """Per curve and fraction f of the full model's accuracy, two dimensions on the grid of ``records``:

    - ``d_int``: the smallest d whose *mean* best ``metric`` over seeds reaches f x full (with
      f = 0.9 this is the d_int90 of Li et al. 2018, who read it off one run per d);
    - ``d*``: the threshold dimension of Definition 2.1 at the level f x full, the smallest d
      at which a fraction >= 1 - ``delta`` of the runs reach it.

    Both are +inf when no d of the grid qualifies (``d_max`` says where the grid ends). Only
    runs with status "ok" count, and a d counts only with all the curve's seeds present.
    """
    import pandas as pd
    from ..validation import check_float
    full_accuracy = check_float("full_accuracy", full_accuracy, min_value=0.0, open_min=True)
    delta = check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    for f in fractions:
        check_float("fractions", f, min_value=0.0, open_min=True)
    cells = _cells(records, metric)
    rows = []
    for curve in sorted({c for c, _ in cells}):
        by_d = {d: np.array(v) for (c, d), v in cells.items() if c == curve}
        n_seeds = max(v.size for v in by_d.values())
        grid = sorted(d for d, v in by_d.items() if v.size == n_seeds)
        for f in fractions:
            level = f * full_accuracy
            mean_ok = [d for d in grid if by_d[d].mean() >= level]
            ps_ok = [d for d in grid if np.mean(by_d[d] >= level) >= 1.0 - delta - 1e-12]
            rows.append({"curve": curve, "fraction of full": f, "level": round(level, 4),
                         "d_int": float(mean_ok[0]) if mean_ok else np.inf,
                         "d*": float(ps_ok[0]) if ps_ok else np.inf,
                         "seeds": n_seeds, "d_min": grid[0] if grid else np.nan, "d_max": grid[-1] if grid else np.nan})
    return pd.DataFrame(rows)


def basis_step_costs(report: str, model: str = "conv2"):
    """(basis, d, step ms, step / full) of one model's section of the report that
    ``benchmarks/subspace_step.py`` writes (``book/_generated/benchmark.txt``), and the
    report's date line. Raises ValueError when the report has no such section."""
    import re

    import pandas as pd
    sections = re.split(r"^## ", report, flags=re.M)
    body = next((s for s in sections[1:] if s.split(":")[0].strip() == model), None)
    if body is None:
        names = [s.split(":")[0].strip() for s in sections[1:]]
        raise ValueError(f"model={model!r} is not valid; the report has sections {names}")
    rows = [{"basis": m[1], "d": int(m[2]), "step ms": float(m[3]), "step / full": float(m[4])}
            for m in re.finditer(r"^(fastfood|dense)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", body, flags=re.M)]
    date = re.search(r"\((\d{4}-\d{2}-\d{2}[^)]*)\)", sections[0])
    return pd.DataFrame(rows), (date.group(1) if date else "undated")


def _tex_int(n) -> str:
    """An integer with thousands separators for generated prose (plain text: output cells show no TeX)."""
    return f"{int(n):,}"


def basis_cost_sentence(costs, date: str, runs: dict) -> str:
    """Markdown: what a dense and a Fastfood subspace step cost relative to a full-model step
    (``costs``, ``date`` from :func:`basis_step_costs`), then which basis each run uses
    (``runs``: a description -> (largest d, basis))."""
    dense = costs[costs["basis"] == "dense"].sort_values("d")
    fast = costs[costs["basis"] == "fastfood"]
    parts = [f"{r['step / full']:.2f}x at d = {_tex_int(r['d'])}" for _, r in dense.iterrows()]
    text = (f"Measured on this machine (`make benchmark`, report of {date}), a training step in a dense "
            f"subspace takes, relative to a full-model step, {', '.join(parts)} (storing and multiplying A "
            f"grows with d); a Fastfood step takes {fast['step / full'].min():.2f}x to "
            f"{fast['step / full'].max():.2f}x at every d measured, up to {_tex_int(fast['d'].max())}. ")
    uses = [f"{name} (d ≤ {_tex_int(d_max)}) uses the `{basis}` basis" for name, (d_max, basis) in runs.items()]
    return text + "; ".join(uses)[:1].upper() + "; ".join(uses)[1:] + "."


def dimension_text(d: float, d_max: float) -> str:
    """A dimension for prose and tables: ``"512"``, or ``"> 4,096"`` when no d of the grid (up to ``d_max``) qualifies."""
    return f"> {int(d_max):,}" if not np.isfinite(d) else f"{int(d):,}"


def intrinsic_dimension_table(tables: dict):
    """One wide table from :func:`intrinsic_dimension` frames (``tables``: a column prefix such as
    ``"dense, train"`` -> frame): rows (curve, fraction of full), cells ``"d_int / d*"``."""
    import pandas as pd
    cols = {}
    for name, t in tables.items():
        cols[name + ": d_int / d*"] = {
            (r["curve"], r["fraction of full"]): f"{dimension_text(r['d_int'], r['d_max'])} / "
                                                 f"{dimension_text(r['d*'], r['d_max'])}"
            for _, r in t.iterrows()}
    out = pd.DataFrame(cols)
    out.index.names = ["curve", "fraction of the full model"]
    return out.fillna("not run")


def differing_cells(comparison, alpha: float = 0.05) -> dict:
    """What a :func:`basis_comparison` table says, counted: ``cells`` (curve, d) compared,
    ``differ`` of them at Welch p < ``alpha``, ``differ_bonferroni`` at p < alpha / cells, the
    ``largest`` difference in mean best accuracy by absolute value (signed; NaN with no cell),
    ``largest_at`` its (curve, d), ``largest_p`` its p-value, ``mean`` of all differences and the
    difference ``column`` ("<second> - <first>")."""
    from ..validation import check_float
    alpha = check_float("alpha", alpha, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    out = {"cells": 0, "differ": 0, "differ_bonferroni": 0, "largest": float("nan"), "largest_at": None,
           "largest_p": float("nan"), "mean": float("nan"), "column": None}
    if comparison is None or not len(comparison):
        return out
    n = len(comparison)
    p = comparison["Welch p"].astype(float).to_numpy()
    column = next(c for c in comparison.columns if " - " in c)
    diff = comparison[column].astype(float).to_numpy()
    i = int(np.argmax(np.abs(diff)))
    row = comparison.iloc[i]
    out.update(cells=n, differ=int(np.sum(p < alpha)), differ_bonferroni=int(np.sum(p < alpha / n)),
               largest=float(diff[i]), largest_at=(row["curve"], int(row["d"])), largest_p=float(p[i]),
               mean=float(diff.mean()), column=column)
    return out


def basis_summary(comparison, alpha: float = 0.05) -> str:
    """Markdown: what :func:`basis_comparison` says, cell by cell -- how many (curve, d) cells
    differ at Welch p < ``alpha`` (and after a Bonferroni correction over the cells), and the
    largest difference (counted by :func:`differing_cells`)."""
    c = differing_cells(comparison, alpha)
    if not c["cells"]:
        return "No (curve, d) cell holds runs of both yet."
    n = c["cells"]
    second, first = c["column"].split(" - ")
    curve, d = c["largest_at"]
    cells = "cell" if n == 1 else "cells"
    return (f"Of the {n} {cells} with runs of both, {c['differ']} differ at p < {alpha} (Welch's test), "
            f"{c['differ_bonferroni']} after a Bonferroni correction for {n} comparisons. The largest difference "
            f"in mean best accuracy, {second} minus {first}, is {c['largest']:+.4f} ({curve}, d = {d:,}, "
            f"p = {c['largest_p']:.3f}); the mean of all {n} differences is {c['mean']:+.4f}.")


def scale_takeaways(done: dict, full: dict, band_tables: dict, id_tables: dict, comparisons: dict,
                    levels=(0.7, 0.8, 0.85), extra: dict | None = None) -> str:
    """Markdown bullets on the paper-protocol and Fastfood records, every number read from them.

    ``done``: :func:`.phase_transition.completion` of the dense sweep; ``full``: the full
    model's accuracy per split; ``band_tables``: split -> :func:`thresholds.d_star_band_table`
    of the dense sweep; ``id_tables``: "basis, split" -> :func:`intrinsic_dimension`;
    ``comparisons``: split -> :func:`basis_comparison`; ``extra``: further bullets, a bold
    title -> its text (e.g. :func:`peak_and_fall`). Missing pieces are left out.
    """
    bullets = [f"- **At the paper's protocol** ({done['done']:,} of {done['expected']:,} dense runs committed, "
               f"complete for every curve up to the d the tables show): the full model reaches "
               f"{full['train']:.3f} train and {full['test']:.3f} test accuracy."]
    tab = band_tables.get("train")
    if tab is not None and len(tab):
        shown = [lv for lv in levels if lv in set(tab.index)]
        for lv in shown:
            cells = "; ".join(f"{curve} {tab.loc[lv, curve]}" for curve in tab.columns)
            bullets.append(f"  - train accuracy {lv:.2f}: d* [band] {cells}")
    for key, t in id_tables.items():
        if not key.endswith(", train") or t is None or not len(t):
            continue
        basis = key[: -len(", train")]
        ra = t[t["curve"] == "random affine"]
        if not len(ra):
            continue
        d_max = int(ra["d_max"].iloc[0])
        def at(d):
            return f"at d = {int(d):,}" if np.isfinite(d) else f"not by d = {d_max:,}"
        parts = [f"{r['fraction of full']:.0%} of the full model's accuracy is reached by the mean over seeds "
                 f"{at(r['d_int'])} and by a share 1 - δ of the runs {at(r['d*'])}" for r in ra.to_dict("records")]
        bullets.append(f"- **{basis}, random affine, train accuracy** (complete d from "
                       f"{int(ra['d_min'].iloc[0]):,} to {d_max:,}): " + "; ".join(parts) + ".")
    if comparisons.get("train") is not None and len(comparisons["train"]):
        bullets.append("- **Dense against Fastfood**, train accuracy: " + basis_summary(comparisons["train"]))
    bullets += [f"- **{title}**: {text}" for title, text in (extra or {}).items()]
    return "\n".join(bullets)


def peak_and_fall(records, metric: str = "train_acc", chance: float = 0.1) -> str:
    """Markdown, per curve: the d with the highest mean best ``metric`` over seeds, the mean at
    the largest d, and how many runs there stayed within 0.01 of ``chance`` (training that
    never left the start's accuracy)."""
    cells = _cells(records, metric)
    out = []
    for curve in sorted({c for c, _ in cells}):
        by_d = {d: np.array(v) for (c, d), v in cells.items() if c == curve}
        d_peak = max(by_d, key=lambda d: by_d[d].mean())
        d_last = max(by_d)
        stuck = int(np.sum(by_d[d_last] <= chance + 0.01))
        out.append(f"{curve}: highest mean {by_d[d_peak].mean():.3f} at d = {d_peak:,}, "
                   f"{by_d[d_last].mean():.3f} at d = {d_last:,} ({stuck} of {by_d[d_last].size} runs there "
                   f"at chance)")
    return "; ".join(out)
