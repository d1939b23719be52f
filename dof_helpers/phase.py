"""The phase transition in random and burn-in affine subspaces (chapter 05; paper Sec. 2, Figs. 2, 3, 12).

This module holds the chapter's logic that is more than a few lines:

- :class:`PhaseConfig` -- the chapter's parameters, validated, and the
  :class:`sweep.SweepConfig` / :class:`baselines.BaselineConfig` they define;
- :func:`run_phase_sweep` -- the sweep over (method, t, d, seed), run coarse-to-fine (every
  other d first) so that a sweep stopped part-way still covers the whole d range;
- :func:`burn_in_points` -- the accuracy of w_0 and of every burn-in point w_t itself (the
  "d = 0" value of the paper's Figure 12), evaluated once per (seed, t);
- :func:`phase_tables` -- P_s (eq. 2.3) and d* (Definition 2.1) for every method from the records;
- :func:`local_dimension_table` -- the read-out D - d* of the local angular dimension
  (eq. 3.3) and its fraction of D;
- :func:`transition_widths`, :func:`claims` -- the paper's three claims, measured;
- :func:`load_results` -- the committed ``cpu-large`` records under ``results/05_phase_transition``.

Command line (from the repository root; resumable, run it again to continue)::

    python -m dof_helpers.phase run --preset cpu-large --out results/05_phase_transition
    python -m dof_helpers.phase figures results/05_phase_transition
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from .validation import check_choice, check_float, check_int

CHAPTER = "05_phase_transition"
METHOD_ORDER = ("random_affine", "burn_in")
#: file names inside a records folder
SWEEP_FILE, BASELINE_FILE, BURN_IN_FILE, SETTINGS_FILE = ("records.jsonl", "baseline.jsonl", "burn_in.jsonl",
                                                         "settings.json")


# ----------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class PhaseConfig:
    """The chapter's parameters (validated on construction; names match the notebook's).

    ``t_values`` are the burn-in times (empty: random affine subspaces only). ``n_test``
    keeps the first ``n_test`` test images (``None``: all). ``delta`` is the tolerance of
    Definition 2.1 (d* is the smallest d with P_s >= 1 - delta). ``level_step`` is the
    spacing of the accuracy thresholds, which run from 0.10 up to the best accuracy seen.
    """
    dataset: str = "fashion_mnist"
    model: str = "conv2"
    pool: str = "max"
    n_train: int | None = 6400
    n_test: int | None = 2000
    epochs: int = 1
    d_values: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    seeds: tuple = (0, 1)
    t_values: tuple = (4, 8, 16)
    basis: str = "dense"
    adam_variant: str = "standard"
    lr: float = 5e-2
    burn_in_lr: float = 5e-2
    momentum: float = 0.9
    batch_size: int = 128
    baseline_lrs: tuple = (5e-2, 1e-2)
    delta: float = 0.5
    level_step: float = 0.01

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for name in ("d_values", "seeds", "t_values", "baseline_lrs"):
            v = getattr(self, name)
            set_(name, tuple(v) if isinstance(v, (list, tuple)) else (v,))
        if self.n_test is not None:
            check_int("n_test", self.n_test, min_value=1)
        set_("d_values", tuple(sorted(set(check_int("d_values", d, min_value=1) for d in self.d_values))))
        check_float("delta", self.delta, min_value=0.0, max_value=1.0, open_min=True, open_max=True)
        check_float("level_step", self.level_step, min_value=0.0, max_value=0.5, open_min=True)
        if not self.baseline_lrs:
            raise ValueError("baseline_lrs=() is not valid; give at least one learning rate > 0")
        # the engine's configs validate everything else (dataset, model, basis, d, seeds, t ...)
        self.sweep_config()
        self.baseline_config()

    @property
    def methods(self) -> tuple:
        return METHOD_ORDER if self.t_values else ("random_affine",)

    def sweep_config(self, d_values: Sequence[int] | None = None):
        from .sweep import SweepConfig
        return SweepConfig(dataset=self.dataset, model=self.model, pool=self.pool, n_train=self.n_train,
                           epochs=self.epochs, d_values=tuple(d_values or self.d_values), seeds=self.seeds,
                           methods=self.methods, t_values=self.t_values, basis=self.basis,
                           adam_variant=self.adam_variant, lr=self.lr, burn_in_lr=self.burn_in_lr,
                           momentum=self.momentum, batch_size=self.batch_size, eval_init=False)

    def baseline_config(self):
        from .baselines import BaselineConfig
        return BaselineConfig(dataset=self.dataset, model=self.model, pool=self.pool, n_train=self.n_train,
                              epochs=self.epochs, learning_rates=self.baseline_lrs, seeds=self.seeds[:1],
                              batch_size=self.batch_size, momentum=self.momentum)

    def n_runs(self) -> int:
        return len(self.sweep_config().runs())

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    def stem(self) -> str:
        """A file-name stem for the settings that are not in the sweep's run keys (n_test)."""
        return f"{self.dataset}_{self.model}_ntest{self.n_test or 'all'}"


