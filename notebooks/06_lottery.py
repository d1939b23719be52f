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
# # Lottery subspaces, lottery tickets and the whole taxonomy
#
# **What you will learn**
#
# - how to build a *lottery subspace*: the top singular directions of a full training
#   trajectory, nested in $d$, and why its accuracy is read as a running maximum over $d$;
# - how a *lottery ticket* is cut (two epochs of training, one-shot global magnitude
#   pruning, rewinding) and why it breaks down at high compression (*layer collapse*);
# - how all eight cells of the paper's Table 1 compare on one axis, the compression ratio
#   $D/d$, and which of them needs the fewest training dimensions per accuracy level;
# - whether the lottery subspaces' lead survives when their trajectory gets no more SGD
#   steps than the full model (a *compute-matched* comparison the original code did not make);
# - which of the paper's claims about lottery subspaces and tickets survive at the scale
#   this book can afford on a CPU, and at the paper's own protocol (all of Fashion-MNIST,
#   three epochs, ten seeds: a background job of many CPU hours, shown by complete seeds
#   as it is committed).
#
# **What you need**: {doc}`01_baselines` (the networks and the full-model baseline) and the
# random and burn-in subspaces of the phase-transition chapter, whose success probability
# $P_s$ and threshold dimension $d^*$ ({cite}`larsen2022degrees`, eq. 2.3 and Definition 2.1)
# are used here unchanged.

# %% tags=["parameters"]
dataset = "fashion_mnist"  # dataset name: mnist, fashion_mnist, cifar10, cifar100, svhn
model = "conv2"  # network: conv2, conv3, resnet20, mlp
pool = "max"  # 2x2 pooling: "max" (the paper's text) or "avg" (the original code)
n_train = 4000  # training examples used (count, 60000 is all of Fashion-MNIST)
n_test = 2000  # test examples evaluated (count, 10000 is the whole test set)
epochs = 1  # training epochs of every run, subspace or pruned (count)
seeds = [0, 1]  # PRNG seeds (one w_0, trajectory and set of runs per seed)
subspace_d = [8, 64, 512]  # training dimensions d of random affine and burn-in subspaces (count)
lottery_d = [2, 4, 8, 16, 32, 64]  # training dimensions d of lottery subspaces (count, nested)
lottery_steps_cap = "full"  # compute-matched lottery trajectory: "full" (the full model's steps), steps, or None
t = 8  # step t of all four "at step t" methods: burn-in and rewind point (SGD steps)
keep_fractions = [1, 0.1, 0.01, 0.001, 0.0001]  # fractions of the D parameters a pruning mask keeps
pretrain_epochs = 2  # full-space epochs before magnitude pruning (count, 2 as in the paper)
scope = "global"  # magnitude pruning scope: "global" (the paper's) or "layerwise"
adam_variant = "standard"  # subspace Adam: "standard" or "original" (the paper's code)
lr = 0.05  # Adam learning rate of subspace training
ticket_lr = 0.05  # momentum-SGD learning rate of pruned-network retraining
records_dir = "runs"  # where records go: "runs" (live runs) or "results" (committed)
tag = "default"  # name prefix of this grid's record files
n_boot = 1000  # bootstrap replicates over seeds behind each d* band (count)
d_star_band = 0.9  # share of the bootstrap replicates a d* band covers (fraction)
show_committed = True  # also draw the committed grids (cpu-large, paper) from results/06_lottery
workers = None  # None trains in this process; N trains on a local Dask cluster of N worker processes (count)
scheduler = None  # or the address of a running Dask scheduler, e.g. "tcp://host:8786" (Slurm: see Reproducing)

# %% tags=["hide-input"]
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dof_helpers import plotting, taxonomy, thresholds
from dof_helpers.chapters import lottery as ch06
from dof_helpers.chapters import lottery_claims as claims06
from dof_helpers.chapters import lottery_records as rec06
from dof_helpers.engine import NESTED_METHODS, TABLE1_METHODS, executor_from
from dof_helpers.paths import repo_root, results_dir, runs_dir

params = dict(dataset=dataset, model=model, pool=pool, n_train=n_train, epochs=epochs, seeds=seeds,
              subspace_d=subspace_d, lottery_d=lottery_d, t=t, keep_fractions=keep_fractions,
              pretrain_epochs=pretrain_epochs, scope=scope, adam_variant=adam_variant, lr=lr, ticket_lr=ticket_lr,
              lottery_steps_cap=lottery_steps_cap)
params["n_test"] = n_test
configs = ch06.chapter_grids(params)  # the engine's two grids: random/burn-in subspaces; lottery subspaces + pruning
executor = executor_from(workers=workers, scheduler=scheduler)  # where the runs train
if records_dir not in ("runs", "results"):
    raise ValueError(f"records_dir={records_dir!r} is not valid; accepted values: 'runs', 'results'")
plotting.use_house_style()
print(*configs.values(), sep="\n")
print("jax", jax.__version__, "on", jax.devices())

