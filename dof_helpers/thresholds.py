"""Success probability (eq. 2.3), threshold training dimension (Definition 2.1), d_int90.

All functions take sweep records (a list of dicts, a JSON-lines path, or a pandas
DataFrame with one row per run) and return tidy DataFrames.

- :func:`success_probability` -- P_s(d, epsilon, t): the fraction of runs at (method, t, d)
  whose best metric reaches the level epsilon (eq. 2.3). For accuracy a run succeeds if
  its best accuracy >= level (the accuracy super-level set the paper plots); for loss if
  its best loss <= level (the loss sub-level set S(epsilon), eq. 2.1). Runs that
  diverged (no finite metric) count as failures.
- :func:`threshold_dimension` -- d*(epsilon, t, delta) = the smallest d with
  P_s >= 1 - delta (Definition 2.1); NaN where no d reaches it.
- :func:`d_int90` -- Li et al. (2018): the smallest d whose mean accuracy over runs
  reaches 90% of the full model's accuracy.
- :func:`clopper_pearson` -- an exact binomial confidence interval for P_s (columns
  ``p_low``, ``p_high`` of :func:`success_probability`); :func:`d_star_bootstrap` -- a
  band for d* from resampling seeds.
- :func:`curve_tables` -- both at once for every (method, t) curve of a sweep, on a grid of
  levels (:func:`accuracy_levels`) up to the best accuracy seen; :func:`default_delta` is
  the paper's tolerance for a number of runs; :func:`d_star_curve`, :func:`d_star_at` read
  d* off per curve.

``running_max=True`` first replaces every run's metric by its running best over d
(max for accuracy, min for loss) within (method, t, seed): for nested subspaces (lottery
subspaces) a larger d contains every smaller one, so a worse result at larger d is an
optimisation failure, not a missing intersection (Appendix, Figures 10-11).
"""
from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

import numpy as np

from .validation import check_choice, check_float, check_int

METRIC_NAMES = ("train_acc", "test_acc", "train_loss", "test_loss")
#: record fields that, with d, identify a curve (seed is the run index inside a cell)
GROUP_FIELDS = ("dataset", "model", "method", "basis", "t")


def _frame(records):
    import pandas as pd
    from .records import records_frame
    if isinstance(records, pd.DataFrame):
        return records.copy()
    if isinstance(records, (str, os.PathLike)):
        return records_frame(records)
    return pd.DataFrame(list(records))


def _metric_column(frame, metric):
    check_choice("metric", metric, METRIC_NAMES)
    col = "best_" + metric
    if col not in frame.columns:
        raise ValueError(f"records have no column {col!r}; columns: {sorted(frame.columns)}")
    return col


def _present(frame, by):
    return [g for g in by if g in frame.columns]


def running_best(records, metric: str = "train_acc", by: Sequence[str] = GROUP_FIELDS):
    """Records with ``best_<metric>`` replaced by its running best over increasing d.

    Within each (``by`` fields, seed) the runs are sorted by d and the metric becomes the
    cumulative max (accuracy) or min (loss); NaN (diverged) runs keep the best so far. A
    grouping field that is missing (NaN, e.g. ``basis`` of a lottery subspace) is a group of
    its own, not a reason to drop the runs.
    """
    frame = _frame(records)
    col = _metric_column(frame, metric)
    keys = _present(frame, by) + (["seed"] if "seed" in frame.columns else [])
    frame = frame.sort_values(keys + ["d"]).reset_index(drop=True)
    values = frame[col].astype(float)
    if metric.endswith("acc"):
        filled = values.fillna(-np.inf)
        frame[col] = filled.groupby([frame[k] for k in keys], dropna=False).cummax().replace(-np.inf, np.nan)
    else:
        filled = values.fillna(np.inf)
        frame[col] = filled.groupby([frame[k] for k in keys], dropna=False).cummin().replace(np.inf, np.nan)
    return frame


