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
# # Linearised networks, and a network's thresholds from its own curvature
#
# **What you will learn**
#
# - how to replace a trained network by its first-order Taylor expansion in the weights
#   (the neural-tangent-kernel model) and train that model in random affine subspaces
#   exactly like the network ({cite}`larsen2022degrees`, Appendix A.1 and Figure 9);
# - what the test-loss landscape looks like on the plane through an initialisation and two
#   optima, for the network and for its linearisation;
# - how to compute the curvature of a real network at its optimum: the whole Gauss-Newton
#   matrix $G$ exactly, its full spectrum, and the true Hessian's extreme eigenvalues and
#   spectral density with Lanczos;
# - how far the quadratic-well theory of chapters 03 and 04 predicts the threshold training
#   dimension $d^*(\epsilon)$ of the linearised network and of the network itself when it is
#   fed that measured spectrum and the actual displacement $w_0 - w_{\mathrm{opt}}$ (the
#   book's own test; the paper states it as future work).
#
# **What you need**: {doc}`04_quadratic_well` (the quadratic well, eq. 3.4 and the
# cone's statistical dimension) and {doc}`05_phase_transition` (random affine subspaces,
# $P_s$ and $d^*$ measured on a network).

# %% tags=["parameters"]
dataset = "fashion_mnist"  # dataset name: mnist, fashion_mnist, cifar10, svhn
model = "conv2"  # network: conv2, conv3, resnet20
n_train = 512  # training images: the optima, the sweeps and the curvature all use these (count)
n_test = 1000  # test images for the landscape planes and test accuracy (count)
seed = 0  # w_0 (the engine's w_0 of this seed) and the two optima's batch orders
opt_epochs = 40  # epochs of momentum-SGD training from w_0 to each optimum (count)
opt_lr = 0.05  # learning rate of that training
d_values = [4, 16, 64, 256, 1024]  # training dimensions d of the random affine sweeps (count)
seeds = [0, 1, 2]  # one subspace (and batch order) per seed; every run starts at the same w_0
epochs = 10  # epochs of Adam per subspace run (count)
batch_size = 64  # examples per step
basis = "dense"  # random basis A: dense (Gaussian, the paper's) or fastfood
lr = 0.05  # Adam learning rate of the cross-entropy subspace runs (the paper's value)
se_lr = 0.2  # Adam learning rate of the squared-error subspace runs
plane_points = 15  # grid points per axis of each landscape plane (count)
plane_margin = 0.25  # margin around the three points, as a fraction of their span
route = "auto"  # G's spectrum: dense (D x D matrix), kernel (via M M^T), both, or auto (the cheaper)
lanczos_order = 60  # Lanczos steps for G's top 20 eigenvalues and the Hessian's extremes (count)
slq_probes = 3  # random probes of stochastic Lanczos quadrature (count)
slq_order = 30  # Lanczos steps per probe (count)
lstsq_draws = 10  # draws of a nested Gaussian subspace for the exact least-squares minima (count)
lstsq_d_max = 1024  # largest d of the exact least-squares minima (count)
level_fractions = [0.1, 0.25, 0.5]  # loss levels: fraction of the way from L* up to the model's loss at w_0
delta = 0.34  # tolerance of d*: the smallest d with P_s at least 1 - delta
cone_samples = 200  # Gaussian samples per cone for d_local and its spread (count)
results_folder = "results/07_linearised"  # committed cpu-large results shown after this run (path from the repository root)

# %% tags=["hide-input"]
import time

import jax
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from dof_helpers import plotting
from dof_helpers.chapters import linearised as ch07, linearised_claims as claims07, linearised_figures as figures
from dof_helpers.chapters import linearised_curvature as curvature07, linearised_predictions as predictions07
from dof_helpers.paths import repo_root, runs_dir

exp = ch07.from_parameters(dict(
    dataset=dataset, model=model, n_train=n_train, n_test=n_test, seed=seed, opt_epochs=opt_epochs,
    opt_lr=opt_lr, d_values=d_values, seeds=seeds, epochs=epochs, batch_size=batch_size, basis=basis, lr=lr,
    se_lr=se_lr, plane_points=plane_points, plane_margin=plane_margin, route=route,
    lanczos_order=lanczos_order, slq_probes=slq_probes, slq_order=slq_order, lstsq_draws=lstsq_draws,
    lstsq_d_max=lstsq_d_max, level_fractions=level_fractions, delta=delta, cone_samples=cone_samples))