# %% [markdown]
# ## Theory
#
# ### Eight ways to train in $d$ dimensions
#
# Every method of this chapter trains a network with $D$ parameters while letting only
# $d \ll D$ numbers move. They differ in two choices ({cite}`larsen2022degrees`, Table 1):
# whether the $d$ directions are *axis-aligned* (single parameters: pruning) or *general*
# (any $d$-dimensional subspace), and how much information from a full training run goes
# into choosing the directions and the starting point.
#
# | | no training information | training chooses the start $w_t$ | training chooses the directions, start $w_0$ | directions and start $w_t$ |
# |---|---|---|---|---|
# | **axis-aligned** | random pruning | random pruning at step $t$ | lottery ticket {cite}`frankle2019lottery` | lottery ticket rewound to $t$ {cite}`frankle2020linear` |
# | **general** | random affine subspace {cite}`li2018intrinsic` | burn-in subspace | lottery subspace | lottery subspace at step $t$ |
#
# The paper compared four of these cells and left the rest open; here all eight run on the
# same network, data, seeds and epoch budget, with one step $t$ for every "at step $t$"
# cell, so that $w_t$ is literally the same point for all four of them.
#
# ### Lottery subspaces
#
# Train the full network from $w_0$ with momentum SGD and keep the displacement every
# five steps, $\Delta_j = w_{5j} - w_{5(j-1)}$, for $j = 1, \dots, d_{\max}$. Stack them as the
# columns of $M \in \mathbb{R}^{D \times d_{\max}}$ and take its singular value decomposition
# $M = U S V^\top$ (no centring). The lottery subspace of dimension $d$ is spanned by the
# first $d$ columns $U_d$, so training uses
#
# $$ w(\theta) = w_t + U_d\, \theta, \qquad \theta \in \mathbb{R}^d,\ \theta_0 = 0, $$
#
# the paper's eq. 2.2 with the random matrix $A$ replaced by $U_d$; $t = 0$ rewinds to the
# initialisation and $t > 0$ to a point of the same trajectory. The singular values
# $s_1 \ge s_2 \ge \dots$ say how much of the trajectory each direction carries.
#
# ### How much training the lottery subspace sees
#
# The trajectory above is $5\, d_{\max}$ SGD steps long: its length follows from the largest
# $d$ of the grid, as in the original code, not from the full model's training budget
# ({cite}`larsen2022degrees` describe the lottery subspace as spanned by the training
# trajectory, Section 4 and Appendix). The full model trains for `epochs` passes over the
# data, `epochs` times the number of batches in one pass. The two need not agree, so the original
# comparison of lottery subspaces with the other methods did not hold fixed how much
# training went into choosing the directions. This chapter therefore runs the lottery
# subspaces twice: on the original trajectory, and on a *compute-matched* one capped at the
# full model's number of SGD steps (`lottery_steps_cap = "full"`). With one direction every
# five steps, the capped trajectory has only (steps / 5) directions, so it is run at the $d$
# of `lottery_d` it can span. The numbers for each grid are printed where it runs.
#
# ```{prf:definition} Running maximum over nested subspaces
# :label: def-running-max
# :nonumber:
#
# Because $U_d \subset U_{d+1}$, every point reachable in dimension $d$ is reachable in
# $d + 1$. If a run at $d + 1$ ends worse than the run at $d$, the optimiser failed, not the
# subspace. The paper therefore reports, per seed, $\max_{d' \le d} \mathrm{acc}(d')$ for
# lottery subspaces (Appendix A.2); the figures below show both the raw and the
# running-maximum accuracy next to the spectrum.
# ```
#
# ### Lottery tickets and random pruning
#
# A pruning mask $m \in \{0, 1\}^D$ keeps $d = \|m\|_0$ parameters; the network trains as
# $w = m \odot (w_t + \theta)$, so the kept coordinates form an axis-aligned subspace of
# dimension $d$ and the compression ratio is $D/d$. A **lottery ticket** takes $m$ from the
# weights after two epochs of training: one-shot *global* magnitude pruning keeps the $d$
# largest $|w_i|$ over all parameters, biases included, as the original code did; then it
# rewinds to $w_0$ {cite}`frankle2019lottery` or to $w_t$ {cite}`frankle2020linear` and
# retrains with the mask. **Random pruning** draws $m$ uniformly with the same $d$. Keep
# fractions follow the original grid ($1, 0.5, 0.25, 0.1, \dots, 10^{-4}$).
#
# ```{prf:definition} Layer collapse
# :label: def-layer-collapse
# :nonumber:
#
# A mask *collapses* a layer when it removes every weight of that layer's kernel. Nothing
# computed before the layer reaches the output any more, so the network is stuck at the
# accuracy of its remaining biases, whatever the other $d$ parameters do. Global magnitude
# pruning is prone to it because layers with many small weights (here the dense head) are
# emptied first.
# ```
#
# ### Reading the comparison
#
# We compare methods by the best training accuracy of each run (as in the rest of the book;
# Figures 6, 10 and 11 show the best test accuracy beside it) against $D/d$ (the paper's
# Figure 6), by the threshold dimension
# $d^*(\epsilon, t, \delta)$ of each method (Figure 3), and by Li et al.'s $d_{\mathrm{int}90}$,
# the smallest $d$ whose mean accuracy reaches 90% of the full model's {cite}`li2018intrinsic`.
# The full model is the unpruned network ($d = D$, keep fraction 1) trained from $w_0$ with
# the same epochs.
#
# Two choices of this chapter, stated once: subspace coordinates $\theta$ train with Adam
# (learning rate $5\cdot10^{-2}$, Appendix A.4) while pruned networks retrain with momentum
# SGD (learning rate $5\cdot10^{-2}$, momentum 0.9), the optimiser of their pretraining, as in
# the lottery-ticket literature; and the pretraining that picks the ticket's mask follows the
# *same* trajectory (same $w_0$, same batches) as the lottery subspace and the burn-in, so
# that the four "at step $t$" cells really share $w_t$ and the two "lottery" cells use the
# same run of training information.