def success_probability(records, metric: str = "train_acc", levels: Iterable[float] | None = None, *,
                        running_max: bool = False, by: Sequence[str] = GROUP_FIELDS):
    """P_s(d, epsilon, t) of eq. 2.3 as a tidy DataFrame.

    Columns: the ``by`` fields present, ``level``, ``d``, ``n_runs``, ``n_success``,
    ``p_success``. ``levels`` are accuracies (success: best >= level) or losses (success:
    best <= level); default for accuracy 0.10, 0.11, ..., 1.00 (required for loss).
    """
    import pandas as pd
    frame = running_best(records, metric, by) if running_max else _frame(records)
    col = _metric_column(frame, metric)
    is_acc = metric.endswith("acc")
    if levels is None:
        if not is_acc:
            raise ValueError("levels are required for a loss metric (e.g. np.linspace(0.1, 2.3, 45))")
        levels = np.round(np.arange(0.10, 1.0001, 0.01), 2)
    levels = np.asarray(list(levels), dtype=float)
    if levels.size == 0 or not np.all(np.isfinite(levels)):
        raise ValueError(f"levels={levels!r} is not valid; expected finite numbers")
    keys = _present(frame, by)
    rows = []
    grouped = frame.groupby(keys + ["d"], sort=True) if keys else frame.groupby(["d"], sort=True)
    for gkey, g in grouped:
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        vals = g[col].astype(float).to_numpy()
        ok = np.isfinite(vals)
        for level in levels:
            hit = ok & ((vals >= level) if is_acc else (vals <= level))
            lo, hi = clopper_pearson(int(hit.sum()), int(vals.size))
            rows.append(dict(zip(keys + ["d"], gkey), level=float(level), n_runs=int(vals.size),
                             n_success=int(hit.sum()), p_success=float(hit.mean()) if vals.size else np.nan,
                             p_low=lo, p_high=hi))
    cols = keys + ["level", "d", "n_runs", "n_success", "p_success", "p_low", "p_high"]
    return pd.DataFrame(rows, columns=cols).sort_values(keys + ["level", "d"]).reset_index(drop=True)


def success_matrix(table, **select):
    """``(levels, d_values, P)`` with ``P[level, d]`` for one curve (``select`` picks it, e.g.
    ``method="burn_in", t=8``): the array :func:`plotting.success_heatmap` draws."""
    sub = table
    for k, v in select.items():
        sub = sub[sub[k] == v]
    if len(sub) == 0:
        raise ValueError(f"no rows match {select}")
    pivot = sub.pivot_table(index="level", columns="d", values="p_success", aggfunc="first")
    return pivot.index.to_numpy(), pivot.columns.to_numpy(), pivot.to_numpy()


def threshold_dimension(table, delta: float = 0.1):
    """d*(epsilon, t, delta) of Definition 2.1: per curve and level, the smallest d with
    P_s >= 1 - delta (NaN if no d reaches it). ``table`` is from :func:`success_probability`.
    """
    import pandas as pd
    delta = check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    keys = [c for c in table.columns if c not in ("level", "d", "n_runs", "n_success", "p_success", "p_low",
                                                  "p_high")]
    rows = []
    for gkey, g in table.groupby(keys + ["level"], sort=True):
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        hit = g[g["p_success"] >= 1.0 - delta - 1e-12]
        rows.append(dict(zip(keys + ["level"], gkey), d_star=float(hit["d"].min()) if len(hit) else np.nan))
    return pd.DataFrame(rows, columns=keys + ["level", "d_star"])


def d_int90(records, full_accuracy: float, *, metric: str = "test_acc", fraction: float = 0.9,
            by: Sequence[str] = GROUP_FIELDS):
    """Li et al.'s intrinsic dimension: the smallest d whose mean best accuracy over runs
    reaches ``fraction * full_accuracy`` (NaN if none). Columns: ``by`` fields, ``d_int90``.
    """
    import pandas as pd
    if not metric.endswith("acc"):
        raise ValueError(f"metric={metric!r} is not valid; d_int90 uses an accuracy: 'train_acc', 'test_acc'")
    full_accuracy = check_float("full_accuracy", full_accuracy, min_value=0.0, max_value=1.0)
    fraction = check_float("fraction", fraction, min_value=0.0, max_value=1.0, open_min=True)
    frame = _frame(records)
    col = _metric_column(frame, metric)
    keys = _present(frame, by)
    target = fraction * full_accuracy
    rows = []
    for gkey, g in (frame.groupby(keys, sort=True) if keys else [((), frame)]):
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        means = g.groupby("d")[col].apply(lambda v: v.astype(float).fillna(0.0).mean()).sort_index()
        hit = means[means >= target]
        rows.append(dict(zip(keys, gkey), d_int90=float(hit.index.min()) if len(hit) else np.nan,
                         target=target))
    return pd.DataFrame(rows, columns=keys + ["d_int90", "target"])


