"""Chapter 05's claims, measured: the transition's width, d* against accuracy, burn-in.

The paper (Section 2, Figures 2-3 and 12) makes three claims about the phase transition;
:func:`claims` measures each on one sweep's P_s and d* tables
(:func:`thresholds.curve_tables`). :func:`local_dimension_table` reads the local angular
dimension off d* (eq. 3.3); :func:`dimension_zero_table` is Figure 12's data.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..engine.methods import curve_label
from ..thresholds import curves_of, d_star_curve
from ..validation import check_float, check_int


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

    ``ordered``: d*(t) falls strictly from each curve to the next longer burn-in (a tie,
    two curves needing the same d of the grid, is *not* ordered: it shows no effect of t);
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
        row["ordered"] = bool(all(a > b for a, b in zip(vals, vals[1:])))
        row["strict_random_vs_longest"] = bool(vals[-1] < vals[0])
        rows.append(row)
    columns = (["accuracy level"] + [curve_label(m, t) for m, t in curves]
               + ["ordered", "strict_random_vs_longest"])
    return pd.DataFrame(rows, columns=columns)


def claims(table, dstar, *, above: float | None = None, high_fraction: float = 0.9,
           max_octaves: float = 2.0, min_ratio: float = 8.0, min_share: float = 0.9,
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
       than random affine at a share >= ``min_share`` of them (``holds_3_beats``), and d*
       falls strictly with every longer burn-in (:func:`burn_in_ordering`: a tie is not
       ordered) at a share >= ``min_share`` of them (``holds_3_ordered``); ``holds_3`` is
       both. The shares are also reported separately for the levels within ``top_margin``
       of the highest common level (``*_top``) and below (``*_mid``), with the same
       ``min_share`` (``holds_3_beats_mid``, ``holds_3_ordered_mid``, ...): one threshold
       for every reading of the claim.

    Returns a dict of numbers and booleans (``holds_1``, ``holds_2``, ``holds_3``, ...).
    """
    min_share = check_float("min_share", min_share, min_value=0.0, max_value=1.0, open_min=True)
    out = _claim_narrow_band(table, max_octaves)
    out.update(_claim_growth(dstar, min_ratio))
    out.update(_claim_burn_in(dstar, above, high_fraction, min_share, top_margin))
    return out


def _claim_narrow_band(table, max_octaves: float) -> dict:
    widths = transition_widths(table)
    med = float(widths["octaves"].median()) if len(widths) else float("nan")
    return {"median_octaves": med, "max_octaves": float(widths["octaves"].max()) if len(widths) else float("nan"),
            "n_transitions": int(len(widths)), "holds_1": bool(len(widths) > 0 and med <= max_octaves)}


def _claim_growth(dstar, min_ratio: float) -> dict:
    ratios, monotone = {}, True
    for method, t in curves_of(dstar):
        ds = dstar[(dstar["method"] == method) & (dstar["t"] == t)].sort_values("level")["d_star"].to_numpy(float)
        finite = ds[np.isfinite(ds)]
        # NaN only at the top: once a level is out of reach, every higher level is too
        monotone &= bool(np.all(np.diff(finite) >= 0)) and bool(np.all(np.isnan(ds[np.argmax(np.isnan(ds)):]))
                                                               if np.isnan(ds).any() else True)
        ratios[curve_label(method, t)] = float(finite.max() / finite.min()) if finite.size else float("nan")
    return {"d_star_range_ratio": ratios, "d_star_monotone": bool(monotone),
            "holds_2": bool(monotone and ratios and all(r >= min_ratio for r in ratios.values()))}


def _common_levels(dstar) -> list:
    """The levels every curve reaches (finite d*), ascending."""
    common = None
    for method, t in curves_of(dstar):
        sub = dstar[(dstar["method"] == method) & (dstar["t"] == t)]
        reached = set(np.round(sub.loc[np.isfinite(sub["d_star"].astype(float)), "level"].astype(float), 6))
        common = reached if common is None else common & reached
    return sorted(common or [])