# %% [markdown]
# ## Experiment
#
# The data: the paper's preprocessing, the first `n_train` training images and the first
# `n_test` test images.

# %%
ds = ch06.data_spec(params).load()
print(f"{ds.name}: train {ds.x_train.shape}, test {ds.x_test.shape}")

# %% [markdown]
# How many SGD steps each lottery trajectory of this run takes, next to the full model's:

# %% tags=["hide-input"]
budget = ch06.trajectory_budget(params)
print(ch06.budget_sentence(budget))

# %% [markdown]
# One call runs all eight methods seed by seed through the experiment engine
# (`dof_helpers.engine`): first the grid that shares the seed's full-space trajectory (the
# lottery subspaces, whose records carry the trajectory's singular values, and the four
# pruning methods), then the random affine and burn-in subspaces. Every finished run is
# appended to one JSON-lines file, so an interrupted chapter resumes where it stopped.

# %%
path = ch06.records_path(runs_dir("06_lottery") if records_dir == "runs" else results_dir("06_lottery"), tag)
t0 = time.perf_counter()
grid = ch06.run_taxonomy(params, path, data=ds, executor=executor)
print({k: len(v) for k, v in grid.items()},
      f"in {time.perf_counter() - t0:.0f} s (including resumed runs)")
statuses = pd.Series([r["status"] for r in grid["subspaces"] + grid["pruning"] + grid["matched"]])
print("statuses:", statuses.value_counts().to_dict())

# %% [markdown]
# Two committed grids were run with the same code, outside the notebook, by
# `python -m dof_helpers.chapters.lottery --preset <name>`:
#
# - `cpu-large` (`presets/06_lottery/cpu-large.yaml`): 10,000 training images, the whole
#   test set, two epochs, three seeds, coarser grids;
# - `paper` (`presets/06_lottery/paper.yaml`): the paper's protocol for Conv-2 on
#   Fashion-MNIST (all 60,000 training images, three epochs, ten seeds, the original $d$
#   grids and keep fractions). Its random affine and burn-in runs are the same runs as
#   chapter 05's paper-protocol sweep, key for key, and are copied from its records
#   (`--reuse-from`) instead of being trained twice.
#
# What each ran with, how long it took and how much of it is recorded are in
# `results/06_lottery/<name>_settings.json`, kept current after every run; the lines below
# are read from there. A grid still being run is shown with its *complete* seeds only, so
# that every method is compared on the same seeds. Both are read back here and their
# figures redrawn from their records, next to this run's.

# %% tags=["hide-input"]
grids, committed_info = {f"this run ({tag})": grid}, {}
for ctag in rec06.COMMITTED_TAGS:
    g, committed_info[ctag] = rec06.load_committed(repo_root() / "results" / "06_lottery", ctag)
    print(rec06.committed_sentence(committed_info[ctag]))
    if show_committed and g is not None and tag != ctag:
        grids[f"committed {ctag}"] = g


def grid_label(name):
    """A shown grid's column name; a grid still being run says how many of its seeds it shows."""
    info = committed_info.get(name.removeprefix("committed "))
    if info is None or info["state"] == "complete":
        return name.removeprefix("committed ")
    return f"{info['tag']}, {len(info['seeds'])} of {len(info['seeds_planned'])} seeds"


# the grids shown one by one in the tables below: the committed ones when shown, else this run
shown = [n for n in grids if n.startswith("committed")] or [f"this run ({tag})"]
# the complete grid the checks assert on: committed cpu-large when shown, else this run
ref_name = "committed cpu-large" if "committed cpu-large" in grids else f"this run ({tag})"
for name, g in grids.items():
    print(f"{name}: {len(g['subspaces'])} subspace runs, {len(g['pruning'])} pruning runs, "
          f"{len(g['matched'])} compute-matched lottery runs, {len(g['spectra'])} spectra")

# %% [markdown]
# ## Results
#
# Every figure and table below is computed from these records. Per grid: the frame of all
# eight methods (running maximum applied to the nested lottery subspaces), the full-model
# accuracy, and the mean over seeds at each $d$, for training and for test accuracy; and
# the same for the compute-matched lottery subspaces.

# %% tags=["hide-input"]
fig_dir = repo_root() / "results" / "06_lottery"


def save(fig, stem):
    """Keep the figures of the committed grids next to their records (results/06_lottery)."""
    if shown[0].startswith("committed") or tag in rec06.COMMITTED_TAGS:
        plotting.save_figure(fig, fig_dir / f"{stem}.png")


summary = {name: claims06.grid_summary(g) for name, g in grids.items()}
for name, s in summary.items():
    print(f"{name}: full model best train accuracy {s['full']:.3f}, test {s['full_test']:.3f}, "
          f"seeds {sorted(int(x) for x in s['frame']['seed'].unique())}")

# %% [markdown]
# ### The spectrum of the trajectory and accuracy against $d$ (Figures 10 and 11)
#
# Top: the singular values $s_k$ of each seed's trajectory matrix, drawn at $d = k$ (the
# $k$-th direction added). Below: best training accuracy (middle) and best test accuracy
# (bottom) of each seed's lottery-subspace runs, rewound to $w_0$ (dark) and to $w_t$
# (light); left as recorded, right as a running maximum over $d$. These are the original
# (uncapped) trajectories.

