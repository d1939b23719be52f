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
# # Gordon's escape theorem: when does a random subspace hit a set?
#
# **What you will learn**
#
# - What Gordon's escape theorem (Theorem 3.1 of {cite}`larsen2022degrees`) promises, and
#   how it compares with simulated hitting probabilities of random subspaces.
# - That a random $d$-dimensional subspace hits a subset $S$ of the unit sphere about when
#   $d \ge D - w(S)^2$, sharply for convex cones, with a transition of width of order
#   $\sqrt D$.
# - Why two random affine subspaces meet exactly when their dimensions add up to $D$
#   (Appendix B.3), and where the appendix's algebra slips.
# - The local angular dimension (Definition 3.2) and the main theorem (Theorem 3.2): why
#   starting closer to a set makes it easier to hit.
#
# **What you need**: {doc}`02_gaussian_width` (Gaussian width, statistical dimension).

# %% tags=["parameters"]
D = 100  # ambient dimension (count)
n_trials = 600  # random subspaces per dimension d for the cap, union and ball experiments (count)
cap_angle_deg = 30.0  # half-angle alpha of the spherical cap S (degrees)
n_caps = 10  # random caps in the non-convex union example (count)
D_orthant = 60  # ambient dimension of the orthant linear-programming simulation (count)
n_lp_trials = 150  # random subspaces per d in the orthant simulation, one LP each (count)
orthant_dims = [25, 100, 400, 1600, 6400]  # ambient dimensions for the exact orthant transition widths (count)
affine_n = 40  # dimension n of the second random affine subspace B (count)
ball_radius = 1.0  # radius rho of the target ball in the local-angular-dimension example (length units)
R_values = [1.1, 1.5, 2.0, 4.0]  # distances R from the initialisation to the ball's centre (length units)
n_width_samples = 20000  # Monte-Carlo Gaussian vectors per width estimate (count)
seed = 0  # seed of numpy.random.default_rng (integer)

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dof_helpers import geometry as geo
from dof_helpers import escape as esc
from dof_helpers.chapters import theory
from dof_helpers import plotting

cfg = theory.escape_config(D=D, n_trials=n_trials, cap_angle_deg=cap_angle_deg, n_caps=n_caps, D_orthant=D_orthant,
                        orthant_dims=orthant_dims, affine_n=affine_n, ball_radius=ball_radius, R_values=R_values,
                        n_width_samples=n_width_samples, seed=seed)
assert n_lp_trials >= 10, f"n_lp_trials={n_lp_trials!r} is not valid; expected an integer >= 10"
plotting.use_house_style()
t_start = time.time()
cfg