def all_but_one_delta(n_seeds: int) -> float:
    """The delta for which d* needs all runs but one to succeed: P_s >= (n - 1) / n.

    (The paper's choice for few runs: 0.2 with 5 runs, 0.33 with 3; we add 1e-3 so that
    (n-1)/n itself passes the test P_s >= 1 - delta despite rounding.) One run: 0.5.
    """
    n = check_int("n_seeds", n_seeds, min_value=1)
    return 0.5 if n == 1 else round(1.0 / n + 1e-3, 4)


def load_data(config: PhaseConfig):
    """The dataset with the first ``n_test`` test images (all if ``None``)."""
    from .data import Dataset, load_dataset
    ds = load_dataset(config.dataset, n_train=config.n_train)
    if config.n_test is None or config.n_test >= ds.n_test:
        return ds
    return Dataset(ds.name, ds.x_train, ds.y_train, ds.x_test[:config.n_test], ds.y_test[:config.n_test],
                   ds.num_classes, ds.source)


def coarse_to_fine(d_values: Sequence[int]) -> list[tuple]:
    """The d grid split into passes: every other d first (ends included), then the rest."""
    d = sorted(d_values)
    first = d[::2] + ([d[-1]] if d and d[-1] not in d[::2] else [])
    rest = [x for x in d if x not in first]
    return [tuple(first)] + ([tuple(rest)] if rest else [])


# ----------------------------------------------------------------------------- running
def run_phase_sweep(config: PhaseConfig, records_path, *, data=None, progress: bool = False,
                    max_runs: int | None = None) -> list[dict]:
    """Every run of the sweep, trained coarse-to-fine in d; returns the config's records.

    One d at a time (all seeds and methods of that d), every other d first, then the rest
    from the largest d down (the high-accuracy thresholds lie there): a sweep stopped
    part-way leaves complete cells that span the d range (see :func:`complete_cells`). Run
    keys do not depend on the d grid (``sweep.run_key``), so this writes exactly the records
    one sweep over the whole grid would; a rerun skips finished runs.
    """
    from .records import load_records
    from .sweep import run_sweep
    data = data if data is not None else load_data(config)
    left = max_runs
    passes = coarse_to_fine(config.d_values)
    order = list(passes[0]) + [d for part in passes[1:] for d in sorted(part, reverse=True)]
    for d in order:
        if left is not None and left <= 0:
            break
        before = len(load_records(records_path)) if left is not None else 0
        run_sweep(config.sweep_config((d,)), records_path, progress=progress, data=data, max_runs=left)
        if left is not None:
            left -= len(load_records(records_path)) - before
    keys = {r["key"] for r in config.sweep_config().runs()}
    return [r for r in load_records(records_path) if r.get("key") in keys]


def run_phase_baseline(config: PhaseConfig, records_path, *, data=None) -> list[dict]:
    """The full model at the same settings (momentum SGD, the better of ``baseline_lrs``)."""
    from .baselines import run_baselines
    return run_baselines(config.baseline_config(), records_path,
                         data=data if data is not None else load_data(config))