# %% tags=["hide-input"]
# one figure for this page's run, one for the committed grids (three rows each)
for names, glue_name in (([n for n in grids if not n.startswith("committed")], "fig-spectrum-live"),
                         ([n for n in grids if n.startswith("committed")], "fig-spectrum-committed")):
    if not names:
        continue
    fig = plt.figure(figsize=(10, 10.4 * len(names)), layout="constrained")
    for sub, name in zip(np.atleast_1d(fig.subfigures(len(names), 1)), names):
        plotting.lottery_spectrum_rows(sub, grids[name]["spectra"], summary[name], t=t, name=grid_label(name))
    if glue_name == "fig-spectrum-committed" or tag in rec06.COMMITTED_TAGS:
        save(fig, "fig10_11_spectrum_accuracy")
    plotting.glue_figure(glue_name, fig)

# %% [markdown]
# ```{glue:figure} fig-spectrum-live
# :alt: This page's run. Top: singular values of each seed's trajectory falling smoothly with k. Middle and bottom: best training and best test accuracy of lottery subspaces against d for each seed, rewound to the initialisation and to step t; as recorded on the left (not monotone in d), as a running maximum on the right.
# :name: fig-spectrum-live
# :figclass: full-width
#
# This page's run (the paper's Figures 10 and 11): singular values of the trajectory (top)
# and lottery-subspace training (middle) and test accuracy (bottom) against $d$, as
# recorded (left) and as a running maximum over $d$ (right); dark: rewound to $w_0$,
# light: to $w_t$; dotted: full model.
# ```
#
# ```{glue:figure} fig-spectrum-committed
# :alt: The same six panels for each committed grid: cpu-large first, then the paper-sized grid when it has complete seeds (ten seeds: thin lines, one legend entry per method).
# :name: fig-spectrum-committed
# :figclass: full-width
#
# The same for the committed grids, one block of three rows each: `cpu-large`, then the
# paper-sized grid (its complete seeds; with ten seeds each method's lines share one style).
# ```

# %% [markdown]
# How to read it. The singular values fall steadily with $k$, without a gap, so every new
# direction carries less of the trajectory than the one before; yet the very first
# directions already train the network far above chance. The raw accuracies (left) are
# not monotone in $d$: past a few tens of directions, runs often end *lower* than with
# fewer directions although the larger subspace contains the smaller one, whichever point
# they are rewound to. This is the optimisation failure of the paper's Appendix
# A.2. A plausible mechanism, consistent with the spectrum: the late directions are unit
# vectors like the early ones, so Adam steps along them as far as along the informative
# ones, although the trajectory hardly moved there. The running maximum (right) discards
# these failures, which is the right reading for the question "does the subspace contain a
# good point?".

# %% [markdown]
# ### Threshold dimensions of the general subspaces (Figure 3, purple beside blue and red)
#
# $d^*$ at each training-accuracy level, with the paper's $\delta$ (all runs but one must
# reach the level; with two seeds that is one of the two), and around it a band from
# resampling the seeds (`n_boot` replicates; the band covers the central `d_star_band` of
# them). Dashed: the compute-matched lottery subspaces.

# %% tags=["hide-input"]
levels = np.round(np.arange(0.30, 0.951, 0.01), 2)
d_star, bands, matched_d_star, matched_bands, deltas = {}, {}, {}, {}, {}
for name, s in summary.items():  # delta follows each grid's number of seeds (all runs but one must succeed)
    d_star[name], deltas[name] = taxonomy.threshold_table(s["frame"], levels)
    bands[name], _ = taxonomy.threshold_bands(s["frame"], levels, n_boot=n_boot, band=d_star_band)
    if s["matched"] is not None:
        matched_d_star[name], _ = taxonomy.threshold_table(s["matched"], levels, delta=deltas[name])
        matched_bands[name], _ = taxonomy.threshold_bands(s["matched"], levels, delta=deltas[name], n_boot=n_boot,
                                                          band=d_star_band)
    print(f"{name}: delta = {deltas[name]:.2f} ({s['frame']['seed'].nunique()} seeds)")
fig, axes = plotting.panel_grid(len(summary), panel_size=(5.4, 5.0), extra_height=0.8)
for ax, name in zip(axes, d_star):
    curves, styles, shaded = {}, {}, {}
    for variant, tab, boot in (("", d_star[name], bands[name]),
                               (", compute-matched", matched_d_star.get(name), matched_bands.get(name))):
        for m in ("random_affine", "burn_in", "lottery_subspace", "lottery_subspace_t"):
            col = taxonomy.curve_name(m, 0 if m in ("random_affine", "lottery_subspace") else t)
            if tab is None or col not in tab:
                continue
            label = plotting.method_label(m, t) + variant
            curves[label] = (tab.index.to_numpy(), tab[col].to_numpy())
            styles[label] = {"color": plotting.method_color(m, t), "ls": "--" if variant else "-"}
            b = boot[boot["method"] == m].sort_values("level")
            shaded[label] = (b["level"].to_numpy(), b["d_low"].to_numpy(), b["d_high"].to_numpy())
    plotting.threshold_curves(ax, curves, styles=styles, baseline=summary[name]["full"], bands=shaded,
                              level_label="training accuracy level")
    ax.set_title(grid_label(name))
entries = {}  # one legend for all panels, under them: every curve any panel drew
for ax in axes:
    entries.update(zip(*reversed(ax.get_legend_handles_labels())))
    if ax.get_legend() is not None:
        ax.get_legend().remove()
