# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Gaussian width: how big is a set, seen from random directions?
#
# **What you will learn**
#
# - What the Gaussian width $w(S)$ of a set is (Definition 3.1 of {cite}`larsen2022degrees`),
#   its equivalent forms, and how to estimate it by Monte Carlo with an honest error bar.
# - Exact answers to test the estimator against: a ball inside a $d$-dimensional subspace
#   has width $r\,\mathbb{E}\lVert g_d\rVert \approx r\sqrt{d}$.
# - The ellipsoid bounds of the paper's Lemma B.1, re-derived here with the right constants
#   ($2/\pi$, not $\sqrt{2/\pi}$, once the width is squared), and which ellipsoids reach them.
# - Why the *squared* width of a subset of the unit sphere behaves like a dimension.
#
# **What you need**: basic probability (Gaussian vectors, expectations). No earlier chapter
# is required; this one is the vocabulary for {doc}`03_escape_theorem` and
# {doc}`04_quadratic_well`.

# %% tags=["parameters"]
D = 100  # ambient dimension of the space the sets live in (count)
n_samples = 20000  # Monte-Carlo Gaussian vectors per width estimate (count)
radius = 2.0  # radius r of the balls (length units)
ball_dims = [1, 2, 3, 5, 10, 20, 50, 100]  # dimensions d of the subspaces holding the ball (count)
power_exponents = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]  # exponents p of the power-law ellipsoid radii i^(-p) (dimensionless)
cap_angles_deg = [10.0, 30.0, 45.0, 60.0, 80.0]  # half-angles of spherical caps (degrees)
n_points = [2, 10, 100, 1000]  # sizes m of random finite point sets on the sphere (count)
seed = 0  # seed of numpy.random.default_rng for every estimate (integer)

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dof_helpers import geometry as geo
from dof_helpers import escape as esc
from dof_helpers.chapters import theory
from dof_helpers import plotting

cfg = theory.gaussian_width_config(D=D, n_samples=n_samples, radius=radius, ball_dims=ball_dims,
                                power_exponents=power_exponents, cap_angles_deg=cap_angles_deg,
                                n_points=n_points, seed=seed)
plotting.use_house_style()
t_start = time.time()
cfg

