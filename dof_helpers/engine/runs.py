"""Training the runs of a sweep: one run at a time, or a group together (vmap).

Each function returns tidy records: the run's identifying fields, its key, the
context's identity (model and data names and fingerprints), D and d, the per-epoch and
best metrics (:func:`train.best_metrics`), ``status`` ("ok", "diverged", "error"),
``wall_time`` and ``platform`` (:func:`engine.platform.platform_info`: where the numbers were
computed, not part of the key).
"""
from __future__ import annotations

import time

from .. import optim
from ..pruning import (apply_mask, collapsed_layers, layer_keep_fractions, mask_count, masked_optimizer,
                       n_kept)
from ..train import train_full, train_subspace
from . import platform
from .keys import run_rng
from .methods import LOTTERY_SUBSPACES, family


def _record(context, run, metrics, D, wall_time, **extra) -> dict:
    rec = dict(run)
    rec.update(context.identity)
    rec.update(metrics)
    rec.update(extra)
    rec["D"], rec["wall_time"] = D, wall_time
    rec["platform"] = platform.platform_info()  # where it was computed; not part of the key
    return rec


def train_one(context, config, state, run) -> dict:
    """Train one run with its seed's ``state`` (:class:`engine.state.SeedState`); its record."""
    t0 = time.perf_counter()
    fam = family(run["method"])
    try:
        if fam == "subspace":
            metrics, extra = _train_subspace_run(context, config, state, run)
        elif fam == "pruning":
            metrics, extra = _train_pruned_run(context, config, state, run)
        else:
            metrics, extra = _train_full_run(context, config, state, run)
    except (MemoryError, FloatingPointError) as err:
        metrics, extra = {"status": "error", "error": f"{type(err).__name__}: {err}"}, {}
    return _record(context, run, metrics, state.layout.D, time.perf_counter() - t0, **extra)


def _train_subspace_run(context, config, state, run):
    """w(theta) = w_t + A theta from theta = 0 with Adam (eq. 2.2)."""
    c = config
    try:
        centre, basis = state.centre_and_basis(run)
    except ValueError as err:  # d beyond a capped lottery trajectory's rank
        return {"status": "error", "error": str(err)}, {}
    _, k_data = run_rng(run["seed"], run["method"], run["d"], run["t"])
    res = train_subspace(context.model, centre, basis, context.data, key=k_data, d=run["d"], epochs=c.epochs,
                         batch_size=c.batch_size, optimizer=optim.adam(c.lr, variant=c.adam_variant),
                         eval_init=c.eval_init, eval_chunk=c.eval_chunk, loss=c.loss)
    return res.metrics, _lottery_fields(state, run)


def _lottery_fields(state, run) -> dict:
    """A lottery-subspace record's basis name and the singular values of its d directions."""
    if run["method"] not in LOTTERY_SUBSPACES:
        return {}
    return {"basis": "lottery", "singular_values": [float(v) for v in state.lottery()[1][:run["d"]]]}


def _train_pruned_run(context, config, state, run):
    """The masked network from ``w_t * mask``, retrained with masked momentum SGD."""
    c = config
    mask = state.mask(run)
    start = apply_mask(state.point(run["t"]), mask)
    _, k_train = run_rng(run["seed"], run["method"], n_kept(state.layout.D, run["keep_fraction"]), run["t"])
    opt = masked_optimizer(optim.momentum_sgd(c.ticket_lr, c.momentum), mask)
    res = train_full(context.model, context.data, key=k_train, epochs=c.epochs, batch_size=c.batch_size,
                     optimizer=opt, params=start, eval_init=c.eval_init, eval_chunk=c.eval_chunk, loss=c.loss)
    collapsed = collapsed_layers(mask)
    d = mask_count(mask)
    metrics = dict(res.metrics)
    metrics.pop("D", None)
    return metrics, dict(d=d, basis="mask", collapsed_layers=collapsed, n_collapsed=len(collapsed),
                         layer_keep=layer_keep_fractions(mask), compression=state.layout.D / d)


def _train_full_run(context, config, state, run):
    """All D parameters from w_0 with momentum SGD (``full_lr``): the full model."""
    c = config
    _, k_train = run_rng(run["seed"], "full", state.layout.D, 0)
    res = train_full(context.model, context.data, key=k_train, epochs=c.epochs, batch_size=c.batch_size,
                     optimizer=optim.momentum_sgd(c.full_lr, c.momentum), params=state.w0, eval_init=c.eval_init,
                     eval_chunk=c.eval_chunk, loss=c.loss)
    metrics = dict(res.metrics)
    metrics.pop("D", None)
    return metrics, dict(d=state.layout.D, basis="none")


def train_group_vmapped(context, config, states, group) -> list[dict]:
    """Runs of one subspace method, d and t (different seeds) trained together with vmap."""
    from ..batched import train_subspace_batched
    c = config
    centres, bases, keys = [], [], []
    t0 = time.perf_counter()
    for run in group:
        centre, basis = states[run["seed"]].centre_and_basis(run)
        centres.append(centre)
        bases.append(basis)
        keys.append(run_rng(run["seed"], run["method"], run["d"], run["t"])[1])
    results = train_subspace_batched(context.model, centres, bases, context.data, keys=keys, d=group[0]["d"],
                                     epochs=c.epochs, batch_size=c.batch_size,
                                     optimizer=optim.adam(c.lr, variant=c.adam_variant), eval_init=c.eval_init,
                                     eval_chunk=c.eval_chunk, loss=c.loss)
    wall = (time.perf_counter() - t0) / len(group)
    out = []
    for run, res in zip(group, results):
        state = states[run["seed"]]
        out.append(_record(context, run, res.metrics, state.layout.D, wall, **_lottery_fields(state, run)))
    return out
