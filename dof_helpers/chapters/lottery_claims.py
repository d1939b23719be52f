"""Chapter 06: one grid's summary and the paper's Section-4 claims, computed from its records.

:func:`grid_summary` turns one grid (:func:`lottery_records.split_records`) into the frames every
figure and table of the chapter reads; :func:`claims_table` turns the summary into one row
per claim of the paper, with what the records say and whether the claim holds (computed,
never typed); :func:`claims_side_by_side` puts the tables of several grids (cpu-large, the
paper-sized grid) next to each other.
"""
from __future__ import annotations

import numpy as np

from ..engine.methods import NESTED_METHODS
from ..taxonomy import first_collapse, mean_curves, taxonomy_frame, unpruned_accuracy

#: "close to the full model": within this much of its best training accuracy
CLOSE_MARGIN = 0.05


def grid_summary(grid: dict) -> dict:
    """Per split (keys without suffix: train; ``_test``: test): the taxonomy frame of all
    eight methods (running maximum over d for the nested lottery subspaces, Appendix A.2),
    the same as recorded (``raw``), the full model's mean best accuracy (``full``: the
    unpruned network), the mean curves over seeds (``means``) and the compute-matched
    lottery frame (``matched``, None without such runs)."""
    s = {}
    for split, sfx in (("train", ""), ("test", "_test")):
        metric = f"{split}_acc"
        frame = taxonomy_frame(grid["subspaces"], grid["pruning"], metric=metric)
        s["frame" + sfx] = frame
        s["raw" + sfx] = taxonomy_frame(grid["subspaces"], grid["pruning"], metric=metric, running_max_nested=False)
        s["full" + sfx] = unpruned_accuracy(grid["pruning"], metric)
        s["means" + sfx] = mean_curves(frame, metric)
        s["matched" + sfx] = taxonomy_frame(grid["matched"], [], metric=metric) if grid["matched"] else None
    return s


def first_d(means, method: str, target: float):
    """The smallest d at which ``method``'s mean accuracy reaches ``target`` (None: never)."""
    c = means[means["method"] == method].sort_values("d")
    hit = c[c["mean"] >= target]["d"]
    return int(hit.min()) if len(hit) else None


def mean_at(means, method: str, compression: float) -> float:
    """``method``'s mean accuracy at compression ratio D/d, interpolated linearly in
    log(D/d) between grid points; NaN outside the method's grid (no extrapolation)."""
    c = means[means["method"] == method].sort_values("compression")
    x = np.log(c["compression"].to_numpy())
    inside = x.size and x.min() <= np.log(compression) <= x.max()
    return float(np.interp(np.log(compression), x, c["mean"])) if inside else float("nan")


def claims_table(s: dict, grid: dict, margin: float = CLOSE_MARGIN):
    """The paper's Section-4 claims about lottery subspaces and tickets, checked on one grid.

    ``s``: :func:`grid_summary` of ``grid``. Columns: claim, paper (what the paper reports),
    here (what the records say), holds (computed). Comparisons at equal compression
    interpolate in log(D/d) (:func:`mean_at`); "close" is within ``margin`` of the full
    model's best training accuracy.
    """
    import pandas as pd
    m = s["means"]
    close = s["full"] - margin
    d_close = {mm: first_d(m, mm, close) for mm in NESTED_METHODS}
    common_d = sorted(set(m[m["method"] == "random_affine"]["d"]) & set(m[m["method"] == "lottery_subspace"]["d"]))
    D = int(s["frame"]["D"].iloc[0])
    wins = [mean_at(m, "lottery_subspace", D / d) > mean_at(m, "random_affine", D / d) for d in common_d]
    mm = mean_curves(s["matched"]) if s["matched"] is not None else m.iloc[:0]
    lot = mm[mm["method"] == "lottery_subspace"]
    matched_acc = dict(zip(lot["d"].astype(int), lot["mean"]))
    matched_wins = [matched_acc[d] > mean_at(m, "random_affine", D / d) for d in sorted(matched_acc)
                    if np.isfinite(mean_at(m, "random_affine", D / d))]
    ticket = m[m["method"] == "lottery_ticket"].sort_values("compression")
    vs_sub = [(c, mean_at(m, "lottery_subspace", c), a) for c, a in zip(ticket["compression"], ticket["mean"])
              if c >= 100]
    vs_sub = [(c, x, a) for c, x, a in vs_sub if np.isfinite(x)]
    vs_rand = [(c, mean_at(m, "random_affine", c), a) for c, a in zip(ticket["compression"], ticket["mean"])]
    vs_rand = [(c, r, a) for c, r, a in vs_rand if np.isfinite(r)]
    fc = first_collapse(grid["pruning"])
    tt = m[m["method"] == "lottery_ticket_t"].set_index("d")["mean"]
    t0 = m[m["method"] == "lottery_ticket"].set_index("d")["mean"]
    alive = [d for d in t0.index if t0[d] > 0.2 and d < D and d in tt.index]
    gain = np.mean([tt[d] - t0[d] for d in alive]) if alive else np.nan
    return pd.DataFrame([
        dict(claim="lottery subspaces come close to the full model with a few tens of dimensions",
             paper="d of 20 to 60", here=f"d = {d_close['lottery_subspace']} (rewind to w_0), "
                                         f"{d_close['lottery_subspace_t']} (rewind to w_t)",
             holds=all(v is not None and v <= 64 for v in d_close.values())),
        dict(claim="lottery subspaces beat random affine subspaces at small d", paper="yes (Fig. 3, 6)",
             here=f"at {sum(wins)} of {len(wins)} common d", holds=bool(wins) and all(wins)),
        dict(claim="... also with the trajectory capped at the full model's SGD steps",
             paper="not tested (trajectory of 5 d_max steps)",
             here=f"at {sum(matched_wins)} of {len(matched_wins)} d inside the random-affine grid",
             holds=bool(matched_wins) and all(matched_wins)),
        dict(claim="lottery subspaces beat lottery tickets at high compression (D/d >= 100)", paper="yes (Fig. 6)",
             here=f"at {sum(x > a for _, x, a in vs_sub)} of {len(vs_sub)} ticket sizes",
             holds=bool(vs_sub) and all(x > a for _, x, a in vs_sub)),
        dict(claim="where they overlap, tickets do not beat random affine subspaces",
             paper="mostly (not Conv-2 CIFAR-10)",
             here=f"tickets better at {sum(a > r for _, r, a in vs_rand)} of {len(vs_rand)} overlapping sizes",
             holds=bool(vs_rand) and not any(a > r for _, r, a in vs_rand)),
        dict(claim="tickets fail at high compression through layer collapse", paper="yes",
             here=f"first collapse at keep {fc['keep_fraction']:g} (D/d = {fc['compression']:.0f}): {fc['layers']}",
             holds=bool(np.isfinite(fc["compression"]))),
        dict(claim="rewinding tickets to step t beats rewinding to w_0 (before collapse)",
             paper="Frankle et al. 2020",
             here=f"at {sum(tt[d] > t0[d] for d in alive)} of {len(alive)} pruned sizes, mean gain {gain:+.3f}",
             holds=bool(alive) and all(tt[d] > t0[d] for d in alive)),
    ])