plotting.use_house_style()
timings = {}
print(f"{3 * exp.config.n_runs()} subspace runs in three curves; jax {jax.__version__} on {jax.devices()}")

# %% [markdown]
# ## Theory
#
# **The linearised network.** Let $f(w, x)$ be the network's logits. Around a point
# $w_{\mathrm{opt}}$ found by ordinary training, keep only the first-order term in the weights:
#
# $$
# f_{\mathrm{lin}}(w, x) = f(w_{\mathrm{opt}}, x) + J(w_{\mathrm{opt}}, x)\,(w - w_{\mathrm{opt}}),
# \qquad J = \partial f / \partial w .
# $$
#
# This is the model of the neural tangent kernel {cite}`jacot2018ntk`. It equals the network
# at $w_{\mathrm{opt}}$, is exactly linear in $w$, and with a convex loss of the logits it has a
# single basin. The paper (Appendix A.1) goes back to the initialisation $w_0$ and trains both
# models in random affine subspaces $w_0 + A\theta$; similar thresholds would say that the
# network, seen from $w_0$, behaves like one convex basin. We never build $J$ for this: the
# product $J\,(w - w_{\mathrm{opt}})$ is one Jacobian-vector product
# (`dof_helpers.linearised`). The book's Conv-2 uses fused layers that forward-mode
# differentiation cannot enter, so the product is taken as the transpose of the reverse-mode
# map.
#
# **Its curvature.** With the cross-entropy loss, the Hessian of the linearised model's
# training loss at $w_{\mathrm{opt}}$ is the Gauss-Newton matrix
#
# $$
# G = \frac{1}{N} \sum_{i=1}^{N} J_i^{\top} \big(\mathrm{diag}(p_i) - p_i p_i^{\top}\big) J_i ,
# $$
#
# with $p_i$ the softmax of example $i$. The true Hessian $H$ of the network adds a term that
# involves second derivatives of the logits and can be negative. With the squared error
# $\tfrac{1}{2N}\sum_i \lVert f_{\mathrm{lin}}(w, x_i) - y_i \rVert^2$ the linearised loss *is*
# a quadratic in $w$, with Hessian $J^\top J / N$, a least-squares minimum $L^*$ and, when
# $N C < D$, at least $D - NC$ flat directions.
#
# **The prediction.** Chapter 04's quadratic well needs three things: the Hessian's eigenvalues
# $\lambda_i$, the displacement $z_0 = V^\top (w_0 - w^*)$ of the start from the minimum in the
# eigenbasis, and $L^*$. Its sub-level set $S(\epsilon)$ is an ellipsoid (a cylinder along flat
# directions) with radii $r_i = \sqrt{2(\epsilon - L^*)/\lambda_i}$, and two predictions of the
# threshold follow: the paper's eq. 3.4, $D - \sum_i r_i^2/(R^2 + r_i^2)$ with $R = \lVert z_0
# \rVert$, and $D$ minus the statistical dimension of the cone of directions from $w_0$ into
# $S(\epsilon)$, shifted by the cone's spread to the $1 - \delta$ threshold of Definition 2.1
# (`dof_helpers.basin`). Here the ingredients are measured, not assumed:
#
# - **(i)** the linearised network with squared error: the quadratic is exact, and so is its
#   subspace minimum, a least-squares problem solved without an optimiser;
# - **(ii)** the linearised network with cross-entropy, predicted from $G$ (a second-order
#   model of a convex but not quadratic loss);
# - **(iii)** the network itself with cross-entropy, predicted from the same $G$;
# - **(iv)** the network with cross-entropy, predicted from a second-order model taken where
#   training *starts*: $q(w_0 + \Delta) = L(w_0) + g^\top \Delta + \tfrac12 \Delta^\top G_0
#   \Delta$, with $g$ the gradient and $G_0$ the Gauss-Newton matrix at $w_0$. Since
#   $g = M^\top b$ lies in the row space of the factor $M$ of $G_0 = M^\top M$, the model is
#   $L(w_0) - \tfrac12\lVert b \rVert^2 + \tfrac12 \lVert M\Delta + b \rVert^2$, and its
#   minimum over $w_0 + \mathrm{span}(A)$ is again a least-squares problem, solved exactly at
#   every $d$ (`dof_helpers.least_squares.GaussNewtonModel`). No cone is needed: its $d^*$ is
#   read off the draws, like case (i)'s. It is one Gauss-Newton step inside the subspace, where
#   Adam takes many steps along a curved path, so it is an approximation of a different kind.
#
# For (ii) and (iii) we take $w_{\mathrm{opt}}$ as the well's minimum and $L^* =
# L(w_{\mathrm{opt}})$, as the paper's Appendix A.1 does. The loss levels are
# $\epsilon_k = L^* + f_k\,(L_q(w_0) - L^*)$, a fraction $f_k$ (`level_fractions`) of the way up
# from the minimum to the quadratic model's own value $L_q(w_0)$ at the start, so that every
# level lies inside the model's range.