def _claim_burn_in(dstar, above, high_fraction, min_share, top_margin) -> dict:
    common = _common_levels(dstar)
    out = {"top_common_level": float(common[-1]) if common else float("nan")}
    if above is None:
        high = [lv for lv in common if lv >= high_fraction * common[-1]] if common else []
    else:
        high = [lv for lv in common if lv > above]
    order = burn_in_ordering(dstar, high)
    share = lambda col, sub: float(sub[col].mean()) if len(sub) else float("nan")  # noqa: E731
    out.update(high_levels=[float(x) for x in high], share_ordered=share("ordered", order),
               share_longest_beats_random=share("strict_random_vs_longest", order), min_share=min_share)
    passes = lambda x: bool(x >= min_share)  # noqa: E731  (NaN: no levels, never passes)
    out["holds_3_beats"] = passes(out["share_longest_beats_random"])
    out["holds_3_ordered"] = passes(out["share_ordered"])
    out["holds_3"] = bool(len(order) > 0 and out["holds_3_beats"] and out["holds_3_ordered"])
    # the same, separately for the top levels (within top_margin of the highest common level)
    # and the levels between the centre's accuracy and those
    cut = out["top_common_level"] - top_margin + 1e-9
    for part, sub in (("mid", order[order["accuracy level"] < cut]), ("top", order[order["accuracy level"] >= cut])):
        out[f"levels_{part}"] = [float(x) for x in sub["accuracy level"]]
        out[f"share_beats_{part}"] = share("strict_random_vs_longest", sub)
        out[f"share_ordered_{part}"] = share("ordered", sub)
        out[f"holds_3_beats_{part}"] = passes(out[f"share_beats_{part}"])
        out[f"holds_3_ordered_{part}"] = passes(out[f"share_ordered_{part}"])
    return out


def dimension_zero_table(records, burn, metric: str = "train_acc", max_d: int = 128):
    """Figure 12's data: mean (and std) over seeds of the best ``metric`` at each d <= ``max_d``,
    with d = 0 the accuracy of the centre w_t itself (``burn``: :func:`engine.centres.run_centres`
    records; t = 0 is the random affine centre w_0, t > 0 the burn-in point w_t)."""
    import pandas as pd
    from ..records import records_frame
    f = records if isinstance(records, pd.DataFrame) else records_frame(records)
    f = f[(f["d"] <= max_d)]
    rows = []
    for (method, t, d), g in f.groupby(["method", "t", "d"]):
        v = g["best_" + metric].astype(float)
        rows.append({"method": method, "t": int(t), "d": int(d), "mean": v.mean(), "std": v.std(ddof=0),
                     "n": len(v)})
    b = burn if isinstance(burn, pd.DataFrame) else pd.DataFrame(list(burn))
    for t, g in b.groupby("t"):
        v = g[metric].astype(float)
        rows.append({"method": "random_affine" if t == 0 else "burn_in", "t": int(t), "d": 0, "mean": v.mean(),
                     "std": v.std(ddof=0), "n": len(v)})
    return pd.DataFrame(rows).sort_values(["method", "t", "d"]).reset_index(drop=True)


def _verdict(holds: bool) -> str:
    """A claim's verdict in words, as the takeaways write it."""
    return "holds" if holds else "does not hold"