# %% [markdown]
# ## Theory
#
# A linear subspace $Y$ of dimension $d$ in $\mathbb{R}^D$ is drawn *uniformly from the
# Grassmannian*: its law does not change under rotations. In practice we take the span of a
# $D\times d$ Gaussian matrix (normalising the columns, as the paper does, changes nothing
# about the span). The question is whether $Y$ meets a given closed set $S$ on the unit
# sphere $S^{D-1}$.
#
# ```{prf:theorem} Escape through a mesh (Gordon, 1988; the paper's Theorem 3.1)
# :label: thm-gordon
# :nonumber:
#
# Let $S \subset S^{D-1}$ be closed and let $Y$ be a uniformly random subspace of
# codimension $k = D - d$. If $k/\sqrt{k+1} > w(S)$, then
#
# $$
# \mathbb{P}(Y\cap S = \emptyset) \;\ge\; 1 - 3.5\,\exp\!\Big[-\big(k/\sqrt{k+1} - w(S)\big)^2/18\Big].
# $$
# ```
#
# This is the form quoted in {cite}`larsen2022degrees` from {cite}`gordon1988milman`; a
# readable proof is in {cite}`mixon2014gordon`. Since $k/\sqrt{k+1} \approx \sqrt k$, the
# subspace misses $S$ with high probability once $\sqrt{D-d}$ exceeds $w(S)$ by a few
# units, i.e. for $d$ somewhat below $D - w(S)^2$. The constants (3.5 and 18) make the
# bound conservative: it only drops below one when
# $k/\sqrt{k+1} - w(S) > \sqrt{18\ln 3.5} \approx 4.8$.
#
# A matching statement in the other direction, that $Y$ *hits* $S$ with high probability
# once $d$ is above $D - w(S)^2$, holds for convex cones. For a closed convex cone $C$,
# {cite}`amelunxen2014living` show that the probability that $Y$ meets $C$ outside the origin
# jumps from near 0 to near 1 around $d = D - \delta(C)$, with $\delta(C)$ the statistical
# dimension ($\delta(C) - 1 \le w(C\cap S^{D-1})^2 \le \delta(C)$), over a window of
# $O(\sqrt D)$ dimensions. For a set that is not convex, the guaranteed hit is only for its
# spherical convex hull; a union of small caps can have a large width and still be missed.
#
# **Two affine subspaces (Appendix B.3).** Let $A = x_0 + \mathrm{span}(U)$ have dimension
# $d$ and $B = y_0 + \mathrm{span}(V)$ dimension $n$, both random. They meet iff
# $y_0 - x_0 \in \mathrm{span}(U) + \mathrm{span}(V)$. Generically that sum has dimension
# $\min(d + n, D)$, so they meet with probability one when $d + n \ge D$ and with
# probability zero otherwise. When they miss, the distance between them is the length of
# the component of $\Delta = y_0 - x_0$ orthogonal to a uniformly random
# $(d+n)$-dimensional subspace, so
#
# $$
# \mathbb{E}\,\mathrm{dist}(A, B)^2 = \lVert\Delta\rVert^2\,\frac{D - n - d}{D}
# \qquad (d + n < D),
# $$
#
# whenever the direction of $\Delta$ is independent of the subspaces. The appendix reaches
# the same conclusion ($\propto\sqrt{(D-n-d)/D}$ for the distance) but an intermediate line
# writes the squared projection as $\lVert x_0\rVert^2 (s-d)^2/D$ with $s = D - n$; the
# square on $(s-d)$ is a slip, the projection onto an $(s-d)$-dimensional complement
# carries a fraction $(s-d)/D$ of the squared length. Its variance language ("components
# with variance $1/\sqrt D$") should also read variance $1/D$.
#
# **Local angular dimension and the main theorem.** Training in $w_0 + \mathrm{span}(A)$
# reaches a set $S$ iff the *directions* from $w_0$ into $S$,
# $\mathrm{proj}_{w_0}(S) = \{(x - w_0)/\lVert x - w_0\rVert : x\in S\}$ (eq. 3.1), meet
# $\mathrm{span}(A)$. The paper's Definition 3.2 calls
# $d_{\mathrm{local}}(S, w_0) = w^2(\mathrm{proj}_{w_0}(S))$ the local angular dimension,
# and Theorem 3.2 is Gordon's theorem applied to this projected set: the threshold is
# $d^* \approx D - d_{\mathrm{local}}$ (eq. 3.3). For a ball of radius $\rho$ whose centre
# sits at distance $R > \rho$ from $w_0$, the projected set is a spherical cap of half-angle
# $\alpha = \arcsin(\rho/R)$, so
#
# $$
# d_{\mathrm{local}} \approx \delta(\mathrm{Circ}_D(\alpha)) \approx D\,\frac{\rho^2}{R^2} + 1 - 2\frac{\rho^2}{R^2} .
# $$
#
# Halving the distance quadruples the local angular dimension (until it saturates at $D$),
# and lowers the threshold dimension by the same amount: the "moon in the night sky"
# picture of Section 3.1. For comparison, the paper's per-axis tip estimate used for the
# quadratic well (eq. 3.4), applied to a ball ($r_i = \rho$ for all $i$), gives
# $D\rho^2/(R^2 + \rho^2)$: smaller than the truth, and increasingly so as $R$ approaches
# $\rho$, because the rays that graze the ball touch it at a tangent point, not at the tip of
# an axis.