# %% [markdown]
# ## Experiment
#
# ### Two optima from one initialisation
#
# The engine's $w_0$ of `seed`, trained twice with momentum SGD on two different batch orders.

# %%
ds = exp.data.load()
t0 = time.perf_counter()
optima = ch07.train_optima(exp, ds)
timings["two optima"] = time.perf_counter() - t0
pd.DataFrame({k: optima[k + "_metrics"] for k in ("opt1", "opt2")}).T.round(3)

# %% [markdown]
# ### The linearised model, checked
#
# `sweep_models` returns the network and its linearisation around opt 1, both wrapped so that
# every seed of a sweep starts from the same $w_0$ (`dof_helpers.fixed_start`): the seeds vary
# only the subspace and the batch order, as in the paper's protocol.

# %%
models = ch07.sweep_models(exp, optima)
net, lin = models["network"].model, models["linearised"].model
x = ds.x_test[:256]


def gap(w):  # largest |f_lin(w, x) - f(w, x)| over some test images (logits)
    p = {"params": w}
    return float(np.max(np.abs(lin.apply(p, x) - net.apply(p, x))))


at_opt, at_w0 = gap(optima["opt1"]), gap(optima["w_0"])
print(f"max |f_lin - f| at opt 1: {at_opt:.2e}; at w_0: {at_w0:.2f}")

# %% [markdown]
# ### The landscape planes (Figure 9, left)
#
# Test loss on the plane through $w_0$, opt 1 and opt 2, for both models, on a
# `plane_points` $\times$ `plane_points` grid.

# %%
t0 = time.perf_counter()
plane = ch07.landscape_planes(exp, optima, models, ds)
timings["landscape planes"] = time.perf_counter() - t0

# %% [markdown]
# ### Random affine sweeps of both models
#
# Three curves through the engine (`engine.run_sweep`), each to its own records file under
# `runs/`: the network and the linearised network with cross-entropy (Adam, `lr`), and the
# linearised network with squared error (Adam, `se_lr`).

# %%
folder = runs_dir("07_linearised", exp.digest())
t0 = time.perf_counter()
records = ch07.run_curves(exp, folder, models, ds)
timings["random affine sweeps"] = time.perf_counter() - t0
print({stem: len(recs) for stem, recs in records.items()}, "records in", folder.name)

# %% [markdown]
# ### Curvature at opt 1
#
# $G$ on all `n_train` training images: its whole spectrum (by the cheaper exact route when
# `route = "auto"`: the $D \times D$ matrix, or the kernel $M M^\top$ when it is smaller), the
# same for $J^\top J/N$, Lanczos on $G$ against its exact top 20, and Lanczos and stochastic
# Lanczos quadrature on the true Hessian. The kernel route runs in float64, so that the
# smallest non-zero eigenvalues, about a millionth of the largest and the directions along
# which the sublevel set is longest, are resolved as well as the large ones.

# %%
curv = curvature07.curvature_analysis(exp, optima, ds, timings)

# %% [markdown]
# ### Exact subspace minima of the squared-error model
#
# For case (i) the minimum over a subspace is a least-squares problem
# (`dof_helpers.least_squares`): one QR factorisation per draw gives it at every $d$ up to
# `lstsq_d_max`, so that its $d^*$ is resolved to one dimension. And in the very subspaces in
# which Adam trained, the exact minimum shows how far Adam got.