# ----------------------------------------------------------------------------- curves of a sweep
def default_delta(n_runs: int) -> float:
    """The paper's tolerance delta of Definition 2.1 for ``n_runs`` runs per cell.

    0.1 for ten or more runs (nine of ten must succeed); for fewer, all runs but one must
    succeed: delta = 1/n plus 1e-3 (so that (n-1)/n passes P_s >= 1 - delta despite
    rounding); a single run must succeed: 0.5.
    """
    n = check_int("n_runs", n_runs, min_value=1)
    if n == 1:
        return 0.5
    return 0.1 if n >= 10 else round(1.0 / n + 1e-3, 4)


def accuracy_levels(top: float, step: float = 0.01, low: float = 0.10) -> np.ndarray:
    """Accuracy thresholds ``low, low + step, ...`` up to the first multiple of ``step`` >= ``top``."""
    step = check_float("level_step", step, min_value=0.0, open_min=True)
    hi = math.ceil(round(top / step, 6)) * step
    return np.round(np.arange(low, hi + step / 2, step), 6)


def curve_tables(records, metric: str = "train_acc", *, delta: float, levels=None, baseline=None,
                 running_max: bool = False):
    """``(P_s table, d* table)`` of every (method, t) curve: eq. 2.3 and Definition 2.1.

    Runs whose ``status`` is not "ok" count as failures. ``levels`` default to
    :func:`accuracy_levels` up to max(best accuracy seen, ``baseline``).
    """
    frame = _frame(records)
    col = _metric_column(frame, metric)
    bad = frame["status"] != "ok" if "status" in frame.columns else np.zeros(len(frame), bool)
    frame.loc[bad, col] = np.nan
    if levels is None:
        top = float(np.nanmax(frame[col].to_numpy(dtype=float)))
        if baseline is not None and math.isfinite(baseline):
            top = max(top, float(baseline))
        levels = accuracy_levels(top)
    table = success_probability(frame, metric, levels, by=("method", "t"), running_max=running_max)
    return table, threshold_dimension(table, delta)


def curves_of(frame, order=("random_affine", "burn_in")) -> list[tuple]:
    """The (method, t) curves of a table, methods in ``order`` first, then by t."""
    pairs = {(m, int(t)) for m, t in zip(frame["method"], frame["t"])}
    return sorted(pairs, key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[0], p[1]))


def d_star_curve(dstar, method: str, t: int, levels) -> np.ndarray:
    """d* of one curve at each of ``levels`` (NaN where no d reaches P_s >= 1 - delta)."""
    sub = dstar[(dstar["method"] == method) & (dstar["t"] == int(t))]
    by_level = {round(float(lv), 6): float(ds) for lv, ds in zip(sub["level"], sub["d_star"])}
    return np.array([by_level.get(round(float(lv), 6), np.nan) for lv in levels])


def d_star_at(dstar, levels: Sequence[float], label=None):
    """A wide table: one row per accuracy level, one column per curve (``label(method, t)``), values d*."""
    import pandas as pd
    from .engine.methods import curve_label
    label = label or curve_label
    out = {label(m, t): d_star_curve(dstar, m, t, levels) for m, t in curves_of(dstar)}
    return pd.DataFrame(out, index=pd.Index([round(float(x), 4) for x in levels], name="accuracy level"))