# %% [markdown]
# ## Experiment
#
# ### A spherical cap: simulation, exact law, Gordon's bound
#
# For a cap with axis $c$ and half-angle $\alpha$, the subspace $Y$ meets it iff the
# closest direction of $Y$ to $c$ is within $\alpha$: $\lVert Q^\top c\rVert \ge \cos\alpha$
# for an orthonormal basis $Q$ of $Y$. For a uniform $Y$,
# $\lVert Q^\top c\rVert^2 \sim \mathrm{Beta}(d/2, (D-d)/2)$, which gives the exact curve.

# %%
alpha = np.radians(cfg.cap_angle_deg)
axis = np.eye(cfg.D)[0]
w_cap = geo.gaussian_width(
    geo.support_cap(axis, alpha), cfg.D, cfg.n_width_samples, seed=cfg.seed + 1
)
d_grid = np.arange(0, cfg.D + 1, 2)
cap_exact = esc.cap_hit_probability(cfg.D, d_grid, alpha)
cap_bound = esc.escape_bound(cfg.D, d_grid, max(w_cap.mean, 0.0))
delta_cap = esc.statistical_dimension("circular", cfg.D, angle=alpha)

# %% [markdown]
# ### A union of caps (not convex)
#
# `n_caps` caps with random axes and a half-angle chosen so that the union is wide; the
# subspace hits the union iff it hits one of the caps.

# %%
rng = np.random.default_rng(cfg.seed + 2)
axes_u = rng.standard_normal((cfg.n_caps, cfg.D))
axes_u /= np.linalg.norm(axes_u, axis=1, keepdims=True)
alpha_u = alpha / 2
w_union = geo.gaussian_width(
    geo.support_union(*[geo.support_cap(a, alpha_u) for a in axes_u]),
    cfg.D,
    cfg.n_width_samples,
    seed=cfg.seed + 3,
)
union_bound = esc.escape_bound(cfg.D, d_grid, max(w_union.mean, 0.0))

# %% [markdown]
# ### One batch of random subspaces, every set
#
# For each $d$ we draw `n_trials` uniform subspaces once and ask of each whether it meets
# the cap and the union (and, further below, the balls of the local-angular-dimension
# example: the affine subspace $w_0 + \mathrm{span}(Q)$ hits the ball $B(c, \rho)$ iff the
# distance from $c$ to it, $\lVert (I - QQ^\top)(c - w_0)\rVert$, is at most $\rho$).

# %%
centres = {R: np.r_[R, np.zeros(cfg.D - 1)] for R in cfg.R_values}  # w0 = 0
hits = {"cap": [], "union": [], **{R: [] for R in cfg.R_values}}
for d in d_grid:
    if d == 0:
        for key in hits:
            hits[key].append(0.0)
        continue
    seed_d = cfg.seed + 10 + int(d)
    Q = esc.random_subspace(cfg.D, int(d), n=cfg.n_trials, seed=seed_d)
    hits["cap"].append(esc.subspace_hits_cap(Q, axis, alpha).mean())
    in_caps = [esc.subspace_hits_cap(Q, a, alpha_u) for a in axes_u]
    hits["union"].append(np.any(in_caps, axis=0).mean())
    for R, c in centres.items():
        # Q^T c = R * (first row of Q), so the residual of c is:
        resid = c - np.einsum("nDk,nk->nD", Q, Q[:, 0, :] * R)
        hits[R].append(np.mean(np.linalg.norm(resid, axis=1) <= cfg.ball_radius))
hits = {k: np.array(v) for k, v in hits.items()}
cap_sim, union_sim = hits["cap"], hits["union"]

# %% [markdown]
# ### Two random affine subspaces
#
# $B$ has dimension `affine_n`; for each $d$ we draw $A$, both with Gaussian offsets, and
# compute their distance by least squares.