def burn_in_points(config: PhaseConfig, records_path, *, data=None, model=None) -> list[dict]:
    """Train and test accuracy of w_0 (t = 0) and of each burn-in point w_t, per seed.

    Reproduces the sweep's own w_0 and w_t (``sweep.seed_keys``: same init key, same
    burn-in batches, momentum SGD with ``burn_in_lr``), so these are the centres of the
    sweep's subspaces, i.e. the paper's "dimension 0" accuracies (Figure 12). Cached in
    ``records_path``, one record per (seed, t). ``model`` overrides the config's network (tests).
    """
    from . import optim, train
    from .models import model_for
    from .records import append_record, load_records
    from .sweep import seed_keys
    data = data if data is not None else load_data(config)
    if model is None:
        model, _ = model_for(config.model, config.dataset, config.pool)
    fields = dict(dataset=config.dataset, model=config.model, pool=config.pool, n_train=config.n_train,
                  n_test=config.n_test, batch_size=config.batch_size, burn_in_lr=config.burn_in_lr,
                  momentum=config.momentum)
    done = {(r["seed"], r["t"]) for r in load_records(records_path)
            if all(r.get(k) == v for k, v in fields.items())}
    for seed in config.seeds:
        k_init, k_burn = seed_keys(seed)
        w0 = train.init_model_params(model, k_init, data.x_train.shape[1:])
        for t in (0,) + tuple(config.t_values):
            if (seed, t) in done:
                continue
            w_t = train.burn_in(model, w0, data, key=k_burn, t=t, batch_size=config.batch_size,
                                optimizer=optim.momentum_sgd(config.burn_in_lr, config.momentum))
            trl, tra = train.evaluate(model, w_t, data.x_train, data.y_train)
            tel, tea = train.evaluate(model, w_t, data.x_test, data.y_test)
            append_record(records_path, dict(fields, seed=seed, t=t,
                                             method="random_affine" if t == 0 else "burn_in",
                                             train_loss=trl, train_acc=tra, test_loss=tel, test_acc=tea))
    keep = {(s, t) for s in config.seeds for t in (0,) + tuple(config.t_values)}
    return [r for r in load_records(records_path) if (r["seed"], r["t"]) in keep
            and all(r.get(k) == v for k, v in fields.items())]


# ----------------------------------------------------------------------------- analysis
def curve_label(method: str, t: int) -> str:
    """"random affine" or "burn-in, t = 8" (the plotting module's legend text)."""
    from .plotting import method_label
    return method_label(method, int(t))


def curves_of(frame) -> list[tuple]:
    """The (method, t) curves present, random affine first, then burn-in by increasing t."""
    pairs = {(m, int(t)) for m, t in zip(frame["method"], frame["t"])}
    return sorted(pairs, key=lambda p: (METHOD_ORDER.index(p[0]) if p[0] in METHOD_ORDER else 9, p[1]))


def accuracy_levels(top: float, step: float = 0.01, low: float = 0.10) -> np.ndarray:
    """Accuracy thresholds low, low + step, ... up to the first multiple of step >= ``top``."""
    step = check_float("level_step", step, min_value=0.0, open_min=True)
    hi = math.ceil(round(top / step, 6)) * step
    return np.round(np.arange(low, hi + step / 2, step), 6)


def phase_tables(records, metric: str = "train_acc", *, delta: float, levels=None, baseline=None):
    """``(P_s table, d* table)`` for every (method, t) curve: eq. 2.3 and Definition 2.1.

    ``records``: the sweep's records (list, path or DataFrame); runs with ``status`` other
    than "ok" count as failures. ``levels`` default to 0.10 .. max(best accuracy, baseline).
    """
    from .thresholds import success_probability, threshold_dimension
    from .records import records_frame
    import pandas as pd
    frame = records if isinstance(records, pd.DataFrame) else records_frame(records)
    frame = frame.copy()
    col = "best_" + metric
    bad = frame.get("status", pd.Series("ok", index=frame.index)) != "ok"
    frame.loc[bad, col] = np.nan
    if levels is None:
        top = float(np.nanmax(frame[col].to_numpy(dtype=float)))
        if baseline is not None and math.isfinite(baseline):
            top = max(top, float(baseline))
        levels = accuracy_levels(top)
    table = success_probability(frame, metric, levels, by=("method", "t"))
    return table, threshold_dimension(table, delta)


def success_grid(table, method: str, t: int):
    """``(levels, d_values, P)`` of one curve, ``P[level, d]`` (rows sorted by level)."""
    from .thresholds import success_matrix
    return success_matrix(table, method=method, t=int(t))


def d_star_curve(dstar, method: str, t: int, levels) -> np.ndarray:
    """d* of one curve at each of ``levels`` (NaN where no d reaches P_s >= 1 - delta)."""
    sub = dstar[(dstar["method"] == method) & (dstar["t"] == int(t))].set_index("level")["d_star"]
    return np.array([float(sub.get(round(float(lv), 6), np.nan)) if round(float(lv), 6) in sub.index
                     else _nearest(sub, lv) for lv in levels])