fig.legend(list(entries.values()), list(entries), loc="outside lower center", ncol=3)
save(fig, "fig03_threshold_curves")
plotting.glue_figure("fig-thresholds", fig)

# %% [markdown]
# ```{glue:figure} fig-thresholds
# :alt: Threshold dimension d star on a log scale against training-accuracy level, one panel per grid, for random affine, burn-in and the two lottery subspaces (solid: original trajectory, dashed: compute-matched), each with a shaded bootstrap band; the purple lottery curves lie far to the left of the blue and red ones.
# :name: fig-thresholds
# :figclass: full-width
#
# $d^*$ of the four general subspaces against the training-accuracy level (the paper's
# Figure 3 with the lottery subspaces added), one panel per grid; shaded: the bootstrap
# band over seeds; dashed: the lottery subspaces on the compute-matched trajectory;
# dotted: the full model.
# ```

# %% [markdown]
# The purple curves sit to the left of the blue and red ones at every level they reach:
# a few trajectory directions do what random subspaces need hundreds of dimensions for, and
# a burn-in of $t$ steps closes only part of that gap. Where a purple curve stops below the
# full model's line, no lottery dimension of the grid reached the higher levels in enough
# seeds.

# %% [markdown]
# ### All eight methods against the compression ratio (Figure 6, completed)
#
# Mean best training accuracy (left) and test accuracy (right) over seeds (band: one
# standard deviation) against $D/d$. Pruning methods start at $D/d = 1$ (nothing pruned) and
# move right; subspace methods start at $d = 1$ and move left. Dotted purple: the lottery
# subspaces on the compute-matched trajectory.

# %% tags=["hide-input"]
fig, axes = plt.subplots(len(summary), 2, figsize=(11, 3.9 * len(summary) + 1.6), squeeze=False,
                         sharex=True, sharey="row", layout="constrained")
for row, (name, s) in enumerate(summary.items()):
    for col, (split, sfx) in enumerate((("training", ""), ("test", "_test"))):
        curves, styles = {}, {}
        matched = taxonomy.mean_curves(s["matched" + sfx], f"{'train' if not sfx else 'test'}_acc") \
            if s["matched" + sfx] is not None else None
        for means, variant in ((s["means" + sfx], ""), (matched, ", compute-matched")):
            for m in TABLE1_METHODS if not variant else NESTED_METHODS:
                c = means[means["method"] == m] if means is not None else []
                if len(c):
                    label = plotting.method_label(m, int(c["t"].iloc[0])) + variant
                    curves[label] = (c["compression"], c["mean"], c["std"])
                    ls = ":" if variant else ("-" if m in TABLE1_METHODS[4:] else "--")
                    styles[label] = {"color": plotting.method_color(m, t), "ls": ls}
        ax = axes[row, col]
        plotting.compression_curves(ax, curves, styles=styles, baseline=s["full" + sfx],
                                    chance=1 / ds.num_classes, ylabel=f"best {split} accuracy")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
        ax.set_title(f"{grid_label(name)}: {split} accuracy")
for ax in axes[:-1].ravel():
    ax.set_xlabel("")  # the shared x axis is labelled once, under the last row
fig.legend(handles, labels, loc="outside lower center", ncol=3)  # one legend for all panels
save(fig, "fig06_taxonomy_compression")
plotting.glue_figure("fig-compression", fig)

# %% [markdown]
# ```{glue:figure} fig-compression
# :alt: Mean best training accuracy (left) and test accuracy (right) against compression ratio D over d on a log axis, one row per grid, for all eight methods and the compute-matched lottery subspaces; pruning methods fall to chance at high compression, lottery subspaces stay high down to d = 1, random affine and burn-in subspaces lie in between.
# :name: fig-compression
# :figclass: full-width
#
# All eight cells of the paper's Table 1 against the compression ratio $D/d$ (the paper's
# Figure 6, completed), training accuracy (left) and test accuracy (right): mean best
# accuracy over seeds, band one standard deviation; solid: general subspaces, dashed:
# pruned networks, dotted: lottery subspaces on the compute-matched trajectory; one row
# per grid.
# ```

# %% [markdown]
# Three regimes show up. Near $D/d = 1$ everything that keeps most parameters matches the
# full model. In the middle range, at equal $d$, random pruning loses accuracy first, and
# lottery tickets hold on longer but, where both were run, no better than random affine
# subspaces of the same size: the training information in the ticket's mask buys little
# over a random *general* subspace. At high compression every axis-aligned method drops to
# chance within one step of the grid (layer collapse, below), while the lottery subspaces
# keep most of the full model's accuracy down to $d = 1$. The four "at step $t$" cells
# differ from their "at init" partners mostly for the subspaces; for the pruned networks
# the effect of rewinding to $w_t$ instead of $w_0$ is small next to the seed-to-seed
# spread at this scale (see the claims table).

# %% [markdown]
# ### Threshold dimensions of all eight methods
#
# The table gives $d^*$ for a few accuracy levels with its bootstrap band over seeds,
# "$d^*$ [low, high]" ("none": no $d$ of the grid reached the level with the required
# number of seeds; "&gt;$d$": some replicates reach it nowhere on the grid), and
# $d_{\mathrm{int}90}$. Rows marked "compute-matched" are the lottery subspaces on the
# capped trajectory. Read it with the grids in mind: each method can only report the $d$
# values it was run at.