# %%
aff_rows = []
rng = np.random.default_rng(cfg.seed + 4)
for d in range(0, cfg.D + 1, 5):
    dist2, ratio = [], []
    for _ in range(50):
        x0, y0 = rng.standard_normal(cfg.D), rng.standard_normal(cfg.D)
        U = rng.standard_normal((cfg.D, d))
        V = rng.standard_normal((cfg.D, cfg.affine_n))
        dist = esc.affine_subspace_distance(x0, U, y0, V)
        dist2.append(dist**2)
        ratio.append(dist**2 / np.sum((y0 - x0) ** 2))
    aff_rows.append(
        {
            "d": d,
            "meet fraction": np.mean(np.array(dist2) < 1e-16 * cfg.D),
            "E dist^2/|Δ|^2": np.mean(ratio),
            "s.e.": np.std(ratio, ddof=1) / np.sqrt(len(ratio)),
            "theory": max(cfg.D - cfg.affine_n - d, 0) / cfg.D,
        }
    )
aff = pd.DataFrame(aff_rows)

# %% [markdown]
# ### Convex cones with known statistical dimension
#
# The nonnegative orthant has $\delta = D/2$. A subspace meets it outside $0$ iff a linear
# program ($Q\theta \ge 0$, $\mathbf 1^\top Q\theta = 1$) is feasible; we solve one LP per
# random subspace and compare with the exact conic kinematic formula
# $\mathbb{P} = 2(v_{D-d+1} + v_{D-d+3} + \dots)$ with $v_k = \binom{D}{k}2^{-D}$.

# %%
d_orth = np.arange(0, cfg.D_orthant + 1, 3)
orth_sim = np.array(
    [
        (
            esc.subspace_hits_orthant(
                esc.random_subspace(
                    cfg.D_orthant,
                    int(d),
                    n=n_lp_trials,
                    seed=cfg.seed + 30 + int(d),
                )
            ).mean()
            if d > 0
            else 0.0
        )
        for d in d_orth
    ]
)
orth_exact = esc.orthant_hit_probability(cfg.D_orthant, d_orth)

# %% [markdown]
# The width of the transition: for the orthant and for a cap (both exact), the distance
# between the dimensions where the hitting probability crosses 10% and 90%, as $D$ grows.

# %%
trans_rows = []
for Dk in cfg.orthant_dims:
    dk = np.arange(0, Dk + 1)
    for name, prob, centre in [
        ("orthant", esc.orthant_hit_probability(Dk, dk), Dk / 2),
        (
            f"cap {cfg.cap_angle_deg:g}°",
            esc.cap_hit_probability(Dk, dk, alpha),
            Dk - esc.statistical_dimension("circular", Dk, angle=alpha),
        ),
    ]:
        d10, d50, d90 = (
            esc.empirical_threshold(dk, prob, q) for q in (0.1, 0.5, 0.9)
        )
        trans_rows.append(
            {
                "cone": name,
                "D": Dk,
                "D - δ": centre,
                "d at 50%": d50,
                "10-90% width": d90 - d10,
                "width / sqrt(D)": (d90 - d10) / np.sqrt(Dk),
            }
        )
trans = pd.DataFrame(trans_rows)

# %% [markdown]
# ### Local angular dimension: a ball seen from different distances
#
# The hits were recorded above; here we add the width of each projected cap and the
# dimension where the simulated hitting probability crosses 50%.

# %%
ball_rows, ball_curves = [], {}
for i, R in enumerate(cfg.R_values):
    a_R = np.arcsin(cfg.ball_radius / R)
    w_proj = geo.gaussian_width(
        geo.support_cap(axis, a_R),
        cfg.D,
        cfg.n_width_samples,
        seed=cfg.seed + 5 + i,
    )
    ball_curves[R] = hits[R]
    ball_rows.append(
        {
            "R": R,
            "cap half-angle (deg)": np.degrees(a_R),
            "d_local = w^2": w_proj.mean**2,
            "s.e.": 2 * w_proj.mean * w_proj.stderr,
            "δ(cap cone)": esc.statistical_dimension(
                "circular", cfg.D, angle=a_R
            ),
            "tip estimate Dρ²/(R²+ρ²)": cfg.D
            * cfg.ball_radius**2
            / (R**2 + cfg.ball_radius**2),
            "d at 50% (simulated)": esc.empirical_threshold(d_grid, hits[R], 0.5),
        }
    )