def _nearest(series, level):
    idx = np.asarray(series.index, dtype=float)
    if idx.size == 0:
        return np.nan
    j = int(np.argmin(np.abs(idx - level)))
    return float(series.iloc[j]) if abs(idx[j] - level) < 1e-9 else np.nan


def d_star_at(dstar, levels: Sequence[float]):
    """A wide table: one row per accuracy level, one column per curve, values d*."""
    import pandas as pd
    out = {}
    for method, t in curves_of(dstar):
        out[curve_label(method, t)] = d_star_curve(dstar, method, t, levels)
    return pd.DataFrame(out, index=pd.Index([round(float(x), 4) for x in levels], name="accuracy level"))


def local_dimension_table(dstar, D: int, levels: Sequence[float]):
    """The theory's read-out (eq. 3.3): d_local = D - d*, and d_local / D, per curve and level.

    d* from a sweep over a grid of d is an upper bound on the threshold up to the grid
    spacing (the true threshold lies in (previous grid d, d*]), so D - d* is a lower
    estimate of the local angular dimension of the accuracy super-level set about w_t.
    """
    import pandas as pd
    D = check_int("D", D, min_value=1)
    rows = []
    for method, t in curves_of(dstar):
        for lv, ds in zip(levels, d_star_curve(dstar, method, t, levels)):
            rows.append({"curve": curve_label(method, t), "method": method, "t": int(t),
                         "accuracy level": round(float(lv), 4), "d_star": ds,
                         "d_local = D - d*": D - ds if math.isfinite(ds) else np.nan,
                         "d_local / D": 1.0 - ds / D if math.isfinite(ds) else np.nan})
    return pd.DataFrame(rows)


def transition_widths(table, *, low: float = 0.1, high: float = 0.9):
    """How many octaves of d it takes P_s to go from <= ``low`` to >= ``high``, per curve and level.

    For each (method, t, level) whose P_s starts at or below ``low`` at the smallest d
    and reaches ``high``: width = log2(first d with P_s >= high) - log2(last d before it with
    P_s <= low). Rows with no such pair are left out (the transition is not inside the grid).
    """
    import pandas as pd
    rows = []
    for (method, t, level), g in table.groupby(["method", "t", "level"], sort=True):
        g = g.sort_values("d")
        d, p = g["d"].to_numpy(dtype=float), g["p_success"].to_numpy(dtype=float)
        if p[0] > low:
            continue
        hit = np.flatnonzero(p >= high)
        if hit.size == 0:
            continue
        j = int(hit[0])
        before = np.flatnonzero(p[:j] <= low)
        if before.size == 0:
            continue
        i = int(before[-1])
        rows.append({"method": method, "t": int(t), "level": float(level), "d_low": d[i], "d_high": d[j],
                     "octaves": float(np.log2(d[j] / d[i]))})
    return pd.DataFrame(rows, columns=["method", "t", "level", "d_low", "d_high", "octaves"])


def burn_in_ordering(dstar, levels: Sequence[float]):
    """Per level: d* of every curve, and whether d* is non-increasing in t (random = t 0).

    ``ordered``: d*(t) never rises with t among the curves that reach the level;
    ``strict_random_vs_longest``: the longest burn-in needs a smaller d* than random affine.
    Levels where a curve never reaches P_s >= 1 - delta are left out (NaN d*).
    """
    import pandas as pd
    curves = curves_of(dstar)
    rows = []
    for lv in levels:
        vals = [d_star_curve(dstar, m, t, [lv])[0] for m, t in curves]
        if not all(math.isfinite(v) for v in vals):
            continue
        row = {"accuracy level": round(float(lv), 4)}
        row.update({curve_label(m, t): v for (m, t), v in zip(curves, vals)})
        row["ordered"] = bool(all(a >= b for a, b in zip(vals, vals[1:])))
        row["strict_random_vs_longest"] = bool(vals[-1] < vals[0])
        rows.append(row)
    columns = (["accuracy level"] + [curve_label(m, t) for m, t in curves]
               + ["ordered", "strict_random_vs_longest"])
    return pd.DataFrame(rows, columns=columns)