# %%
system = predictions07.least_squares_system(exp, optima, ds, timings)
minima = predictions07.lstsq_minima(exp, system, timings)
adam_exact = predictions07.adam_vs_exact(exp, system, records["linearised_se"], timings)
true_w0 = predictions07.losses_at_w0(exp, optima, ds)
start = predictions07.start_model_minima(exp, optima, ds, timings)
table = predictions07.predictions(exp, curv, records, minima, timings, true_w0=true_w0, start=start)

# %% [markdown]
# ## Results
#
# ### The landscape

# %% tags=["hide-input"]
plotting.glue_figure("fig-07-planes", figures.figure_planes(plane))
print(f"test loss at w_0, opt 1, opt 2 -- network: {np.round(plane['network_points_loss'], 3)}, "
      f"linearised: {np.round(plane['linearised_points_loss'], 3)}")

# %% [markdown]
# ```{glue:figure} fig-07-planes
# :alt: Two contour maps of test loss over a plane; the three marked points are the initialisation and two optima. Left the network, right its linearisation around the first optimum.
# :name: fig-07-planes
# :figclass: full-width
#
# Test loss on the plane through $w_0$ and two optima reached from it with different batch
# orders (this run's size). Left: the network. Right: the network linearised around opt 1.
# One colour scale; the top colour holds every value at or above it.
# ```
#
# The printed losses are evaluated at the three points themselves. The linearised model agrees
# with the network at opt 1 by construction; at $w_0$ and at opt 2 it does not. It has one
# basin, and on this plane that basin lies around opt 1 only: opt 2, a second low point of the
# network, is not a low point of the linearisation.

# %% [markdown]
# ### Thresholds of the network and the linearised network (Figure 9, right)

# %% tags=["hide-input"]
fig, dstars = figures.figure_curves(records, exp.delta)
plotting.glue_figure("fig-07-thresholds", fig)
print(claims07.threshold_agreement(dstars))
summary = pd.DataFrame({(split, stem): [float(r["best_" + split + "_acc"]) for r in records[stem]
                                        if r["d"] == max(exp.config.d_values)]
                        for split in ("train", "test") for stem in ("network", "linearised")}).agg(["mean", "max"])
summary.round(3)

# %% [markdown]
# ```{glue:figure} fig-07-thresholds
# :alt: Four panels. Top, success probability against training dimension at three accuracy levels for the network (solid) and the linearised network (dashed), train and test. Bottom, threshold training dimension against accuracy level for both.
# :name: fig-07-thresholds
# :figclass: full-width
#
# Random affine subspaces through the same $w_0$ (this run's size). Top: $P_s$ against $d$ at
# three accuracy levels (darker is higher); the dotted line is $1 - \delta$. Bottom: $d^*$
# against the accuracy level. Left training accuracy, right test accuracy.
# ```
#
# The table gives the mean and best accuracy over seeds at the largest $d$ of the grid. Both
# models are trained for the same steps with the same optimiser and subspaces, so the
# comparison controls for compute; it does not control for what the linearisation point
# already knows: $f_{\mathrm{lin}}$ carries opt 1's logits and Jacobian, trained on these
# very images.

# %% [markdown]
# ### The spectra

# %% tags=["hide-input"]
plotting.glue_figure("fig-07-spectra", figures.figure_spectra(curv))
ritz = curv["ritz_h"]
print(f"G: lambda_max {curv['ce_lams'][0]:.4g}, trace/D {curv['ce_trace'] / curv['ce_lams'].size:.3g}, "
      f"route {curv['ce_route']}; Lanczos top-{len(curv['lanczos_g_top'])} largest relative error "
      f"{claims07.lanczos_error(curv):.1e}")
print(f"H (Lanczos): largest {ritz[0]:.4g}, smallest {ritz[-1]:.4g}; "
      f"|grad L(opt 1)| = {curv['grad_norm_opt']:.3g}, |w_0 - opt 1| = {curv['dw_norm']:.3g}")

# %% [markdown]
# ```{glue:figure} fig-07-spectra
# :alt: Left, eigenvalues of two curvature matrices against their rank on log-log axes, with crosses for Lanczos estimates of the top twenty. Right, smoothed spectral densities of the Hessian and of the Gauss-Newton matrix.
# :name: fig-07-spectra
# :figclass: full-width
#
# Left: every eigenvalue of $G$ (cross-entropy) and of $J^\top J/N$ (squared error) at opt 1,
# by rank; crosses are Lanczos estimates of $G$'s top 20. Right: the density of the true
# Hessian $H$ by stochastic Lanczos quadrature beside $G$'s exact eigenvalues, smoothed alike.
# ```