ball_df = pd.DataFrame(ball_rows)
ball_df["D - d_local"] = cfg.D - ball_df["d_local = w^2"]

# %% [markdown]
# ## Results
#
# **One cap.** Simulation and the exact beta law coincide. Gordon's bound (dashed) is a
# valid but loose ceiling: at this $D$ it only becomes informative for very small $d$. The
# transition sits at $D - w(S)^2$ (dotted), where theory puts it.

# %% tags=["hide-input"]
fig, ax = plt.subplots()
plotting.hit_probability_curves(
    ax, {f"simulated ({cfg.n_trials} subspaces per d)": (d_grid, cap_sim),
         "exact (beta law)": (d_grid, cap_exact)},
    bounds={"Gordon's bound on P(hit), Theorem 3.1": (d_grid, cap_bound)},
    thresholds={f"$D - w(S)^2$ = {cfg.D - w_cap.mean ** 2:.1f}": cfg.D - w_cap.mean ** 2},
    styles={"exact (beta law)": {"color": "black", "marker": None, "lw": 1.0}},
    ylabel="P(random subspace meets the cap)")
ax.set_title(f"Cap of half-angle {cfg.cap_angle_deg:g}° on $S^{{{cfg.D - 1}}}$, $w(S)^2$ = {w_cap.mean ** 2:.1f}")
plotting.glue_figure("fig-cap-hits", fig)

# %% [markdown]
# ```{glue:figure} fig-cap-hits
# :alt: Probability that a random subspace meets a spherical cap, against its dimension d: simulated points on the exact S-shaped curve, rising from 0 to 1 around the dotted line at D minus the squared width; Gordon's bound, dashed, stays above both.
# :name: fig-cap-hits
#
# A spherical cap on the unit sphere (half-angle and width in the title): the share of random $d$-dimensional subspaces that meet it (points), the exact beta-law probability (solid), the ceiling on $\\mathbb{P}(\\text{hit})$ that Gordon's theorem implies (dashed) and $D - w(S)^2$ (dotted).
# ```

# %% [markdown]
# **A union of caps.** The union is much wider than any one of its caps, but it is not
# convex. Gordon's bound still holds (it needs no convexity), but the two-sided threshold
# does not: the simulated 50% point falls to the right of $D - w(S)^2$, between it and the
# threshold of a single small cap, so the width overstates how easy the union is to hit.
# The table below prints the three numbers.

# %%
union_table = pd.DataFrame(
    [
        {
            "D - w(union)^2": cfg.D - w_union.mean**2,
            "simulated d at 50%": esc.empirical_threshold(d_grid, union_sim, 0.5),
            "D - δ(one small cap)": cfg.D
            - esc.statistical_dimension("circular", cfg.D, angle=alpha_u),
        }
    ]
)
union_table.round(1)

# %% tags=["hide-input"]
fig, ax = plt.subplots()
plotting.hit_probability_curves(
    ax, {"simulated": (d_grid, union_sim)},
    bounds={"Gordon's bound on P(hit)": (d_grid, union_bound)},
    thresholds={f"$D - w(S)^2$ = {cfg.D - w_union.mean ** 2:.1f}": cfg.D - w_union.mean ** 2},
    ylabel="P(random subspace meets the union)")
ax.set_title(f"Union of {cfg.n_caps} caps of half-angle {np.degrees(alpha_u):g}°, $w(S)^2$ = {w_union.mean ** 2:.1f}")
plotting.glue_figure("fig-union-hits", fig)

# %% [markdown]
# ```{glue:figure} fig-union-hits
# :alt: Probability that a random subspace meets a union of small caps, against d: the simulated curve rises well to the right of the dotted line at D minus the squared width of the union; Gordon's bound, dashed, stays above it.
# :name: fig-union-hits
#
# A union of small caps (not convex): the simulated hitting probability (points), Gordon's ceiling (dashed) and $D - w(S)^2$ of the union (dotted). The transition comes later than the width alone predicts.
# ```

# %% [markdown]
# **Two affine subspaces.** They meet in every trial once $d \ge D - n$ and never before;
# the squared distance falls linearly to zero as $(D - n - d)/D$.

