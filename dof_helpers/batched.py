"""Many subspace runs at once: vmap over runs, sharded over devices.

On accelerators one jitted step trains R runs of the same (method, d, t) together
(:func:`train_subspace_batched`); on CPU a loop of single runs is faster
(:func:`pick_strategy`). The numbers equal :func:`train.train_subspace`'s up to float
reassociation.
"""
from __future__ import annotations

import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import optim
from .subspace import ParamLayout, project
from .train import (METRICS, TrainResult, _device_data, _eval_chunk_impl, _resolve_d, _resolve_opt, _step_impl,
                    backend_jit, best_metrics, epoch_indices, padded_chunks)
from .validation import check_choice, check_int

STRATEGIES = ("auto", "loop", "vmap")


# ----------------------------------------------------------------------------- many runs at once
def pick_strategy(strategy: str = "auto", backend: str | None = None) -> str:
    """``"loop"`` or ``"vmap"``: how to train many runs of the same (method, d, t).

    ``"auto"`` picks a Python loop of single runs on CPU and ``vmap`` over runs on GPU /
    TPU. On this 2-core CPU a vmapped conv step (grouped convolutions) was ~5.7x slower
    per run-step than a loop of single steps (see ``benchmarks/subspace_step.py`` and the
    book's status page for the numbers measured here); on accelerators batching many
    small runs fills the device and is expected to win by an order of magnitude.
    """
    check_choice("strategy", strategy, STRATEGIES)
    if strategy != "auto":
        return strategy
    backend = backend or jax.default_backend()
    return "loop" if backend == "cpu" else "vmap"


@backend_jit(static_argnames=("model", "opt", "layout", "loss"), donate_argnums=(0, 1))
def _batched_step(thetas, opt_states, aux, x_all, y_all, idx, *, model, opt, layout, loss="cross_entropy"):
    """R subspace steps at once: vmap over (theta, optimiser state, (w_t, A), batch indices)."""
    def one(z, s, a, i):
        return _step_impl(z, s, a, x_all[i], y_all[i], model, opt, layout, "subspace", loss)
    return jax.vmap(one)(thetas, opt_states, aux, idx)


@backend_jit(static_argnames=("model", "layout", "loss"))
def _batched_eval_chunk(thetas, aux, x, y, mask, *, model, layout, loss="cross_entropy"):
    f = lambda z, a: _eval_chunk_impl(z, a, x, y, mask, model, layout, "subspace", loss)  # noqa: E731
    return jax.vmap(f)(thetas, aux)


def _batched_evaluate(thetas, aux, x, y, *, model, layout, chunk, loss="cross_entropy"):
    R = thetas.shape[0]
    loss_sum, correct = jnp.zeros((R,)), jnp.zeros((R,))
    for xs, ys, mask in padded_chunks(x, y, chunk):
        ls, c = _batched_eval_chunk(thetas, aux, xs, ys, mask, model=model, layout=layout, loss=loss)
        loss_sum, correct = loss_sum + ls, correct + c
    return np.asarray(loss_sum) / x.shape[0], np.asarray(correct) / x.shape[0]