# %% [markdown]
# ### Predicted against measured thresholds

# %% tags=["hide-input"]
plotting.glue_figure("fig-07-predictions", figures.figure_predictions(table))
print(claims07.model_heights(table))
print(claims07.describe_comparison(table))

# %% [markdown]
# ```{glue:figure} fig-07-predictions
# :alt: Scatter of predicted against measured threshold training dimensions on log axes, three colours for the three cases, with the diagonal.
# :name: fig-07-predictions
#
# Predicted $d^*$ against the $d^*$ measured by Adam on the grid, per case and loss level
# (this run's size). Circles: levels from the quadratic model's own range (filled: the cone's
# $1 - \delta$ threshold, open: eq. 3.4); triangles: levels from the model's true loss at
# $w_0$; squares: case (i) against its exact least-squares $d^*$; diamonds: case (iv), the
# Gauss-Newton model at $w_0$, at the true-loss levels. Pairs that a log axis cannot show (a
# measured $d^*$ beyond the grid, a prediction of 0) are in the printout.
# ```
#
# Two sets of levels, because the quadratic model and the model it stands for disagree about
# how high $w_0$ sits. Levels a fraction of the way up the *quadratic's* range test the
# prediction where it is not trivial; levels a fraction of the way up the *true* range are the
# ones the subspaces actually cross, and there a quadratic that puts $w_0$ below the level
# predicts $d^* = 0$. For case (i) both are the same, since its loss is exactly quadratic. A
# measured $d^*$ from the sweeps is a power of two (the grid) and an upper bound on the
# subspace's threshold, because Adam may stop short of the subspace minimum; the exact
# column of case (i) has neither limitation.
#
# The printout compares two points of each transition. The cone's centre,
# $D - d_{\mathrm{local}} + 1/2$, predicts where $P_s$ crosses one half; the $1 - \delta$
# threshold adds $z_{1-\delta} \sigma$, with $\sigma^2$ the variance of the cone's
# intrinsic-volume variable. Both come from `cone_samples` Gaussian vectors projected onto the
# cone, and at $D \approx 2 \times 10^4$ the obvious estimators,
# $\mathbb{E} \lVert \Pi_K g \rVert^2$ and $\mathrm{Var} \lVert \Pi_K g \rVert^2 -
# 2 d_{\mathrm{local}}$, drown in noise of the size of $\sqrt{D}$. `dof_helpers.basin`
# estimates both through the polar cone instead, since
# $\lVert g \rVert^2 = \lVert \Pi_K g \rVert^2 + \lVert \Pi_{K^\circ} g \rVert^2$ and
# $\mathbb{E} \lVert g \rVert^2 = D$ exactly; its noise scales with the threshold itself.
# How far Adam got in its own subspaces:

# %% tags=["hide-input"]
gap = pd.DataFrame(adam_exact, columns=["d", "seed", "adam", "exact"])
gap["adam / exact"] = gap["adam"] / gap["exact"]
gap.groupby("d")[["adam", "exact", "adam / exact"]].mean().round(3)

# %% [markdown]
# ## The cpu-large run
#
# The same experiment at the `cpu-large` preset (its settings and timings are in the folder's
# `settings.json`; the cost table gives wall seconds and the process's peak resident memory up
# to the end of each step), run with `python -m dof_helpers.chapters.linearised run --preset cpu-large
# --out results/07_linearised`; its results are committed, so this section only reads them.

# %% tags=["hide-input"]
large_dir = repo_root() / results_folder
large = ch07.load_results(large_dir) if ch07.finished(large_dir) else None
if large is None:
    print(f"{large_dir} holds no finished run: run the command above")
else:
    lx = large["exp"]
    print(f"{lx.data.n_train} training images, d up to {max(lx.config.d_values):,}, {len(lx.config.seeds)} seeds, "
          f"delta {lx.delta}; G by route {large['curvature']['ce_route']}")
    plotting.glue_figure("fig-07-large-planes", figures.figure_planes(large["plane"]))
    fig, large_dstars = figures.figure_curves(large["records"], lx.delta)
    plotting.glue_figure("fig-07-large-thresholds", fig)
    print(claims07.threshold_agreement(large_dstars))
    plotting.glue_figure("fig-07-large-spectra", figures.figure_spectra(large["curvature"]))
    plotting.glue_figure("fig-07-large-predictions", figures.figure_predictions(large["predictions"]))
    cost = pd.DataFrame(large["settings"]["timings"]).T
    display(cost)