# %% [markdown]
# ## Theory
#
# ```{prf:definition} Gaussian width (the paper's Definition 3.1)
# :label: def-gaussian-width
# :nonumber:
#
# For a set $S \subset \mathbb{R}^D$ and a standard Gaussian vector
# $g \sim \mathcal{N}(0, I_D)$,
#
# $$
# w(S) \;=\; \tfrac12\,\mathbb{E}\sup_{x, y \in S}\langle g, x - y\rangle
#       \;=\; \mathbb{E}\sup_{x \in S}\langle g, x\rangle .
# $$
# ```
#
# Read the first form as follows: pick a random direction $g$, measure how far the set
# stretches along it (the largest minus the smallest value of $\langle g, x\rangle$ over
# the set), average over directions, and halve. The second form follows because the
# Gaussian is symmetric: $\sup_y \langle g, -y\rangle$ has the same law as
# $\sup_y\langle g, y\rangle$. Both forms are averages of the **support function**
# $h_S(g) = \sup_{x\in S}\langle g, x\rangle$, so a Monte-Carlo estimator needs only a
# way to evaluate $h_S$ on a batch of Gaussian vectors, or a way to find the maximising
# point $x^*(g)$ (then $h_S(g) = \langle g, x^*(g)\rangle$). Averaging $n$ independent
# values of $h_S(g)$ gives $w(S)$ with standard error $\mathrm{sd}(h_S)/\sqrt{n}$.
# Because $h_S$ is Lipschitz in $g$ with constant $\max_{x\in S}\lVert x\rVert$, this
# standard deviation never exceeds the radius of the set, whatever $D$ is.
#
# **A ball in a subspace.** If $S$ is the ball of radius $r$ inside a $d$-dimensional
# subspace with orthonormal basis $U$, the maximiser is $r\,UU^\top g/\lVert U^\top g\rVert$
# and $h_S(g) = r\lVert U^\top g\rVert$, a $\chi_d$ variable times $r$. Hence, exactly,
#
# $$
# w(S) = r\,\mathbb{E}\lVert g_d\rVert = r\,\sqrt2\,\frac{\Gamma\big(\tfrac{d+1}{2}\big)}{\Gamma\big(\tfrac d2\big)}
#      = r\sqrt{d - \tfrac12 + O(1/d)} .
# $$
#
# The paper quotes $r\sqrt d$ "for large $D$"; in fact the width does not depend on the
# ambient dimension at all, and $r\sqrt d$ is the large-$d$ approximation. For $d = D$ the
# same formula bounds $\mathbb{E}\lVert g\rVert$ between $D/\sqrt{D+1}$ and $\sqrt D$, the
# factor quoted in the caption of the paper's Figure 4.
#
# **Ellipsoids (Lemma B.1, re-derived).** Let
# $\mathcal{E} = \{x : \sum_i x_i^2/r_i^2 \le 1\}$. Its support function is
# $h_{\mathcal E}(g) = \sqrt{\sum_i r_i^2 g_i^2}$ (Cauchy–Schwarz, with equality at
# $x_i \propto r_i^2 g_i$).
#
# ```{prf:lemma} Width of an ellipsoid (the paper's Lemma B.1, corrected)
# :label: lem-ellipsoid-width
# :nonumber:
#
# $$
# \sqrt{2/\pi}\,\Big(\sum_i r_i^2\Big)^{1/2} \;\le\; w(\mathcal E) \;\le\; \Big(\sum_i r_i^2\Big)^{1/2},
# $$
#
# so, squared,
#
# $$
# \frac{2}{\pi}\sum_i r_i^2 \;\le\; w(\mathcal E)^2 \;\le\; \sum_i r_i^2 .
# $$
# ```
#
# *Upper bound:* Jensen, $\mathbb{E}\sqrt{X} \le \sqrt{\mathbb{E}X}$ with
# $\mathbb{E}\sum_i r_i^2 g_i^2 = \sum_i r_i^2$. *Lower bound* (a shorter route than the
# appendix's Rademacher argument): with $\rho = (\sum_i r_i^2)^{1/2}$, Cauchy–Schwarz
# applied to the vectors $(r_i|g_i|)_i$ and $(r_i)_i$ gives
# $\sum_i r_i^2|g_i| \le \rho\,\sqrt{\sum_i r_i^2 g_i^2}$; taking expectations and using
# $\mathbb{E}|g_i| = \sqrt{2/\pi}$ gives $w(\mathcal E) \ge \sqrt{2/\pi}\,\rho$.
#
# Three slips in the paper's Appendix B.1 are worth flagging, because the chapter's
# checks depend on the correct constants:
#
# 1. The mean of $|g|$ is computed there as $2/\pi$ (with a $1/(2\pi)$ normalisation
#    in front of the integral); the right values are $1/\sqrt{2\pi}$ and
#    $\mathbb{E}|g| = \sqrt{2/\pi} \approx 0.798$. The appendix then (correctly) uses
#    $\sqrt{2/\pi}$ in the following lines.
# 2. The lemma is stated for the **squared** width with lower constant $\sqrt{2/\pi}$, but
#    the proof bounds the width itself; squaring turns the constant into
#    $2/\pi \approx 0.637$. The printed squared bound is false: a "needle" ellipsoid with
#    one long axis $r_1$ and the others negligible has $w = \sqrt{2/\pi}\,r_1$, so
#    $w^2 = (2/\pi)\,r_1^2 < \sqrt{2/\pi}\,r_1^2$. We check this numerically below.
# 3. For the quadratic well $\tfrac12 w^\top H w$, the sublevel set $S(\epsilon)$ has
#    $r_i^2 = 2\epsilon/\lambda_i$, so $\sum_i r_i^2 = 2\epsilon\,\mathrm{Tr}(H^{-1})$ (the
#    text before Corollary B.1 drops the factor 2; the corollary itself keeps it). With the
#    corrected constant, $\tfrac{2}{\pi}\,2\epsilon\,\mathrm{Tr}(H^{-1}) \le w^2(S(\epsilon)) \le 2\epsilon\,\mathrm{Tr}(H^{-1})$.
#
# Both ends are attained: many equal radii (a ball) sit at the upper end, since
# $(\mathbb{E}\lVert g_D\rVert)^2 = D - \tfrac12 + O(1/D)$ against $\sum_i r_i^2 = D$;
# a needle sits at the lower end. The power-law family $r_i = i^{-p}$ interpolates.
#
# **Sets on the unit sphere, and width as a dimension.** For the unit sphere of a
# $k$-dimensional subspace, $w^2 = (\mathbb{E}\lVert g_k\rVert)^2 \approx k$: the squared
# width counts dimensions. For a closed convex cone $C$, the squared width of
# $C \cap S^{D-1}$ is within one of the cone's *statistical dimension*
# $\delta(C) = \mathbb{E}\lVert\Pi_C(g)\rVert^2$ {cite}`amelunxen2014living`; the orthant
# has $\delta = D/2$, a spherical cap of half-angle $\alpha$ has
# $\delta \approx D\sin^2\alpha + \cos 2\alpha$. At the other extreme, $m$ points on the
# sphere have $w \le \sqrt{2\log m}$ {cite}`vershynin2018high`: a finite set is
# "low-dimensional" however spread out it is. Chapter {doc}`03_escape_theorem` turns this
# into a statement about random subspaces: a random $d$-dimensional subspace hits a subset
# of the sphere about when $d + w(S)^2 \ge D$.