def claims_side_by_side(tables: dict):
    """One frame from :func:`claims_table` of several grids (``{name: table}``): claim and
    paper once, then "here" and "holds" per grid."""
    import pandas as pd
    names = list(tables)
    if not names:
        raise ValueError("tables={} is not valid; give at least one grid's claims table")
    first = tables[names[0]]
    out = first[["claim", "paper"]].copy()
    for name in names:
        tab = tables[name]
        if list(tab["claim"]) != list(first["claim"]):
            raise ValueError(f"tables[{name!r}] checks other claims than tables[{names[0]!r}]")
        out[f"here ({name})"] = tab["here"].to_numpy()
        out[f"holds ({name})"] = tab["holds"].to_numpy()
    return out


#: how much accuracy the compute-matched lottery trajectory may lose against the original at
#: any common (method, d) before the check below calls the lead "bought with extra training"
MATCHED_TOLERANCE = 0.02


def science_checks(s: dict, grid: dict) -> dict:
    """The chapter's checks of one grid, as numbers and verdicts (asserted by the notebook
    on complete committed grids).

    ``lottery_wins`` / ``lottery_wins_t``: per common d, whether the lottery subspace beats
    random affine (rewound to w_0) / burn-in (rewound to w_t); ``close_at_64``: the best
    lottery-subspace mean with d <= 64 is within 0.1 of the full model; ``collapsed_at_min``:
    every seed's ticket at the smallest kept count has an empty layer, ``min_ticket``: its
    mean accuracy; ``matched_gap``: the most the compute-matched trajectory loses (None
    without such runs), ``matched_ok``: it loses less than :data:`MATCHED_TOLERANCE`."""
    from .lottery import compute_matched_table
    m = s["means"]

    def acc(method, d):
        return float(m[(m["method"] == method) & (m["d"] == d)]["mean"].iloc[0])
    common_d = sorted(set(m[m["method"] == "random_affine"]["d"]) & set(m[m["method"] == "lottery_subspace"]["d"]))
    best_lottery = m[m["method"].str.startswith("lottery_subspace") & (m["d"] <= 64)]["mean"].max()
    tickets = m[m["method"] == "lottery_ticket"]
    d_min = int(tickets["d"].min())
    gap = compute_matched_table(grid)
    return {"lottery_wins": {int(d): acc("lottery_subspace", d) > acc("random_affine", d) for d in common_d},
            "lottery_wins_t": {int(d): acc("lottery_subspace_t", d) > acc("burn_in", d) for d in common_d},
            "close_at_64": bool(best_lottery > s["full"] - 0.1),
            "collapsed_at_min": all(r["n_collapsed"] > 0 for r in grid["pruning"]
                                    if r["method"] == "lottery_ticket" and r["d"] == d_min),
            "min_ticket": float(tickets[tickets["d"] == d_min]["mean"].iloc[0]),
            "matched_gap": float(gap["gap"].min()) if len(gap) else None,
            "matched_ok": bool((gap["gap"] > -MATCHED_TOLERANCE).all()) if len(gap) else None}