# %% tags=["hide-input"]
def band_table(s, show, delta):
    """d* [band] per curve (rows) and level (columns), compute-matched rows last, d_int90."""
    table, _ = taxonomy.threshold_band_table(s["frame"], show, n_boot=n_boot, band=d_star_band)
    table = table.T
    di90 = thresholds.d_int90(s["frame"], s["full"], metric="train_acc", by=("method", "t"))
    di90.index = [taxonomy.curve_name(m, tt) for m, tt in zip(di90["method"], di90["t"])]
    table["d_int90"] = di90["d_int90"].reindex(table.index)
    if s["matched"] is not None:
        extra, _ = taxonomy.threshold_band_table(s["matched"], show, delta=delta, n_boot=n_boot,
                                                 band=d_star_band)
        extra = extra.T.rename(index=lambda c: f"{c}, compute-matched")
        di90 = thresholds.d_int90(s["matched"], s["full"], metric="train_acc", by=("method", "t"))
        extra["d_int90"] = di90["d_int90"].to_numpy()
        table = pd.concat([table, extra])
    return table.rename(columns=lambda c: f"{c:g}" if isinstance(c, float) else c)


for name, s in summary.items():
    show = [lv for lv in (0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9) if lv in d_star[name].index]
    table = band_table(s, show, deltas[name])
    print(f"{name} (full model {s['full']:.3f}); d* [{d_star_band:.0%} bootstrap band over seeds] "
          "by training-accuracy level:")
    display(table)
    if name.startswith("committed"):
        table.to_csv(fig_dir / f"{name.split()[-1]}_d_star_table.csv")  # next to that grid's records

# %% [markdown]
# Rows are methods, columns accuracy levels; read along a column to rank the eight cells
# of Table 1 at that level. Pruning methods can only report the kept counts of their keep
# fractions and subspace methods only their grid of $d$, so two equal entries mean "reached
# at the first grid point tried", not "equally good", and a lower entry can come from grid
# spacing alone: a method tried at $d = 1024$ can show a lower $d^*$ than one tried only at
# 512 and 2048 although the second, interpolated, would be as good (the claims table below
# compares at equal compression by interpolating instead). The bands are only as wide as
# the seeds allow: with a handful of seeds, a band collapsed onto one grid point means the
# resampled seeds agreed, not that $d^*$ is known to a factor of two.
#
# How sure each threshold is shows best in $P_s$ itself. For the lottery subspaces, the
# next table gives $P_s$ at $d^*$ and one grid step below it, as "successes/runs = $P_s$
# [low, high]", with an exact binomial (Clopper-Pearson) interval at the confidence printed
# above it: a handful of runs per cell, as in the paper, pins $P_s$ down only loosely.

# %% tags=["hide-input"]
for name in shown:
    ps_levels = [lv for lv in (0.4, 0.5, 0.6, 0.7, 0.75, 0.8) if lv <= summary[name]["full"]][-3:]
    for label, f in (("original", summary[name]["frame"]), ("compute-matched", summary[name]["matched"])):
        if f is None or not ps_levels:
            continue
        lot = f[f["method"].isin(NESTED_METHODS)]
        ps = thresholds.success_probability(lot, "train_acc", ps_levels, by=("method", "t"))
        print(f"{name}, lottery subspaces, {label} trajectory "
              f"({thresholds.CONFIDENCE:.0%} Clopper-Pearson intervals):")
        display(thresholds.p_s_at_threshold(ps, thresholds.threshold_dimension(ps, delta=deltas[name]), ps_levels))

# %% [markdown]
# ### The lottery subspaces, compute-matched
#
# The question the original comparison left open: do the lottery subspaces owe their lead to
# a trajectory that trained longer than the full model? Per grid, the trajectory lengths
# read off the records, then the accuracy of both variants at every $d$ both were run at
# (mean over seeds, running maximum over $d$) and the gap, compute-matched minus original.

# %% tags=["hide-input"]
for name, g in grids.items():
    print(f"{name}:", ch06.budget_sentence(ch06.budget_from_records(g)))
matched_tables = {name: {split: ch06.compute_matched_table(grids[name], f"{split}_acc")
                         for split in ("train", "test")} for name in shown}
for name, tabs in matched_tables.items():
    gaps = pd.concat({split: tab.set_index(["method", "d"])[["original", "matched", "gap"]]
                      for split, tab in tabs.items()}, axis=1)
    print(f"{name}: best accuracy, original against compute-matched lottery trajectory")
    display(gaps.round(3))

# %% tags=["hide-input"]
fig, axes = plt.subplots(len(shown), 2, figsize=(10, 4.2 * len(shown) + 0.6), sharey="row", squeeze=False,
                         layout="constrained")
for ax, (name, split) in zip(axes.ravel(), [(n, sp) for n in shown for sp in ("train", "test")]):
    tab = matched_tables[name][split]
    curves, styles = {}, {}
    for m, sub in tab.groupby("method"):
        tt = t if m.endswith("_t") else 0
        for col, variant, ls in (("original", "original", "-"), ("matched", "compute-matched", "--")):
            label = f"{plotting.method_label(m, tt)}, {variant}"
            curves[label] = (sub["d"].to_numpy(), sub[col].to_numpy())
            styles[label] = {"color": plotting.method_color(m), "ls": ls}
    full_acc = summary[name]["full" if split == "train" else "full_test"]
    if curves:
        plotting.accuracy_against_d(ax, curves, styles=styles, ylabel=f"best {split} accuracy",
                                    baseline=full_acc)
        ax.set_xlabel("training dimension $d$")
    ax.set_title(f"{grid_label(name)}: {split} accuracy")