# %% [markdown]
# ## Experiment
#
# ### Balls inside subspaces
#
# The estimator takes a support function and a batch size; the ball's support function is
# $r\lVert U^\top g\rVert$ with $U$ a random orthonormal basis of the subspace.

# %%
balls = []
for i, d in enumerate(cfg.ball_dims):
    U = esc.random_subspace(cfg.D, d, seed=cfg.seed + i)
    h = geo.support_ball(cfg.radius, U)
    sup = geo.gaussian_width(h, cfg.D, cfg.n_samples, seed=cfg.seed + 100 + i)
    half = geo.gaussian_width(h, cfg.D, cfg.n_samples, seed=cfg.seed + 200 + i,
                              form="half_mean_width")
    balls.append({"d": d, "w (sup form)": sup, "w (half mean width of S-S)": half,
                  "exact r E||g_d||": geo.ball_width(cfg.radius, d),
                  "paper r sqrt(d)": cfg.radius * np.sqrt(d)})

# %% [markdown]
# ### The three estimators agree on a set that is not symmetric
#
# For a centrally symmetric set $h_S(g) = h_S(-g)$ and the two forms coincide sample by
# sample. A finite set of random points on the sphere is not symmetric, so it is a fairer
# test; an ellipsoid checks the maximiser form.

# %%
rng = np.random.default_rng(cfg.seed)
X = rng.standard_normal((50, cfg.D))
X /= np.linalg.norm(X, axis=1, keepdims=True)
h_points, n, s0 = geo.support_points(X), cfg.n_samples, cfg.seed
forms = {
    "points: sup form": geo.gaussian_width(h_points, cfg.D, n, seed=s0 + 1),
    "points: half mean width": geo.gaussian_width(h_points, cfg.D, n, seed=s0 + 2,
                                                  form="half_mean_width"),
}
r_test = np.linspace(1.0, 0.1, cfg.D)
forms["ellipsoid: support function"] = geo.gaussian_width(
    geo.support_ellipsoid(r_test), cfg.D, n, seed=s0 + 3)
forms["ellipsoid: maximiser"] = geo.gaussian_width_from_maximiser(
    geo.maximiser_ellipsoid(r_test), cfg.D, n, seed=s0 + 4)

# %% [markdown]
# ### Ellipsoids against Lemma B.1
#
# Radii $r_i = i^{-p}$: $p = 0$ is a ball, large $p$ approaches a needle. We also build an
# explicit needle (one radius 1, the rest $10^{-6}$).

# %%
ellipsoids = []
shapes = [(f"r_i = i^-{p:g}", np.arange(1, cfg.D + 1, dtype=float) ** -p)
          for p in cfg.power_exponents]
shapes.append(("needle", np.r_[1.0, np.full(cfg.D - 1, 1e-6)]))
for j, (name, r) in enumerate(shapes):
    est = geo.gaussian_width(geo.support_ellipsoid(r), cfg.D, cfg.n_samples,
                             seed=cfg.seed + 300 + j)
    s2 = float(np.sum(r ** 2))
    ellipsoids.append({"shape": name, "sum r^2": s2,
                       "w^2 / sum r^2": est.mean ** 2 / s2,
                       "s.e.": 2 * est.mean * est.stderr / s2})

# %% [markdown]
# ### Subsets of the unit sphere
#
# Great subspheres (the sphere of a $k$-dimensional subspace), the positive orthant, caps
# and finite point sets. For the orthant and caps the support function on the *sphere*
# differs from the cone-with-ball version only when the direction points away from the set
# (then the best point is the closest one, and $h_S(g) < 0$).