# %% [markdown]
# ```{glue:figure} fig-07-large-planes
# :alt: Test-loss contour maps on the plane through the initialisation and two optima, for the network and its linearisation, at the cpu-large size.
# :name: fig-07-large-planes
# :figclass: full-width
#
# As {numref}`fig-07-planes`, at the `cpu-large` size.
# ```
#
# ```{glue:figure} fig-07-large-thresholds
# :alt: Success probability and threshold training dimension of the network and the linearised network, train and test, at the cpu-large size.
# :name: fig-07-large-thresholds
# :figclass: full-width
#
# As {numref}`fig-07-thresholds`, at the `cpu-large` size.
# ```
#
# ```{glue:figure} fig-07-large-spectra
# :alt: Eigenvalues by rank and spectral densities at the cpu-large size.
# :name: fig-07-large-spectra
# :figclass: full-width
#
# As {numref}`fig-07-spectra`, at the `cpu-large` size.
# ```
#
# ```{glue:figure} fig-07-large-predictions
# :alt: Predicted against measured threshold training dimensions at the cpu-large size.
# :name: fig-07-large-predictions
#
# As {numref}`fig-07-predictions`, at the `cpu-large` size.
# ```

# %% tags=["hide-input"]
if large is not None:
    lt = large["predictions"]
    print(claims07.model_heights(lt))
    print(claims07.describe_comparison(lt))
    display(Markdown(claims07.start_summary(lt, large["start"])))

# %% [markdown]
# ## Checks

# %% tags=["nbval-check-output", "hide-input"]
metrics = {k: optima[k + "_metrics"] for k in ("opt1", "opt2")}
checks = {"this run: f_lin equals f at w_opt (max logit difference < 1e-3)": at_opt < 1e-3}
checks.update({f"this run: {k}": v for k, v in claims07.check_results(plane, curv, table, metrics).items()})
if large is not None:
    checks.update({f"cpu-large: {k}": v for k, v in claims07.check_results(
        large["plane"], large["curvature"], large["predictions"], large["optima_metrics"]).items()})
    # at the committed scale only: this run's sweeps are too short and coarse to measure d* of the network
    checks["cpu-large: " + claims07.START_CHECK] = claims07.start_within_a_grid_step(large["predictions"],
                                                                                     large["exp"].config.d_values)
for name, ok in checks.items():
    print(f"{'pass' if ok else 'FAIL'}: {name}")
assert all(checks.values()), [name for name, ok in checks.items() if not ok]

# %% [markdown]
# ## Takeaways
#
# - Linearising a network around an optimum costs one Jacobian-vector product per step; the
#   engine trains the linearised model like any other model, from the same $w_0$.
# - Seen through random affine subspaces from $w_0$, the linearised network and the network
#   reach the same accuracies at comparable $d$ near the top of the accuracy range, and the
#   linearisation needs larger $d$ lower down, where its extrapolated start is worse than the
#   network's (the agreement is printed beside the threshold figures).
# - The whole Gauss-Newton matrix of Conv-2 is within reach of a 2-core CPU (the costs are in
#   the cpu-large timings): at a well-fitted optimum its spectrum has a few large eigenvalues, a
#   tail over many decades and a null space far larger than its rank bound forces; the true
#   Hessian adds a little negative curvature.
# - Where the loss really is the quadratic the theory assumes (case (i)), the cone prediction
#   fed the measured spectrum and displacement lands within the checked band of the exact
#   threshold. For cross-entropy, the quadratic model built from $G$ at the optimum puts $w_0$
#   far lower than it is (the heights printed above), so it predicts thresholds much smaller
#   than measured at its own levels, and $d^* = 0$ at the levels the subspaces actually cross:
#   the basin seen from $w_0$ is not the quadratic seen from the optimum.
# - Taken at the start instead (case (iv)), the Gauss-Newton model does predict the network's
#   thresholds at the levels the subspaces cross, to within a step of the measuring grid at
#   the committed size (checked above; the numbers are in the cpu-large summary), where the
#   model taken at the optimum predicted $d^* = 0$. Its minimum over the whole space (in the
#   same summary) says how far from where it was taken a local model is being trusted.