# %% tags=["hide-input"]
fig, ax = plt.subplots()
plotting.estimates_with_references(
    ax, aff["d"], {"simulated $\\mathrm{dist}^2/\\|\\Delta\\|^2$": (aff["E dist^2/|Δ|^2"], aff["s.e."])},
    references={"$(D - n - d)_+/D$": aff["theory"], "fraction of pairs that meet": aff["meet fraction"]},
    styles={"$(D - n - d)_+/D$": {"color": "black", "ls": "-"},
            "fraction of pairs that meet": {"color": "#2e8b57", "ls": "-", "drawstyle": "steps-post"}},
    xlabel="dimension $d$ of the random affine subspace A (count)", ylabel="fraction (dimensionless)")
ax.axvline(cfg.D - cfg.affine_n, **plotting.THEORY_STYLES["threshold"])
ax.set_title(f"A (dim d) and B (dim n = {cfg.affine_n}) in $\\mathbb{{R}}^{{{cfg.D}}}$; dotted: d = D - n")
plotting.glue_figure("fig-affine", fig)

# %% [markdown]
# ```{glue:figure} fig-affine
# :alt: Two random affine subspaces: the mean squared distance between them falls linearly to zero at d = D minus n, on the theoretical line, and the fraction of pairs that meet jumps from 0 to 1 there.
# :name: fig-affine
#
# Two random affine subspaces $A$ (dimension $d$) and $B$ (dimension $n$): mean squared distance relative to $\\lVert\\Delta\\rVert^2$ (points), its prediction $(D-n-d)_+/D$ (black) and the share of pairs that meet (green steps), which jumps at $d = D - n$ (dotted).
# ```

# %% [markdown]
# **The orthant.** One LP per subspace reproduces the kinematic formula; the transition is
# centred at $D/2 = D - \delta$.

# %% tags=["hide-input"]
fig, ax = plt.subplots()
plotting.hit_probability_curves(
    ax, {f"simulated (LP, {n_lp_trials} subspaces per d)": (d_orth, orth_sim),
         "exact (kinematic formula)": (d_orth, orth_exact)},
    thresholds={f"$D - \\delta$ = {cfg.D_orthant / 2:g}": cfg.D_orthant / 2},
    styles={"exact (kinematic formula)": {"color": "black", "marker": None, "lw": 1.0}},
    ylabel="P(random subspace meets the orthant)")
ax.set_title(f"Nonnegative orthant in $\\mathbb{{R}}^{{{cfg.D_orthant}}}$, δ = D/2")
plotting.glue_figure("fig-orthant", fig)

# %% [markdown]
# ```{glue:figure} fig-orthant
# :alt: Probability that a random subspace meets the nonnegative orthant, against d: one linear program per subspace reproduces the exact kinematic-formula curve, centred at D over 2.
# :name: fig-orthant
#
# The nonnegative orthant: hitting probability from one linear program per random subspace (points) against the exact conic kinematic formula (solid); the transition is centred at $D - \\delta = D/2$ (dotted).
# ```

# %% [markdown]
# **Transition width grows like $\sqrt D$.** The 10%–90% window divided by $\sqrt D$ settles
# to a constant for both cones, and the 50% point sits at $D - \delta$ to within a
# dimension.

# %%
trans.round(2)

# %% tags=["hide-input"]
fig, ax = plt.subplots()
for Dk in cfg.orthant_dims:
    dk = np.arange(0, Dk + 1)
    ax.plot((dk - Dk / 2) / np.sqrt(Dk), esc.orthant_hit_probability(Dk, dk), label=f"orthant, D = {Dk}")
ax.set_xlim(-3, 3)
ax.set_xlabel("$(d - (D - \\delta)) / \\sqrt{D}$ (dimensionless)")
ax.set_ylabel("P(random subspace meets the orthant)")
ax.set_title("Exact hitting curves collapse when d is measured in units of $\\sqrt{D}$")
ax.legend()
plotting.glue_figure("fig-orthant-collapse", fig)