# %%
sphere_sets = []
for k in sorted({1, 2, cfg.D // 10, cfg.D // 2, cfg.D} - {0}):
    U = esc.random_subspace(cfg.D, k, seed=cfg.seed + k)
    est = geo.gaussian_width(geo.support_ball(1.0, U), cfg.D, cfg.n_samples,
                             seed=cfg.seed + 400 + k)
    sphere_sets.append({"set": f"great subsphere, k = {k}", "w": est,
                        "reference": "k", "ref": float(k)})
est = geo.gaussian_width(geo.support_orthant_sphere, cfg.D, cfg.n_samples,
                         seed=cfg.seed + 500)
sphere_sets.append({"set": "orthant ∩ sphere", "w": est,
                    "reference": "δ = D/2", "ref": cfg.D / 2})

# %%
axis = np.eye(cfg.D)[0]
for a in cfg.cap_angles_deg:
    h = geo.support_cap(axis, np.radians(a))
    est = geo.gaussian_width(
        h, cfg.D, cfg.n_samples, seed=cfg.seed + 600 + int(a)
    )
    delta = esc.statistical_dimension("circular", cfg.D, angle=np.radians(a))
    sphere_sets.append(
        {
            "set": f"cap, α = {a:g}°",
            "w": est,
            "reference": "δ(circular cone)",
            "ref": delta,
        }
    )
for m in cfg.n_points:
    P = np.random.default_rng(cfg.seed + m).standard_normal((m, cfg.D))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    est = geo.gaussian_width(
        geo.support_points(P),
        cfg.D,
        min(cfg.n_samples, 1000),
        seed=cfg.seed + 700 + m,
    )
    sphere_sets.append(
        {
            "set": f"{m} random points",
            "w": est,
            "m": m,
            "reference": "2 log m (upper bound)",
            "ref": 2 * np.log(m),
        }
    )

# %% [markdown]
# ## Results
#
# **Balls.** The estimates sit on the exact gamma-function curve; the paper's $r\sqrt d$ is
# visibly too large for small $d$ (at $d = 1$ the exact width is $r\sqrt{2/\pi}$).

# %% tags=["hide-input"]
ball_df = pd.DataFrame([{"d": b["d"], "w (sup form)": f"{b['w (sup form)']:.3f}",
                         "w (half mean width)": f"{b['w (half mean width of S-S)']:.3f}",
                         "exact r E||g_d||": round(b["exact r E||g_d||"], 3),
                         "paper r sqrt(d)": round(b["paper r sqrt(d)"], 3)} for b in balls])
ball_df

# %% tags=["hide-input"]
fig, ax = plt.subplots()
dd = np.array([b["d"] for b in balls], dtype=float)
plotting.estimates_with_references(
    ax, dd, {"Monte Carlo": ([b["w (sup form)"].mean for b in balls], [b["w (sup form)"].stderr for b in balls])},
    references={"exact $r\\,\\mathbb{E}\\|g_d\\|$": [b["exact r E||g_d||"] for b in balls],
                "$r\\sqrt{d}$ (paper's approximation)": [b["paper r sqrt(d)"] for b in balls]},
    styles={"exact $r\\,\\mathbb{E}\\|g_d\\|$": {"color": "black", "ls": "-"},
            "$r\\sqrt{d}$ (paper's approximation)": plotting.THEORY_STYLES["bound"]},
    xlabel="dimension $d$ of the subspace holding the ball (count)",
    ylabel=f"Gaussian width $w$ (length units, $r$ = {cfg.radius:g})", log_x=True)
ax.set_title(f"Ball of radius {cfg.radius:g} inside a $d$-dim subspace of $\\mathbb{{R}}^{{{cfg.D}}}$")
plotting.glue_figure("fig-ball-width", fig)

# %% [markdown]
# ```{glue:figure} fig-ball-width
# :alt: Estimated Gaussian width of a ball against the dimension d of its subspace, on a log axis. The estimates lie on the exact curve; the r times square root of d curve lies above them, most visibly at small d.
# :name: fig-ball-width
#
# Gaussian width of a ball of radius $r$ in a $d$-dimensional subspace: Monte-Carlo
# estimates with error bars, the exact value $r\,\mathbb{E}\lVert g_d\rVert$ (solid) and the
# approximation $r\sqrt d$ (dashed).
# ```

# %% [markdown]
# **Equivalent forms.** The sup form, the half-mean-width form and the maximiser form give
# the same width within their standard errors.

# %% tags=["hide-input"]
pd.DataFrame([{"estimator": k, "w": f"{v:.3f}"} for k, v in forms.items()])

# %% [markdown]
# **Ellipsoids.** The ratio $w^2/\sum_i r_i^2$ falls from almost 1 (a ball) to $2/\pi$
# (a needle), always between the corrected bounds; the bound as printed in the paper
# ($\sqrt{2/\pi}$, dotted) is crossed.

# %% tags=["hide-input"]
ell_df = pd.DataFrame(ellipsoids)
ell_df.round(4)

# %% tags=["hide-input"]
fig, ax = plt.subplots()
x = np.arange(len(ellipsoids))
plotting.estimates_with_references(
    ax, x, {"Monte Carlo": (ell_df["w^2 / sum r^2"], ell_df["s.e."])},
    references={"upper bound 1": np.ones_like(x, dtype=float), "lower bound $2/\\pi$ (corrected)":
                np.full(x.size, 2 / np.pi), "printed lower bound $\\sqrt{2/\\pi}$": np.full(x.size, np.sqrt(2 / np.pi))},
    styles={"upper bound 1": {"color": "black", "ls": "-"},
            "lower bound $2/\\pi$ (corrected)": plotting.THEORY_STYLES["bound"],
            "printed lower bound $\\sqrt{2/\\pi}$": {"color": "#7f7f7f", "ls": ":"}},
    xlabel="ellipsoid shape", ylabel="$w(\\mathcal{E})^2 / \\sum_i r_i^2$ (dimensionless)")
ax.set_xticks(x)
ax.set_xticklabels(ell_df["shape"], rotation=30, ha="right")
ax.legend(loc="lower left")  # the upper right holds the bound at 1
ax.set_title(f"Squared width of ellipsoids in $\\mathbb{{R}}^{{{cfg.D}}}$ against Lemma B.1")
plotting.glue_figure("fig-ellipsoid-ratio", fig)

# %% [markdown]
# ```{glue:figure} fig-ellipsoid-ratio
# :alt: The ratio of squared width to the sum of squared radii for seven ellipsoid shapes, falling from about 1 for a ball to about 0.64 for a needle, between the upper bound 1 and the corrected lower bound 2 over pi; the needle lies below the printed bound, the square root of 2 over pi.
# :name: fig-ellipsoid-ratio
#
# $w(\mathcal E)^2/\sum_i r_i^2$ for power-law ellipsoids $r_i = i^{-p}$ and a needle, with
# the bounds of the corrected lemma (solid: 1, dashed: $2/\pi$) and the lower bound as the
# paper prints it (dotted: $\sqrt{2/\pi}$), which the needle breaks.
# ```

# %% [markdown]
# **Squared width as a dimension.** For each subset of the unit sphere we print $w^2$ next
# to the "dimension" theory assigns it: $k$ for a great subsphere, the statistical
# dimension for cones, and the $2\log m$ ceiling for $m$ points.

# %% tags=["hide-input"]
sph_df = pd.DataFrame([{"set": s["set"], "w": f"{s['w']:.3f}", "w^2": round(s["w"].mean ** 2, 2),
                        "reference": s["reference"], "reference value": round(s["ref"], 2)} for s in sphere_sets])
sph_df

# %% tags=["hide-input"]
fig, ax = plt.subplots()
ref = np.array([s["ref"] for s in sphere_sets])
w2 = np.array([s["w"].mean ** 2 for s in sphere_sets])
kinds = {"great subsphere": "o", "orthant": "s", "cap": "^", "random points": "x"}
for name, marker in kinds.items():
    sel = np.array([name in s["set"] for s in sphere_sets])
    ax.plot(ref[sel], np.maximum(w2[sel], 1e-2), marker=marker, ls="none", label=name)
lim = [0.5, 1.2 * cfg.D]
ax.plot(lim, lim, color="black", lw=1, label="$w^2$ = reference")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("reference dimension: $k$, $\\delta(C)$, or $2\\log m$ (count)")
ax.set_ylabel("squared Gaussian width $w(S)^2$ (count)")
ax.set_title(f"Subsets of the unit sphere in $\\mathbb{{R}}^{{{cfg.D}}}$")
ax.legend()
plotting.glue_figure("fig-sphere-dimension", fig)

# %% [markdown]
# ```{glue:figure} fig-sphere-dimension
# :alt: Log-log scatter of squared Gaussian width against a reference dimension for great subspheres, the orthant, caps and random point sets. Subspheres, orthant and caps sit on the diagonal; the point sets sit below it.
# :name: fig-sphere-dimension
#
# Squared width of subsets of the unit sphere against the dimension theory assigns them:
# $k$ for great subspheres, the statistical dimension $\delta(C)$ for the orthant and caps
# (all on the diagonal), and the ceiling $2\log m$ for $m$ random points (below it).
# ```

# %% [markdown]
# ## Checks
#
# Each assertion allows four standard errors of Monte-Carlo noise (plus a stated slack where
# theory only brackets the answer).

# %% tags=["nbval-check-output", "hide-input"]
for b in balls:
    for key in ("w (sup form)", "w (half mean width of S-S)"):
        assert b[key].within(b["exact r E||g_d||"], 4.0), f"ball d={b['d']}: {key} {b[key]} vs exact"
print("ball widths match r E||g_d|| within 4 s.e.:", True)
gd = geo.expected_gaussian_norm(cfg.D)
assert cfg.D / np.sqrt(cfg.D + 1) <= gd <= np.sqrt(cfg.D), "E||g|| outside [D/sqrt(D+1), sqrt(D)]"
print("D/sqrt(D+1) <= E||g_D|| <= sqrt(D):", True)

# %% tags=["nbval-check-output", "hide-input"]
def agree(a, b, n=4.0):
    return abs(a.mean - b.mean) <= n * np.hypot(a.stderr, b.stderr)


assert agree(forms["points: sup form"], forms["points: half mean width"]), "sup vs half-mean-width disagree"
assert agree(forms["ellipsoid: support function"], forms["ellipsoid: maximiser"]), "support vs maximiser disagree"
print("equivalent forms agree within 4 s.e.:", True)

# %% tags=["nbval-check-output", "hide-input"]
lo, hi = 2 / np.pi, 1.0
for row in ellipsoids:
    r, se = row["w^2 / sum r^2"], row["s.e."]
    assert lo - 4 * se <= r <= hi + 4 * se, f"{row['shape']}: w^2/sum r^2 = {r:.4f} outside [2/pi, 1]"
needle = ellipsoids[-1]
assert needle["w^2 / sum r^2"] + 4 * needle["s.e."] < np.sqrt(2 / np.pi), "needle should break the printed bound"
assert abs(needle["w^2 / sum r^2"] - 2 / np.pi) <= 4 * needle["s.e."] + 1e-3, "needle should sit at 2/pi"
print("ellipsoids within [2/pi, 1] * sum r^2:", True)
print("needle breaks the printed sqrt(2/pi) squared bound:", True)

# %% tags=["nbval-check-output", "hide-input"]
for s in sphere_sets:
    w, se2 = s["w"], 2 * abs(s["w"].mean) * s["w"].stderr
    if s["set"].startswith("great subsphere"):
        k = int(s["ref"])
        assert w.within(geo.expected_gaussian_norm(k), 4.0), f"{s['set']}: {w} vs E||g_k||"
    elif s["reference"].startswith("δ"):
        assert s["ref"] - 1 - 4 * se2 <= w.mean ** 2 <= s["ref"] + 4 * se2, f"{s['set']}: w^2 not in [δ-1, δ]"
    else:
        assert w.mean <= np.sqrt(2 * np.log(s["m"])) + 4 * w.stderr, f"{s['set']}: w above sqrt(2 log m)"
print("sphere sets: w^2 matches k, [δ-1, δ], and the sqrt(2 log m) ceiling:", True)

# %% tags=["hide-input"]
print(f"chapter ran in {time.time() - t_start:.0f} s")

# %% [markdown]
# ## Takeaways
#
# - The Gaussian width is an average of a support function over Gaussian directions, so it
#   is easy to estimate with a standard error; its three equivalent forms agree numerically.
# - A radius-$r$ ball in a $d$-dimensional subspace has width exactly $r\,\mathbb{E}\lVert g_d\rVert$,
#   independent of the ambient dimension; $r\sqrt d$ is its large-$d$ approximation.
# - For ellipsoids, $\tfrac{2}{\pi}\sum_i r_i^2 \le w^2 \le \sum_i r_i^2$; the paper's
#   printed $\sqrt{2/\pi}$ belongs to the unsquared width, and a needle ellipsoid breaks the
#   squared version as printed.
# - On the unit sphere, $w(S)^2$ acts as a dimension: $k$ for a $k$-dimensional great
#   subsphere, about $\delta(C)$ for a cone, and at most $2\log m$ for $m$ points.