def claims(table, dstar, *, above: float | None = None, high_fraction: float = 0.9,
           max_octaves: float = 2.0, min_ratio: float = 8.0, min_share: float = 0.75,
           top_margin: float = 0.05):
    """The paper's three claims about P_s and d*, measured on one sweep.

    1. *narrow band*: the median (over curves and levels) number of octaves of d over
       which P_s climbs from <= 0.1 to >= 0.9 (:func:`transition_widths`) is at most
       ``max_octaves``;
    2. *d* grows with accuracy*: d* never decreases as the level rises, and for every curve
       d* at the highest level it reaches is at least ``min_ratio`` times its smallest d*;
    3. *longer burn-in lowers d* at high accuracy*: at every "high" level -- reached (P_s >=
       1 - delta) by every curve and above ``above`` (e.g. the accuracy of the longest
       burn-in's centre, so that no curve starts inside the level set; default: the top
       ``1 - high_fraction`` of the common levels) -- the longest burn-in needs a smaller d*
       than random affine at a share >= ``min_share`` of them, and d* is non-increasing in t
       at a share >= ``min_share`` of them. The shares are also reported separately for the
       levels within ``top_margin`` of the highest common level (``*_top``) and below (``*_mid``).

    Returns a dict of numbers and booleans (``holds_1``, ``holds_2``, ``holds_3``).
    """
    out = {}
    widths = transition_widths(table)
    out["median_octaves"] = float(widths["octaves"].median()) if len(widths) else float("nan")
    out["max_octaves"] = float(widths["octaves"].max()) if len(widths) else float("nan")
    out["n_transitions"] = int(len(widths))
    out["holds_1"] = bool(len(widths) > 0 and out["median_octaves"] <= max_octaves)
    ratios, monotone = {}, True
    for method, t in curves_of(dstar):
        sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)].sort_values("level")
        ds = sub["d_star"].to_numpy(dtype=float)
        finite = ds[np.isfinite(ds)]
        # NaN only at the top: once a level is out of reach, every higher level is too
        monotone &= bool(np.all(np.diff(finite) >= 0)) and bool(np.all(np.isnan(ds[np.argmax(np.isnan(ds)):]))
                                                               if np.isnan(ds).any() else True)
        ratios[curve_label(method, t)] = float(finite.max() / finite.min()) if finite.size else float("nan")
    out["d_star_range_ratio"] = ratios
    out["d_star_monotone"] = bool(monotone)
    out["holds_2"] = bool(monotone and ratios and all(r >= min_ratio for r in ratios.values()))
    common = None
    for method, t in curves_of(dstar):
        sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)]
        reached = set(np.round(sub.loc[np.isfinite(sub["d_star"].astype(float)), "level"].astype(float), 6))
        common = reached if common is None else common & reached
    common = sorted(common or [])
    out["top_common_level"] = float(common[-1]) if common else float("nan")
    if above is None:
        high = [lv for lv in common if lv >= high_fraction * common[-1]] if common else []
    else:
        high = [lv for lv in common if lv > above]
    order = burn_in_ordering(dstar, high)
    out["high_levels"] = [float(x) for x in high]
    out["share_ordered"] = float(order["ordered"].mean()) if len(order) else float("nan")
    out["share_longest_beats_random"] = (float(order["strict_random_vs_longest"].mean()) if len(order)
                                         else float("nan"))
    out["holds_3"] = bool(len(order) > 0 and out["share_longest_beats_random"] >= min_share
                          and out["share_ordered"] >= min_share)
    # the same, separately for the top levels (within top_margin of the highest common level)
    # and the levels between the centre's accuracy and those
    for part, mask in (("mid", order["accuracy level"] < out["top_common_level"] - top_margin + 1e-9),
                       ("top", order["accuracy level"] >= out["top_common_level"] - top_margin + 1e-9)):
        sub = order[mask]
        out[f"levels_{part}"] = [float(x) for x in sub["accuracy level"]]
        out[f"share_beats_{part}"] = float(sub["strict_random_vs_longest"].mean()) if len(sub) else float("nan")
        out[f"share_ordered_{part}"] = float(sub["ordered"].mean()) if len(sub) else float("nan")
    return out


# ----------------------------------------------------------------------------- committed results
def load_results(folder):
    """``(settings dict, sweep records, baseline records, burn-in records)`` of a results folder.

    Raises ``FileNotFoundError`` naming the command that produces them when missing.
    """
    from .records import load_records
    folder = Path(folder)
    settings_path = folder / SETTINGS_FILE
    if not settings_path.exists():
        raise FileNotFoundError(f"{settings_path} is missing; produce it with "
                                f"`python -m dof_helpers.phase run --preset cpu-large --out {folder}`")
    settings = json.loads(settings_path.read_text())
    return (settings, load_records(folder / SWEEP_FILE), load_records(folder / BASELINE_FILE),
            load_records(folder / BURN_IN_FILE))