if axes[0, 0].get_legend() is not None:
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for ax in axes.ravel():
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
save(fig, "fig_compute_matched")
plotting.glue_figure("fig-compute-matched", fig)

# %% [markdown]
# ```{glue:figure} fig-compute-matched
# :alt: Mean best training accuracy (left) and test accuracy (right) of lottery subspaces against d, rewound to the initialisation and to step t, each on the original trajectory (solid) and on the trajectory capped at the full model's number of SGD steps (dashed).
# :name: fig-compute-matched
# :figclass: full-width
#
# Lottery subspaces on the original trajectory (solid) and on the compute-matched one
# (dashed), at the $d$ both were run at: mean best accuracy over seeds, running maximum
# over $d$; dotted: the full model; one row per committed grid.
# ```

# %% tags=["hide-input"]
for name, tabs in matched_tables.items():
    print(ch06.gap_sentence(tabs["train"], tabs["test"], name))

# %% [markdown]
# What the original comparison did not control for is the amount of training behind the
# directions: the lottery trajectory took $5\, d_{\max}$ SGD steps whatever the full model
# trained for (the step counts above). Capping it at the full model's steps answers the
# question for this grid, with one caveat: the capped trajectory has fewer directions, so
# the compute-matched curves stop at a smaller $d$, and the gap is measured only where both
# exist. The sentences above give its sign and size per grid, computed from the records; on
# the committed `cpu-large` grid the shorter trajectory does not cost the lottery subspaces
# their lead, which a check below asserts.

# %% [markdown]
# ### Layer collapse of lottery tickets
#
# Left: the fraction of each layer's kernel that global magnitude pruning keeps, against the
# overall keep fraction (each grid's first seed; a cross marks a collapsed layer). The table lists, per
# method and keep fraction, how many seeds lost a whole layer and the accuracy that was
# left.

# %% tags=["hide-input"]
fig, axes = plotting.panel_grid(len(grids), panel_size=(5.2, 3.6))
for ax, (name, g) in zip(axes, grids.items()):
    kf, layers = taxonomy.layer_keep_table(g["pruning"], "lottery_ticket", seed=min(r["seed"] for r in g["pruning"]))
    plotting.layer_keep_curves(ax, kf, layers)
    ax.set_title(f"{grid_label(name)}: lottery ticket masks")
save(fig, "layer_collapse")
plotting.glue_figure("fig-layer-collapse", fig)

# %% [markdown]
# ```{glue:figure} fig-layer-collapse
# :alt: Fraction of each layer's kernel kept by global magnitude pruning against the overall keep fraction, log-log, one panel per grid; the first convolution keeps a larger share than the overall fraction, the second convolution and dense head smaller shares until one is emptied, marked by a cross.
# :name: fig-layer-collapse
# :figclass: full-width
#
# Share of each layer's kernel that the lottery ticket's mask keeps, against the overall
# keep fraction (each grid's first seed); a cross marks a layer emptied completely (layer collapse).
# ```

# %% tags=["hide-input"]
for name, g in grids.items():
    fc = taxonomy.first_collapse(g["pruning"])
    print(f"{name}: lottery tickets first collapse at keep fraction {fc['keep_fraction']:g} "
          f"(D/d = {fc['compression']:.0f}), layers: {fc['layers']}")
for name in shown:
    print(f"{name}: layer collapse by method and keep fraction")
    display(taxonomy.collapse_table(grids[name]["pruning"]).round({"compression": 1, "train_acc": 3}))

# %% [markdown]
# Global magnitude pruning does not thin all layers alike: the first convolution (few,
# large weights) keeps a much larger share than the overall fraction, while the second
# convolution and the dense head (many small weights) are emptied faster, until one of them
# is gone entirely. From that keep fraction on, the ticket's accuracy sits at chance no
# matter how well the surviving parameters train. Random pruning thins every layer at the
# same expected rate, so it is the small first convolution that disappears first.

# %% [markdown]
# ### Which of the paper's claims hold here
#
# Each claim of Section 4 is turned into a number computed from each committed grid (this
# page's run when none is shown), side by side: `cpu-large`, and the paper-sized grid on
# its complete seeds. "Close to the full model" means within `CLOSE_MARGIN` (printed
# below) of its best training accuracy; between grid points, accuracies are interpolated in
# $\log(D/d)$.

# %% tags=["hide-input"]
claims = claims06.claims_side_by_side(
    {grid_label(name): claims06.claims_table(summary[name], grids[name]) for name in shown})
for name in shown:
    print(f"{name}: full model {summary[name]['full']:.3f}, close means >= "
          f"{summary[name]['full'] - claims06.CLOSE_MARGIN:.3f}")
with pd.option_context("display.max_colwidth", None):
    display(claims)
verdicts = claims[[c for c in claims if c.startswith("holds")]]
if verdicts.shape[1] > 1:
    differ = claims["claim"][verdicts.nunique(axis=1) > 1]
    print("claims whose verdict differs between the grids:", "; ".join(differ) if len(differ) else "none")