# %% [markdown]
# ```{glue:figure} fig-orthant-collapse
# :alt: Exact hitting curves of the orthant for five ambient dimensions, plotted against (d minus D over 2) divided by the square root of D: the curves lie on top of each other.
# :name: fig-orthant-collapse
#
# Exact hitting curves of the orthant for growing $D$, with $d$ measured from $D - \\delta$ in units of $\\sqrt D$: they coincide, so the transition's width grows like $\\sqrt D$.
# ```

# %% [markdown]
# **Getting closer makes the set easier to hit.** The same ball seen from a shorter distance
# projects to a bigger cap on the sphere of directions, so its local angular dimension
# grows and the threshold $D - d_{\mathrm{local}}$ moves left.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6.5, 3.6))
plotting.projection_sketch(ax, [1.6, 2.5, 4.0], radius=0.6)  # a schematic, not the experiment's sizes
ax.set_ylim(-1.2, 2.2)
ax.set_title("Schematic: directions from $w_0$ into a ball; nearer balls subtend bigger arcs")
plotting.glue_figure("fig-projection-sketch", fig)

# %% [markdown]
# ```{glue:figure} fig-projection-sketch
# :alt: Schematic: three balls at different distances from the point w0 and the arcs of directions from w0 that enter each ball; the nearest ball subtends the widest arc.
# :name: fig-projection-sketch
#
# Schematic (not to the experiment's scale): the directions from $w_0$ that enter a ball form an arc of the circle of directions, wider the nearer the ball.
# ```

# %% tags=["hide-input"]
fig, ax = plt.subplots()
colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(cfg.R_values)))
curves = {f"R = {R:g}": (d_grid, ball_curves[R]) for R in cfg.R_values}
styles = {f"R = {R:g}": {"color": col} for R, col in zip(cfg.R_values, colors)}
thr = {f"$D - d_{{local}}$, R = {r.R:g}: {cfg.D - r['d_local = w^2']:.1f}": cfg.D - r["d_local = w^2"] for _, r in ball_df.iterrows()}
styles.update({k: {"color": col} for k, col in zip(thr, colors)})
plotting.hit_probability_curves(ax, curves, thresholds=thr, styles=styles,
                                ylabel="P(affine subspace through $w_0$ hits the ball)")
ax.set_title(f"Ball of radius {cfg.ball_radius:g} at distance R from $w_0$, D = {cfg.D}")
plotting.glue_figure("fig-ball-distance", fig)

# %% [markdown]
# ```{glue:figure} fig-ball-distance
# :alt: Probability that a random affine subspace through w0 hits a ball, against d, for four distances R: the nearer the ball, the further left the curve, each centred near its predicted threshold D minus d_local.
# :name: fig-ball-distance
#
# Hitting probability of a ball of radius $\\rho$ from affine subspaces through $w_0$, for four distances $R$ (colours), with the predicted thresholds $D - d_{\\mathrm{local}}$ (dotted, same colours).
# ```

# %%
ball_df.round(2)

# %% [markdown]
# ## Checks

# %% tags=["nbval-check-output", "hide-input"]
se_bin = lambda p, n: np.sqrt(np.maximum(p * (1 - p), 1.0 / n) / n)  # noqa: E731
assert np.all(np.abs(cap_sim - cap_exact) <= 4 * se_bin(cap_exact, cfg.n_trials)), "cap: simulation vs beta law"
assert np.all(cap_sim <= cap_bound + 4 * se_bin(cap_bound, cfg.n_trials)), "cap: Gordon's bound violated"
assert np.all(union_sim <= union_bound + 4 * se_bin(union_bound, cfg.n_trials)), "union: Gordon's bound violated"
d50_cap = esc.empirical_threshold(d_grid, cap_exact, 0.5)
assert abs(d50_cap - (cfg.D - w_cap.mean ** 2)) <= np.sqrt(cfg.D), "cap: 50% point not within sqrt(D) of D - w^2"
w2_cap, se2_cap = w_cap.mean ** 2, 2 * w_cap.mean * w_cap.stderr
assert delta_cap - 1 - 4 * se2_cap <= w2_cap <= delta_cap + 4 * se2_cap, "cap: w^2 not within [δ - 1, δ]"
print("cap: simulation matches beta law, Gordon's bound holds, transition at D - w^2:", True)
u = union_table.iloc[0]
assert u["D - w(union)^2"] < u["simulated d at 50%"] < u["D - δ(one small cap)"], "union: 50% point not between"
print("union of caps: Gordon's bound holds; 50% point between D - w^2 and one cap's threshold:", True)