def completion(config: PhaseConfig, records) -> dict:
    """How much of the config's grid the records cover: runs done / expected, per method."""
    keys = {r["key"]: r for r in config.sweep_config().runs()}
    done = [r for r in records if r.get("key") in keys]
    per = {}
    for run in keys.values():
        lab = curve_label(run["method"], run["t"])
        per.setdefault(lab, [0, 0])[1] += 1
    for r in done:
        per[curve_label(r["method"], r["t"])][0] += 1
    return {"done": len(done), "expected": len(keys), "per_curve": {k: f"{a}/{b}" for k, (a, b) in per.items()},
            "d_done": sorted({int(r["d"]) for r in done})}


# ----------------------------------------------------------------------------- figures
def figure_phase_row(table, dstar, *, baseline: float | None = None, metric: str = "train_acc",
                     title: str | None = None):
    """Figure 2, one row: a P_s heat map per curve with d* drawn on it, then all d* superimposed.

    White is P_s = 0, black P_s = 1; the coloured curve is d*(level); the dashed line the
    full model's accuracy (``baseline``).
    """
    import matplotlib.pyplot as plt
    from . import plotting
    curves = curves_of(table)
    split = metric.split("_")[0]
    fig, axes = plt.subplots(1, len(curves) + 1, figsize=(3.3 * (len(curves) + 1), 3.2),
                             gridspec_kw={"width_ratios": [1.12 if i == len(curves) - 1 else 1
                                                           for i in range(len(curves))] + [1.05]})
    superimposed, styles = {}, {}
    for i, (ax, (method, t)) in enumerate(zip(axes, curves)):
        levels, d_values, P = success_grid(table, method, t)
        ds = d_star_curve(dstar, method, t, levels)
        plotting.success_heatmap(ax, d_values, levels, P, d_star=ds, baseline=baseline,
                                 d_star_color=plotting.method_color(method, t), colorbar=i == len(curves) - 1,
                                 level_label=f"{split} accuracy threshold" if i == 0 else "",
                                 title=curve_label(method, t))
        _pow2_ticks(ax, d_values)
        lab = curve_label(method, t)
        superimposed[lab] = (levels, ds)
        styles[lab] = {"color": plotting.method_color(method, t)}
    plotting.threshold_curves(axes[-1], superimposed, level_label="", baseline=baseline, styles=styles)
    axes[-1].set_title("all $d^*$ curves")
    axes[-1].legend(loc="lower right", fontsize=7)
    _pow2_ticks(axes[-1], table["d"].unique())
    axes[-1].set_ylim(axes[0].get_ylim())
    if title:
        fig.suptitle(title, y=1.03, fontsize=10)
    fig.tight_layout()
    return fig


def figure_thresholds(dstars: dict, *, baselines: dict | None = None, max_level: float | None = None):
    """Figure 3 (random and burn-in curves): d* against the accuracy asked for, one panel per split.

    ``dstars`` maps a panel name (e.g. "train", "test") to a d* table; ``baselines`` the same
    names to the full model's accuracy (dotted line).
    """
    import matplotlib.pyplot as plt
    from . import plotting
    baselines = baselines or {}
    fig, axes = plt.subplots(1, len(dstars), figsize=(4.6 * len(dstars), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, dstar) in zip(axes, dstars.items()):
        curves, styles = {}, {}
        for method, t in curves_of(dstar):
            sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)].sort_values("level")
            if max_level is not None:
                sub = sub[sub["level"] <= max_level + 1e-9]
            lab = curve_label(method, t)
            curves[lab] = (sub["level"].to_numpy(), sub["d_star"].to_numpy(dtype=float))
            styles[lab] = {"color": plotting.method_color(method, t), "marker": "o", "ms": 2.5}
        plotting.threshold_curves(ax, curves, level_label=f"{name} accuracy threshold",
                                  baseline=baselines.get(name), styles=styles)
        ax.set_title(f"$d^*$ against {name} accuracy")
        _pow2_ticks(ax, dstar["d_star"].dropna().unique())
    fig.tight_layout()
    return fig