# %% [markdown]
# The table answers the paper's claims one by one; the `holds` columns are computed, not
# written. What follows reads the `cpu-large` column (Conv-2, a sixth of Fashion-MNIST, two
# epochs); where the paper-sized grid disagrees, the line under the table names the claim.
# At the paper's protocol two verdicts turn: lottery tickets beat random affine subspaces of
# the same size at a few of the overlapping sizes (the table says how many), so "tickets are
# no better than random general subspaces" is a finding of the smaller grid only, in line with
# the paper's own "mostly"; and rewinding tickets to $w_t$ wins at about half of the pruned
# sizes with a mean gain of zero to the third decimal, which is no benefit. The lottery
# subspaces' advantage over random subspaces and over tickets at high compression is large
# and robust. Rewound to $w_t$ they come within a few points of the full model with only a
# handful of dimensions, fewer than the paper's 20 to 60 (our full model is also weaker
# than the paper's, trained on less data for fewer steps); rewound to $w_0$ they need a few
# tens of directions to come within that margin, in the paper's range, and then level off
# below the full model: adding directions does not close the last gap.
# Layer collapse ends every ticket at high compression. The benefit of rewinding tickets to
# $w_t$ instead of $w_0$ is at most marginal here: the $t$ of these grids (a few SGD steps,
# printed with the configurations at the top) is far earlier than the rewind points where
# {cite}`frankle2020linear` saw tickets become stable.

# %% [markdown]
# ## Checks
#
# First the run of this notebook (whatever its size), then the paper's claims tested on
# each committed grid shown (this page's run when none is); a grid still being run is
# checked and printed, but asserted only once complete.

# %% tags=["nbval-check-output", "hide-input"]
this = summary[f"this run ({tag})"]
recs = grid["subspaces"] + grid["pruning"] + grid["matched"]
planned = ch06.chapter_grids(params)
assert len(recs) == sum(g.n_runs() for g in planned.values()), "grid incomplete"
assert all(r["lottery_steps"] == budget["matched"] for r in grid["matched"]), "matched trajectory length"
assert budget["matched"] is None or budget["matched"] <= budget["full_model"], "the cap must not exceed the full model"
assert all(r["status"] == "ok" for r in recs), "a run diverged or failed"
assert set(this["frame"]["method"]) == set(TABLE1_METHODS), "the taxonomy frame must hold all eight methods"
assert all(r["d"] == max(1, round(r["keep_fraction"] * r["D"])) for r in grid["pruning"]), "kept counts"
assert all(np.all(np.diff(r["singular_values"]) <= 1e-6) for r in grid["spectra"]), "spectrum not descending"
print("all eight methods recorded:", sorted(set(this["frame"]["method"])) == sorted(TABLE1_METHODS))
print("full model learns:", this["full"] > 0.5)
print("compute-matched lottery runs capped at the full model's steps:",
      f"{len(grid['matched'])} runs" if grid["matched"] else "none in this grid")

# %% tags=["nbval-check-output", "hide-input"]
for name in shown:
    c = claims06.science_checks(summary[name], grids[name])
    complete = name == f"this run ({tag})" or committed_info[name.split()[-1]]["state"] == "complete"
    print(f"grid checked: {name}" + ("" if complete else " (partial: printed, not asserted)"))
    print("lottery subspace beats random affine at d =", c["lottery_wins"])
    print("lottery subspace at t beats burn-in at d =", c["lottery_wins_t"])
    print("best lottery-subspace accuracy with d <= 64 within 0.1 of the full model:", c["close_at_64"])
    print("tickets at the highest compression have a collapsed layer in every seed:", c["collapsed_at_min"])
    print("... and sit near chance:", c["min_ticket"] < 0.2)
    if c["matched_gap"] is not None:
        print(f"compute-matched lottery subspaces within {claims06.MATCHED_TOLERANCE} of the original (or better) "
              "at every common d:", c["matched_ok"])
    if not complete:
        continue
    assert c["lottery_wins"] and all(c["lottery_wins"].values()), \
        f"{name}: lottery subspaces should beat random affine subspaces: {c['lottery_wins']}"
    assert c["collapsed_at_min"] and c["min_ticket"] < 0.2, f"{name}: tickets should collapse at high compression"
    if name.startswith("committed"):  # asserted at committed scale; a tiny grid's trajectory has too few steps
        assert c["matched_ok"], f"{name}: the capped trajectory costs up to {-c['matched_gap']:.3f} accuracy"

# %% [markdown]
# ## Takeaways
#
# - A lottery subspace (top singular directions of one training trajectory) is by far the
#   most economical of the eight Table-1 cells: a handful of directions trains Conv-2 to
#   most of the full model's accuracy, where random subspaces need hundreds.
# - Its subspaces are nested, but training in them is not: accuracy can fall as $d$ grows,
#   so results are read as a running maximum over $d$, next to a spectrum that decays
#   without a gap.
# - Axis-aligned subspaces lose: random pruning is the weakest cell, and lottery tickets are
#   no better than random *general* subspaces of the same size on `cpu-large`, and better at
#   only a few sizes at the paper's protocol (claims table).
# - Global magnitude pruning empties whole layers at high compression (layer collapse);
#   from there a ticket stays at chance, which no subspace method suffers from.
# - Rewinding to step $t$ helps the subspaces clearly and the tickets barely, at the small
#   $t$ shared by all four "at step $t$" cells here.
# - The original lottery trajectory's length follows the grid ($5\, d_{\max}$ steps), not the
#   full model's training. Capped at the full model's steps, the lottery subspaces lose no
#   accuracy on the committed grid (asserted in the checks; the numbers, from the records,
#   below), so their lead is not bought with extra training.

# %% tags=["hide-input"]
for name in shown:
    print(ch06.budget_sentence(ch06.budget_from_records(grids[name])) + ";",
          ch06.gap_sentence(*matched_tables[name].values(), name))