# ----------------------------------------------------------------------------- uncertainty
#: confidence of the exact binomial intervals of P_s (columns ``p_low``, ``p_high``)
CONFIDENCE = 0.95


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a success probability from k of n.

    Lower bound ``Beta^-1(a/2; k, n-k+1)`` (0 when k = 0), upper ``Beta^-1(1-a/2; k+1, n-k)``
    (1 when k = n), a = 1 - ``confidence``: it covers P_s with probability at least
    ``confidence`` whatever P_s is, which matters with ten runs per cell.
    """
    from scipy.stats import beta
    k, n = check_int("k", k, min_value=0), check_int("n", n, min_value=0)
    if n == 0:
        return float("nan"), float("nan")
    if k > n:
        raise ValueError(f"k={k} is not valid; at most n={n} successes")
    a = 1.0 - check_float("confidence", confidence, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    lo = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def d_star_bootstrap(records, metric: str = "train_acc", levels=None, *, delta: float, n_boot: int = 1000,
                     seed: int = 0, band: float = 0.9, by: Sequence[str] = ("method", "t"),
                     running_max: bool = False):
    """d* (Definition 2.1) with a bootstrap band over seeds, per curve and level.

    Each bootstrap replicate draws the curve's seeds with replacement (a seed keeps all its
    d: its runs share w_0 and the trajectory) and recomputes P_s and d*. Columns: the ``by``
    fields, ``level``, ``d_star`` (all seeds), ``d_low`` and ``d_high`` (the (1 - band)/2 and
    (1 + band)/2 quantiles of the replicates, taken outwards -- the replicate just below and
    just above -- so that both are d of the grid; a replicate that never reaches
    P_s >= 1 - delta counts as beyond the grid, +inf), ``p_unreached`` (share of such replicates).
    Runs whose status is not "ok" fail; a curve needs every seed at every d.
    """
    import pandas as pd
    frame = running_best(records, metric, by) if running_max else _frame(records)
    col = _metric_column(frame, metric)
    if "status" in frame.columns:
        frame.loc[frame["status"] != "ok", col] = np.nan
    delta = check_float("delta", delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
    n_boot = check_int("n_boot", n_boot, min_value=1)
    levels = np.asarray(list(levels) if levels is not None else np.round(np.arange(0.1, 1.0001, 0.01), 2), float)
    is_acc = metric.endswith("acc")
    rng = np.random.default_rng(check_int("seed", seed, min_value=0))
    q = (1 - check_float("band", band, min_value=0.0, max_value=1.0, open_min=True, open_max=True)) / 2
    rows, keys = [], _present(frame, by)
    for gkey, g in (frame.groupby(keys, sort=True) if keys else [((), frame)]):
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        V = g.pivot_table(index="seed", columns="d", values=col, aggfunc="first", dropna=False)
        d_values, V = V.columns.to_numpy(dtype=float), V.to_numpy(dtype=float)
        picks = rng.integers(0, V.shape[0], size=(n_boot, V.shape[0]))
        for level in levels:
            hit = np.nan_to_num((V >= level) if is_acc else (V <= level), nan=0.0).astype(float)
            full = _first_d(hit.mean(axis=0)[None, :], d_values, delta)[0]
            boot = _first_d(hit[picks].mean(axis=1), d_values, delta)
            rows.append(dict(zip(keys, gkey), level=float(level), d_star=full if np.isfinite(full) else np.nan,
                             d_low=float(np.quantile(boot, q, method="lower")),
                             d_high=float(np.quantile(boot, 1 - q, method="higher")),
                             p_unreached=float(np.mean(~np.isfinite(boot)))))
    return pd.DataFrame(rows, columns=keys + ["level", "d_star", "d_low", "d_high", "p_unreached"])


def _first_d(P: np.ndarray, d_values: np.ndarray, delta: float) -> np.ndarray:
    """Per row of P (replicates x d), the smallest d with P >= 1 - delta (+inf if none)."""
    ok = P >= 1.0 - delta - 1e-12
    first = np.where(ok.any(axis=1), d_values[np.argmax(ok, axis=1)], np.inf)
    return first


# ----------------------------------------------------------------------------- tables with their uncertainty
def format_d_band(d_star: float, d_low: float, d_high: float, d_max: float | None = None) -> str:
    """``"256 [128, 512]"``: d* and its bootstrap band; a bound beyond the grid reads ``>d_max``
    (``>grid`` without ``d_max``) and an unreached d* ``none``."""
    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "none"
        if not math.isfinite(v):
            return f">{d_max:g}" if d_max is not None else ">grid"
        return f"{v:g}"
    return f"{one(d_star)} [{one(d_low)}, {one(d_high)}]"


def d_star_band_table(boot, levels: Sequence[float], *, label=None, d_max: float | None = None,
                      missing: str = "error"):
    """A wide table of strings ``"d* [low, high]"`` from :func:`d_star_bootstrap`: one row per
    accuracy level, one column per curve (``label(method, t)``, default
    :func:`engine.methods.curve_label`). ``d_max`` (the largest d of the grid) names the upper
    bound when bootstrap replicates never reach the level. A level that ``boot`` was not
    computed at raises ValueError (``missing="error"``) or is left out (``missing="skip"``);
    a table never shows an empty cell."""
    import pandas as pd
    from .engine.methods import curve_label
    check_choice("missing", missing, ("error", "skip"))
    label = label or curve_label
    for col in ("method", "t", "level", "d_star", "d_low", "d_high"):
        if col not in boot.columns:
            raise ValueError(f"boot has no column {col!r}; expected the frame of thresholds.d_star_bootstrap")
    curves = curves_of(boot)
    rows = {(m, int(t), round(float(lv), 6)): r for _, r in boot.iterrows()
            for m, t, lv in [(r["method"], r["t"], r["level"])]}
    absent = [float(lv) for lv in levels
              if any((m, int(t), round(float(lv), 6)) not in rows for m, t in curves)]
    if absent and missing == "error":
        computed = sorted({round(float(x), 4) for x in boot["level"]})
        raise ValueError(f"levels={absent} are not valid: boot holds no d* band there for every curve; "
                         f"computed levels: {computed[0]} .. {computed[-1]} ({len(computed)}); "
                         "pass them to d_star_bootstrap or use missing='skip'")
    levels = [float(lv) for lv in levels if float(lv) not in absent]
    out = {}
    for m, t in curves:
        out[label(m, int(t))] = [format_d_band(r["d_star"], r["d_low"], r["d_high"], d_max)
                                 for r in (rows[(m, int(t), round(lv, 6))] for lv in levels)]
    return pd.DataFrame(out, index=pd.Index([round(lv, 4) for lv in levels], name="accuracy level"))


def p_s_at_threshold(table, dstar, levels: Sequence[float], *, label=None):
    """P_s with its exact (Clopper-Pearson) interval at d* and at the grid point below it.

    One row per (curve, level): ``d*``, ``P_s at d*`` and ``P_s one grid step below``, each
    as ``"k/n = p [low, high]"`` (``table`` from :func:`success_probability`, ``dstar`` from
    :func:`threshold_dimension` of the same table). Levels no d reaches show ``d* = none``
    and P_s at the largest d instead. The intervals say how sharply a handful of seeds pins
    the transition down.
    """
    import pandas as pd
    from .engine.methods import curve_label
    label = label or curve_label

    def cell(row):
        return (f"{int(row['n_success'])}/{int(row['n_runs'])} = {row['p_success']:.2f} "
                f"[{row['p_low']:.2f}, {row['p_high']:.2f}]")

    rows = []
    for m, t in curves_of(table):
        cur = table[(table["method"] == m) & (table["t"] == t)]
        for lv, ds in zip(levels, d_star_curve(dstar, m, t, levels)):
            at = cur[np.isclose(cur["level"], float(lv))].sort_values("d")
            if not len(at):
                continue
            if math.isfinite(ds):
                here = at[at["d"] == ds].iloc[0]
                below = at[at["d"] < ds]
                rows.append({"curve": label(m, int(t)), "accuracy level": round(float(lv), 4), "d*": f"{ds:g}",
                             "P_s at d*": cell(here),
                             "P_s one step below": cell(below.iloc[-1]) if len(below) else "-"})
            else:
                last = at.iloc[-1]
                rows.append({"curve": label(m, int(t)), "accuracy level": round(float(lv), 4), "d*": "none",
                             "P_s at d*": f"at d = {last['d']:g}: " + cell(last), "P_s one step below": "-"})
    return pd.DataFrame(rows, columns=["curve", "accuracy level", "d*", "P_s at d*", "P_s one step below"])