def dimension_zero_table(records, burn, metric: str = "train_acc", max_d: int = 128):
    """Figure 12's data: mean (and std) over seeds of the best ``metric`` at each d <= ``max_d``,
    with d = 0 the accuracy of the centre w_t itself (``burn``: :func:`burn_in_points` records)."""
    import pandas as pd
    from .records import records_frame
    f = records if isinstance(records, pd.DataFrame) else records_frame(records)
    f = f[(f["d"] <= max_d)]
    rows = []
    for (method, t, d), g in f.groupby(["method", "t", "d"]):
        v = g["best_" + metric].astype(float)
        rows.append({"method": method, "t": int(t), "d": int(d), "mean": v.mean(), "std": v.std(ddof=0),
                     "n": len(v)})
    b = burn if isinstance(burn, pd.DataFrame) else pd.DataFrame(list(burn))
    for (method, t), g in b.groupby(["method", "t"]):
        v = g[metric].astype(float)
        rows.append({"method": method, "t": int(t), "d": 0, "mean": v.mean(), "std": v.std(ddof=0), "n": len(v)})
    return pd.DataFrame(rows).sort_values(["method", "t", "d"]).reset_index(drop=True)


def figure_dimension_zero(zero_tables: dict, *, baselines: dict | None = None):
    """Figure 12: accuracy against d from d = 0 (the accuracy of w_0 or of the burn-in point w_t).

    ``zero_tables`` maps a panel name ("train", "test") to :func:`dimension_zero_table`. The
    d axis is linear near 0 and logarithmic beyond 1 (symlog), so d = 0 shows.
    """
    import matplotlib.pyplot as plt
    from . import plotting
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
        ax.set_xticklabels([str(x) for x in ticks], fontsize=7)
        ax.set_xlim(-0.25, max(ticks) * 1.3)
        ax.set_xlabel("training dimension $d$ (0: the centre $w_t$ itself)")
        ax.set_ylabel(f"best {name} accuracy")
        ax.legend()
    fig.tight_layout()
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


def save_result_figures(folder, out=None) -> list[Path]:
    """Draw the chapter's figures from a results folder and save them there as PNG."""
    import matplotlib.pyplot as plt
    from . import plotting
    folder = Path(folder)
    out = Path(out or folder)
    settings, records, base, burn = load_results(folder)
    records, _ = complete_cells(PhaseConfig(**settings["config"]), records)
    plotting.use_house_style()
    delta = settings["config"]["delta"]
    full = {m: full_model_accuracy(base, m) for m in ("train", "test")}
    paths, dstars = [], {}
    for split in ("train", "test"):
        table, dstar = phase_tables(records, f"{split}_acc", delta=delta, baseline=full[split])
        dstars[split] = dstar
        fig = figure_phase_row(table, dstar, baseline=full[split], metric=f"{split}_acc")
        paths.append(plotting.save_figure(fig, out / f"phase_{split}.png"))
        plt.close(fig)
    fig = figure_thresholds(dstars, baselines=full)
    paths.append(plotting.save_figure(fig, out / "thresholds.png"))
    plt.close(fig)
    zero = {s: dimension_zero_table(records, burn, f"{s}_acc") for s in ("train", "test")}
    fig = figure_dimension_zero(zero, baselines=full)
    paths.append(plotting.save_figure(fig, out / "dimension_zero.png"))
    plt.close(fig)
    return paths


def full_model_accuracy(base_records, split: str) -> float:
    """The full model's best ``split`` ("train" or "test") accuracy at its better learning rate."""
    from .baselines import baseline_accuracy
    return baseline_accuracy(base_records, f"best_{split}_acc")


def complete_cells(config: PhaseConfig, records) -> tuple[list[dict], list[int]]:
    """``(records, dropped d)``: only the d at which every curve has all of the config's seeds.

    A sweep stopped part-way leaves some d with fewer runs than others; P_s over fewer runs
    is a different estimator (another effective delta), so such d are left out.
    """
    keys = {r["key"] for r in config.sweep_config().runs()}
    recs = [r for r in records if r.get("key") in keys]
    count: dict = {}
    for r in recs:
        count[(r["method"], int(r["t"]), int(r["d"]))] = count.get((r["method"], int(r["t"]), int(r["d"])), 0) + 1
    curves = {(m, 0) if m == "random_affine" else None for m in config.methods} - {None}
    curves |= {("burn_in", int(t)) for t in config.t_values} if "burn_in" in config.methods else set()
    full = [d for d in config.d_values if all(count.get((m, t, d), 0) == len(config.seeds) for m, t in curves)]
    dropped = [d for d in config.d_values if d not in full]
    return [r for r in recs if int(r["d"]) in full], dropped