def takeaways_markdown(claims_by_split: dict, *, t_max: int, top_margin: float, local=None,
                       D: int | None = None) -> str:
    """The chapter's takeaways as markdown bullets, every number read from :func:`claims`
    (``claims_by_split``: split -> its result) and the local-dimension table (``local``,
    :func:`local_dimension_table`; optional). Plain CommonMark (the book renders notebook
    output as CommonMark): no maths, no roles; d* is written ``d\\*``."""
    import math
    cs = list(claims_by_split.items())
    share = cs[0][1]["min_share"]
    med = max(c["median_octaves"] for _, c in cs)
    out = [f"- Training in a random affine or burn-in subspace behaves like a phase transition: at a fixed "
           f"accuracy, the share of successful runs climbs from at most 0.1 to at least 0.9 within a median "
           f"of {med:g} octaves of d (a factor of {2 ** med:g}; the grid steps by a factor of two), so the heat "
           f"maps are nearly black and white. Claim 1 {_verdict(all(c['holds_1'] for _, c in cs))} at this scale."]
    ratios = [r for _, c in cs for r in c["d_star_range_ratio"].values() if math.isfinite(r)]
    out.append(f"- The dimension needed grows steeply with the accuracy asked for: between the lowest and the "
               f"highest level a curve reaches, its d\\* rises by a factor of {min(ratios):.0f} to "
               f"{max(ratios):.0f}. Claim 2 {_verdict(all(c['holds_2'] for _, c in cs))}.")
    parts = []
    for split, c in cs:
        parts.append(f"{split}: the longest burn-in (t = {t_max}) needs a smaller d\\* than the random subspace "
                     f"at {c['share_longest_beats_random']:.0%} of the {len(c['high_levels'])} high levels "
                     f"({c['share_beats_mid']:.0%} below the top {top_margin:g} of accuracy, "
                     f"{c['share_beats_top']:.0%} within it), while d\\* falls strictly with every longer burn-in "
                     f"at only {c['share_ordered']:.0%} of them")
    out.append("- Burn-in moves the centre itself into the easier level sets (Figure 12). Above the longest "
               "burn-in's own accuracy, " + "; ".join(parts) + f". With one share threshold ({share:.0%} of the "
               f"levels) for both readings, claim 3 in its full form (monotone in t, ties counting against it) "
               f"{_verdict(all(c['holds_3'] for _, c in cs))}; its weaker form, the longest burn-in beating the random "
               f"subspace below the top levels, {_verdict(all(c['holds_3_beats_mid'] for _, c in cs))}. On a grid of "
               f"factors of two, neighbouring burn-in times often need the same d.")
    if local is not None and D is not None and local["d_local / D"].notna().any():
        low = float(local["d_local / D"].min())
        out.append(f"- Read through eq. 3.3, the measured d\\* say that every accuracy level set reached here, "
                   f"seen from its centre, has a local angular dimension of at least {low:.1%} of D = {D:,}.")
    out.append("- All of this is at the reduced scale of the `cpu-large` preset (its settings and how much of its "
               "grid completed are printed with its records above); the `paper-*` presets run the paper's full "
               "settings, and the coverage page of the book says which of the paper's figures this reproduces at "
               "which scale.")
    return "\n".join(out) + "\n"


def claims_bullet(claims_by_split: dict, *, name: str, t_max: int) -> str:
    """One markdown bullet: the three claims measured on another sweep (``name``, e.g. the
    paper protocol), every number read from :func:`claims` (``claims_by_split``: split ->
    its result). Plain CommonMark, like :func:`takeaways_markdown`."""
    parts = []
    for split, c in claims_by_split.items():
        ratio = c["d_star_range_ratio"].get(curve_label("random_affine", 0), float("nan"))
        parts.append(f"{split}: claim 1 {_verdict(c['holds_1'])} (median band {c['median_octaves']:g} octaves of d), "
                     f"claim 2 {_verdict(c['holds_2'])} (d\\* of the random affine subspace rises {ratio:.0f}-fold), "
                     f"claim 3 in its full form {_verdict(c['holds_3'])} (t = {t_max} beats random at "
                     f"{c['share_longest_beats_random']:.0%} of {len(c['high_levels'])} high levels, d\\* falls "
                     f"strictly with t at {c['share_ordered']:.0%}), its weak form {_verdict(c['holds_3_beats_mid'])}")
    return f"- **The paper's claims, {name}**: " + "; ".join(parts) + "."