# %% tags=["nbval-check-output", "hide-input"]
meet = aff["meet fraction"].to_numpy()
assert np.all(meet[aff["d"] >= cfg.D - cfg.affine_n] == 1.0), "affine: some pairs with d + n >= D did not meet"
assert np.all(meet[aff["d"] < cfg.D - cfg.affine_n] == 0.0), "affine: some pairs with d + n < D met"
assert np.all(np.abs(aff["E dist^2/|Δ|^2"] - aff["theory"]) <= 4 * aff["s.e."] + 1e-12), "affine: E dist^2 off"
print("affine subspaces meet exactly when d + n >= D; E dist^2 = |Δ|^2 (D-n-d)/D:", True)

# %% tags=["nbval-check-output", "hide-input"]
assert np.all(np.abs(orth_sim - orth_exact) <= 4 * se_bin(orth_exact, n_lp_trials)), "orthant: LP vs kinematic formula"
for name, grp in trans.groupby("cone"):
    assert np.all(np.abs(grp["d at 50%"] - grp["D - δ"]) <= 1.5), f"{name}: 50% point not at D - δ"
    ratio = grp["width / sqrt(D)"].to_numpy()
    assert ratio[-1] / ratio[-2] < 1.1 and ratio[-2] / ratio[-1] < 1.1, f"{name}: width not ~ sqrt(D)"
print("orthant: LP simulation matches the kinematic formula:", True)
print("transitions centred at D - δ, 10-90% width proportional to sqrt(D):", True)
print("orthant width / sqrt(D) at the largest D:", round(float(trans[trans.cone == "orthant"]["width / sqrt(D)"].iloc[-1]), 2))

# %% tags=["nbval-check-output", "hide-input"]
for row in ball_rows:
    R = row["R"]
    exact = esc.cap_hit_probability(cfg.D, d_grid, np.arcsin(cfg.ball_radius / R))
    assert np.all(np.abs(ball_curves[R] - exact) <= 4 * se_bin(exact, cfg.n_trials)), f"R={R}: hits vs cap law"
    assert abs(row["d at 50% (simulated)"] - (cfg.D - row["d_local = w^2"])) <= np.sqrt(cfg.D), \
        f"R={R}: 50% point not within sqrt(D) of D - d_local"
    assert row["tip estimate Dρ²/(R²+ρ²)"] < row["δ(cap cone)"], f"R={R}: tip estimate should undershoot δ"
thr_sorted = ball_df.sort_values("R")["d at 50% (simulated)"].to_numpy()
assert np.all(np.diff(thr_sorted) > 0), "threshold should grow with the distance R"
print("ball: hits follow the cap law, threshold at D - d_local, closer is easier:", True)

# %% tags=["hide-input"]
print(f"chapter ran in {time.time() - t_start:.0f} s")

# %% [markdown]
# ## Takeaways
#
# - Gordon's escape theorem gives a rigorous, if loose, ceiling on the probability that a
#   random subspace meets a set on the sphere; the real transition sits at
#   $d = D - w(S)^2$.
# - For convex cones the transition is sharp and centred at $D - \delta(C)$, and its width
#   grows like $\sqrt D$, so as a fraction of $D$ it vanishes.
# - Non-convex sets can be wide and still hard to hit: the two-sided threshold needs
#   convexity (or the spherical convex hull).
# - Two random affine subspaces meet iff $d + n \ge D$; their squared distance otherwise is
#   $\lVert\Delta\rVert^2 (D - n - d)/D$ on average.
# - Seen from closer, a set subtends a larger region of the sphere of directions: its local
#   angular dimension grows and fewer training dimensions suffice, which is the paper's
#   explanation for why burn-in helps.