# ----------------------------------------------------------------------------- command line
def chapter_defaults(root: Path | None = None) -> dict:
    """The literal values of the chapter's ``parameters`` cell (its defaults)."""
    import ast
    from .paths import repo_root
    from .runner import notebook_from_source
    root = root or repo_root()
    nb = notebook_from_source(root / "notebooks" / f"{CHAPTER}.py")
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    raise ValueError(f"notebooks/{CHAPTER}.py has no cell tagged 'parameters'")


def preset_config(preset: str | None) -> PhaseConfig:
    """The chapter's defaults overridden by ``presets/05_phase_transition/<preset>.yaml``."""
    from .paths import repo_root
    from .runner import load_preset, preset_path
    root = repo_root()
    params = chapter_defaults(root)
    if preset:
        params.update(load_preset(preset_path(root / "notebooks" / f"{CHAPTER}.py", preset, root)))
    names = {f.name for f in dataclasses.fields(PhaseConfig)}
    return PhaseConfig(**{k: v for k, v in params.items() if k in names})


def run_to_folder(config: PhaseConfig, folder, *, preset: str | None = None, progress: bool = True) -> dict:
    """Baseline, burn-in points and the sweep into ``folder``; writes the settings file."""
    import jax
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings_path = folder / SETTINGS_FILE
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    if settings and settings.get("config") != config.as_dict():
        old, new = settings["config"], config.as_dict()
        changed = sorted(k for k in new if old.get(k) != new[k])
        if not set(changed) <= {"seeds", "delta", "level_step"}:
            raise ValueError(f"{settings_path} holds a different configuration (changed: {changed}); "
                             "only seeds, delta and level_step may change in place: use another folder")
        settings.setdefault("history", []).append({"config": old, "completion": settings.get("completion")})
    settings.update(config=config.as_dict(), preset=preset, n_runs_expected=config.n_runs(),
                    host=f"{platform.node()} {platform.machine()}, jax {jax.__version__} on "
                         f"{jax.default_backend()}, {len(jax.devices())} device(s)",
                    started_utc=settings.get("started_utc") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    settings_path.write_text(json.dumps(settings, indent=1))
    data = load_data(config)
    t0 = time.perf_counter()
    run_phase_baseline(config, folder / BASELINE_FILE, data=data)
    burn_in_points(config, folder / BURN_IN_FILE, data=data)
    records = run_phase_sweep(config, folder / SWEEP_FILE, data=data, progress=progress)
    settings["wall_s_this_session"] = round(time.perf_counter() - t0, 1)
    settings["wall_s_total"] = round(sum(r.get("wall_time", 0.0) for r in records), 1)
    settings["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    settings["completion"] = completion(config, records)
    settings_path.write_text(json.dumps(settings, indent=1))
    return settings


def record_completion(folder, note: str | None = None) -> dict:
    """Write the records' completion and summed training time into the folder's settings file
    (for a sweep that was stopped before it finished; :func:`run_to_folder` does it itself)."""
    folder = Path(folder)
    settings, records, _, _ = load_results(folder)
    config = PhaseConfig(**settings["config"])
    keys = {r["key"] for r in config.sweep_config().runs()}
    mine = [r for r in records if r.get("key") in keys]
    settings["completion"] = completion(config, mine)
    settings["wall_s_total"] = round(sum(r.get("wall_time", 0.0) for r in mine), 1)
    if note:
        settings["note"] = note
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=1))
    return settings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dof_helpers.phase", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run (or resume) a preset's sweep into a folder")
    run.add_argument("--preset", default=None)
    run.add_argument("--out", required=True)
    figs = sub.add_parser("figures", help="draw the figures of a results folder into it (PNG)")
    figs.add_argument("folder")
    fin = sub.add_parser("completion", help="record how much of a stopped sweep finished in its settings")
    fin.add_argument("folder")
    fin.add_argument("--note", default=None)
    args = parser.parse_args(argv)
    if args.command == "completion":
        print(json.dumps(record_completion(args.folder, args.note)["completion"], indent=1))
    if args.command == "figures":
        for path in save_result_figures(args.folder):
            print(f"wrote {path}")
    if args.command == "run":
        config = preset_config(args.preset)
        print(config, flush=True)
        settings = run_to_folder(config, args.out, preset=args.preset)
        print(json.dumps(settings["completion"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