def run_sharding(devices=None):
    """``(run-axis sharding, replicated sharding)`` over a 1-D mesh of ``devices`` (default all)."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    devices = list(devices or jax.devices())
    mesh = Mesh(np.array(devices), ("runs",))
    return NamedSharding(mesh, P("runs")), NamedSharding(mesh, P())


def train_subspace_batched(model, centres, bases, data, *, keys, d: int, epochs: int, batch_size: int = 128,
                           optimizer=None, eval_init: bool = False, eval_chunk: int = 1000,
                           devices=None, loss: str = "cross_entropy") -> list[TrainResult]:
    """R subspace runs (eq. 2.2) trained together: vmap over runs, sharded over devices.

    ``centres`` (R parameter pytrees w_t), ``bases`` (R bases of one type and shape) and
    ``keys`` (R batch-order keys) define the runs, which share the model, d and the
    optimiser. The run axis is split over a 1-D mesh of ``devices`` (default
    ``jax.devices()``; R is padded to a multiple of the device count with copies of
    the last run, dropped at the end). Returns one :class:`TrainResult` per run with the
    same metrics as :func:`train_subspace` (equal up to float reassociation).
    """
    R = len(centres)
    if not (R == len(bases) == len(keys)) or R == 0:
        raise ValueError(f"centres, bases and keys must have the same length >= 1, got "
                         f"{len(centres)}, {len(bases)}, {len(keys)}")
    epochs = check_int("epochs", epochs, min_value=0)
    for b in bases:
        _resolve_d(b, d)
    opt = _resolve_opt(optimizer, optim.adam())
    layout = ParamLayout.of(centres[0])
    st = _stacked_runs(layout, centres, bases, keys, d, data, list(devices or jax.devices()))
    n = st["x_tr"].shape[0]
    batch_size = check_int("batch_size", batch_size, min_value=1, max_value=n)
    ev = functools.partial(_batched_evaluate, model=model, layout=layout, chunk=eval_chunk, loss=loss)
    step = functools.partial(_batched_step, model=model, opt=opt, layout=layout, loss=loss)
    ms = [{k: [] for k in METRICS + ("epoch_train_loss_running",)} for _ in range(R)]
    alive, steps, t0 = np.ones(R, bool), np.zeros(R, int), time.perf_counter()
    thetas, opt_states, aux = st["thetas"], jax.vmap(opt.init)(st["thetas"]), st["aux"]
    if eval_init:
        evals = ev(thetas, aux, st["x_tr"], st["y_tr"]) + ev(thetas, aux, st["x_te"], st["y_te"])
        for r in range(R):
            ms[r].update({f"init_{k}": float(v[r]) for k, v in zip(METRICS, evals)})
    for epoch in range(epochs):
        if not alive.any():
            break
        idx_all = np.stack([epoch_indices(k, n, batch_size, epoch) for k in st["keys"]], axis=1)  # (nb, Rp, bs)
        running = jnp.zeros((thetas.shape[0],))
        for idx in idx_all:
            idx = jnp.asarray(idx) if st["shard"] is None else jax.device_put(idx, st["shard"])
            thetas, opt_states, value = step(thetas, opt_states, aux, st["x_tr"], st["y_tr"], idx)
            running = running + value
        evals = ev(thetas, aux, st["x_tr"], st["y_tr"]) + ev(thetas, aux, st["x_te"], st["y_te"])
        _record_epoch(ms, alive, steps, np.asarray(running)[:R] / len(idx_all), evals, len(idx_all))
    wall = (time.perf_counter() - t0) / R
    return [_result(ms[r], alive[r], steps[r], wall, layout, d, st["aux"][0][r], bases[r], np.asarray(thetas)[r])
            for r in range(R)]


def _stacked_runs(layout, centres, bases, keys, d, data, devices) -> dict:
    """The runs padded to a multiple of the device count, stacked on a run axis and, with
    several devices, sharded over it (the data replicated)."""
    R, n_dev = len(centres), len(devices)
    Rp = -(-R // n_dev) * n_dev
    pad = lambda xs: list(xs) + [xs[-1]] * (Rp - R)  # noqa: E731
    centres, bases, keys = pad(centres), pad(bases), pad(keys)
    w_ts = jnp.stack([layout.flatten(c) for c in centres])
    basis = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *bases)
    thetas = jnp.zeros((Rp, d), jnp.float32)
    splits, shard = _device_data(data), None
    if n_dev > 1:
        shard, repl = run_sharding(devices)
        w_ts, basis, thetas = jax.device_put((w_ts, basis, thetas), shard)
        splits = jax.device_put(splits, repl)
    x_tr, y_tr, x_te, y_te = splits
    return dict(thetas=thetas, aux=(w_ts, basis), keys=keys, shard=shard, x_tr=x_tr, y_tr=y_tr, x_te=x_te, y_te=y_te)


def _record_epoch(ms, alive, steps, running, evals, n_steps) -> None:
    """Append one epoch's running loss and evaluations to every run still alive; a run
    whose loss is not finite stops (alive False)."""
    trl, tra, tel, tea = evals
    for r in np.flatnonzero(alive):
        ms[r]["epoch_train_loss_running"].append(float(running[r]))
        steps[r] += n_steps
        if not math.isfinite(running[r]):
            alive[r] = False
            continue
        for k, v in zip(METRICS, (trl[r], tra[r], tel[r], tea[r])):
            ms[r][k].append(float(v))
        if not (math.isfinite(trl[r]) and math.isfinite(tel[r])):
            alive[r] = False


def _result(m, alive, steps, wall, layout, d, w_t, basis, theta) -> TrainResult:
    m.update(status="ok" if alive else "diverged", steps=int(steps), epochs_done=len(m["train_acc"]),
             **best_metrics(m))
    m["wall_time"], m["D"], m["d"] = wall, layout.D, d
    theta = jnp.asarray(theta)
    return TrainResult(m, layout.unravel(w_t + project(basis, theta, layout.D)), theta)
