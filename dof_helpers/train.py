"""Training runs: full space (momentum SGD), burn-in, and subspaces w(theta) = w_t + A theta.

Everything is a jitted pure function with the state in and the state out:

- :func:`train_full` -- full-space training of a Flax model (the baselines, Table 2);
- :func:`burn_in` -- t full-space steps from w_0, giving the burn-in point w_t (Section 2);
- :func:`train_subspace` -- training theta in R^d inside ``w_t + span(A)`` (eq. 2.2);
- :func:`evaluate` -- mean cross-entropy and accuracy over a whole split, in chunks;
- many runs at once (vmap over runs, sharded over devices): :mod:`dof_helpers.batched`.

A run's metrics are evaluated at every epoch end (and at step 0 with
``eval_init=True``, the "dimension 0" point of the paper's Figure 12); the best value of
each metric over the epoch-end evaluations is the run's result (Section 2, Appendix
A.4). A run whose loss becomes NaN or inf stops and is reported as ``"diverged"``.

The data split stays on the device and every step gathers its batch by index inside
the jitted step, so the Python loop only passes a (batch_size,) index array per step.
On CPU a Python loop of jitted steps is much faster than ``lax.scan`` over conv steps
(measured ~19x), so epochs are Python loops.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import optim
from .subspace import Basis, FastfoodBasis, ParamLayout, basis_dim, flatten_params, project
from .validation import check_choice, check_int

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")
#: how often (in steps) a run checks its loss for NaN / inf between epoch ends
DIVERGENCE_CHECK_EVERY = 50


class TrainResult(NamedTuple):
    """``metrics``: JSON-able dict (per-epoch lists, best values, status, steps, wall time);
    ``params``: the final full-space parameter pytree; ``theta``: final theta (subspace runs)."""
    metrics: dict
    params: Any
    theta: Any = None


from .compilation import CPU_COMPILER_OPTIONS, backend_jit, compiler_options  # noqa: E402,F401


# ----------------------------------------------------------------------------- losses
#: training losses: softmax cross-entropy (the paper's) and squared error on one-hot targets
LOSSES = ("cross_entropy", "squared_error")


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of integer ``labels``."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def example_losses(logits: jax.Array, labels: jax.Array, loss: str = "cross_entropy") -> jax.Array:
    """Per-example loss ``l_i``; the training loss is their mean, L(w) = (1/N) sum_i l_i.

    ``"cross_entropy"``: l_i = -log softmax(f_i)[y_i]. ``"squared_error"``:
    l_i = 1/2 ||f_i - onehot(y_i)||^2, so that for a model linear in w the Hessian of L
    is J^T J / N (J the (N C) x D Jacobian of the logits).
    """
    if loss == "cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    if loss == "squared_error":
        target = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
        return 0.5 * jnp.sum(jnp.square(logits - target), axis=-1)
    raise ValueError(f"loss={loss!r} is not valid; accepted values: " + ", ".join(map(repr, LOSSES)))


def _params_of(z, aux, layout: ParamLayout | None, mode: str):
    """Full-space parameters from the trained variable z: z itself, or w_t + A theta (eq. 2.2)."""
    if mode == "full":
        return z
    w_t, basis = aux
    return layout.unravel(w_t + project(basis, z, w_t.shape[0]))


def _loss(z, aux, xb, yb, model, layout, mode, loss="cross_entropy"):
    params = _params_of(z, aux, layout, mode)
    return jnp.mean(example_losses(model.apply({"params": params}, xb), yb, loss))


def _step_impl(z, opt_state, aux, xb, yb, model, opt, layout, mode, loss="cross_entropy"):
    value, g = jax.value_and_grad(_loss)(z, aux, xb, yb, model, layout, mode, loss)
    updates, opt_state = opt.update(g, opt_state, z)
    return optax.apply_updates(z, updates), opt_state, value


@backend_jit(static_argnames=("model", "opt", "layout", "mode", "loss"), donate_argnums=(0, 1))
def _train_step(z, opt_state, aux, x_all, y_all, idx, *, model, opt, layout, mode, loss="cross_entropy"):
    """One optimiser step on the batch ``x_all[idx]`` (the gather happens on device)."""
    return _step_impl(z, opt_state, aux, x_all[idx], y_all[idx], model, opt, layout, mode, loss)


def _eval_chunk_impl(z, aux, x, y, mask, model, layout, mode, loss="cross_entropy"):
    """Summed loss and number correct over one chunk (masked rows excluded)."""
    params = _params_of(z, aux, layout, mode)
    logits = model.apply({"params": params}, x)
    losses = example_losses(logits, y, loss)
    correct = (jnp.argmax(logits, -1) == y).astype(jnp.float32)
    return jnp.sum(losses * mask), jnp.sum(correct * mask)


@backend_jit(static_argnames=("model", "layout", "mode", "loss"))
def _eval_chunk(z, aux, x, y, mask, *, model, layout, mode, loss="cross_entropy"):
    return _eval_chunk_impl(z, aux, x, y, mask, model, layout, mode, loss)


def padded_chunks(x, y, chunk: int):
    """Yield ``(x_chunk, y_chunk, mask)`` over (x, y), every chunk ``min(chunk, n)`` rows long:
    the last one is padded with zeros and its padding masked out (one compiled shape)."""
    n = x.shape[0]
    chunk = min(chunk, n)
    for start in range(0, n, chunk):
        xs, ys = x[start:start + chunk], y[start:start + chunk]
        m = xs.shape[0]
        mask = jnp.ones((chunk,), jnp.float32)
        if m < chunk:
            pad = chunk - m
            xs = jnp.concatenate([xs, jnp.zeros((pad,) + xs.shape[1:], xs.dtype)])
            ys = jnp.concatenate([ys, jnp.zeros((pad,), ys.dtype)])
            mask = mask.at[m:].set(0.0)
        yield xs, ys, mask


def _evaluate_z(z, aux, x, y, *, model, layout, mode, chunk, loss="cross_entropy"):
    """Mean loss and accuracy over (x, y) in chunks of ``chunk`` (last chunk padded and masked)."""
    loss_sum, correct = jnp.float32(0.0), jnp.float32(0.0)
    for xs, ys, mask in padded_chunks(x, y, chunk):
        ls, c = _eval_chunk(z, aux, xs, ys, mask, model=model, layout=layout, mode=mode, loss=loss)
        loss_sum, correct = loss_sum + ls, correct + c
    return float(loss_sum) / x.shape[0], float(correct) / x.shape[0]


def evaluate(model, params, x, y, chunk: int = 1000, loss: str = "cross_entropy") -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``model`` at ``params`` on ``(x, y)``, in chunks
    (``loss``: one of :data:`LOSSES`, default the cross-entropy)."""
    chunk = check_int("chunk", chunk, min_value=1)
    check_choice("loss", loss, LOSSES)
    return _evaluate_z(params, None, jnp.asarray(x), jnp.asarray(y), model=model, layout=None,
                       mode="full", chunk=chunk, loss=loss)


# ----------------------------------------------------------------------------- data helpers
_DEVICE_DATA: list = []  # [(data, arrays)] for the last dataset used: one upload per sweep, not per run


def _device_data(data):
    """The four splits as device arrays (cached for the most recent ``data`` object)."""
    if _DEVICE_DATA and _DEVICE_DATA[0][0] is data:
        return _DEVICE_DATA[0][1]
    arrays = (jnp.asarray(data.x_train), jnp.asarray(data.y_train),
              jnp.asarray(data.x_test), jnp.asarray(data.y_test))
    _DEVICE_DATA[:] = [(data, arrays)]
    return arrays


def epoch_indices(key: jax.Array, n: int, batch_size: int, epoch: int) -> np.ndarray:
    """Batches of epoch ``epoch``: ``data.epoch_batches(fold_in(key, epoch), n, batch_size)``."""
    from .data import epoch_batches
    return epoch_batches(jax.random.fold_in(key, epoch), n, batch_size)


def _resolve_opt(optimizer, default):
    if optimizer is None:
        return default
    if isinstance(optimizer, str):
        return optim.make_optimizer(optimizer)
    return optimizer


# ----------------------------------------------------------------------------- the loop
def _fit(z, aux, dev, *, model, opt, layout, mode, key, epochs, batch_size, eval_init, eval_chunk,
         max_steps=None, progress=False, desc="train", callback=None, loss="cross_entropy"):
    """Shared epoch loop: returns (metrics dict, final z).

    Each epoch runs :func:`_epoch_steps`, then evaluates both splits; a non-finite loss
    stops the run as "diverged" (its metrics so far are kept).
    """
    x_tr, y_tr, x_te, y_te = dev
    n = x_tr.shape[0]
    batch_size = check_int("batch_size", batch_size, min_value=1, max_value=n)
    opt_state = opt.init(z)
    ev = functools.partial(_evaluate_z, model=model, layout=layout, mode=mode, chunk=eval_chunk, loss=loss)
    step = functools.partial(_train_step, model=model, opt=opt, layout=layout, mode=mode, loss=loss)
    m = {k: [] for k in METRICS + ("epoch_train_loss_running",)}
    status, steps, t0 = "ok", 0, time.perf_counter()
    if eval_init:
        (m["init_train_loss"], m["init_train_acc"]) = ev(z, aux, x_tr, y_tr)
        (m["init_test_loss"], m["init_test_acc"]) = ev(z, aux, x_te, y_te)
    bar = _progress_bar(progress, epochs * (n // batch_size), desc)
    for epoch in range(epochs):
        idx_batches = epoch_indices(key, n, batch_size, epoch)
        room = None if max_steps is None else max_steps - steps
        z, opt_state, running, done, ok = _epoch_steps(step, z, opt_state, aux, x_tr, y_tr, idx_batches, room, steps,
                                                       bar)
        steps += done
        m["epoch_train_loss_running"].append(float(running) / max(1, done))
        if not ok or not math.isfinite(float(running)):
            status = "diverged"
            break
        trl, tra = ev(z, aux, x_tr, y_tr)
        tel, tea = ev(z, aux, x_te, y_te)
        for k, v in zip(METRICS, (trl, tra, tel, tea)):
            m[k].append(v)
        if not (math.isfinite(trl) and math.isfinite(tel)):
            status = "diverged"
            break
        if callback is not None:
            callback(epoch, z, m)
        if max_steps is not None and steps >= max_steps:
            break
    if bar is not None:
        bar.close()
    m.update(status=status, steps=steps, epochs_done=len(m["train_acc"]), **best_metrics(m))
    m["wall_time"] = time.perf_counter() - t0
    return m, z


def _progress_bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False)


def _epoch_steps(step, z, opt_state, aux, x_tr, y_tr, idx_batches, room, steps_before, bar):
    """One epoch of ``step`` over ``idx_batches`` (at most ``room`` steps if not None):
    ``(z, opt_state, summed loss, steps done, finite)``; the loss is checked every
    :data:`DIVERGENCE_CHECK_EVERY` steps (counted over the whole run)."""
    running, done = jnp.float32(0.0), 0
    for idx in idx_batches:
        if room is not None and done >= room:
            break
        z, opt_state, value = step(z, opt_state, aux, x_tr, y_tr, idx)
        running = running + value
        done += 1
        if bar is not None:
            bar.update(1)
        if (steps_before + done) % DIVERGENCE_CHECK_EVERY == 0 and not math.isfinite(float(value)):
            return z, opt_state, running, done, False
    return z, opt_state, running, done, True


def best_metrics(m: dict) -> dict:
    """Best-so-far over epoch-end evaluations: max accuracy, min loss (NaN if none / non-finite)."""
    out = {}
    for k in METRICS:
        vals = [v for v in m.get(k, []) if v is not None and math.isfinite(v)]
        if not vals:
            out["best_" + k] = float("nan")
        else:
            out["best_" + k] = max(vals) if k.endswith("acc") else min(vals)
    return out


def init_model_params(model, key: jax.Array, input_shape):
    """Parameters w_0 of ``model`` for inputs of ``input_shape`` from ``key`` (``models.init_params``)."""
    from .models import init_params
    return init_params(model, key, input_shape)


def split_run_key(key: jax.Array):
    """``(init_key, data_key)`` of a full-space run: w_0 from the first, batch order from the second."""
    k_init, k_data = jax.random.split(key)
    return k_init, k_data


def train_full(model, data, *, key: jax.Array, epochs: int, batch_size: int = 128, optimizer=None,
               params=None, eval_init: bool = False, eval_chunk: int = 1000, max_steps: int | None = None,
               progress: bool = False, callback=None, loss: str = "cross_entropy") -> TrainResult:
    """Train all D parameters (the full model, e.g. the baselines of Figures 2-3).

    ``optimizer`` defaults to :func:`optim.momentum_sgd` (lr 5e-2, momentum 0.9). ``key``
    gives w_0 (unless ``params`` is passed) and the batch order (see :func:`split_run_key`).
    ``loss`` is one of :data:`LOSSES`.
    Returns a :class:`TrainResult` with per-epoch train/test loss and accuracy, the best
    of each, ``status`` ("ok" or "diverged"), ``steps``, ``wall_time`` and the final params.
    """
    epochs = check_int("epochs", epochs, min_value=0)
    opt = _resolve_opt(optimizer, optim.momentum_sgd())
    check_choice("loss", loss, LOSSES)
    k_init, k_data = split_run_key(key)
    if params is None:
        params = init_model_params(model, k_init, data.x_train.shape[1:])
    params = jax.tree_util.tree_map(jnp.array, params)  # own copy (buffers are donated)
    m, z = _fit(params, None, _device_data(data), model=model, opt=opt, layout=None, mode="full",
                key=k_data, epochs=epochs, batch_size=batch_size, eval_init=eval_init, eval_chunk=eval_chunk,
                max_steps=max_steps, progress=progress, desc="full", callback=callback, loss=loss)
    m["D"] = int(sum(np.size(x) for x in jax.tree_util.tree_leaves(z)))
    return TrainResult(m, z)


def burn_in(model, params0, data, *, key: jax.Array, t: int, batch_size: int = 128, optimizer=None,
            loss: str = "cross_entropy"):
    """w_t: ``t`` full-space steps of momentum SGD from ``params0`` (the burn-in of Section 2).

    The steps take the first t batches of the shuffled epochs drawn from ``key``;
    ``t = 0`` returns ``params0`` (the random affine subspace).
    """
    t = check_int("t", t, min_value=0)
    if t == 0:
        return params0
    for w in full_space_steps(model, params0, data, key=key, steps=t, batch_size=batch_size, optimizer=optimizer,
                              loss=loss):
        pass
    return w


def full_space_steps(model, params0, data, *, key: jax.Array, steps: int, batch_size: int = 128,
                     optimizer=None, loss: str = "cross_entropy"):
    """Yield w_1, ..., w_steps: full-space steps (default momentum SGD, lr 5e-2, momentum 0.9).

    The batches are the shuffled epochs drawn from ``key`` (:func:`epoch_indices`), so
    every caller with the same key walks the same trajectory (:func:`burn_in`, the
    lottery trajectory). Each yielded pytree is donated to the next step: copy what you
    keep before asking for the next one.
    """
    steps = check_int("steps", steps, min_value=0)
    opt = _resolve_opt(optimizer, optim.momentum_sgd())
    x_tr, y_tr = _device_data(data)[:2]
    n = x_tr.shape[0]
    z = jax.tree_util.tree_map(jnp.array, params0)  # own copy (buffers are donated)
    opt_state = opt.init(z)
    done, epoch = 0, 0
    while done < steps:
        for idx in epoch_indices(key, n, batch_size, epoch):
            if done >= steps:
                break
            z, opt_state, _ = _train_step(z, opt_state, None, x_tr, y_tr, idx, model=model, opt=opt,
                                          layout=None, mode="full", loss=loss)
            done += 1
            yield z
        epoch += 1


def train_subspace(model, w_t_params, basis: Basis, data, *, key: jax.Array, d: int | None = None,
                   epochs: int, batch_size: int = 128, optimizer=None, eval_init: bool = False,
                   eval_chunk: int = 1000, max_steps: int | None = None, progress: bool = False,
                   callback=None, loss: str = "cross_entropy") -> TrainResult:
    """Train theta in R^d, starting at 0, inside w(theta) = w_t + A theta (eq. 2.2).

    ``w_t_params`` is the centre (w_0 for random affine subspaces, the burn-in point for
    burn-in subspaces); ``basis`` is a :mod:`subspace` basis passed to the jitted step as
    an argument. ``optimizer`` defaults to the paper's Adam (:func:`optim.adam`). ``key``
    gives the batch order. ``d`` defaults to the number of columns of a dense basis and is
    required for Fastfood (whose blocks hold a multiple of L columns). ``loss``: :data:`LOSSES`.
    """
    epochs = check_int("epochs", epochs, min_value=0)
    check_choice("loss", loss, LOSSES)
    d = _resolve_d(basis, d)
    opt = _resolve_opt(optimizer, optim.adam())
    w_t, layout = flatten_params(w_t_params)
    theta0 = jnp.zeros((d,), jnp.float32)
    m, theta = _fit(theta0, (w_t, basis), _device_data(data), model=model, opt=opt, layout=layout,
                    mode="subspace", key=key, epochs=epochs, batch_size=batch_size, eval_init=eval_init,
                    eval_chunk=eval_chunk, max_steps=max_steps, progress=progress, desc=f"d={d}",
                    callback=callback, loss=loss)
    m["D"], m["d"] = layout.D, d
    params = layout.unravel(w_t + project(basis, theta, layout.D))
    return TrainResult(m, params, theta)


def _resolve_d(basis, d):
    cols = basis_dim(basis)
    if d is None:
        if isinstance(basis, FastfoodBasis):
            raise ValueError("d is required with a Fastfood basis")
        return cols
    d = check_int("d", d, min_value=1)
    if d > cols:
        raise ValueError(f"d={d} is not valid; the basis has {cols} columns (rank), so d must be in [1, {cols}]")
    return d
